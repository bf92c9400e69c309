"""Reads behind the branch home, the page a branch manager opens every morning (DOMAIN 1–5).

Each selector takes the user and a branch the caller has already found through ``restrict``, and
composes the apps' own selectors: ``performance.selectors`` (appraisal progress, pool),
``careers.selectors`` (career interviews), ``careers.risk`` (alerts and the book at risk) and
``clients.selectors``. The RMs' trend reads the pre-aggregated ``BookMonth`` rows
(``clients.books``). Every card costs a fixed number of queries, whatever the number of RMs or
clients.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Max, Min, Q, QuerySet, Sum, Window

from careers import risk
from careers.models import RiskAlert
from careers.selectors import DEFAULT_INTERVIEW_MONTHS, InterviewDue, career_employees, interview_due_on
from clients import selectors
from clients.models import Assignment, BookMonth, Branch, Client, Complaint, Employee, Role
from core.money import MoneySum, round_half_up
from performance import selectors as performance_selectors
from performance.models import Appraisal, PerformancePool, PoolEntry
from performance.periods import Period
from performance.scoring import Grade
from rmportal.errors import ApplicationError

ZERO = Decimal("0.00")
DUE_SOON_DAYS = 30
"""A career interview due within this many days shows as coming up (DOMAIN 4)."""
RECENT_ALLOCATIONS = 5
LISTED = 5
"""Rows a card lists before pointing to the full list."""


# --- RMs' books and their trend ---------------------------------------------------------------

TOP_RMS = 20
"""RMs the branch home lists from the top of the 12-month profit contribution ranking."""
LOWEST_RMS = 10
"""RMs it lists from the bottom of that ranking; the export and the branch page hold them all."""


@dataclass
class RMTrend:
    """An active RM of the branch: the book now and its last 12 months (oldest first; None for
    a month in which the RM owned no client-month). ``rank``: the place in the branch's ranking
    by 12-month profit contribution, where one was made."""

    rm: Employee
    book_size: int
    months: list[BookMonth | None]
    rank: int | None = None

    @property
    def latest(self) -> BookMonth | None:
        return self.months[-1] if self.months else None

    @property
    def profits(self) -> list[Decimal]:
        return [row.profit if row else ZERO for row in self.months]

    @property
    def aums(self) -> list[Decimal]:
        return [row.aum if row else ZERO for row in self.months]

    @property
    def profit_12m(self) -> Decimal:
        return sum(self.profits, ZERO)


@dataclass
class BranchMonth:
    """The whole branch in one month: every RM's book, also of RMs who have left since."""

    month: dt.date
    clients: int = 0
    private_affluent: int = 0
    aum: Decimal = ZERO
    profit: Decimal = ZERO


class _BranchTotals:
    branch: list[BranchMonth]

    @property
    def has_data(self) -> bool:
        return any(m.clients for m in self.branch)

    @property
    def latest(self) -> BranchMonth | None:
        return self.branch[-1] if self.branch else None

    @property
    def profit_12m(self) -> Decimal:
        return sum((m.profit for m in self.branch), ZERO)


@dataclass
class BookTrend(_BranchTotals):
    """Every active RM of the branch (by employee number) and the branch's monthly totals."""

    month: dt.date | None
    months: list[dt.date]
    rms: list[RMTrend]
    branch: list[BranchMonth]


@dataclass
class BookOverview(_BranchTotals):
    """What the branch home shows of the books: the branch's monthly totals, how many active RMs
    it has, and the RMs at the top and at the bottom of the ranking by 12-month profit
    contribution (all of them, ranked, when they are no more than ``TOP_RMS + LOWEST_RMS``)."""

    month: dt.date | None
    months: list[dt.date]
    branch: list[BranchMonth]
    rm_count: int = 0
    top: list[RMTrend] = field(default_factory=list)
    lowest: list[RMTrend] = field(default_factory=list)

    @property
    def listed(self) -> list[RMTrend]:
        return self.top + self.lowest


def branch_active_rms(user, *, branch: Branch) -> QuerySet[Employee]:
    """The branch's active RMs the user may see, by employee number."""
    return (Employee.objects.restrict(user)
            .filter(branch=branch, role=Role.RM, status=Employee.Status.ACTIVE)
            .order_by("employee_no"))


