"""The money policy (DOMAIN 2.2, 3.5; STYLE 6): half-up to the cent, one field, one API field,
exact sums, and the same cents on SQLite as on PostgreSQL."""
import json
import os
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.apps import apps
from django.template import Context, Template
from django.utils import translation

from clients.models import BookMonth, ClientContribution, MonthlyBusiness
from core.money import (CENT, MoneyAPIField, MoneyField, MoneySum, is_whole_cents, money_round, money_round_down,
                        round_half_up)
from core.templatetags.portal_money import money_in_unit
from performance.bonus import split_by_largest_remainder, withholding
from performance.models import BonusStatement, Budget, PerformancePool, PoolEntry
from tests.factories import ClientFactory, MonthlyBusinessFactory

SCRIPT = Path(__file__).with_name("money_on_sqlite.py")


@pytest.mark.parametrize("value, expected", [
    ("1.005", "1.01"), ("2.675", "2.68"), ("0.125", "0.13"), ("0.135", "0.14"), ("78.725", "78.73"),
    ("1.0049999", "1.00"), ("-1.005", "-1.01"), ("-0.125", "-0.13"), ("-1.0049", "-1.00"), ("7", "7.00"),
])
def test_money_round_takes_half_cents_away_from_zero(value, expected):
    rounded = money_round(D(value))
    assert rounded == D(expected) and str(rounded) == expected


def test_a_float_would_round_the_same_half_cents_down():
    # Why money is never a float: 2.675 and 1.005 are stored just below the half cent.
    assert round(2.675, 2) == 2.67 and round(1.005, 2) == 1.0
    assert money_round(D("2.675")) == D("2.68") and money_round(D("1.005")) == D("1.01")


def test_money_round_down_cuts_towards_zero_for_the_largest_remainder_split():
    assert money_round_down(D("1.019")) == D("1.01") and money_round_down(D("-1.019")) == D("-1.01")
    assert money_round_down(D("25806.4516")) == D("25806.45")


def test_round_half_up_to_other_places():
    assert round_half_up(D("12.25"), 1) == D("12.3") and round_half_up(D("0.00125"), 4) == D("0.0013")
    assert round_half_up(D("2.5"), 0) == D("3") and round_half_up(D("-2.5"), 0) == D("-3")


def test_whole_cents():
    assert is_whole_cents(D("10.10")) and is_whole_cents(D("3")) and not is_whole_cents(D("0.005"))
    assert CENT == D("0.01")


def test_bonus_example_of_domain_3_5_is_exact():
    bonuses = split_by_largest_remainder(D("100000"), [D("1.2"), D("1.2"), D("2.25")])
    withheld = [withholding(bonus, D("0.10")) for bonus in bonuses]
    paid = [bonus - held for bonus, held in zip(bonuses, withheld)]
    assert bonuses == [D("25806.45"), D("25806.45"), D("48387.10")]
    assert withheld == [D("2580.65"), D("2580.65"), D("4838.71")]
    assert paid == [D("23225.80"), D("23225.80"), D("43548.39")]
    assert sum(paid) + sum(withheld) == D("100000") and sum(withheld) == D("10000.01")


def test_money_field_is_a_18_2_decimal_column_recorded_as_decimal_field():
    field = MoneyField("amount")
    name, path, args, kwargs = field.deconstruct()
    assert (field.max_digits, field.decimal_places) == (18, 2)
    assert path == "django.db.models.DecimalField" and kwargs["max_digits"] == 18 and kwargs["decimal_places"] == 2


@pytest.mark.parametrize("model, names", [
    (MonthlyBusiness, ["deposit_avg_balance", "loan_avg_balance", "wm_income", "card_fee_income", "fund_sales"]),
    (ClientContribution, ["volume", "loan_revenue", "loan_profit", "capital_charge"]),
    (BookMonth, ["deposit", "aum", "profit", "eva"]),
    (Budget, ["amount"]),
    (BonusStatement, ["bonus", "withheld", "paid"]),
    (PerformancePool, ["balance"]),
    (PoolEntry, ["amount", "balance_after"]),
])
def test_money_columns_are_money_fields(model, names):
    for name in names:
        field = model._meta.get_field(name)
        assert isinstance(field, MoneyField) and (field.max_digits, field.decimal_places) == (18, 2), name


def test_no_app_stores_money_in_another_two_place_decimal_than_money_field():
    # Two-place decimals that are not money: scores, weights and risk bands.
    not_money = {"total", "weight", "manual_score", "score", "previous_score", "medium_from", "high_from",
                 "rise_alert", "weight_assessment", "weight_incentive", "weight_career", "weight_recognition",
                 "weight_pressure"}
    offenders = [f"{model.__name__}.{field.name}" for app in ("clients", "performance", "careers")
                 for model in apps.get_app_config(app).get_models() for field in model._meta.fields
                 if getattr(field, "decimal_places", None) == 2 and not isinstance(field, MoneyField)
                 and field.name not in not_money]
    assert offenders == []


@pytest.mark.parametrize("value, expected", [
    (D("1130"), "1130.00"), (D("0.125"), "0.13"), (D("-0.125"), "-0.13"), (D("2.675"), "2.68"),
    (D("123456789012345678.91"), "123456789012345678.91"),
])
def test_api_money_is_a_decimal_string_with_two_places_rounded_half_up(value, expected):
    assert MoneyAPIField().to_representation(value) == expected


def test_display_unit_rounds_half_up():
    with translation.override("zh-hans"):
        assert money_in_unit(D("250")) == D("0.03")  # 0.025 万元
        assert money_in_unit(D("-250")) == D("-0.03")
        assert Template("{% load portal_money %}{{ amount|money_wan }}").render(
            Context({"amount": D("25650")})) == "2.57"  # 2.565 万元
    with translation.override("en"):
        assert money_in_unit(D("1250")) == D("1.3")  # 1.25 thousand


@pytest.mark.django_db
def test_money_sum_is_exact(branch, rm):
    for amount in ("0.10", "0.20", "1234567.89", "0.01"):
        MonthlyBusinessFactory(client=ClientFactory(branch=branch, rm=rm), fund_sales=D(amount))
    total = MonthlyBusiness.objects.aggregate(total=MoneySum("fund_sales"))["total"]
    assert total == D("1234568.20")


def test_sqlite_gives_the_cents_of_postgresql(tmp_path):
    """Contributions and money sums on SQLite (the ``make run`` default), where the database would
    compute in floats: the half-cent revenues and the 0.10 + 0.20 sums of the script come out exact."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'money.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "rmportal.settings.test"}
    env.pop("CI", None)
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300,
                          cwd=SCRIPT.parents[2])
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["example"] == {
        "loan_profit": "1130.00", "deposit_profit": "523.33", "wm_profit": "798.00", "card_profit": "205.00",
        "capital_charge": "1050.00", "loan_revenue": "1330.00", "deposit_revenue": "583.33",
        "wm_revenue": "828.00", "card_revenue": "225.00"}
    assert figures["wm_revenue"] == ["78.73", "60.68"]  # 78.725 and 60.675, half-up
    assert figures["wm_profit"] == ["78.73", "60.68"]
    assert D(figures["profit_sum"]) == D("139.71") and figures["book_profit"] == "139.71"
    assert figures["fund_sales_sum"] == "0.30"
    assert D(figures["metric_fund_sales"]) == D("0.30") and D(figures["metric_contribution"]) == D("139.71")
