"""Retention risk (DOMAIN 5): the monthly score of every active RM, its bands and alerts, the book
an RM would put at risk by leaving, and how well past scores foretold who left (the backtest).

The score of month M is Σ weight × factor, each factor between 0 and 1, the weights HR's
(RiskSettings, adding up to 100), so the score lies between 0 and 100. E is the last day of M.
Each factor is the mean of its parts; a part is a figure measured against the amount at which it
counts in full, ``part = clamp(figure / full, 0, 1)``:

1. assessment pressure (seed art. 1 (一), 考核激励)
   - falling: (mean total of the monthly appraisals of M−5…M−3 − mean total of M−2…M) / 15 points;
   - weak grades: (fail grades + ½ × basic-pass grades among the monthly appraisals of M−5…M) / 3;
   - below the team: (median total of the RM's branch in M − the RM's total in M) / 20 points.
2. incentive friction (seed art. 1 (一), the performance pool)
   - net pool position: (withheld into the pool − received from it) ÷ bonus, over the periods
     ending in the 12 months up to M, / 10 % (a whole default withholding never given back);
   - bonus falling: (bonus of the 12 months before − bonus of the 12 months up to M) ÷ bonus of
     the 12 months before, / 30 %.
3. career stagnation (seed art. 1 (二), 职业发展)
   - months at the level beyond the sequence's usual months (JobSequence.norm_months_at_level):
     (months − norm) / (½ norm): nothing up to the norm, in full at 1½ times it;
   - eligible but not promoted: months eligible without a break (promotion eligibility) / 12;
   - interview overdue: days the career interview is overdue on E / 90;
   - no career goal: 1 without an open goal, ½ when the open goals' target dates have all passed.
4. recognition (seed art. 1 (三), 认同感)
   - (months since the last good-or-better grade the RM was shown, or commendation − 6) / 6:
     nothing within 6 months, in full after 12 months or when there was none in 24 months.
5. work pressure (seed art. 1 (四), 工作压力)
   - targets raised while achievement falls: the smaller of (mean rise of the monthly targets
     from M−1 to M) / 20 % and (fall of the mean achievement, points ÷ weight, over the same
     indicators) / 20 percentage points; for a lower-is-better indicator a lower target is a rise;
   - book above the norm: (clients at E − JobSequence.norm_book_size) / (½ norm);
   - complaints: complaints against the RM opened in the 6 months up to E / 3.

A missing figure counts 0 (no appraisal, no bonus, no level): the score only rises on evidence.
An appraisal still missing inputs (a target, a manual score) is not a result yet and is left out.
The RMs scored are those employed on E; the career records read are those of today (levels,
goals, eligibility), the dated facts those up to E. A run costs a fixed number of queries
whatever the number of RMs (STYLE 5).

Bands (HR's thresholds): low < medium_from ≤ medium < high_from ≤ high. An alert opens when an
RM enters the high band or the score rises by rise_alert points from the month before; an RM has
at most one alert not yet resolved (a database constraint) and a second trigger while it is open
changes nothing. RMs never see any of this (RiskScore and RiskAlert have no "own" rows).
"""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import median

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from careers.models import (CareerGoal, CareerInterview, Commendation, Exit, RiskAlert, RiskBand, RiskScore,
                            RiskSettings)
from careers.selectors import DEFAULT_INTERVIEW_MONTHS, add_months, full_months, promotion_eligibility
from clients.models import (Assignment, Client, ClientContribution, Complaint, Employee, MonthlyBusiness, Role,
                            User)
from clients.selectors import AUM, PROFIT_CONTRIBUTION, contribution_months, latest_month
from core.money import MoneySum, round_half_up
from performance.models import Appraisal, AppraisalLine, BonusStatement, PoolEntry
from performance.periods import MONTH, Period, month_end
from performance.scoring import GOOD_OR_BETTER, Grade
from rmportal import scoping
from rmportal.errors import ApplicationError
from rmportal.history import CHANGED, CREATED, history_snapshot

ZERO, ONE, HUNDRED = Decimal(0), Decimal(1), Decimal(100)
HALF = Decimal("0.5")
FACTOR_PLACES = 4

# --- where each part counts in full (see the module docstring) ---------------------------------
SCORE_FALL_FULL = Decimal(15)
WEAK_GRADES_FULL = Decimal(3)
BELOW_MEDIAN_FULL = Decimal(20)
NET_POOL_FULL = Decimal("0.10")
BONUS_FALL_FULL = Decimal("0.30")
ELIGIBLE_WAIT_FULL = Decimal(12)
INTERVIEW_OVERDUE_FULL = Decimal(90)
RECOGNITION_FRESH_MONTHS = 6
RECOGNITION_STALE_MONTHS = 12
TARGET_RAISE_FULL = Decimal("0.20")
ACHIEVEMENT_FALL_FULL = Decimal("0.20")
COMPLAINTS_FULL = Decimal(3)

ASSESSMENT_MONTHS = 6
INCENTIVE_MONTHS = 12
RECOGNITION_LOOKBACK_MONTHS = 24
COMPLAINT_MONTHS = 6
BACKTEST_HORIZON_MONTHS = 6
BACKTEST_TOP_SHARE = Decimal("0.10")
DEFAULT_NORM_BOOK = 150  # JobSequence.norm_book_size's default, for an RM without a level

