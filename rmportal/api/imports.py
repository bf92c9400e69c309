"""Data in through the API: ``POST /api/v1/imports/{kind}/`` (DOMAIN 2.1, 6), for every kind the
user may import (HR: all but the RMs' statements).

A CSV or XLSX file (multipart, field ``file``) or a JSON body ``{"rows": [{column: value, …}]}``.
JSON rows are written out as a CSV table, keys as the header, so both are imported by the same
background job as an upload on the import page (``import_job_create``), with the same validation
and the same all-or-nothing rule. The answer is ``202 Accepted`` with the job's address
(``Location``); ``GET /api/v1/imports/jobs/{id}/`` tells its status, progress, counts, or the
errors by row, column and reason. Row numbers count as in a file: the header is row 1, so
``rows[0]`` is row 2.
"""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from rmportal.api.parsers import DecimalJSONParser, RequestTooLarge
from rmportal.api.schema import ErrorSerializer
from clients.models import ImportJob
from rmportal.errors import ApplicationError
from rmportal.import_jobs import import_job_create, import_jobs
from rmportal.importing import (XLSX_SUFFIXES, ChoiceColumn, DecimalColumn, ImportRejected, IntegerColumn,
                                TextColumn, importer_for, importer_kinds)
from rmportal.validators import upload_too_large_message

MONTHLY = "monthly"
MULTIPART_OVERHEAD = 64 * 1024
"""Bytes a multipart body may hold beyond its file (boundaries, headers, the other fields)."""


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


def rows_as_table(rows: list, *, label: str, kind: str = MONTHLY) -> io.StringIO:
    """The JSON rows as CSV text: the keys in order of first appearance form the header; a key
    a row lacks is a blank cell. An element that is not an object rejects the whole request."""
    problems = [(number, "", _("a row is an object of column names and values"))
                for number, row in enumerate(rows, start=2) if not isinstance(row, dict)]
    if problems:
        raise ImportRejected(problems, kind=kind, filename=label)
    if not rows:
        raise ImportRejected([(None, "rows", _("no rows were sent"))], kind=kind, filename=label)
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
    if isinstance(column, TextColumn) and column.max_length:
        return serializers.CharField(required=column.required, max_length=column.max_length, help_text=help_text)
    return serializers.CharField(required=column.required, help_text=help_text)


def _monthly_row_serializer():
    fields = {column.name: _row_field(column) for column in importer_for(MONTHLY).columns}
    return type("MonthlyRowSerializer", (serializers.Serializer,), fields)


class MonthlyRowsSerializer(serializers.Serializer):
    """Documents the JSON body (with the columns of the monthly kind); the rows themselves are
    checked by the importer, like a file's."""

    rows = serializers.ListField(child=_monthly_row_serializer()(), help_text=gettext_lazy(
        "One object per row with the columns of the kind (DOMAIN 6); for monthly, one per client and "
        "month with the columns of DOMAIN 2.1, a missing amount being 0."))


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=gettext_lazy("CSV (UTF-8) or XLSX with a header row."))


class ImportOptionsSerializer(serializers.Serializer):
    replace = serializers.BooleanField(default=False, help_text=gettext_lazy(
        "Also delete the stored rows the file lacks, within the branches (and months) present in the file. "
        "Without it, rows are added or updated by their key and nothing else is touched."))
    confirm_delete = serializers.BooleanField(default=False, help_text=gettext_lazy(
        "Go ahead with a replace that deletes more than five percent of a branch-month's rows; without it such a "
        "job fails with the figures and stores nothing."))


class ImportJobErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text=gettext_lazy(
        "Spreadsheet row (the header is row 1, rows[0] is row 2); null for the file as a whole."))
    column = serializers.CharField()
    reason = serializers.CharField()


class ImportJobResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField(required=False, help_text=gettext_lazy("Data rows read."))
    created = serializers.IntegerField(required=False)
    updated = serializers.IntegerField(required=False)
    unchanged = serializers.IntegerField(required=False)
    deleted = serializers.IntegerField(required=False)
    notes = serializers.ListField(child=serializers.CharField(), required=False)
    seconds = serializers.CharField(required=False, help_text=gettext_lazy("Duration of the import."))
    message = serializers.CharField(required=False, help_text=gettext_lazy("What happened, in a sentence."))
    error_count = serializers.IntegerField(required=False, help_text=gettext_lazy(
        "Errors found, also those beyond the ones listed."))


class ImportJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text=gettext_lazy("This job's status address."))
    kind = serializers.CharField()
    filename = serializers.CharField()
    status = serializers.ChoiceField(choices=ImportJob.Status.values)
    replace = serializers.BooleanField()
    stage = serializers.CharField(help_text=gettext_lazy("checking, storing or recomputing while it runs."))
    rows_done = serializers.IntegerField()
    rows_total = serializers.IntegerField(help_text=gettext_lazy("An estimate until every row is read."))
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    result = ImportJobResultSerializer()
    errors = ImportJobErrorSerializer(many=True)

    def get_url(self, job) -> str:
        return _job_url(self.context["request"], job)


def _options(request) -> dict:
    """``replace`` and ``confirm_delete`` from the JSON body, a multipart field or the query string."""
    data = request.data if hasattr(request.data, "get") else {}
    options = {}
    for name in ImportOptionsSerializer().fields:
        value = data.get(name, request.query_params.get(name))
        if value is not None:
            options[name] = value
    return options


def _job_url(request, job) -> str:
    return request.build_absolute_uri(reverse("import-job", kwargs={"job_id": job.pk}))


JSON_ROWS_EXAMPLE = {"rows": [
    {"client_no": "C0000001", "month": "2026-01", "deposit_avg_balance": "500000.00",
     "deposit_interest_expense": "250.00", "deposit_accounts": 2, "loan_avg_balance": "1200000.00",
     "loan_interest_income": "4500.00", "loan_accounts": 1, "loan_term": "1y_3y", "wm_income": "1200.00",
     "wm_expense": "300.00", "wm_tx_count": 3},
]}
QUEUED_EXAMPLE = {"id": 42, "url": "https://portal.bank.local/api/v1/imports/jobs/42/", "kind": "monthly",
                  "filename": "2026-01.csv", "status": "queued", "stage": "", "rows_done": 0, "rows_total": 0,
                  "created_at": "2026-02-03T09:00:00+08:00", "started_at": None, "finished_at": None,
                  "result": {}, "errors": []}
SUCCEEDED_EXAMPLE = {**QUEUED_EXAMPLE, "status": "succeeded", "rows_done": 1, "rows_total": 1,
                     "started_at": "2026-02-03T09:00:01+08:00", "finished_at": "2026-02-03T09:00:02+08:00",
                     "result": {"rows": 1, "created": 1, "updated": 0, "unchanged": 0, "deleted": 0,
                                "notes": ["Months updated: 2026-01."], "seconds": "0.1",
                                "message": "2026-01.csv: 1 row imported as monthly."}}
FAILED_EXAMPLE = {**SUCCEEDED_EXAMPLE, "status": "failed", "rows_done": 0, "rows_total": 1,
                  "result": {"message": "2026-01.csv was rejected: 1 error; nothing was stored.", "error_count": 1},
                  "errors": [{"row": 3, "column": "deposit_avg_balance", "reason": "must not be negative"}]}
TOO_LARGE_EXAMPLE = {"detail": "The file is 120.0 MB; at most 100.0 MB may be uploaded.",
                     "errors": {"file": ["The file is 120.0 MB; at most 100.0 MB may be uploaded."]}}


