"""Reads on career paths (DOMAIN 4): career records, promotion eligibility, interviews due, the
level coefficients the bonus uses, and what became of the clients an exiting RM handed over.

Every selector that takes the user starts from ``restrict``. Figures over many employees come
from a fixed number of queries whatever their number (STYLE 5); the per-employee arithmetic on
the few rows each one has (level changes, certificates, trainings) is done in Python.
"""
from __future__ import annotations

import calendar
import datetime as dt
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (Case, Count, DateField, F, IntegerField, Max, Min, OuterRef, Q, QuerySet, Subquery,
                              Value, When)
from django.db.models import CharField as CharOutput
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from careers.models import (CareerGoal, CareerInterview, Certificate, Commendation, Exit, ExitHandover, JobSequence,
                            Level, LevelChange, Training)
from clients.models import Assignment, Client, ClientContribution, Employee, Role
from clients.selectors import PROFIT_CONTRIBUTION
from core.money import MoneySum, round_half_up
from performance.models import Appraisal, Signal
from performance.periods import YEAR
from performance.scoring import Grade

DEFAULT_INTERVIEW_MONTHS = 6
"""Interval between career interviews for an employee without a level (DOMAIN 4: default 6 months)."""

CERTIFICATE_WARNING_DAYS = 90
"""A certificate expiring within this many days is shown as expiring."""

NOT_PROMOTED_MONTHS = 6
"""Eligible for this long without a promotion: listed for HR's attention."""

SINCE_LOOKBACK_MONTHS = 24
"""How far back "eligible since" is traced; an older start shows as this many months ago."""

GOOD_OR_BETTER = (Grade.EXCELLENT, Grade.GOOD)
ONE = Decimal("1")
RATE_PLACES = 4


# --- dates ----------------------------------------------------------------------------------

def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months; the 31st becomes the last day of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def full_months(start: dt.date, end: dt.date) -> int:
    """Whole months from ``start`` to ``end`` (0 when ``end`` is before ``start``)."""
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return months


def _met_since(points: Iterable[dt.date], met_at: Callable[[dt.date], bool], *, as_of: dt.date,
               floor: dt.date) -> dt.date | None:
    """The first day of the unbroken run up to ``as_of`` in which ``met_at`` holds, given that its
    value only changes on one of ``points``; ``floor`` when the run reaches back that far; None
    when it does not hold on ``as_of``."""
    if not met_at(as_of):
        return None
    for day in sorted({p for p in points if floor < p <= as_of}, reverse=True):
        if not met_at(day - dt.timedelta(days=1)):
            return day
    return floor


def _latest(queryset: QuerySet, field_name: str, function=Max):
    """A correlated subquery: ``function`` of ``field_name`` over the employee's rows of ``queryset``."""
    aggregated = queryset.order_by().values("employee").annotate(_v=function(field_name)).values("_v")[:1]
    return Subquery(aggregated)


