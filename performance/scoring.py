"""Indicator scoring, totals and grades (DOMAIN 3.1, 3.2). Pure functions on Decimals.

Points stay unrounded until the total; the total is clipped to 0…100 and rounded half-up to 0.01.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.money import round_half_up
from rmportal.errors import ApplicationError

ZERO, ONE, HUNDRED = Decimal(0), Decimal(1), Decimal(100)


class Method(models.TextChoices):
    RATIO = "ratio", gettext_lazy("Ratio to target")
    INVERSE = "inverse", gettext_lazy("Inverse (lower is better)")
    BANDS = "bands", gettext_lazy("Bands")
    MANUAL = "manual", gettext_lazy("Manual score")


class Grade(models.TextChoices):
    EXCELLENT = "excellent", gettext_lazy("Excellent")
    GOOD = "good", gettext_lazy("Good")
    PASS = "pass", gettext_lazy("Pass")
    BASIC = "basic", gettext_lazy("Basic pass")
    FAIL = "fail", gettext_lazy("Fail")


# Lower bounds of each grade, highest first (DOMAIN 3.2).
GRADE_FLOORS = ((Decimal(90), Grade.EXCELLENT), (Decimal(80), Grade.GOOD), (Decimal(70), Grade.PASS),
                (Decimal(60), Grade.BASIC))
GOOD_OR_BETTER = frozenset({Grade.EXCELLENT, Grade.GOOD})


class MissingTarget(ApplicationError):
    pass


def clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return max(low, min(high, value))


def score_ratio(weight: Decimal, actual: Decimal, target: Decimal | None, cap: Decimal | None = None) -> Decimal:
    """weight × clamp(actual / target, 0, cap); cap defaults to 1; a negative actual scores 0."""
    if not target:
        raise MissingTarget(_("target missing"))
    if actual < 0:
        return ZERO
    return weight * clamp(actual / target, ZERO, cap if cap is not None else ONE)


def score_inverse(weight: Decimal, actual: Decimal, target: Decimal | None, ceiling: Decimal) -> Decimal:
    """weight × clamp((ceiling − actual) / (ceiling − target), 0, 1): lower is better."""
    if target is None:
        raise MissingTarget(_("target missing"))
    if ceiling == target:
        raise ApplicationError(_("The ceiling of an inverse indicator must differ from its target."))
    return weight * clamp((ceiling - actual) / (ceiling - target), ZERO, ONE)


def score_bands(weight: Decimal, actual: Decimal, bands: Sequence[tuple[Decimal, Decimal]]) -> Decimal:
    """The fraction of the highest threshold not above ``actual`` applies; below all thresholds, 0."""
    fraction = ZERO
    for threshold, band_fraction in sorted(bands):
        if threshold <= actual:
            fraction = band_fraction
        else:
            break
    return weight * fraction


def score_manual(weight: Decimal, entered: Decimal | None) -> Decimal | None:
    """The scorer enters 0 … weight; None while not entered."""
    if entered is None:
        return None
    if entered < 0 or entered > weight:
        raise ApplicationError(_("A manual score must lie between 0 and %(weight)s.") % {"weight": weight})
    return entered


def rescale(weights: Iterable[Decimal]) -> Decimal:
    """The factor that makes the weights of the indicators that apply add up to 100."""
    total = sum(weights, ZERO)
    return HUNDRED / total if total else ZERO


def total_score(points: Iterable[Decimal]) -> Decimal:
    return round_half_up(clamp(sum(points, ZERO), ZERO, HUNDRED), 2)


def grade_for(total: Decimal) -> str:
    for floor, grade in GRADE_FLOORS:
        if total >= floor:
            return grade
    return Grade.FAIL
