"""The statement checks (clients/statements.py, DOMAIN 2.3): each rule passes a clean statement and
trips on a doctored one, right at the edge of its threshold; and the service that keeps the flags."""
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone, translation

from clients import services
from clients.models import Client, FinancialStatement, StatementEntry, StatementFlag, StatementLine
from clients.statements import (MAY_BE_NEGATIVE, RATIO_LIMITS, RULES, THRESHOLDS, StatementPeriod, flag_message,
                                line_problem, statement_findings)
from rmportal.errors import ApplicationError
from tests.factories import ClientFactory

D = Decimal
T = THRESHOLDS
CENT = D("0.01")

# A clean company: 2024 and 2025 balance, roll forward and reconcile; no check trips.
Y2025 = {k: D(v) for k, v in dict(
    cash="2000000", notes_receivable="0", accounts_receivable="1500000", prepayments="200000",
    other_receivables="100000", inventory="1200000", other_current_assets="0", total_current_assets="5000000",
    long_term_investments="500000", fixed_assets="3000000", construction_in_progress="200000",
    intangible_assets="300000", other_non_current_assets="0", total_assets="9000000",
    short_term_borrowings="1000000", notes_payable="0", accounts_payable="1000000", advances_from_customers="300000",
    other_payables="200000", total_current_liabilities="2500000", long_term_borrowings="1500000",
    other_non_current_liabilities="0", total_liabilities="4000000", paid_in_capital="3000000",
    capital_reserve="500000", surplus_reserve="300000", retained_earnings="1200000", total_equity="5000000",
    revenue="9000000", cost_of_sales="6750000", taxes_and_surcharges="90000", selling_expenses="450000",
    admin_expenses="540000", financial_expenses="125000", investment_income="50000", operating_profit="1095000",
    non_operating_income="20000", non_operating_expenses="15000", total_profit="1100000", income_tax="275000",
    net_profit="825000", profit_distributed="300000", operating_cash_flow="1000000",
    investing_cash_flow="-400000", financing_cash_flow="-300000", net_change_in_cash="300000").items()}
Y2024 = {**Y2025, "cash": D("1700000"), "total_current_assets": D("4700000"), "total_assets": D("8700000"),
         "retained_earnings": D("675000"), "total_equity": D("4475000"), "other_payables": D("425000"),
         "total_current_liabilities": D("2725000"), "total_liabilities": D("4225000")}


def book(**changes_2025) -> dict:
    """The clean two years, with 2025's lines changed."""
    return {"2024": Y2024, "2025": {**Y2025, **{k: D(str(v)) for k, v in changes_2025.items()}}}


def tripped(statements, rule: str) -> list[tuple[str, str]]:
    return [(f.period, f.subject) for f in statement_findings(statements) if f.rule == rule]


def test_the_clean_company_trips_no_check():
    assert statement_findings(book()) == []


def test_every_rule_has_a_severity_and_a_message_built_from_its_figures():
    for rule in RULES.values():
        assert rule.severity in StatementFlag.Severity.values
    finding = next(f for f in statement_findings(book(accounts_receivable="3000000")) if f.rule == "account_swing")
    with translation.override("en"):
        message = flag_message(finding.rule, finding.figures)
    assert "Accounts receivable" in message and "1,500,000.00" in message and "3,000,000.00" in message


# --- reconciliations ------------------------------------------------------------------------------

def test_balance_identity_trips_only_beyond_the_relative_tolerance():
    assets = Y2025["total_assets"]
    tolerance = T.balance_identity.relative * assets
    edge = book(total_equity=Y2025["total_equity"] - tolerance)
    beyond = book(total_equity=Y2025["total_equity"] - tolerance - CENT)

    assert tripped(edge, "balance_identity") == []
    assert tripped(beyond, "balance_identity") == [("2025", "")]
    assert RULES["balance_identity"].severity == StatementFlag.Severity.CRITICAL


