"""Reads for the performance pages and the API; every one starts from ``restrict``."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from performance.bonus import pool_received
from performance.models import Appraisal, BonusStatement, PerformancePool, PoolEntry
from performance.scoring import Grade

GRADES = [g.value for g in Grade]
# Chi-square critical value for 4 degrees of freedom at 5 %: a branch's five-grade distribution
# that differs from the bank's by more than this is flagged for calibration ...
CHI_SQUARE_4DF_5PCT = 9.488
# ... and so is one whose share of good-or-better grades is 25 points off the median branch's
# (the median, so that one lenient branch does not make all the others look strict).
SHARE_GAP = 0.25
MIN_APPRAISALS = 5


def appraisals_for(user, action: str = "view") -> QuerySet:
    return Appraisal.objects.restrict(user, action).select_related("employee", "branch", "scheme")


def appraisal_queue(user, *, state: str, action: str) -> QuerySet:
    """What waits for the user's step: submitted for reviewers, reviewed for HR, …"""
    return appraisals_for(user, action).filter(state=state).order_by("period", "branch__code", "employee__employee_no")


@dataclass
class Distribution:
    label: str
    counts: Counter = field(default_factory=Counter)
    flagged: bool = False
    reasons: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, grade: str) -> float:
        return self.counts[grade] / self.total if self.total else 0.0

    @property
    def good_or_better(self) -> float:
        return self.share(Grade.EXCELLENT) + self.share(Grade.GOOD)

    @property
    def shares(self) -> list[tuple[str, int, float]]:
        return [(g, self.counts[g], self.share(g)) for g in GRADES]


def _chi_square(observed: Counter, expected_shares: dict[str, float]) -> float:
    n = sum(observed.values())
    statistic = 0.0
    for grade in GRADES:
        expected = n * expected_shares.get(grade, 0.0)
        if expected > 0:
            statistic += (observed[grade] - expected) ** 2 / expected
    return statistic


def calibration(user, period: str) -> dict:
    """Grade distribution per branch against its region and the bank for one period, with the
    branches whose distribution stands out flagged (before HR approves)."""
    rows = (Appraisal.objects.restrict(user).filter(period=period).values(
        "branch_id", "branch__code", "branch__name", "branch__region_id", "branch__region__name", "grade")
        .annotate(n=Count("id")).order_by("branch__code"))
    bank = Distribution(label="bank")
    regions: dict[int, Distribution] = {}
    branches: dict[int, Distribution] = {}
    branch_region: dict[int, int] = {}
    for row in rows:
        branch = branches.setdefault(row["branch_id"], Distribution(label=f"{row['branch__code']} {row['branch__name']}"))
        region = regions.setdefault(row["branch__region_id"], Distribution(label=row["branch__region__name"]))
        branch_region[row["branch_id"]] = row["branch__region_id"]
        for dist in (branch, region, bank):
            dist.counts[row["grade"]] += row["n"]
    expected = {g: bank.share(g) for g in GRADES}
    shares = sorted(d.good_or_better for d in branches.values())
    median = (shares[(len(shares) - 1) // 2] + shares[len(shares) // 2]) / 2 if shares else 0.0
    for dist in branches.values():
        if dist.total < MIN_APPRAISALS or len(branches) < 2:
            continue
        statistic = _chi_square(dist.counts, expected)
        gap = dist.good_or_better - median
        if statistic > CHI_SQUARE_4DF_5PCT:
            dist.flagged = True
            dist.reasons.append(("chi_square", round(statistic, 2)))
        if abs(gap) >= SHARE_GAP:
            dist.flagged = True
            dist.reasons.append(("good_or_better_gap", round(gap, 3)))
    return {
        "bank": bank,
        "regions": regions,
        "branches": [(dist, regions[branch_region[bid]]) for bid, dist in branches.items()],
    }


def bonus_statements(user, period: str | None = None) -> QuerySet:
    qs = BonusStatement.objects.restrict(user).select_related("employee", "branch", "appraisal")
    return qs.filter(period=period) if period else qs


def statement_rows(user, period: str) -> list[dict]:
    """Each RM's statement for a period: bonus, withheld, received from the pool, paid."""
    statements = list(bonus_statements(user, period).order_by("branch__code", "employee__employee_no"))
    received = pool_received([s.employee_id for s in statements], period)
    return [{"statement": s, "received": received.get(s.employee_id, Decimal("0.00")),
             "total_paid": s.paid + received.get(s.employee_id, Decimal("0.00"))} for s in statements]


def pools_for(user) -> QuerySet:
    return PerformancePool.objects.restrict(user).select_related("branch")


def pool_ledger(user, *, branch_id: int | None = None, period: str | None = None) -> QuerySet:
    qs = PoolEntry.objects.restrict(user).select_related("employee", "pool__branch", "created_by", "reverses")
    if branch_id:
        qs = qs.filter(pool__branch_id=branch_id)
    if period:
        qs = qs.filter(period=period)
    return qs.order_by("-id")


def progress(user, period: str, *, branch=None) -> dict[str, int]:
    """How many appraisals of the period (of one branch, when given) are in each state, and how
    many miss inputs."""
    qs = Appraisal.objects.restrict(user).filter(period=period)
    if branch is not None:
        qs = qs.filter(branch=branch)
    counts = dict(qs.values_list("state").annotate(n=Count("id")))
    counts["missing_inputs"] = qs.filter(state=Appraisal.State.COMPUTED).exclude(missing=[]).count()
    return counts
