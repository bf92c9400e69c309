"""Calibration: grade distributions per branch against the region and the bank."""
import pytest
from django.utils import timezone

from performance.models import Appraisal
from performance.selectors import calibration
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db


def appraise(scheme, branch, grades):
    for grade in grades:
        rm = EmployeeFactory(branch=branch)
        Appraisal.objects.create(employee=rm, scheme=scheme, branch=branch, period="2026-Q1", period_kind="quarter",
                                 state="reviewed", grade=grade, computed_at=timezone.now())


def test_a_lenient_branch_is_flagged_and_a_typical_one_is_not(scheme, branch, sister_branch, other_branch, hr):
    typical = ["excellent", "good", "good", "pass", "pass", "pass", "basic", "fail"]
    appraise(scheme, branch, ["excellent"] * 7 + ["good"])
    appraise(scheme, sister_branch, typical)
    appraise(scheme, other_branch, typical)
    result = calibration(hr.user, "2026-Q1")
    flagged = {dist.label.split()[0]: dist.flagged for dist, _region in result["branches"]}
    assert flagged == {"B01": True, "B02": False, "B03": False}
    assert result["bank"].total == 24
    assert result["regions"][branch.region_id].total == 16


def test_branch_manager_sees_only_their_branch(scheme, branch, other_branch, branch_manager):
    appraise(scheme, branch, ["good"] * 3)
    appraise(scheme, other_branch, ["fail"] * 3)
    result = calibration(branch_manager.user, "2026-Q1")
    assert [dist.label.split()[0] for dist, _ in result["branches"]] == ["B01"]
