"""The attrition dashboard's figures (DOMAIN 4, 5; seed art. 1): headcount, exits and attrition
rates with their 24-month trend, the reasons for leaving, what became of the clients of leaving
RMs, the retention-risk picture and the career items that need attention.

Definitions (shown on the page as well):

- The population is the RMs (role ``rm``) the user may see (``restrict``), narrowed by the
  filters. An RM counts in their current branch and level (for one who left: the last ones).
- An RM's leaving day is the date of their exit record (``Exit.exit_on``), else ``left_on``.
  It is the first day they are gone: the portal's rule for "employed on a day"
  (``careers.risk.risk_population``).
- Headcount at a month = the RMs employed at the month's last day E: hired on or before E (or
  with no hiring date) and not gone by E (no leaving day, or a leaving day after E).
- Exits of a month = the RMs whose leaving day falls within the month. Hence
  headcount(m) = headcount(m − 1) + hires(m) − exits(m).
- Average headcount of a month = (headcount at the end of the month before + at its end) / 2.
- Monthly attrition rate = exits of the month / its average headcount.
- Trailing 12-month attrition rate = exits of the 12 months up to the month / the mean of those
  12 months' average headcounts.
- Tenure bands (< 1 year, 1–3, 3–5, 5–10, ≥ 10 years) are measured at each month's end from the
  hiring date, for the RMs who left that month too.

Every figure is a fixed number of aggregate queries whatever the number of RMs and months
(STYLE 5): headcount and exits per month are conditional counts, one per month, in one query.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import TypeVar

from django.conf import settings
from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from careers import risk, selectors
from careers.models import Certificate, Exit, JobSequence, RiskBand, RiskScore
from careers.selectors import add_months
from clients.models import Assignment, Branch, Employee, Region, Role
from clients.selectors import latest_month
from core.money import MoneySum, round_half_up
from performance.periods import month_end
from rmportal import scoping
from rmportal.dashboard_cache import dashboard_cached, queryset_key

T = TypeVar("T")

WINDOW_MONTHS = 24
"""Months of trend shown, ending with the period's month."""

TRAILING_MONTHS = 12

ZERO = Decimal("0")
HUNDRED = Decimal("100")

TENURE_BANDS = (
    ("lt1", gettext_lazy("Under 1 year"), 0, 12),
    ("1to3", gettext_lazy("1–3 years"), 12, 36),
    ("3to5", gettext_lazy("3–5 years"), 36, 60),
    ("5to10", gettext_lazy("5–10 years"), 60, 120),
    ("ge10", gettext_lazy("10 years or more"), 120, None),
)
"""(key, label, from months, up to months (excluded)) of tenure at a month's end."""
TENURE_UNKNOWN = "unknown"

R = Exit.Reason
NON_PAY = "non_pay"
COMPENSATION = "compensation"
PERSONAL_OTHER = "personal_other"
REASON_GROUPS = (
    (NON_PAY, gettext_lazy("Incentives, career, recognition, pressure"),
     (R.INCENTIVE_ASSESSMENT, R.CAREER_DEVELOPMENT, R.RECOGNITION, R.WORK_PRESSURE)),
    (COMPENSATION, gettext_lazy("Compensation"), (R.COMPENSATION,)),
    (PERSONAL_OTHER, gettext_lazy("Personal or other"), (R.PERSONAL, R.OTHER)),
)
"""The seed (art. 1) found the first four reasons matter more than pay: they are grouped to test it."""
NO_RECORD = ""

BOOK_QUARTERS = (
    ("q1", gettext_lazy("Smallest quarter")),
    ("q2", gettext_lazy("Second quarter")),
    ("q3", gettext_lazy("Third quarter")),
    ("q4", gettext_lazy("Largest quarter")),
)
"""The book-value bands of the risk × book grid: the scored RMs shown, ranked by book AUM, in four
equal quarters (ties by employee), so that the grid reads the same in a small branch and the bank."""


