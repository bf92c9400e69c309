"""Adjustment and exit rules (调整机制和退出机制, DOMAIN 3.4), configurable per scheme.

From approved grades: N consecutive fails of the same period kind → warning; M fails among the
last W quarters → exit review; K consecutive excellent annual grades → promotion candidate.
The signals feed careers (promotion candidates, exit reviews) and retention risk.
"""
from __future__ import annotations

from collections import defaultdict

from django.utils.translation import gettext as _

from performance.models import Appraisal, Scheme, Signal
from performance.periods import QUARTER, YEAR, Period
from performance.scoring import Grade


def _previous(period: Period, count: int) -> list[Period]:
    """``period`` and the ``count − 1`` periods before it, newest first."""
    periods = [period]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return periods


def signals_evaluate(*, scheme: Scheme, period: str | Period, employee_ids=None) -> list[Signal]:
    """Creates the signals the approved grades of ``period`` call for; idempotent."""
    period = period if isinstance(period, Period) else Period.parse(period)
    depth = max(scheme.warning_consecutive_fails, scheme.exit_review_window_quarters,
                scheme.promotion_excellent_years)
    keys = [p.key for p in _previous(period, depth)]
    approved = Appraisal.objects.filter(scheme__branch_id=scheme.branch_id, period__in=keys,
                                        state__in=Appraisal.FROZEN)
    if employee_ids is not None:
        approved = approved.filter(employee_id__in=employee_ids)
    grades: dict[int, dict[str, str]] = defaultdict(dict)
    for employee_id, key, grade in approved.values_list("employee_id", "period", "grade"):
        grades[employee_id][key] = grade

    found = []
    for employee_id, by_period in grades.items():
        if period.key not in by_period:
            continue
        recent = [by_period.get(p.key) for p in _previous(period, scheme.warning_consecutive_fails)]
        if all(g == Grade.FAIL for g in recent):
            found.append(Signal(employee_id=employee_id, kind=Signal.Kind.WARNING, period=period.key,
                                detail=_("%(n)s consecutive fail grades up to %(period)s")
                                % {"n": len(recent), "period": period.key}))
        if period.kind == QUARTER:
            window = [by_period.get(p.key) for p in _previous(period, scheme.exit_review_window_quarters)]
            fails = sum(1 for g in window if g == Grade.FAIL)
            if fails >= scheme.exit_review_fails:
                found.append(Signal(employee_id=employee_id, kind=Signal.Kind.EXIT_REVIEW, period=period.key,
                                    detail=_("%(fails)s fail grades in the last %(window)s quarters")
                                    % {"fails": fails, "window": len(window)}))
        if period.kind == YEAR:
            years = [by_period.get(p.key) for p in _previous(period, scheme.promotion_excellent_years)]
            if all(g == Grade.EXCELLENT for g in years):
                found.append(Signal(employee_id=employee_id, kind=Signal.Kind.PROMOTION_CANDIDATE,
                                    period=period.key,
                                    detail=_("%(n)s excellent annual grades up to %(period)s")
                                    % {"n": len(years), "period": period.key}))
    Signal.objects.bulk_create(found, ignore_conflicts=True)
    return found
