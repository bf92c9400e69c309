"""Client profit contribution engine (DOMAIN 2.2).

A recompute resolves the parameters of every branch-month, stores the branch-month unit costs
(``BranchMonthCost``) and then values every client-month of the month in one ``INSERT … SELECT``
statement, so the cost of a run does not depend on the number of clients in Python.
SQLite, which would compute that statement in floats, values the month in Python with Decimal
instead (``contribution_values``, the same formulas) and writes the rows in bulk.
Pages, exports and the API read the stored rows through ``contribution_components`` (one row)
and ``contribution_total_expression`` / ``contribution_total_sum`` (aggregates).
"""
from __future__ import annotations

import bisect
import decimal
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clients.books import book_months_refresh
from clients.models import (
    Branch,
    BranchMonthCost,
    Client,
    ClientContribution,
    ContributionParameter,
    LoanTerm,
    MonthlyBusiness,
    ParameterKey,
)
from core.money import ZERO as MONEY_ZERO
from core.money import UNROUNDED, MoneyField, MoneySum, money_round
from rmportal.dashboard_cache import dashboard_data_changed
from rmportal.errors import ApplicationError

ZERO = Decimal("0")


class ContributionMethod(models.IntegerChoices):
    """The four ways of valuing a client (DOMAIN 2.2); a scheme picks one."""

    VOLUME = 1, gettext_lazy("Business volume")
    REVENUE = 2, gettext_lazy("Revenue")
    PROFIT = 3, gettext_lazy("Profit contribution")
    EVA = 4, gettext_lazy("Economic value added")


LINES = ("loan", "deposit", "wm", "card")
REVENUE_FIELDS = tuple(f"{line}_revenue" for line in LINES)
PROFIT_FIELDS = tuple(f"{line}_profit" for line in LINES)
_MONEY_FIELD = MoneyField()

# Planned cost key → the MonthlyBusiness count it is spread over.
UNIT_COST_COUNTS = {
    "loan": (ParameterKey.COST_LOAN, "loan_accounts"),
    "deposit": (ParameterKey.COST_DEPOSIT, "deposit_accounts"),
    "wm": (ParameterKey.COST_WM, "wm_tx_count"),
    "card": (ParameterKey.COST_CARD, "card_count"),
}
FTP_LOAN_KEYS = {term: f"ftp_loan_{term}" for term in LoanTerm.values}



# --- parameters and unit costs -------------------------------------------------------------

def contribution_parameters_resolve(*, months: Iterable[dt.date],
                                    branch_ids: Iterable[int]) -> dict[tuple[dt.date, int], dict[str, Decimal]]:
    """The parameters in force for each (month, branch): every key of ``ParameterKey``.

    Per key, the row of the latest month not after the month applies; for the same month a branch
    row overrides the bank-wide row (branch NULL). A key without any such row is 0 (DOMAIN 2.2).
    """
    months = sorted({_first_day(m) for m in months})
    branch_ids = sorted(set(branch_ids))
    if not months or not branch_ids:
        return {}
    # (branch_id or None, key) → months ascending and their values
    history: dict[tuple[int | None, str], tuple[list[dt.date], list[Decimal]]] = defaultdict(lambda: ([], []))
    rows = (ContributionParameter.objects
            .filter(month__lte=months[-1])
            .filter(models.Q(branch__isnull=True) | models.Q(branch_id__in=branch_ids))
            .order_by("month")
            .values_list("branch_id", "key", "month", "value"))
    for branch_id, key, month, value in rows:
        entry_months, entry_values = history[(branch_id, key)]
        entry_months.append(month)
        entry_values.append(value)

    def latest(branch_id, key, month):
        entry = history.get((branch_id, key))
        if entry is None:
            return None
        position = bisect.bisect_right(entry[0], month)
        return (entry[0][position - 1], entry[1][position - 1]) if position else None

    resolved = {}
    for month in months:
        for branch_id in branch_ids:
            values = {}
            for key in ParameterKey.values:
                own, bank = latest(branch_id, key, month), latest(None, key, month)
                if own is not None and (bank is None or own[0] >= bank[0]):
                    values[key] = own[1]
                else:
                    values[key] = bank[1] if bank is not None else ZERO
            resolved[(month, branch_id)] = values
    return resolved


