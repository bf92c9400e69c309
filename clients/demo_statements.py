"""Financial statements of a few corporate credit clients of the demo bank (DOMAIN 2.3).

Eight corporate clients get three years of yearly statements and the last year's four quarters.
Each company is simulated quarter by quarter so that its statements hold together: the balance
sheet balances, retained earnings roll forward with the profit, cash moves by the three cash
flows, and a year is its four quarters. Two companies stay clean; the others are doctored the
ways seed article 11 describes, so that the checks have something to find:

- fake credit sales that never come in: receivables outgrow revenue and profit outruns cash;
- Q4 profit stuffing: closing inventory inflated to cut the cost of sales after a weak year;
- non-operating income (a year-end subsidy or asset sale) carrying a thin operating profit;
- a capital increase booked against a receivable from the shareholder, never paid in;
- a cash-flow statement that shows more cash than the balance sheet holds;
- a balance sheet that does not balance (inventory padded after the totals were struck).

Deterministic: no randomness, every amount follows from the company's plan; amounts are Decimal
and rounded to the cent line by line, with totals summed from the rounded lines.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from clients import services
from clients.models import Assignment, Client
from clients.models import StatementLine as L
from clients.statements import StatementPeriod
from core.money import money_round

D = Decimal
SEASON = (D("0.96"), D("1.00"), D("1.00"), D("1.04"))
DEPRECIATION = D("0.025")  # of fixed assets, per quarter
INTEREST = D("0.012")  # on borrowings, per quarter
INCOME_TAX = D("0.25")
PAYOUT = D("0.30")  # of the previous year's net profit, paid in Q2
STATEMENT_CLIENTS = 8


@dataclass(frozen=True)
class CompanyPlan:
    """How one company's quarters go; the doctoring knobs are zero for a clean company. Shares are
    of the quarter's genuine revenue unless said otherwise; quarters are numbered 0–11 over the
    three years."""

    revenue: D  # genuine revenue of the first quarter
    growth: D = D("0.02")  # per quarter
    margin: D = D("0.25")  # gross margin
    fake_sales_step: D = D("0")  # fake credit sales: this share × (quarter number + 1)
    inventory_stuffing: dict[int, D] = field(default_factory=dict)  # cost of sales moved into inventory
    non_operating: dict[int, D] = field(default_factory=dict)  # extra non-operating income
    capital_unpaid: dict[int, D] = field(default_factory=dict)  # capital increase, share of paid-in capital
    cash_flow_inflation: D = D("0")  # last year's OCF and net cash change raised by this share of its revenue
    inventory_padding: D = D("0")  # last year's inventory and asset totals raised by this share of total assets


PLANS: tuple[CompanyPlan, ...] = (
    CompanyPlan(revenue=D("18000000")),  # clean
    CompanyPlan(revenue=D("42000000"), growth=D("0.015"), margin=D("0.22")),  # clean
    CompanyPlan(revenue=D("25000000"), fake_sales_step=D("0.02")),
    CompanyPlan(revenue=D("30000000"), margin=D("0.18"), inventory_stuffing={11: D("0.20")}),
    CompanyPlan(revenue=D("36000000"), margin=D("0.15"), non_operating={11: D("0.10")}),
    CompanyPlan(revenue=D("15000000"), capital_unpaid={10: D("0.60")}),
    CompanyPlan(revenue=D("22000000"), cash_flow_inflation=D("0.05")),
    CompanyPlan(revenue=D("28000000"), inventory_padding=D("0.05")),
)


def _q(value: D) -> D:
    return money_round(value)


def _balance_totals(b: dict) -> None:
    b[L.TOTAL_CURRENT_ASSETS] = (b[L.CASH] + b[L.NOTES_RECEIVABLE] + b[L.ACCOUNTS_RECEIVABLE] + b[L.PREPAYMENTS]
                                 + b[L.OTHER_RECEIVABLES] + b[L.INVENTORY] + b[L.OTHER_CURRENT_ASSETS])
    b[L.TOTAL_ASSETS] = (b[L.TOTAL_CURRENT_ASSETS] + b[L.LONG_TERM_INVESTMENTS] + b[L.FIXED_ASSETS]
                         + b[L.CONSTRUCTION_IN_PROGRESS] + b[L.INTANGIBLE_ASSETS] + b[L.OTHER_NON_CURRENT_ASSETS])
    b[L.TOTAL_CURRENT_LIABILITIES] = (b[L.SHORT_TERM_BORROWINGS] + b[L.NOTES_PAYABLE] + b[L.ACCOUNTS_PAYABLE]
                                      + b[L.ADVANCES_FROM_CUSTOMERS] + b[L.OTHER_PAYABLES])
    b[L.TOTAL_LIABILITIES] = (b[L.TOTAL_CURRENT_LIABILITIES] + b[L.LONG_TERM_BORROWINGS]
                              + b[L.OTHER_NON_CURRENT_LIABILITIES])
    b[L.TOTAL_EQUITY] = b[L.PAID_IN_CAPITAL] + b[L.CAPITAL_RESERVE] + b[L.SURPLUS_RESERVE] + b[L.RETAINED_EARNINGS]


def _working_balances(revenue: D, cost: D) -> dict:
    """Balances that follow the quarter's trade: 60 days of revenue and of cost, 45 of cost …"""
    return {
        L.ACCOUNTS_RECEIVABLE: _q(revenue * 60 / 90), L.INVENTORY: _q(cost * 60 / 90),
        L.PREPAYMENTS: _q(revenue * D("0.02")), L.OTHER_RECEIVABLES: _q(revenue * D("0.01")),
        L.ACCOUNTS_PAYABLE: _q(cost * 45 / 90), L.ADVANCES_FROM_CUSTOMERS: _q(revenue * D("0.03")),
        L.OTHER_PAYABLES: _q(revenue * D("0.02")),
    }


