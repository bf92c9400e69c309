"""Client profit contribution engine (DOMAIN 2.2)."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db.models.expressions import RawSQL

from clients.contribution import (
    ContributionMethod,
    contribution_annotate_volume,
    contribution_components,
    contribution_parameters_resolve,
    contribution_recompute,
    contribution_total_sum,
    contribution_values,
)
from clients.models import BranchMonthCost, ClientContribution, ContributionParameter, MonthlyBusiness
from core.money import UNROUNDED
from rmportal.errors import ApplicationError
from tests.factories import ClientFactory, MonthlyBusinessFactory

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)
D = Decimal

EXAMPLE_PARAMETERS = {"tax_rate": "0.06", "ftp_loan_1y_3y": "0.029", "ftp_deposit": "0.02",
                      "capital_ratio": "0.105", "cost_of_capital": "0.10"}
EXAMPLE_MONTHLY = {
    "loan_avg_balance": D("1200000"), "loan_interest_income": D("4500"), "loan_accounts": 1,
    "loan_term": "1y_3y",
    "deposit_avg_balance": D("500000"), "deposit_interest_expense": D("250"), "deposit_accounts": 2,
    "wm_income": D("1200"), "wm_expense": D("300"), "wm_tx_count": 3, "wm_sales": D("50000"),
    "card_count": 2, "card_deposit_income": D("20"), "card_overdraft_income": D("150"),
    "card_fee_income": D("30"), "card_annual_fee_income": D("10"), "card_rebate_income": D("15"),
    "insurance_sales": D("10000"), "fund_sales": D("20000"), "bond_sales": D("5000"),
}


def set_parameters(branch, month, **values):
    """Parameter rows of ``branch`` (None: bank-wide) for ``month``."""
    for key, value in values.items():
        ContributionParameter.objects.update_or_create(branch=branch, month=month, key=key,
                                                       defaults={"value": D(value)})


def stored(client, month=JAN):
    return ClientContribution.objects.get(client=client, month=month)


@pytest.fixture
def example(branch, rm):
    """The worked example of DOMAIN 2.2. A second client of the branch brings the branch-month to
    4 loan accounts, 4 deposit accounts, 10 WM transactions and 5 cards, so the planned costs
    800 / 120 / 100 / 50 give the example's unit costs 200 / 30 / 10 / 10."""
    client = ClientFactory(branch=branch, rm=rm)
    MonthlyBusinessFactory(client=client, month=JAN, **EXAMPLE_MONTHLY)
    neighbour = ClientFactory(branch=branch, rm=rm)
    MonthlyBusinessFactory(client=neighbour, month=JAN, loan_accounts=3, deposit_accounts=2,
                           wm_tx_count=7, card_count=3)
    set_parameters(None, JAN, **EXAMPLE_PARAMETERS)
    set_parameters(branch, JAN, cost_loan="800", cost_deposit="120", cost_wm="100", cost_card="50")
    return client


def test_worked_example_unit_costs_are_planned_cost_over_the_branch_month_counts(example, branch):
    contribution_recompute(months=[JAN])

    costs = BranchMonthCost.objects.get(branch=branch, month=JAN)
    assert (costs.loan_accounts, costs.deposit_accounts, costs.wm_tx_count, costs.card_count) == (4, 4, 10, 5)
    assert (costs.unit_cost_loan, costs.unit_cost_deposit, costs.unit_cost_wm, costs.unit_cost_card) == (
        D("200"), D("30"), D("10"), D("10"))


def test_worked_example_stores_each_rounded_component(example, branch):
    written = contribution_recompute(months=[JAN])

    row = stored(example)
    assert written == 2
    assert row.branch_id == branch.pk
    assert (row.loan_revenue, row.deposit_revenue, row.wm_revenue, row.card_revenue) == (
        D("1330.00"), D("583.33"), D("828.00"), D("225.00"))
    assert (row.loan_profit, row.deposit_profit, row.wm_profit, row.card_profit) == (
        D("1130.00"), D("523.33"), D("798.00"), D("205.00"))
    assert row.capital_charge == D("1050.00")
    assert row.volume == D("1785000.00")