def book_sizes(rm_ids: Iterable[int]) -> dict[int, int]:
    """Clients assigned now per RM (RMs without any are left out). One query, counting the open
    assignments on the (rm, ended_on) index instead of joining every assignment ever made."""
    return dict(Assignment.objects.filter(rm_id__in=rm_ids, ended_on__isnull=True).order_by()
                .values_list("rm_id").annotate(n=Count("*")))


def branch_book_months(user, *, branch: Branch, months: list[dt.date]) -> QuerySet[BookMonth]:
    """The branch's ``BookMonth`` rows of ``months`` the user may see."""
    if not months:
        return BookMonth.objects.none()
    return BookMonth.objects.restrict(user).filter(branch=branch, month__gte=months[0], month__lte=months[-1])


def _rm_months(rows, months: list[dt.date]) -> dict[int, list[BookMonth | None]]:
    by_rm: dict[int, dict[dt.date, BookMonth]] = {}
    for row in rows:
        by_rm.setdefault(row.rm_id, {})[row.month] = row
    return {rm_id: [by_month.get(m) for m in months] for rm_id, by_month in by_rm.items()}


def book_trend(user, *, branch: Branch, month: dt.date | None) -> BookTrend:
    """Each active RM's book now and over the 12 months ending with ``month`` (DOMAIN 2: the
    month's business belongs to the RM owning the client at its end), and the branch's monthly
    totals: the full RM table, as exported. Three queries."""
    months = selectors.contribution_months(month)
    rms = list(branch_active_rms(user, branch=branch))
    sizes = book_sizes([rm.pk for rm in rms])
    rows = list(branch_book_months(user, branch=branch, months=months))
    totals = {m: BranchMonth(month=m) for m in months}
    for row in rows:
        total = totals[row.month]
        total.clients += row.clients
        total.private_affluent += row.private_affluent
        total.aum += row.aum
        total.profit += row.profit
    by_rm = _rm_months(rows, months)
    empty = [None] * len(months)
    trends = [RMTrend(rm=rm, book_size=sizes.get(rm.pk, 0), months=by_rm.get(rm.pk, empty)) for rm in rms]
    return BookTrend(month=month, months=months, rms=trends, branch=[totals[m] for m in months])


def book_overview(user, *, branch: Branch, month: dt.date | None, top: int = TOP_RMS,
                  lowest: int = LOWEST_RMS) -> BookOverview:
    """The branch's monthly totals over the 12 months ending with ``month`` and its active RMs
    ranked by profit contribution over those months (DOMAIN 2, 2.2), highest first, ties by
    employee number; only the ``top`` first and ``lowest`` last come with their book and trend.
    Five queries, aggregated in the database: however many RMs the branch has, only the rows of
    the RMs listed are read."""
    months = selectors.contribution_months(month)
    overview = BookOverview(month=month, months=months, branch=[BranchMonth(month=m) for m in months])
    rms = list(branch_active_rms(user, branch=branch))
    overview.rm_count = len(rms)
    if months:
        book_months = branch_book_months(user, branch=branch, months=months).order_by()
        totals = {row["month"]: BranchMonth(**row) for row in book_months.values("month").annotate(
            clients=Sum("clients"), private_affluent=Sum("private_affluent"), aum=MoneySum("aum"), profit=MoneySum("profit"))}
        overview.branch = [totals.get(m) or BranchMonth(month=m) for m in months]
        profits = dict(book_months.values_list("rm_id").annotate(profit=MoneySum("profit")))
        rms.sort(key=lambda rm: (-profits.get(rm.pk, ZERO), rm.employee_no))
    cut = top if len(rms) > top + lowest else len(rms)
    shown = list(enumerate(rms[:cut], start=1))
    if cut < len(rms) and lowest:
        shown += enumerate(rms[-lowest:], start=len(rms) - lowest + 1)
    if not shown:
        return overview
    ids = [rm.pk for _rank, rm in shown]
    by_rm = _rm_months(branch_book_months(user, branch=branch, months=months).filter(rm__in=ids), months)
    sizes = book_sizes(ids)
    empty = [None] * len(months)
    # Without any month of data there is nothing to rank by: the RMs come by employee number.
    trends = [RMTrend(rm=rm, book_size=sizes.get(rm.pk, 0), months=by_rm.get(rm.pk, empty),
                      rank=rank if months else None)
              for rank, rm in shown]
    overview.top, overview.lowest = trends[:cut], trends[cut:]
    return overview