FACTORS = ("assessment", "incentive", "career", "recognition", "pressure")
FACTOR_LABELS = {
    "assessment": gettext_lazy("Assessment pressure"),
    "incentive": gettext_lazy("Incentive friction"),
    "career": gettext_lazy("Career stagnation"),
    "recognition": gettext_lazy("Recognition"),
    "pressure": gettext_lazy("Work pressure"),
}
PART_LABELS = {
    "falling": gettext_lazy("Scores falling"),
    "weak_grades": gettext_lazy("Fail or basic-pass grades"),
    "below_team": gettext_lazy("Below the branch median"),
    "net_pool": gettext_lazy("Net pool position"),
    "bonus_falling": gettext_lazy("Bonus falling year on year"),
    "overstay": gettext_lazy("Months at the level beyond the norm"),
    "not_promoted": gettext_lazy("Eligible but not promoted"),
    "interview_overdue": gettext_lazy("Career interview overdue"),
    "no_goal": gettext_lazy("No open career goal"),
    "unrecognised": gettext_lazy("No good grade or commendation lately"),
    "squeeze": gettext_lazy("Targets raised while achievement falls"),
    "book_overload": gettext_lazy("Book above the norm"),
    "complaints": gettext_lazy("Complaints"),
}
FIGURE_LABELS = {
    "recent_avg": gettext_lazy("Mean total, last 3 months"),
    "earlier_avg": gettext_lazy("Mean total, 3 months before"),
    "fails": gettext_lazy("Fail grades (6 months)"),
    "basics": gettext_lazy("Basic-pass grades (6 months)"),
    "total": gettext_lazy("Total this month"),
    "team_median": gettext_lazy("Branch median this month"),
    "withheld": gettext_lazy("Withheld into the pool (12 months)"),
    "received": gettext_lazy("Received from the pool (12 months)"),
    "bonus": gettext_lazy("Bonus (12 months)"),
    "bonus_previous": gettext_lazy("Bonus (12 months before)"),
    "months_at_level": gettext_lazy("Months at the level"),
    "norm_months": gettext_lazy("Usual months at a level"),
    "waiting_months": gettext_lazy("Months eligible"),
    "days_overdue": gettext_lazy("Days the interview is overdue"),
    "open_goals": gettext_lazy("Open career goals"),
    "goal_passed": gettext_lazy("Target dates passed"),
    "months_since": gettext_lazy("Months since the last recognition"),
    "last_recognition": gettext_lazy("Last recognition"),
    "target_raise": gettext_lazy("Mean target rise"),
    "achievement_fall": gettext_lazy("Achievement fall"),
    "book_size": gettext_lazy("Clients"),
    "norm_book": gettext_lazy("Usual book size"),
    "complaint_count": gettext_lazy("Complaints (6 months)"),
}


class Action(models.TextChoices):
    """What the alert suggests, from its top factor."""

    CAREER_INTERVIEW = "career_interview", gettext_lazy("Hold a career interview")
    WORKLOAD_REBALANCE = "workload_rebalance", gettext_lazy("Rebalance the workload")
    BACKUP_RM = "backup_rm", gettext_lazy("Name a backup RM for the clients")
    RECOGNITION = "recognition", gettext_lazy("Recognise the RM's work")


# Appraisal and career worries are talked through; a crowded book is shared out; unnoticed work is
# recognised. Friction over pay and the pool is the branch's hardest to fix quickly: the clients
# are secured first with a backup RM.
ACTION_BY_FACTOR = {
    "assessment": Action.CAREER_INTERVIEW,
    "incentive": Action.BACKUP_RM,
    "career": Action.CAREER_INTERVIEW,
    "recognition": Action.RECOGNITION,
    "pressure": Action.WORKLOAD_REBALANCE,
}


# --- factors: pure functions on the figures ---------------------------------------------------

def _part(figure, full) -> Decimal:
    """clamp(figure / full, 0, 1); a missing figure counts 0."""
    if figure is None:
        return ZERO
    figure, full = Decimal(figure), Decimal(full)
    if full <= 0:
        return ONE if figure > 0 else ZERO
    return max(ZERO, min(ONE, figure / full))


def _over_norm(actual, norm) -> Decimal:
    """0 up to ``norm``, in full at 1½ times it."""
    if actual is None or norm is None:
        return ZERO
    return _part(Decimal(actual) - Decimal(norm), Decimal(norm) / 2)


def _q(value: Decimal, places: int = FACTOR_PLACES) -> Decimal:
    return round_half_up(value, places)


@dataclass
class Factor:
    value: Decimal
    parts: dict[str, Decimal]
    figures: dict[str, object]


def _factor(parts: dict[str, Decimal], figures: dict) -> Factor:
    parts = {name: _q(value) for name, value in parts.items()}
    return Factor(value=_q(sum(parts.values(), ZERO) / len(parts)), parts=parts, figures=figures)


def assessment_factor(*, recent_avg: Decimal | None, earlier_avg: Decimal | None, fails: int, basics: int,
                      total: Decimal | None, team_median: Decimal | None) -> Factor:
    falling = None if recent_avg is None or earlier_avg is None else earlier_avg - recent_avg
    below = None if total is None or team_median is None else team_median - total
    return _factor({"falling": _part(falling, SCORE_FALL_FULL),
                    "weak_grades": _part(Decimal(fails) + HALF * basics, WEAK_GRADES_FULL),
                    "below_team": _part(below, BELOW_MEDIAN_FULL)},
                   {"recent_avg": recent_avg, "earlier_avg": earlier_avg, "fails": fails, "basics": basics,
                    "total": total, "team_median": team_median})


def incentive_factor(*, withheld: Decimal, received: Decimal, bonus: Decimal, bonus_previous: Decimal) -> Factor:
    net_share = (withheld - received) / bonus if bonus > 0 else None
    fall = (bonus_previous - bonus) / bonus_previous if bonus_previous > 0 else None
    return _factor({"net_pool": _part(net_share, NET_POOL_FULL), "bonus_falling": _part(fall, BONUS_FALL_FULL)},
                   {"withheld": withheld, "received": received, "bonus": bonus, "bonus_previous": bonus_previous})


