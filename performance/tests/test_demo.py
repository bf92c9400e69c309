"""The demo bank's appraisal history (performance/demo.py): schemes, targets, appraisals through
the workflow, budgets, bonus and the performance pool, seeded once for the module."""
import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from careers.models import Exit
from clients import demo
from clients.models import Branch, Employee, Role
from performance import demo as performance_demo
from performance.models import Appraisal, BonusStatement, Budget, PerformancePool, PoolEntry, Scheme, Target
from performance.periods import Period
from performance.schemes import scheme_validate
from performance.scoring import Grade
from performance.workflow import APPEAL_DAYS, appraisal_appeal

pytestmark = pytest.mark.django_db

BANK = {"clients": 1200, "months": 22, "end_month": dt.date(2026, 10, 1)}
QUARTERS = ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
LATEST, OPEN_MONTH = "2026-Q3", "2026-10"
OLDER = QUARTERS[:-1] + ["2025"]
S = Appraisal.State


def fingerprint() -> dict:
    """What the history is made of, without the clock-dependent timestamps of the last steps."""
    return {
        "appraisals": sorted(Appraisal.objects.values_list("employee__employee_no", "period", "state", "total",
                                                           "grade", "appealed")),
        "targets": sorted(Target.objects.values_list("employee__employee_no", "indicator__code", "period", "value")),
        "bonus": sorted(BonusStatement.objects.values_list("employee__employee_no", "period", "bonus", "withheld")),
        "pool": sorted(PoolEntry.objects.values_list("pool__branch__code", "kind", "amount", "period",
                                                     "employee__employee_no", "reason")),
        "exits": sorted(Exit.objects.values_list("employee__employee_no", "exit_on", "reason", "destination")),
        "schemes": sorted(Scheme.objects.values_list("code", "is_active", "contribution_method")),
    }


def test_same_seed_gives_the_same_history():
    """Runs first: the module's bank below is seeded once the first test asks for it."""
    runs = []
    for _run in range(2):
        with transaction.atomic():
            demo.demo_seed(clients=300, months=7, end_month=dt.date(2026, 10, 1))
            runs.append(fingerprint())
            transaction.set_rollback(True)
    assert runs[0] == runs[1]
    assert runs[0]["appraisals"] and runs[0]["bonus"] and runs[0]["pool"]


