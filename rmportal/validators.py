"""Bounds on what people type or import: one validator per rule, used alike by model fields
(hence forms and serializers), import columns and API fields, so that a page, a file and the API
refuse the same values with the same reason.

Limits of free text (``TEXT_*``) are the ``max_length`` of the model fields; import columns and
serializers take theirs from the model field.
"""
from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Free text: long enough for what a person writes about one case, far below what breaks a page.
TEXT_NAME = 200
TEXT_NOTE = 4000
TEXT_JUSTIFICATION = 2000

# The bank's data start in 1990: anything earlier is a typing or spreadsheet error (0001-01-01).
EARLIEST_DATE = dt.date(1990, 1, 1)
MONTHS_AHEAD = 12
"""Months and periods may be planned this far beyond the current month, no further."""
PLANNED_YEARS_AHEAD = 5
"""Planned dates (a career goal, an interview, an announced exit) lie at most this far ahead."""

_ASCII_DIGITS = frozenset("0123456789")
_PERIOD = re.compile(r"(\d{4})(?:-[Qq]([1-4])|-(0[1-9]|1[0-2]))?", re.ASCII)


def text_validators(max_length: int) -> list:
    """The validators of a free-text field of ``max_length`` characters (a TextField does not
    add MaxLengthValidator itself)."""
    return [MaxLengthValidator(max_length)]


def foreign_digits(value: str) -> bool:
    """Whether ``value`` holds a digit other than ASCII 0-9 (full-width ０-９, Arabic-Indic …)."""
    return any(char.isdigit() and char not in _ASCII_DIGITS for char in value)


def validate_ascii_digits(value) -> None:
    """Numbers, dates, months, periods and codes are typed with 0-9: a full-width digit parses in
    Python but is a different character to every other system of the bank."""
    if isinstance(value, str) and foreign_digits(value):
        raise ValidationError(_("full-width digits in “%(value)s”; type 0-9"), code="full_width_digits",
                              params={"value": value})


def _months_ahead_limit(today: dt.date) -> dt.date:
    """The first day of the month ``MONTHS_AHEAD`` months after today's."""
    year, month = divmod(today.month - 1 + MONTHS_AHEAD, 12)
    return dt.date(today.year + year, month + 1, 1)


def validate_past_date(value: dt.date | None) -> None:
    """A date of something that happened (opened, hired, assigned, lost, called, left,
    interviewed): from 1990-01-01 to today."""
    if value is None:
        return
    if isinstance(value, dt.datetime):
        value = value.date()
    today = timezone.localdate()
    if value < EARLIEST_DATE:
        raise ValidationError(_("%(value)s is before %(earliest)s"), code="date_too_early",
                              params={"value": value.isoformat(), "earliest": EARLIEST_DATE.isoformat()})
    if value > today:
        raise ValidationError(_("%(value)s is in the future"), code="date_in_future",
                              params={"value": value.isoformat()})


def validate_plausible_date(value: dt.date | None) -> None:
    """A date that may be planned (a scheduled interview, a goal's target date, an announced exit):
    from 1990-01-01 to ``PLANNED_YEARS_AHEAD`` years ahead."""
    if value is None:
        return
    if isinstance(value, dt.datetime):
        value = value.date()
    if value < EARLIEST_DATE:
        raise ValidationError(_("%(value)s is before %(earliest)s"), code="date_too_early",
                              params={"value": value.isoformat(), "earliest": EARLIEST_DATE.isoformat()})
    if value > timezone.localdate() + dt.timedelta(days=366 * PLANNED_YEARS_AHEAD):
        raise ValidationError(_("%(value)s is more than %(years)d years ahead"), code="date_too_late",
                              params={"value": value.isoformat(), "years": PLANNED_YEARS_AHEAD})


def validate_month(value: dt.date | None) -> None:
    """A month of business data (its first day): from 1990-01 to a year after the current month."""
    if value is None:
        return
    limit = _months_ahead_limit(timezone.localdate())
    if value < EARLIEST_DATE:
        raise ValidationError(_("%(value)s is before %(earliest)s"), code="month_too_early",
                              params={"value": value.strftime("%Y-%m"), "earliest": "1990-01"})
    if value.replace(day=1) > limit:
        raise ValidationError(_("%(value)s is more than a year ahead"), code="month_too_late",
                              params={"value": value.strftime("%Y-%m")})


def validate_period(value) -> None:
    """A period ``YYYY``, ``YYYY-Qn`` or ``YYYY-MM`` (or an object whose text is one) that starts
    from 1990 and at most a year after the current month (``0000`` is a year no data has)."""
    if not value:
        return
    value = str(value)
    validate_ascii_digits(value)
    match = _PERIOD.fullmatch(value)
    if match is None:
        raise ValidationError(_("“%(value)s” is not a period (YYYY, YYYY-Qn or YYYY-MM)"), code="period",
                              params={"value": value})
    year, quarter, month = match.groups()
    first_month = int(month) if month else (int(quarter) - 1) * 3 + 1 if quarter else 1
    if int(year) < EARLIEST_DATE.year:
        raise ValidationError(_("period %(value)s is before %(earliest)s"), code="period_too_early",
                              params={"value": value, "earliest": EARLIEST_DATE.year})
    if dt.date(int(year), first_month, 1) > _months_ahead_limit(timezone.localdate()):
        raise ValidationError(_("period %(value)s is more than a year ahead"), code="period_too_late",
                              params={"value": value})



def upload_too_large_message(size: int, limit: int) -> str:
    return _("The file is %(size)s; at most %(limit)s may be uploaded.") % {
        "size": filesizeformat(size), "limit": filesizeformat(limit)}


def validate_upload_size(upload, *, limit: int) -> None:
    """An uploaded file (anything with ``size``) of at most ``limit`` bytes: the import limit
    (IMPORT_MAX_UPLOAD_BYTES) for import files, UPLOAD_MAX_BYTES for other uploads."""
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(upload_too_large_message(size, limit), code="file_too_large")
