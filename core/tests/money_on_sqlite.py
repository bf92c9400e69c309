"""Values contributions and sums money on a fresh SQLite database and prints the figures as JSON.

Run by ``test_money.py`` in a subprocess (the suite itself runs on PostgreSQL):
``DATABASE_URL=sqlite:///… python core/tests/money_on_sqlite.py``. The amounts sit on half-cent
boundaries and sums that floating-point arithmetic gets wrong.
"""
import datetime as dt
import json
import os
import sys
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmportal.settings.base")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from clients.contribution import contribution_recompute, contribution_total_sum  # noqa: E402
from clients.models import BookMonth, ClientContribution, ContributionParameter, MonthlyBusiness, Role  # noqa: E402
from core.money import MoneySum  # noqa: E402
from performance.metrics import rm_metrics  # noqa: E402
from performance.periods import Period  # noqa: E402
from tests.factories import BranchFactory, ClientFactory, EmployeeFactory, MonthlyBusinessFactory  # noqa: E402

JAN = dt.date(2026, 1, 1)

# DOMAIN 2.2's worked example; its neighbour makes the unit costs 200 / 30 / 10 / 10.
EXAMPLE = {
    "loan_avg_balance": D("1200000"), "loan_interest_income": D("4500"), "loan_accounts": 1, "loan_term": "1y_3y",
    "deposit_avg_balance": D("500000"), "deposit_interest_expense": D("250"), "deposit_accounts": 2,
    "wm_income": D("1200"), "wm_expense": D("300"), "wm_tx_count": 3,
    "card_count": 2, "card_deposit_income": D("20"), "card_overdraft_income": D("150"),
    "card_fee_income": D("30"), "card_annual_fee_income": D("10"), "card_rebate_income": D("15"),
}
# WM revenue on a half cent at a 6 % tax: 782.25 − 656.59 − 46.935 = 78.725 and
# 885.25 − 771.46 − 53.115 = 60.675; in floats both come out a cent short.
HALF_CENTS = [
    {"wm_income": D("782.25"), "wm_expense": D("656.59"), "fund_sales": D("0.10"), "card_fee_income": D("0.10")},
    {"wm_income": D("885.25"), "wm_expense": D("771.46"), "fund_sales": D("0.20"), "card_fee_income": D("0.20")},
]


def main() -> None:
    call_command("migrate", verbosity=0)
    assert connection.vendor == "sqlite", connection.vendor

    example_branch, branch = BranchFactory(code="B01"), BranchFactory(code="B02")
    example_rm = EmployeeFactory(branch=example_branch, role=Role.RM)
    rm = EmployeeFactory(branch=branch, role=Role.RM)
    example = ClientFactory(branch=example_branch, rm=example_rm)
    MonthlyBusinessFactory(client=example, month=JAN, **EXAMPLE)
    MonthlyBusinessFactory(client=ClientFactory(branch=example_branch, rm=example_rm), month=JAN,
                           loan_accounts=3, deposit_accounts=2, wm_tx_count=7, card_count=3)
    for figures in HALF_CENTS:
        MonthlyBusinessFactory(client=ClientFactory(branch=branch, rm=rm), month=JAN, **figures)
    bank_wide = {"tax_rate": "0.06", "ftp_loan_1y_3y": "0.029", "ftp_deposit": "0.02",
                 "capital_ratio": "0.105", "cost_of_capital": "0.10"}
    costs = {"cost_loan": "800", "cost_deposit": "120", "cost_wm": "100", "cost_card": "50"}
    for key, value in bank_wide.items():
        ContributionParameter.objects.create(branch=None, month=JAN, key=key, value=D(value))
    for key, value in costs.items():
        ContributionParameter.objects.create(branch=example_branch, month=JAN, key=key, value=D(value))

    contribution_recompute(months=[JAN])

    row = ClientContribution.objects.get(client=example, month=JAN)
    half = ClientContribution.objects.filter(branch=branch).order_by("client__client_no")
    metrics = rm_metrics([rm.pk], Period.parse("2026-01"), contribution_method=3)[rm.pk]
    figures = {
        "example": {name: str(getattr(row, name)) for name in (
            "loan_profit", "deposit_profit", "wm_profit", "card_profit", "capital_charge",
            "loan_revenue", "deposit_revenue", "wm_revenue", "card_revenue")},
        "wm_revenue": [str(c.wm_revenue) for c in half],
        "wm_profit": [str(c.wm_profit) for c in half],
        "profit_sum": str(ClientContribution.objects.filter(branch=branch)
                          .aggregate(total=contribution_total_sum(3))["total"]),
        "fund_sales_sum": str(MonthlyBusiness.objects.filter(client__branch=branch)
                              .aggregate(total=MoneySum("fund_sales"))["total"]),
        "book_profit": str(BookMonth.objects.get(rm=rm, month=JAN).profit),
        "metric_fund_sales": str(metrics["fund_sales"]),
        "metric_contribution": str(metrics["client_contribution"]),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