def _percent(part, whole) -> Decimal | None:
    if not whole:
        return None
    return round_half_up(Decimal(part) * HUNDRED / Decimal(whole), 2)


def default_period(today: dt.date | None = None) -> dt.date:
    """The last full month (its first day)."""
    today = today or timezone.localdate()
    return add_months(today.replace(day=1), -1)


# --- the population ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    period: dt.date
    region: Region | None = None
    branch: Branch | None = None
    sequence: JobSequence | None = None

    @property
    def months(self) -> list[dt.date]:
        """The window's months, oldest first."""
        return [add_months(self.period, -n) for n in range(WINDOW_MONTHS - 1, -1, -1)]

    @property
    def start(self) -> dt.date:
        return self.months[0]

    @property
    def end(self) -> dt.date:
        return month_end(self.period)


def rm_population(user, filters: Filters) -> QuerySet[Employee]:
    """The RMs the user may see, active or gone, narrowed by the filters, annotated with their
    leaving day (``gone_on``)."""
    people = (Employee.objects.restrict(user).filter(role=Role.RM)
              .annotate(gone_on=Coalesce("exit__exit_on", "left_on")))
    if filters.region is not None:
        people = people.filter(branch__region=filters.region)
    if filters.branch is not None:
        people = people.filter(branch=filters.branch)
    if filters.sequence is not None:
        people = people.filter(level__sequence=filters.sequence)
    return people


def _employed_at(day: dt.date) -> Q:
    return ((Q(hired_on__isnull=True) | Q(hired_on__lte=day))
            & (Q(gone_on__isnull=True) | Q(gone_on__gt=day)))


def _gone_within(month: dt.date) -> Q:
    return Q(gone_on__gte=month, gone_on__lte=month_end(month))


def _relevant(people: QuerySet[Employee], first_month: dt.date, last_month: dt.date) -> QuerySet[Employee]:
    """Only RMs hired by the last month's end and not gone before the first month (fewer rows)."""
    return people.filter(Q(hired_on__isnull=True) | Q(hired_on__lte=month_end(last_month))).filter(
        Q(gone_on__isnull=True) | Q(gone_on__gte=first_month))


# --- rates -----------------------------------------------------------------------------------------

@dataclass
class Rates:
    """Headcount, exits and rates of a month with the trailing 12 months (see the module docstring)."""

    headcount: int = 0
    average: Decimal = ZERO
    exits: int = 0
    exits_12m: int = 0
    average_12m: Decimal = ZERO  # exact; shown rounded (``average_12m_shown``)
    voluntary: int = 0

    @property
    def average_12m_shown(self) -> Decimal:
        return round_half_up(self.average_12m, 2)

    @property
    def rate(self) -> Decimal | None:
        return _percent(self.exits, self.average)

    @property
    def rate_12m(self) -> Decimal | None:
        return _percent(self.exits_12m, self.average_12m)


def _rates(headcounts: list[int], exits: list[int], at: int) -> Rates:
    """Rates of month ``at`` from month-end headcounts and monthly exits of the same months;
    ``at`` ≥ 12 so that the trailing months have a headcount before them."""
    averages = [Decimal(headcounts[i - 1] + headcounts[i]) / 2 for i in range(at - TRAILING_MONTHS + 1, at + 1)]
    return Rates(headcount=headcounts[at], average=averages[-1], exits=exits[at],
                 exits_12m=sum(exits[at - TRAILING_MONTHS + 1:at + 1]),
                 average_12m=sum(averages, ZERO) / TRAILING_MONTHS)


def _month_counts(months: list[dt.date], extra: Q = Q(), prefix: str = "") -> dict:
    """Count aggregates: ``{prefix}h{i}`` headcount at the end of months[i], ``{prefix}x{i}``
    exits within it."""
    aggregates = {}
    for i, month in enumerate(months):
        aggregates[f"{prefix}h{i}"] = Count("pk", filter=_employed_at(month_end(month)) & extra)
        aggregates[f"{prefix}x{i}"] = Count("pk", filter=_gone_within(month) & extra)
    return aggregates


