"""Bonus by grade coefficient and the performance pool (DOMAIN 3.5)."""
import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clients.models import Role
from performance.bonus import (bonus_compute, pool_allocate, pool_of, pool_received, pool_reverse,
                               split_by_largest_remainder, withholding)
from performance.models import Appraisal, BonusStatement, Budget, PerformancePool, PoolEntry
from rmportal.errors import ApplicationError
from tests.factories import EmployeeFactory, LevelFactory
from tests.markers import requires_postgresql

pytestmark = pytest.mark.django_db


def test_largest_remainder_split_adds_up_to_the_budget():
    parts = split_by_largest_remainder(D("100000"), [D("1.2"), D("1.2"), D("2.25")])
    assert parts == [D("25806.45"), D("25806.45"), D("48387.10")]
    assert sum(parts) == D("100000")


def test_withholding_rounds_half_up():
    assert withholding(D("25806.45"), D("0.10")) == D("2580.65")
    assert withholding(D("48387.10"), D("0.10")) == D("4838.71")


@pytest.fixture
def approved_branch(branch, scheme):
    """Three RMs with levels 1.0, 1.2, 1.5 and grades good, pass, excellent, approved (DOMAIN 3.5)."""
    rms = []
    for no, (coefficient, grade) in enumerate(((D("1.0"), "good"), (D("1.2"), "pass"), (D("1.5"), "excellent"))):
        level = LevelFactory(code=f"L{no}", rank=no + 1, bonus_coefficient=coefficient)
        rm = EmployeeFactory(employee_no=f"R{no}", branch=branch, level=level)
        Appraisal.objects.create(employee=rm, scheme=scheme, branch=branch, period="2026-Q1", period_kind="quarter",
                                 state="approved", total=D(85), grade=grade, computed_at=timezone.now())
        rms.append(rm)
    Budget.objects.create(branch=branch, period="2026-Q1", amount=D("100000"))
    return rms


def test_worked_example_of_the_bonus_and_pool(branch, approved_branch):
    statements = bonus_compute(branch=branch, period="2026-Q1")
    assert [s.bonus for s in statements] == [D("25806.45"), D("25806.45"), D("48387.10")]
    assert [s.withheld for s in statements] == [D("2580.65"), D("2580.65"), D("4838.71")]
    assert [s.paid for s in statements] == [D("23225.80"), D("23225.80"), D("43548.39")]
    assert sum(s.paid + s.withheld for s in statements) == D("100000")
    assert pool_of(branch).balance == D("10000.01")


def test_bonus_compute_is_idempotent(branch, approved_branch):
    bonus_compute(branch=branch, period="2026-Q1")
    bonus_compute(branch=branch, period="2026-Q1")
    assert BonusStatement.objects.count() == 3
    assert PoolEntry.objects.count() == 3
    assert pool_of(branch).balance == D("10000.01")


def test_no_bonus_while_an_appraisal_is_not_approved(branch, approved_branch):
    Appraisal.objects.filter(employee=approved_branch[0]).update(state="reviewed")
    assert bonus_compute(branch=branch, period="2026-Q1") == []
    assert not BonusStatement.objects.exists()


def test_a_lower_bonus_after_an_appeal_posts_only_the_difference(branch, approved_branch):
    bonus_compute(branch=branch, period="2026-Q1")
    Appraisal.objects.filter(employee=approved_branch[2]).update(grade="pass")
    bonus_compute(branch=branch, period="2026-Q1")
    total_withheld = BonusStatement.objects.aggregate(t=Sum("withheld"))["t"]
    assert pool_of(branch).balance == total_withheld
    assert PoolEntry.objects.filter(kind="reversal").count() >= 1


@pytest.fixture
def funded_pool(branch, rm, department_head):
    pool = pool_of(branch)
    PerformancePool.objects.filter(pk=pool.pk).update(balance=D("1000.00"))
    return pool


def allocate(department_head, rm, amount, **kwargs):
    return pool_allocate(branch=rm.branch, employee=rm, amount=amount, reason=kwargs.get("reason", "diligence"),
                         justification=kwargs.get("justification", "kept at it all quarter"), period="2026-Q1",
                         by=department_head.user)


def test_department_head_allocates_and_the_balance_falls(funded_pool, rm, department_head):
    entry = allocate(department_head, rm, "300.00")
    assert entry.balance_after == D("700.00")
    assert pool_of(rm.branch).balance == D("700.00")
    assert pool_received([rm.pk], "2026-Q1") == {rm.pk: D("300.00")}


def test_allocation_beyond_the_balance_is_refused_and_changes_nothing(funded_pool, rm, department_head):
    with pytest.raises(ApplicationError):
        allocate(department_head, rm, "1000.01")
    assert pool_of(rm.branch).balance == D("1000.00")
    assert not PoolEntry.objects.exists()


@pytest.mark.parametrize("amount", ["0", "-5", "1.005", "abc"])
def test_bad_amounts_are_refused(funded_pool, rm, department_head, amount):
    with pytest.raises(ApplicationError):
        allocate(department_head, rm, amount)