def test_worked_example_totals_of_each_method(example):
    contribution_recompute(months=[JAN])
    row = stored(example)

    assert contribution_components(row, ContributionMethod.PROFIT) == {
        "loan": D("1130.00"), "deposit": D("523.33"), "wm": D("798.00"), "card": D("205.00"),
        "total": D("2656.33")}
    assert contribution_components(row, ContributionMethod.REVENUE) == {
        "loan": D("1330.00"), "deposit": D("583.33"), "wm": D("828.00"), "card": D("225.00"),
        "total": D("2966.33")}
    assert contribution_components(row, ContributionMethod.EVA) == {
        "loan": D("80.00"), "deposit": D("523.33"), "wm": D("798.00"), "card": D("205.00"),
        "total": D("1606.33"), "capital_charge": D("1050.00")}


def test_volume_method_splits_balances_and_sales(example):
    contribution_recompute(months=[JAN])

    expected = {"loan": D("1200000.00"), "deposit": D("500000.00"), "wm": D("85000.00"),
                "card": D("0"), "total": D("1785000.00")}
    assert contribution_components(stored(example), 1) == expected
    annotated = contribution_annotate_volume(ClientContribution.objects.filter(client=example)).get()
    assert contribution_components(annotated, 1) == expected


def test_volume_components_from_annotated_rows_need_no_query(example, django_assert_num_queries):
    contribution_recompute(months=[JAN])
    rows = list(contribution_annotate_volume(ClientContribution.objects.all()))

    with django_assert_num_queries(0):
        totals = [contribution_components(row, ContributionMethod.VOLUME)["total"] for row in rows]
    assert sorted(totals) == [D("0.00"), D("1785000.00")]


def test_unknown_method_is_refused(example):
    contribution_recompute(months=[JAN])

    with pytest.raises(ApplicationError):
        contribution_components(stored(example), 5)


@pytest.mark.parametrize("method, total", [(1, "1785000.00"), (2, "2966.33"), (3, "2656.33"), (4, "1606.33")])
def test_total_sum_aggregates_a_method_over_rows(example, method, total):
    contribution_recompute(months=[JAN])

    # the neighbour has no amounts: 0 revenue, only the unit costs of its 3/2/7/3 counts
    neighbour_profit = -(3 * 200 + 2 * 30 + 7 * 10 + 3 * 10)
    expected = D(total) + (neighbour_profit if method in (3, 4) else 0)
    assert ClientContribution.objects.aggregate(total=contribution_total_sum(method))["total"] == expected


def test_total_sum_over_no_rows_is_zero():
    assert ClientContribution.objects.aggregate(total=contribution_total_sum(3))["total"] == D("0.00")


def test_loan_without_term_has_no_ftp(branch, rm):
    set_parameters(None, JAN, ftp_loan_1y_3y="0.029", ftp_loan_le6m="0.02")
    client = ClientFactory(branch=branch, rm=rm)
    MonthlyBusinessFactory(client=client, month=JAN, loan_avg_balance=D("1200000"),
                           loan_interest_income=D("4500"), loan_term="")

    contribution_recompute(months=[JAN])

    assert stored(client).loan_revenue == D("4500.00")


@pytest.mark.parametrize("term, key", [("le6m", "ftp_loan_le6m"), ("6m_1y", "ftp_loan_6m_1y"),
                                       ("1y_3y", "ftp_loan_1y_3y"), ("3y_5y", "ftp_loan_3y_5y"),
                                       ("gt5y", "ftp_loan_gt5y")])
def test_loan_ftp_follows_the_loan_term(branch, rm, term, key):
    set_parameters(None, JAN, **{k: "0.01" for k in ("ftp_loan_le6m", "ftp_loan_6m_1y", "ftp_loan_1y_3y",
                                                    "ftp_loan_3y_5y", "ftp_loan_gt5y")})
    set_parameters(None, JAN, **{key: "0.06"})
    client = ClientFactory(branch=branch, rm=rm)
    MonthlyBusinessFactory(client=client, month=JAN, loan_avg_balance=D("1000"), loan_term=term)

    contribution_recompute(months=[JAN])

    assert stored(client).loan_revenue == D("-5.00")


