"""Performance metrics per RM and period, set-based (DOMAIN 3.1).

Each month's rows count for that month's book owner: the RM whose assignment covers the month's
last day (DOMAIN 2). Every metric of a group of RMs comes from five aggregate queries, whatever
the number of RMs or clients.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext_lazy as _

from core.money import money_sum_sql
from performance.periods import Period, month_end

ZERO = Decimal(0)

# The metrics a scheme may name, with their labels.
METRICS = {
    "deposit_avg_increase": _("Deposit daily average increase"),
    "loan_avg_increase": _("Loan daily average increase"),
    "deposit_growth_rate": _("Deposit growth rate"),
    "loan_growth_rate": _("Loan growth rate"),
    "npl_ratio": _("Non-performing loan ratio"),
    "insurance_sales": _("Insurance sales"),
    "fund_sales": _("Fund sales"),
    "bond_sales": _("Bond sales"),
    "wm_income": _("Wealth-management income"),
    "client_contribution": _("Client contribution"),
    "satisfaction": _("Client satisfaction"),
    "churn_rate": _("Client churn rate"),
}

# SQL for a client-month's contribution under each method (DOMAIN 2.2), over alias cc (stored
# ClientContribution) or mb (MonthlyBusiness) for the volume.
CONTRIBUTION_SQL = {
    1: "mb.deposit_avg_balance + mb.loan_avg_balance + mb.wm_sales + mb.insurance_sales + mb.fund_sales + mb.bond_sales",
    2: "cc.loan_revenue + cc.deposit_revenue + cc.wm_revenue + cc.card_revenue",
    3: "cc.loan_profit + cc.deposit_profit + cc.wm_profit + cc.card_profit",
    4: "cc.loan_profit + cc.deposit_profit + cc.wm_profit + cc.card_profit - cc.capital_charge",
}

_OWNER_JOIN = """
    JOIN clients_assignment a ON a.client_id = {alias}.client_id
     AND a.started_on <= p.last_day AND (a.ended_on IS NULL OR a.ended_on > p.last_day)
"""


def _months_cte(months: Sequence[dt.date]) -> tuple[str, list]:
    """A CTE ``p(month, last_day)`` listing the months, portable to every database we run on."""
    selects = " UNION ALL ".join(["SELECT %s AS month, %s AS last_day"] * len(months))
    params: list = []
    for month in months:
        params += [month, month_end(month)]
    return f"WITH p(month, last_day) AS ({selects})", params


def _rm_filter(rm_ids: Sequence[int] | None, branch_ids: Sequence[int] | None) -> tuple[str, list]:
    """SQL restricting ``a.rm_id``: listed RMs, or the active RMs of listed branches."""
    if rm_ids is not None:
        return f"a.rm_id IN ({', '.join(['%s'] * len(rm_ids))})", list(rm_ids)
    return (f"a.rm_id IN (SELECT e.id FROM clients_employee e WHERE e.role = 'rm' AND e.status = 'active' "
            f"AND e.branch_id IN ({', '.join(['%s'] * len(branch_ids))}))", list(branch_ids))


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _dec(value) -> Decimal:
    if value is None:
        return ZERO
    # SQLite answers floats; a money sum's float reads back as its exact cents (core.money).
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _monthly_sums(rms, months, method: int):
    """Per RM and month: the book's balances and sales, and its contribution under ``method``."""
    cte, params = _months_cte(months)
    where, where_params = rms
    contribution_join = "" if method == 1 else (
        "LEFT JOIN clients_clientcontribution cc ON cc.client_id = mb.client_id AND cc.month = mb.month")
    sums = ", ".join(money_sum_sql(expression, connection.vendor) for expression in (
        "mb.deposit_avg_balance", "mb.loan_avg_balance", "mb.loan_npl_balance", "mb.insurance_sales",
        "mb.fund_sales", "mb.bond_sales", "mb.wm_income", CONTRIBUTION_SQL[method]))
    sql = f"""{cte}
        SELECT a.rm_id, mb.month, {sums}
        FROM p JOIN clients_monthlybusiness mb ON mb.month = p.month
        {_OWNER_JOIN.format(alias="mb")}
        {contribution_join}
        WHERE {where}
        GROUP BY a.rm_id, mb.month"""
    return _fetch(sql, params + where_params)


def _december_base(rms, period: Period):
    """Σ previous-December daily averages of the clients in each RM's book in the last month."""
    cte, params = _months_cte([period.last_month])
    where, where_params = rms
    sums = ", ".join(money_sum_sql(expression, connection.vendor)
                     for expression in ("mb.deposit_avg_balance", "mb.loan_avg_balance"))
    sql = f"""{cte}
        SELECT a.rm_id, {sums}
        FROM p JOIN clients_assignment a
          ON a.started_on <= p.last_day AND (a.ended_on IS NULL OR a.ended_on > p.last_day)
        JOIN clients_monthlybusiness mb ON mb.client_id = a.client_id AND mb.month = %s
        WHERE {where}
        GROUP BY a.rm_id"""
    return _fetch(sql, params + [period.base_month] + where_params)


