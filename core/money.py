"""The one money policy (DOMAIN 2.2, 3.5; STYLE 6).

Money is ``Decimal`` in yuan with two decimals. A rule rounds once, where it says, to the cent and
half-up (half away from zero: 0.005 → 0.01, -0.005 → -0.01) with ``money_round``; a rule that
deliberately rounds down (the largest-remainder split of a bonus budget) says so by calling
``money_round_down``. Every money column is a ``MoneyField``, every money figure in the API is a
``MoneyAPIField``, every SQL sum over money is a ``MoneySum`` (or ``money_sum_sql`` in raw SQL).

SQLite, the development database, has no decimal type: it stores a DECIMAL column as a float and
does its arithmetic and ``SUM()`` in floats. ``MoneySum`` therefore sums whole cents as integers on
SQLite, so a sum comes back to the cent as on PostgreSQL; PostgreSQL's SQL is left as it is.
"""
from __future__ import annotations

import decimal
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.db import models
from rest_framework import serializers

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ROUNDING = ROUND_HALF_UP
"""The rounding of every rule and every figure shown: half-up (DOMAIN 2.2, 3.2, 3.5)."""

MAX_DIGITS = 18
DECIMAL_PLACES = 2

UNROUNDED = decimal.Context(prec=40, rounding=ROUNDING)
"""Arithmetic whose result the rules keep unrounded, e.g. unit costs (DOMAIN 2.2: "unit costs are
not rounded"): forty significant digits, far more than any amount has, so that only the final
``money_round`` of a component decides a cent."""


def round_half_up(value: Decimal, places: int) -> Decimal:
    """``value`` to ``places`` decimals, half-up: the rounding of scores, rates and percentages."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUNDING)


def money_round(value: Decimal) -> Decimal:
    """``value`` to the cent, half-up: the rounding every money rule uses (DOMAIN 2.2, 3.5)."""
    return value.quantize(CENT, rounding=ROUNDING)


def money_round_down(value: Decimal) -> Decimal:
    """``value`` to the cent, towards zero: only for splits that hand out the leftover cents
    themselves (largest remainder, DOMAIN 3.5)."""
    return value.quantize(CENT, rounding=ROUND_DOWN)


def is_whole_cents(value: Decimal) -> bool:
    """Whether ``value`` is an amount of whole cents (no fraction of a cent)."""
    return value == value.quantize(CENT)


class MoneyField(models.DecimalField):
    """A money column: up to 16 digits of yuan and 2 of cents.

    Migrations record it as the ``DecimalField`` it is, so the database schema and the migration
    history do not depend on this module.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


class MoneyAPIField(serializers.DecimalField):
    """A money figure in the API: a decimal string with two places, e.g. "1130.00" (DOMAIN 6).
    No digit limit on output: a sum over a bank may be longer than a stored amount."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", None)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        kwargs.setdefault("rounding", ROUNDING)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)


class MoneyModelSerializer(serializers.ModelSerializer):
    """A model serializer whose money columns come out as ``MoneyAPIField``."""

    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping, MoneyField: MoneyAPIField}


# --- sums over money in SQL ------------------------------------------------------------------

# On SQLite each row's amount (whole cents, stored as a float) becomes an exact integer number of
# cents, the integers are summed exactly and divided once: the float that comes back is the one
# nearest to the exact sum, which reads back to the cent. Only for sums of whole-cent amounts
# (money columns and their sums and differences), never for products or quotients.
_SQLITE_CENTS = "CAST(ROUND(({}) * 100) AS INTEGER)"


def _sqlite_cents(value, expression, connection):
    # Django reads a computed decimal from SQLite with 15 significant digits; back to cents.
    return None if value is None else money_round(value)


def money_sum_sql(expression: str, vendor: str) -> str:
    """``SUM(expression)`` for raw SQL over money, exact on SQLite too (see above)."""
    if vendor == "sqlite":
        return f"(SUM({_SQLITE_CENTS.format(expression)}) / 100.0)"
    return f"SUM({expression})"


class _ExactOnSqlite:
    """Sums whole cents on SQLite (see above) and gives money back; plain ``SUM`` elsewhere.
    ``sqlite_template`` is the SQL with the summed expression in cents."""

    sqlite_template: str

    def __init__(self, *expressions, **extra):
        extra.setdefault("output_field", MoneyField())
        super().__init__(*expressions, **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = self.as_sql(compiler, connection, template=self.sqlite_template, **extra_context)
        return f"({sql} / 100.0)", params

    def get_db_converters(self, connection):
        converters = super().get_db_converters(connection)
        return [*converters, _sqlite_cents] if connection.vendor == "sqlite" else converters


class MoneySum(_ExactOnSqlite, models.Sum):
    """``Sum`` over money, exact on SQLite too; plain ``SUM`` on PostgreSQL."""

    sqlite_template = "%(function)s(%(distinct)s" + _SQLITE_CENTS.format("%(expressions)s") + ")"


class MoneySubquerySum(_ExactOnSqlite, models.Func):
    """``SUM`` as a plain function, for a correlated subquery that sums all of its rows without a
    GROUP BY; exact on SQLite as ``MoneySum``."""

    function = "SUM"
    sqlite_template = "%(function)s(" + _SQLITE_CENTS.format("%(expressions)s") + ")"
