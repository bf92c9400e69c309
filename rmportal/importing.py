"""Importing files of rows (DOMAIN 6): the part every kind shares.

A *kind* (``branches``, ``monthly`` …) is an ``Importer`` subclass registered with
``register_importer``. Any app adds its kinds in its own ``importers.py``, which is discovered on
first use, so the page, the command and the API know every kind without being told.

``run_import`` reads a CSV (UTF-8, with or without BOM) or XLSX file (first sheet), checks the
header row, lets the kind validate and store the rows inside one transaction, and either returns
an ``ImportResult`` or raises ``ImportRejected`` listing every (row, column, reason) it found — up
to ``MAX_ERRORS`` — in which case nothing of the file is stored. Rows are numbered as a
spreadsheet shows them: the header is row 1, the first data row is row 2.

A caller that shows progress (the background import jobs) passes ``progress``, a callable
``progress(stage, rows_done, rows_total)``: it is called once per ``PROGRESS_EVERY`` rows read
while the rows are checked, then when the rows are stored and, for kinds that recompute figures
afterwards, when that starts. It is called from inside the import's transaction.

An import upserts by the kind's business key: rows the file lacks are left alone. With
``replace`` (kinds that allow it) it also deletes the stored rows of the branches (and months)
present in the file that the file lacks. Every import that stores is recorded as a batch
(``clients.ImportBatch``) holding the before-image of each row it updated or deleted and the key
of each row it created, so that it can be undone (``rmportal.import_batches``). ``dry_run`` runs
the very same import and rolls it back, returning the figures per branch and month (the
preview). A replace that would delete more than ``DELETE_CONFIRM_SHARE`` of a branch-month's
stored rows is refused unless ``confirm_delete`` is given.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import operator
import re
import shutil
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple
from xml.parsers import expat

import json

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import EmailValidator
from django.db import connection, transaction
from django.db.models import IntegerField
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from rmportal import scoping
from rmportal.dashboard_cache import dashboard_data_changed
from rmportal.errors import ApplicationError
from rmportal.validators import TEXT_NOTE, foreign_digits, validate_month

MAX_ERRORS = 1000
HEADER_ROW = 1
# Progress stages, in order (the import jobs store them).
CHECKING, STORING, RECOMPUTING = "checking", "storing", "recomputing"
PROGRESS_EVERY = 1000
"""Rows read between two progress reports."""
ProgressCallback = Callable[[str, int, int], None]
"""``progress(stage, rows_done, rows_total)``; rows_total is an estimate (0: unknown) until every
row is read."""
# Characters str.strip() removes or that may not stand in a cell kept as it is: control
# characters, the unit separator that joins a row's cells, and Unicode spaces.
NOT_SPACE = "\\x00-\\x20\\x7f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
XLSX_SUFFIXES = (".xlsx", ".xlsm")
DELETE_CONFIRM_SHARE = Decimal("0.05")
"""A replace deleting more than this share of a branch-month's stored rows needs confirming."""
CREATED, UPDATED, DELETED, UNCHANGED = "created", "updated", "deleted", "unchanged"


# --- errors and results ---------------------------------------------------------------------

class RowError(NamedTuple):
    """One problem: spreadsheet row (None for the file as a whole), column name, reason."""

    row: int | None
    column: str
    reason: str

    def __str__(self):
        if self.row is None:
            return f"{self.column}: {self.reason}" if self.column else self.reason
        if not self.column:
            return _("row %(row)d: %(reason)s") % {"row": self.row, "reason": self.reason}
        return _("row %(row)d, column %(column)s: %(reason)s") % {
            "row": self.row, "column": self.column, "reason": self.reason}


class ImportRejected(ApplicationError):
    """The file was refused as a whole; ``errors`` lists (row, column, reason) triples."""

    def __init__(self, errors: Iterable[RowError], *, kind: str = "", filename: str = "",
                 truncated: bool = False, total: int | None = None):
        # Sorted by row so that a report reads top to bottom; file-wide errors come first.
        self.errors: list[RowError] = sorted((RowError(*error) for error in errors),
                                             key=lambda error: -1 if error.row is None else error.row)
        self.kind = kind
        self.filename = filename
        self.truncated = truncated
        count = len(self.errors)
        # How many errors were found, listed or not (at least the listed ones).
        self.total = max(total or 0, count)
        if truncated:
            message = _("%(filename)s was rejected: more than %(count)d errors; nothing was stored.") % {
                "filename": filename or kind, "count": count}
        else:
            message = ngettext(
                "%(filename)s was rejected: %(count)d error; nothing was stored.",
                "%(filename)s was rejected: %(count)d errors; nothing was stored.",
                count,
            ) % {"filename": filename or kind, "count": count}
        super().__init__(message, extra={
            "errors": [error._asdict() for error in self.errors], "truncated": truncated})


@dataclass
class ImportResult:
    """What a successful import did. ``rows`` counts the data rows read (blank rows aside)."""

    kind: str
    filename: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    replace: bool = False
    dry_run: bool = False
    batch_id: int | None = None
    # Per branch and month (month "" for kinds without one): created, updated, unchanged,
    # deleted and, on a replace, the rows stored before ("stored").
    groups: list[dict] = field(default_factory=list)
    # The groups whose deletions exceed DELETE_CONFIRM_SHARE of their stored rows.
    risky_groups: list[dict] = field(default_factory=list)

    @property
    def rows_to_delete(self) -> int:
        return sum(group[DELETED] for group in self.groups)

    def lines(self) -> list[str]:
        lines = [
            ngettext("%(filename)s: %(rows)d row imported as %(kind)s.",
                     "%(filename)s: %(rows)d rows imported as %(kind)s.", self.rows)
            % {"filename": self.filename, "rows": self.rows, "kind": self.kind},
            _("Created %(created)d, updated %(updated)d, unchanged %(unchanged)d, deleted %(deleted)d.")
            % {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
               "deleted": self.deleted},
        ]
        return lines + list(self.notes)


