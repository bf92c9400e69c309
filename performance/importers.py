"""The ``targets`` and ``budgets`` imports (DOMAIN 6), all-or-nothing like every import."""
from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from clients.models import Branch, Employee
from performance.models import Appraisal, Budget, Indicator, Target
from performance.periods import Period
from rmportal.errors import ApplicationError
from rmportal.importing import (
    CREATED,
    CodeColumn,
    DecimalColumn,
    ErrorReport,
    Importer,
    ImportResult,
    Table,
    TextColumn,
    duplicate_message,
    lookup,
    register_importer,
)
from rmportal.validators import validate_period

PERIOD_KIND_NAMES = {"month": gettext_lazy("monthly"), "quarter": gettext_lazy("quarterly"), "year": gettext_lazy("annual")}


def _period(value: str) -> Period | None:
    try:
        return Period.parse(value)
    except ApplicationError:
        return None


@register_importer
class TargetImporter(Importer):
    """A target per RM, indicator (by code, in the RM's branch's active scheme) and period; it
    overrides the scheme's default. Upserted by employee, period and indicator; with ``replace``
    the targets of the file's branch-periods (the RM's branch) that it lacks are deleted.
    Targets of approved appraisals can no longer change. Recorded for undo."""

    kind = "targets"
    label = gettext_lazy("Targets")
    supports_replace = True
    undoable = True
    columns = (
        CodeColumn("employee_no", max_length=30),
        TextColumn("period", max_length=7, ascii_digits=True, validators=[validate_period]),
        CodeColumn("indicator", max_length=40),
        DecimalColumn("target", max_digits=20, decimal_places=6),
    )

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        rows, first_row = [], {}
        for row, values in self.records(table, report):
            period = _period(values["period"])
            if period is None:
                report.add(row, "period", _("“%(value)s” is not a period: use YYYY-MM, YYYY-Qn or YYYY")
                           % {"value": values["period"]})
                continue
            key = (values["employee_no"], period.key, values["indicator"])
            if key in first_row:
                report.add(row, "indicator", duplicate_message(" / ".join(key), first_row[key]))
                continue
            first_row[key] = row
            rows.append((row, period, values))
        employees = {e.employee_no: e for e in lookup(Employee.objects.only("pk", "employee_no", "branch_id"),
                                                       "employee_no", {v["employee_no"] for _r, _p, v in rows})}
        branch_ids = {e.branch_id for e in employees.values()}
        indicators = {(i.scheme.branch_id, i.code): i for i in Indicator.objects.filter(
            scheme__branch_id__in=branch_ids, scheme__is_active=True).select_related("scheme")}
        resolved = []
        for row, period, values in rows:
            employee = employees.get(values["employee_no"])
            if employee is None:
                report.add(row, "employee_no", _("unknown employee “%(code)s”") % {"code": values["employee_no"]})
                continue
            indicator = indicators.get((employee.branch_id, values["indicator"]))
            if indicator is None:
                report.add(row, "indicator", _("the active scheme of %(employee)s's branch has no indicator “%(code)s”")
                           % {"employee": employee.employee_no, "code": values["indicator"]})
                continue
            if not indicator.applies_to(period.kind):
                report.add(row, "period", _("indicator %(code)s is not appraised in %(kind)s periods")
                           % {"code": indicator.code, "kind": PERIOD_KIND_NAMES[period.kind]})
                continue
            resolved.append((row, employee, indicator, period, values["target"]))
        frozen = set(Appraisal.objects.filter(
            employee_id__in=[e.pk for _r, e, _i, _p, _t in resolved], state__in=Appraisal.FROZEN,
            period__in={p.key for _r, _e, _i, p, _t in resolved}).values_list("employee_id", "scheme_id", "period"))
        for row, employee, indicator, period, _target in resolved:
            if (employee.pk, indicator.scheme_id, period.key) in frozen:
                report.add(row, "target", _("the appraisal of %(employee)s for %(period)s is approved; its targets "
                                            "can no longer change") % {"employee": employee.employee_no,
                                                                       "period": period.key})
        if report:
            return self.result()

        codes = dict(Branch.objects.values_list("pk", "code"))
        wanted = {(employee.pk, indicator.pk, period.key): ((codes[employee.branch_id], period.key), {"value": value})
                  for _row, employee, indicator, period, value in resolved}
        stored = {(t.employee_id, t.indicator_id, t.period): t for t in Target.objects.filter(
            employee_id__in={e.pk for _r, e, _i, _p, _t in resolved},
            indicator_id__in={i.pk for _r, _e, i, _p, _t in resolved})}
        scope = []
        if self.replace:
            groups = {group for group, _attrs in wanted.values()}
            scope = [((codes[t.employee.branch_id], t.period), (t.employee_id, t.indicator_id, t.period), t)
                     for t in Target.objects.filter(employee__branch__code__in={code for code, _p in groups},
                                                    period__in={p for _c, p in groups}).select_related("employee")]
            frozen_periods = set(Appraisal.objects.filter(
                employee_id__in={t.employee_id for _g, _k, t in scope}, state__in=Appraisal.FROZEN,
                period__in={p for _c, p in groups}).values_list("employee_id", "period"))
            # A replace does not delete the targets of an approved appraisal either.
            scope = [(g, k, t) for g, k, t in scope if (t.employee_id, t.period) not in frozen_periods]
        new, changed, doomed = self.plan_upsert(
            wanted=wanted, stored=stored, scope=scope,
            build=lambda key, attrs: Target(employee_id=key[0], indicator_id=key[1], period=key[2], **attrs))
        history = {"default_change_reason": self.change_reason, "default_user": self.user}
        if new:
            bulk_create_with_history(new, Target, **history)
            self.record_rows(Target, CREATED, [t.pk for t in new])
        if changed:
            bulk_update_with_history(changed, Target, ["value"], **history)
        if doomed:
            Target.objects.filter(pk__in=[t.pk for t in doomed]).delete()
        _recompute_after_commit({p.key for _r, _e, _i, p, _t in resolved})
        return self.result(rows=table.rows_read)

    @classmethod
    def after_undo(cls, *, batch) -> None:
        _recompute_after_commit(batch.months)