def _unit_costs_store(*, months: list[dt.date], branch_ids: list[int], parameters: dict,
                      all_branches: bool) -> tuple[dict, dict[dt.date, int]]:
    """Count the branch-months' accounts, cards and WM transactions, derive and store the unit
    costs (planned cost ÷ count, 0 when the count is 0, not rounded). One query to count, one
    to store. Returns the unit costs per (month, branch) and the number of monthly rows per month.
    """
    rows = MonthlyBusiness.objects.filter(month__in=months)
    if not all_branches:
        rows = rows.filter(client__branch_id__in=branch_ids)
    counts = {
        (row["month"], row["client__branch_id"]): row
        for row in (rows.order_by()
                    .values("month", "client__branch_id")
                    .annotate(rows=Count("pk"), **{field: Sum(field) for _key, field in UNIT_COST_COUNTS.values()}))
    }
    monthly_rows = {month: 0 for month in months}
    unit_costs, cost_rows = {}, []
    for month in months:
        for branch_id in branch_ids:
            counted = counts.get((month, branch_id), {})
            monthly_rows[month] += counted.get("rows", 0)
            costs, row = {}, BranchMonthCost(branch_id=branch_id, month=month)
            for line, (key, field) in UNIT_COST_COUNTS.items():
                count = counted.get(field) or 0
                planned = parameters[(month, branch_id)][key]
                costs[line] = UNROUNDED.divide(planned, count) if count else ZERO
                setattr(row, field, count)
                setattr(row, f"unit_cost_{line}", costs[line])
            unit_costs[(month, branch_id)] = costs
            cost_rows.append(row)
    # Upserting in (month, branch) order also serialises concurrent recomputes of a branch-month.
    BranchMonthCost.objects.bulk_create(
        cost_rows, update_conflicts=True, unique_fields=["branch", "month"],
        update_fields=[field for _key, field in UNIT_COST_COUNTS.values()]
        + [f"unit_cost_{line}" for line in LINES],
    )
    return unit_costs, monthly_rows


# --- the set-based valuation ---------------------------------------------------------------

# Branch parameters as a VALUES list: the column order of ``_branch_values``.
_PARAMETER_COLUMNS = (
    ("tax_rate", ParameterKey.TAX_RATE),
    ("ftp_deposit", ParameterKey.FTP_DEPOSIT),
    *((f"ftp_loan_{term}", key) for term, key in FTP_LOAN_KEYS.items()),
    ("capital_ratio", ParameterKey.CAPITAL_RATIO),
    ("cost_of_capital", ParameterKey.COST_OF_CAPITAL),
)
_VALUES_COLUMNS = ("branch_id", *(name for name, _key in _PARAMETER_COLUMNS),
                   *(f"unit_cost_{line}" for line in LINES))
_STORED_COLUMNS = ("volume", *REVENUE_FIELDS, *PROFIT_FIELDS, "capital_charge")