def test_balance_identity_on_a_small_statement_allows_one_yuan():
    small = {"total_assets": D("100.00"), "total_liabilities": D("40.00"), "total_equity": D("60.00")}
    absolute = T.balance_identity.absolute

    assert tripped({"2025": {**small, "total_equity": D("60.00") - absolute}}, "balance_identity") == []
    assert tripped({"2025": {**small, "total_equity": D("60.00") - absolute - CENT}}, "balance_identity") == [
        ("2025", "")]


def test_retained_earnings_must_roll_forward_with_profit_less_distribution():
    expected = Y2025["net_profit"] - Y2025["profit_distributed"]  # 525,000 = 1,200,000 − 675,000
    tolerance = T.retained_earnings.relative * expected
    edge = book(retained_earnings=Y2025["retained_earnings"] - tolerance)
    beyond = book(retained_earnings=Y2025["retained_earnings"] - tolerance - CENT)

    assert tripped(edge, "retained_earnings") == []
    assert tripped(beyond, "retained_earnings") == [("2025", "")]


def test_retained_earnings_of_a_quarter_roll_forward_from_the_year_end():
    quarter = {"retained_earnings": D("800000"), "net_profit": D("125000"), "profit_distributed": D("0")}

    assert tripped({"2024": Y2024, "2025-Q1": quarter}, "retained_earnings") == []
    assert tripped({"2024": Y2024, "2025-Q1": {**quarter, "net_profit": D("100000")}}, "retained_earnings") == [
        ("2025-Q1", "")]


def test_cash_change_must_match_the_cash_flow_statement():
    tolerance = T.cash_change.relative * Y2025["net_change_in_cash"]
    edge = book(cash=Y2025["cash"] - tolerance)
    beyond = book(cash=Y2025["cash"] - tolerance - CENT)

    assert tripped(edge, "cash_change") == []
    assert tripped(beyond, "cash_change") == [("2025", "")]


def test_net_change_in_cash_must_be_the_sum_of_the_three_flows():
    tolerance = T.cash_flow_sum.relative * Y2025["net_change_in_cash"]
    edge = book(operating_cash_flow=Y2025["operating_cash_flow"] - tolerance)
    beyond = book(operating_cash_flow=Y2025["operating_cash_flow"] - tolerance - CENT)

    assert tripped(edge, "cash_flow_sum") == []
    assert tripped(beyond, "cash_flow_sum") == [("2025", "")]


def test_reconciliations_are_skipped_without_the_lines_they_need():
    statements = {"2025": {"total_assets": D("100"), "cash": D("5")}}

    assert statement_findings(statements) == []


# --- swings and movements ---------------------------------------------------------------------------

@pytest.mark.parametrize("line", ["accounts_receivable", "inventory", "fixed_assets", "short_term_borrowings",
                                  "long_term_borrowings"])
def test_a_key_account_swinging_beyond_the_threshold_is_flagged_per_account(line):
    previous = Y2024[line]
    edge = book(**{line: previous * (1 + T.swing)})
    beyond = book(**{line: previous * (1 + T.swing) + CENT})
    down = book(**{line: previous * (1 - T.swing) - CENT})

    assert tripped(edge, "account_swing") == []
    assert tripped(beyond, "account_swing") == [("2025", line)]
    assert tripped(down, "account_swing") == [("2025", line)]


def test_a_swing_below_materiality_is_not_flagged():
    # Intangible assets double, but the change is below the materiality share of total assets.
    small = {**Y2024, "intangible_assets": D("10000")}
    change = T.materiality * Y2025["total_assets"]
    statements = {"2024": small, "2025": {**Y2025, "intangible_assets": D("10000") + change}}

    assert tripped(statements, "account_swing") == []
    statements["2025"]["intangible_assets"] += CENT
    assert tripped(statements, "account_swing") == [("2025", "intangible_assets")]