def career_factor(*, months_at_level: int | None, norm_months: int | None, waiting_months: int,
                  days_overdue: int, open_goals: int, goal_passed: bool) -> Factor:
    no_goal = ONE if not open_goals else (HALF if goal_passed else ZERO)
    return _factor({"overstay": _over_norm(months_at_level, norm_months),
                    "not_promoted": _part(waiting_months, ELIGIBLE_WAIT_FULL),
                    "interview_overdue": _part(days_overdue, INTERVIEW_OVERDUE_FULL),
                    "no_goal": no_goal},
                   {"months_at_level": months_at_level, "norm_months": norm_months, "waiting_months": waiting_months,
                    "days_overdue": days_overdue, "open_goals": open_goals, "goal_passed": goal_passed})


def recognition_factor(*, months_since: int | None, last_recognition: dt.date | None = None) -> Factor:
    unrecognised = ONE if months_since is None else _part(
        months_since - RECOGNITION_FRESH_MONTHS, RECOGNITION_STALE_MONTHS - RECOGNITION_FRESH_MONTHS)
    return _factor({"unrecognised": unrecognised},
                   {"months_since": months_since, "last_recognition": last_recognition})


def pressure_factor(*, target_raise: Decimal | None, achievement_fall: Decimal | None, book_size: int,
                    norm_book: int | None, complaint_count: int) -> Factor:
    squeeze = min(_part(target_raise, TARGET_RAISE_FULL), _part(achievement_fall, ACHIEVEMENT_FALL_FULL))
    return _factor({"squeeze": squeeze, "book_overload": _over_norm(book_size, norm_book),
                    "complaints": _part(complaint_count, COMPLAINTS_FULL)},
                   {"target_raise": target_raise, "achievement_fall": achievement_fall, "book_size": book_size,
                    "norm_book": norm_book, "complaint_count": complaint_count})


def band_for(score: Decimal, settings: RiskSettings) -> str:
    if score >= settings.high_from:
        return RiskBand.HIGH
    if score >= settings.medium_from:
        return RiskBand.MEDIUM
    return RiskBand.LOW


