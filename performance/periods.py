"""Appraisal periods: ``YYYY-MM`` (month), ``YYYY-Qn`` (quarter), ``YYYY`` (year) (DOMAIN 3.3)."""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from rmportal.errors import ApplicationError

MONTH, QUARTER, YEAR = "month", "quarter", "year"
_PATTERNS = (
    (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), MONTH),
    (re.compile(r"^(\d{4})-Q([1-4])$"), QUARTER),
    (re.compile(r"^(\d{4})$"), YEAR),
)


def month_end(month_start: dt.date) -> dt.date:
    return month_start.replace(day=calendar.monthrange(month_start.year, month_start.month)[1])


@dataclass(frozen=True, order=True)
class Period:
    key: str
    kind: str
    year: int
    first_month: int
    month_count: int

    @classmethod
    def parse(cls, value: str) -> "Period":
        value = (value or "").strip()
        for pattern, kind in _PATTERNS:
            match = pattern.match(value)
            if not match:
                continue
            year = int(match.group(1))
            if kind == MONTH:
                return cls(value, kind, year, int(match.group(2)), 1)
            if kind == QUARTER:
                return cls(value, kind, year, (int(match.group(2)) - 1) * 3 + 1, 3)
            return cls(value, kind, year, 1, 12)
        raise ApplicationError(_("“%(value)s” is not a period: use YYYY-MM, YYYY-Qn or YYYY.") % {"value": value})

    @classmethod
    def for_month(cls, month: dt.date) -> "Period":
        return cls.parse(f"{month:%Y-%m}")

    @property
    def months(self) -> list[dt.date]:
        return [dt.date(self.year, self.first_month + i, 1) for i in range(self.month_count)]

    @property
    def start(self) -> dt.date:
        return self.months[0]

    @property
    def end(self) -> dt.date:
        return month_end(self.months[-1])

    @property
    def last_month(self) -> dt.date:
        return self.months[-1]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def base_month(self) -> dt.date:
        """The previous December, the base of the 比年初 increase metrics."""
        return dt.date(self.year - 1, 12, 1)

    def previous(self) -> "Period":
        if self.kind == YEAR:
            return Period.parse(str(self.year - 1))
        if self.kind == QUARTER:
            q = (self.first_month - 1) // 3 + 1
            return Period.parse(f"{self.year - 1}-Q4" if q == 1 else f"{self.year}-Q{q - 1}")
        prev = self.start - dt.timedelta(days=1)
        return Period.parse(f"{prev:%Y-%m}")

    def __str__(self):
        return self.key
