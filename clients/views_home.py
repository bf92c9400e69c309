"""The branch home (DOMAIN 1–5) and the lists behind its figures that no other page holds: clients
(e.g. those lost this month) and complaints (e.g. those open past their deadline).

Reads go through clients.home and clients.selectors; who sees what is decided by ``restrict``
alone: a branch outside the user's scope is 404, an RM is refused the home (403).
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import cached_property

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext
from django.views.generic import ListView, TemplateView

from careers.models import RiskScore
from clients import home, selectors
from clients.filtersets import ClientFilterSet, ComplaintFilterSet
from clients.models import Branch, Complaint
from core.templatetags.portal_money import money_in_unit, money_unit_label
from rmportal import scoping
from rmportal.exports import FORMATS, export_response
from rmportal.views import ActionRequiredMixin

PAGE_SIZE = 50
SPARK_WIDTH, SPARK_HEIGHT = Decimal(120), Decimal(28)


def sparkline_points(values: list[Decimal]) -> str:
    """SVG polyline points drawing ``values`` left to right in a SPARK_WIDTH × SPARK_HEIGHT box
    (the lowest value at the bottom); empty with fewer than two values."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or Decimal(1)
    step = SPARK_WIDTH / (len(values) - 1)
    points = []
    for n, value in enumerate(values):
        x = step * n
        y = SPARK_HEIGHT - (value - low) / span * (SPARK_HEIGHT - 2) - 1
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)


def _file_part(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z-]", "", text or "")[:20]


def rm_table_header(months) -> list[str]:
    return [_("Employee number"), _("RM"), _("Clients now"), _("Clients in the month"),
            _("Private and affluent clients"), _("Deposit daily average"), _("Loan daily average"), _("AUM"),
            _("12-month profit contribution"),
            *[_("Profit contribution %(month)s") % {"month": f"{m:%Y-%m}"} for m in months]]


def rm_table_rows(trend: home.BookTrend):
    """The RM table of the branch home, exact to the cent (CNY)."""
    for row in trend.rms:
        latest = row.latest
        yield [row.rm.employee_no, row.rm.name, row.book_size,
               latest.clients if latest else 0, latest.private_affluent if latest else 0,
               latest.deposit if latest else home.ZERO, latest.loan if latest else home.ZERO,
               latest.aum if latest else home.ZERO, row.profit_12m, *row.profits]


def branch_chart(trend: home.BookTrend | home.BookOverview) -> dict:
    """What the browser needs to draw AUM (bars) and profit contribution (line) per month, in
    the active language's money unit; labels are translated here."""
    unit = money_unit_label()
    return {
        "title": _("AUM and profit contribution per month"),
        "xaxis": _("Month"),
        "aum_axis": _("AUM (%(unit)s)") % {"unit": unit},
        "profit_axis": _("Profit contribution (%(unit)s)") % {"unit": unit},
        "aum_name": _("AUM"),
        "profit_name": _("Profit contribution"),
        "unit": unit,
        "months": [f"{m.month:%Y-%m}" for m in trend.branch],
        "aum": [str(money_in_unit(m.aum)) for m in trend.branch],
        "profit": [str(money_in_unit(m.profit)) for m in trend.branch],
    }


