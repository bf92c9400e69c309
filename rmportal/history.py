"""Set-based audit rows for django-simple-history (STYLE 11).

simple_history writes one historical row per saved object, built in Python. Runs that write
thousands of rows at once use ``history_snapshot`` instead: one INSERT … SELECT copies the
current rows into the history table with the same who, when and why.
"""
from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

CREATED, CHANGED, DELETED = "+", "~", "-"


def history_snapshot(queryset: QuerySet, *, history_type: str, reason: str = "", user=None) -> None:
    """Records the rows of ``queryset`` as they are now, in its model's history table."""
    model = queryset.model
    history_model = model.history.model
    columns = [f.column for f in model._meta.concrete_fields]
    attnames = [f.attname for f in model._meta.concrete_fields]
    select_sql, select_params = queryset.order_by().values_list(*attnames).query.sql_with_params()
    quote = connection.ops.quote_name
    target = ", ".join(quote(c) for c in columns + ["history_date", "history_change_reason", "history_type",
                                                   "history_user_id"])
    sql = (f"INSERT INTO {quote(history_model._meta.db_table)} ({target}) "
           f"SELECT sub.*, %s, %s, %s, %s FROM ({select_sql}) sub")
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), reason, history_type, getattr(user, "pk", None), *select_params])