def test_unit_costs_are_zero_when_the_branch_month_has_no_accounts(branch, rm):
    set_parameters(branch, JAN, cost_loan="800", cost_deposit="120", cost_wm="100", cost_card="50")
    client = ClientFactory(branch=branch, rm=rm)
    MonthlyBusinessFactory(client=client, month=JAN, card_fee_income=D("12.34"))

    contribution_recompute(months=[JAN])

    costs = BranchMonthCost.objects.get(branch=branch, month=JAN)
    assert (costs.unit_cost_loan, costs.unit_cost_deposit, costs.unit_cost_wm, costs.unit_cost_card) == (0, 0, 0, 0)
    assert stored(client).card_profit == stored(client).card_revenue == D("12.34")


def test_unit_costs_count_only_the_clients_of_the_branch(branch, sister_branch, rm):
    set_parameters(None, JAN, cost_card="90")
    mine = ClientFactory(branch=branch, rm=rm)
    MonthlyBusinessFactory(client=mine, month=JAN, card_count=3)
    MonthlyBusinessFactory(client=ClientFactory(branch=sister_branch), month=JAN, card_count=6)

    contribution_recompute(months=[JAN])

    assert BranchMonthCost.objects.get(branch=branch, month=JAN).unit_cost_card == D("30")
    assert BranchMonthCost.objects.get(branch=sister_branch, month=JAN).unit_cost_card == D("15")
    assert stored(mine).card_profit == D("-90.00")


def test_unit_costs_are_not_rounded(branch, rm):
    set_parameters(None, JAN, cost_card="100")
    two_cards, one_card = ClientFactory(branch=branch, rm=rm), ClientFactory(branch=branch, rm=rm)
    MonthlyBusinessFactory(client=two_cards, month=JAN, card_count=2)
    MonthlyBusinessFactory(client=one_card, month=JAN, card_count=1)

    contribution_recompute(months=[JAN])

    assert BranchMonthCost.objects.get(branch=branch, month=JAN).unit_cost_card == D("33.333333333333")
    # 2 × 33.333… = 66.666… → 66.67 (a unit cost rounded to 33.33 first would give 66.66)
    assert stored(two_cards).card_profit == D("-66.67")
    assert stored(one_card).card_profit == D("-33.33")


def test_components_round_half_up_and_totals_add_rounded_components(branch, rm):
    set_parameters(None, JAN, ftp_deposit="0.02", tax_rate="0.06")
    up = ClientFactory(branch=branch, rm=rm)
    # deposit 3 × 0.02 / 12 = 0.005 → 0.01; wm 0.75 − 0.75 × 0.06 = 0.705 → 0.71
    MonthlyBusinessFactory(client=up, month=JAN, deposit_avg_balance=D("3"), wm_income=D("0.75"))
    down = ClientFactory(branch=branch, rm=rm)
    # deposit 0.005 − 0.01 = −0.005 → −0.01 (half away from zero)
    MonthlyBusinessFactory(client=down, month=JAN, deposit_avg_balance=D("3"),
                           deposit_interest_expense=D("0.01"))

    contribution_recompute(months=[JAN])

    row = stored(up)
    assert (row.deposit_revenue, row.wm_revenue) == (D("0.01"), D("0.71"))
    # unrounded 0.005 + 0.705 = 0.71; the total adds the rounded components
    assert contribution_components(row, ContributionMethod.REVENUE)["total"] == D("0.72")
    assert stored(down).deposit_profit == D("-0.01")


def test_capital_charge_is_rounded_half_up(branch, rm):
    set_parameters(None, JAN, capital_ratio="0.1", cost_of_capital="0.1")
    client = ClientFactory(branch=branch, rm=rm)
    MonthlyBusinessFactory(client=client, month=JAN, loan_avg_balance=D("6.6"))  # 0.0055

    contribution_recompute(months=[JAN])

    assert stored(client).capital_charge == D("0.01")


# --- parameters ----------------------------------------------------------------------------

def test_branch_parameter_overrides_the_bank_wide_one(branch, sister_branch):
    set_parameters(None, JAN, tax_rate="0.06")
    set_parameters(branch, JAN, tax_rate="0.05")

    resolved = contribution_parameters_resolve(months=[JAN], branch_ids=[branch.pk, sister_branch.pk])

    assert resolved[(JAN, branch.pk)]["tax_rate"] == D("0.05")
    assert resolved[(JAN, sister_branch.pk)]["tax_rate"] == D("0.06")