def _satisfaction(rms, period: Period):
    """Mean call-back score of the clients the RM was responsible for on the call-back's day."""
    where, where_params = rms
    sql = f"""
        SELECT a.rm_id, SUM(i.score), COUNT(*)
        FROM clients_interaction i
        JOIN clients_assignment a ON a.client_id = i.client_id
         AND a.started_on <= i.occurred_on AND (a.ended_on IS NULL OR a.ended_on > i.occurred_on)
        WHERE i.kind = 'callback' AND i.occurred_on BETWEEN %s AND %s AND {where}
        GROUP BY a.rm_id"""
    return _fetch(sql, [period.start, period.end] + where_params)


def _churn(rms, period: Period):
    """Clients in the book at the period's start, and how many of them were lost in the period."""
    where, where_params = rms
    sql = f"""
        SELECT a.rm_id, COUNT(*),
               SUM(CASE WHEN c.lost_on BETWEEN %s AND %s THEN 1 ELSE 0 END)
        FROM clients_assignment a JOIN clients_client c ON c.id = a.client_id
        WHERE a.started_on <= %s AND (a.ended_on IS NULL OR a.ended_on > %s) AND {where}
        GROUP BY a.rm_id"""
    return _fetch(sql, [period.start, period.end, period.start, period.start] + where_params)


def rm_metrics(rm_ids: Sequence[int] | None, period: Period, *, contribution_method: int,
               branch_ids: Sequence[int] | None = None) -> dict[int, dict[str, Decimal]]:
    """Every metric of DOMAIN 3.1 over ``period`` for each RM of ``rm_ids`` (or, when None, each
    active RM of ``branch_ids``). Four aggregate queries, each one pass over the period's rows."""
    if rm_ids is None and not branch_ids or rm_ids is not None and not rm_ids:
        return {}
    rms = _rm_filter(None if rm_ids is None else list(rm_ids), branch_ids)
    days = {m: month_end(m).day for m in period.months}
    deposit_days = defaultdict(lambda: ZERO)
    loan_days = defaultdict(lambda: ZERO)
    sums = defaultdict(lambda: defaultdict(lambda: ZERO))
    last = {}
    seen = set(rm_ids or ())
    for (rm_id, month, deposit, loan, npl, insurance, fund, bond, wm_income,
         contribution) in _monthly_sums(rms, period.months, contribution_method):
        seen.add(rm_id)
        month = month if isinstance(month, dt.date) else dt.date.fromisoformat(str(month)[:10])
        deposit_days[rm_id] += _dec(deposit) * days[month]
        loan_days[rm_id] += _dec(loan) * days[month]
        for name, value in (("insurance_sales", insurance), ("fund_sales", fund), ("bond_sales", bond),
                            ("wm_income", wm_income), ("client_contribution", contribution)):
            sums[rm_id][name] += _dec(value)
        if month == period.last_month:
            last[rm_id] = (_dec(loan), _dec(npl))
    base = {rm_id: (_dec(d), _dec(lo)) for rm_id, d, lo in _december_base(rms, period)}
    satisfaction = {rm_id: (_dec(total), count) for rm_id, total, count in _satisfaction(rms, period)}
    churn = {rm_id: (count, lost or 0) for rm_id, count, lost in _churn(rms, period)}
    seen |= set(base) | set(satisfaction) | set(churn)
    if rm_ids is None:
        # RMs of the branches with no business at all still get their (zero) metrics.
        from clients.models import Employee

        seen |= set(Employee.objects.filter(branch_id__in=branch_ids, role="rm", status="active")
                    .values_list("pk", flat=True))

    total_days = Decimal(period.days)
    result = {}
    for rm_id in sorted(seen):
        base_deposit, base_loan = base.get(rm_id, (ZERO, ZERO))
        deposit_increase = deposit_days[rm_id] / total_days - base_deposit
        loan_increase = loan_days[rm_id] / total_days - base_loan
        last_loan, last_npl = last.get(rm_id, (ZERO, ZERO))
        score_total, score_count = satisfaction.get(rm_id, (ZERO, 0))
        book_count, lost = churn.get(rm_id, (0, 0))
        result[rm_id] = {
            "deposit_avg_increase": deposit_increase,
            "loan_avg_increase": loan_increase,
            "deposit_growth_rate": deposit_increase / base_deposit if base_deposit else ZERO,
            "loan_growth_rate": loan_increase / base_loan if base_loan else ZERO,
            "npl_ratio": last_npl / last_loan if last_loan else ZERO,
            "insurance_sales": sums[rm_id]["insurance_sales"],
            "fund_sales": sums[rm_id]["fund_sales"],
            "bond_sales": sums[rm_id]["bond_sales"],
            "wm_income": sums[rm_id]["wm_income"],
            "client_contribution": sums[rm_id]["client_contribution"],
            # No call-back in the period: 0, like the other ratios with an empty base.
            "satisfaction": score_total / score_count / 5 if score_count else ZERO,
            "churn_rate": Decimal(lost) / Decimal(book_count) if book_count else ZERO,
        }
    return result