def _valuation_sql(branch_count: int) -> str:
    """``INSERT … SELECT … ON CONFLICT`` valuing every client-month of one month (DOMAIN 2.2).

    Portable between PostgreSQL and SQLite: parameters arrive as ``CAST(%s AS NUMERIC)`` and
    divisions are by ``12.0`` so that SQLite never divides integers. Each component is rounded
    once, at the end; PostgreSQL's numeric ROUND rounds half away from zero (half-up).
    A stored row whose figures did not change is left alone: a recompute after late data then
    rewrites only the rows that moved.
    """
    quote = connection.ops.quote_name
    monthly, client = quote(MonthlyBusiness._meta.db_table), quote(Client._meta.db_table)
    target = quote(ClientContribution._meta.db_table)
    row = "(%s, " + ", ".join(["CAST(%s AS NUMERIC)"] * (len(_VALUES_COLUMNS) - 1)) + ")"
    ftp_loan = " ".join(f"WHEN '{term}' THEN p.ftp_loan_{term}" for term in FTP_LOAN_KEYS)
    columns = ("client_id", "month", "branch_id", *_STORED_COLUMNS)
    # PostgreSQL would pull the inner query up and evaluate each revenue twice (once rounded,
    # once less its costs); OFFSET 0 keeps it a subquery. SQLite has no OFFSET without LIMIT.
    fence = "OFFSET 0" if connection.vendor == "postgresql" else ""
    return f"""
INSERT INTO {target} ({", ".join(columns)})
WITH p ({", ".join(_VALUES_COLUMNS)}) AS (VALUES {", ".join([row] * branch_count)})
SELECT v.client_id, v.month, v.branch_id, v.volume,
       ROUND(v.loan_revenue, 2), ROUND(v.deposit_revenue, 2),
       ROUND(v.wm_revenue, 2), ROUND(v.card_revenue, 2),
       ROUND(v.loan_revenue - v.loan_cost, 2), ROUND(v.deposit_revenue - v.deposit_cost, 2),
       ROUND(v.wm_revenue - v.wm_cost, 2), ROUND(v.card_revenue - v.card_cost, 2),
       ROUND(v.capital_charge, 2)
FROM (
    SELECT m.client_id, m.month, c.branch_id,
           m.deposit_avg_balance + m.loan_avg_balance + m.wm_sales + m.insurance_sales
               + m.fund_sales + m.bond_sales AS volume,
           m.loan_interest_income * (1 - p.tax_rate)
               - m.loan_avg_balance * (CASE m.loan_term {ftp_loan} ELSE 0 END) / 12.0 AS loan_revenue,
           m.deposit_avg_balance * p.ftp_deposit / 12.0 - m.deposit_interest_expense AS deposit_revenue,
           m.wm_income - m.wm_expense - m.wm_income * p.tax_rate AS wm_revenue,
           m.card_deposit_income + m.card_overdraft_income + m.card_fee_income
               + m.card_annual_fee_income + m.card_rebate_income AS card_revenue,
           p.unit_cost_loan * m.loan_accounts AS loan_cost,
           p.unit_cost_deposit * m.deposit_accounts AS deposit_cost,
           p.unit_cost_wm * m.wm_tx_count AS wm_cost,
           p.unit_cost_card * m.card_count AS card_cost,
           m.loan_avg_balance * p.capital_ratio * p.cost_of_capital / 12.0 AS capital_charge
    FROM {monthly} m
    JOIN {client} c ON c.id = m.client_id
    JOIN p ON p.branch_id = c.branch_id
    WHERE m.month = %s
    {fence}
) v
WHERE 1 = 1
ON CONFLICT (client_id, month) DO UPDATE SET
    {", ".join(f"{name} = excluded.{name}" for name in columns[2:])}
WHERE {" OR ".join(f"{target}.{name} <> excluded.{name}" for name in columns[2:])}
"""


# The MonthlyBusiness columns the valuation reads.
_MONTHLY_COLUMNS = (
    "deposit_avg_balance", "deposit_interest_expense", "deposit_accounts",
    "loan_avg_balance", "loan_interest_income", "loan_accounts", "loan_term",
    "wm_income", "wm_expense", "wm_tx_count", "wm_sales",
    "card_count", "card_deposit_income", "card_overdraft_income", "card_fee_income",
    "card_annual_fee_income", "card_rebate_income",
    "insurance_sales", "fund_sales", "bond_sales",
)


def contribution_values(monthly: dict, parameters: dict[str, Decimal],
                        unit_costs: dict[str, Decimal]) -> dict[str, Decimal]:
    """The stored figures of one client-month (DOMAIN 2.2), in Decimal: ``volume``, the
    ``<line>_revenue`` and ``<line>_profit`` of each line and EVA's ``capital_charge``.

    ``monthly`` holds the columns of ``_MONTHLY_COLUMNS``; ``parameters`` every ``ParameterKey``
    of the branch-month; ``unit_costs`` the branch-month's unit cost per line. The same formulas as
    ``_valuation_sql``: each component rounded once, at the end, to the cent half-up.
    """
    m, p = monthly, parameters
    with decimal.localcontext(UNROUNDED):
        ftp_loan = p[FTP_LOAN_KEYS[m["loan_term"]]] if m["loan_term"] in FTP_LOAN_KEYS else ZERO
        revenue = {
            "loan": m["loan_interest_income"] * (1 - p[ParameterKey.TAX_RATE])
            - m["loan_avg_balance"] * ftp_loan / 12,
            "deposit": m["deposit_avg_balance"] * p[ParameterKey.FTP_DEPOSIT] / 12 - m["deposit_interest_expense"],
            "wm": m["wm_income"] - m["wm_expense"] - m["wm_income"] * p[ParameterKey.TAX_RATE],
            "card": (m["card_deposit_income"] + m["card_overdraft_income"] + m["card_fee_income"]
                     + m["card_annual_fee_income"] + m["card_rebate_income"]),
        }
        cost = {line: unit_costs[line] * m[count] for line, (_key, count) in UNIT_COST_COUNTS.items()}
        capital_charge = (m["loan_avg_balance"] * p[ParameterKey.CAPITAL_RATIO]
                          * p[ParameterKey.COST_OF_CAPITAL] / 12)
        values = {"volume": (m["deposit_avg_balance"] + m["loan_avg_balance"] + m["wm_sales"]
                             + m["insurance_sales"] + m["fund_sales"] + m["bond_sales"])}
        for line in LINES:
            values[f"{line}_revenue"] = money_round(revenue[line])
            values[f"{line}_profit"] = money_round(revenue[line] - cost[line])
        values["capital_charge"] = money_round(capital_charge)
    return values


