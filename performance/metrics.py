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


def _in_list(ids: Sequence[int]) -> str:
    return ", ".join(["%s"] * len(ids))


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _dec(value) -> Decimal:
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _monthly_sums(rm_ids, months):
    cte, params = _months_cte(months)
    sql = f"""{cte}
        SELECT a.rm_id, mb.month, SUM(mb.deposit_avg_balance), SUM(mb.loan_avg_balance),
               SUM(mb.loan_npl_balance), SUM(mb.insurance_sales), SUM(mb.fund_sales),
               SUM(mb.bond_sales), SUM(mb.wm_income)
        FROM p JOIN clients_monthlybusiness mb ON mb.month = p.month
        {_OWNER_JOIN.format(alias="mb")}
        WHERE a.rm_id IN ({_in_list(rm_ids)})
        GROUP BY a.rm_id, mb.month"""
    return _fetch(sql, params + list(rm_ids))


def _december_base(rm_ids, period: Period):
    """Σ previous-December daily averages of the clients in each RM's book in the last month."""
    cte, params = _months_cte([period.last_month])
    sql = f"""{cte}
        SELECT a.rm_id, SUM(mb.deposit_avg_balance), SUM(mb.loan_avg_balance)
        FROM p JOIN clients_assignment a
          ON a.started_on <= p.last_day AND (a.ended_on IS NULL OR a.ended_on > p.last_day)
        JOIN clients_monthlybusiness mb ON mb.client_id = a.client_id AND mb.month = %s
        WHERE a.rm_id IN ({_in_list(rm_ids)})
        GROUP BY a.rm_id"""
    return _fetch(sql, params + [period.base_month] + list(rm_ids))


def _contribution_sums(rm_ids, months, method: int):
    cte, params = _months_cte(months)
    if method == 1:
        source = "clients_monthlybusiness mb"
        alias = "mb"
    else:
        source = "clients_clientcontribution cc"
        alias = "cc"
    sql = f"""{cte}
        SELECT a.rm_id, SUM({CONTRIBUTION_SQL[method]})
        FROM p JOIN {source} ON {alias}.month = p.month
        {_OWNER_JOIN.format(alias=alias)}
        WHERE a.rm_id IN ({_in_list(rm_ids)})
        GROUP BY a.rm_id"""
    return _fetch(sql, params + list(rm_ids))


def _satisfaction(rm_ids, period: Period):
    """Mean call-back score of the clients the RM was responsible for on the call-back's day."""
    sql = f"""
        SELECT a.rm_id, SUM(i.score), COUNT(*)
        FROM clients_interaction i
        JOIN clients_assignment a ON a.client_id = i.client_id
         AND a.started_on <= i.occurred_on AND (a.ended_on IS NULL OR a.ended_on > i.occurred_on)
        WHERE i.kind = 'callback' AND i.occurred_on BETWEEN %s AND %s AND a.rm_id IN ({_in_list(rm_ids)})
        GROUP BY a.rm_id"""
    return _fetch(sql, [period.start, period.end] + list(rm_ids))


def _churn(rm_ids, period: Period):
    """Clients in the book at the period's start, and how many of them were lost in the period."""
    sql = f"""
        SELECT a.rm_id, COUNT(*),
               SUM(CASE WHEN c.lost_on BETWEEN %s AND %s THEN 1 ELSE 0 END)
        FROM clients_assignment a JOIN clients_client c ON c.id = a.client_id
        WHERE a.started_on <= %s AND (a.ended_on IS NULL OR a.ended_on > %s)
          AND a.rm_id IN ({_in_list(rm_ids)})
        GROUP BY a.rm_id"""
    return _fetch(sql, [period.start, period.end, period.start, period.start] + list(rm_ids))


def rm_metrics(rm_ids: Sequence[int], period: Period, *, contribution_method: int) -> dict[int, dict[str, Decimal]]:
    """Every metric of DOMAIN 3.1 for each RM of ``rm_ids`` over ``period``."""
    if not rm_ids:
        return {}
    rm_ids = list(rm_ids)
    days = {m: month_end(m).day for m in period.months}
    deposit_days = defaultdict(lambda: ZERO)
    loan_days = defaultdict(lambda: ZERO)
    sums = defaultdict(lambda: defaultdict(lambda: ZERO))
    last = {}
    for rm_id, month, deposit, loan, npl, insurance, fund, bond, wm_income in _monthly_sums(rm_ids, period.months):
        month = month if isinstance(month, dt.date) else dt.date.fromisoformat(str(month)[:10])
        deposit_days[rm_id] += _dec(deposit) * days[month]
        loan_days[rm_id] += _dec(loan) * days[month]
        for name, value in (("insurance_sales", insurance), ("fund_sales", fund), ("bond_sales", bond),
                            ("wm_income", wm_income)):
            sums[rm_id][name] += _dec(value)
        if month == period.last_month:
            last[rm_id] = (_dec(loan), _dec(npl))
    base = {rm_id: (_dec(d), _dec(lo)) for rm_id, d, lo in _december_base(rm_ids, period)}
    contribution = {rm_id: _dec(v) for rm_id, v in _contribution_sums(rm_ids, period.months, contribution_method)}
    satisfaction = {rm_id: (_dec(total), count) for rm_id, total, count in _satisfaction(rm_ids, period)}
    churn = {rm_id: (count, lost or 0) for rm_id, count, lost in _churn(rm_ids, period)}

    total_days = Decimal(period.days)
    result = {}
    for rm_id in rm_ids:
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
            "client_contribution": contribution.get(rm_id, ZERO),
            # No call-back in the period: 0, like the other ratios with an empty base.
            "satisfaction": score_total / score_count / 5 if score_count else ZERO,
            "churn_rate": Decimal(lost) / Decimal(book_count) if book_count else ZERO,
        }
    return result
