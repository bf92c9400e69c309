"""Money on dashboards, in the unit a reader of the active language expects.

Chinese reports count in 万元 (ten thousands of yuan, two decimals); English readers get CNY
thousands (one decimal). Tables that must be exact keep full yuan; cards and charts use these.

    {% load portal_money %}
    {{ amount|money_wan }} {% money_unit %}

Python callers (e.g. a chart's data) use ``money_in_unit`` and ``money_unit_label``.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.template import Library
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from core.money import round_half_up

register = Library()


@dataclass(frozen=True)
class MoneyUnit:
    divisor: Decimal
    places: int
    label: str


# Translators: 万元 — ten thousands of yuan, the unit of Chinese management reports.
_WAN = MoneyUnit(Decimal("10000"), 2, _("CNY 10,000s"))
_THOUSANDS = MoneyUnit(Decimal("1000"), 1, _("CNY thousands"))


def money_unit_for(language: str | None = None) -> MoneyUnit:
    """The display unit of ``language`` (the active one when None): 万元 for Chinese."""
    language = (language or translation.get_language() or "").lower()
    return _WAN if language.startswith("zh") else _THOUSANDS


def money_in_unit(value, language: str | None = None) -> Decimal | None:
    """``value`` (yuan) in the display unit, rounded half-up; None for a missing value."""
    if value is None or value == "":
        return None
    unit = money_unit_for(language)
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        return None
    return round_half_up(amount / unit.divisor, unit.places)


def money_unit_label(language: str | None = None) -> str:
    return str(money_unit_for(language).label)


@register.filter
def money_wan(value) -> str:
    """An amount in yuan shown in the active language's unit, grouped: 12,345.68 (万元) in
    Chinese, 123,456.8 (CNY thousands) in English. Empty for a missing value."""
    amount = money_in_unit(value)
    if amount is None:
        return ""
    return number_format(amount, decimal_pos=money_unit_for().places, use_l10n=True, force_grouping=True)


@register.simple_tag
def money_unit() -> str:
    """The label of the active language's money unit, e.g. for a column heading."""
    return money_unit_label()