def _count(queryset: QuerySet):
    """A correlated subquery counting the employee's rows of ``queryset`` (0 when none)."""
    counted = queryset.order_by().values("employee").annotate(_n=Count("pk")).values("_n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# --- job sequences ----------------------------------------------------------------------------

def job_sequences() -> QuerySet[JobSequence]:
    """Job sequences are bank-wide reference data: every role may read them."""
    return JobSequence.objects.annotate(level_count=Count("levels"))


def sequence_levels(sequence: JobSequence) -> QuerySet[Level]:
    return sequence.levels.order_by("rank").prefetch_related("required_certificates")


# --- career records ---------------------------------------------------------------------------

def career_employees(user) -> QuerySet[Employee]:
    """The RMs whose career record the user may see (an RM: only their own)."""
    return (Employee.objects.restrict(user).filter(role=Role.RM)
            .select_related("level__sequence", "branch"))


def _scoped(user, employees: QuerySet[Employee] | None) -> QuerySet[Employee]:
    """``employees`` (or all) within what the user may see: a caller's queryset narrows, never widens."""
    base = career_employees(user)
    return base if employees is None else base.filter(pk__in=employees.values("pk"))


def with_career_figures(queryset: QuerySet[Employee], *, as_of: dt.date) -> QuerySet[Employee]:
    """Annotate employees with their last held and next scheduled interview, the certificates
    expiring within ``CERTIFICATE_WARNING_DAYS`` and their open goals. Needs no user: every row
    counted belongs to an employee the caller has restricted already."""
    interviews = CareerInterview.objects.filter(employee=OuterRef("pk"))
    soon = as_of + dt.timedelta(days=CERTIFICATE_WARNING_DAYS)
    return queryset.annotate(
        last_held_on=_latest(interviews.filter(held_on__isnull=False), "held_on"),
        next_scheduled_on=_latest(interviews.filter(held_on__isnull=True), "scheduled_on", Min),
        certificates_expiring=_count(Certificate.objects.filter(employee=OuterRef("pk"), expires_on__gte=as_of,
                                                                expires_on__lte=soon)),
        open_goals=_count(CareerGoal.objects.filter(employee=OuterRef("pk"), status=CareerGoal.Status.OPEN)),
    )


def level_history(user, employee: Employee) -> QuerySet[LevelChange]:
    return (LevelChange.objects.restrict(user).filter(employee=employee)
            .select_related("from_level__sequence", "to_level__sequence", "from_branch", "to_branch")
            .order_by("-effective_on", "-id"))


def employee_certificates(user, employee: Employee, *, as_of: dt.date) -> QuerySet[Certificate]:
    """The certificates with ``validity``: expired, expiring (within 90 days) or valid."""
    soon = as_of + dt.timedelta(days=CERTIFICATE_WARNING_DAYS)
    return (Certificate.objects.restrict(user).filter(employee=employee).select_related("certificate_type")
            .annotate(validity=Case(When(expires_on__lt=as_of, then=Value("expired")),
                                    When(expires_on__lte=soon, then=Value("expiring")),
                                    default=Value("valid"), output_field=CharOutput())))


def employee_trainings(user, employee: Employee) -> QuerySet[Training]:
    return Training.objects.restrict(user).filter(employee=employee)


def employee_commendations(user, employee: Employee) -> QuerySet[Commendation]:
    return Commendation.objects.restrict(user).filter(employee=employee)


def employee_goals(user, employee: Employee) -> QuerySet[CareerGoal]:
    return CareerGoal.objects.restrict(user).filter(employee=employee).select_related("target_level__sequence")


def employee_interviews(user, employee: Employee) -> QuerySet[CareerInterview]:
    return CareerInterview.objects.restrict(user).filter(employee=employee).select_related("interviewer")


def training_hours(trainings: Iterable[Training], *, as_of: dt.date) -> Decimal:
    """Hours completed in the 12 months up to ``as_of`` (the day 12 months back excluded)."""
    start = add_months(as_of, -12)
    return sum((t.hours for t in trainings if start < t.completed_on <= as_of), Decimal("0"))


# --- bonus coefficients -------------------------------------------------------------------

def level_coefficients_as_of(employee_ids: Iterable[int], date: dt.date) -> dict[int, Decimal]:
    """The bonus coefficient of the level each employee held on ``date`` (DOMAIN 3.5, 4).

    The level of the last level change effective on or before ``date``; before the first change
    recorded, the level that change started from; without history, the employee's current level.
    An exit keeps the level held until then. No level at all counts 1 (as the bonus does).
    Two queries whatever the number of employees.
    """
    ids = list(employee_ids)
    result = {pk: coefficient if coefficient is not None else ONE
              for pk, coefficient in Employee.objects.filter(pk__in=ids)
              .values_list("pk", "level__bonus_coefficient")}
    in_force: dict[int, Decimal] = {}
    held_before: dict[int, Decimal | None] = {}
    changes = (LevelChange.objects.filter(employee_id__in=ids).order_by("effective_on", "id")
               .values_list("employee_id", "effective_on", "from_level__bonus_coefficient",
                            "to_level__bonus_coefficient"))
    for employee_id, effective_on, before, after in changes:
        if effective_on <= date:
            if after is not None:
                in_force[employee_id] = after
        elif employee_id not in held_before:
            held_before[employee_id] = before
    for pk in result:
        if pk in in_force:
            result[pk] = in_force[pk]
        elif held_before.get(pk) is not None:
            result[pk] = held_before[pk]
    return result


# --- promotion eligibility ------------------------------------------------------------------

@dataclass
class Requirement:
    """One promotion requirement of a level: what it asks, what the employee has, and since when
    it has been met without a break (None: met on no particular day, e.g. nothing is asked)."""

    key: str
    label: str
    required: object
    actual: object
    met: bool
    since: dt.date | None = None
    detail: str = ""


@dataclass
class Eligibility:
    employee: Employee
    level: Level
    next_level: Level | None
    level_since: dt.date | None
    as_of: dt.date
    requirements: list[Requirement] = field(default_factory=list)
    candidate_signals: list[Signal] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return self.next_level is not None and all(r.met for r in self.requirements)

    @property
    def eligible_since(self) -> dt.date | None:
        """The day the last requirement was met (each traced back at most 24 months)."""
        if not self.eligible:
            return None
        days = [r.since for r in self.requirements if r.since is not None]
        return max(days) if days else self.level_since

    @property
    def waiting_months(self) -> int:
        since = self.eligible_since
        return full_months(since, self.as_of) if since else 0

    @property
    def long_waiting(self) -> bool:
        """Eligible without a break for ``NOT_PROMOTED_MONTHS`` or more and still not promoted."""
        since = self.eligible_since
        return since is not None and since <= add_months(self.as_of, -NOT_PROMOTED_MONTHS)

    @property
    def promotion_candidate(self) -> bool:
        return bool(self.candidate_signals)


def promotion_eligibility(user, *, as_of: dt.date | None = None,
                          employees: QuerySet[Employee] | None = None) -> list[Eligibility]:
    """Promotion eligibility of every active RM with a level the user may see (DOMAIN 4), or of
    those among ``employees`` (e.g. a filtered list), each requirement of the current level shown
    met or not with its figure:

    - months at the level: since the last level change into it, else the hiring date;
    - good-or-better grades in the approved annual appraisals of the N years before ``as_of``'s
      year (the current year's annual appraisal comes after its end);
    - every required certificate held and not expired on ``as_of`` (valid through its expiry day);
    - training hours completed in the 12 months up to ``as_of``;
    - book size: the clients the RM is responsible for now (open assignments).

    "Eligible since" is the day the last requirement was met: months at the level count from
    the level start, grades from 1 January of the year their window first held enough, the
    certificates from when the valid ones were obtained, training and book size from their
    day-by-day history (rolling 12 months; assignment starts and ends). Open promotion-candidate
    signals of the appraisal rules (DOMAIN 3.4) are attached. About ten queries in all.
    """
    as_of = as_of or timezone.localdate()
    base = _scoped(user, employees)
    people = list(base.filter(status=Employee.Status.ACTIVE, level__isnull=False)
                  .select_related("level__sequence", "branch").order_by("branch__code", "employee_no"))
    if not people:
        return []
    ids = [e.pk for e in people]
    levels = {level.pk: level for level in Level.objects.filter(
        sequence_id__in={e.level.sequence_id for e in people}).select_related("sequence")
        .prefetch_related("required_certificates").order_by("sequence_id", "rank")}
    above: dict[int, Level] = {}
    by_sequence: dict[int, list[Level]] = defaultdict(list)
    for level in levels.values():
        by_sequence[level.sequence_id].append(level)
    for ladder in by_sequence.values():
        for lower, upper in zip(ladder, ladder[1:]):
            above[lower.pk] = upper

    floor = add_months(as_of, -SINCE_LOOKBACK_MONTHS)
    # Changes dated after ``as_of`` count too: the current level may start later than ``as_of``.
    level_start: dict[int, dict[int, dt.date]] = {}
    for employee_id, from_level, to_level, effective_on in (
            LevelChange.objects.filter(employee_id__in=ids, to_level__isnull=False)
            .order_by("effective_on", "id").values_list("employee_id", "from_level_id", "to_level_id", "effective_on")):
        level_start.setdefault(employee_id, {})
        if from_level != to_level:  # a transfer keeping the level does not restart the count
            level_start[employee_id][to_level] = effective_on

    windows = [level.good_grades_window for level in levels.values()] or [0]
    first_year = as_of.year - max(windows) - SINCE_LOOKBACK_MONTHS // 12 - 1
    good_years: dict[int, set[int]] = defaultdict(set)
    for employee_id, period in (Appraisal.objects.filter(
            employee_id__in=ids, period_kind=YEAR, state__in=Appraisal.FROZEN, grade__in=GOOD_OR_BETTER,
            period__in=[str(y) for y in range(first_year, as_of.year + 1)])
            .order_by().values_list("employee_id", "period").distinct()):
        good_years[employee_id].add(int(period))

    certificates: dict[int, dict[int, list[tuple]]] = defaultdict(lambda: defaultdict(list))
    for employee_id, type_id, obtained_on, expires_on in (Certificate.objects.filter(
            employee_id__in=ids, obtained_on__lte=as_of)
            .values_list("employee_id", "certificate_type_id", "obtained_on", "expires_on")):
        certificates[employee_id][type_id].append((obtained_on, expires_on))

    trainings: dict[int, list[tuple]] = defaultdict(list)
    for employee_id, completed_on, hours in Training.objects.filter(
            employee_id__in=ids, completed_on__gt=add_months(floor, -12), completed_on__lte=as_of
    ).values_list("employee_id", "completed_on", "hours"):
        trainings[employee_id].append((completed_on, hours))

    book = dict(Assignment.objects.filter(rm_id__in=ids, ended_on__isnull=True).order_by()
                .values("rm_id").annotate(n=Count("pk")).values_list("rm_id", "n"))

    signals: dict[int, list[Signal]] = defaultdict(list)
    for signal in Signal.objects.filter(employee_id__in=ids, kind=Signal.Kind.PROMOTION_CANDIDATE,
                                        closed_at__isnull=True).order_by("period"):
        signals[signal.employee_id].append(signal)

    results = []
    for employee in people:
        level = levels[employee.level_id]
        since = level_start.get(employee.pk, {}).get(level.pk, employee.hired_on)
        row = Eligibility(employee=employee, level=level, next_level=above.get(level.pk), level_since=since,
                          as_of=as_of, candidate_signals=signals.get(employee.pk, []))
        row.requirements = [
            _months_requirement(level, since, as_of),
            _grades_requirement(level, good_years.get(employee.pk, set()), as_of, first_year),
            _certificates_requirement(level, certificates.get(employee.pk, {}), as_of),
            _training_requirement(level, trainings.get(employee.pk, []), as_of, floor),
            _book_requirement(level, book.get(employee.pk, 0)),
        ]
        results.append(row)

    # The book's history is read only for those it decides: eligible RMs with a minimum book.
    waiting = {row.employee.pk: row for row in results if row.eligible and row.level.min_book_size}
    if waiting:
        spans: dict[int, list[tuple]] = defaultdict(list)
        for rm_id, started_on, ended_on in (Assignment.objects.filter(rm_id__in=list(waiting), started_on__lte=as_of)
                                            .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=floor))
                                            .values_list("rm_id", "started_on", "ended_on")):
            spans[rm_id].append((started_on, ended_on))
        for rm_id, row in waiting.items():
            _book_since(row.requirements[-1], spans.get(rm_id, []), as_of, floor)
    return results


