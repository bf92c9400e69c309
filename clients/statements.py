"""Credit clients' financial statements: the chart of lines, statement periods, and the checks
that flag doctored figures (DOMAIN 2.3, seed art. 11).

Pure functions over Decimal amounts, no database: ``statement_findings`` takes one client's
statements and returns what trips; ``clients.services.statement_checks_run`` stores the findings
as StatementFlag rows. Every threshold is a named constant in ``THRESHOLDS`` or ``RATIO_LIMITS``
and is documented in the README ("Financial statements: chart and checks").

Conventions of the chart: balance-sheet lines are balances at the period end; income-statement and
cash-flow lines are the period's own amounts (a quarter's three months, not year to date). A line
left out of a statement is *not reported*: a check that needs it is skipped. Only the lines in
``ZERO_WHEN_MISSING`` (often left out when nil) count 0 when left out.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clients.models import FinancialStatement, StatementFlag, StatementLine
from core.money import money_round, round_half_up

L = StatementLine
HUNDRED = Decimal("100")
ZERO = Decimal("0")

# --- the chart --------------------------------------------------------------------------------

BALANCE_SHEET, INCOME, CASH_FLOW = "balance_sheet", "income", "cash_flow"
ASSETS, LIABILITIES, EQUITY = "assets", "liabilities", "equity"

SECTIONS = (
    (BALANCE_SHEET, gettext_lazy("Balance sheet")),
    (INCOME, gettext_lazy("Income statement")),
    (CASH_FLOW, gettext_lazy("Cash-flow statement")),
)
GROUPS = (
    (ASSETS, BALANCE_SHEET, gettext_lazy("Assets"),
     (L.CASH, L.NOTES_RECEIVABLE, L.ACCOUNTS_RECEIVABLE, L.PREPAYMENTS, L.OTHER_RECEIVABLES, L.INVENTORY,
      L.OTHER_CURRENT_ASSETS, L.TOTAL_CURRENT_ASSETS, L.LONG_TERM_INVESTMENTS, L.FIXED_ASSETS,
      L.CONSTRUCTION_IN_PROGRESS, L.INTANGIBLE_ASSETS, L.OTHER_NON_CURRENT_ASSETS, L.TOTAL_ASSETS)),
    (LIABILITIES, BALANCE_SHEET, gettext_lazy("Liabilities"),
     (L.SHORT_TERM_BORROWINGS, L.NOTES_PAYABLE, L.ACCOUNTS_PAYABLE, L.ADVANCES_FROM_CUSTOMERS, L.OTHER_PAYABLES,
      L.TOTAL_CURRENT_LIABILITIES, L.LONG_TERM_BORROWINGS, L.OTHER_NON_CURRENT_LIABILITIES, L.TOTAL_LIABILITIES)),
    (EQUITY, BALANCE_SHEET, gettext_lazy("Owners' equity"),
     (L.PAID_IN_CAPITAL, L.CAPITAL_RESERVE, L.SURPLUS_RESERVE, L.RETAINED_EARNINGS, L.TOTAL_EQUITY)),
    (INCOME, INCOME, gettext_lazy("Income statement"),
     (L.REVENUE, L.COST_OF_SALES, L.TAXES_AND_SURCHARGES, L.SELLING_EXPENSES, L.ADMIN_EXPENSES,
      L.FINANCIAL_EXPENSES, L.INVESTMENT_INCOME, L.OPERATING_PROFIT, L.NON_OPERATING_INCOME,
      L.NON_OPERATING_EXPENSES, L.TOTAL_PROFIT, L.INCOME_TAX, L.NET_PROFIT, L.PROFIT_DISTRIBUTED)),
    (CASH_FLOW, CASH_FLOW, gettext_lazy("Cash-flow statement"),
     (L.OPERATING_CASH_FLOW, L.INVESTING_CASH_FLOW, L.FINANCING_CASH_FLOW, L.NET_CHANGE_IN_CASH)),
)
LINE_SECTION = {line.value: section for _group, section, _label, lines in GROUPS for line in lines}
TOTAL_LINES = frozenset({L.TOTAL_CURRENT_ASSETS, L.TOTAL_ASSETS, L.TOTAL_CURRENT_LIABILITIES, L.TOTAL_LIABILITIES,
                         L.TOTAL_EQUITY, L.OPERATING_PROFIT, L.TOTAL_PROFIT, L.NET_PROFIT, L.NET_CHANGE_IN_CASH})

# Lines that may be negative. Losses and results (retained earnings, owners' equity of a company
# whose losses exceed its capital, operating/total/net profit), items that are net amounts by
# nature (financial expenses net of interest income, investment income, income tax with deferred
# tax), non-operating items (a quarter's own amount can be negative when an earlier booking of the
# year is reversed) and every cash-flow line. Any other line negative — cash, receivables,
# inventory, fixed assets, borrowings, paid-in capital, revenue, costs, profit distributed — is an
# error ("大额红字" is a warning sign of seed art. 11, but a negative balance is not a statement).
MAY_BE_NEGATIVE = frozenset({
    L.RETAINED_EARNINGS, L.TOTAL_EQUITY,
    L.FINANCIAL_EXPENSES, L.INVESTMENT_INCOME, L.OPERATING_PROFIT, L.NON_OPERATING_INCOME,
    L.NON_OPERATING_EXPENSES, L.TOTAL_PROFIT, L.INCOME_TAX, L.NET_PROFIT,
    L.OPERATING_CASH_FLOW, L.INVESTING_CASH_FLOW, L.FINANCING_CASH_FLOW, L.NET_CHANGE_IN_CASH,
})

# Left out of a statement, these count 0: they are commonly omitted when nil.
ZERO_WHEN_MISSING = frozenset({L.PROFIT_DISTRIBUTED, L.INVESTMENT_INCOME, L.NON_OPERATING_INCOME,
                               L.NON_OPERATING_EXPENSES})

# The figures shown for each period on the client page.
KEY_LINES = (L.TOTAL_ASSETS, L.TOTAL_LIABILITIES, L.REVENUE, L.NET_PROFIT, L.OPERATING_CASH_FLOW)


def line_label(code: str) -> str:
    try:
        return str(StatementLine(code).label)
    except ValueError:
        return code


def line_problem(line: str, amount: Decimal) -> str | None:
    """Why ``amount`` cannot stand on ``line`` (translated), or None when it can."""
    if line not in StatementLine.values:
        return _("unknown line item “%(line)s”; see the chart of lines") % {"line": line}
    if amount < 0 and line not in MAY_BE_NEGATIVE:
        return _("%(line)s cannot be negative") % {"line": line_label(line)}
    return None


# --- periods ----------------------------------------------------------------------------------

PERIOD_PATTERN = re.compile(r"([12]\d{3})(?:-[Qq]([1-4]))?")
YEAR, QUARTER = FinancialStatement.Kind.YEAR.value, FinancialStatement.Kind.QUARTER.value
# Days of a period for receivable and inventory days: the banking year of 360 days.
DAYS_IN_PERIOD = {YEAR: Decimal("360"), QUARTER: Decimal("90")}


@dataclass(frozen=True, order=True)
class StatementPeriod:
    """A year (``2025``, quarter 0) or a quarter (``2025-Q3``)."""

    year: int
    quarter: int = 0

    @classmethod
    def parse(cls, text: str) -> StatementPeriod:
        match = PERIOD_PATTERN.fullmatch((text or "").strip())
        if match is None:
            raise ValueError(_("“%(value)s” is not a period: YYYY for a year or YYYY-Qn for a quarter")
                             % {"value": text})
        return cls(int(match.group(1)), int(match.group(2) or 0))

    @property
    def kind(self) -> str:
        return QUARTER if self.quarter else YEAR

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.quarter}" if self.quarter else str(self.year)

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 3 * self.quarter - 2, 1) if self.quarter else dt.date(self.year, 1, 1)

    @property
    def end(self) -> dt.date:
        if not self.quarter or self.quarter == 4:
            return dt.date(self.year, 12, 31)
        return dt.date(self.year, 3 * self.quarter + 1, 1) - dt.timedelta(days=1)

    @property
    def previous(self) -> StatementPeriod:
        """The previous comparable period: the year before, or the quarter before."""
        if not self.quarter:
            return StatementPeriod(self.year - 1)
        if self.quarter == 1:
            return StatementPeriod(self.year - 1, 4)
        return StatementPeriod(self.year, self.quarter - 1)

    def __str__(self):
        return self.key


# --- thresholds -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tolerance:
    """How far the two sides of a reconciliation may differ: ``absolute`` yuan or ``relative``
    times the larger side, whichever is more."""

    absolute: Decimal
    relative: Decimal

    def limit(self, left: Decimal, right: Decimal) -> Decimal:
        return max(self.absolute, self.relative * max(abs(left), abs(right)))


@dataclass(frozen=True)
class Thresholds:
    """Every threshold of the checks; a check trips when its figure is strictly beyond it.
    Shares and growth gaps are fractions (0.20 = 20 %, or 20 percentage points)."""

    # Reconciliations (勾稽关系): assets = liabilities + equity.
    balance_identity: Tolerance = Tolerance(Decimal("1.00"), Decimal("0.001"))
    # Retained earnings at the end − at the start = net profit − profit distributed.
    retained_earnings: Tolerance = Tolerance(Decimal("1.00"), Decimal("0.005"))
    # Cash at the end − at the start = the cash-flow statement's net increase in cash.
    cash_change: Tolerance = Tolerance(Decimal("1.00"), Decimal("0.005"))
    # Net increase in cash = operating + investing + financing cash flows.
    cash_flow_sum: Tolerance = Tolerance(Decimal("1.00"), Decimal("0.005"))
    # A key balance changes by more than this share of its opening balance …
    swing: Decimal = Decimal("0.50")
    # … and, for swings, receivables, payables and capital, by more than this share of total assets
    # (so that a small account doubling does not raise a flag).
    materiality: Decimal = Decimal("0.01")
    # Revenue growth − operating-cost growth, in either direction.
    revenue_cost_gap: Decimal = Decimal("0.20")
    # Gross margin change, in either direction.
    gross_margin_jump: Decimal = Decimal("0.10")
    # Receivables growth − revenue growth.
    receivables_gap: Decimal = Decimal("0.30")
    # Payables growth − operating-cost growth.
    payables_gap: Decimal = Decimal("0.30")
    # (Non-operating income + investment income) ÷ total profit.
    non_operating_share: Decimal = Decimal("0.50")
    # Q4 net profit ÷ the sum of the year's four quarters.
    q4_share: Decimal = Decimal("0.50")
    # Consecutive years with net profit above operating cash flow.
    profit_above_cash_years: int = 3
    # Increase of paid-in capital or capital reserve ÷ the opening balance.
    capital_jump: Decimal = Decimal("0.20")


THRESHOLDS = Thresholds()

TIMES, PERCENT, DAYS = "times", "percent", "days"


@dataclass(frozen=True)
class RatioLimit:
    """Bounds of a ratio and how much it may worsen against the previous comparable period.
    Percent ratios are held as fractions (0.70 = 70 %)."""

    label: str
    unit: str
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    worsening: Decimal | None = None  # None: no trend check
    higher_is_worse: bool = False
    compute: Callable[[Mapping[str, Decimal], Decimal], Decimal | None] = field(default=None, repr=False)


def _divide(numerator, denominator) -> Decimal | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def _current_ratio(lines, days):
    return _divide(lines.get(L.TOTAL_CURRENT_ASSETS), lines.get(L.TOTAL_CURRENT_LIABILITIES))


def _quick_ratio(lines, days):
    if lines.get(L.TOTAL_CURRENT_ASSETS) is None or lines.get(L.INVENTORY) is None:
        return None
    return _divide(lines[L.TOTAL_CURRENT_ASSETS] - lines[L.INVENTORY], lines.get(L.TOTAL_CURRENT_LIABILITIES))


def _debt_to_assets(lines, days):
    return _divide(lines.get(L.TOTAL_LIABILITIES), lines.get(L.TOTAL_ASSETS))


def _days(balance, flow, days):
    # Multiplied before dividing, so that whole days come out whole.
    return _divide(None if balance is None else balance * days, flow)


def _receivable_days(lines, days):
    return _days(lines.get(L.ACCOUNTS_RECEIVABLE), lines.get(L.REVENUE), days)


def _inventory_days(lines, days):
    return _days(lines.get(L.INVENTORY), lines.get(L.COST_OF_SALES), days)


def _gross_margin(lines, days):
    revenue, cost = lines.get(L.REVENUE), lines.get(L.COST_OF_SALES)
    if cost is None:
        return None
    return _divide(None if revenue is None else revenue - cost, revenue)


# Gross margin has bounds only: its moves are the revenue_cost check's.
RATIO_LIMITS: dict[str, RatioLimit] = {
    "current_ratio": RatioLimit(gettext_lazy("Current ratio"), TIMES, minimum=Decimal("1.00"),
                                worsening=Decimal("0.30"), compute=_current_ratio),
    "quick_ratio": RatioLimit(gettext_lazy("Quick ratio"), TIMES, minimum=Decimal("0.50"),
                              worsening=Decimal("0.30"), compute=_quick_ratio),
    "debt_to_assets": RatioLimit(gettext_lazy("Debt-to-assets ratio"), PERCENT, maximum=Decimal("0.70"),
                                 worsening=Decimal("0.10"), higher_is_worse=True, compute=_debt_to_assets),
    "receivable_days": RatioLimit(gettext_lazy("Receivable days"), DAYS, maximum=Decimal("180"),
                                  worsening=Decimal("30"), higher_is_worse=True, compute=_receivable_days),
    "inventory_days": RatioLimit(gettext_lazy("Inventory days"), DAYS, maximum=Decimal("180"),
                                 worsening=Decimal("30"), higher_is_worse=True, compute=_inventory_days),
    "gross_margin": RatioLimit(gettext_lazy("Gross margin"), PERCENT, minimum=Decimal("0"),
                               compute=_gross_margin),
}

# Balances whose swing between the opening and the closing balance sheet needs a reason (seed art.
# 11 四(一)). Paid-in capital and the capital reserve have their own check, capital_jump.
SWING_LINES = (L.CASH, L.ACCOUNTS_RECEIVABLE, L.ACCOUNTS_PAYABLE, L.INVENTORY, L.FIXED_ASSETS, L.INTANGIBLE_ASSETS,
               L.LONG_TERM_INVESTMENTS, L.SHORT_TERM_BORROWINGS, L.LONG_TERM_BORROWINGS)
CAPITAL_LINES = (L.PAID_IN_CAPITAL, L.CAPITAL_RESERVE)


# --- the client's statements, as the checks see them ------------------------------------------

Lines = Mapping[str, Decimal]


class StatementBook:
    """All statements of one client, by period."""

    def __init__(self, statements: Mapping[str | StatementPeriod, Lines]):
        self.by_period: dict[StatementPeriod, dict[str, Decimal]] = {}
        for period, lines in statements.items():
            if not isinstance(period, StatementPeriod):
                period = StatementPeriod.parse(period)
            self.by_period[period] = {**{line.value: ZERO for line in ZERO_WHEN_MISSING}, **lines}

    def previous(self, period: StatementPeriod) -> tuple[StatementPeriod, dict] | None:
        """The previous comparable statement (same kind): for checks on flows."""
        before = period.previous
        lines = self.by_period.get(before)
        return (before, lines) if lines is not None else None

    def opening(self, period: StatementPeriod) -> tuple[StatementPeriod, dict] | None:
        """The balance sheet at the day before the period starts: the previous comparable
        statement, else any statement ending that day (a year-end serves Q1 and the other way)."""
        found = self.previous(period)
        if found is not None:
            return found
        day = period.start - dt.timedelta(days=1)
        for other, lines in self.by_period.items():
            if other.end == day:
                return other, lines
        return None


def _values(lines: Lines, *codes) -> tuple | None:
    values = tuple(lines.get(code) for code in codes)
    return None if any(value is None for value in values) else values


def _money(value: Decimal) -> str:
    return str(money_round(value))


def _pct(value: Decimal) -> str:
    """A fraction as percent, two decimals: 0.1234 → "12.34"."""
    return str(round_half_up(value * HUNDRED, 2))


def _ratio_text(value: Decimal, unit: str) -> str:
    if unit == PERCENT:
        return _pct(value)
    if unit == DAYS:
        return str(round_half_up(value, 1))
    return str(round_half_up(value, 2))


def _growth(current: Decimal, previous: Decimal) -> Decimal | None:
    return None if previous <= 0 else current / previous - 1


# --- the checks ---------------------------------------------------------------------------------

Check = Callable[[StatementPeriod, dict, StatementBook, Thresholds], Iterator[tuple[str, dict]]]


def _reconcile(tolerance: Tolerance, left: Decimal, right: Decimal) -> tuple[bool, Decimal, Decimal]:
    gap = left - right
    limit = tolerance.limit(left, right)
    return abs(gap) > limit, gap, limit


def check_balance_identity(period, lines, book, t):
    values = _values(lines, L.TOTAL_ASSETS, L.TOTAL_LIABILITIES, L.TOTAL_EQUITY)
    if values is None:
        return
    assets, liabilities, equity = values
    trips, gap, limit = _reconcile(t.balance_identity, assets, liabilities + equity)
    if trips:
        yield "", {"total_assets": _money(assets), "total_liabilities": _money(liabilities),
                   "total_equity": _money(equity), "liabilities_and_equity": _money(liabilities + equity),
                   "gap": _money(gap), "tolerance": _money(limit)}


def check_retained_earnings(period, lines, book, t):
    opening = book.opening(period)
    values = _values(lines, L.RETAINED_EARNINGS, L.NET_PROFIT, L.PROFIT_DISTRIBUTED)
    if opening is None or values is None or opening[1].get(L.RETAINED_EARNINGS) is None:
        return
    before, opening_lines = opening
    closing, profit, distributed = values
    change, expected = closing - opening_lines[L.RETAINED_EARNINGS], profit - distributed
    trips, gap, limit = _reconcile(t.retained_earnings, change, expected)
    if trips:
        yield "", {"previous_period": before.key, "retained_earnings_begin": _money(opening_lines[L.RETAINED_EARNINGS]),
                   "retained_earnings": _money(closing), "change": _money(change), "net_profit": _money(profit),
                   "profit_distributed": _money(distributed), "expected": _money(expected), "gap": _money(gap),
                   "tolerance": _money(limit)}


def check_cash_change(period, lines, book, t):
    opening = book.opening(period)
    values = _values(lines, L.CASH, L.NET_CHANGE_IN_CASH)
    if opening is None or values is None or opening[1].get(L.CASH) is None:
        return
    before, opening_lines = opening
    cash, net_change = values
    change = cash - opening_lines[L.CASH]
    trips, gap, limit = _reconcile(t.cash_change, change, net_change)
    if trips:
        yield "", {"previous_period": before.key, "cash_begin": _money(opening_lines[L.CASH]), "cash": _money(cash),
                   "change": _money(change), "net_change_in_cash": _money(net_change), "gap": _money(gap),
                   "tolerance": _money(limit)}


def check_cash_flow_sum(period, lines, book, t):
    values = _values(lines, L.OPERATING_CASH_FLOW, L.INVESTING_CASH_FLOW, L.FINANCING_CASH_FLOW, L.NET_CHANGE_IN_CASH)
    if values is None:
        return
    operating, investing, financing, net_change = values
    flows = operating + investing + financing
    trips, gap, limit = _reconcile(t.cash_flow_sum, net_change, flows)
    if trips:
        yield "", {"operating_cash_flow": _money(operating), "investing_cash_flow": _money(investing),
                   "financing_cash_flow": _money(financing), "flows_total": _money(flows),
                   "net_change_in_cash": _money(net_change), "gap": _money(gap), "tolerance": _money(limit)}


def _material(change: Decimal, lines: Lines, t: Thresholds) -> bool:
    assets = lines.get(L.TOTAL_ASSETS)
    return assets is None or abs(change) > t.materiality * abs(assets)


def check_account_swing(period, lines, book, t):
    opening = book.opening(period)
    if opening is None:
        return
    before, opening_lines = opening
    for line in SWING_LINES:
        values = _values(lines, line)
        previous = opening_lines.get(line)
        if values is None or previous is None:
            continue
        current = values[0]
        change = current - previous
        if not _material(change, lines, t):
            continue
        if previous != 0 and abs(change) <= t.swing * abs(previous):
            continue
        if previous == 0 and change == 0:
            continue
        figures = {"line": line.value, "previous_period": before.key, "previous": _money(previous),
                   "current": _money(current), "change": _money(change)}
        if previous != 0:
            figures["change_pct"] = _pct(change / abs(previous))
        yield line.value, figures


def check_revenue_cost(period, lines, book, t):
    found = book.previous(period)
    values = _values(lines, L.REVENUE, L.COST_OF_SALES)
    if found is None or values is None:
        return
    before, previous = found
    previous_values = _values(previous, L.REVENUE, L.COST_OF_SALES)
    if previous_values is None:
        return
    revenue, cost = values
    previous_revenue, previous_cost = previous_values
    revenue_growth, cost_growth = _growth(revenue, previous_revenue), _growth(cost, previous_cost)
    if revenue_growth is None or cost_growth is None or revenue <= 0:
        return
    gap = revenue_growth - cost_growth
    margin, previous_margin = (revenue - cost) / revenue, (previous_revenue - previous_cost) / previous_revenue
    if abs(gap) > t.revenue_cost_gap or abs(margin - previous_margin) > t.gross_margin_jump:
        yield "", {"previous_period": before.key, "revenue_previous": _money(previous_revenue),
                   "revenue": _money(revenue), "cost_previous": _money(previous_cost), "cost": _money(cost),
                   "revenue_growth_pct": _pct(revenue_growth), "cost_growth_pct": _pct(cost_growth),
                   "gap_points": _pct(gap), "gross_margin_previous_pct": _pct(previous_margin),
                   "gross_margin_pct": _pct(margin)}


def _balance_against_flow(period, lines, book, t, *, balance, flow, limit):
    """A balance growing faster than the flow it comes from, against the previous comparable
    period: (figures) or None."""
    found = book.previous(period)
    values = _values(lines, balance, flow)
    if found is None or values is None:
        return None
    before, previous = found
    previous_values = _values(previous, balance, flow)
    if previous_values is None:
        return None
    current_balance, current_flow = values
    previous_balance, previous_flow = previous_values
    balance_growth, flow_growth = _growth(current_balance, previous_balance), _growth(current_flow, previous_flow)
    if balance_growth is None or flow_growth is None:
        return None
    gap = balance_growth - flow_growth
    if gap <= limit or not _material(current_balance - previous_balance, lines, t):
        return None
    return {"previous_period": before.key, "balance_previous": _money(previous_balance),
            "balance": _money(current_balance), "flow_previous": _money(previous_flow), "flow": _money(current_flow),
            "balance_growth_pct": _pct(balance_growth), "flow_growth_pct": _pct(flow_growth), "gap_points": _pct(gap)}


def check_receivables_vs_revenue(period, lines, book, t):
    figures = _balance_against_flow(period, lines, book, t, balance=L.ACCOUNTS_RECEIVABLE, flow=L.REVENUE,
                                    limit=t.receivables_gap)
    if figures:
        yield "", figures


def check_payables_vs_cost(period, lines, book, t):
    figures = _balance_against_flow(period, lines, book, t, balance=L.ACCOUNTS_PAYABLE, flow=L.COST_OF_SALES,
                                    limit=t.payables_gap)
    if figures:
        yield "", figures


def check_non_operating_profit(period, lines, book, t):
    values = _values(lines, L.TOTAL_PROFIT, L.NON_OPERATING_INCOME, L.INVESTMENT_INCOME)
    if values is None:
        return
    total, non_operating, investment = values
    other = non_operating + investment
    if total <= 0 or other <= 0:
        return
    share = other / total
    if share > t.non_operating_share:
        yield "", {"total_profit": _money(total), "non_operating_income": _money(non_operating),
                   "investment_income": _money(investment), "other_income": _money(other), "share_pct": _pct(share)}


def check_q4_concentration(period, lines, book, t):
    if period.quarter != 4:
        return
    quarters = [book.by_period.get(StatementPeriod(period.year, q)) for q in (1, 2, 3, 4)]
    if any(q is None or q.get(L.NET_PROFIT) is None for q in quarters):
        return
    year_profit = sum((q[L.NET_PROFIT] for q in quarters), ZERO)
    if year_profit <= 0:
        return
    share = lines[L.NET_PROFIT] / year_profit
    if share > t.q4_share:
        figures = {"year": str(period.year), "q4_net_profit": _money(lines[L.NET_PROFIT]),
                   "year_net_profit": _money(year_profit), "share_pct": _pct(share)}
        if all(q.get(L.REVENUE) is not None for q in quarters):
            year_revenue = sum((q[L.REVENUE] for q in quarters), ZERO)
            if year_revenue > 0:
                figures["q4_revenue_share_pct"] = _pct(lines[L.REVENUE] / year_revenue)
        yield "", figures


def _profit_above_cash(lines: Lines) -> bool:
    values = _values(lines, L.NET_PROFIT, L.OPERATING_CASH_FLOW)
    return values is not None and values[0] > 0 and values[1] < values[0]


def check_profit_above_cash(period, lines, book, t):
    if period.quarter:
        return
    run = []
    year = period
    while (found := book.by_period.get(year)) is not None and _profit_above_cash(found):
        run.append(found)
        year = year.previous
    if len(run) >= t.profit_above_cash_years:
        yield "", {"years": str(len(run)), "first_period": str(period.year - len(run) + 1), "year": str(period.year),
                   "net_profit": _money(lines[L.NET_PROFIT]),
                   "operating_cash_flow": _money(lines[L.OPERATING_CASH_FLOW]),
                   "net_profit_total": _money(sum((s[L.NET_PROFIT] for s in run), ZERO)),
                   "operating_cash_flow_total": _money(sum((s[L.OPERATING_CASH_FLOW] for s in run), ZERO))}


def check_capital_jump(period, lines, book, t):
    opening = book.opening(period)
    if opening is None:
        return
    before, opening_lines = opening
    for line in CAPITAL_LINES:
        values = _values(lines, line)
        previous = opening_lines.get(line)
        if values is None or previous is None:
            continue
        increase = values[0] - previous
        if increase <= 0 or not _material(increase, lines, t):
            continue
        if previous > 0 and increase <= t.capital_jump * previous:
            continue
        figures = {"line": line.value, "previous_period": before.key, "previous": _money(previous),
                   "current": _money(values[0]), "change": _money(increase)}
        if previous > 0:
            figures["change_pct"] = _pct(increase / previous)
        yield line.value, figures


def check_ratio_bounds(period, lines, book, t):
    days = DAYS_IN_PERIOD[period.kind]
    for key, limit in RATIO_LIMITS.items():
        value = limit.compute(lines, days)
        if value is None:
            continue
        if limit.minimum is not None and value < limit.minimum:
            bound = limit.minimum
        elif limit.maximum is not None and value > limit.maximum:
            bound = limit.maximum
        else:
            continue
        yield key, {"ratio": key, "value": _ratio_text(value, limit.unit), "bound": _ratio_text(bound, limit.unit)}


def check_ratio_trend(period, lines, book, t):
    found = book.previous(period)
    if found is None:
        return
    before, previous = found
    days = DAYS_IN_PERIOD[period.kind]
    for key, limit in RATIO_LIMITS.items():
        if limit.worsening is None:
            continue
        value, previous_value = limit.compute(lines, days), limit.compute(previous, days)
        if value is None or previous_value is None:
            continue
        worse = value - previous_value if limit.higher_is_worse else previous_value - value
        if worse > limit.worsening:
            yield key, {"ratio": key, "previous_period": before.key,
                        "previous_value": _ratio_text(previous_value, limit.unit),
                        "value": _ratio_text(value, limit.unit), "step": _ratio_text(limit.worsening, limit.unit)}


# --- the rules ----------------------------------------------------------------------------------

CRITICAL, WARNING, INFO = (StatementFlag.Severity.CRITICAL.value, StatementFlag.Severity.WARNING.value,
                           StatementFlag.Severity.INFO.value)
SEVERITY_RANK = {INFO: 1, WARNING: 2, CRITICAL: 3}


@dataclass(frozen=True)
class Rule:
    code: str
    label: str
    severity: str
    message: str  # named placeholders: the keys of the figures, plus line_label, ratio_label, unit
    check: Check


RULES: dict[str, Rule] = {rule.code: rule for rule in (
    Rule("balance_identity", gettext_lazy("Assets = liabilities + equity"), CRITICAL, gettext_lazy(
        "Total assets %(total_assets)s differ from total liabilities %(total_liabilities)s plus owners' equity "
        "%(total_equity)s (%(liabilities_and_equity)s): a difference of %(gap)s, beyond the tolerance of "
        "%(tolerance)s."),
        check_balance_identity),
    Rule("retained_earnings", gettext_lazy("Retained earnings roll-forward"), CRITICAL, gettext_lazy(
        "Retained earnings went from %(retained_earnings_begin)s (%(previous_period)s) to %(retained_earnings)s, "
        "a change of %(change)s, but net profit %(net_profit)s less profit distributed %(profit_distributed)s is "
        "%(expected)s: a difference of %(gap)s (tolerance %(tolerance)s)."),
        check_retained_earnings),
    Rule("cash_change", gettext_lazy("Cash change against the cash-flow statement"), CRITICAL, gettext_lazy(
        "Cash went from %(cash_begin)s (%(previous_period)s) to %(cash)s, a change of %(change)s, but the "
        "cash-flow statement shows a net increase of %(net_change_in_cash)s: a difference of %(gap)s "
        "(tolerance %(tolerance)s)."),
        check_cash_change),
    Rule("cash_flow_sum", gettext_lazy("Net cash flow against its three parts"), CRITICAL, gettext_lazy(
        "Operating %(operating_cash_flow)s + investing %(investing_cash_flow)s + financing "
        "%(financing_cash_flow)s cash flows make %(flows_total)s, but the net increase in cash is "
        "%(net_change_in_cash)s: a difference of %(gap)s (tolerance %(tolerance)s)."),
        check_cash_flow_sum),
    Rule("account_swing", gettext_lazy("Large swing in a key account"), WARNING, gettext_lazy(
        "%(line_label)s went from %(previous)s (%(previous_period)s) to %(current)s, a change of %(change)s "
        "(%(change_pct)s %%). Ask the client for the reason and the evidence."),
        check_account_swing),
    Rule("revenue_cost", gettext_lazy("Revenue and cost moving apart"), WARNING, gettext_lazy(
        "Against %(previous_period)s, operating revenue changed %(revenue_growth_pct)s %% and operating cost "
        "%(cost_growth_pct)s %% (%(gap_points)s points apart); gross margin went from "
        "%(gross_margin_previous_pct)s %% to %(gross_margin_pct)s %%."),
        check_revenue_cost),
    Rule("receivables_vs_revenue", gettext_lazy("Receivables growing faster than revenue"), WARNING, gettext_lazy(
        "Against %(previous_period)s, accounts receivable grew %(balance_growth_pct)s %% (%(balance_previous)s → "
        "%(balance)s) while operating revenue grew %(flow_growth_pct)s %% (%(flow_previous)s → %(flow)s): "
        "%(gap_points)s points apart."),
        check_receivables_vs_revenue),
    Rule("payables_vs_cost", gettext_lazy("Payables growing faster than cost"), WARNING, gettext_lazy(
        "Against %(previous_period)s, accounts payable grew %(balance_growth_pct)s %% (%(balance_previous)s → "
        "%(balance)s) while operating cost grew %(flow_growth_pct)s %% (%(flow_previous)s → %(flow)s): "
        "%(gap_points)s points apart."),
        check_payables_vs_cost),
    Rule("non_operating_profit", gettext_lazy("Profit carried by non-operating income"), WARNING, gettext_lazy(
        "Non-operating income %(non_operating_income)s and investment income %(investment_income)s make "
        "%(share_pct)s %% of total profit %(total_profit)s."),
        check_non_operating_profit),
    Rule("q4_concentration", gettext_lazy("Profit concentrated in Q4"), WARNING, gettext_lazy(
        "Q4 net profit %(q4_net_profit)s is %(share_pct)s %% of %(year)s's net profit %(year_net_profit)s "
        "(the sum of its quarters), while Q4 brought %(q4_revenue_share_pct)s %% of the year's revenue."),
        check_q4_concentration),
    Rule("profit_above_cash", gettext_lazy("Profit persistently above operating cash flow"), WARNING, gettext_lazy(
        "Net profit has exceeded operating cash flow for %(years)s years in a row (%(first_period)s–%(year)s): "
        "%(net_profit_total)s of profit against %(operating_cash_flow_total)s of operating cash flow."),
        check_profit_above_cash),
    Rule("capital_jump", gettext_lazy("Paid-in capital or capital reserve jump"), WARNING, gettext_lazy(
        "%(line_label)s rose from %(previous)s (%(previous_period)s) to %(current)s, +%(change)s "
        "(%(change_pct)s %%). Ask for the capital verification report and the bank receipt of the funds."),
        check_capital_jump),
    Rule("ratio_bounds", gettext_lazy("Ratio out of bounds"), WARNING, gettext_lazy(
        "%(ratio_label)s is %(value)s%(unit)s, beyond the bound of %(bound)s%(unit)s."),
        check_ratio_bounds),
    Rule("ratio_trend", gettext_lazy("Ratio deteriorating"), INFO, gettext_lazy(
        "%(ratio_label)s went from %(previous_value)s%(unit)s (%(previous_period)s) to %(value)s%(unit)s, worse "
        "by more than %(step)s%(unit)s."),
        check_ratio_trend),
)}


@dataclass(frozen=True)
class Finding:
    """A check that trips on a statement."""

    period: str
    rule: str
    subject: str
    severity: str
    figures: dict


def statement_findings(statements: Mapping[str | StatementPeriod, Lines], *,
                       thresholds: Thresholds = THRESHOLDS) -> list[Finding]:
    """Every check on every statement of one client (DOMAIN 2.3). ``statements`` maps each period
    to its lines (line code → Decimal amount); the checks compare periods where they need to."""
    book = StatementBook(statements)
    findings = []
    for period in sorted(book.by_period):
        lines = book.by_period[period]
        for rule in RULES.values():
            for subject, figures in rule.check(period, lines, book, thresholds):
                findings.append(Finding(period.key, rule.code, subject, rule.severity, figures))
    return findings


# --- how a flag reads ---------------------------------------------------------------------------

UNIT_TEXT = {TIMES: "", PERCENT: " %", DAYS: gettext_lazy(" days")}
NOT_NUMBERS = frozenset({"line", "ratio", "year", "years"})


def _display(key: str, value) -> str:
    if value is None:
        return "—"
    if key.endswith("period") or key in NOT_NUMBERS:
        return str(value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return formats.number_format(number, use_l10n=True, force_grouping=True)


class _Figures(dict):
    def __missing__(self, key):
        return "—"


def flag_display_figures(figures: Mapping) -> dict[str, str]:
    """The figures as shown: numbers grouped, codes replaced by their labels."""
    shown = _Figures({key: _display(key, value) for key, value in figures.items()})
    if "line" in figures:
        shown["line_label"] = line_label(figures["line"])
    ratio = RATIO_LIMITS.get(figures.get("ratio", ""))
    if ratio is not None:
        shown["ratio_label"] = str(ratio.label)
        shown["unit"] = str(UNIT_TEXT[ratio.unit])
    return shown


def flag_message(rule: str, figures: Mapping) -> str:
    """The flag as a sentence in the user's language, built from its stored figures."""
    found = RULES.get(rule)
    if found is None:
        return rule
    return str(found.message) % flag_display_figures(figures)


def rule_label(rule: str) -> str:
    found = RULES.get(rule)
    return str(found.label) if found is not None else rule