def _json(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def compose(factors: dict[str, Factor], settings: RiskSettings) -> tuple[Decimal, str, dict]:
    """The score (Σ weight × factor, rounded half-up to 0.01), its band and the JSON kept with it."""
    stored, total = {}, ZERO
    for name in FACTORS:
        factor = factors[name]
        weight = getattr(settings, f"weight_{name}")
        points = weight * factor.value
        total += points
        stored[name] = {"value": str(factor.value), "weight": str(weight), "points": str(_q(points, 2)),
                        "parts": {k: str(v) for k, v in factor.parts.items()},
                        "figures": {k: _json(v) for k, v in factor.figures.items()}}
    score = max(ZERO, min(HUNDRED, _q(total, 2)))
    return score, band_for(score, settings), stored


def top_factor(factors: dict) -> str:
    """The factor with the most points (the first in FACTORS on a tie)."""
    return max(FACTORS, key=lambda name: (Decimal(factors.get(name, {}).get("points", "0")), -FACTORS.index(name)))


def suggested_action(factors: dict) -> str:
    return ACTION_BY_FACTOR[top_factor(factors)]


def alert_trigger(*, score: Decimal, band: str, previous: tuple[Decimal, str] | None,
                  settings: RiskSettings) -> str | None:
    """Entering the high band comes first; a rise of ``rise_alert`` points or more otherwise."""
    if band == RiskBand.HIGH and (previous is None or previous[1] != RiskBand.HIGH):
        return RiskAlert.Trigger.ENTERED_HIGH
    if previous is not None and score - previous[0] >= settings.rise_alert:
        return RiskAlert.Trigger.ROSE
    return None


# --- settings ---------------------------------------------------------------------------------

def risk_settings_current() -> RiskSettings:
    """The settings in force: the latest row, or the defaults (unsaved) before HR saved any."""
    return RiskSettings.objects.order_by("-updated_at", "-pk").first() or RiskSettings()


@transaction.atomic
def risk_settings_update(*, by: User, weight_assessment: Decimal, weight_incentive: Decimal, weight_career: Decimal,
                         weight_recognition: Decimal, weight_pressure: Decimal, medium_from: Decimal,
                         high_from: Decimal, rise_alert: Decimal) -> RiskSettings:
    """HR sets the weights (not negative, adding up to exactly 100) and the thresholds
    (0 < medium_from < high_from ≤ 100, a rise alert of more than 0 up to 100) (DOMAIN 5).
    The next scoring run uses them; scores already stored keep theirs."""
    if scoping.role_of(by) != scoping.HR:
        raise PermissionDenied
    weights = [weight_assessment, weight_incentive, weight_career, weight_recognition, weight_pressure]
    if any(w is None or w < 0 for w in weights):
        raise ApplicationError(_("A weight cannot be negative."))
    if sum(weights, ZERO) != HUNDRED:
        raise ApplicationError(_("The weights add up to %(total)s; they must add up to 100.")
                               % {"total": sum(weights, ZERO)})
    if not (ZERO < medium_from < high_from <= HUNDRED):
        raise ApplicationError(_("The medium band must start above 0 and below the high band, which starts at "
                                 "100 at most."))
    if not (ZERO < rise_alert <= HUNDRED):
        raise ApplicationError(_("The rise that opens an alert must lie between 0 and 100 points."))
    current = RiskSettings.objects.select_for_update().order_by("-updated_at", "-pk").first() or RiskSettings()
    for name, value in zip(FACTORS, weights):
        setattr(current, f"weight_{name}", value)
    current.medium_from, current.high_from, current.rise_alert = medium_from, high_from, rise_alert
    current._change_reason = _("changed by %(user)s") % {"user": by.get_username()}
    current.save()
    return current


# --- the monthly run ------------------------------------------------------------------------------

def bank_wide_user() -> User:
    """Scheduled runs read with HR's bank-wide view: a superuser without an employee record.
    Never saved; the cache stops ``employee_of`` from looking an employee up for it."""
    user = User(username="scheduled-run", is_superuser=True)
    user._employee_cache = None
    return user


def _month_keys(month: dt.date, count: int) -> list[str]:
    """The ``count`` months ending with ``month``, oldest first, as YYYY-MM."""
    return [f"{add_months(month, -n):%Y-%m}" for n in range(count - 1, -1, -1)]


def period_keys_ending(first: dt.date, last: dt.date) -> list[str]:
    """The months, quarters and years whose last month lies between ``first`` and ``last``."""
    keys = []
    month = first
    while month <= last:
        keys.append(f"{month:%Y-%m}")
        if month.month % 3 == 0:
            keys.append(f"{month.year}-Q{month.month // 3}")
        if month.month == 12:
            keys.append(str(month.year))
        month = add_months(month, 1)
    return keys


def _month_start(month: str | dt.date | Period) -> dt.date:
    if isinstance(month, dt.date):
        return month.replace(day=1)
    period = month if isinstance(month, Period) else Period.parse(month)
    if period.kind != MONTH:
        raise ApplicationError(_("Retention-risk scores are monthly: give the month as YYYY-MM."))
    return period.start


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _mean(values: list[Decimal]) -> Decimal | None:
    return _q(sum(values, ZERO) / len(values), 2) if values else None


@dataclass
class RiskRunResult:
    month: str
    branch: str | None
    scored: int = 0
    removed: int = 0
    alert_ids: list[int] = field(default_factory=list)


def risk_population(month: dt.date, branch_code: str | None = None) -> QuerySet[Employee]:
    """The RMs employed on the month's last day (of one branch or all)."""
    end = month_end(month)
    people = (Employee.objects.filter(role=Role.RM)
              .filter(Q(hired_on__isnull=True) | Q(hired_on__lte=end))
              .filter(Q(left_on__isnull=True) | Q(left_on__gt=end)))
    if branch_code:
        people = people.filter(branch__code=branch_code)
    return people


def _assessment_figures(ids, month: dt.date) -> dict[int, dict]:
    keys = _month_keys(month, ASSESSMENT_MONTHS)
    latest: dict[tuple[int, str], tuple] = {}
    for employee_id, branch_id, period, total, grade, computed_at in (
            Appraisal.objects.filter(employee_id__in=ids, period_kind=MONTH, period__in=keys, missing=[])
            .values_list("employee_id", "branch_id", "period", "total", "grade", "computed_at")):
        # Two schemes in one month (a replaced scheme): the later computation counts.
        if (employee_id, period) not in latest or latest[employee_id, period][3] < computed_at:
            latest[employee_id, period] = (branch_id, total, grade, computed_at)
    this_key = keys[-1]
    branch_totals: dict[int, list[Decimal]] = defaultdict(list)
    for (employee_id, period), (branch_id, total, _grade, _at) in latest.items():
        if period == this_key:
            branch_totals[branch_id].append(total)
    medians = {branch_id: _q(Decimal(median(totals)), 2) for branch_id, totals in branch_totals.items()}
    figures: dict[int, dict] = defaultdict(lambda: {"recent": [], "earlier": [], "fails": 0, "basics": 0,
                                                    "total": None, "team_median": None})
    for (employee_id, period), (branch_id, total, grade, _at) in latest.items():
        row = figures[employee_id]
        row["recent" if period in keys[-3:] else "earlier"].append(total)
        row["fails"] += grade == Grade.FAIL
        row["basics"] += grade == Grade.BASIC
        if period == this_key:
            row["total"], row["team_median"] = total, medians[branch_id]
    return figures


def _incentive_figures(ids, month: dt.date) -> dict[int, dict]:
    window_start = add_months(month, -(INCENTIVE_MONTHS - 1))
    current = set(period_keys_ending(window_start, month))
    previous = set(period_keys_ending(add_months(window_start, -INCENTIVE_MONTHS), add_months(window_start, -1)))
    figures: dict[int, dict] = defaultdict(lambda: {"withheld": ZERO, "received": ZERO, "bonus": ZERO,
                                                    "bonus_previous": ZERO})
    for employee_id, period, bonus, withheld in (BonusStatement.objects.filter(
            employee_id__in=ids, period__in=current | previous)
            .values_list("employee_id", "period", "bonus", "withheld")):
        row = figures[employee_id]
        if period in current:
            row["bonus"] += bonus
            row["withheld"] += withheld
        else:
            row["bonus_previous"] += bonus
    # Net receipts as performance.bonus.pool_received counts them: allocations less reversals.
    for employee_id, kind, amount in (PoolEntry.objects.filter(
            employee_id__in=ids, period__in=current,
            kind__in=[PoolEntry.Kind.ALLOCATION, PoolEntry.Kind.REVERSAL])
            .exclude(reverses__kind=PoolEntry.Kind.CONTRIBUTION).order_by()
            .values("employee_id", "kind").annotate(total=MoneySum("amount"))
            .values_list("employee_id", "kind", "total")):
        sign = 1 if kind == PoolEntry.Kind.ALLOCATION else -1
        figures[employee_id]["received"] += sign * amount
    return figures


def _career_figures(people: QuerySet[Employee], ids, end: dt.date) -> dict[int, dict]:
    eligibility = {row.employee.pk: row for row in promotion_eligibility(bank_wide_user(), as_of=end,
                                                                        employees=people)}
    last_held = dict(CareerInterview.objects.filter(employee_id__in=ids, held_on__lte=end).order_by()
                     .values("employee_id").annotate(last=Max("held_on")).values_list("employee_id", "last"))
    goals = {employee_id: (count, latest) for employee_id, count, latest in (
        CareerGoal.objects.filter(employee_id__in=ids, status=CareerGoal.Status.OPEN, created_on__lte=end)
        .order_by().values("employee_id").annotate(n=Count("pk"), latest=Max("target_date"))
        .values_list("employee_id", "n", "latest"))}
    return {"eligibility": eligibility, "last_held": last_held, "goals": goals}


def _recognition_figures(ids, month: dt.date, end: dt.date) -> dict[int, dt.date]:
    first = add_months(month, -(RECOGNITION_LOOKBACK_MONTHS - 1))
    last: dict[int, dt.date] = {}
    for employee_id, period in (Appraisal.objects.filter(
            employee_id__in=ids, grade__in=GOOD_OR_BETTER, state__in=Appraisal.VISIBLE_TO_RM,
            period__in=period_keys_ending(first, month)).order_by().values_list("employee_id", "period").distinct()):
        day = Period.parse(period).end
        last[employee_id] = max(last.get(employee_id, day), day)
    for employee_id, day in (Commendation.objects.filter(employee_id__in=ids, awarded_on__gte=first,
                                                         awarded_on__lte=end)
                             .order_by().values("employee_id").annotate(last=Max("awarded_on"))
                             .values_list("employee_id", "last")):
        last[employee_id] = max(last.get(employee_id, day), day)
    return last


def _pressure_figures(ids, month: dt.date, end: dt.date) -> dict[int, dict]:
    this_key, before_key = f"{month:%Y-%m}", f"{add_months(month, -1):%Y-%m}"
    lines: dict[tuple[int, int], dict[str, tuple]] = defaultdict(dict)
    for employee_id, period, indicator_id, method, target, points, weight in (AppraisalLine.objects.filter(
            appraisal__employee_id__in=ids, appraisal__period_kind=MONTH,
            appraisal__period__in=[this_key, before_key])
            .values_list("appraisal__employee_id", "appraisal__period", "indicator_id", "indicator__method",
                         "target", "points", "weight")):
        lines[employee_id, indicator_id][period] = (method, target, points, weight)
    raises: dict[int, list[Decimal]] = defaultdict(list)
    achieved: dict[int, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for (employee_id, _indicator), by_period in lines.items():
        if this_key not in by_period or before_key not in by_period:
            continue
        method, target, points, weight = by_period[this_key]
        _m, target_before, points_before, weight_before = by_period[before_key]
        if target and target_before and target > 0 and target_before > 0:
            rise = target_before / target - 1 if method == "inverse" else target / target_before - 1
            raises[employee_id].append(max(ZERO, rise))
        if points is not None and points_before is not None and weight and weight_before:
            achieved[employee_id].append((points / weight, points_before / weight_before))
    book = dict(Assignment.objects.filter(rm_id__in=ids, started_on__lte=end)
                .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=end)).order_by()
                .values("rm_id").annotate(n=Count("client_id", distinct=True)).values_list("rm_id", "n"))
    complaints = dict(Complaint.objects.filter(
        rm_id__in=ids, opened_at__gte=_local_midnight(add_months(end, -COMPLAINT_MONTHS) + dt.timedelta(days=1)),
        opened_at__lt=_local_midnight(end + dt.timedelta(days=1)))
        .order_by().values("rm_id").annotate(n=Count("pk")).values_list("rm_id", "n"))
    figures = {}
    for employee_id in set(raises) | set(achieved) | set(book) | set(complaints):
        pairs = achieved.get(employee_id, [])
        fall = (sum((b for _a, b in pairs), ZERO) - sum((a for a, _b in pairs), ZERO)) / len(pairs) if pairs else None
        rises = raises.get(employee_id, [])
        figures[employee_id] = {
            "target_raise": _q(sum(rises, ZERO) / len(rises)) if rises else None,
            "achievement_fall": _q(fall) if fall is not None else None,
            "book_size": book.get(employee_id, 0), "complaint_count": complaints.get(employee_id, 0)}
    return figures