def _valuation_in_python(month: dt.date, branch_ids: list[int], parameters: dict, unit_costs: dict) -> None:
    """Value every client-month of ``month`` of the branches with ``contribution_values`` and
    upsert the rows in bulk: the path of databases without a decimal type (SQLite)."""
    rows = (MonthlyBusiness.objects.filter(month=month, client__branch_id__in=branch_ids)
            .order_by("client_id").values("client_id", "client__branch_id", *_MONTHLY_COLUMNS))
    valued = [
        ClientContribution(client_id=row["client_id"], month=month, branch_id=row["client__branch_id"],
                           **contribution_values(row, parameters[(month, row["client__branch_id"])],
                                                 unit_costs[(month, row["client__branch_id"])]))
        for row in rows]
    ClientContribution.objects.bulk_create(valued, update_conflicts=True, unique_fields=["client", "month"],
                                           update_fields=["branch", *_STORED_COLUMNS])


def _branch_values(month: dt.date, branch_ids: list[int], parameters: dict, unit_costs: dict) -> list:
    params = []
    for branch_id in branch_ids:
        values = parameters[(month, branch_id)]
        params.append(branch_id)
        params.extend(values[key] for _name, key in _PARAMETER_COLUMNS)
        params.extend(unit_costs[(month, branch_id)][line] for line in LINES)
    return params


@transaction.atomic
def contribution_recompute(*, months: Iterable[dt.date], branch_ids: Iterable[int] | None = None) -> int:
    """Recompute and store the contribution of every client-month of ``months`` (first days)
    for the given branches (all when None). Returns the number of client-months valued.

    DOMAIN 2.2: parameters per branch-month (see ``contribution_parameters_resolve``), unit costs
    per branch-month over the monthly rows of the clients whose branch it is, components of
    methods 2 and 3 and EVA's capital charge each rounded to the cent half-up. Afterwards the
    stored rows of each branch-month are exactly the client-months computed now: rows whose
    monthly data disappeared, or whose client moved to another branch, are deleted. The RMs'
    books of those months (``BookMonth``) are refreshed last.
    A constant number of queries per month, whatever the number of clients.
    """
    months = sorted({_first_day(m) for m in months})
    if branch_ids is None:
        branch_ids = list(Branch.objects.order_by("pk").values_list("pk", flat=True))
        all_branches = True
    else:
        branch_ids, all_branches = sorted(set(branch_ids)), False
    if not months or not branch_ids:
        return 0

    parameters = contribution_parameters_resolve(months=months, branch_ids=branch_ids)
    unit_costs, monthly_rows = _unit_costs_store(months=months, branch_ids=branch_ids,
                                                 parameters=parameters, all_branches=all_branches)
    in_sql = connection.vendor == "postgresql"  # SQLite would value in floats
    sql = _valuation_sql(len(branch_ids)) if in_sql else None
    with connection.cursor() as cursor:
        for month in months:
            if in_sql:
                cursor.execute(sql, [*_branch_values(month, branch_ids, parameters, unit_costs), month])
            else:
                _valuation_in_python(month, branch_ids, parameters, unit_costs)
            stored = ClientContribution.objects.filter(month=month)
            if not all_branches:
                stored = stored.filter(branch_id__in=branch_ids)
            # Every valued client-month is stored now, so more stored rows than monthly rows
            # means stale ones; counting is much cheaper than looking for them every time.
            if stored.count() != monthly_rows[month]:
                stored.exclude(Exists(MonthlyBusiness.objects.filter(
                    client_id=OuterRef("client_id"), month=OuterRef("month"),
                    client__branch_id=OuterRef("branch_id")))).delete()
    # The RMs' books of those months are built from the rows just stored.
    book_months_refresh(months=months, branch_ids=None if all_branches else branch_ids)
    dashboard_data_changed()
    return sum(monthly_rows.values())