@dataclass
class TrendPoint:
    month: dt.date
    rates: Rates


def headcount_trend(people: QuerySet[Employee], filters: Filters) -> list[TrendPoint]:
    """The window's months with headcount, exits (and voluntary exits), monthly and trailing
    12-month rates: one query (36 month-ends, so that the first month has its 12 months before)."""
    months = [add_months(filters.period, -n) for n in range(WINDOW_MONTHS + TRAILING_MONTHS - 1, -1, -1)]
    aggregates = _month_counts(months)
    for i, month in enumerate(months[TRAILING_MONTHS:], start=TRAILING_MONTHS):
        aggregates[f"v{i}"] = Count("pk", filter=_gone_within(month) & Q(exit__voluntary=True))
    counts = _relevant(people, months[0], months[-1]).order_by().aggregate(**aggregates)
    headcounts = [counts[f"h{i}"] for i in range(len(months))]
    exits = [counts[f"x{i}"] for i in range(len(months))]
    points = []
    for i in range(TRAILING_MONTHS, len(months)):
        rates = _rates(headcounts, exits, i)
        rates.voluntary = counts[f"v{i}"]
        points.append(TrendPoint(month=months[i], rates=rates))
    return points


# --- by region, branch, sequence, level, tenure ---------------------------------------------------

@dataclass
class GroupRates:
    key: str
    label: str
    rates: Rates
    region: str = ""
    order: tuple = ()


_GROUP_FIELDS = {
    "region": ("branch__region__code", "branch__region__name"),
    "branch": ("branch__code", "branch__name", "branch__region__code"),
    "sequence": ("level__sequence__code", "level__sequence__name"),
    "level": ("level__sequence__code", "level__rank", "level__code", "level__name", "level__sequence__name"),
}


def _label(dimension: str, row: dict) -> tuple[str, str]:
    if dimension == "region":
        return row["branch__region__code"], f'{row["branch__region__code"]} {row["branch__region__name"]}'
    if dimension == "branch":
        return row["branch__code"], f'{row["branch__code"]} {row["branch__name"]}'
    if row["level__sequence__code"] is None:
        return "", _("No level")
    if dimension == "sequence":
        return row["level__sequence__code"], row["level__sequence__name"]
    return (f'{row["level__sequence__code"]}/{row["level__code"]}',
            f'{row["level__sequence__name"]} · {row["level__name"]}')


def attrition_by(people: QuerySet[Employee], filters: Filters, dimension: str) -> list[GroupRates]:
    """Headcount at the period's end, exits and rates of the period's month and trailing 12
    months, per region, branch, job sequence, level or tenure band: one query. Groups with
    neither headcount nor exits in those months are left out."""
    months = [add_months(filters.period, -n) for n in range(TRAILING_MONTHS, -1, -1)]
    base = _relevant(people, months[0], months[-1]).order_by()
    last = len(months) - 1
    if dimension == "tenure":
        return _attrition_by_tenure(base, months)
    rows = base.values(*_GROUP_FIELDS[dimension]).annotate(**_month_counts(months))
    groups = []
    for row in rows:
        rates = _rates([row[f"h{i}"] for i in range(len(months))], [row[f"x{i}"] for i in range(len(months))], last)
        if not rates.headcount and not rates.exits_12m and not rates.average_12m:
            continue
        key, label = _label(dimension, row)
        # RMs without a level come last; levels go up their sequence's ladder.
        order = (not key, row.get("level__sequence__code") or "", row.get("level__rank") or 0, key)
        groups.append(GroupRates(key=key, label=label, rates=rates, region=row.get("branch__region__code") or "",
                                 order=order))
    return sorted(groups, key=lambda g: g.order)