def risk_factors(people: QuerySet[Employee], month: dt.date) -> dict[int, dict[str, Factor]]:
    """The five factors of every RM of ``people`` for ``month``, from a fixed number of queries."""
    end = month_end(month)
    employees = list(people.select_related("level__sequence").order_by("pk"))
    ids = people.values("pk")
    assessment = _assessment_figures(ids, month)
    incentive = _incentive_figures(ids, month)
    career = _career_figures(people, ids, end)
    recognition = _recognition_figures(ids, month, end)
    pressure = _pressure_figures(ids, month, end)
    result = {}
    for employee in employees:
        sequence = employee.level.sequence if employee.level_id else None
        a = assessment.get(employee.pk) or {"recent": [], "earlier": [], "fails": 0, "basics": 0, "total": None,
                                            "team_median": None}
        i = incentive.get(employee.pk) or {"withheld": ZERO, "received": ZERO, "bonus": ZERO, "bonus_previous": ZERO}
        eligibility = career["eligibility"].get(employee.pk)
        level_since = eligibility.level_since if eligibility else None
        interval = sequence.interview_interval_months if sequence else DEFAULT_INTERVIEW_MONTHS
        held = career["last_held"].get(employee.pk)
        start = held or employee.hired_on
        due = add_months(start, interval) if start else None
        goal_count, goal_latest = career["goals"].get(employee.pk, (0, None))
        last_recognition = recognition.get(employee.pk)
        p = pressure.get(employee.pk) or {"target_raise": None, "achievement_fall": None, "book_size": 0,
                                          "complaint_count": 0}
        result[employee.pk] = {
            "assessment": assessment_factor(recent_avg=_mean(a["recent"]), earlier_avg=_mean(a["earlier"]),
                                            fails=a["fails"], basics=a["basics"], total=a["total"],
                                            team_median=a["team_median"]),
            "incentive": incentive_factor(**i),
            "career": career_factor(
                months_at_level=full_months(level_since, end) if level_since else None,
                norm_months=sequence.norm_months_at_level if sequence else None,
                waiting_months=eligibility.waiting_months if eligibility and eligibility.eligible else 0,
                days_overdue=(end - due).days if due and due < end else 0,
                open_goals=goal_count, goal_passed=bool(goal_count) and goal_latest < end),
            "recognition": recognition_factor(
                months_since=full_months(last_recognition, end) if last_recognition else None,
                last_recognition=last_recognition),
            "pressure": pressure_factor(target_raise=p["target_raise"], achievement_fall=p["achievement_fall"],
                                        book_size=p["book_size"],
                                        norm_book=sequence.norm_book_size if sequence else DEFAULT_NORM_BOOK,
                                        complaint_count=p["complaint_count"]),
        }
    return result