# --- appraisals -------------------------------------------------------------------------------

def _period_order(key: str):
    """Newest first by the period's last day; of two ending together the shorter (routine) one."""
    try:
        period = Period.parse(key)
    except ApplicationError:
        return (dt.date.min, 0)
    return (period.end, -period.month_count)


@dataclass
class GradeShare:
    grade: str
    label: str
    count: int
    share: Decimal  # percent, one decimal


@dataclass
class AppraisalOverview:
    """The newest appraisal period of the branch with its progress through the workflow
    (DOMAIN 3.3), and the grade distribution of the newest closed one: every appraisal approved
    or further along."""

    period: str | None = None
    states: list[tuple[str, str, int]] = field(default_factory=list)
    total: int = 0
    missing_inputs: int = 0
    closed_period: str | None = None
    grades: list[GradeShare] = field(default_factory=list)
    graded: int = 0


def appraisal_overview(user, *, branch: Branch) -> AppraisalOverview:
    """Four queries: the periods, the progress of the newest (``performance.selectors.progress``)
    and the grades of the newest closed period."""
    appraisals = performance_selectors.appraisals_for(user).filter(branch=branch)
    # Counting columns of the (branch, period, state) index, not the key: read from the index alone.
    periods = {row["period"]: row for row in appraisals.order_by().values("period").annotate(
        total=Count("period"), closed=Count("state", filter=Q(state__in=Appraisal.FROZEN)))}
    ordered = sorted(periods, key=_period_order, reverse=True)
    overview = AppraisalOverview()
    if not ordered:
        return overview
    overview.period = ordered[0]
    counts = performance_selectors.progress(user, overview.period, branch=branch)
    overview.states = [(state, label, counts.get(state, 0)) for state, label in Appraisal.State.choices]
    overview.total = sum(count for _state, _label, count in overview.states)
    overview.missing_inputs = counts.get("missing_inputs", 0)
    overview.closed_period = next((p for p in ordered if periods[p]["total"] == periods[p]["closed"]), None)
    if overview.closed_period is not None:
        grades = Counter(dict(appraisals.filter(period=overview.closed_period).order_by()
                              .values_list("grade").annotate(n=Count("pk"))))
        overview.graded = sum(grades[g] for g in Grade.values)
        overview.grades = [
            GradeShare(grade=g, label=str(label), count=grades[g],
                       share=round_half_up(Decimal(100 * grades[g]) / overview.graded, 1)
                       if overview.graded else ZERO)
            for g, label in Grade.choices]
    return overview


# --- performance pool -------------------------------------------------------------------------

@dataclass
class PoolOverview:
    pool: PerformancePool | None
    allocations: list[PoolEntry]

    @property
    def balance(self) -> Decimal:
        return self.pool.balance if self.pool is not None else ZERO


def pool_overview(user, *, branch: Branch) -> PoolOverview:
    """The unit's pool balance and its latest allocations (DOMAIN 3.5). Two queries."""
    pool = performance_selectors.pools_for(user).filter(branch=branch).first()
    allocations = list(performance_selectors.pool_ledger(user, branch_id=branch.pk)
                       .filter(kind=PoolEntry.Kind.ALLOCATION)[:RECENT_ALLOCATIONS])
    return PoolOverview(pool=pool, allocations=allocations)


# --- retention risk ---------------------------------------------------------------------------

@dataclass
class AlertRow:
    alert: RiskAlert
    book: risk.BookAtRisk


@dataclass
class AlertOverview:
    rows: list[AlertRow]

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def clients(self) -> int:
        return sum(row.book.client_count for row in self.rows)

    @property
    def contribution_12m(self) -> Decimal:
        return sum((row.book.contribution_12m for row in self.rows), ZERO)

    @property
    def aum(self) -> Decimal:
        return sum((row.book.aum for row in self.rows), ZERO)

    @property
    def private_affluent(self) -> int:
        return sum(row.book.private + row.book.affluent for row in self.rows)