def _recompute_after_commit(period_keys) -> None:
    """New targets change the points of open appraisals of those periods."""
    from django.db import transaction

    from performance.appraisals import appraisal_run

    def recompute():
        for key in sorted(period_keys):
            if Appraisal.objects.filter(period=key).exclude(state__in=Appraisal.FROZEN).exists():
                appraisal_run(period=key, reason=_("recomputed with new targets"))

    transaction.on_commit(recompute)


@register_importer
class BudgetImporter(Importer):
    """HR's bonus budget per branch and period (DOMAIN 3.5), upserted by branch and period (the
    key is the whole group, so there is nothing a replace could delete). Changing the budget of a
    period already paid recomputes its bonus statements. Recorded for undo."""

    kind = "budgets"
    label = gettext_lazy("Bonus budgets")
    undoable = True
    columns = (
        CodeColumn("branch_code", max_length=20),
        TextColumn("period", max_length=7, ascii_digits=True, validators=[validate_period]),
        DecimalColumn("amount", max_digits=18, decimal_places=2, minimum=Decimal("0")),
    )

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        rows, first_row = [], {}
        branches = {b.code: b for b in Branch.objects.all()}
        for row, values in self.records(table, report):
            period = _period(values["period"])
            if period is None:
                report.add(row, "period", _("“%(value)s” is not a period: use YYYY-MM, YYYY-Qn or YYYY")
                           % {"value": values["period"]})
                continue
            branch = branches.get(values["branch_code"])
            if branch is None:
                report.add(row, "branch_code", _("unknown branch “%(code)s”") % {"code": values["branch_code"]})
                continue
            key = (branch.code, period.key)
            if key in first_row:
                report.add(row, "period", duplicate_message(" / ".join(key), first_row[key]))
                continue
            first_row[key] = row
            rows.append((branch, period, values["amount"]))
        if report:
            return self.result()
        wanted = {(branch.pk, period.key): ((branch.code, period.key), {"amount": amount})
                  for branch, period, amount in rows}
        stored = {(b.branch_id, b.period): b for b in Budget.objects.filter(
            branch_id__in={b.pk for b, _p, _a in rows}, period__in={p.key for _b, p, _a in rows})}
        new, changed, _doomed = self.plan_upsert(
            wanted=wanted, stored=stored,
            build=lambda key, attrs: Budget(branch_id=key[0], period=key[1], **attrs))
        history = {"default_change_reason": self.change_reason, "default_user": self.user}
        if new:
            bulk_create_with_history(new, Budget, **history)
            self.record_rows(Budget, CREATED, [b.pk for b in new])
        if changed:
            bulk_update_with_history(changed, Budget, ["amount"], **history)
            _bonus_recompute(changed, by=self.user)
        return self.result(rows=table.rows_read)

    @classmethod
    def after_undo(cls, *, batch) -> None:
        branches = {b.code: b for b in Branch.objects.filter(code__in=batch.branches)}
        _bonus_recompute([Budget(branch=branches[group["branch"]], period=group["month"])
                          for group in batch.groups if group["updated"] and group["branch"] in branches])


def _bonus_recompute(budgets, by=None) -> None:
    """The bonus statements of the budgets' branch-periods, when already paid."""
    from performance.bonus import bonus_compute

    for budget in budgets:
        bonus_compute(branch=budget.branch, period=budget.period, by=by)