def _months_requirement(level: Level, since: dt.date | None, as_of: dt.date) -> Requirement:
    required = level.min_months_at_level
    if since is None:
        return Requirement("months", _("Months at the level"), required, None, False,
                           detail=_("no hiring date or level change recorded"))
    reached = add_months(since, required)
    return Requirement("months", _("Months at the level"), required, full_months(since, as_of),
                       reached <= as_of, since=reached if reached <= as_of else None,
                       detail=_("at the level since %(date)s") % {"date": since.isoformat()})


def _grades_requirement(level: Level, years: set[int], as_of: dt.date, first_year: int) -> Requirement:
    required, window = level.good_grades_required, level.good_grades_window

    def count(year: int) -> int:
        return sum(1 for y in years if year - window <= y < year)

    actual = count(as_of.year)
    in_window = sorted(y for y in years if as_of.year - window <= y < as_of.year)
    detail = (_("in %(first)s–%(last)s: %(years)s") % {
        "first": as_of.year - window, "last": as_of.year - 1,
        "years": ", ".join(str(y) for y in in_window) or "—"}) if window else ""
    since = None
    if required and actual >= required:
        start = as_of.year
        while start - 1 >= first_year + window and count(start - 1) >= required:
            start -= 1
        since = dt.date(start, 1, 1)
    return Requirement("grades", _("Good-or-better annual grades"), required, actual, actual >= required,
                       since=since, detail=detail)