WORKING_ASSETS = (L.NOTES_RECEIVABLE, L.ACCOUNTS_RECEIVABLE, L.PREPAYMENTS, L.OTHER_RECEIVABLES, L.INVENTORY,
                  L.OTHER_CURRENT_ASSETS)
WORKING_LIABILITIES = (L.NOTES_PAYABLE, L.ACCOUNTS_PAYABLE, L.ADVANCES_FROM_CUSTOMERS, L.OTHER_PAYABLES)
INVESTED = (L.LONG_TERM_INVESTMENTS, L.CONSTRUCTION_IN_PROGRESS, L.INTANGIBLE_ASSETS, L.OTHER_NON_CURRENT_ASSETS)
FINANCING = (L.SHORT_TERM_BORROWINGS, L.LONG_TERM_BORROWINGS, L.OTHER_NON_CURRENT_LIABILITIES, L.PAID_IN_CAPITAL,
             L.CAPITAL_RESERVE)
FLOW_LINES = (L.REVENUE, L.COST_OF_SALES, L.TAXES_AND_SURCHARGES, L.SELLING_EXPENSES, L.ADMIN_EXPENSES,
              L.FINANCIAL_EXPENSES, L.INVESTMENT_INCOME, L.OPERATING_PROFIT, L.NON_OPERATING_INCOME,
              L.NON_OPERATING_EXPENSES, L.TOTAL_PROFIT, L.INCOME_TAX, L.NET_PROFIT, L.PROFIT_DISTRIBUTED,
              L.OPERATING_CASH_FLOW, L.INVESTING_CASH_FLOW, L.FINANCING_CASH_FLOW, L.NET_CHANGE_IN_CASH)


def _opening(plan: CompanyPlan) -> dict:
    """The balance sheet at the end of the year before the first: it balances by construction."""
    r = plan.revenue
    revenue = _q(r * SEASON[3] / (1 + plan.growth))
    b = dict.fromkeys(L.values, D("0.00"))
    b.update(_working_balances(revenue, _q(revenue * (1 - plan.margin))))
    b.update({L.CASH: _q(r * D("0.8")), L.LONG_TERM_INVESTMENTS: _q(r * D("0.5")), L.FIXED_ASSETS: _q(r * 2),
              L.INTANGIBLE_ASSETS: _q(r * D("0.3")), L.SHORT_TERM_BORROWINGS: _q(r * D("0.6")),
              L.LONG_TERM_BORROWINGS: _q(r * D("0.8")), L.PAID_IN_CAPITAL: _q(r * D("1.5")),
              L.CAPITAL_RESERVE: _q(r * D("0.2")), L.SURPLUS_RESERVE: _q(r * D("0.15"))})
    b[L.RETAINED_EARNINGS] = D("0.00")
    _balance_totals(b)
    b[L.RETAINED_EARNINGS] = b[L.TOTAL_ASSETS] - b[L.TOTAL_LIABILITIES] - b[L.TOTAL_EQUITY]
    _balance_totals(b)
    return b


