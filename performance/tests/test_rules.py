"""Adjustment and exit rules (DOMAIN 3.4)."""
import pytest
from django.utils import timezone

from performance.models import Appraisal, Signal
from performance.rules import signals_evaluate

pytestmark = pytest.mark.django_db


def grades(scheme, rm, **by_period):
    for period, grade in by_period.items():
        period = period.replace("_", "-")
        kind = "year" if len(period) == 4 else ("quarter" if "Q" in period else "month")
        Appraisal.objects.create(employee=rm, scheme=scheme, branch=rm.branch, period=period, period_kind=kind,
                                 state="approved", grade=grade, computed_at=timezone.now())


def kinds(rm):
    return sorted(Signal.objects.filter(employee=rm).values_list("kind", "period"))


def test_two_consecutive_fails_give_a_warning(scheme, rm):
    grades(scheme, rm, **{"2026_01": "fail", "2026_02": "fail"})
    signals_evaluate(scheme=scheme, period="2026-02")
    assert kinds(rm) == [("warning", "2026-02")]


def test_fails_with_a_pass_between_give_no_warning(scheme, rm):
    grades(scheme, rm, **{"2026_01": "fail", "2026_02": "pass", "2026_03": "fail"})
    signals_evaluate(scheme=scheme, period="2026-03")
    assert kinds(rm) == []


def test_three_fails_in_four_quarters_open_an_exit_review(scheme, rm):
    grades(scheme, rm, **{"2025_Q2": "fail", "2025_Q3": "pass", "2025_Q4": "fail", "2026_Q1": "fail"})
    signals_evaluate(scheme=scheme, period="2026-Q1")
    assert ("exit_review", "2026-Q1") in kinds(rm)


def test_three_fails_spread_over_five_quarters_do_not(scheme, rm):
    grades(scheme, rm, **{"2025_Q1": "fail", "2025_Q2": "fail", "2025_Q3": "pass", "2025_Q4": "good",
                          "2026_Q1": "fail"})
    signals_evaluate(scheme=scheme, period="2026-Q1")
    assert ("exit_review", "2026-Q1") not in kinds(rm)


def test_two_excellent_years_make_a_promotion_candidate_once(scheme, rm):
    grades(scheme, rm, **{"2025": "excellent", "2026": "excellent"})
    signals_evaluate(scheme=scheme, period="2026")
    signals_evaluate(scheme=scheme, period="2026")
    assert kinds(rm) == [("promotion_candidate", "2026")]


def test_unapproved_grades_do_not_count(scheme, rm):
    grades(scheme, rm, **{"2025": "excellent", "2026": "excellent"})
    Appraisal.objects.filter(period="2026").update(state="reviewed")
    signals_evaluate(scheme=scheme, period="2026")
    assert kinds(rm) == []