def _tenure_condition(day: dt.date, low: int, high: int | None) -> Q:
    condition = Q(hired_on__lte=add_months(day, -low))
    if high is not None:
        condition &= Q(hired_on__gt=add_months(day, -high))
    return condition


def _attrition_by_tenure(base: QuerySet[Employee], months: list[dt.date]) -> list[GroupRates]:
    """Tenure is taken at each month's end, so an RM moves up the bands as the months pass."""
    aggregates = {}
    bands = [(key, label, low, high) for key, label, low, high in TENURE_BANDS]
    for key, _label_text, low, high in bands:
        for i, month in enumerate(months):
            band = _tenure_condition(month_end(month), low, high)
            aggregates[f"{key}_h{i}"] = Count("pk", filter=_employed_at(month_end(month)) & band)
            aggregates[f"{key}_x{i}"] = Count("pk", filter=_gone_within(month) & band)
    aggregates.update(_month_counts(months, Q(hired_on__isnull=True), prefix=f"{TENURE_UNKNOWN}_"))
    counts = base.aggregate(**aggregates)
    last = len(months) - 1
    groups = []
    for key, label in [(k, lbl) for k, lbl, _low, _high in bands] + [(TENURE_UNKNOWN, _("No hiring date"))]:
        rates = _rates([counts[f"{key}_h{i}"] for i in range(len(months))],
                       [counts[f"{key}_x{i}"] for i in range(len(months))], last)
        if key == TENURE_UNKNOWN and not rates.headcount and not rates.exits_12m:
            continue
        groups.append(GroupRates(key=key, label=str(label), rates=rates))
    return groups


# --- reasons for leaving ---------------------------------------------------------------------------

@dataclass
class ReasonRow:
    reason: str
    label: str
    group: str
    exits: int = 0
    voluntary: int = 0


@dataclass
class ReasonSummary:
    rows: list[ReasonRow]
    groups: list[tuple[str, str, int]]  # (key, label, exits)
    total: int

    def group_count(self, key: str) -> int:
        return next((count for group, _label, count in self.groups if group == key), 0)

    def share(self, key: str) -> Decimal | None:
        return _percent(self.group_count(key), self.recorded)

    @property
    def recorded(self) -> int:
        """Exits with a reason on record (an exit record)."""
        return sum(count for _key, _label, count in self.groups)

    @property
    def finding(self) -> str:
        """One sentence setting the exits against the seed's finding that incentives and
        appraisal, career development, recognition and work pressure weigh more than pay."""
        if not self.recorded:
            return _("No exit with a recorded reason in these months.")
        non_pay, pay = self.group_count(NON_PAY), self.group_count(COMPENSATION)
        figures = {"non_pay": non_pay, "non_pay_share": self.share(NON_PAY), "pay": pay,
                   "pay_share": self.share(COMPENSATION), "recorded": self.recorded}
        if non_pay > pay:
            return _("%(non_pay)s of %(recorded)s exits with a recorded reason (%(non_pay_share)s %%) gave "
                     "incentives and appraisal, career development, recognition or work pressure, against "
                     "%(pay)s (%(pay_share)s %%) compensation: as the seed found, these four weigh more than "
                     "pay.") % figures
        if non_pay == pay:
            return _("%(non_pay)s of %(recorded)s exits with a recorded reason (%(non_pay_share)s %%) gave "
                     "incentives and appraisal, career development, recognition or work pressure, as many as "
                     "gave compensation: here pay weighs as much as the four the seed found to matter "
                     "more.") % figures
        return _("%(non_pay)s of %(recorded)s exits with a recorded reason (%(non_pay_share)s %%) gave "
                 "incentives and appraisal, career development, recognition or work pressure, against "
                 "%(pay)s (%(pay_share)s %%) compensation: unlike the seed's finding, pay weighs more "
                 "here.") % figures