class DeletionNotConfirmed(ApplicationError):
    """A replace would delete more than ``DELETE_CONFIRM_SHARE`` of some branch-month's stored
    rows and was not confirmed; nothing was stored. ``result`` holds the preview."""

    def __init__(self, result: ImportResult):
        self.result = result
        figures = "; ".join(
            _("%(branch)s %(month)s: %(deleted)d of %(stored)d rows") % {
                "branch": group["branch"] or "*", "month": group["month"] or "", "deleted": group[DELETED],
                "stored": group["stored"]}
            for group in result.risky_groups)
        super().__init__(_("The replace would delete %(count)d rows, more than %(share)s %% of what is stored "
                           "(%(figures)s). Confirm the deletion to go ahead; nothing was stored.") % {
            "count": result.rows_to_delete, "share": int(DELETE_CONFIRM_SHARE * 100), "figures": figures},
            extra={"groups": result.risky_groups})


class _DryRunDone(Exception):
    """Rolls a dry run's transaction back, carrying its result out."""

    def __init__(self, result: ImportResult):
        super().__init__()
        self.result = result


class ErrorReport:
    """Collects row errors up to ``limit``; beyond it only notes that there were more."""

    def __init__(self, limit: int = MAX_ERRORS):
        self.errors: list[RowError] = []
        self.limit = limit
        self.truncated = False
        self.total = 0  # every error found, the unlisted ones too

    def add(self, row: int | None, column: str, reason: str) -> None:
        self.total += 1
        if len(self.errors) < self.limit:
            self.errors.append(RowError(row, column, str(reason)))
        else:
            self.truncated = True

    def __bool__(self):
        return bool(self.errors)

    def __len__(self):
        return len(self.errors)


class CellError(ValueError):
    """A cell's value is unacceptable; ``reason`` says why (translated)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class UnreadableFile(Exception):
    def __init__(self, reason: str, row: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.row = row


# --- columns ----------------------------------------------------------------------------------

class Column:
    """A column of a kind. ``clean`` turns the stripped cell text into a value or raises
    ``CellError``. ``pattern`` is a regular expression that only valid, unpadded cells match:
    kinds that stream many rows match a whole row against the patterns at once and fall back to
    ``clean`` only for rows that do not match.

    ``validators`` (those of rmportal.validators, shared with the model fields) check the value
    ``to_python`` gives. Numbers, dates, months, periods and codes (``ascii_digits``) refuse
    digits other than 0-9 before they are read; free text takes any."""

    pattern: str | None = None
    ascii_digits = True
    max_cell_length = 1000
    """The longest cell text the column can take (a number, a date or a formula never needs
    more); an XLSX text longer than every column's is refused before the workbook is loaded."""

    def __init__(self, name: str, *, required: bool = True, blank: bool = False, default: Any = None,
                 help_text: str = "", validators: Iterable[Callable[[Any], None]] = (),
                 ascii_digits: bool | None = None):
        self.name = name
        self.required = required  # the header must have it
        self.blank = blank  # a cell may be empty, giving ``default``
        self.default = default
        self.help_text = help_text
        self.validators = tuple(validators)
        if ascii_digits is not None:
            self.ascii_digits = ascii_digits

    def clean(self, raw: str) -> Any:
        if raw == "":
            if self.blank:
                return self.default
            raise CellError(_("a value is required"))
        if self.ascii_digits and foreign_digits(raw):
            raise CellError(_("full-width digits in “%(value)s”; type 0-9") % {"value": raw[:40]})
        value = self.to_python(raw)
        for validator in self.validators:
            try:
                validator(value)
            except ValidationError as exc:
                raise CellError(" ".join(exc.messages)) from None
        return value

    def to_python(self, raw: str) -> Any:
        return raw

    def describe(self) -> str:
        """The expected format, for the upload page."""
        return self.help_text

    def _optional(self, pattern: str) -> str:
        # Possessive (no backtracking): a row pattern of twenty cells then stays a few µs.
        return f"(?:{pattern})?+" if self.blank else f"(?:{pattern})"


class TextColumn(Column):
    """Free text: give it the ``max_length`` of the model field it fills."""

    ascii_digits = False

    def __init__(self, name: str, *, max_length: int | None = None, **kwargs):
        kwargs.setdefault("default", "")
        super().__init__(name, **kwargs)
        self.max_length = max_length

    @property
    def max_cell_length(self) -> int:
        return self.max_length or TEXT_NOTE

    def to_python(self, raw: str) -> str:
        if "\x00" in raw:
            raise CellError(_("contains a NUL character"))
        if self.max_length is not None and len(raw) > self.max_length:
            raise CellError(_("at most %(max)d characters, not %(length)d") % {
                "max": self.max_length, "length": len(raw)})
        return raw

    def describe(self) -> str:
        if self.help_text:
            return self.help_text
        if self.max_length:
            return _("text, at most %(max)d characters") % {"max": self.max_length}
        return _("text")

    @property
    def pattern(self) -> str:
        # Non-blank, no surrounding white space, no unit separator (it joins the row's cells).
        # Where digits must be ASCII, only ASCII text matches; other text is left to clean().
        edge = "[!-~]" if self.ascii_digits else f"[^{NOT_SPACE}]"
        middle = "[ -~]" if self.ascii_digits else "[^\\x00\\x1f]"
        limit = f"{{0,{self.max_length - 2}}}" if self.max_length and self.max_length >= 2 else "*"
        inner = f"{edge}(?:{middle}{limit}{edge})?"
        if self.max_length == 1:
            inner = edge
        return self._optional(inner)


class CodeColumn(TextColumn):
    """An identifier such as a branch code or employee number."""

    ascii_digits = True
    CODE = re.compile(r"[\w.@+\-]+")

    def to_python(self, raw: str) -> str:
        value = super().to_python(raw)
        if not self.CODE.fullmatch(value):
            raise CellError(_("may hold only letters, digits and @ . + - _"))
        return value

    @property
    def pattern(self) -> str:
        limit = f"{{1,{self.max_length}}}+" if self.max_length else "++"
        return self._optional(f"[\\w.@+\\-]{limit}")


class ChoiceColumn(Column):
    def __init__(self, name: str, *, choices: Iterable[str], **kwargs):
        super().__init__(name, **kwargs)
        self.choices = tuple(choices)

    def to_python(self, raw: str) -> str:
        if raw not in self.choices:
            raise CellError(_("“%(value)s” is not one of %(choices)s") % {
                "value": raw, "choices": ", ".join(self.choices)})
        return raw

    def describe(self) -> str:
        return self.help_text or _("one of %(choices)s") % {"choices": ", ".join(self.choices)}

    @property
    def pattern(self) -> str:
        # Longest first: the atomic group does not come back to try a longer choice.
        choices = sorted(self.choices, key=len, reverse=True)
        return self._optional("(?>" + "|".join(re.escape(choice) for choice in choices) + ")")