def test_missing_month_falls_back_to_the_latest_earlier_month(branch):
    set_parameters(None, JAN, tax_rate="0.06", ftp_deposit="0.02")
    set_parameters(None, FEB, tax_rate="0.07")
    set_parameters(None, dt.date(2026, 4, 1), tax_rate="0.09")

    resolved = contribution_parameters_resolve(months=[MAR], branch_ids=[branch.pk])[(MAR, branch.pk)]

    assert resolved["tax_rate"] == D("0.07")
    assert resolved["ftp_deposit"] == D("0.02")


def test_earlier_branch_row_wins_over_bank_row_of_the_same_month(branch):
    set_parameters(None, JAN, tax_rate="0.06")
    set_parameters(branch, JAN, tax_rate="0.05")

    assert contribution_parameters_resolve(months=[MAR], branch_ids=[branch.pk])[(MAR, branch.pk)][
        "tax_rate"] == D("0.05")


def test_later_bank_row_wins_over_an_older_branch_row(branch):
    set_parameters(branch, JAN, tax_rate="0.05")
    set_parameters(None, FEB, tax_rate="0.07")

    resolved = contribution_parameters_resolve(months=[JAN, MAR], branch_ids=[branch.pk])

    assert resolved[(JAN, branch.pk)]["tax_rate"] == D("0.05")
    assert resolved[(MAR, branch.pk)]["tax_rate"] == D("0.07")


def test_key_without_any_value_is_zero(branch):
    set_parameters(None, FEB, tax_rate="0.06")  # later than the month asked for

    resolved = contribution_parameters_resolve(months=[JAN], branch_ids=[branch.pk])[(JAN, branch.pk)]

    assert resolved["tax_rate"] == 0
    assert resolved["cost_of_capital"] == 0


def test_other_branches_rows_do_not_apply(branch, sister_branch):
    set_parameters(sister_branch, JAN, tax_rate="0.05")

    assert contribution_parameters_resolve(months=[JAN], branch_ids=[branch.pk])[(JAN, branch.pk)][
        "tax_rate"] == 0


def test_recompute_uses_the_resolved_branch_parameters(branch, sister_branch, rm):
    set_parameters(None, JAN, tax_rate="0.10")
    set_parameters(sister_branch, JAN, tax_rate="0.20")
    mine = ClientFactory(branch=branch, rm=rm)
    theirs = ClientFactory(branch=sister_branch)
    for client in (mine, theirs):
        MonthlyBusinessFactory(client=client, month=MAR, wm_income=D("100"))

    contribution_recompute(months=[MAR])

    assert stored(mine, MAR).wm_revenue == D("90.00")
    assert stored(theirs, MAR).wm_revenue == D("80.00")


# --- recomputing ---------------------------------------------------------------------------

def test_recompute_after_a_parameter_change_updates_the_rows(example):
    contribution_recompute(months=[JAN])
    set_parameters(None, JAN, tax_rate="0.05")

    written = contribution_recompute(months=[JAN])

    row = stored(example)
    assert written == 2
    assert ClientContribution.objects.count() == 2
    assert row.loan_revenue == D("1375.00")  # 4,500 × 0.95 − 2,900
    assert row.wm_revenue == D("840.00")


def test_recompute_after_monthly_data_is_replaced_drops_removed_rows(branch, rm):
    kept, removed = ClientFactory(branch=branch, rm=rm), ClientFactory(branch=branch, rm=rm)
    for client in (kept, removed):
        MonthlyBusinessFactory(client=client, month=JAN, card_fee_income=D("10"))
    contribution_recompute(months=[JAN])

    MonthlyBusiness.objects.filter(month=JAN).delete()
    MonthlyBusinessFactory(client=kept, month=JAN, card_fee_income=D("25"))
    contribution_recompute(months=[JAN])

    assert list(ClientContribution.objects.values_list("client_id", "card_revenue")) == [(kept.pk, D("25.00"))]