def _first_day(month: dt.date) -> dt.date:
    return month.replace(day=1)


# --- reading stored contributions ----------------------------------------------------------

def contribution_method_check(method: int) -> ContributionMethod:
    try:
        return ContributionMethod(int(method))
    except (TypeError, ValueError):
        raise ApplicationError(
            _("Unknown contribution method %(method)s: use 1 (volume), 2 (revenue), 3 (profit) or 4 (EVA).")
            % {"method": method}) from None


def contribution_annotate_volume(queryset: models.QuerySet) -> models.QuerySet:
    """Add the volume components (method 1) from the monthly rows, for pages listing many rows:
    ``contribution_components`` then needs no query per row."""
    monthly = MonthlyBusiness.objects.filter(client_id=OuterRef("client_id"), month=OuterRef("month"))
    return queryset.annotate(
        volume_loan=Subquery(monthly.values("loan_avg_balance")[:1]),
        volume_deposit=Subquery(monthly.values("deposit_avg_balance")[:1]),
    )


def contribution_components(row: ClientContribution, method: int) -> dict[str, Decimal]:
    """The components loan, deposit, wm, card and their total of a stored client-month under a
    method (DOMAIN 2.2); method 4 adds ``capital_charge`` (already taken off ``loan``).

    Method 1 splits the stored volume by the month's loan and deposit balances (from
    ``contribution_annotate_volume`` or one query); wm is the rest (WM, insurance, fund and bond
    sales), card is 0.
    """
    method = contribution_method_check(method)
    if method == ContributionMethod.VOLUME:
        if hasattr(row, "volume_loan"):
            loan, deposit = row.volume_loan, row.volume_deposit
        else:
            loan, deposit = (MonthlyBusiness.objects.filter(client_id=row.client_id, month=row.month)
                             .values_list("loan_avg_balance", "deposit_avg_balance").first()
                             or (None, None))
        loan, deposit = loan or ZERO, deposit or ZERO
        components = {"loan": loan, "deposit": deposit, "wm": row.volume - loan - deposit, "card": ZERO}
    elif method == ContributionMethod.REVENUE:
        components = {line: getattr(row, f"{line}_revenue") for line in LINES}
    else:
        components = {line: getattr(row, f"{line}_profit") for line in LINES}
    if method == ContributionMethod.EVA:
        components["loan"] -= row.capital_charge
    components["total"] = sum((components[line] for line in LINES), ZERO)
    if method == ContributionMethod.EVA:
        components["capital_charge"] = row.capital_charge
    return components


def contribution_total_expression(method: int) -> models.Expression:
    """Row-level ORM expression of a method's total over ``ClientContribution`` rows; wrap it in
    ``Sum`` (or use ``contribution_total_sum``) for per-RM or per-branch aggregates."""
    method = contribution_method_check(method)
    if method == ContributionMethod.VOLUME:
        expression = F("volume")
    else:
        fields = REVENUE_FIELDS if method == ContributionMethod.REVENUE else PROFIT_FIELDS
        expression = F(fields[0]) + F(fields[1]) + F(fields[2]) + F(fields[3])
        if method == ContributionMethod.EVA:
            expression = expression - F("capital_charge")
    return models.ExpressionWrapper(expression, output_field=_MONEY_FIELD)


def contribution_total_sum(method: int) -> models.Expression:
    """``Sum`` of a method's total, 0.00 over no rows: ``qs.aggregate(total=contribution_total_sum(3))``."""
    return Coalesce(MoneySum(contribution_total_expression(method)), Value(MONEY_ZERO),
                    output_field=_MONEY_FIELD)