class DateColumn(Column):
    DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")

    def to_python(self, raw: str) -> dt.date:
        match = self.DATE.fullmatch(raw)
        try:
            if match is None:
                raise ValueError
            return dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            raise CellError(_("“%(value)s” is not a date (YYYY-MM-DD)") % {"value": raw}) from None

    def describe(self) -> str:
        return self.help_text or _("date, YYYY-MM-DD")

    pattern = None  # a regular expression cannot tell 2026-02-30 from a real date


class MonthColumn(Column):
    """A month ``YYYY-MM`` given as the month's first day. ``YYYY-MM-01`` is taken too, because a
    spreadsheet turns a typed 2026-01 into the date 2026-01-01. Months outside the data (before
    1990, more than a year ahead) are refused."""

    MONTH = re.compile(r"([12]\d{3})-(0[1-9]|1[0-2])(?:-01)?")

    def to_python(self, raw: str) -> dt.date:
        match = self.MONTH.fullmatch(raw)
        if match is None:
            raise CellError(_("“%(value)s” is not a month (YYYY-MM)") % {"value": raw})
        month = dt.date(int(match.group(1)), int(match.group(2)), 1)
        try:
            validate_month(month)
        except ValidationError as exc:
            raise CellError(" ".join(exc.messages)) from None
        return month

    def describe(self) -> str:
        return self.help_text or _("month, YYYY-MM")

    @property
    def pattern(self) -> str:
        # Only the years from 1990 to this one: every month of them is in range. Other years
        # (the months of next year that are allowed too) go through clean().
        years = "|".join(str(year) for year in range(timezone.localdate().year, 1989, -1))
        return self._optional(f"(?>{years})-(?>0[1-9]|1[0-2])(?:-01)?+")


_NUMBER = re.compile(r"(-?)(\d+)(?:\.(\d+))?")


class DecimalColumn(Column):
    """A decimal number with at most ``decimal_places`` decimals and ``max_digits`` digits.
    ``minimum`` bounds it from below (``minimum_exclusive`` for a strict bound)."""

    def __init__(self, name: str, *, max_digits: int, decimal_places: int,
                 minimum: Decimal | None = None, minimum_exclusive: bool = False, **kwargs):
        kwargs.setdefault("default", Decimal("0"))
        super().__init__(name, **kwargs)
        self.max_digits = max_digits
        self.decimal_places = decimal_places
        self.minimum = minimum
        self.minimum_exclusive = minimum_exclusive

    def to_python(self, raw: str) -> Decimal:
        match = _NUMBER.fullmatch(raw)
        if match is None:
            raise CellError(_("“%(value)s” is not a number") % {"value": raw})
        sign, whole, fraction = match.groups()
        if fraction and len(fraction) > self.decimal_places:
            raise CellError(ngettext("at most %(places)d decimal", "at most %(places)d decimals",
                                     self.decimal_places) % {"places": self.decimal_places})
        if len(whole.lstrip("0")) > self.max_digits - self.decimal_places:
            raise CellError(_("“%(value)s” is too large") % {"value": raw})
        value = Decimal(raw)
        if self.minimum is not None:
            if self.minimum_exclusive and value <= self.minimum:
                raise CellError(_("must be greater than %(minimum)s") % {"minimum": self.minimum})
            if value < self.minimum:
                if self.minimum == 0:
                    raise CellError(_("must not be negative"))
                raise CellError(_("must be at least %(minimum)s") % {"minimum": self.minimum})
        return value

    def describe(self) -> str:
        if self.help_text:
            return self.help_text
        text = ngettext("number with at most %(places)d decimal", "number with at most %(places)d decimals",
                        self.decimal_places) % {"places": self.decimal_places}
        if self.minimum == 0 and not self.minimum_exclusive:
            text = _("%(text)s, not negative") % {"text": text}
        elif self.minimum is not None:
            text = _("%(text)s, above %(minimum)s") % {"text": text, "minimum": self.minimum} \
                if self.minimum_exclusive else \
                _("%(text)s, at least %(minimum)s") % {"text": text, "minimum": self.minimum}
        if self.blank:
            text = _("%(text)s; blank is %(default)s") % {"text": text, "default": self.default}
        return text

    @property
    def pattern(self) -> str:
        whole = self.max_digits - self.decimal_places
        fraction = f"(?:\\.[0-9]{{1,{self.decimal_places}}}+)?+" if self.decimal_places else ""
        if self.minimum == 0 and not self.minimum_exclusive:
            sign = ""
        elif self.minimum is None:
            sign = "-?"
        else:
            return None  # other bounds need the number itself
        return self._optional(f"{sign}[0-9]{{1,{whole}}}+{fraction}")