class ImportViewSet(viewsets.ViewSet):
    parser_classes = [DecimalJSONParser, MultiPartParser]

    @extend_schema(
        operation_id="imports_create",
        summary=gettext_lazy("Import a file or rows of one kind"),
        description=gettext_lazy(
            "HR sends data of a kind (DOMAIN 6: branches, employees, levels, clients, monthly, parameters, "
            "callbacks, targets, budgets): a CSV or XLSX file as multipart field `file`, or a JSON body "
            "`{\"rows\": [...]}`. Rows are added or updated by their key and other stored rows are left alone, "
            "unless `replace` is true (see its description). The import runs in the background, like an upload on the import page: "
            "the answer is 202 with the job's address (also in `Location`); poll it for the status, the "
            "counts, or the errors by row, column and reason (row 2 is the first data row, `rows[0]`). All "
            "or nothing: a bad row fails the job and nothing is stored. A file over the upload limit, or a "
            "JSON body over its limit, is answered 413."),
        tags=["imports"],
        parameters=[OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=sorted(importer_kinds()),
                                     description=gettext_lazy("What the file holds."))],
        request={"application/json": MonthlyRowsSerializer, "multipart/form-data": UploadSerializer},
        responses={202: ImportJobSerializer,
                   413: OpenApiResponse(ErrorSerializer, description=gettext_lazy(
                       "The file or body is over its size limit; nothing was queued."))},
        examples=[
            OpenApiExample("json-rows", summary=gettext_lazy("JSON rows"), request_only=True,
                           media_type="application/json", value=JSON_ROWS_EXAMPLE),
            OpenApiExample("queued", summary=gettext_lazy("Queued"), response_only=True, status_codes=["202"],
                           value=QUEUED_EXAMPLE),
            OpenApiExample("too-large", summary=gettext_lazy("Too large"), response_only=True,
                           status_codes=["413"], value=TOO_LARGE_EXAMPLE),
        ],
    )
    @action(detail=False, methods=["post"], url_path=r"(?P<kind>[^/.]+)", url_name="start")
    def start(self, request, kind: str):
        try:
            importer_class = importer_for(kind)
        except ApplicationError:
            raise NotFound(_("Unknown kind of import “%(kind)s”.") % {"kind": kind}) from None
        if not importer_class.may_import(request.user):
            raise PermissionDenied(_("You may not import %(kind)s.") % {"kind": kind})
        self._refuse_oversized_body(request)
        if "file" in request.FILES:
            upload = UploadSerializer(data=request.data)
            upload.is_valid(raise_exception=True)
            source = upload.validated_data["file"]
            filename = source.name
            if not filename.lower().endswith((".csv", *XLSX_SUFFIXES)):
                raise serializers.ValidationError({"file": [_("Upload a .csv or .xlsx file.")]})
        else:
            rows = request.data.get("rows") if isinstance(request.data, dict) else None
            if not isinstance(rows, list):
                raise serializers.ValidationError(
                    {"rows": [_("Send a file as multipart field “file”, or a JSON object with a list “rows”.")]})
            filename = _("JSON rows")
            source = rows_as_table(rows, label=filename, kind=kind)
        options = ImportOptionsSerializer(data=_options(request))
        options.is_valid(raise_exception=True)
        job = import_job_create(kind=kind, fileobj=source, filename=filename, user=request.user,
                                replace=options.validated_data["replace"],
                                confirm_delete=options.validated_data["confirm_delete"])
        body = ImportJobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})

    @staticmethod
    def _refuse_oversized_body(request) -> None:
        """A multipart body announced larger than the import limit is refused before it is read."""
        if not request.content_type.startswith("multipart/"):
            return
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if length > limit + MULTIPART_OVERHEAD:
            raise RequestTooLarge(upload_too_large_message(length, limit))

    @extend_schema(
        operation_id="imports_job",
        summary=gettext_lazy("Status of an import job"),
        description=gettext_lazy(
            "Where a job started by POST /api/v1/imports/{kind}/ (or an upload on the import page) stands: "
            "queued, running (stage and rows so far), succeeded (counts in `result`) or failed (`errors` "
            "lists row, column and reason; `result.message` says why)."),
        tags=["imports"],
        parameters=[OpenApiParameter("job_id", int, OpenApiParameter.PATH, description=gettext_lazy("The job's id."))],
        responses={200: ImportJobSerializer},
        examples=[
            OpenApiExample("succeeded", summary=gettext_lazy("Succeeded"), response_only=True,
                           status_codes=["200"], value=SUCCEEDED_EXAMPLE),
            OpenApiExample("failed", summary=gettext_lazy("Failed"), response_only=True, status_codes=["200"],
                           value=FAILED_EXAMPLE),
        ],
    )
    @action(detail=False, methods=["get"], url_path=r"jobs/(?P<job_id>[0-9]+)", url_name="job")
    def job(self, request, job_id: str):
        job = get_object_or_404(import_jobs(request.user), pk=job_id)
        return Response(ImportJobSerializer(job, context={"request": request}).data)