def risk_scores_compute(*, month: str | dt.date, branch_code: str | None = None) -> RiskRunResult:
    """Scores every RM employed at the end of ``month`` (of one branch or all) and opens the
    alerts it triggers (DOMAIN 5). Idempotent: one score per RM and month, stored again in place;
    an alert per trigger, never a second one while the RM has one not yet resolved."""
    month = _month_start(month)
    settings = risk_settings_current()
    people = risk_population(month, branch_code)
    result = RiskRunResult(month=f"{month:%Y-%m}", branch=branch_code)
    factors = risk_factors(people, month)
    previous = {employee_id: (score, band) for employee_id, score, band in RiskScore.objects.filter(
        employee__in=people, month=add_months(month, -1)).values_list("employee_id", "score", "band")}
    rows, triggers = [], {}
    for employee_id, by_name in factors.items():
        score, band, stored = compose(by_name, settings)
        rows.append(RiskScore(employee_id=employee_id, month=month, score=score, band=band, factors=stored))
        trigger = alert_trigger(score=score, band=band, previous=previous.get(employee_id), settings=settings)
        if trigger:
            triggers[employee_id] = (trigger, stored)
    with transaction.atomic():
        RiskScore.objects.bulk_create(rows, update_conflicts=True, unique_fields=["employee", "month"],
                                      update_fields=["score", "band", "factors", "computed_at"], batch_size=1000)
        # RMs scored before but no longer employed that month; a score an alert points to stays.
        stale = RiskScore.objects.filter(month=month, alerts__isnull=True).exclude(employee__in=people)
        if branch_code:
            stale = stale.filter(employee__branch__code=branch_code)
        result.removed, _deleted = stale.delete()
        result.scored = len(rows)
        result.alert_ids = _alerts_open(triggers, month=month, previous=previous)
    return result


def _alerts_open(triggers: dict[int, tuple[str, dict]], *, month: dt.date, previous: dict) -> list[int]:
    if not triggers:
        return []
    ids = list(triggers)
    busy = set(RiskAlert.objects.filter(employee_id__in=ids).filter(
        ~Q(status=RiskAlert.Status.RESOLVED) | Q(score__month=month)).values_list("employee_id", flat=True))
    score_ids = dict(RiskScore.objects.filter(employee_id__in=ids, month=month).values_list("employee_id", "pk"))
    alerts = [RiskAlert(employee_id=employee_id, score_id=score_ids[employee_id], trigger=trigger,
                        previous_score=previous.get(employee_id, (None, None))[0],
                        suggested_action=suggested_action(stored))
              for employee_id, (trigger, stored) in sorted(triggers.items()) if employee_id not in busy]
    if not alerts:
        return []
    # The partial unique constraint settles a race with another run: its alert stands, ours is dropped.
    RiskAlert.objects.bulk_create(alerts, ignore_conflicts=True)
    created = RiskAlert.objects.filter(score_id__in=[a.score_id for a in alerts])
    history_snapshot(created, history_type=CREATED, reason=_("retention-risk scoring %(month)s")
                     % {"month": f"{month:%Y-%m}"})
    return list(created.order_by("pk").values_list("pk", flat=True))


# --- alerts: acknowledge, snooze, resolve -----------------------------------------------------------

def _alert_for_change(alert: RiskAlert, by: User) -> RiskAlert:
    locked = RiskAlert.objects.restrict(by, "change").select_for_update().filter(pk=alert.pk).first()
    if locked is None:
        raise PermissionDenied
    if locked.status == RiskAlert.Status.RESOLVED:
        raise ApplicationError(_("This alert is resolved already."))
    return locked


@transaction.atomic
def risk_alert_acknowledge(*, alert: RiskAlert, by: User) -> RiskAlert:
    """The branch manager or HR has seen the alert (DOMAIN 5); it stays open until resolved."""
    alert = _alert_for_change(alert, by)
    if alert.status == RiskAlert.Status.ACKNOWLEDGED:
        raise ApplicationError(_("This alert is acknowledged already."))
    alert.status, alert.acknowledged_at, alert.snoozed_until = RiskAlert.Status.ACKNOWLEDGED, timezone.now(), None
    alert.handled_by = by
    alert._change_reason = _("acknowledged")
    alert.save()
    return alert