def _certificates_requirement(level: Level, held: dict[int, list[tuple]], as_of: dt.date) -> Requirement:
    required = list(level.required_certificates.all())
    parts, met_count, starts = [], 0, []
    for certificate_type in required:
        valid = [obtained for obtained, expires in held.get(certificate_type.pk, [])
                 if expires is None or expires >= as_of]
        if valid:
            met_count += 1
            starts.append(min(valid))
            parts.append(_("%(name)s held") % {"name": certificate_type.name})
        elif held.get(certificate_type.pk):
            expired = max(expires for _obtained, expires in held[certificate_type.pk])
            parts.append(_("%(name)s expired on %(date)s") % {"name": certificate_type.name,
                                                                 "date": expired.isoformat()})
        else:
            parts.append(_("%(name)s missing") % {"name": certificate_type.name})
    met = met_count == len(required)
    return Requirement("certificates", _("Required certificates"), len(required), met_count, met,
                       since=max(starts) if met and starts else None, detail="; ".join(parts))


def _training_requirement(level: Level, rows: list[tuple], as_of: dt.date, floor: dt.date) -> Requirement:
    required = Decimal(level.training_hours_per_year)

    def hours(day: dt.date) -> Decimal:
        start = add_months(day, -12)
        return sum((h for completed, h in rows if start < completed <= day), Decimal("0"))

    actual = hours(as_of)
    since = None
    if required and actual >= required:
        points = [p for completed, _h in rows for p in (completed, add_months(completed, 12))]
        since = _met_since(points, lambda day: hours(day) >= required, as_of=as_of, floor=floor)
    return Requirement("training", _("Training hours in the last 12 months"), required, actual,
                       actual >= required, since=since)