def test_recompute_rewrites_only_the_rows_that_changed(branch, rm):
    """Unchanged rows keep their physical place (PostgreSQL ctid): a recompute after late data
    does not rewrite the whole month."""
    same, moved = ClientFactory(branch=branch, rm=rm), ClientFactory(branch=branch, rm=rm)
    for client in (same, moved):
        MonthlyBusinessFactory(client=client, month=JAN, card_fee_income=D("10"))
    contribution_recompute(months=[JAN])
    before = dict(ClientContribution.objects.annotate(ctid=RawSQL("ctid::text", [])).values_list("client_id", "ctid"))

    MonthlyBusiness.objects.filter(client=moved).update(card_fee_income=D("11"))
    contribution_recompute(months=[JAN])

    after = dict(ClientContribution.objects.annotate(ctid=RawSQL("ctid::text", [])).values_list("client_id", "ctid"))
    assert after[same.pk] == before[same.pk]
    assert after[moved.pk] != before[moved.pk]
    assert stored(moved).card_revenue == D("11.00")


def test_recompute_of_some_branches_leaves_the_others_alone(branch, sister_branch, rm):
    mine, theirs = ClientFactory(branch=branch, rm=rm), ClientFactory(branch=sister_branch)
    for client in (mine, theirs):
        MonthlyBusinessFactory(client=client, month=JAN, card_fee_income=D("10"))
    contribution_recompute(months=[JAN])
    MonthlyBusiness.objects.all().update(card_fee_income=D("99"))
    MonthlyBusiness.objects.filter(client=theirs).delete()

    written = contribution_recompute(months=[JAN], branch_ids=[branch.pk])

    assert written == 1
    assert stored(mine).card_revenue == D("99.00")
    assert stored(theirs).card_revenue == D("10.00")  # not recomputed, not deleted


def test_recompute_leaves_other_months_alone(branch, rm):
    client = ClientFactory(branch=branch, rm=rm)
    MonthlyBusinessFactory(client=client, month=JAN, card_fee_income=D("10"))
    MonthlyBusinessFactory(client=client, month=FEB, card_fee_income=D("20"))
    contribution_recompute(months=[JAN, FEB])
    MonthlyBusiness.objects.filter(month=JAN).delete()

    contribution_recompute(months=[FEB])

    assert ClientContribution.objects.filter(client=client).count() == 2


def test_client_moved_to_another_branch_counts_there(branch, sister_branch, rm):
    client = ClientFactory(branch=branch, rm=rm)
    MonthlyBusinessFactory(client=client, month=JAN, card_count=1)
    set_parameters(sister_branch, JAN, cost_card="40")
    contribution_recompute(months=[JAN])
    client.branch = sister_branch
    client.save()

    contribution_recompute(months=[JAN], branch_ids=[branch.pk])
    assert not ClientContribution.objects.exists()  # no longer of the recomputed branch
    contribution_recompute(months=[JAN], branch_ids=[sister_branch.pk])

    row = stored(client)
    assert row.branch_id == sister_branch.pk
    assert row.card_profit == D("-40.00")


def test_months_are_taken_as_their_first_day(branch, rm):
    client = ClientFactory(branch=branch, rm=rm)
    MonthlyBusinessFactory(client=client, month=JAN)

    assert contribution_recompute(months=[dt.date(2026, 1, 31)]) == 1
    assert stored(client).month == JAN


def test_recompute_without_months_writes_nothing():
    assert contribution_recompute(months=[]) == 0


def _clients_with_business(branches, count, rm):
    for number in range(count):
        branch = branches[number % len(branches)]
        client = ClientFactory(branch=branch, rm=rm if branch == rm.branch else None)
        for month in (JAN, FEB):
            MonthlyBusinessFactory(client=client, month=month, loan_accounts=1, loan_term="le6m",
                                   loan_avg_balance=D("1000"), card_count=1)


@pytest.mark.parametrize("count", [5, 50])
def test_recompute_runs_a_fixed_number_of_queries(branch, sister_branch, other_branch, rm, count,
                                                  django_assert_max_num_queries):
    set_parameters(None, JAN, tax_rate="0.06", cost_loan="100", cost_card="10")
    set_parameters(branch, FEB, tax_rate="0.05")
    _clients_with_business([branch, sister_branch, other_branch], count, rm)

    # branches, parameters, counts, unit costs, then per month the upsert and a count of the
    # stored rows (nothing stale to delete here), then the RMs' books of both months: an upsert
    # and a stale-row delete (savepoint statements aside)
    with django_assert_max_num_queries(12) as captured:
        assert contribution_recompute(months=[JAN, FEB]) == 2 * count
    statements = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 10


