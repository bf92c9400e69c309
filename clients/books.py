"""RMs' books per month, pre-aggregated for the dashboards (DOMAIN 2, 2.1, 2.2).

``BookMonth`` holds, per branch, month and RM, what the RM's book held that month: the clients with
a monthly row, how many are private-banking or affluent, deposit and loan daily averages, AUM
(deposit daily average + WM sales, as ``clients.selectors.AUM``) and the four contribution totals
(method 1 volume, 2 revenue, 3 profit, 4 EVA, as ``contribution_total_expression``).

The month's business belongs to the RM whose assignment covers the month's last day (end dates
are exclusive), the rule ``performance.metrics`` applies. A row's branch is the client's branch,
as for the stored contributions. A refresh is one ``INSERT … SELECT … ON CONFLICT`` and one
``DELETE`` per batch of months, whatever the number of RMs or clients.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable

from django.db import connection, transaction

from clients.models import Assignment, BookMonth, Client, ClientContribution, MonthlyBusiness
from core.money import money_sum_sql

MONTH_BATCH = 12
"""Months valued by one statement: keeps the statement's parameter list short."""

_PRIVATE_AFFLUENT = (Client.Segment.PRIVATE.value, Client.Segment.AFFLUENT.value)

# Column of BookMonth → the money it sums over mb (MonthlyBusiness) and cc (the stored
# ClientContribution, absent when the month was never valued: its totals then count 0).
_MONEY_FIGURES = {
    "deposit": "mb.deposit_avg_balance",
    "loan": "mb.loan_avg_balance",
    "aum": "mb.deposit_avg_balance + mb.wm_sales",
    "volume": "cc.volume",
    "revenue": "cc.loan_revenue + cc.deposit_revenue + cc.wm_revenue + cc.card_revenue",
    "profit": "cc.loan_profit + cc.deposit_profit + cc.wm_profit + cc.card_profit",
    "eva": "cc.loan_profit + cc.deposit_profit + cc.wm_profit + cc.card_profit - cc.capital_charge",
}
_CONTRIBUTION_FIGURES = frozenset({"volume", "revenue", "profit", "eva"})
_FIGURE_NAMES = ("clients", "private_affluent", *_MONEY_FIGURES)


def _figures() -> dict[str, str]:
    """Column of BookMonth → its aggregate, money summed to the cent on every database."""
    figures = {
        "clients": "COUNT(*)",
        "private_affluent": "SUM(CASE WHEN c.segment IN ({}) THEN 1 ELSE 0 END)".format(
            ", ".join(f"'{segment}'" for segment in _PRIVATE_AFFLUENT)),
    }
    for name, expression in _MONEY_FIGURES.items():
        total = money_sum_sql(expression, connection.vendor)
        figures[name] = f"COALESCE({total}, 0)" if name in _CONTRIBUTION_FIGURES else total
    return figures


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {name: quote(model._meta.db_table) for name, model in (
        ("book", BookMonth), ("monthly", MonthlyBusiness), ("client", Client),
        ("assignment", Assignment), ("contribution", ClientContribution))}


def _month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _months_cte(months: list[dt.date]) -> tuple[str, list]:
    """``p(month, last_day)`` listing the months: portable to PostgreSQL and SQLite."""
    selects = " UNION ALL ".join(["SELECT %s AS month, %s AS last_day"] * len(months))
    params: list = []
    for month in months:
        params += [month, _month_end(month)]
    return f"p(month, last_day) AS ({selects})", params


def _branch_condition(column: str, branch_ids: list[int] | None) -> tuple[str, list]:
    if branch_ids is None:
        return "1 = 1", []
    return f"{column} IN ({', '.join(['%s'] * len(branch_ids))})", list(branch_ids)