def test_revenue_and_cost_growing_apart_beyond_the_gap():
    # Revenue doubles; cost grows 80 %: a gap of 20 points while the gross margin moves 7.5 points.
    revenue = Y2024["revenue"] * 2
    edge_cost = Y2024["cost_of_sales"] * (2 - T.revenue_cost_gap)
    edge = book(revenue=revenue, cost_of_sales=edge_cost)
    beyond = book(revenue=revenue, cost_of_sales=edge_cost - CENT)

    assert tripped(edge, "revenue_cost") == []
    assert tripped(beyond, "revenue_cost") == [("2025", "")]


def test_a_gross_margin_jump_beyond_the_threshold():
    # Same revenue, cost down: margin 25 % → 35 %, while the growth gap stays under its threshold.
    revenue = Y2024["revenue"]
    previous_margin = (revenue - Y2024["cost_of_sales"]) / revenue
    edge_cost = revenue * (1 - previous_margin - T.gross_margin_jump)
    edge = book(cost_of_sales=edge_cost)
    beyond = book(cost_of_sales=edge_cost - CENT)

    assert tripped(edge, "revenue_cost") == []
    assert tripped(beyond, "revenue_cost") == [("2025", "")]


def test_receivables_growing_faster_than_revenue():
    edge_receivables = Y2024["accounts_receivable"] * (1 + T.receivables_gap)
    edge = book(accounts_receivable=edge_receivables)
    beyond = book(accounts_receivable=edge_receivables + CENT)

    assert tripped(edge, "receivables_vs_revenue") == []
    assert tripped(beyond, "receivables_vs_revenue") == [("2025", "")]


def test_receivables_growing_with_revenue_are_not_flagged():
    statements = book(revenue=Y2024["revenue"] * 2, cost_of_sales=Y2024["cost_of_sales"] * 2,
                      accounts_receivable=Y2024["accounts_receivable"] * 2)

    assert tripped(statements, "receivables_vs_revenue") == []


def test_payables_growing_faster_than_cost():
    edge_payables = Y2024["accounts_payable"] * (1 + T.payables_gap)
    edge = book(accounts_payable=edge_payables)
    beyond = book(accounts_payable=edge_payables + CENT)

    assert tripped(edge, "payables_vs_cost") == []
    assert tripped(beyond, "payables_vs_cost") == [("2025", "")]


def test_non_operating_and_investment_income_carrying_the_profit():
    total = Y2025["total_profit"]
    edge_income = total * T.non_operating_share - Y2025["investment_income"]
    edge = book(non_operating_income=edge_income)
    beyond = book(non_operating_income=edge_income + CENT)

    assert tripped(edge, "non_operating_profit") == []
    assert tripped(beyond, "non_operating_profit") == [("2025", "")]


def test_non_operating_share_is_not_judged_on_a_loss():
    assert tripped(book(total_profit=-100000, non_operating_income=500000), "non_operating_profit") == []


def quarters(q4_profit, others=D("100000")) -> dict:
    base = {"revenue": D("2000000")}
    return {f"2025-Q{q}": {**base, "net_profit": others} for q in (1, 2, 3)} | {
        "2025-Q4": {**base, "net_profit": D(str(q4_profit))}}


def test_profit_concentrated_in_q4():
    # Q4's share of the four quarters' sum: q4 / (q4 + 300,000) = threshold at the edge.
    first_three = 3 * D("100000")
    edge_q4 = first_three * T.q4_share / (1 - T.q4_share)

    assert tripped(quarters(edge_q4), "q4_concentration") == []
    assert tripped(quarters(edge_q4 + CENT), "q4_concentration") == [("2025-Q4", "")]


def test_q4_concentration_needs_the_four_quarters():
    statements = quarters(D("900000"))
    del statements["2025-Q2"]

    assert tripped(statements, "q4_concentration") == []


def years_of_profit(cash_flows) -> dict:
    return {str(2023 + i): {"net_profit": D("825000"), "operating_cash_flow": D(str(ocf))}
            for i, ocf in enumerate(cash_flows)}