@pytest.fixture(scope="module")
def bank(django_db_setup, django_db_blocker):
    """One demo bank for the module, rolled back at its end."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            yield demo.demo_seed(**BANK)
            transaction.set_rollback(True)


def closed(period: str) -> bool:
    return period != OPEN_MONTH


# Schemes and targets ----------------------------------------------------------------------------

def test_every_branch_has_one_active_valid_scheme_of_the_example_kind(bank):
    active = Scheme.objects.filter(is_active=True, branch__isnull=False).select_related("branch")
    assert sorted(s.branch.code for s in active) == ["B01", "B02", "B03", "B04", "B05", "B06"]
    # Head office's templates, one a year, for branches to copy.
    assert set(Scheme.objects.filter(branch__isnull=True).values_list("code", flat=True)) == {"HQ-2025", "HQ-2026"}
    assert {s.contribution_method for s in active} == {2, 3}
    for scheme in Scheme.objects.all():
        weights = scheme.indicators.aggregate(total=Sum("weight"))["total"]
        assert weights == Decimal(100)
        assert {i.code for i in scheme.indicators.all()} == {"dep", "contrib", "wm", "npl", "fund", "sat",
                                                               "ability", "local"}
    for branch in Branch.objects.all():
        definition = performance_demo.scheme_definition(branch=branch, year=2026, method=3,
                                                        contribution_target=Decimal(5000), wm_target=Decimal(500))
        fields, indicators = scheme_validate(definition)
        assert fields["branch"] == branch and len(indicators) == 8


def test_each_year_has_its_scheme_and_the_years_before_come_from_the_previous_system(bank):
    codes = set(Scheme.objects.filter(branch__code="B03").values_list("code", "contribution_method"))
    assert codes == {("B03-2024", 2), ("B03-2025", 2), ("B03-2026", 3)}
    carried = Appraisal.objects.filter(period__in=["2022", "2023", "2024"])
    assert carried.exists() and not carried.exclude(state=S.ACKNOWLEDGED).exists()
    assert not carried.filter(lines__isnull=False).exists()


def test_rms_have_their_own_volume_targets_and_no_appraisal_misses_one(bank):
    targets = Target.objects.all()
    assert set(targets.values_list("indicator__code", flat=True)) == {"contrib", "wm"}
    appraised = set(Appraisal.objects.exclude(period__in=["2022", "2023", "2024"])
                    .values_list("employee_id", "period"))
    assert set(targets.values_list("employee_id", "period")) == appraised
    assert targets.filter(value__gt=0).count() == targets.count()
    gaps = [gap for missing in Appraisal.objects.values_list("missing", flat=True) for gap in missing]
    assert gaps and all(gap["missing"] == "manual" for gap in gaps)
    # Targets are sized to each book: they differ between RMs of a branch.
    one_branch = targets.filter(employee__branch__code="B01", period="2026-Q2", indicator__code="contrib")
    assert one_branch.count() > 5 and one_branch.values("value").distinct().count() > 0.8 * one_branch.count()


# Appraisals and workflow --------------------------------------------------------------------------

def test_quarters_and_the_completed_year_are_appraised_for_the_rms_in_post(bank):
    periods = set(Appraisal.objects.values_list("period", flat=True))
    assert periods == set(QUARTERS) | {"2025", OPEN_MONTH, "2022", "2023", "2024"}
    exits = dict(Exit.objects.values_list("employee_id", "exit_on"))
    rms = list(Employee.objects.filter(role=Role.RM).values_list("pk", "hired_on"))
    for key in QUARTERS + ["2025", OPEN_MONTH]:
        period = Period.parse(key)
        run_day = period.end + dt.timedelta(days=5)
        in_post = {pk for pk, hired_on in rms
                   if hired_on < period.last_month and (pk not in exits or exits[pk] > run_day)}
        assert set(Appraisal.objects.filter(period=key).values_list("employee_id", flat=True)) == in_post, key


def test_older_periods_went_through_the_whole_workflow(bank):
    older = Appraisal.objects.filter(period__in=OLDER)
    states = Counter(older.values_list("state", flat=True))
    assert set(states) <= {S.ACKNOWLEDGED, S.PUBLISHED}
    assert states[S.ACKNOWLEDGED] > 0.9 * older.count()
    # Unanswered ones belong to RMs who left before answering.
    assert not older.filter(state=S.PUBLISHED, employee__status=Employee.Status.ACTIVE).exists()
    for appraisal in older.filter(state=S.ACKNOWLEDGED)[:20]:
        steps = list(appraisal.history.order_by("history_date", "history_id").values_list("state", flat=True))
        order = [S.COMPUTED, S.SUBMITTED, S.REVIEWED, S.APPROVED, S.PUBLISHED, S.ACKNOWLEDGED]
        assert sorted(order, key=steps.index) == order
    # A few were appealed, and some were sent back by the reviewer.
    history = Appraisal.history.filter(period__in=OLDER)
    appealed = set(history.filter(appealed=True).values_list("id", flat=True))
    assert 0 < len(appealed) < 0.1 * older.count()
    assert history.filter(state=S.COMPUTED, history_user__employee__role=Role.REVIEWER).exists()
    assert not older.filter(appealed=True).exists()


def test_manual_scores_were_entered_by_the_branch_manager(bank):
    lines = Appraisal.objects.get(period="2025", employee__employee_no="E0007").lines.select_related("indicator")
    manual = [line for line in lines if line.indicator.method == "manual"]
    assert {line.indicator.code for line in manual} == {"ability", "local"}
    assert all(line.manual_score is not None and 0 <= line.manual_score <= line.indicator.weight for line in manual)
    entered_by = {h.history_user.employee.role for h in manual[0].history.exclude(history_user=None)}
    assert entered_by == {Role.BRANCH_MANAGER}


def test_the_last_closed_quarter_was_published_days_ago_and_the_demo_rm_may_still_appeal(bank):
    latest = Appraisal.objects.filter(period=LATEST)
    now = timezone.now()
    published = latest.exclude(published_at=None)
    assert published.exists()
    assert all(now - dt.timedelta(days=APPEAL_DAYS) < a.published_at < now for a in published)
    assert {S.ACKNOWLEDGED, S.PUBLISHED} <= set(latest.values_list("state", flat=True))
    demo_rm = Employee.objects.get(employee_no=next(l.username for l in bank.logins if l.role == str(Role.RM.label)))
    appraisal = latest.get(employee=demo_rm)
    assert appraisal.state == S.PUBLISHED
    appealed = appraisal_appeal(appraisal=appraisal, by=demo_rm.user, comment="请复核特色业务得分。")
    assert (appealed.state, appealed.appealed) == (S.SUBMITTED, True)


def test_the_last_month_is_open_at_every_step_and_the_demo_branch_waits_for_manual_scores(bank):
    month = Appraisal.objects.filter(period=OPEN_MONTH)
    assert set(month.values_list("state", flat=True)) == {S.COMPUTED, S.SUBMITTED, S.REVIEWED}
    waiting = month.filter(branch__code="B01", state=S.COMPUTED)
    assert waiting.count() >= 5
    assert all(m["missing"] == "manual" for a in waiting for m in a.missing)
    assert month.filter(state=S.SUBMITTED, branch__region__code="R01").exists()  # the demo reviewer's queue
    assert month.filter(state=S.REVIEWED).exists()  # HR's queue


def test_dates_follow_the_periods(bank):
    for appraisal in Appraisal.objects.exclude(period__in=["2022", "2023", "2024"]).only(
            "period", "computed_at", "published_at"):
        end = Period.parse(appraisal.period).end
        assert appraisal.computed_at.date() > end
        assert appraisal.published_at is None or appraisal.published_at > appraisal.computed_at
    first_contribution = PoolEntry.objects.filter(period="2025-Q1").order_by("created_at").first()
    assert first_contribution.created_at.date() > dt.date(2025, 3, 31)


def test_grades_spread_like_a_bank(bank):
    grades = Counter(Appraisal.objects.filter(period__in=QUARTERS + ["2025"]).values_list("grade", flat=True))
    total = sum(grades.values())
    shares = {grade: grades[grade] / total for grade in Grade.values}
    assert all(shares[g] > 0.04 for g in Grade.values), shares
    assert shares[Grade.EXCELLENT] < 0.25 and shares[Grade.FAIL] < 0.25, shares
    assert shares[Grade.PASS] + shares[Grade.GOOD] > 0.4, shares


# Bonus and pool -------------------------------------------------------------------------------------

def test_every_branch_has_a_budget_per_closed_period_and_the_bonus_adds_up_to_it(bank):
    budgets = list(Budget.objects.select_related("branch"))
    assert {(b.branch.code, b.period) for b in budgets} == {
        (code, period) for code in ("B01", "B02", "B03", "B04", "B05", "B06") for period in QUARTERS + ["2025"]}
    for budget in budgets:
        statements = BonusStatement.objects.filter(branch=budget.branch, period=budget.period)
        sums = statements.aggregate(bonus=Sum("bonus"), paid=Sum("paid"), withheld=Sum("withheld"))
        assert sums["bonus"] == budget.amount == sums["paid"] + sums["withheld"]
        assert statements.count() == Appraisal.objects.filter(branch=budget.branch, period=budget.period).count()


def test_pool_balance_is_the_ledger_sum_and_never_negative(bank):
    for pool in PerformancePool.objects.all():
        ledger = Decimal(0)
        for entry in pool.entries.select_related("reverses").order_by("id"):
            taken = entry.kind == PoolEntry.Kind.ALLOCATION or (
                entry.kind == PoolEntry.Kind.REVERSAL and entry.reverses.kind == PoolEntry.Kind.CONTRIBUTION)
            ledger += -entry.amount if taken else entry.amount
            assert entry.balance_after == ledger >= 0
        assert pool.balance == ledger
    assert PerformancePool.objects.get(branch__code="B01").balance > 0


def test_department_heads_allocated_for_both_reasons_and_reversed_one_allocation(bank):
    allocations = PoolEntry.objects.filter(kind=PoolEntry.Kind.ALLOCATION).select_related(
        "created_by__employee", "pool__branch", "employee")
    assert set(allocations.values_list("reason", flat=True)) == set(PoolEntry.Reason.values)
    for entry in allocations:
        assert entry.justification and any("\u4e00" <= ch <= "\u9fff" for ch in entry.justification)
        assert entry.created_by.employee.role == Role.DEPARTMENT_HEAD
        assert entry.created_by.employee.branch_id == entry.pool.branch_id == entry.employee.branch_id
    reversals = PoolEntry.objects.filter(kind=PoolEntry.Kind.REVERSAL, reverses__kind=PoolEntry.Kind.ALLOCATION)
    assert reversals.count() == 1
    assert reversals.get().justification


def test_rms_who_left_over_incentives_or_recognition_received_less_of_what_was_withheld(bank):
    """Department heads allocate to RMs they notice: those who left over the appraisal, the pool
    or a lack of recognition got back less of their withheld bonus than the RMs who stay."""
    aggrieved = set(Exit.objects.filter(reason__in=[
        Exit.Reason.INCENTIVE_ASSESSMENT, Exit.Reason.RECOGNITION, Exit.Reason.COMPENSATION]).values_list(
        "employee_id", flat=True))
    leavers = set(Exit.objects.values_list("employee_id", flat=True))
    withheld = dict(BonusStatement.objects.values("employee").annotate(n=Sum("withheld")).values_list("employee", "n"))
    received = defaultdict(Decimal)
    for pk, amount in PoolEntry.objects.filter(kind=PoolEntry.Kind.ALLOCATION, reversed_by__isnull=True).values_list(
            "employee_id", "amount"):
        received[pk] += amount

    def received_share(group):
        return sum(received[pk] for pk in group) / sum(withheld[pk] for pk in group)

    aggrieved &= set(withheld)
    assert aggrieved
    assert received_share(aggrieved) < received_share(set(withheld) - leavers)


def test_demo_logins_work_after_the_history(bank, client):
    for login in bank.logins:
        assert client.login(username=login.username, password=login.password), login
        client.logout()
