"""Scoring methods at their edges, rescaling, totals and grades (DOMAIN 3.1, 3.2)."""
from decimal import Decimal as D

import pytest

from performance.scoring import (MissingTarget, grade_for, rescale, score_bands, score_inverse, score_manual,
                                 score_ratio, total_score)
from rmportal.errors import ApplicationError


def test_ratio_scores_weight_times_achievement():
    assert score_ratio(D(30), D(50), D(100)) == D(15)


def test_ratio_is_capped_at_one_by_default():
    assert score_ratio(D(30), D(150), D(100)) == D(30)


def test_ratio_cap_allows_overachievement_up_to_the_cap():
    assert score_ratio(D(30), D(150), D(100), D("1.2")) == D(36)
    assert score_ratio(D(30), D(110), D(100), D("1.2")) == D(33)


def test_negative_actual_scores_zero_under_ratio():
    assert score_ratio(D(30), D(-5), D(100)) == 0
    assert score_ratio(D(30), D(-5), D(-10)) == 0


@pytest.mark.parametrize("target", [None, D(0)])
def test_missing_or_zero_target_is_reported(target):
    with pytest.raises(MissingTarget):
        score_ratio(D(30), D(5), target)


def test_inverse_full_points_at_or_below_target():
    assert score_inverse(D(10), D("0.01"), D("0.01"), D("0.05")) == D(10)
    assert score_inverse(D(10), D("0.00"), D("0.01"), D("0.05")) == D(10)


def test_inverse_zero_at_or_above_ceiling_and_linear_between():
    assert score_inverse(D(10), D("0.05"), D("0.01"), D("0.05")) == 0
    assert score_inverse(D(10), D("0.09"), D("0.01"), D("0.05")) == 0
    assert score_inverse(D(10), D("0.03"), D("0.01"), D("0.05")) == D(5)


BANDS = [(D(0), D(0)), (D(100000), D("0.6")), (D(300000), D(1))]


@pytest.mark.parametrize("actual, expected", [
    (D(-1), D(0)), (D(0), D(0)), (D("99999.99"), D(0)), (D(100000), D(12)),
    (D("299999.99"), D(12)), (D(300000), D(20)), (D(10 ** 9), D(20)),
])
def test_bands_apply_the_highest_threshold_not_above_actual(actual, expected):
    assert score_bands(D(20), actual, BANDS) == expected


def test_manual_score_must_lie_within_weight():
    assert score_manual(D(20), D(20)) == D(20)
    assert score_manual(D(20), None) is None
    with pytest.raises(ApplicationError):
        score_manual(D(20), D("20.01"))
    with pytest.raises(ApplicationError):
        score_manual(D(20), D(-1))


def test_rescale_makes_applicable_weights_add_to_100():
    factor = rescale([D(30), D(20)])
    assert D(30) * factor + D(20) * factor == D(100)
    assert rescale([]) == 0


def test_total_rounds_half_up_and_is_clipped():
    assert total_score([D("89.995")]) == D("90.00")
    assert total_score([D("89.994999")]) == D("89.99")
    assert total_score([D(80), D(30)]) == D(100)
    assert total_score([D(-3)]) == D(0)


@pytest.mark.parametrize("total, grade", [
    (D("100"), "excellent"), (D("90.00"), "excellent"), (D("89.99"), "good"), (D("80"), "good"),
    (D("79.99"), "pass"), (D("70"), "pass"), (D("69.99"), "basic"), (D("60"), "basic"),
    (D("59.99"), "fail"), (D("0"), "fail"),
])
def test_grade_boundaries(total, grade):
    assert grade_for(total) == grade


def test_89_995_becomes_excellent():
    assert grade_for(total_score([D("89.995")])) == "excellent"
