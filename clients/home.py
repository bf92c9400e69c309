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
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet

from careers import risk
from careers.models import RiskAlert
from careers.selectors import InterviewDue, interviews_due
from clients import selectors
from clients.models import BookMonth, Branch, Client, Complaint, Employee, Role
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

@dataclass
class RMTrend:
    """An active RM of the branch: the book now and its last 12 months (oldest first; None for
    a month in which the RM owned no client-month)."""

    rm: Employee
    book_size: int
    months: list[BookMonth | None]

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


@dataclass
class BookTrend:
    month: dt.date | None
    months: list[dt.date]
    rms: list[RMTrend]
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


def branch_active_rms(user, *, branch: Branch) -> QuerySet[Employee]:
    """The branch's active RMs the user may see, with ``book_size``: clients assigned now."""
    return (Employee.objects.restrict(user)
            .filter(branch=branch, role=Role.RM, status=Employee.Status.ACTIVE)
            .annotate(book_size=Count("assignments", filter=Q(assignments__ended_on__isnull=True)))
            .order_by("employee_no"))


def branch_book_months(user, *, branch: Branch, months: list[dt.date]) -> QuerySet[BookMonth]:
    """The branch's ``BookMonth`` rows of ``months`` the user may see."""
    if not months:
        return BookMonth.objects.none()
    return BookMonth.objects.restrict(user).filter(branch=branch, month__gte=months[0], month__lte=months[-1])


def book_trend(user, *, branch: Branch, month: dt.date | None) -> BookTrend:
    """Each active RM's book now and over the 12 months ending with ``month`` (DOMAIN 2: the
    month's business belongs to the RM owning the client at its end), and the branch's monthly
    totals. Two queries."""
    months = selectors.contribution_months(month)
    rms = list(branch_active_rms(user, branch=branch))
    by_rm: dict[int, dict[dt.date, BookMonth]] = {}
    totals = {m: BranchMonth(month=m) for m in months}
    for row in branch_book_months(user, branch=branch, months=months):
        by_rm.setdefault(row.rm_id, {})[row.month] = row
        total = totals[row.month]
        total.clients += row.clients
        total.private_affluent += row.private_affluent
        total.aum += row.aum
        total.profit += row.profit
    trends = [RMTrend(rm=rm, book_size=rm.book_size, months=[by_rm.get(rm.pk, {}).get(m) for m in months])
              for rm in rms]
    return BookTrend(month=month, months=months, rms=trends, branch=[totals[m] for m in months])


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
    periods = {row["period"]: row for row in appraisals.order_by().values("period").annotate(
        total=Count("pk"), closed=Count("pk", filter=Q(state__in=Appraisal.FROZEN)))}
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
                       share=(Decimal(100 * grades[g]) / overview.graded).quantize(Decimal("0.1"))
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
    as_of: dt.date
    overdue: list[InterviewDue]
    due_soon: list[InterviewDue]
    days: int = DUE_SOON_DAYS


def interview_overview(user, *, branch: Branch, as_of: dt.date) -> InterviewOverview:
    """The branch's RMs whose career interview is overdue, and those due within
    ``DUE_SOON_DAYS`` (DOMAIN 4). One query."""
    rows = interviews_due(user, as_of=as_of, employees=Employee.objects.filter(branch=branch))
    until = as_of + dt.timedelta(days=DUE_SOON_DAYS)
    return InterviewOverview(
        as_of=as_of,
        overdue=sorted((row for row in rows if row.overdue), key=lambda row: (row.due_on, row.employee.employee_no)),
        due_soon=[row for row in rows if row.due_on is not None and as_of <= row.due_on <= until])


# --- complaints and lost clients --------------------------------------------------------------

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