def company_quarters(plan: CompanyPlan, first_year: int) -> list[tuple[StatementPeriod, dict]]:
    """Twelve quarterly statements from ``first_year``'s Q1, each with every line of the chart."""
    before = _opening(plan)
    fake_total = stuffed_total = unpaid_total = D("0")
    year_profit = {first_year - 1: D("0")}  # the year before is not simulated: no dividend in the first
    quarters = []
    for t in range(12):
        year, quarter = first_year + t // 4, t % 4 + 1
        genuine = _q(plan.revenue * (1 + plan.growth) ** t * SEASON[quarter - 1])
        fake = _q(genuine * plan.fake_sales_step * (t + 1))
        fake_total += fake
        revenue = genuine + fake
        cost = _q(genuine * (1 - plan.margin))
        stuffing = _q(genuine * plan.inventory_stuffing.get(t, D("0")))
        s = {L.REVENUE: revenue, L.COST_OF_SALES: cost - stuffing,
             L.TAXES_AND_SURCHARGES: _q(revenue * D("0.01")), L.SELLING_EXPENSES: _q(genuine * D("0.05")),
             L.ADMIN_EXPENSES: _q(genuine * D("0.06")),
             L.FINANCIAL_EXPENSES: _q((before[L.SHORT_TERM_BORROWINGS] + before[L.LONG_TERM_BORROWINGS]) * INTEREST),
             L.INVESTMENT_INCOME: _q(before[L.LONG_TERM_INVESTMENTS] * D("0.01"))}
        s[L.OPERATING_PROFIT] = (s[L.REVENUE] - s[L.COST_OF_SALES] - s[L.TAXES_AND_SURCHARGES] - s[L.SELLING_EXPENSES]
                                 - s[L.ADMIN_EXPENSES] - s[L.FINANCIAL_EXPENSES] + s[L.INVESTMENT_INCOME])
        s[L.NON_OPERATING_INCOME] = _q(genuine * (D("0.002") + plan.non_operating.get(t, D("0"))))
        s[L.NON_OPERATING_EXPENSES] = _q(genuine * D("0.001"))
        s[L.TOTAL_PROFIT] = s[L.OPERATING_PROFIT] + s[L.NON_OPERATING_INCOME] - s[L.NON_OPERATING_EXPENSES]
        s[L.INCOME_TAX] = _q(max(s[L.TOTAL_PROFIT], D("0")) * INCOME_TAX)
        s[L.NET_PROFIT] = s[L.TOTAL_PROFIT] - s[L.INCOME_TAX]
        s[L.PROFIT_DISTRIBUTED] = _q(year_profit[year - 1] * PAYOUT) if quarter == 2 else D("0.00")
        year_profit[year] = year_profit.get(year, D("0")) + s[L.NET_PROFIT]

        # The balance sheet at the quarter's end; what was doctored stays on it.
        stuffed_total += stuffing
        unpaid = _q(before[L.PAID_IN_CAPITAL] * plan.capital_unpaid.get(t, D("0")))
        unpaid_total += unpaid
        b = dict(before)
        b.update(_working_balances(genuine, cost))
        b[L.ACCOUNTS_RECEIVABLE] += fake_total  # the fake sales are never collected
        b[L.INVENTORY] += stuffed_total
        b[L.OTHER_RECEIVABLES] += unpaid_total  # the shareholder owes the "paid-in" capital
        b[L.PAID_IN_CAPITAL] += unpaid
        depreciation = _q(before[L.FIXED_ASSETS] * DEPRECIATION)
        b[L.FIXED_ASSETS] = _q(before[L.FIXED_ASSETS] * (1 + plan.growth))
        b[L.RETAINED_EARNINGS] = before[L.RETAINED_EARNINGS] + s[L.NET_PROFIT] - s[L.PROFIT_DISTRIBUTED]

        # The cash flows, indirect method: every balance change lands in one of the three.
        change = {line: b[line] - before[line] for line in L.values}
        s[L.OPERATING_CASH_FLOW] = (s[L.NET_PROFIT] + depreciation - sum(change[x] for x in WORKING_ASSETS)
                                    + sum(change[x] for x in WORKING_LIABILITIES))
        s[L.INVESTING_CASH_FLOW] = -(change[L.FIXED_ASSETS] + depreciation + sum(change[x] for x in INVESTED))
        s[L.FINANCING_CASH_FLOW] = sum(change[x] for x in FINANCING) - s[L.PROFIT_DISTRIBUTED]
        s[L.NET_CHANGE_IN_CASH] = s[L.OPERATING_CASH_FLOW] + s[L.INVESTING_CASH_FLOW] + s[L.FINANCING_CASH_FLOW]
        b[L.CASH] = before[L.CASH] + s[L.NET_CHANGE_IN_CASH]
        _balance_totals(b)
        quarters.append((StatementPeriod(year, quarter), {str(line): amount for line, amount in
                                                          {**_balance_sheet(b), **s}.items()}))
        before = b
    return quarters


