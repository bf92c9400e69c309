"""Bonus by grade and the performance pool (DOMAIN 3.5).

bonus_i = B × share_i ÷ Σ share, share = level coefficient × grade coefficient, to the cent by
largest remainder so that Σ bonus = B. The pool withholds round(bonus × w) of each bonus.
The pool is an append-only ledger; its balance row is locked for every posting and a database
constraint keeps it at or above zero, also under concurrent allocations.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from careers.selectors import level_coefficients_as_of
from clients.models import Branch, Employee
from core.money import CENT, ZERO, MoneySum, is_whole_cents, money_round, money_round_down
from performance.models import Appraisal, BonusStatement, Budget, PerformancePool, PoolEntry
from performance.periods import Period
from rmportal.errors import ApplicationError


def split_by_largest_remainder(total: Decimal, shares: Sequence[Decimal]) -> list[Decimal]:
    """Splits ``total`` in proportion to ``shares`` to the cent; the leftover cents go to the
    largest remainders (ties: earlier first), so the parts add up to ``total`` exactly."""
    share_sum = sum(shares, Decimal(0))
    if not shares or share_sum <= 0:
        raise ApplicationError(_("There is nothing to share the budget by."))
    exact = [total * share / share_sum for share in shares]
    parts = [money_round_down(value) for value in exact]
    leftover = int(((total - sum(parts, Decimal(0))) / CENT).to_integral_value())
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += CENT
    return parts


def withholding(bonus: Decimal, rate: Decimal) -> Decimal:
    return money_round(bonus * rate)


def pool_of(branch: Branch) -> PerformancePool:
    return PerformancePool.objects.get_or_create(branch=branch)[0]


def _post(pool: PerformancePool, *, kind: str, amount: Decimal, period: str, employee, by=None,
          reason: str = "", justification: str = "", reverses=None, bonus=None) -> PoolEntry:
    """Appends one entry to a pool whose row the caller holds locked, and moves the balance."""
    sign = -1 if kind == PoolEntry.Kind.ALLOCATION or (
        kind == PoolEntry.Kind.REVERSAL and reverses is not None and reverses.kind == PoolEntry.Kind.CONTRIBUTION) else 1
    balance = pool.balance + sign * amount
    if balance < 0:
        raise ApplicationError(_("The pool holds %(balance)s; %(amount)s cannot be taken from it.")
                               % {"balance": pool.balance, "amount": amount})
    pool.balance = balance
    pool.save(update_fields=["balance"])
    return PoolEntry.objects.create(pool=pool, kind=kind, amount=amount, period=period, employee=employee,
                                    reason=reason, justification=justification, reverses=reverses, bonus=bonus,
                                    balance_after=balance, created_by=by)


def _lock_pool(branch: Branch) -> PerformancePool:
    pool_of(branch)
    return PerformancePool.objects.select_for_update().get(branch=branch)


@transaction.atomic
def bonus_compute(*, branch: Branch, period: str, by=None) -> list[BonusStatement]:
    """The bonus statements of a branch and period, once HR has approved all of its appraisals
    and a budget exists; idempotent. A change after an appeal posts only the difference to the pool."""
    budget = Budget.objects.filter(branch=branch, period=period).first()
    appraisals = list(Appraisal.objects.filter(branch=branch, period=period).select_related(
        "employee__level", "scheme").order_by("employee__employee_no"))
    if budget is None or not appraisals or any(a.state not in Appraisal.FROZEN for a in appraisals):
        return []
    grade_coefficients = [a.scheme.grade_coefficient(a.grade) for a in appraisals]
    # The level held at the end of the period counts: a promotion takes effect from its date.
    held = level_coefficients_as_of([a.employee_id for a in appraisals], Period.parse(period).end)
    levels = [held[a.employee_id] for a in appraisals]
    bonuses = split_by_largest_remainder(budget.amount, [lv * g for lv, g in zip(levels, grade_coefficients)])
    existing = {s.appraisal_id: s for s in BonusStatement.objects.filter(branch=branch, period=period)}
    pool = _lock_pool(branch)
    statements = []
    for appraisal, level, grade_coefficient, bonus in zip(appraisals, levels, grade_coefficients, bonuses):
        withheld = withholding(bonus, appraisal.scheme.pool_rate)
        statement = existing.get(appraisal.pk) or BonusStatement(
            employee=appraisal.employee, branch=branch, period=period, appraisal=appraisal)
        before = statement.withheld if statement.pk else ZERO
        statement.level_coefficient, statement.grade_coefficient = level, grade_coefficient
        statement.bonus, statement.withheld, statement.paid = bonus, withheld, bonus - withheld
        statement.save()
        delta = withheld - before
        if delta > 0:
            _post(pool, kind=PoolEntry.Kind.CONTRIBUTION, amount=delta, period=period,
                  employee=appraisal.employee, by=by, bonus=statement)
        elif delta < 0:
            original = statement.pool_entries.filter(kind=PoolEntry.Kind.CONTRIBUTION).first()
            _post(pool, kind=PoolEntry.Kind.REVERSAL, amount=-delta, period=period, employee=appraisal.employee,
                  by=by, bonus=statement, reverses=original, justification=_("bonus recomputed"))
        statements.append(statement)
    return statements


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ApplicationError(_("An amount is a number."))
    if not amount.is_finite() or amount <= 0 or not is_whole_cents(amount):
        raise ApplicationError(_("An amount is positive, in yuan and fen (two decimals at most)."))
    return amount


@transaction.atomic
def pool_allocate(*, branch: Branch, employee: Employee, amount, reason: str, justification: str,
                  period: str, by) -> PoolEntry:
    """The RM department head gives an RM of the unit money from the pool, for special
    circumstances or diligence without results, with a justification (DOMAIN 3.5)."""
    if not _may_allocate(by, branch):
        raise PermissionDenied
    amount = _amount(amount)
    if reason not in PoolEntry.Reason.values:
        raise ApplicationError(_("Choose the reason: special circumstances or diligence."))
    justification = (justification or "").strip()
    if not justification:
        raise ApplicationError(_("An allocation needs a justification."))
    if employee.branch_id != branch.pk or not employee.is_active or employee.role != "rm":
        raise ApplicationError(_("%(name)s is not an active RM of this unit.") % {"name": employee.name})
    Period.parse(period)
    pool = _lock_pool(branch)
    return _post(pool, kind=PoolEntry.Kind.ALLOCATION, amount=amount, period=period, employee=employee, by=by,
                 reason=reason, justification=justification)


def _may_allocate(user, branch: Branch) -> bool:
    pool_of(branch)
    return PerformancePool.objects.restrict(user, "allocate").filter(branch=branch).exists()


@transaction.atomic
def pool_reverse(*, entry: PoolEntry, by, justification: str) -> PoolEntry:
    """Takes back an allocation made in error; the money returns to the pool. Once per allocation."""
    if not _may_allocate(by, entry.pool.branch):
        raise PermissionDenied
    if entry.kind != PoolEntry.Kind.ALLOCATION:
        raise ApplicationError(_("Only an allocation can be reversed."))
    justification = (justification or "").strip()
    if not justification:
        raise ApplicationError(_("A reversal needs a justification."))
    pool = _lock_pool(entry.pool.branch)
    if entry.reversed_by.exists():
        raise ApplicationError(_("This allocation was reversed already."))
    return _post(pool, kind=PoolEntry.Kind.REVERSAL, amount=entry.amount, period=entry.period,
                 employee=entry.employee, by=by, justification=justification, reverses=entry)


def pool_received(employee_ids, period: str) -> dict[int, Decimal]:
    """Net pool receipts per RM for a period: allocations less reversed allocations."""
    rows = PoolEntry.objects.filter(employee_id__in=employee_ids, period=period).exclude(
        kind=PoolEntry.Kind.CONTRIBUTION).exclude(reverses__kind=PoolEntry.Kind.CONTRIBUTION).values(
        "employee_id", "kind").annotate(total=MoneySum("amount"))
    received: dict[int, Decimal] = {}
    for row in rows:
        sign = 1 if row["kind"] == PoolEntry.Kind.ALLOCATION else -1
        received[row["employee_id"]] = received.get(row["employee_id"], ZERO) + sign * row["total"]
    return received
