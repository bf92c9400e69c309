"""The demo bank's credit clients have statements, some clean and some doctored (DOMAIN 2.3)."""
import datetime as dt

import pytest

from clients import demo
from clients.demo_statements import PLANS, company_statements
from clients.models import Client, Employee, FinancialStatement, StatementFlag
from clients.statements import StatementPeriod, statement_findings
from clients.tests.test_seed_demo import SMALL, recompute_calls  # noqa: F401


@pytest.mark.django_db
def test_the_demo_has_clean_and_flagged_credit_clients(recompute_calls):  # noqa: F811
    bank = demo.demo_seed(**SMALL)

    with_statements = set(FinancialStatement.objects.values_list("client_id", flat=True))
    flagged = set(StatementFlag.objects.values_list("client_id", flat=True))
    assert len(with_statements) == len(PLANS)
    assert Client.objects.filter(pk__in=with_statements, client_type=Client.Type.CORPORATE).count() == len(PLANS)
    assert 0 < len(flagged) < len(with_statements)
    # Three years and the last year's quarters: the window ends 2026-10, so 2023–2025.
    assert set(FinancialStatement.objects.values_list("period", flat=True)) == {
        "2023", "2024", "2025", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"}
    assert {"balance_identity", "cash_change", "receivables_vs_revenue", "q4_concentration",
            "non_operating_profit", "capital_jump", "profit_above_cash"} <= set(
        StatementFlag.objects.values_list("rule", flat=True))
    # The demo RM's first corporate clients come first: a clean company, then a doctored one.
    demo_rm = Employee.objects.get(employee_no=bank.logins[2].username)
    book = Client.objects.filter(client_type=Client.Type.CORPORATE, status=Client.Status.ACTIVE,
                                 assignments__rm=demo_rm, assignments__ended_on__isnull=True).order_by("client_no")
    chosen = [c.pk for c in book[:3]]
    assert set(chosen) <= with_statements
    if len(chosen) >= 2:
        assert chosen[0] not in flagged and chosen[1] in flagged


@pytest.mark.parametrize("index", range(len(PLANS)))
def test_each_demo_company_is_deterministic_and_balanced_where_not_doctored(index):
    first, second = company_statements(PLANS[index], 2025), company_statements(PLANS[index], 2025)
    assert first == second
    plan = PLANS[index]
    for period, lines in first.items():
        if plan.inventory_padding and period == StatementPeriod(2025):
            continue
        assert lines["total_assets"] == lines["total_liabilities"] + lines["total_equity"]
    clean = not any((plan.fake_sales_step, plan.inventory_stuffing, plan.non_operating, plan.capital_unpaid,
                     plan.cash_flow_inflation, plan.inventory_padding))
    assert (statement_findings(first) == []) == clean


def test_a_year_is_the_sum_of_its_quarters():
    statements = company_statements(PLANS[0], 2025)
    year = statements[StatementPeriod(2025)]
    quarters = [statements[StatementPeriod(2025, q)] for q in (1, 2, 3, 4)]

    assert year["revenue"] == sum(q["revenue"] for q in quarters)
    assert year["net_change_in_cash"] == sum(q["net_change_in_cash"] for q in quarters)
    assert year["cash"] == quarters[-1]["cash"]
    assert dt.date(2025, 12, 31) == StatementPeriod(2025).end