def _book_requirement(level: Level, size: int) -> Requirement:
    return Requirement("book", _("Book size (clients)"), level.min_book_size, size, size >= level.min_book_size)


def _book_since(requirement: Requirement, spans: list[tuple], as_of: dt.date, floor: dt.date) -> None:
    minimum = requirement.required

    def size(day: dt.date) -> int:
        return sum(1 for started, ended in spans if started <= day and (ended is None or ended > day))

    points = [p for started, ended in spans for p in (started, ended) if p is not None]
    # A book reached only through assignments dated after ``as_of`` counts from ``as_of``.
    requirement.since = _met_since(points, lambda day: size(day) >= minimum, as_of=as_of, floor=floor) or as_of


def eligible_not_promoted(rows: Iterable[Eligibility]) -> list[Eligibility]:
    """The RMs eligible without a break for ``NOT_PROMOTED_MONTHS`` or more, longest first."""
    return sorted((row for row in rows if row.long_waiting),
                  key=lambda row: (row.eligible_since, row.employee.employee_no))


def promotion_candidates(user) -> QuerySet[Signal]:
    """Open promotion-candidate signals of the appraisal rules (DOMAIN 3.4) the user may see."""
    return (Signal.objects.restrict(user).filter(kind=Signal.Kind.PROMOTION_CANDIDATE, closed_at__isnull=True,
                                                 employee__status=Employee.Status.ACTIVE)
            .select_related("employee__branch", "employee__level").order_by("employee__employee_no", "period"))