# --- the Python valuation (SQLite's path) gives the cents of the SQL one -----------------------

def test_contribution_values_of_the_worked_example():
    parameters = {key: D(0) for key in ("cost_loan", "cost_deposit", "cost_wm", "cost_card",
                                        "ftp_loan_le6m", "ftp_loan_6m_1y", "ftp_loan_3y_5y", "ftp_loan_gt5y")}
    parameters.update({key: D(value) for key, value in EXAMPLE_PARAMETERS.items()})
    monthly = {**{name: D(0) for name in ("wm_sales", "insurance_sales", "fund_sales", "bond_sales",
                                          "loan_npl_balance")}, **EXAMPLE_MONTHLY}

    values = contribution_values(monthly, parameters, {"loan": D(200), "deposit": D(30), "wm": D(10), "card": D(10)})

    assert values == {
        "volume": D("1785000"), "loan_revenue": D("1330.00"), "deposit_revenue": D("583.33"),
        "wm_revenue": D("828.00"), "card_revenue": D("225.00"), "loan_profit": D("1130.00"),
        "deposit_profit": D("523.33"), "wm_profit": D("798.00"), "card_profit": D("205.00"),
        "capital_charge": D("1050.00")}


HALF_CENT_MONTHS = [
    # loan 782.25 × 0.94 − 120 × 0.029 / 12 = 735.025; capital charge 120 × 0.105 × 0.10 / 12 = 0.105
    {"loan_interest_income": D("782.25"), "loan_avg_balance": D("120"), "loan_term": "1y_3y", "loan_accounts": 1},
    # deposit 603 × 0.02 / 12 = 1.005
    {"deposit_avg_balance": D("603"), "deposit_accounts": 1},
    # WM 782.25 − 656.59 − 46.935 = 78.725, less a third of 100 per transaction
    {"wm_income": D("782.25"), "wm_expense": D("656.59"), "wm_tx_count": 2},
    {"wm_income": D("885.25"), "wm_expense": D("771.46"), "wm_tx_count": 1, "card_fee_income": D("0.10"),
     "card_rebate_income": D("0.20"), "card_count": 3},
    {"loan_interest_income": D("-2.75"), "deposit_avg_balance": D("1809"), "deposit_interest_expense": D("9.99"),
     "loan_term": "gt5y", "loan_avg_balance": D("1000000.01")},
]


def test_python_valuation_gives_the_cents_of_the_sql_valuation(branch, rm):
    """DOMAIN 2.2 in Python with Decimal (SQLite's path) and in SQL (PostgreSQL's) store the same
    cents, also on half cents and with unit costs that are not rounded."""
    clients = [ClientFactory(branch=branch, rm=rm) for _ in HALF_CENT_MONTHS]
    for client, figures in zip(clients, HALF_CENT_MONTHS):
        MonthlyBusinessFactory(client=client, month=JAN, **figures)
    set_parameters(None, JAN, **EXAMPLE_PARAMETERS, ftp_loan_gt5y="0.0415")
    set_parameters(branch, JAN, cost_loan="100", cost_wm="100", cost_card="10", cost_deposit="7")
    contribution_recompute(months=[JAN])
    sql = {row.client_id: row for row in ClientContribution.objects.filter(month=JAN)}

    parameters = contribution_parameters_resolve(months=[JAN], branch_ids=[branch.pk])[(JAN, branch.pk)]
    costs = BranchMonthCost.objects.get(branch=branch, month=JAN)
    unit_costs = {line: UNROUNDED.divide(parameters[f"cost_{line}"], getattr(costs, field))
                  for line, field in (("loan", "loan_accounts"), ("deposit", "deposit_accounts"),
                                      ("wm", "wm_tx_count"), ("card", "card_count"))}
    for monthly in MonthlyBusiness.objects.filter(month=JAN).values():
        values = contribution_values(monthly, parameters, unit_costs)
        assert values == {name: getattr(sql[monthly["client_id"]], name) for name in values}
    assert sql[clients[0].pk].loan_revenue == D("735.03") and sql[clients[0].pk].capital_charge == D("0.11")
    assert sql[clients[1].pk].deposit_revenue == D("1.01")
    assert sql[clients[2].pk].wm_revenue == D("78.73") and sql[clients[3].pk].wm_revenue == D("60.68")