BALANCE_LINES = tuple(line for line in L.values if line not in {x.value for x in FLOW_LINES})


def _balance_sheet(b: dict) -> dict:
    return {line: b[line] for line in BALANCE_LINES}


def company_statements(plan: CompanyPlan, last_year: int) -> dict[StatementPeriod, dict]:
    """Three years and the last year's quarters; a year is its last quarter's balance sheet and
    the sum of its quarters' flows. Then the last year's doctoring of the reported figures."""
    quarters = company_quarters(plan, last_year - 2)
    statements = {}
    for year in range(last_year - 2, last_year + 1):
        own = [lines for period, lines in quarters if period.year == year]
        lines = _balance_sheet(own[-1])
        lines.update({line.value: sum((q[line] for q in own), D("0")) for line in FLOW_LINES})
        statements[StatementPeriod(year)] = lines
    statements.update((period, lines) for period, lines in quarters if period.year == last_year)
    last = statements[StatementPeriod(last_year)]
    if plan.cash_flow_inflation:
        extra = _q(last[L.REVENUE] * plan.cash_flow_inflation)
        last[L.OPERATING_CASH_FLOW] += extra
        last[L.NET_CHANGE_IN_CASH] += extra
    if plan.inventory_padding:
        extra = _q(last[L.TOTAL_ASSETS] * plan.inventory_padding)
        for line in (L.INVENTORY, L.TOTAL_CURRENT_ASSETS, L.TOTAL_ASSETS):
            last[line] += extra
    return statements


def _chosen_clients(demo_rm_id: int | None) -> list[Client]:
    """Active corporate clients: the demo RM's first, then by branch and number."""
    corporate = Client.objects.filter(client_type=Client.Type.CORPORATE, status=Client.Status.ACTIVE)
    mine = list(corporate.filter(assignments__rm_id=demo_rm_id, assignments__ended_on__isnull=True)
                .order_by("client_no")[:3]) if demo_rm_id else []
    others = list(corporate.exclude(pk__in=[c.pk for c in mine]).order_by("branch__code", "client_no")
                  [:STATEMENT_CLIENTS - len(mine)])
    return mine + others


def statements_seed(*, last_year: int, present: dt.date, demo_rm_id: int | None = None) -> dict[str, int]:
    """Give eight corporate clients their statements and run the checks (DOMAIN 2.3). Clean and
    doctored plans alternate over the chosen clients so that the demo RM's book holds both."""
    clients = _chosen_clients(demo_rm_id)
    order = (0, 2, 1, 3, 4, 5, 6, 7)  # a clean and a doctored company among the demo RM's first clients
    uploader = {a.client_id: a.rm.user for a in Assignment.objects.filter(client__in=clients, ended_on__isnull=True)
                .select_related("rm__user")}
    now = timezone.make_aware(dt.datetime.combine(present, dt.time(18)))
    counts = {"statements": 0, "statement_flags": 0}
    for client, index in zip(clients, order):
        statements = company_statements(PLANS[index], last_year)
        items = [services.StatementInput(client, period.key, lines) for period, lines in sorted(statements.items())]
        stored = services.statements_replace(items=items, by=uploader.get(client.pk), now=now)
        counts["statements"] += stored.created
        counts["statement_flags"] += stored.checks.raised
    return counts


def last_complete_year(months: Sequence[dt.date]) -> int:
    """The last calendar year that ends within the demo's month window (or before it)."""
    end = months[-1]
    return end.year if end.month == 12 else end.year - 1
