"""Business data in through the API: ``POST /api/v1/imports/monthly/`` (DOMAIN 2.1, 6).

A CSV or XLSX file (multipart, field ``file``) or a JSON body ``{"rows": [{column: value, …}]}``.
JSON rows are written out as a CSV table, keys as the header, so both go through ``run_import``
with the same validation and the same all-or-nothing rule as the upload page and the command.
Row numbers in a report count as in a file: the header is row 1, so ``rows[0]`` is row 2.
"""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from rmportal.api.parsers import DecimalJSONParser
from rmportal.api.schema import ErrorSerializer
from rmportal.importing import (XLSX_SUFFIXES, ChoiceColumn, DecimalColumn, ImportRejected, IntegerColumn,
                                importer_for, run_import)

MONTHLY = "monthly"


def _cell(value) -> str:
    """A JSON value as the text of a CSV cell; what is not text or a number fails the column's check."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (str, int)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def rows_as_table(rows: list, *, label: str) -> io.StringIO:
    """The JSON rows as CSV text: the keys in order of first appearance form the header; a key
    a row lacks is a blank cell. An element that is not an object rejects the whole request."""
    problems = [(number, "", _("a row is an object of column names and values"))
                for number, row in enumerate(rows, start=2) if not isinstance(row, dict)]
    if problems:
        raise ImportRejected(problems, kind=MONTHLY, filename=label)
    if not rows:
        raise ImportRejected([(None, "rows", _("no rows were sent"))], kind=MONTHLY, filename=label)
    header = list(dict.fromkeys(key for row in rows for key in row))
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_cell(row.get(key)) for key in header] for row in rows)
    text.seek(0)
    return text


# --- schema -------------------------------------------------------------------------------------

def _row_field(column):
    help_text = column.describe()
    if isinstance(column, IntegerColumn):
        return serializers.IntegerField(required=column.required, allow_null=True, min_value=0, help_text=help_text)
    if isinstance(column, DecimalColumn):
        return serializers.DecimalField(max_digits=column.max_digits, decimal_places=column.decimal_places,
                                        required=column.required, allow_null=True, help_text=help_text)
    if isinstance(column, ChoiceColumn):
        return serializers.ChoiceField(choices=column.choices, required=column.required, allow_blank=True,
                                       allow_null=True, help_text=help_text)
    return serializers.CharField(required=column.required, help_text=help_text)


def _monthly_row_serializer():
    fields = {column.name: _row_field(column) for column in importer_for(MONTHLY).columns}
    return type("MonthlyRowSerializer", (serializers.Serializer,), fields)


class MonthlyRowsSerializer(serializers.Serializer):
    """Documents the JSON body; the rows themselves are checked by the importer, like a file's."""

    rows = serializers.ListField(child=_monthly_row_serializer()(), help_text=gettext_lazy(
        "One object per client and month with the columns of DOMAIN 2.1; a missing amount is 0."))


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=gettext_lazy("CSV (UTF-8) or XLSX with a header row."))


class ImportResultSerializer(serializers.Serializer):
    kind = serializers.CharField()
    filename = serializers.CharField()
    rows = serializers.IntegerField(help_text=gettext_lazy("Data rows read."))
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    deleted = serializers.IntegerField(help_text=gettext_lazy("Stored rows removed (only when replacing)."))
    notes = serializers.ListField(child=serializers.CharField())
    # A duration, not money: a decimal number of seconds, shown as a JSON number.
    seconds = serializers.DecimalField(max_digits=10, decimal_places=3, coerce_to_string=False)


JSON_ROWS_EXAMPLE = {"rows": [
    {"client_no": "C0000001", "month": "2026-01", "deposit_avg_balance": "500000.00",
     "deposit_interest_expense": "250.00", "deposit_accounts": 2, "loan_avg_balance": "1200000.00",
     "loan_interest_income": "4500.00", "loan_accounts": 1, "loan_term": "1y_3y", "wm_income": "1200.00",
     "wm_expense": "300.00", "wm_tx_count": 3},
]}
STORED_EXAMPLE = {"kind": "monthly", "filename": "2026-01.csv", "rows": 1, "created": 1, "updated": 0,
                  "unchanged": 0, "deleted": 0, "notes": ["Months updated: 2026-01."], "seconds": 0.12}
REJECTED_EXAMPLE = {"detail": "2026-01.csv was rejected: 1 error; nothing was stored.",
                    "errors": {"rows": [{"row": 3, "column": "deposit_avg_balance", "reason": "must not be negative"}],
                               "truncated": False}}


class ImportViewSet(viewsets.ViewSet):
    parser_classes = [DecimalJSONParser, MultiPartParser]

    @extend_schema(
        summary=gettext_lazy("Import monthly business data"),
        description=gettext_lazy(
            "HR pushes a month's business data per client (DOMAIN 2.1): a CSV or XLSX file as multipart "
            "field `file`, or a JSON body `{\"rows\": [...]}`. Rows are added or updated by client and month; other stored rows are left alone. All or "
            "nothing: any bad row rejects the request, nothing is stored, and the 400 answer lists row, "
            "column and reason for each problem (row 2 is the first data row, `rows[0]`). 201 when rows "
            "were stored, with the counts."),
        tags=["imports"],
        request={"application/json": MonthlyRowsSerializer, "multipart/form-data": UploadSerializer},
        responses={201: ImportResultSerializer, 200: ImportResultSerializer,
                   400: OpenApiResponse(ErrorSerializer, description=gettext_lazy(
                       "Rejected; nothing was stored. `errors.rows` lists row, column and reason."))},
        examples=[
            OpenApiExample("json-rows", summary=gettext_lazy("JSON rows"), request_only=True,
                           media_type="application/json", value=JSON_ROWS_EXAMPLE),
            OpenApiExample("stored", summary=gettext_lazy("Stored"), response_only=True, status_codes=["201"],
                           value=STORED_EXAMPLE),
            OpenApiExample("rejected", summary=gettext_lazy("Rejected"), response_only=True, status_codes=["400"],
                           value=REJECTED_EXAMPLE),
        ],
    )
    @action(detail=False, methods=["post"])
    def monthly(self, request):
        if not importer_for(MONTHLY).may_import(request.user):
            raise PermissionDenied(_("You may not import %(kind)s.") % {"kind": MONTHLY})
        if "file" in request.FILES:
            upload = UploadSerializer(data=request.data)
            upload.is_valid(raise_exception=True)
            source, filename = upload.validated_data["file"], upload.validated_data["file"].name
            if not filename.lower().endswith((".csv", *XLSX_SUFFIXES)):
                raise serializers.ValidationError({"file": [_("Upload a .csv or .xlsx file.")]})
        else:
            rows = request.data.get("rows") if isinstance(request.data, dict) else None
            if not isinstance(rows, list):
                raise serializers.ValidationError(
                    {"rows": [_("Send a file as multipart field “file”, or a JSON object with a list “rows”.")]})
            filename = _("JSON rows")
            source = rows_as_table(rows, label=filename)
        result = run_import(MONTHLY, source, filename=filename, user=request.user)
        body = ImportResultSerializer({**result.__dict__, "seconds": round(result.seconds, 3)}).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