@transaction.atomic
def risk_alert_snooze(*, alert: RiskAlert, until: dt.date | None, by: User) -> RiskAlert:
    """Set the alert aside until a later day; it opens again on that day."""
    if until is None:
        raise ApplicationError(_("Give the day until which the alert is snoozed."))
    if until <= timezone.localdate():
        raise ApplicationError(_("An alert can only be snoozed until a day after today."))
    alert = _alert_for_change(alert, by)
    alert.status, alert.snoozed_until, alert.handled_by = RiskAlert.Status.SNOOZED, until, by
    alert._change_reason = _("snoozed until %(day)s") % {"day": until.isoformat()}
    alert.save()
    return alert


@transaction.atomic
def risk_alert_resolve(*, alert: RiskAlert, note: str, by: User) -> RiskAlert:
    """Close the alert with what was done about it (DOMAIN 5: resolved with an action note)."""
    note = (note or "").strip()
    if not note:
        raise ApplicationError(_("Say what was done before resolving the alert."))
    alert = _alert_for_change(alert, by)
    alert.status, alert.resolved_at, alert.action_note, alert.handled_by = (
        RiskAlert.Status.RESOLVED, timezone.now(), note, by)
    alert.snoozed_until = None
    alert._change_reason = _("resolved")
    alert.save()
    return alert


def risk_alerts_wake(*, today: dt.date | None = None) -> int:
    """Snoozed alerts whose day has come are open again; returns how many."""
    today = today or timezone.localdate()
    with transaction.atomic():
        due = RiskAlert.objects.select_for_update().filter(status=RiskAlert.Status.SNOOZED, snoozed_until__lte=today)
        ids = list(due.values_list("pk", flat=True))
        if ids:
            RiskAlert.objects.filter(pk__in=ids).update(status=RiskAlert.Status.OPEN, snoozed_until=None)
            history_snapshot(RiskAlert.objects.filter(pk__in=ids), history_type=CHANGED, reason=_("snooze ended"))
    return len(ids)


# --- reads -------------------------------------------------------------------------------------------

def risk_scores_for(user, action: str = "view") -> QuerySet[RiskScore]:
    """Scores the user may see: HR all, a branch manager their branch, an RM none."""
    return RiskScore.objects.restrict(user, action).select_related("employee__branch", "employee__level")


def risk_alerts_for(user, action: str = "view") -> QuerySet[RiskAlert]:
    return RiskAlert.objects.restrict(user, action).select_related("employee__branch", "score", "handled_by")


def risk_months(user) -> list[dt.date]:
    return list(risk_scores_for(user).order_by("-month").values_list("month", flat=True).distinct())


def previous_scores(scores: Iterable[RiskScore]) -> dict[tuple[int, dt.date], RiskScore]:
    """The month-before score of each of ``scores``, keyed by (employee, month): one query. Read
    only for scores the caller has restricted already (same RM, same scope)."""
    scores = list(scores)
    wanted = {(s.employee_id, add_months(s.month, -1)) for s in scores}
    if not wanted:
        return {}
    condition = Q()
    for month in {m for _e, m in wanted}:
        condition |= Q(month=month, employee_id__in=[e for e, m in wanted if m == month])
    return {(s.employee_id, add_months(s.month, 1)): s for s in RiskScore.objects.filter(condition)}


@dataclass
class FactorRow:
    name: str
    label: str
    value: Decimal
    weight: Decimal
    points: Decimal
    previous_points: Decimal | None
    parts: list[tuple[str, Decimal, Decimal | None]]
    figures: list[tuple[str, object]]

    @property
    def change(self) -> Decimal | None:
        return None if self.previous_points is None else self.points - self.previous_points


def factor_rows(score: RiskScore, previous: RiskScore | None = None) -> list[FactorRow]:
    """The factor breakdown of a score for display, with last month's points and parts."""
    rows = []
    for name in FACTORS:
        data = score.factors.get(name, {})
        before = previous.factors.get(name, {}) if previous else {}
        before_parts = before.get("parts", {})
        rows.append(FactorRow(
            name=name, label=str(FACTOR_LABELS[name]), value=Decimal(data.get("value", "0")),
            weight=Decimal(data.get("weight", "0")), points=Decimal(data.get("points", "0")),
            previous_points=Decimal(before["points"]) if "points" in before else None,
            parts=[(str(PART_LABELS.get(k, k)), Decimal(v),
                    Decimal(before_parts[k]) if k in before_parts else None)
                   for k, v in data.get("parts", {}).items()],
            figures=[(str(FIGURE_LABELS.get(k, k)), v) for k, v in data.get("figures", {}).items()]))
    return rows


@dataclass
class ClientAtRisk:
    client_id: int
    client_no: str
    name: str
    segment: str
    contribution_12m: Decimal = Decimal("0.00")
    aum: Decimal = Decimal("0.00")

    @property
    def segment_label(self) -> str:
        return Client.Segment(self.segment).label


@dataclass
class BookAtRisk:
    """What an RM's departure would put at risk: their clients now, the clients' profit
    contribution (method 3) over the 12 months up to the latest month loaded, their AUM in that
    month (deposit daily average + WM sales) and how many are affluent or private-banking."""

    month: dt.date | None
    clients: list[ClientAtRisk] = field(default_factory=list)

    @property
    def client_count(self) -> int:
        return len(self.clients)

    @property
    def contribution_12m(self) -> Decimal:
        return sum((c.contribution_12m for c in self.clients), Decimal("0.00"))

    @property
    def aum(self) -> Decimal:
        return sum((c.aum for c in self.clients), Decimal("0.00"))

    @property
    def affluent(self) -> int:
        return sum(1 for c in self.clients if c.segment == Client.Segment.AFFLUENT)

    @property
    def private(self) -> int:
        return sum(1 for c in self.clients if c.segment == Client.Segment.PRIVATE)