def test_profit_above_operating_cash_flow_for_n_years_in_a_row():
    years = T.profit_above_cash_years
    below = D("825000") - CENT

    assert tripped(years_of_profit([below] * (years - 1) + [D("825000")]), "profit_above_cash") == []
    assert tripped(years_of_profit([below] * (years - 1)), "profit_above_cash") == []
    assert tripped(years_of_profit([below] * years), "profit_above_cash") == [(str(2023 + years - 1), "")]


@pytest.mark.parametrize("line", ["paid_in_capital", "capital_reserve"])
def test_a_capital_jump_asks_for_the_capital_verification(line):
    edge_value = Y2024[line] * (1 + T.capital_jump)

    assert tripped(book(**{line: edge_value}), "capital_jump") == []
    assert tripped(book(**{line: edge_value + CENT}), "capital_jump") == [("2025", line)]
    message = [flag_message(f.rule, f.figures) for f in statement_findings(book(**{line: edge_value + CENT}))
               if f.rule == "capital_jump"][0]
    assert "capital verification report" in message


# --- ratios -----------------------------------------------------------------------------------------

# For each ratio: the lines at the edge of its bound, and the line to move by a cent past it.
RATIO_EDGES = {
    "current_ratio": ({"total_current_assets": "1000000", "total_current_liabilities": "1000000"},
                      "total_current_liabilities", CENT),
    "quick_ratio": ({"total_current_assets": "1500000", "inventory": "1000000",
                     "total_current_liabilities": "1000000"}, "inventory", CENT),
    "debt_to_assets": ({"total_liabilities": "7000000", "total_assets": "10000000"}, "total_liabilities", CENT),
    "receivable_days": ({"accounts_receivable": "4500000", "revenue": "9000000"}, "accounts_receivable", CENT),
    "inventory_days": ({"inventory": "3375000", "cost_of_sales": "6750000"}, "inventory", CENT),
    "gross_margin": ({"revenue": "9000000", "cost_of_sales": "9000000"}, "cost_of_sales", CENT),
}


@pytest.mark.parametrize("ratio", list(RATIO_EDGES))
def test_a_ratio_out_of_its_bound(ratio):
    lines, moved, step = RATIO_EDGES[ratio]
    edge = {key: D(value) for key, value in lines.items()}
    limit = RATIO_LIMITS[ratio]
    value = limit.compute(edge, D("360"))
    assert value == (limit.minimum if limit.minimum is not None else limit.maximum)

    assert tripped({"2025": edge}, "ratio_bounds") == []
    assert tripped({"2025": {**edge, moved: edge[moved] + step}}, "ratio_bounds") == [("2025", ratio)]


def test_receivable_days_of_a_quarter_count_ninety_days():
    edge = {"accounts_receivable": D("1125000"), "revenue": D("562500")}  # 2 × 90 = 180 days

    assert tripped({"2025-Q2": edge}, "ratio_bounds") == []
    assert tripped({"2025-Q2": {**edge, "accounts_receivable": D("1125000.01")}}, "ratio_bounds") == [
        ("2025-Q2", "receivable_days")]


# For each ratio with a trend check: last period's lines and this period's at the edge of the step.
TREND_EDGES = {
    "current_ratio": ({"total_current_assets": "2000000", "total_current_liabilities": "1000000"},
                      {"total_current_assets": "1700000", "total_current_liabilities": "1000000"},
                      "total_current_assets", -CENT),
    "quick_ratio": ({"total_current_assets": "2500000", "inventory": "1000000", "total_current_liabilities": "1000000"},
                    {"total_current_assets": "2500000", "inventory": "1300000", "total_current_liabilities": "1000000"},
                    "inventory", CENT),
    "debt_to_assets": ({"total_liabilities": "4000000", "total_assets": "10000000"},
                       {"total_liabilities": "5000000", "total_assets": "10000000"}, "total_liabilities", CENT),
    "receivable_days": ({"accounts_receivable": "1500000", "revenue": "9000000"},
                        {"accounts_receivable": "2250000", "revenue": "9000000"}, "accounts_receivable", CENT),
    "inventory_days": ({"inventory": "1125000", "cost_of_sales": "6750000"},
                       {"inventory": "1687500", "cost_of_sales": "6750000"}, "inventory", CENT),
}