# --- career interviews ------------------------------------------------------------------------

@dataclass
class InterviewDue:
    """When an employee's next career interview is due: the last held one plus the sequence's
    interval, or the hiring date plus the interval when none was held."""

    employee: Employee
    interval_months: int
    last_held_on: dt.date | None
    next_scheduled_on: dt.date | None
    due_on: dt.date | None
    as_of: dt.date

    @property
    def overdue(self) -> bool:
        return self.due_on is not None and self.due_on < self.as_of

    @property
    def days_overdue(self) -> int:
        return (self.as_of - self.due_on).days if self.overdue else 0


def interview_interval(employee: Employee) -> int:
    if employee.level_id is not None:
        return employee.level.sequence.interview_interval_months
    return DEFAULT_INTERVIEW_MONTHS


def interview_due_on(*, last_held_on: dt.date | None, hired_on: dt.date | None, interval_months: int) -> dt.date | None:
    """DOMAIN 4: the next career interview is due the interval after the last one held, or after
    the hiring date when none was; without either there is no due date."""
    start = last_held_on or hired_on
    return add_months(start, interval_months) if start else None


def interview_due(employee: Employee, *, as_of: dt.date) -> InterviewDue:
    """For an employee annotated by ``with_career_figures``."""
    interval = interview_interval(employee)
    return InterviewDue(employee=employee, interval_months=interval, last_held_on=employee.last_held_on,
                        next_scheduled_on=employee.next_scheduled_on,
                        due_on=interview_due_on(last_held_on=employee.last_held_on, hired_on=employee.hired_on,
                                                interval_months=interval), as_of=as_of)


def interviews_due(user, *, as_of: dt.date | None = None,
                   employees: QuerySet[Employee] | None = None) -> list[InterviewDue]:
    """Next due career interview of every active RM the user may see (or of those among
    ``employees``), soonest first; an employee with neither an interview nor a hiring date has
    no due date and comes last. One query."""
    as_of = as_of or timezone.localdate()
    base = _scoped(user, employees)
    people = with_career_figures(base.filter(status=Employee.Status.ACTIVE), as_of=as_of)
    rows = [interview_due(e, as_of=as_of) for e in people.select_related("level__sequence", "branch")]
    return sorted(rows, key=lambda r: (r.due_on is None, r.due_on or as_of, r.employee.employee_no))


def interviews_overdue(user, as_of: dt.date | None = None) -> list[InterviewDue]:
    """The active RMs the user may see whose career interview is overdue on ``as_of`` (due
    before that day), most overdue first (DOMAIN 4). Used by other pages; one query."""
    return [row for row in interviews_due(user, as_of=as_of) if row.overdue]


def overdue_by_branch(rows: Iterable[InterviewDue]) -> list[tuple]:
    """(branch, overdue count, RMs) per branch, for HR's overview."""
    counts: dict = {}
    for row in rows:
        entry = counts.setdefault(row.employee.branch_id, [row.employee.branch, 0, 0])
        entry[2] += 1
        if row.overdue:
            entry[1] += 1
    return sorted((tuple(v) for v in counts.values()), key=lambda v: v[0].code)


# --- exits ------------------------------------------------------------------------------------

def open_book_size(user, employee: Employee) -> int:
    """How many clients the user sees in the employee's book now: those still to hand over."""
    return Assignment.objects.restrict(user).filter(rm=employee, ended_on__isnull=True).count()


def exits_for(user) -> QuerySet[Exit]:
    return Exit.objects.restrict(user).select_related("employee__branch", "employee__level")


def exit_handovers(user, exit: Exit) -> QuerySet[ExitHandover]:
    return (ExitHandover.objects.restrict(user).filter(exit=exit)
            .select_related("client", "to_rm").order_by("client__client_no"))


def _ratio(part, whole) -> Decimal | None:
    if not whole:
        return None
    return round_half_up(Decimal(part) / Decimal(whole), RATE_PLACES)


def _percent(rate: Decimal | None) -> Decimal | None:
    return None if rate is None else round_half_up(rate * 100, 1)