class BranchHomeView(ActionRequiredMixin, TemplateView):
    """A branch at a glance: its RMs' books and trend (the top and the bottom of the ranking by
    12-month profit contribution; the branch page and the export hold every RM), the appraisal
    period's progress, the last closed period's grades, the pool, retention alerts, career
    interviews, overdue complaints and the clients lost this month; every figure links to the list
    behind it. ``?format=csv|xlsx`` exports the full RM table."""

    required_action = ("home", Branch)
    template_name = "clients/branch_home.html"

    @cached_property
    def branch(self) -> Branch:
        return get_object_or_404(Branch.objects.restrict(self.request.user).select_related("region"),
                                 code=self.kwargs["code"])

    @cached_property
    def month(self) -> dt.date | None:
        return selectors.latest_month()

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("format")
        if fmt in FORMATS:
            trend = home.book_trend(request.user, branch=self.branch, month=self.month)
            name = f"rms-{_file_part(self.branch.code)}"
            if trend.month:
                name += f"-{trend.month:%Y-%m}"
            return export_response(fmt, name, rm_table_header(trend.months), rm_table_rows(trend))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        user, branch = self.request.user, self.branch
        books = home.book_overview(user, branch=branch, month=self.month, top=home.TOP_RMS,
                                   lowest=home.LOWEST_RMS)
        now = timezone.now()
        today = timezone.localdate()
        month_start = today.replace(day=1)
        for row in books.listed:
            row.sparkline = sparkline_points(row.profits)
        rm_groups = [(None, books.top)]
        if books.lowest:
            heading = ngettext("The lowest", "The %(count)s lowest", len(books.lowest)) % {"count": len(books.lowest)}
            rm_groups.append((heading, books.lowest))
        complaints_overdue, complaints_overdue_count = home.first_rows_and_count(
            home.complaints_overdue(user, branch=branch, now=now), home.LISTED)
        lost_clients, lost_count = home.first_rows_and_count(
            home.clients_lost(user, branch=branch, since=month_start), home.LISTED)
        show_alerts = scoping.role_may(user, "browse", RiskScore)
        return super().get_context_data(
            branch=branch, books=books, rm_groups=rm_groups, month=books.month, chart=branch_chart(books),
            spark_width=SPARK_WIDTH, spark_height=SPARK_HEIGHT,
            appraisals=home.appraisal_overview(user, branch=branch),
            pool=home.pool_overview(user, branch=branch),
            alerts=home.retention_alerts(user, branch=branch) if show_alerts else None,
            interviews=home.interview_overview(user, branch=branch, as_of=today),
            complaints_overdue=complaints_overdue, complaints_overdue_count=complaints_overdue_count,
            lost_clients=lost_clients, lost_count=lost_count,
            today=today, month_start=month_start, **kwargs)


class ClientListView(LoginRequiredMixin, ListView):
    """Clients the user may see, filtered with ClientFilterSet: e.g. a branch's clients lost since
    a day (``?branch=B01&status=lost&lost_from=2026-03-01``)."""

    template_name = "clients/client_list.html"
    context_object_name = "clients"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        base = selectors.clients_for_view(user=self.request.user)
        self.filterset = ClientFilterSet(self.request.GET or None, queryset=base, request=self.request)
        if self.filterset.is_bound and not self.filterset.is_valid():
            return base.none()
        clients = self.filterset.qs if self.filterset.is_bound else base
        # Lost clients: the latest losses first; otherwise by client number.
        if self.request.GET.get("status") == "lost":
            return clients.order_by("-lost_on", "client_no")
        return clients.order_by("client_no")

    def get_context_data(self, **kwargs):
        params = self.request.GET.copy()
        params.pop("page", None)
        return super().get_context_data(filterset=self.filterset, page_query=params.urlencode(), **kwargs)


class ComplaintListView(LoginRequiredMixin, ListView):
    """Complaints the user may see, filtered with ComplaintFilterSet: e.g. those of a branch
    still open past their 48-hour deadline (``?branch=B01&state=overdue``)."""

    template_name = "clients/complaint_list.html"
    context_object_name = "complaints"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        base = Complaint.objects.restrict(self.request.user).select_related("client__branch", "rm")
        self.filterset = ComplaintFilterSet(self.request.GET or None, queryset=base, request=self.request)
        if self.filterset.is_bound and not self.filterset.is_valid():
            return base.none()
        complaints = self.filterset.qs if self.filterset.is_bound else base
        # Open ones by their deadline, the most urgent first; otherwise the newest first.
        if self.request.GET.get("state") in (ComplaintFilterSet.OPEN, ComplaintFilterSet.OVERDUE):
            return complaints.order_by("due_at", "pk")
        return complaints.order_by("-opened_at", "-pk")

    def get_context_data(self, **kwargs):
        params = self.request.GET.copy()
        params.pop("page", None)
        return super().get_context_data(filterset=self.filterset, page_query=params.urlencode(),
                                        now=timezone.now(), **kwargs)