def test_allocation_needs_reason_and_justification(funded_pool, rm, department_head):
    with pytest.raises(ApplicationError):
        allocate(department_head, rm, "10", reason="friendship")
    with pytest.raises(ApplicationError):
        allocate(department_head, rm, "10", justification=" ")


@pytest.mark.parametrize("role", [Role.RM, Role.BRANCH_MANAGER, Role.REVIEWER, Role.HR])
def test_only_the_department_head_allocates(funded_pool, rm, branch, role):
    other = EmployeeFactory(branch=branch, role=role)
    with pytest.raises(PermissionDenied):
        allocate(other, rm, "10")


def test_department_head_of_another_unit_cannot_allocate(funded_pool, rm, other_branch):
    head = EmployeeFactory(branch=other_branch, role=Role.DEPARTMENT_HEAD)
    with pytest.raises(PermissionDenied):
        allocate(head, rm, "10")


def test_allocation_goes_only_to_rms_of_the_unit(funded_pool, department_head, other_branch):
    stranger = EmployeeFactory(branch=other_branch)
    with pytest.raises(ApplicationError):
        pool_allocate(branch=department_head.branch, employee=stranger, amount="10", reason="diligence",
                      justification="x", period="2026-Q1", by=department_head.user)


def test_reversal_returns_the_money_once(funded_pool, rm, department_head):
    entry = allocate(department_head, rm, "300.00")
    pool_reverse(entry=entry, by=department_head.user, justification="wrong RM")
    assert pool_of(rm.branch).balance == D("1000.00")
    assert pool_received([rm.pk], "2026-Q1") == {rm.pk: D("0.00")}
    with pytest.raises(ApplicationError):
        pool_reverse(entry=entry, by=department_head.user, justification="again")


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_never_overdraw_the_pool(branch, rm, department_head):
    pool = pool_of(branch)
    PerformancePool.objects.filter(pk=pool.pk).update(balance=D("500.00"))
    outcomes = []
    barrier = threading.Barrier(8)

    def worker():
        from django.db import connection as thread_connection
        try:
            barrier.wait()
            allocate(department_head, rm, "100.00")
            outcomes.append("ok")
        except ApplicationError:
            outcomes.append("refused")
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 5 and outcomes.count("refused") == 3
    assert pool_of(branch).balance == D("0.00")
    assert PoolEntry.objects.filter(kind="allocation").count() == 5


operations = st.lists(st.one_of(
    st.tuples(st.just("contribute"), st.integers(min_value=1, max_value=50000)),
    st.tuples(st.just("allocate"), st.integers(min_value=1, max_value=50000)),
    st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=20)),
), max_size=25)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_pool_balance_is_the_ledger_sum_and_never_negative(branch, rm, department_head, ops):
    from performance.bonus import _lock_pool, _post
    from django.db import transaction

    with transaction.atomic():
        sid = transaction.savepoint()
        allocations = []
        for op, value in ops:
            before = (pool_of(branch).balance, PoolEntry.objects.count())
            try:
                if op == "contribute":
                    with transaction.atomic():
                        _post(_lock_pool(branch), kind="contribution", amount=D(value) / 100, period="2026-Q1",
                              employee=rm)
                elif op == "allocate":
                    allocations.append(allocate(department_head, rm, D(value) / 100))
                elif allocations:
                    pool_reverse(entry=allocations[value % len(allocations)], by=department_head.user,
                                 justification="correction")
            except ApplicationError:
                assert (pool_of(branch).balance, PoolEntry.objects.count()) == before
            entries = PoolEntry.objects.all()
            contributions = sum((e.amount for e in entries if e.kind == "contribution"), D(0))
            allocated = sum((e.amount for e in entries if e.kind == "allocation"), D(0))
            reversed_ = sum((e.amount for e in entries if e.kind == "reversal"), D(0))
            balance = pool_of(branch).balance
            assert balance == contributions - allocated + reversed_
            assert balance >= 0
        transaction.savepoint_rollback(sid)


def test_a_promotion_counts_from_its_date(branch, approved_branch):
    from careers.models import LevelChange

    rm = approved_branch[0]
    higher = LevelFactory(code="L9", rank=9, bonus_coefficient=D("2.0"))
    LevelChange.objects.create(employee=rm, kind="promotion", effective_on=dt.date(2026, 4, 1),
                               from_level=rm.level, to_level=higher)
    statements = bonus_compute(branch=branch, period="2026-Q1")  # the promotion came after the quarter
    assert statements[0].level_coefficient == D("1.0")


def test_a_promotion_within_the_period_counts(branch, approved_branch):
    from careers.models import LevelChange

    rm = approved_branch[0]
    higher = LevelFactory(code="L9", rank=9, bonus_coefficient=D("2.0"))
    LevelChange.objects.create(employee=rm, kind="promotion", effective_on=dt.date(2026, 3, 1),
                               from_level=rm.level, to_level=higher)
    statements = bonus_compute(branch=branch, period="2026-Q1")
    assert statements[0].level_coefficient == D("2.0")
