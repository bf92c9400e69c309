"""HR's attrition dashboard (DOMAIN 4, 5; seed art. 1) at /careers/attrition/.

The filters (period, region, branch, job sequence) travel in the URL and narrow every figure,
chart and export of the page; ``?<filters>&export=<table>&format=csv|xlsx`` downloads one table.
Who sees what is ``restrict``'s alone: HR the bank, a reviewer their region, a branch manager or
department head their branch; RMs are refused (403), and a region or branch filter outside the
user's scope is answered with 404. Named retention-risk rows (the high-risk list) are shown to
the roles of the risk pages only, the backtest to HR only (careers.views_risk).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.generic import TemplateView

from careers import attrition, selectors
from careers.forms_attrition import AttritionFilterForm
from careers.models import Exit, RiskScore
from core.templatetags.portal_money import money_in_unit, money_unit_label
from rmportal import scoping
from rmportal.exports import FORMATS, export_response
from rmportal.views import ActionRequiredMixin

ROWS_SHOWN = attrition.ROWS_SHOWN


# --- exports -----------------------------------------------------------------------------------

def _rate_columns() -> list[str]:
    return [_("Headcount at month end"), _("Average headcount"), str(EXITS),
            _("Attrition rate (%)"),
            _("Exits, 12 months"), _("Average headcount, 12 months"), _("Attrition rate, 12 months (%)")]


def _rate_cells(rates: attrition.Rates) -> list:
    return [rates.headcount, rates.average, rates.exits, rates.rate, rates.exits_12m, rates.average_12m_shown,
            rates.rate_12m]


def _trend_rows(board: attrition.Dashboard) -> Iterable[list]:
    for point in board.trend:
        r = point.rates
        yield [f"{point.month:%Y-%m}", r.headcount, r.average, r.exits, r.voluntary, r.rate, r.exits_12m,
               r.average_12m_shown, r.rate_12m]


def _group_export(dimension: str, key_title, label_title) -> tuple[Callable, Callable]:
    def header():
        extra = [_("Region code")] if dimension == "branch" else []
        return [str(key_title), str(label_title), *extra, *_rate_columns()]

    def rows(board):
        for group in board.by(dimension):
            extra = [group.region] if dimension == "branch" else []
            yield [group.key, group.label, *extra, *_rate_cells(group.rates)]

    return header, rows


def _reason_rows(board):
    summary = board.reasons
    groups = {key: label for key, label, _count in summary.groups}
    for row in summary.rows:
        yield [groups.get(row.group, ""), row.label, row.exits, row.voluntary,
               attrition._percent(row.exits, summary.total)]


def _outflow_rows(board):
    for o in board.outflow["rows"]:
        p = o.percentages
        yield [o.exit.employee.employee_no, o.exit.employee.name, o.exit.employee.branch.code,
               o.exit.exit_on, o.exit.get_reason_display(), o.handed_over, o.lost_3m, p["rate_3m"],
               p["bank_rate_3m"], o.lost_6m, p["rate_6m"], p["bank_rate_6m"], o.contribution_before,
               o.contribution_after, _("yes") if o.window_6m_complete and o.contribution_complete else _("no")]


def _risk_band_rows(board):
    for band, label, count, share in board.risk_bands:
        yield [board.risk_month, label, count, share]


def _grid_rows(board):
    labels = {key: str(label) for key, label in attrition.BOOK_QUARTERS}
    limits = dict(zip(labels, board.risk_grid.limits))
    for band, band_label, cells, _total in board.risk_grid.rows:
        for cell in cells:
            yield [board.risk_month, band_label, labels[cell.quarter], limits.get(cell.quarter), cell.rms, cell.aum]


def _high_risk_rows(board):
    for row in board.high_risk:
        s, book = row.score, row.book
        yield [s.month, s.employee.employee_no, s.employee.name, s.employee.branch.code,
               str(s.employee.level) if s.employee.level else "", s.score,
               "; ".join(f"{label} ({points})" for label, points in row.top_factors), book.client_count,
               book.contribution_12m, book.aum, book.affluent, book.private]


def _backtest_rows(board):
    for row in board.backtest["rows"]:
        yield [row.month, row.scored, row.left, row.base_percent, row.auc, row.top_count, row.top_left,
               row.precision_percent, _("complete") if row.complete else _("still open")]


def _interview_rows(board):
    for row in board.interviews_overdue:
        e = row.employee
        yield [e.employee_no, e.name, e.branch.code, row.last_held_on, row.due_on, row.days_overdue,
               row.next_scheduled_on]


def _not_promoted_rows(board):
    for row in board.not_promoted:
        e = row.employee
        yield [e.employee_no, e.name, e.branch.code, str(row.level), str(row.next_level or ""),
               row.eligible_since, row.waiting_months]


def _certificate_rows(board):
    for c in board.certificates_expiring:
        yield [c.employee.employee_no, c.employee.name, c.employee.branch.code, c.certificate_type.name,
               c.number, c.expires_on, (c.expires_on - board.today).days]


@dataclass(frozen=True)
class Export:
    header: Callable[[], list]
    rows: Callable[[attrition.Dashboard], Iterable[list]]
    required_action: tuple[str, type] = ("analyse", Exit)

    @property
    def roles(self) -> frozenset[str]:
        """The roles the model's scope grants the export's action."""
        action, model = self.required_action
        return model.scope.actions[action]


def _fixed(*titles) -> Callable[[], list]:
    return lambda: [str(t) for t in titles]


L = gettext_lazy
EXITS = pgettext_lazy("number of exits", "Exits")
EXPORTS: dict[str, Export] = {
    "trend": Export(_fixed(L("Month"), L("Headcount at month end"), L("Average headcount"), EXITS,
                           L("Voluntary exits"), L("Attrition rate (%)"), L("Exits, 12 months"),
                           L("Average headcount, 12 months"), L("Attrition rate, 12 months (%)")), _trend_rows),
    "by-region": Export(*_group_export("region", L("Region code"), L("Region"))),
    "by-branch": Export(*_group_export("branch", L("Branch code"), L("Branch name"))),
    "by-sequence": Export(*_group_export("sequence", L("Job sequence code"), L("Job sequence"))),
    "by-level": Export(*_group_export("level", L("Level code"), L("Level"))),
    "by-tenure": Export(*_group_export("tenure", L("Tenure band code"), L("Tenure band"))),
    "reasons": Export(_fixed(L("Reason group"), L("Reason"), EXITS, L("Voluntary exits"), L("Share (%)")),
                      _reason_rows),
    "outflow": Export(_fixed(L("Employee number"), L("RM"), L("Branch code"), L("Exit date"), L("Reason"),
                             L("Clients handed over"), L("Lost within 3 months"), L("Lost within 3 months (%)"),
                             L("Bank's churn, 3 months (%)"), L("Lost within 6 months"),
                             L("Lost within 6 months (%)"), L("Bank's churn, 6 months (%)"),
                             L("Contribution, 6 months before (CNY)"), L("Contribution, 6 months after (CNY)"),
                             L("Windows complete")), _outflow_rows),
    "risk-bands": Export(_fixed(L("Month scored"), L("Band"), L("RMs"), L("Share (%)")), _risk_band_rows),
    "risk-grid": Export(_fixed(L("Month scored"), L("Band"), L("Book AUM quarter"),
                               L("Largest book AUM of the quarter (CNY)"), L("RMs"), L("Book AUM (CNY)")),
                        _grid_rows),
    "high-risk": Export(_fixed(L("Month scored"), L("Employee number"), L("RM"), L("Branch code"), L("Level"),
                               L("Score"), L("Top factors"), L("Clients"), L("Contribution, 12 months (CNY)"),
                               L("AUM (CNY)"), L("Affluent clients"), L("Private-banking clients")),
                        _high_risk_rows, ("browse", RiskScore)),
    "backtest": Export(_fixed(L("Month"), L("RMs scored"), L("Left"), L("Share who left (%)"), L("AUC"),
                              L("Top 10 %"), L("Leavers in the top 10 %"), L("Precision in the top 10 % (%)"),
                              L("Window")), _backtest_rows, ("configure", RiskScore)),
    "interviews-overdue": Export(_fixed(L("Employee number"), L("RM"), L("Branch code"), L("Last held"), L("Due"),
                                       L("Days overdue"), L("Scheduled")), _interview_rows),
    "not-promoted": Export(_fixed(L("Employee number"), L("RM"), L("Branch code"), L("Level"), L("Next level"),
                                  L("Eligible since"), L("Months eligible")), _not_promoted_rows),
    "certificates-expiring": Export(_fixed(L("Employee number"), L("RM"), L("Branch code"), L("Certificate"),
                                           L("Certificate number"), L("Expires on"), L("Days left")),
                                    _certificate_rows),
}


# --- charts ------------------------------------------------------------------------------------

def _numbers(values) -> list:
    return [None if v is None else str(v) for v in values]


def trend_charts(board: attrition.Dashboard) -> tuple[dict, dict]:
    months = [f"{p.month:%Y-%m}" for p in board.trend]
    people = {
        "title": _("Headcount and exits per month"), "xaxis": _("Month"), "yaxis": _("Headcount (RMs)"),
        "y2axis": _("Exits (RMs)"), "x": months, "integer_y": True, "integer_y2": True,
        "series": [
            {"name": _("Headcount at month end"), "type": "line", "axis": "y", "unit": _("RMs"),
             "values": _numbers(p.rates.headcount for p in board.trend)},
            {"name": str(EXITS), "type": "bar", "axis": "y2", "unit": _("RMs"),
             "values": _numbers(p.rates.exits for p in board.trend)},
        ]}
    rates = {
        "title": _("Attrition rate per month"), "xaxis": _("Month"), "yaxis": _("Attrition rate (%)"), "x": months,
        "series": [
            {"name": _("Monthly"), "type": "line", "axis": "y", "unit": "%",
             "values": _numbers(p.rates.rate for p in board.trend)},
            {"name": _("Trailing 12 months"), "type": "line", "axis": "y", "unit": "%",
             "values": _numbers(p.rates.rate_12m for p in board.trend)},
        ]}
    return people, rates


def reasons_chart(board: attrition.Dashboard) -> dict:
    summary = board.reasons
    series = []
    for key, label, _count in summary.groups:
        rows = [row for row in summary.rows if row.group == key]
        series.append({"name": label, "type": "bar", "axis": "y", "unit": _("exits"),
                       "x": [row.label for row in rows], "values": _numbers(row.exits for row in rows)})
    unrecorded = [row for row in summary.rows if not row.group]
    if unrecorded:
        series.append({"name": unrecorded[0].label, "type": "bar", "axis": "y", "unit": _("exits"),
                       "x": [unrecorded[0].label], "values": _numbers([unrecorded[0].exits])})
    return {"title": _("Exits by reason, %(first)s to %(last)s") % {
                "first": f"{board.filters.start:%Y-%m}", "last": f"{board.filters.period:%Y-%m}"},
            "xaxis": _("Reason"), "yaxis": _("Exits (RMs)"), "x": [row.label for row in summary.rows],
            "series": series, "barmode": "stack", "integer_y": True}


def grid_chart(board: attrition.Dashboard) -> dict:
    """Book AUM per risk band, stacked by book quarter, in the reader's money unit (万元 in Chinese)."""
    unit = money_unit_label()
    labels = [label for _band, label, _cells, _total in board.risk_grid.rows]
    series = []
    for i, (key, label) in enumerate(attrition.BOOK_QUARTERS):
        series.append({"name": str(label), "type": "bar", "axis": "y", "unit": unit,
                       "values": _numbers(money_in_unit(cells[i].aum)
                                          for _band, _label, cells, _total in board.risk_grid.rows)})
    return {"title": _("Book AUM by retention-risk band"), "xaxis": _("Retention-risk band"),
            "yaxis": _("Book AUM (%(unit)s)") % {"unit": unit}, "x": labels, "series": series, "barmode": "stack"}