def book_at_risk(rm_ids: Iterable[int]) -> dict[int, BookAtRisk]:
    """The book at risk of each RM (for RMs the caller has restricted already): four queries."""
    rm_ids = list(rm_ids)
    month = latest_month()
    books = {rm_id: BookAtRisk(month=month) for rm_id in rm_ids}
    open_assignments = Assignment.objects.filter(rm_id__in=rm_ids, ended_on__isnull=True)
    by_client: dict[int, ClientAtRisk] = {}
    for rm_id, client_id, client_no, name, segment in open_assignments.order_by("client__client_no").values_list(
            "rm_id", "client_id", "client__client_no", "client__name", "client__segment"):
        row = ClientAtRisk(client_id=client_id, client_no=client_no, name=name, segment=segment)
        books[rm_id].clients.append(row)
        by_client[client_id] = row
    if not by_client or month is None:
        return books
    client_ids = open_assignments.values("client_id")
    months = contribution_months(month)
    for client_id, total in (ClientContribution.objects.filter(client_id__in=client_ids, month__gte=months[0],
                                                               month__lte=months[-1])
                             .order_by().values("client_id").annotate(total=MoneySum(PROFIT_CONTRIBUTION))
                             .values_list("client_id", "total")):
        by_client[client_id].contribution_12m = total or Decimal("0.00")
    for client_id, aum in (MonthlyBusiness.objects.filter(client_id__in=client_ids, month=month)
                           .annotate(aum=AUM).values_list("client_id", "aum")):
        by_client[client_id].aum = aum
    return books


# --- backtest -----------------------------------------------------------------------------------

@dataclass
class BacktestRow:
    """How the scores of one month ranked the RMs who left within the next six months."""

    month: dt.date | None
    scored: int
    left: int
    auc: Decimal | None
    top_count: int
    top_left: int
    complete: bool

    @property
    def precision_top(self) -> Decimal | None:
        return _q(Decimal(self.top_left) / self.top_count) if self.top_count else None

    @property
    def base_rate(self) -> Decimal | None:
        return _q(Decimal(self.left) / self.scored) if self.scored else None

    @property
    def precision_percent(self) -> Decimal | None:
        return None if self.precision_top is None else _q(self.precision_top * 100, 1)

    @property
    def base_percent(self) -> Decimal | None:
        return None if self.base_rate is None else _q(self.base_rate * 100, 1)


def _auc(scored: list[tuple[Decimal, bool]]) -> Decimal | None:
    """The chance that an RM who left scored above one who stayed (ties count half): the
    Mann–Whitney statistic from average ranks. None without both kinds of RM."""
    positives = sum(1 for _s, left in scored if left)
    negatives = len(scored) - positives
    if not positives or not negatives:
        return None
    ordered = sorted(scored, key=lambda item: item[0])
    rank_sum, i = Decimal(0), 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1][0] == ordered[i][0]:
            j += 1
        average_rank = Decimal(i + j + 2) / 2  # ranks are 1-based
        rank_sum += average_rank * sum(1 for _s, left in ordered[i:j + 1] if left)
        i = j + 1
    u = rank_sum - Decimal(positives * (positives + 1)) / 2
    return _q(u / (positives * negatives))


def _top(scored: list[tuple[Decimal, bool, int]]) -> tuple[int, int]:
    count = math.ceil(len(scored) * BACKTEST_TOP_SHARE) if scored else 0
    ranked = sorted(scored, key=lambda item: (-item[0], item[2]))[:count]
    return count, sum(1 for _s, left, _e in ranked if left)


def risk_backtest(user, *, today: dt.date | None = None, scores: QuerySet[RiskScore] | None = None) -> dict:
    """For each month with scores: the RMs scored, those who left within the 6 months after the
    month's end (Employee.left_on, or the date of their exit once it has passed), the AUC of the
    scores and the share of leavers among the top 10 % (DOMAIN 5). HR only. ``total`` pools the
    months whose 6 months are over. ``scores`` narrows the scores tested (e.g. a branch's, or the
    months of a dashboard's window); by default all. Three queries."""
    if scoping.role_of(user) != scoping.HR:
        raise PermissionDenied
    today = today or timezone.localdate()
    left_on: dict[int, dt.date] = {pk: day for pk, day in Employee.objects.filter(
        role=Role.RM, left_on__isnull=False).values_list("pk", "left_on")}
    for employee_id, day in Exit.objects.filter(exit_on__lte=today).values_list("employee_id", "exit_on"):
        left_on[employee_id] = min(left_on.get(employee_id, day), day)
    by_month: dict[dt.date, list[tuple[Decimal, bool, int]]] = defaultdict(list)
    scores = RiskScore.objects.all() if scores is None else scores
    for employee_id, month, score in scores.order_by().values_list("employee_id", "month", "score"):
        end = month_end(month)
        day = left_on.get(employee_id)
        by_month[month].append((score, day is not None and end < day <= add_months(end, BACKTEST_HORIZON_MONTHS),
                                employee_id))
    rows, pooled = [], []
    for month in sorted(by_month, reverse=True):
        scored = by_month[month]
        complete = add_months(month_end(month), BACKTEST_HORIZON_MONTHS) <= today
        top_count, top_left = _top(scored)
        rows.append(BacktestRow(month=month, scored=len(scored), left=sum(1 for _s, left, _e in scored if left),
                                auc=_auc([(s, left) for s, left, _e in scored]), top_count=top_count,
                                top_left=top_left, complete=complete))
        if complete:
            pooled += scored
    top_count, top_left = _top(pooled)
    total = BacktestRow(month=None, scored=len(pooled), left=sum(1 for _s, left, _e in pooled if left),
                        auc=_auc([(s, left) for s, left, _e in pooled]), top_count=top_count, top_left=top_left,
                        complete=True)
    return {"rows": rows, "total": total}