def exit_reasons(people: QuerySet[Employee], filters: Filters) -> ReasonSummary:
    """Exits of the window by reason category and reason group (one query). An RM gone without
    an exit record has no reason and is counted apart."""
    group_of = {reason: key for key, _label, reasons in REASON_GROUPS for reason in reasons}
    rows = {reason: ReasonRow(reason=reason, label=str(label), group=group_of[reason])
            for reason, label in Exit.Reason.choices}
    unrecorded = ReasonRow(reason=NO_RECORD, label=_("No exit record"), group="")
    for reason, exits, voluntary in (
            people.filter(gone_on__gte=filters.start, gone_on__lte=filters.end).order_by()
            .values("exit__reason").annotate(n=Count("pk"), v=Count("pk", filter=Q(exit__voluntary=True)))
            .values_list("exit__reason", "n", "v")):
        row = rows.get(reason or NO_RECORD, unrecorded)
        row.exits += exits
        row.voluntary += voluntary
    listed = list(rows.values()) + ([unrecorded] if unrecorded.exits else [])
    groups = [(key, str(label), sum(rows[r].exits for r in reasons)) for key, label, reasons in REASON_GROUPS]
    return ReasonSummary(rows=listed, groups=groups, total=sum(row.exits for row in listed))


# --- clients of leaving RMs ----------------------------------------------------------------------

def exit_outflow_for(user, people: QuerySet[Employee], filters: Filters, *, as_of: dt.date | None = None) -> dict:
    """What became of the clients handed over at the exits of the window against the bank's
    normal churn (``careers.selectors.exit_outflow``: five queries)."""
    exits = Exit.objects.filter(employee__in=people.values("pk"), exit_on__gte=filters.start,
                                exit_on__lte=filters.end)
    return selectors.exit_outflow(user, exits=exits, as_of=as_of)


# --- retention risk -----------------------------------------------------------------------------

def risk_scores_in(user, people: QuerySet[Employee]) -> QuerySet[RiskScore]:
    return risk.risk_scores_for(user).filter(employee__in=people.values("pk"))


def risk_month(user, people: QuerySet[Employee], filters: Filters) -> dt.date | None:
    """The latest month scored up to the period's month, for the RMs shown (one query)."""
    return risk_scores_in(user, people).filter(month__lte=filters.period).aggregate(m=Max("month"))["m"]


def risk_distribution(scores: QuerySet[RiskScore]) -> list[tuple[str, str, int, Decimal | None]]:
    """(band, label, RMs, share %) of one month's scores, low to high: one query."""
    counts = dict(scores.order_by().values("band").annotate(n=Count("pk")).values_list("band", "n"))
    total = sum(counts.values())
    return [(band, str(label), counts.get(band, 0), _percent(counts.get(band, 0), total))
            for band, label in RiskBand.choices]


def book_aum(scores: QuerySet[RiskScore]) -> tuple[dt.date | None, dict[int, Decimal]]:
    """The AUM of each scored RM's book now, as ``careers.risk`` measures the book at risk: the
    clients of their open assignments, AUM in the latest month loaded. Two queries."""
    month = latest_month()
    if month is None:
        return None, {}
    books = Assignment.objects.filter(rm__in=scores.values("employee_id"), ended_on__isnull=True,
                                      client__monthly__month=month)
    return month, {rm_id: aum or ZERO for rm_id, aum in (
        books.order_by().values("rm_id")
        .annotate(aum=MoneySum(F("client__monthly__deposit_avg_balance") + F("client__monthly__wm_sales")))
        .values_list("rm_id", "aum"))}


@dataclass
class GridCell:
    band: str
    quarter: str
    rms: int = 0
    aum: Decimal = ZERO


@dataclass
class RiskGrid:
    month: dt.date | None  # the business month of the books
    rows: list[tuple[str, str, list[GridCell], GridCell]] = field(default_factory=list)  # band, label, cells, total
    limits: list[Decimal | None] = field(default_factory=list)  # the largest book AUM of each quarter

    @property
    def cells(self) -> Iterable[GridCell]:
        for _band, _label, cells, _total in self.rows:
            yield from cells