# --- the page ----------------------------------------------------------------------------------

class AttritionView(ActionRequiredMixin, TemplateView):
    """Headcount, exits and attrition rates with their trend and breakdowns, the reasons for
    leaving, the clients of leaving RMs, retention risk and the career items needing attention."""

    required_action = ("analyse", Exit)
    template_name = "careers/attrition.html"

    def get(self, request, *args, **kwargs):
        data = request.GET.copy()
        if not data.get("period"):
            data["period"] = f"{attrition.default_period():%Y-%m}"
        self.form = AttritionFilterForm(data, user=request.user)
        valid = self.form.is_valid()
        if not valid and self.form.out_of_scope():
            raise Http404
        self.board = None
        if valid:
            cleaned = self.form.cleaned_data
            self.board = attrition.Dashboard(request.user, attrition.Filters(
                period=cleaned["period"].replace(day=1), region=cleaned["region"], branch=cleaned["branch"],
                sequence=cleaned["sequence"]))
        if "export" in request.GET:
            return self.export(request)
        return super().get(request, *args, **kwargs)

    def export(self, request):
        table = EXPORTS.get(request.GET.get("export"))
        if table is None:
            raise Http404
        if not scoping.role_may(request.user, *table.required_action):
            raise PermissionDenied
        fmt = request.GET.get("format", "csv")
        if fmt not in FORMATS or self.board is None:
            return HttpResponseBadRequest(_("Choose a valid period, filters and format (csv or xlsx)."))
        name = f"attrition-{request.GET['export']}-{self.board.filters.period:%Y-%m}"
        return export_response(fmt, name, table.header(), table.rows(self.board))

    def query(self) -> str:
        """The filters in force (the default period spelled out) for the export links."""
        params = self.form.data.copy()
        for key in ("export", "format"):
            params.pop(key, None)
        return params.urlencode()

    def get_context_data(self, **kwargs):
        user = self.request.user
        context = super().get_context_data(form=self.form, board=self.board, export_query=self.query(),
                                           may_see_names=scoping.role_may(user, "browse", RiskScore),
                                           may_backtest=scoping.role_may(user, "configure", RiskScore),
                                           rows_shown=ROWS_SHOWN, **kwargs)
        board = self.board
        if board is None:
            return context
        people_chart, rate_chart = trend_charts(board)
        groups = [("region", _("By region"), _("Region")), ("branch", _("By branch"), _("Branch")),
                  ("sequence", _("By job sequence"), _("Job sequence")), ("level", _("By level"), _("Level")),
                  ("tenure", _("By tenure"), _("Tenure"))]
        context.update(
            filters=board.filters, current=board.current, trend=board.trend, people_chart=people_chart,
            rate_chart=rate_chart,
            groups=[{"dimension": d, "title": title, "column": column, "rows": board.by(d), "export": f"by-{d}"}
                    for d, title, column in groups],
            reasons=board.reasons, reasons_chart=reasons_chart(board),
            outflow=board.outflow_summary, risk_month=board.risk_month, risk_bands=board.risk_bands,
            risk_grid=board.risk_grid, book_quarters=[str(label) for _k, label in attrition.BOOK_QUARTERS],
            grid_chart=grid_chart(board) if board.risk_month else None,
            interviews_overdue=board.shown("interviews_overdue"), not_promoted=board.shown("not_promoted"),
            certificates=board.shown("certificates_expiring"), today=board.today,
            warning_days=selectors.CERTIFICATE_WARNING_DAYS,
            not_promoted_months=selectors.NOT_PROMOTED_MONTHS,
        )
        # Everyone sees the high-risk RMs' books together; their names only the risk pages' roles.
        high_risk = board.shown("high_risk")
        context.update(book_at_risk=board.book_at_risk, high_risk_count=high_risk.count)
        if context["may_see_names"]:
            context["high_risk"] = high_risk.rows
        if context["may_backtest"]:
            context["backtest"] = board.backtest
        # Every figure has been read by now: the oldest one kept dates the page.
        context["figures_as_of"] = board.computed_at
        return context