def _upsert_sql(months: list[dt.date], branch_ids: list[int] | None) -> tuple[str, list]:
    """Every (branch, month, RM) of the batch, aggregated in the database. A stored row whose
    figures did not change is left alone, so a re-run writes nothing."""
    t = _tables()
    cte, params = _months_cte(months)
    where, where_params = _branch_condition("c.branch_id", branch_ids)
    columns = ("rm_id", "branch_id", "month", *_FIGURE_NAMES)
    figures = ",\n       ".join(_figures().values())
    # SQLite reads "ON" after a join as the start of the upsert clause unless a WHERE comes first.
    sql = f"""
INSERT INTO {t["book"]} ({", ".join(columns)})
WITH {cte}
SELECT a.rm_id, c.branch_id, p.month,
       {figures}
FROM p
JOIN {t["monthly"]} mb ON mb.month = p.month
JOIN {t["client"]} c ON c.id = mb.client_id
JOIN {t["assignment"]} a ON a.client_id = mb.client_id
 AND a.started_on <= p.last_day AND (a.ended_on IS NULL OR a.ended_on > p.last_day)
LEFT JOIN {t["contribution"]} cc ON cc.client_id = mb.client_id AND cc.month = mb.month
WHERE {where}
GROUP BY a.rm_id, c.branch_id, p.month
ON CONFLICT (branch_id, month, rm_id) DO UPDATE SET
    {", ".join(f"{name} = excluded.{name}" for name in _FIGURE_NAMES)}
WHERE {" OR ".join(f"{t['book']}.{name} <> excluded.{name}" for name in _FIGURE_NAMES)}
"""
    return sql, params + where_params


def _delete_stale_sql(months: list[dt.date], branch_ids: list[int] | None) -> tuple[str, list]:
    """Rows of the batch's months (and branches) that no client-month makes any more: the RM no
    longer owned any client of the branch at the month's end, or the month's data went away."""
    t = _tables()
    cte, params = _months_cte(months)
    where, where_params = _branch_condition("b.branch_id", branch_ids)
    sql = f"""
DELETE FROM {t["book"]}
WHERE id IN (
    WITH {cte}
    SELECT b.id
    FROM {t["book"]} b
    JOIN p ON p.month = b.month
    WHERE {where}
      AND NOT EXISTS (
        SELECT 1
        FROM {t["monthly"]} mb
        JOIN {t["client"]} c ON c.id = mb.client_id
        JOIN {t["assignment"]} a ON a.client_id = mb.client_id
         AND a.started_on <= p.last_day AND (a.ended_on IS NULL OR a.ended_on > p.last_day)
        WHERE mb.month = b.month AND c.branch_id = b.branch_id AND a.rm_id = b.rm_id))
"""
    return sql, params + where_params


@transaction.atomic(savepoint=False)  # the callers' transaction suffices; no extra round trips
def book_months_refresh(*, months: Iterable[dt.date], branch_ids: Iterable[int] | None = None) -> int:
    """Rebuild the ``BookMonth`` rows of ``months`` (any day of the month) for the clients of the
    given branches (all when None). Returns the number of rows inserted, changed or removed.

    DOMAIN 2: each client's monthly row and stored contribution count for the RM whose assignment
    covers the month's last day; a client without such an assignment counts for nobody. Afterwards
    the rows of those months and branches are exactly the books of now: stale ones are deleted.
    Two statements per ``MONTH_BATCH`` months, whatever the number of RMs or clients.
    """
    months = sorted({month.replace(day=1) for month in months})
    if branch_ids is not None:
        branch_ids = sorted(set(branch_ids))
        if not branch_ids:
            return 0
    changed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(months), MONTH_BATCH):
            batch = months[start:start + MONTH_BATCH]
            for sql, params in (_upsert_sql(batch, branch_ids), _delete_stale_sql(batch, branch_ids)):
                cursor.execute(sql, params)
                changed += max(cursor.rowcount, 0)
    return changed


def book_months_with_data(*, since: dt.date, branch_ids: Iterable[int]) -> list[dt.date]:
    """The months from ``since``'s month on that hold valued business or book rows of the
    branches: the months an ownership change dated ``since`` can alter. One query."""
    first = since.replace(day=1)
    branch_ids = sorted(set(branch_ids))
    valued = (ClientContribution.objects.filter(branch_id__in=branch_ids, month__gte=first)
              .order_by().values_list("month", flat=True))
    booked = (BookMonth.objects.filter(branch_id__in=branch_ids, month__gte=first)
              .order_by().values_list("month", flat=True))
    return sorted(set(valued.union(booked)))


def book_months_refresh_since(*, since: dt.date, branch_ids: Iterable[int]) -> int:
    """Refresh the books of the branches from ``since``'s month on, after an ownership change
    dated ``since`` (a back-dated move, a handover, a loss). Months without data are skipped, so
    a change dated today usually costs one query."""
    branch_ids = sorted(set(branch_ids))
    if not branch_ids:
        return 0
    months = book_months_with_data(since=since, branch_ids=branch_ids)
    if not months:
        return 0
    return book_months_refresh(months=months, branch_ids=branch_ids)