@dataclass
class Outflow:
    """What became of the clients handed over at one exit (or at all of them, for the total)."""

    handed_over: int = 0
    lost_3m: int = 0
    lost_6m: int = 0
    contribution_before: Decimal = Decimal("0.00")
    contribution_after: Decimal = Decimal("0.00")
    # Clients the bank's normal churn would have lost in the same windows: the sum, over the
    # handed-over clients, of the bank-wide share lost from the handover date.
    expected_3m: Decimal = Decimal("0")
    expected_6m: Decimal = Decimal("0")
    window_3m_complete: bool = True
    window_6m_complete: bool = True
    contribution_complete: bool = True
    exit: Exit | None = None

    @property
    def rate_3m(self):
        return _ratio(self.lost_3m, self.handed_over)

    @property
    def rate_6m(self):
        return _ratio(self.lost_6m, self.handed_over)

    @property
    def bank_rate_3m(self):
        return _ratio(self.expected_3m, self.handed_over)

    @property
    def bank_rate_6m(self):
        return _ratio(self.expected_6m, self.handed_over)

    @property
    def percentages(self) -> dict[str, Decimal | None]:
        """The four rates in per cent to one decimal, for display."""
        return {name: _percent(getattr(self, name)) for name in ("rate_3m", "rate_6m", "bank_rate_3m", "bank_rate_6m")}

    @property
    def contribution_change(self) -> Decimal:
        return self.contribution_after - self.contribution_before

    def add(self, other: "Outflow") -> None:
        for name in ("handed_over", "lost_3m", "lost_6m", "contribution_before", "contribution_after",
                     "expected_3m", "expected_6m"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.window_3m_complete &= other.window_3m_complete
        self.window_6m_complete &= other.window_6m_complete
        self.contribution_complete &= other.contribution_complete


def exit_outflow(user, *, exits: QuerySet[Exit] | None = None, as_of: dt.date | None = None) -> dict:
    """What became of the clients handed over at each exit the user may see (DOMAIN 2, 4).

    Per exit, for the clients of its ExitHandover rows, each from its own handover day d:
    lost within 3 and within 6 months (lost on d up to d + 3 / 6 months); their profit
    contribution (stored ClientContribution, method 3) in the 6 months before the handover
    month against the 6 months after it (the handover month itself, split between two RMs, is
    left out); and the bank's normal churn over the same days: the share of all the bank's
    clients not lost before d that were lost within 3 / 6 months, applied to the handed-over
    clients. A window that has not ended by ``as_of`` is flagged, its figures are so far.

    ``exits`` narrows the list (e.g. a filtered queryset); returns {"rows": [Outflow per exit],
    "total": Outflow}. Five queries whatever the number of exits and clients: the handovers and
    the contributions are summed in the database per exit, handover day (and loss day or month),
    since a bank's exits hand over tens of thousands of clients.
    """
    as_of = as_of or timezone.localdate()
    scoped = exits_for(user)
    if exits is not None:
        scoped = scoped.filter(pk__in=exits.values("pk"))
    exit_list = list(scoped.order_by("-exit_on", "-id"))
    rows = {e.pk: Outflow(exit=e) for e in exit_list}
    total = Outflow()
    handed = ExitHandover.objects.restrict(user).filter(exit_id__in=list(rows))
    handovers = list(handed.order_by().values_list("exit_id", "handed_over_on", "client__lost_on")
                     .annotate(n=Count("pk")))
    if not handovers:
        return {"rows": list(rows.values()), "total": total}

    first_month = add_months(min(h[1] for h in handovers).replace(day=1), -6)
    last_month = add_months(max(h[1] for h in handovers).replace(day=1), 6)
    # The handed-over clients' contribution per exit, handover day and month; the months outside
    # each exit's 6 + 6 are dropped below.
    contribution: dict[tuple[int, dt.date, dt.date], Decimal] = {
        (exit_id, day, month): amount or Decimal("0.00") for exit_id, day, month, amount in (
            ClientContribution.objects.filter(
                client__exit_handovers__in=handed, month__gte=first_month, month__lte=last_month,
                # About each handover's 6 + 6 months (a few days more), so that the database reads half.
                # Dates, not timestamps: compared with a timestamp, month could not bound the index scan.
                month__gt=Cast(F("client__exit_handovers__handed_over_on") - dt.timedelta(days=7 * 31), DateField()),
                month__lt=Cast(F("client__exit_handovers__handed_over_on") + dt.timedelta(days=7 * 31), DateField()))
            .order_by().values_list("client__exit_handovers__exit_id", "client__exit_handovers__handed_over_on",
                                    "month")
            .annotate(amount=MoneySum(PROFIT_CONTRIBUTION)))}

    days = sorted({h[1] for h in handovers})
    churn = _bank_churn(days)
    ends = {day: {months: add_months(day, months) for months in (3, 6)} for day in days}
    counted: set[tuple[int, dt.date]] = set()
    for exit_id, day, lost_on, clients in handovers:
        row = rows[exit_id]
        row.handed_over += clients
        for months, name in ((3, "3m"), (6, "6m")):
            end = ends[day][months]
            if lost_on is not None and day <= lost_on <= end:
                setattr(row, f"lost_{name}", getattr(row, f"lost_{name}") + clients)
            setattr(row, f"expected_{name}", getattr(row, f"expected_{name}") + churn[(day, months)] * clients)
            if end >= as_of:
                setattr(row, f"window_{name}_complete", False)
        if (exit_id, day) in counted:  # the exit's clients of that day with another loss day
            continue
        counted.add((exit_id, day))
        month = day.replace(day=1)
        for n in range(1, 7):
            row.contribution_before += contribution.get((exit_id, day, add_months(month, -n)), Decimal("0.00"))
            row.contribution_after += contribution.get((exit_id, day, add_months(month, n)), Decimal("0.00"))
        if add_months(month, 7) > as_of:
            row.contribution_complete = False
    for row in rows.values():
        total.add(row)
    return {"rows": list(rows.values()), "total": total}


def _bank_churn(days: list[dt.date]) -> dict[tuple[dt.date, int], Decimal]:
    """The bank-wide share of clients not lost before each day that were lost within 3 and
    6 months of it. One query counts the clients by opening and loss day; a sweep through the days
    in date order then counts, among the clients opened by the day (or without an opening day),
    those lost before it and those lost within each window (a Fenwick tree over the loss days),
    so that the cost does not grow with days × clients."""
    counts = list(Client.objects.order_by().values_list("opened_on", "lost_on").annotate(n=Count("pk")))
    opened = sorted((opened_on or dt.date.min, n) for opened_on, _lost_on, n in counts)
    lost = sorted((opened_on or dt.date.min, lost_on, n) for opened_on, lost_on, n in counts if lost_on is not None)
    loss_days = sorted({lost_on for _opened_on, lost_on, _n in lost})
    position = {day: i for i, day in enumerate(loss_days)}
    tree = [0] * (len(loss_days) + 1)

    def add(i: int, n: int) -> None:
        i += 1
        while i < len(tree):
            tree[i] += n
            i += i & -i

    def before(i: int) -> int:
        """Clients counted so far whose loss day comes before loss_days[i]."""
        total = 0
        while i > 0:
            total += tree[i]
            i -= i & -i
        return total

    shares, opened_count, next_opened, next_lost = {}, 0, 0, 0
    for day in sorted(set(days)):
        while next_opened < len(opened) and opened[next_opened][0] <= day:
            opened_count += opened[next_opened][1]
            next_opened += 1
        while next_lost < len(lost) and lost[next_lost][0] <= day:
            add(position[lost[next_lost][1]], lost[next_lost][2])
            next_lost += 1
        lost_before = before(bisect_left(loss_days, day))
        active = opened_count - lost_before
        for months in (3, 6):
            lost_within = before(bisect_right(loss_days, add_months(day, months))) - lost_before
            shares[(day, months)] = Decimal(lost_within) / Decimal(active) if active else Decimal("0")
    return shares