def risk_book_grid(scores: QuerySet[RiskScore]) -> RiskGrid:
    """RMs and their book AUM per risk band × book AUM quarter (three queries)."""
    month, values = book_aum(scores)
    scored = sorted(((values.get(employee_id, ZERO), employee_id, band) for employee_id, band in
                     scores.order_by().values_list("employee_id", "band")), key=lambda item: item[:2])
    keys = [key for key, _label in BOOK_QUARTERS]
    grid = {(band, key): GridCell(band=band, quarter=key) for band in RiskBand.values for key in keys}
    limits: list[Decimal | None] = [None] * len(keys)
    for rank, (aum, _employee_id, band) in enumerate(scored):
        quarter = rank * len(keys) // len(scored)
        cell = grid[(band, keys[quarter])]
        cell.rms += 1
        cell.aum += aum
        limits[quarter] = aum  # ranked upwards: the last one is the quarter's largest
    rows = []
    for band, label in RiskBand.choices:
        cells = [grid[(band, key)] for key in keys]
        total = GridCell(band=band, quarter="", rms=sum(c.rms for c in cells), aum=sum((c.aum for c in cells), ZERO))
        rows.append((band, str(label), cells, total))
    return RiskGrid(month=month, rows=rows, limits=limits if scored else [])


@dataclass
class HighRisk:
    score: RiskScore
    top_factors: list[tuple[str, Decimal]]  # (label, points), most points first
    book: risk.BookAtRisk


def top_factors(factors: dict, count: int = 2) -> list[tuple[str, Decimal]]:
    """The factors with the most points (ties in the order of ``careers.risk.FACTORS``)."""
    ranked = sorted(risk.FACTORS, key=lambda name: (-Decimal(factors.get(name, {}).get("points", "0")),
                                                    risk.FACTORS.index(name)))
    return [(str(risk.FACTOR_LABELS[name]), Decimal(factors.get(name, {}).get("points", "0")))
            for name in ranked[:count] if Decimal(factors.get(name, {}).get("points", "0")) > 0]


def high_risk(scores: QuerySet[RiskScore]) -> list[HighRisk]:
    """The RMs still active whose score of the month is high, highest first, each with their top
    factors and their book at risk (``careers.risk.book_at_risk``): five queries."""
    listed = list(scores.filter(band=RiskBand.HIGH, employee__status=Employee.Status.ACTIVE)
                  .select_related("employee__branch", "employee__level").order_by("-score", "employee__employee_no"))
    books = risk.book_at_risk(s.employee_id for s in listed)
    return [HighRisk(score=s, top_factors=top_factors(s.factors), book=books[s.employee_id]) for s in listed]


def backtest(user, people: QuerySet[Employee], filters: Filters) -> dict:
    """``careers.risk.risk_backtest`` over the window's scores of the RMs shown (HR only)."""
    scores = RiskScore.objects.filter(employee__in=people.values("pk"), month__gte=filters.start,
                                      month__lte=filters.period)
    return risk.risk_backtest(user, scores=scores)


# --- career items needing attention -------------------------------------------------------------

def interviews_overdue_for(user, people: QuerySet[Employee], *, as_of: dt.date) -> list[selectors.InterviewDue]:
    """Active RMs shown whose career interview is overdue, most overdue first (one query)."""
    rows = selectors.interviews_due(user, as_of=as_of, employees=people.filter(status=Employee.Status.ACTIVE))
    return sorted((row for row in rows if row.overdue), key=lambda r: (r.due_on, r.employee.employee_no))


def not_promoted_for(user, people: QuerySet[Employee], *, as_of: dt.date) -> list[selectors.Eligibility]:
    """RMs shown eligible for promotion for six months or more without it (about ten queries)."""
    return selectors.eligible_not_promoted(selectors.promotion_eligibility(user, as_of=as_of, employees=people))