def retention_alerts(user, *, branch: Branch) -> AlertOverview:
    """The branch's alerts not yet resolved, highest score first, each with the RM's book at
    risk (DOMAIN 5). One RM has at most one such alert; five queries in all."""
    alerts = list(risk.risk_alerts_for(user).filter(employee__branch=branch)
                  .exclude(status=RiskAlert.Status.RESOLVED).order_by("-score__score", "-opened_at"))
    books = risk.book_at_risk(alert.employee_id for alert in alerts)
    return AlertOverview(rows=[AlertRow(alert=alert, book=books[alert.employee_id]) for alert in alerts])


# --- career interviews ------------------------------------------------------------------------

@dataclass
class InterviewOverview:
    """How many of the branch's RMs are overdue for their career interview, and the longest
    overdue of them (``LISTED``); how many are due within ``days``."""

    as_of: dt.date
    overdue: list[InterviewDue]
    overdue_count: int = 0
    due_soon_count: int = 0
    days: int = DUE_SOON_DAYS


def interview_overview(user, *, branch: Branch, as_of: dt.date) -> InterviewOverview:
    """The branch's active RMs overdue for their career interview and those due within
    ``DUE_SOON_DAYS`` (DOMAIN 4), by the rule of ``careers.selectors.interview_due``: the last
    held interview, or the hiring date, plus the sequence's interval. Two queries: every RM's
    dates aggregated in one join (not the interview list's per-row figures, which the card does
    not show), then the few RMs listed."""
    rms = (career_employees(user).filter(branch=branch, status=Employee.Status.ACTIVE).order_by()
           .values_list("pk", "employee_no", "hired_on", "level__sequence__interview_interval_months")
           .annotate(last_held_on=Max("interviews__held_on"),
                     next_scheduled_on=Min("interviews__scheduled_on", filter=Q(interviews__held_on__isnull=True))))
    until = as_of + dt.timedelta(days=DUE_SOON_DAYS)
    overview = InterviewOverview(as_of=as_of, overdue=[])
    overdue = []
    for pk, employee_no, hired_on, interval, last_held_on, next_scheduled_on in rms:
        interval = DEFAULT_INTERVIEW_MONTHS if interval is None else interval
        due_on = interview_due_on(last_held_on=last_held_on, hired_on=hired_on, interval_months=interval)
        if due_on is None:
            continue
        if due_on < as_of:
            overdue.append((due_on, employee_no, pk, interval, last_held_on, next_scheduled_on))
        elif due_on <= until:
            overview.due_soon_count += 1
    overview.overdue_count = len(overdue)
    listed = sorted(overdue)[:LISTED]
    employees = Employee.objects.in_bulk([row[2] for row in listed]) if listed else {}
    overview.overdue = [
        InterviewDue(employee=employees[pk], interval_months=interval, last_held_on=last_held_on,
                     next_scheduled_on=next_scheduled_on, due_on=due_on, as_of=as_of)
        for due_on, _no, pk, interval, last_held_on, next_scheduled_on in listed]
    return overview


# --- complaints and lost clients --------------------------------------------------------------

def first_rows_and_count(queryset: QuerySet, n: int) -> tuple[list, int]:
    """The first ``n`` rows of ``queryset`` and how many rows it holds in all, in one query: the
    count is a window over the whole result, taken before the limit."""
    rows = list(queryset.annotate(_total=Window(Count("*")))[:n])
    return rows, rows[0]._total if rows else 0


def complaints_overdue(user, *, branch: Branch, now: dt.datetime) -> QuerySet[Complaint]:
    """The branch's complaints still open past their response deadline (DOMAIN 2), oldest
    deadline first."""
    return (Complaint.objects.restrict(user)
            .filter(client__branch=branch, resolved_at__isnull=True, due_at__lt=now)
            .select_related("client", "rm").order_by("due_at", "pk"))


def clients_lost(user, *, branch: Branch, since: dt.date) -> QuerySet[Client]:
    """The branch's clients lost on or after ``since``, latest first."""
    return (selectors.clients_for_view(user=user)
            .filter(branch=branch, status=Client.Status.LOST, lost_on__gte=since)
            .order_by("-lost_on", "client_no"))