def test_every_ratio_with_a_trend_check_is_tested():
    assert {key for key, limit in RATIO_LIMITS.items() if limit.worsening is not None} == set(TREND_EDGES)


@pytest.mark.parametrize("ratio", list(TREND_EDGES))
def test_a_ratio_deteriorating_beyond_its_step(ratio):
    before, after, moved, step = TREND_EDGES[ratio]
    before = {key: D(value) for key, value in before.items()}
    after = {key: D(value) for key, value in after.items()}
    limit = RATIO_LIMITS[ratio]
    change = limit.compute(after, D("360")) - limit.compute(before, D("360"))
    assert abs(change) == limit.worsening

    assert tripped({"2024": before, "2025": after}, "ratio_trend") == []
    assert tripped({"2024": before, "2025": {**after, moved: after[moved] + step}}, "ratio_trend") == [
        ("2025", ratio)]


def test_a_quarter_compares_with_the_quarter_before():
    before = {"total_liabilities": D("4000000"), "total_assets": D("10000000")}
    after = {"total_liabilities": D("5000000.01"), "total_assets": D("10000000")}

    assert tripped({"2024-Q4": before, "2025-Q1": after}, "ratio_trend") == [("2025-Q1", "debt_to_assets")]
    assert tripped({"2024": before, "2025-Q1": after}, "ratio_trend") == []


# --- the chart and periods -----------------------------------------------------------------------------

def test_only_the_documented_lines_may_be_negative():
    assert line_problem("retained_earnings", D("-1")) is None
    assert line_problem("operating_cash_flow", D("-1")) is None
    assert line_problem("investment_income", D("-1")) is None
    assert line_problem("cash", D("-1")) is not None
    assert line_problem("inventory", D("-0.01")) is not None
    assert line_problem("no_such_line", D("1")) is not None
    assert "cash" not in MAY_BE_NEGATIVE


@pytest.mark.parametrize("text,key,end,previous", [
    ("2025", "2025", dt.date(2025, 12, 31), "2024"),
    ("2025-Q1", "2025-Q1", dt.date(2025, 3, 31), "2024-Q4"),
    ("2025-Q3", "2025-Q3", dt.date(2025, 9, 30), "2025-Q2"),
])
def test_statement_periods(text, key, end, previous):
    period = StatementPeriod.parse(text)
    assert (period.key, period.end, period.previous.key) == (key, end, previous)


@pytest.mark.parametrize("text", ["2025-Q5", "2025-07", "25", "2025Q1", ""])
def test_bad_periods_are_refused(text):
    with pytest.raises(ValueError):
        StatementPeriod.parse(text)


# --- the service that stores statements and keeps the flags --------------------------------------------

@pytest.fixture
def company(branch, rm):
    return ClientFactory(client_no="C-CORP", client_type=Client.Type.CORPORATE, branch=branch, rm=rm)


def store(company, statements, by=None):
    return services.statements_replace(
        items=[services.StatementInput(company, period, lines) for period, lines in statements.items()], by=by)


@pytest.mark.django_db
def test_storing_statements_runs_the_checks(company):
    stored = store(company, book(accounts_receivable="3000000"))

    assert stored.created == 2
    assert FinancialStatement.objects.get(client=company, period="2025").kind == "year"
    flag = StatementFlag.objects.get(client=company, rule="account_swing", subject="accounts_receivable")
    assert flag.status == StatementFlag.Status.OPEN
    assert flag.figures["previous"] == "1500000.00" and flag.figures["current"] == "3000000.00"
    assert flag.history.first().history_change_reason == "Raised by the statement checks"