def certificates_expiring(user, people: QuerySet[Employee], *, as_of: dt.date) -> QuerySet[Certificate]:
    """Certificates of active RMs shown that expire within ``CERTIFICATE_WARNING_DAYS`` (from
    ``as_of`` on), soonest first."""
    soon = as_of + dt.timedelta(days=selectors.CERTIFICATE_WARNING_DAYS)
    return (Certificate.objects.restrict(user)
            .filter(employee__in=people.filter(status=Employee.Status.ACTIVE).values("pk"),
                    expires_on__gte=as_of, expires_on__lte=soon)
            .select_related("employee__branch", "certificate_type").order_by("expires_on", "employee__employee_no"))


# --- the whole page ------------------------------------------------------------------------------

ROWS_SHOWN = 50
"""Rows of a long list shown on the page; its export has them all."""


@dataclass
class Shown:
    """What the page shows of a long list: its first rows and how many there are."""

    count: int
    rows: list


@dataclass
class OutflowSummary:
    """What the page shows of the clients of leaving RMs: the exits and their total."""

    exits: int
    total: selectors.Outflow


class Dashboard:
    """The dashboard's figures for a user and filters, each computed once when first read, so
    that an export computes only its own table. ``today`` dates the lists of what needs
    attention now (overdue interviews, eligibility, certificates).

    Each section is kept in the dashboard cache (``rmportal.dashboard_cache``) until the data
    changes, under the user's scope, the filters, the day and the language: users who see the
    same RMs share the figures. What only some roles may see (the names at risk, the backtest)
    is decided by the page after reading. ``computed_at`` is when the oldest figure read was
    computed."""

    def __init__(self, user, filters: Filters, *, today: dt.date | None = None):
        self.user, self.filters = user, filters
        self.today = today or timezone.localdate()
        self._groups: dict[str, list[GroupRates]] = {}
        self.computed_at: dt.datetime | None = None

    @cached_property
    def people(self) -> QuerySet[Employee]:
        return rm_population(self.user, self.filters)

    @cached_property
    def cache_key(self) -> tuple:
        """What the figures depend on besides the data: the role and the SQL of the RMs it may
        see (every other table is restricted by the same scope), the filters, the day, the
        language of the labels."""
        f = self.filters
        return (scoping.role_of(self.user), queryset_key(self.people), f.period, f.region, f.branch, f.sequence, self.today,
                translation.get_language())

    def _cached(self, section: str, compute: Callable[[], T]) -> T:
        cached = dashboard_cached(f"attrition:{section}", self.cache_key, compute)
        if self.computed_at is None or cached.computed_at < self.computed_at:
            self.computed_at = cached.computed_at
        return cached.value

    @cached_property
    def trend(self) -> list[TrendPoint]:
        return self._cached("trend", lambda: headcount_trend(self.people, self.filters))

    @property
    def current(self) -> Rates:
        """The period's month."""
        return self.trend[-1].rates

    def by(self, dimension: str) -> list[GroupRates]:
        if dimension not in self._groups:
            self._groups[dimension] = self._cached(
                f"by-{dimension}", lambda: attrition_by(self.people, self.filters, dimension))
        return self._groups[dimension]

    @cached_property
    def reasons(self) -> ReasonSummary:
        return self._cached("reasons", lambda: exit_reasons(self.people, self.filters))

    @cached_property
    def outflow(self) -> dict:
        return self._cached("outflow", lambda: exit_outflow_for(self.user, self.people, self.filters,
                                                                as_of=self.today))

    @cached_property
    def risk_month(self) -> dt.date | None:
        return self._cached("risk-month", lambda: risk_month(self.user, self.people, self.filters))

    @cached_property
    def scores(self) -> QuerySet[RiskScore]:
        """The scores of ``risk_month`` of the RMs shown."""
        if self.risk_month is None:
            return RiskScore.objects.none()
        return risk_scores_in(self.user, self.people).filter(month=self.risk_month)

    @cached_property
    def risk_bands(self) -> list[tuple[str, str, int, Decimal | None]]:
        if not self.risk_month:
            return []
        return self._cached("risk-bands", lambda: risk_distribution(self.scores))

    @cached_property
    def risk_grid(self) -> RiskGrid:
        if not self.risk_month:
            return RiskGrid(month=None)
        return self._cached("risk-grid", lambda: risk_book_grid(self.scores))

    @cached_property
    def high_risk(self) -> list[HighRisk]:
        if not self.risk_month:
            return []
        return self._cached("high-risk", lambda: high_risk(self.scores))

    @cached_property
    def book_at_risk(self) -> dict:
        """The high-risk RMs' books together: clients, contribution, AUM, affluent, private."""
        def compute():
            books = [row.book for row in self.high_risk]
            return {"rms": len(books), "clients": sum(b.client_count for b in books),
                    "contribution_12m": sum((b.contribution_12m for b in books), Decimal("0.00")),
                    "aum": sum((b.aum for b in books), Decimal("0.00")),
                    "affluent": sum(b.affluent for b in books), "private": sum(b.private for b in books),
                    "month": next((b.month for b in books), None)}

        return self._cached("book-at-risk", compute)

    @cached_property
    def outflow_summary(self) -> OutflowSummary:
        return self._cached("outflow-summary", lambda: OutflowSummary(exits=len(self.outflow["rows"]),
                                                                      total=self.outflow["total"]))

    def shown(self, name: str, size: int = ROWS_SHOWN) -> Shown:
        """The first ``size`` rows of the list ``name`` (``high_risk``, ``interviews_overdue``,
        ``not_promoted``, ``certificates_expiring``) and their number. Kept apart from the whole
        list: the page then reads a few rows from the cache, not thousands of RMs."""
        def compute():
            rows = getattr(self, name)
            return Shown(count=len(rows), rows=rows[:size])

        return self._cached(f"{name}:first-{size}", compute)

    @cached_property
    def backtest(self) -> dict:
        # HR only: ``risk_backtest`` refuses anyone else before anything is kept.
        return self._cached("backtest", lambda: backtest(self.user, self.people, self.filters))

    @cached_property
    def interviews_overdue(self) -> list[selectors.InterviewDue]:
        return self._cached("interviews-overdue",
                            lambda: interviews_overdue_for(self.user, self.people, as_of=self.today))

    @cached_property
    def not_promoted(self) -> list[selectors.Eligibility]:
        return self._cached("not-promoted", lambda: not_promoted_for(self.user, self.people, as_of=self.today))

    @cached_property
    def certificates_expiring(self) -> list[Certificate]:
        return self._cached("certificates-expiring",
                            lambda: list(certificates_expiring(self.user, self.people, as_of=self.today)))

    def compute_all(self) -> None:
        """Reads every figure the page shows (and so keeps it in the cache)."""
        for dimension in ("region", "branch", "sequence", "level", "tenure"):
            self.by(dimension)
        for name in ("trend", "reasons", "outflow_summary", "risk_bands", "risk_grid", "book_at_risk"):
            getattr(self, name)
        for name in ("high_risk", "interviews_overdue", "not_promoted", "certificates_expiring"):
            self.shown(name)
        if scoping.role_of(self.user) == scoping.HR:
            self.backtest


def dashboard_warm() -> int:
    """Computes HR's default view (the last full month, no filter) in every language of the
    portal, so that the first reader after a monthly run finds it ready. HR's figures are the
    same for every HR user: one is enough. Returns the number of views computed."""
    hr = (Employee.objects.filter(role=Role.HR, status=Employee.Status.ACTIVE, user__is_active=True)
          .select_related("user").order_by("employee_no").first())
    if hr is None:
        return 0
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            Dashboard(hr.user, Filters(period=default_period())).compute_all()
    return len(settings.LANGUAGES)