class IntegerColumn(Column):
    def __init__(self, name: str, *, minimum: int | None = None, maximum: int | None = None, **kwargs):
        kwargs.setdefault("default", 0)
        super().__init__(name, **kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def to_python(self, raw: str) -> int:
        match = _NUMBER.fullmatch(raw)
        if match is None:
            raise CellError(_("“%(value)s” is not a number") % {"value": raw})
        sign, whole, fraction = match.groups()
        if fraction and fraction.strip("0"):
            raise CellError(_("“%(value)s” is not a whole number") % {"value": raw})
        value = int(sign + whole)
        if self.minimum is not None and value < self.minimum:
            if self.minimum == 0:
                raise CellError(_("must not be negative"))
            raise CellError(_("must be at least %(minimum)d") % {"minimum": self.minimum})
        if self.maximum is not None and value > self.maximum:
            raise CellError(_("must be at most %(maximum)d") % {"maximum": self.maximum})
        return value

    def describe(self) -> str:
        if self.help_text:
            return self.help_text
        if self.minimum is not None and self.maximum is not None and self.maximum < 1000:
            text = _("whole number from %(minimum)d to %(maximum)d") % {
                "minimum": self.minimum, "maximum": self.maximum}
        elif self.minimum == 0:
            text = _("whole number, not negative")
        elif self.minimum is not None:
            text = _("whole number, at least %(minimum)d") % {"minimum": self.minimum}
        else:
            text = _("whole number")
        if self.blank:
            text = _("%(text)s; blank is %(default)s") % {"text": text, "default": self.default}
        return text

    @property
    def pattern(self) -> str | None:
        if self.minimum == 0 and (self.maximum is None or self.maximum >= 999_999_999):
            return self._optional(r"[0-9]{1,9}+")
        return None


class EmailColumn(TextColumn):
    validator = EmailValidator()

    def __init__(self, name: str, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(name, **kwargs)

    def to_python(self, raw: str) -> str:
        value = super().to_python(raw)
        try:
            self.validator(value)
        except ValidationError:
            raise CellError(_("“%(value)s” is not a valid e-mail address") % {"value": raw}) from None
        return value

    def describe(self) -> str:
        return self.help_text or _("e-mail address")

    pattern = None


class RowPattern:
    """Validates a whole row with one regular expression built from its columns' patterns, in
    the file's column order. A match means every cell is valid as it stands; a row that does not
    match is checked cell by cell with ``Column.clean`` to find the reasons (or to accept cells
    that merely carry surrounding white space)."""

    SEPARATOR = "\x1f"

    def __init__(self, columns: list[Column]):
        self.columns = columns
        # A column with validators needs its value checked: its cells always go through clean().
        parts = [None if column.validators else column.pattern for column in columns]
        # ASCII: \\w in codes means ASCII word characters here; anything else is left to clean().
        self.regex = None if any(part is None for part in parts) else re.compile(
            self.SEPARATOR.join(parts), re.ASCII)

    def fullmatch(self, cells: list[str]) -> bool:
        return self.regex is not None and self.regex.fullmatch(self.SEPARATOR.join(cells)) is not None

    def diagnose(self, number: int, cells: list[str], report: ErrorReport) -> list[Any] | None:
        """Cleans every cell (``cells`` already stripped); reports the failures; returns the
        values, or None when the row has errors."""
        values, valid = [], True
        for column, raw in zip(self.columns, cells):
            try:
                values.append(column.clean(raw))
            except CellError as exc:
                report.add(number, column.name, exc.reason)
                valid = False
        return values if valid else None


# --- reading files ----------------------------------------------------------------------------

class Table:
    """A file's header (normalised column names) and its data rows as lists of strings, each as
    long as the header. Blank rows are skipped; a value under no column name is an error.
    ``rows_expected`` estimates the data rows (0: unknown) for ``progress``, which hears of every
    ``PROGRESS_EVERY`` rows read and of the end of the rows (the import then stores them)."""

    def __init__(self, header: list[str], source: Iterator[list[str]], report: ErrorReport, *,
                 progress: ProgressCallback | None = None, rows_expected: int = 0):
        self.header = header
        self._source = source
        self._report = report
        self.rows_read = 0
        self.rows_expected = rows_expected
        self._progress = progress

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        width = len(self.header)
        number, count = HEADER_ROW, 0
        progress, expected = self._progress, self.rows_expected
        try:
            for cells in self._source:
                number += 1
                if len(cells) != width:
                    if len(cells) > width:
                        for position in range(width, len(cells)):
                            if cells[position] and not cells[position].isspace():
                                self._report.add(number, column_letter(position),
                                                 _("a value in a column without a name"))
                                break
                        cells = cells[:width]
                    else:
                        cells = list(cells) + [""] * (width - len(cells))
                first = cells[0]
                # Most rows start with a value; only the others need the full blank test.
                if (not first or first.isspace()) and not "".join(cells).strip():
                    continue
                count += 1
                if progress is not None and count % PROGRESS_EVERY == 0:
                    progress(CHECKING, count, max(expected, count))
                yield number, cells
            if progress is not None:
                # Every kind reads all its rows before it writes: what follows is storing.
                progress(STORING, count, count)
        except READ_ERRORS as exc:
            error = _read_error(exc, number + 1)
            self._report.add(error.row, "", error.reason)
        finally:
            self.rows_read = count


def column_letter(position: int) -> str:
    """The spreadsheet letter of a 0-based column position (0 → A)."""
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _is_xlsx(fileobj, filename: str) -> bool:
    name = (filename or "").lower()
    if name.endswith(XLSX_SUFFIXES):
        return True
    if name.endswith((".csv", ".txt")):
        return False
    # No telling suffix: an XLSX file is a ZIP archive.
    try:
        if fileobj.seekable():
            position = fileobj.tell()
            head = fileobj.read(4)
            fileobj.seek(position)
            return head == b"PK\x03\x04"
    except (AttributeError, OSError):
        pass
    return False


class _ByteReader(io.RawIOBase):
    """Lets io.BufferedReader read any object that has ``read``, without ever closing it."""

    def __init__(self, fileobj):
        self._fileobj = fileobj

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._fileobj.read(len(buffer))
        if isinstance(data, str):
            data = data.encode("utf-8")
        size = len(data)
        buffer[:size] = data
        return size


def _text_stream(fileobj):
    """A text stream over ``fileobj``; returns (stream, detach) where detach leaves the caller's
    file open."""
    if isinstance(fileobj, io.TextIOBase):
        return fileobj, lambda: None
    raw = fileobj if isinstance(fileobj, (io.BufferedIOBase, io.RawIOBase)) else \
        io.BufferedReader(_ByteReader(fileobj), 1 << 16)
    stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    return stream, stream.detach


READ_ERRORS = (UnreadableFile, UnicodeDecodeError, csv.Error)


def _read_error(exc: Exception, row: int | None) -> UnreadableFile:
    """The UnreadableFile for an error raised while reading the row numbered ``row``."""
    if isinstance(exc, UnreadableFile):
        return exc
    if isinstance(exc, UnicodeDecodeError):
        # Text is decoded in blocks, so the row cannot be told.
        return UnreadableFile(_("the file is not UTF-8 text; save it as “CSV UTF-8” or XLSX"))
    return UnreadableFile(_("the CSV file cannot be read: %(error)s") % {"error": exc}, row=row)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


class _XlsxSource:
    """The first sheet's rows as lists of text. ``declared_rows`` is the sheet size the file
    states (header included), known once the first row is read: a progress estimate only."""

    def __init__(self, fileobj):
        self.declared_rows = 0
        self._rows = self._read(fileobj)

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        return next(self._rows)

    def close(self) -> None:
        self._rows.close()

    def _read(self, fileobj) -> Iterator[list[str]]:
        from openpyxl import load_workbook

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl warns about styles it does not need
                workbook = load_workbook(fileobj, read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds (BadZipFile, KeyError, InvalidFileException …)
            raise UnreadableFile(_("the file is not a readable XLSX workbook")) from None
        try:
            if not workbook.worksheets:
                return
            sheet = workbook.worksheets[0]
            try:
                self.declared_rows = int(sheet.max_row or 0)
            except (TypeError, ValueError):
                self.declared_rows = 0
            # Some writers store a wrong sheet size; read what is there instead.
            sheet.reset_dimensions()
            for values in sheet.iter_rows(values_only=True):
                yield [_cell_text(value) for value in values]
        finally:
            workbook.close()


XML_CHUNK = 1 << 16


class _CellTooLong(Exception):
    pass


def xlsx_check(fileobj, *, max_cell_length: int) -> None:
    """Refuses (``UnreadableFile``) an XLSX file that would take a worker's memory or time
    before openpyxl opens it: a ZIP archive that unpacks to more than
    ``XLSX_MAX_UNCOMPRESSED_BYTES``, a member over 1 MB compressed more than
    ``XLSX_MAX_COMPRESSION_RATIO``:1 (a zip bomb), shared strings over
    ``XLSX_MAX_SHARED_STRINGS_BYTES`` (openpyxl holds them all), or a text in the shared strings
    or a sheet longer than ``max_cell_length``, the longest cell any column of the kind takes.
    The texts are streamed through expat in blocks, so a single huge string is never held.
    ``fileobj`` is left where it was."""
    position = fileobj.tell()
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnreadableFile(_("the file is not a readable XLSX workbook")) from None
    try:
        members = archive.infolist()
        total = sum(member.file_size for member in members)
        if total > settings.XLSX_MAX_UNCOMPRESSED_BYTES:
            raise UnreadableFile(_("the workbook unpacks to %(size)d MB, more than the %(limit)d MB allowed") % {
                "size": total // (1 << 20), "limit": settings.XLSX_MAX_UNCOMPRESSED_BYTES // (1 << 20)})
        ratio = settings.XLSX_MAX_COMPRESSION_RATIO
        for member in members:
            if member.file_size > (1 << 20) and member.file_size > ratio * max(member.compress_size, 1):
                raise UnreadableFile(_("%(member)s in the workbook is compressed more than %(ratio)d:1; "
                                       "such a file is refused") % {"member": member.filename, "ratio": ratio})
        names = {member.filename.lower(): member for member in members}
        shared = names.get("xl/sharedstrings.xml")
        if shared is not None and shared.file_size > settings.XLSX_MAX_SHARED_STRINGS_BYTES:
            raise UnreadableFile(_("the workbook's texts take %(size)d MB, more than the %(limit)d MB allowed") % {
                "size": shared.file_size // (1 << 20),
                "limit": settings.XLSX_MAX_SHARED_STRINGS_BYTES // (1 << 20)})
        parts = [member for name, member in sorted(names.items())
                 if name == "xl/sharedstrings.xml" or (name.startswith("xl/worksheets/") and name.endswith(".xml"))]
        for member in parts:
            try:
                _xml_texts_check(archive, member, max_cell_length,
                                 exact=member.filename.lower() == "xl/sharedstrings.xml")
            except _CellTooLong:
                raise UnreadableFile(_("a cell holds more than %(max)d characters, more than any column of "
                                       "this kind takes") % {"max": max_cell_length}) from None
            except (expat.ExpatError, zipfile.BadZipFile, OSError, EOFError, ValueError):
                raise UnreadableFile(_("the file is not a readable XLSX workbook")) from None
    finally:
        archive.close()
        fileobj.seek(position)


def _xml_texts_check(archive: zipfile.ZipFile, member: zipfile.ZipInfo, max_cell_length: int, *,
                     exact: bool) -> None:
    """Raises _CellTooLong when a text between two tags of ``member`` is longer than
    ``max_cell_length``; reads the member in blocks, counting, never keeping the text.

    ``exact`` counts every text whole (the shared strings, which openpyxl would load at once).
    Otherwise (a sheet, which openpyxl streams row by row, and whose cells the columns check
    again) only the pieces expat hands over are measured, several times faster on a large
    sheet: a text is caught once a piece of it, cut at most at block ends, is too long, so no
    text longer than two blocks gets through."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    block_size = max(XML_CHUNK, 8 * max_cell_length + 8)
    # A buffer this size, full, holds more than max_cell_length characters (at most 4 bytes each).
    parser.buffer_size = 4 * max_cell_length + 4
    run = 0

    def boundary(*args):
        nonlocal run
        run = 0

    def text(data):
        nonlocal run
        run += len(data)
        if run > max_cell_length:
            raise _CellTooLong

    def piece(data):
        if len(data) > max_cell_length:
            raise _CellTooLong

    if exact:
        parser.StartElementHandler = boundary
        parser.EndElementHandler = boundary
        parser.CharacterDataHandler = text
    else:
        # A handler on element starts makes expat hand over the text before each; a C function
        # that accepts two arguments does that without a Python call per cell.
        parser.StartElementHandler = operator.is_
        parser.CharacterDataHandler = piece
    with archive.open(member) as stream:
        while block := stream.read(block_size):
            parser.Parse(block, False)
        parser.Parse(b"", True)


def _count_lines(fileobj) -> int:
    """The lines of a seekable file, read in blocks and rewound: an estimate of a CSV file's rows
    (blank lines and line breaks inside cells count too). 0 when the file cannot be rewound."""
    if not _seekable(fileobj):
        return 0
    try:
        position = fileobj.tell()
        lines, last = 0, None
        while True:
            block = fileobj.read(1 << 20)
            if not block:
                break
            lines += block.count(b"\n" if isinstance(block, bytes) else "\n")
            last = block[-1:]
        fileobj.seek(position)
    except (OSError, ValueError):
        return 0
    if last is not None and last not in (b"\n", "\n"):
        lines += 1  # the last line has no line break
    return lines


@contextmanager
def open_table(fileobj, *, filename: str, report: ErrorReport, progress: ProgressCallback | None = None,
               max_cell_length: int = TEXT_NOTE):
    """Opens ``fileobj`` as a Table, or yields None after reporting why it cannot be read. With
    ``progress``, the table estimates its rows first and reports them as they are read. An XLSX
    file is checked first (``xlsx_check``), its texts against ``max_cell_length``."""
    if isinstance(fileobj, File):
        fileobj = fileobj.file
        if hasattr(fileobj, "seek"):
            fileobj.seek(0)
    cleanup = []
    lines = 0  # the file's lines, header included, when progress is shown
    try:
        if _is_xlsx(fileobj, filename):
            if not _seekable(fileobj):
                # A ZIP archive is read from its end: spool a stream to a temporary file first.
                spooled = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
                shutil.copyfileobj(fileobj, spooled)
                spooled.seek(0)
                cleanup.append(spooled.close)
                fileobj = spooled
            try:
                xlsx_check(fileobj, max_cell_length=max_cell_length)
            except UnreadableFile as exc:
                report.add(None, "", exc.reason)
                yield None
                return
            source = _XlsxSource(fileobj)
        else:
            if progress is not None:
                lines = _count_lines(fileobj)
            stream, detach = _text_stream(fileobj)
            cleanup.append(detach)
            source = csv.reader(stream, strict=False)
        if hasattr(source, "close"):
            cleanup.append(source.close)
        try:
            header_cells = next(source, None)
        except READ_ERRORS as exc:
            error = _read_error(exc, HEADER_ROW)
            report.add(error.row, "", error.reason)
            yield None
            return
        if header_cells is None:
            report.add(None, "", _("the file is empty"))
            yield None
            return
        header = [cell.strip().lstrip("\ufeff").strip().lower() for cell in header_cells]
        while header and not header[-1]:
            header.pop()
        if not header:
            report.add(HEADER_ROW, "", _("the first row must name the columns"))
            yield None
            return
        if isinstance(source, _XlsxSource):
            lines = source.declared_rows  # read with the first row
        yield Table(header, source, report, progress=progress, rows_expected=max(lines - HEADER_ROW, 0))
    finally:
        for close in reversed(cleanup):
            try:
                close()
            except Exception:  # noqa: BLE001 (closing must not hide the import's own outcome)
                pass


def _seekable(fileobj) -> bool:
    try:
        return bool(fileobj.seekable())
    except (AttributeError, OSError, ValueError):
        return False


# --- importers and their registry -------------------------------------------------------------

class Importer:
    """One kind of file. Subclasses set ``kind``, ``label`` and ``columns`` and implement ``run``,
    which validates (reporting into ``report``) and, when the report stays empty, stores.
    ``run`` is called inside the import's transaction; when the report holds errors afterwards
    everything it wrote is rolled back. A kind with a long step after storing (a recompute)
    announces it with ``report_stage``."""

    kind: ClassVar[str]
    label: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    required_action: ClassVar[tuple[str, str]] = ("import", "clients.ImportJob")
    """The action (on the model named ``app_label.Model``) a user needs to import the kind."""
    supports_replace: ClassVar[bool] = False
    """Whether the kind offers the replace mode (``self.replace``)."""
    undoable: ClassVar[bool] = False
    """Whether the kind records every row it changes (``record_rows``), so its batches can be undone."""
    undo_restores_first: ClassVar[bool] = False
    """Whether an undo puts the updated rows back before it removes the created ones: set it
    when updated rows may point at rows the batch created (a branch moved to a new region)."""
    do_not_call_in_templates = True  # templates list the classes themselves

    def __init__(self, *, filename: str, user=None, progress: ProgressCallback | None = None,
                 replace: bool = False, batch=None):
        self.filename = filename
        self.user = user
        self.today = timezone.localdate()
        self.progress = progress
        self.replace = replace
        self.batch = batch  # the clients.ImportBatch recording what this import changes
        self.groups: dict[tuple[str, str], dict[str, int]] = {}

    def tally(self, branch: str, month: str, action: str, count: int = 1) -> None:
        """Counts ``count`` rows of ``action`` (or ``"stored"``: rows held before a replace) for
        the preview's branch-month group (``month`` "" for kinds without one)."""
        group = self.groups.setdefault((branch or "", month or ""), dict.fromkeys(
            (CREATED, UPDATED, UNCHANGED, DELETED, "stored"), 0))
        group[action] += count

    def record_rows(self, model, action: str, pks: Iterable[int] | None = None, *,
                    pk_sql: str | None = None, params: Iterable = ()) -> int:
        """Records rows of ``model`` this import is about to update or delete (their
        before-image) or has just created (their key) in its batch; see ``batch_rows_record``."""
        return batch_rows_record(batch_id=self.batch.pk, model=model, action=action, pks=pks,
                                 pk_sql=pk_sql, params=params)

    @classmethod
    def undo_problem(cls, *, batch) -> str | None:
        """Why the kind's ``batch`` cannot be undone beyond the rules every batch follows (see
        ``rmportal.import_batches``), or None."""
        return None

    @classmethod
    def undo_reach(cls, *, batch) -> tuple[list[str], list[str]]:
        """The months ("YYYY-MM") and branch codes whose figures undoing ``batch`` changes, for
        the rule that approved appraisals stay frozen."""
        return list(batch.months), list(batch.branches)

    @classmethod
    def undo_prepare(cls, *, batch) -> None:
        """Called by an undo of ``batch`` once it recorded what it replaces and before it writes."""

    @classmethod
    def after_undo(cls, *, batch) -> None:
        """Recomputes what depends on the kind's rows after an undo restored those of ``batch``
        (its ``months``, ``branches`` and ``groups`` say where)."""

    def plan_upsert(self, *, wanted: dict, stored: dict, build: Callable[[Any, dict], Any],
                    scope: Iterable[tuple[tuple[str, str], Any, Any]] = ()) -> tuple[list, list, list]:
        """Plans an upsert by business key, for kinds written through the ORM: ``wanted`` maps
        each key of the file to (group, attrs), ``stored`` the stored object of each key the
        file names, ``build(key, attrs)`` makes a new object. On a replace, ``scope`` yields
        (group, key, object) for every stored object of the groups the file names, and those the
        file lacks are to be deleted. Counts every row for the preview, records the
        before-images of the objects to update and delete (call it before writing; the objects
        are changed in memory only) and returns (new, changed, doomed). Record the new objects
        with ``record_rows(model, CREATED, …)`` once they are saved."""
        new, changed = [], []
        for key, (group, attrs) in wanted.items():
            obj = stored.get(key)
            if obj is None:
                new.append(build(key, attrs))
                self.tally(*group, CREATED)
            elif assign_changed(obj, attrs):
                changed.append(obj)
                self.tally(*group, UPDATED)
            else:
                self.tally(*group, UNCHANGED)
        doomed = []
        if self.replace:
            groups = {group for group, _attrs in wanted.values()}
            for group, key, obj in scope:
                if group in groups:
                    self.tally(*group, "stored")
                    if key not in wanted:
                        doomed.append(obj)
                        self.tally(*group, DELETED)
        for objects, action in ((changed, UPDATED), (doomed, DELETED)):
            if objects:
                self.record_rows(type(objects[0]), action, [obj.pk for obj in objects])
        return new, changed, doomed

    def tally_keys(self, groups: dict, *, created: Iterable, updated: Iterable) -> None:
        """Counts the rows of a kind that does its own upsert: ``groups`` maps every key of the
        file to its (branch, month) group; keys neither created nor updated were unchanged."""
        created, updated = set(created), set(updated)
        for key, group in groups.items():
            self.tally(*group, CREATED if key in created else UPDATED if key in updated else UNCHANGED)

    def group_table(self) -> list[dict]:
        return [{"branch": branch, "month": month, **counts}
                for (branch, month), counts in sorted(self.groups.items())]

    def report_stage(self, stage: str, table: Table) -> None:
        """Tells the progress callback, if any, that the import moved on to ``stage`` with every
        row read."""
        if self.progress is not None:
            self.progress(stage, table.rows_read, table.rows_read)

    @classmethod
    def column(cls, name: str) -> Column:
        for column in cls.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @classmethod
    def max_cell_length(cls) -> int:
        """The longest cell text any column of the kind takes."""
        return max(column.max_cell_length for column in cls.columns)

    @classmethod
    def may_import(cls, user) -> bool:
        action, model = cls.required_action
        return scoping.role_may(user, action, apps.get_model(model))

    def check_header(self, header: list[str], report: ErrorReport) -> None:
        known = {column.name for column in self.columns}
        seen = set()
        for position, name in enumerate(header):
            if not name:
                report.add(HEADER_ROW, column_letter(position), _("the column has no name"))
            elif name not in known:
                report.add(HEADER_ROW, name, _("unknown column; the columns of %(kind)s are %(columns)s") % {
                    "kind": self.kind, "columns": ", ".join(column.name for column in self.columns)})
            elif name in seen:
                report.add(HEADER_ROW, name, _("the column appears twice"))
            seen.add(name)
        for column in self.columns:
            if column.required and column.name not in seen:
                report.add(HEADER_ROW, column.name, _("required column is missing"))

    def records(self, table: Table, report: ErrorReport) -> Iterator[tuple[int, dict[str, Any]]]:
        """The rows whose every cell is valid, as (row number, {column: value}); columns the file
        lacks take their default. Invalid cells are reported and their rows skipped."""
        present = [(position, self.column(name)) for position, name in enumerate(table.header)]
        absent = {column.name: column.default for column in self.columns if column.name not in table.header}
        for number, cells in table.rows():
            values, valid = dict(absent), True
            for position, column in present:
                try:
                    values[column.name] = column.clean(cells[position].strip())
                except CellError as exc:
                    report.add(number, column.name, exc.reason)
                    valid = False
            if valid:
                yield number, values

    def result(self, **counts) -> ImportResult:
        return ImportResult(kind=self.kind, filename=self.filename, **counts)

    @property
    def change_reason(self) -> str:
        """The reason written into audit history for what this import changes."""
        return _("Import of %(filename)s (%(kind)s)") % {"filename": self.filename, "kind": self.kind}

    def run(self, table: Table, report: ErrorReport) -> ImportResult:
        raise NotImplementedError


# Helpers for the kinds' run() methods.

LOOKUP_CHUNK = 5000


def chunks(values: Iterable, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def lookup(queryset, field: str, values: Iterable) -> list:
    """``queryset.filter(field__in=values)`` in chunks, so that large files stay within the
    database's limit on query parameters."""
    found = []
    for chunk in chunks(set(values)):
        found.extend(queryset.filter(**{f"{field}__in": chunk}))
    return found


def assign_changed(obj, attrs: dict) -> bool:
    """Sets ``attrs`` on ``obj``; whether anything changed."""
    changed = False
    for name, value in attrs.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def duplicate_message(value, first_row: int) -> str:
    return _("“%(value)s” appears already in row %(row)d") % {"value": value, "row": first_row}



_registry: dict[str, type[Importer]] = {}
_discovered = False


def register_importer(importer_class: type[Importer]) -> type[Importer]:
    """Class decorator: makes ``importer_class.kind`` importable by the page, the command and
    ``run_import``. Put it in your app's ``importers.py``; that module is discovered on first use."""
    kind = getattr(importer_class, "kind", None)
    if not kind or not getattr(importer_class, "columns", None):
        raise ImproperlyConfigured(f"{importer_class.__name__} needs a kind and columns")
    _registry[kind] = importer_class
    return importer_class


def _discover() -> None:
    global _discovered
    if not _discovered:
        autodiscover_modules("importers")
        _discovered = True


def importer_kinds() -> dict[str, type[Importer]]:
    """Every registered kind, by name, in name order."""
    _discover()
    return dict(sorted(_registry.items()))


def importer_for(kind: str) -> type[Importer]:
    _discover()
    try:
        return _registry[kind]
    except KeyError:
        raise ApplicationError(_("Unknown kind of import “%(kind)s”; known kinds: %(kinds)s") % {
            "kind": kind, "kinds": ", ".join(sorted(_registry))}) from None


def batch_rows_record(*, batch_id: int, model, action: str, pks: Iterable[int] | None = None,
                      pk_sql: str | None = None, params: Iterable = ()) -> int:
    """Records rows of ``model`` in the import batch ``batch_id``: for ``updated`` and
    ``deleted`` the row as it stands now (call it before writing), for ``created`` only the key
    (call it after). The rows are given by ``pks`` or, on PostgreSQL, by ``pk_sql``, a SELECT of
    their keys with ``params``. Set-based: on PostgreSQL one INSERT … SELECT from the table itself;
    elsewhere a bulk read and a bulk insert per chunk. A row recorded already in the batch keeps
    its first image (the state before the import). Returns the rows recorded."""
    Row = apps.get_model("clients", "ImportBatchRow")
    label = model._meta.label_lower
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        pk = quote(model._meta.pk.column)
        before = "NULL" if action == CREATED else "to_jsonb(t)"
        if pk_sql is None:
            pk_sql, params = "SELECT unnest(%s::bigint[])", [list(pks or ())]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(Row._meta.db_table)} (batch_id, model, object_pk, action, before) "
                f"SELECT %s, %s, t.{pk}, %s, {before} FROM {quote(model._meta.db_table)} t "
                f"WHERE t.{pk} IN ({pk_sql}) ON CONFLICT DO NOTHING",
                [batch_id, label, action, *params])
            return cursor.rowcount
    if pk_sql is not None:
        raise ImproperlyConfigured("pk_sql needs PostgreSQL")
    fields = model._meta.concrete_fields
    recorded = 0
    for chunk in chunks(pks or ()):
        if action == CREATED:
            images = [(pk, None) for pk in chunk]
        else:
            images = [(row[model._meta.pk.attname], json.loads(json.dumps(
                {f.column: row[f.attname] for f in fields}, cls=DjangoJSONEncoder)))
                for row in model.objects.filter(pk__in=chunk).values(*(f.attname for f in fields))]
        Row.objects.bulk_create([Row(batch_id=batch_id, model=label, object_pk=pk, action=action, before=before)
                                 for pk, before in images], ignore_conflicts=True)
        recorded += len(images)
    return recorded


def batch_created_rows_in_use(*, batch, derived: Iterable[str] = ()) -> str | None:
    """Why the rows ``batch`` created cannot be removed by an undo, or None: some row that did
    not come from the batch now points at one of them (a client since given monthly data, an
    employee since given clients). Tables in ``derived`` (app_label.model) hold figures computed
    from other data, which go with the rows. One query per relation, whatever the batch's size."""
    Row = apps.get_model("clients", "ImportBatchRow")
    derived = set(derived)
    labels = (Row.objects.filter(batch=batch, action=CREATED).values_list("model", flat=True)
              .distinct().order_by("model"))
    for label in labels:
        model = apps.get_model(label)
        created = Row.objects.filter(batch=batch, model=label, action=CREATED).values("object_pk")
        for relation in model._meta.related_objects:
            related = relation.related_model
            related_label = related._meta.label_lower
            if relation.many_to_many or related_label in derived:
                continue
            column = relation.field.attname
            pointing = related._base_manager.filter(**{f"{column}__in": created})
            if isinstance(related._meta.pk, IntegerField):  # batches record rows by integer key
                # Rows of the batch itself are put back or removed by the same undo.
                pointing = pointing.exclude(
                    pk__in=Row.objects.filter(batch=batch, model=related_label).values("object_pk"))
            target = pointing.order_by(column).values_list(column, flat=True).first()
            if target is not None:
                return _("The %(model)s “%(object)s”, created by this import, now has %(what)s that did not "
                         "come from this import, so it cannot be removed.") % {
                    "model": model._meta.verbose_name, "object": model._base_manager.get(pk=target),
                    "what": related._meta.verbose_name_plural}
    return None


def run_import(kind: str, fileobj, *, filename: str, user=None,
               progress: ProgressCallback | None = None, replace: bool = False, dry_run: bool = False,
               confirm_delete: bool = False, job=None) -> ImportResult:
    """Imports the CSV or XLSX file ``fileobj`` (binary or text file object) as ``kind``: all rows
    or none (DOMAIN 6). ``user`` None means a trusted caller such as a management command; a
    given user must hold a role the kind allows (HR by default) or ``PermissionDenied`` is raised.
    Raises ``ImportRejected`` with every (row, column, reason) when any row is bad. ``progress``
    hears how far the import got (see the module's docstring); it is called inside the import's
    transaction, so whatever it writes to the database must go through another connection to be
    seen before the end.

    The import upserts; ``replace`` also deletes what the file lacks in its branches (and months).
    ``dry_run`` stores nothing and returns the preview (``ImportResult.groups``). A replace
    deleting more than ``DELETE_CONFIRM_SHARE`` of a branch-month's rows raises
    ``DeletionNotConfirmed`` unless ``confirm_delete``. What is stored is recorded as an
    ``ImportBatch`` (``result.batch_id``), linked to ``job`` when given."""
    importer_class = importer_for(kind)
    if user is not None and not importer_class.may_import(user):
        raise PermissionDenied(_("You may not import %(kind)s.") % {"kind": kind})
    if replace and not importer_class.supports_replace:
        raise ApplicationError(_("Files of %(kind)s cannot replace what is stored; import them without "
                                 "replacing.") % {"kind": kind})
    importer = importer_class(filename=filename, user=user, progress=progress, replace=replace)
    Batch = apps.get_model("clients", "ImportBatch")
    report = ErrorReport()
    started = time.monotonic()

    def rejected():
        return ImportRejected(report.errors, kind=kind, filename=filename, truncated=report.truncated,
                              total=report.total)

    with open_table(fileobj, filename=filename, report=report, progress=progress,
                    max_cell_length=importer_class.max_cell_length()) as table:
        if table is None:
            raise rejected()
        importer.check_header(table.header, report)
        if report:
            raise rejected()
        if progress is not None:
            progress(CHECKING, 0, table.rows_expected)
        try:
            with transaction.atomic():
                importer.batch = batch = Batch.objects.create(
                    kind=kind, filename=filename[:255], job=job,
                    created_by=user if getattr(user, "pk", None) else None,
                    mode=Batch.Mode.REPLACE if replace else Batch.Mode.UPSERT)
                result = importer.run(table, report)
                if not report and table.rows_read == 0:
                    report.add(None, "", _("the file holds no data rows"))
                if report:
                    raise rejected()
                result.replace = replace
                result.groups = importer.group_table()
                if importer.groups:  # the counts per group are the kind's exact figures
                    for action in (CREATED, UPDATED, UNCHANGED, DELETED):
                        setattr(result, action, sum(group[action] for group in result.groups))
                result.risky_groups = [
                    group for group in result.groups
                    if group[DELETED] and group[DELETED] > group["stored"] * DELETE_CONFIRM_SHARE]
                if dry_run:
                    raise _DryRunDone(result)
                if result.risky_groups and not confirm_delete:
                    raise DeletionNotConfirmed(result)
                batch.created, batch.updated = result.created, result.updated
                batch.unchanged, batch.deleted = result.unchanged, result.deleted
                batch.months = sorted({group["month"] for group in result.groups if group["month"]})
                batch.branches = sorted({group["branch"] for group in result.groups if group["branch"]})
                batch.groups = result.groups
                batch.save()
                result.batch_id = batch.pk
        except _DryRunDone as done:
            result = done.result
            result.dry_run = True
            result.seconds = time.monotonic() - started
            return result
    dashboard_data_changed()
    result.seconds = time.monotonic() - started
    return result