@pytest.mark.django_db
def test_a_rerun_keeps_the_explanation_updates_figures_and_deletes_what_no_longer_trips(company, rm):
    store(company, book(accounts_receivable="3000000", inventory="2000000"))
    receivables = StatementFlag.objects.get(client=company, subject="accounts_receivable")
    services.statement_flag_explain(flag=receivables, status=StatementFlag.Status.EXPLAINED,
                                    explanation="New distributor contract, invoices seen.", by=rm.user)

    store(company, {"2025": {**Y2025, "accounts_receivable": D("3100000")}})

    receivables.refresh_from_db()
    assert receivables.status == StatementFlag.Status.EXPLAINED
    assert receivables.explanation == "New distributor contract, invoices seen."
    assert receivables.figures["current"] == "3100000.00"
    assert not StatementFlag.objects.filter(client=company, subject="inventory").exists()
    assert StatementFlag.history.filter(subject="inventory", history_type="-").exists()


@pytest.mark.django_db
def test_re_storing_a_period_replaces_its_lines(company):
    store(company, {"2025": {"cash": D("1"), "inventory": D("2")}})
    store(company, {"2025": {"cash": D("5")}})

    statement = FinancialStatement.objects.get(client=company, period="2025")
    assert dict(statement.entries.values_list("line", "amount")) == {"cash": D("5.00")}
    assert FinancialStatement.objects.filter(client=company).count() == 1


@pytest.mark.django_db
def test_statements_of_an_individual_client_are_refused(branch, rm):
    person = ClientFactory(client_type=Client.Type.INDIVIDUAL, branch=branch, rm=rm)

    with pytest.raises(ApplicationError):
        store(person, {"2025": {"cash": D("1")}})
    assert not FinancialStatement.objects.exists()


@pytest.mark.django_db
def test_a_negative_cash_balance_or_an_unfinished_period_is_refused(company):
    with pytest.raises(ApplicationError) as negative:
        store(company, {"2025": {"cash": D("-1")}})
    assert "cash" in negative.value.extra["problems"]
    future = str(timezone.localdate().year + 1)
    with pytest.raises(ApplicationError) as unfinished:
        store(company, {future: {"cash": D("1")}})
    assert "period" in unfinished.value.extra["problems"]
    assert not StatementEntry.objects.exists()


@pytest.mark.django_db
def test_explaining_needs_a_note_and_a_closing_status(company, rm):
    store(company, book(accounts_receivable="3000000"))
    flag = StatementFlag.objects.get(client=company, rule="account_swing")

    with pytest.raises(ApplicationError):
        services.statement_flag_explain(flag=flag, status=StatementFlag.Status.ACCEPTED, explanation="  ", by=rm.user)
    with pytest.raises(ApplicationError):
        services.statement_flag_explain(flag=flag, status=StatementFlag.Status.OPEN, explanation="x", by=rm.user)
    services.statement_flag_explain(flag=flag, status=StatementFlag.Status.ESCALATED,
                                    explanation="Sent to credit risk.", by=rm.user)

    flag.refresh_from_db()
    assert (flag.status, flag.explained_by) == (StatementFlag.Status.ESCALATED, rm.user)
    last = flag.history.first()
    assert last.history_user == rm.user
    assert last.history_change_reason == "Status Open → Escalated"
    assert last.prev_record.status == StatementFlag.Status.OPEN


@pytest.mark.django_db
def test_the_check_run_costs_a_fixed_number_of_queries(branch, rm, django_assert_max_num_queries):
    companies = [ClientFactory(client_type=Client.Type.CORPORATE, branch=branch, rm=rm) for _ in range(5)]
    items = [services.StatementInput(c, period, lines) for c in companies
             for period, lines in book(accounts_receivable="3000000").items()]

    with django_assert_max_num_queries(20):
        services.statements_replace(items=items, by=None)
    assert StatementFlag.objects.filter(rule="account_swing").count() == 5


def test_the_readme_documents_every_line_and_check():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Financial statements: chart and checks"):]

    for line in StatementLine.values:
        assert f"`{line}`" in section
    for rule in RULES:
        assert f"`{rule}`" in section
