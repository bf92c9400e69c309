"""Inputs that would hurt the portal are refused with a reason, the same way on the pages, in
the API and in imports: over-long text, oversized uploads, XLSX zip bombs, implausible dates and
periods, full-width digits (DOMAIN 6)."""
import datetime as dt
import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from careers.api.serializers import CareerInterviewSerializer
from clients.forms import InteractionForm, StatementUploadForm
from clients.models import Client, ImportJob, Interaction
from performance.forms import AppraisalRunForm
from performance.models import Target
from rmportal.errors import ApplicationError
from rmportal.importing import DateColumn, ImportRejected, importer_for, run_import
from rmportal.text_limits import text_over_limits, text_over_limits_report
from rmportal.validators import (TEXT_NOTE, validate_ascii_digits, validate_month, validate_past_date,
                                 validate_period)
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def monthly_text(text: str) -> str:
    """A monthly CSV given for some columns, widened to every (required) monthly column, the
    others blank."""
    columns = [column.name for column in importer_for("monthly").columns]
    lines = text.splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    return "".join(",".join(row) + "\n" for row in [columns, *([row.get(name, "") for name in columns]
                                                             for row in rows)])


def csv_upload(name: str, text: str) -> io.BytesIO:
    upload = io.BytesIO(text.encode("utf-8"))
    upload.name = name
    return upload


def tomorrow() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=1)


# --- text limits ------------------------------------------------------------------------------

def test_every_free_text_field_of_the_models_has_a_limit_that_full_clean_enforces():
    # The audit copies' change reasons are written by services from bounded form fields.
    unbounded = [f"{model._meta.label}.{field.name}" for app in ("clients", "performance", "careers")
                 for model in apps.get_app_config(app).get_models()
                 for field in model._meta.get_fields()
                 if field.get_internal_type() in ("TextField", "CharField") and not field.max_length
                 and field.name != "history_change_reason"]
    assert unbounded == []
    field = Interaction._meta.get_field("comment")
    assert field.max_length == TEXT_NOTE
    with pytest.raises(ValidationError, match="at most 4000 characters"):
        field.run_validators("x" * (TEXT_NOTE + 1))


def test_an_oversized_comment_is_refused_by_the_form(rm):
    form = InteractionForm(data={"kind": "visit", "on": "2026-01-05", "comment": "x" * (TEXT_NOTE + 1)})
    assert not form.is_valid()
    assert "at most 4000 characters" in form.errors["comment"][0]


def test_an_oversized_comment_is_refused_by_the_page_and_nothing_is_stored(client_of, rm, branch):
    customer = ClientFactory(branch=branch, rm=rm, client_no="C1")
    response = client_of(rm).post(reverse("clients:interaction-create", args=[customer.client_no]), {
        "interaction-kind": "visit", "interaction-on": "2026-01-05", "interaction-comment": "x" * (TEXT_NOTE + 1)})
    assert response.status_code == 200
    assert "at most 4000 characters" in response.content.decode()
    assert not Interaction.objects.exists()


def test_an_oversized_comment_is_refused_by_the_service(rm, branch):
    from clients.services import interaction_record

    customer = ClientFactory(branch=branch, rm=rm, client_no="C1")
    with pytest.raises(ApplicationError, match="4000"):
        interaction_record(client=customer, kind="visit", on=dt.date(2026, 1, 5), comment="x" * (TEXT_NOTE + 1),
                           by=rm.user)
    assert not Interaction.objects.exists()


def test_an_oversized_comment_is_refused_by_the_import_and_nothing_is_stored(rm, branch):
    ClientFactory(branch=branch, rm=rm, client_no="C1")
    text = f"client_no,date,score,channel,comment\nC1,2026-01-05,4,phone,ok\nC1,2026-01-06,4,phone,{'x' * 4001}\n"
    with pytest.raises(ImportRejected) as rejected:
        run_import("callbacks", csv_upload("callbacks.csv", text), filename="callbacks.csv")
    assert [(e.row, e.column) for e in rejected.value.errors] == [(3, "comment")]
    assert "at most 4000 characters" in rejected.value.errors[0].reason
    assert not Interaction.objects.exists()


def test_the_api_serializers_take_the_model_limits():
    fields = CareerInterviewSerializer().fields
    assert fields["notes"].max_length == TEXT_NOTE
    with pytest.raises(Exception, match="4000"):
        fields["notes"].run_validation("x" * (TEXT_NOTE + 1))


def test_the_migration_reports_text_over_a_limit_and_keeps_it_whole(rm, branch, capsys):
    customer = ClientFactory(branch=branch, rm=rm, client_no="C1")
    long_text = "长" * 5000
    # Stored before the limit existed: bulk_create skips full_clean, as old rows did.
    over, within = Interaction.objects.bulk_create([
        Interaction(client=customer, employee=rm, kind="visit", occurred_on=dt.date(2026, 1, 5), comment=long_text),
        Interaction(client=customer, employee=rm, kind="visit", occurred_on=dt.date(2026, 1, 6), comment="short"),
    ])
    found = text_over_limits(apps, {"clients.interaction": {"comment": TEXT_NOTE}})
    assert [(o.pk, o.field, o.length, o.limit) for o in found] == [(over.pk, "comment", 5000, TEXT_NOTE)]

    text_over_limits_report({"clients.interaction": {"comment": TEXT_NOTE}})(apps, None)

    assert f"#{over.pk}: comment holds 5000 characters" in capsys.readouterr().out
    assert Interaction.objects.get(pk=over.pk).comment == long_text  # nothing cut


# --- upload sizes -----------------------------------------------------------------------------

def test_an_import_file_over_the_limit_is_refused_on_the_page(client_of, hr, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    response = client_of(hr).post(reverse("imports:upload"), {"kind": "branches", "file": SimpleUploadedFile(
        "branches.csv", b"branch_code,name,region_code,region_name\n" + b"B05,Fifth,R01,North\n" * 10)})
    assert response.status_code == 200
    assert "at most 100" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_import_job_service_refuses_a_file_over_the_limit(hr, settings):
    from rmportal.errors import UploadTooLarge
    from rmportal.import_jobs import import_job_create

    settings.IMPORT_MAX_UPLOAD_BYTES = 10
    with pytest.raises(UploadTooLarge):
        import_job_create(kind="branches", fileobj=io.BytesIO(b"x" * 11), filename="b.csv", user=hr.user)
    assert not ImportJob.objects.exists()


def test_the_command_refuses_a_file_over_the_limit(tmp_path, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    path = tmp_path / "branches.csv"
    path.write_text("branch_code,name,region_code,region_name\n" + "B05,Fifth,R01,North\n" * 10)
    with pytest.raises(CommandError, match="at most 100"):
        call_command("import_data", "branches", str(path))


def test_a_statement_upload_over_the_other_uploads_limit_is_refused(settings):
    settings.UPLOAD_MAX_BYTES = 50
    form = StatementUploadForm(files={"file": SimpleUploadedFile("s.csv", b"client_no,period,line,amount\n" * 3)})
    assert not form.is_valid()
    assert "at most 50" in form.errors["file"][0]


# --- XLSX checked before it is opened ---------------------------------------------------------

def write_bomb(path: Path, *, string_mb: int = 200) -> None:
    """A workbook whose one shared string is ``string_mb`` MB of one letter: a few hundred KB on
    disk. Written in blocks so that the test itself stays small."""
    source = io.BytesIO()
    workbook = Workbook()
    workbook.active.append(["client_no", "date", "score", "channel", "comment"])
    workbook.active.append(["C1", "2026-01-05", 4, "phone", "placeholder"])
    workbook.save(source)
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for member in original.infolist():
            if member.filename == "xl/sharedStrings.xml":
                continue
            bomb.writestr(member, original.read(member))
        with bomb.open("xl/sharedStrings.xml", "w", force_zip64=True) as stream:
            stream.write(b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                         b'spreadsheetml/2006/main" count="5" uniqueCount="5"><si><t>client_no</t></si>'
                         b'<si><t>date</t></si><si><t>channel</t></si><si><t>comment</t></si><si><t>')
            block = b"A" * (1 << 20)
            for _ in range(string_mb):
                stream.write(block)
            stream.write(b"</t></si></sst>")


@pytest.mark.parametrize(("limits", "reason"), [
    ({}, "compressed more than 100:1"),
    # With the archive checks lifted, the shared strings are streamed and the long one refused.
    ({"XLSX_MAX_COMPRESSION_RATIO": "1000000", "XLSX_MAX_UNCOMPRESSED_BYTES": str(1 << 40),
      "XLSX_MAX_SHARED_STRINGS_BYTES": str(1 << 40)}, "a cell holds more than 4000 characters"),
], ids=["ratio", "streamed-shared-strings"])
def test_a_zip_bomb_xlsx_is_refused_with_flat_memory_and_nothing_stored(tmp_path, limits, reason):
    bomb = tmp_path / "bomb.xlsx"
    write_bomb(bomb)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    # A process of its own, so that its peak memory is the import's alone.
    script = textwrap.dedent(f"""
        import json, django
        django.setup()
        from rmportal.importing import ImportRejected, run_import

        def rss_kb(field):
            for line in open("/proc/self/status"):
                if line.startswith(field):
                    return int(line.split()[1])

        open("/proc/self/clear_refs", "w").write("5")  # resets the peak to the current size
        before = rss_kb("VmRSS:")
        try:
            with open({str(bomb)!r}, "rb") as handle:
                run_import("callbacks", handle, filename="bomb.xlsx")
            errors = []
        except ImportRejected as exc:
            errors = [str(error) for error in exc.errors]
        print(json.dumps({{"peak_mb": (rss_kb("VmHWM:") - before) / 1024, "errors": errors}}))
    """)
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "rmportal.settings.test", **limits}
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome["peak_mb"] < 100, f"peak memory of the import: {outcome['peak_mb']:.1f} MB"
    assert outcome["errors"] and reason in outcome["errors"][0], (
        f"peak memory of the import: {outcome['peak_mb']:.1f} MB", outcome)
    print(f"zip bomb refused ({reason}); peak memory of the import: {outcome['peak_mb']:.1f} MB")
    assert not Interaction.objects.exists()


def test_a_bomb_within_the_ratio_is_refused_by_the_cell_limit_before_openpyxl_loads_it(tmp_path, settings):
    settings.XLSX_MAX_COMPRESSION_RATIO = 10_000  # let the ratio pass: the shared string check must hold
    bomb = tmp_path / "bomb.xlsx"
    write_bomb(bomb, string_mb=20)
    with open(bomb, "rb") as handle, pytest.raises(ImportRejected) as rejected:
        run_import("callbacks", handle, filename="bomb.xlsx")
    assert "a cell holds more than 4000 characters" in rejected.value.errors[0].reason


@pytest.mark.parametrize(("setting", "value", "reason"), [
    ("XLSX_MAX_UNCOMPRESSED_BYTES", 10 * 1024 * 1024, "unpacks to 20 MB"),
    ("XLSX_MAX_SHARED_STRINGS_BYTES", 1024 * 1024, "texts take 20 MB"),
])
def test_a_workbook_over_the_unpacked_or_shared_strings_limit_is_refused(tmp_path, settings, setting, value, reason):
    settings.XLSX_MAX_COMPRESSION_RATIO = 10_000
    setattr(settings, setting, value)
    bomb = tmp_path / "bomb.xlsx"
    write_bomb(bomb, string_mb=20)
    with open(bomb, "rb") as handle, pytest.raises(ImportRejected) as rejected:
        run_import("callbacks", handle, filename="bomb.xlsx")
    assert reason in rejected.value.errors[0].reason


def test_an_ordinary_workbook_still_imports(rm, branch):
    ClientFactory(branch=branch, rm=rm, client_no="C1")
    workbook = Workbook()
    workbook.active.append(["client_no", "date", "score", "channel", "comment"])
    workbook.active.append(["C1", "2026-01-05", 4, "phone", "Satisfied with the new card"])
    upload = io.BytesIO()
    workbook.save(upload)
    upload.seek(0)
    assert run_import("callbacks", upload, filename="callbacks.xlsx").created == 1
    assert Interaction.objects.get().comment == "Satisfied with the new card"


# --- implausible values -----------------------------------------------------------------------

@pytest.mark.parametrize("value", [dt.date(1, 1, 1), dt.date(1989, 12, 31), "tomorrow"])
def test_implausible_past_dates_are_refused_everywhere(value, rm, branch):
    value = tomorrow() if value == "tomorrow" else value
    with pytest.raises(ValidationError):
        validate_past_date(value)
    form = InteractionForm(data={"kind": "visit", "on": value.isoformat()})
    assert not form.is_valid() and form.errors["on"]
    with pytest.raises(Exception, match="before 1990-01-01|in the future"):
        DateColumn("opened_on", validators=[validate_past_date]).clean(value.isoformat())
    ClientFactory(branch=branch, rm=rm, client_no="C1")
    text = f"client_no,date,score,channel,comment\nC1,{value.isoformat()},4,phone,ok\n"
    with pytest.raises(ImportRejected) as rejected:
        run_import("callbacks", csv_upload("c.csv", text), filename="c.csv")
    [error] = rejected.value.errors
    assert (error.row, error.column) == (2, "date")
    assert "before 1990-01-01" in error.reason or "in the future" in error.reason
    assert not Interaction.objects.exists()


def test_the_first_plausible_date_is_accepted(rm, branch):
    validate_past_date(dt.date(1990, 1, 1))
    assert InteractionForm(data={"kind": "visit", "on": "1990-01-01"}).is_valid()
    ClientFactory(branch=branch, rm=rm, client_no="C1")
    text = "client_no,date,score,channel,comment\nC1,1990-01-01,4,phone,ok\n"
    assert run_import("callbacks", csv_upload("c.csv", text), filename="c.csv").created == 1


def test_a_client_opened_on_year_one_is_refused_by_the_import(rm, branch):
    text = ("client_no,name,client_type,segment,branch_code,rm_employee_no,opened_on\n"
            f"C9,New,individual,mass,{branch.code},{rm.employee_no},0001-01-01\n")
    with pytest.raises(ImportRejected) as rejected:
        run_import("clients", csv_upload("c.csv", text), filename="c.csv")
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "opened_on")]
    assert not Client.objects.filter(client_no="C9").exists()


@pytest.mark.parametrize("period", ["0000", "1989", "1989-Q4", "1989-12"])
def test_periods_outside_the_data_are_refused(period, hr, rm, branch):
    with pytest.raises(ValidationError):
        validate_period(period)
    assert not AppraisalRunForm(data={"period": period}, branches=branch.__class__.objects.all()).is_valid()
    text = f"employee_no,period,indicator,target\n{rm.employee_no},{period},deposit,100\n"
    with pytest.raises(ImportRejected) as rejected:
        run_import("targets", csv_upload("t.csv", text), filename="t.csv")
    assert (2, "period") in [(e.row, e.column) for e in rejected.value.errors]
    assert not Target.objects.exists()


def test_periods_and_months_more_than_a_year_ahead_are_refused_and_the_data_range_taken():
    next_year = timezone.localdate().year + 2
    for period in (str(next_year), f"{next_year}-Q1", f"{next_year}-01"):
        with pytest.raises(ValidationError, match="more than a year ahead"):
            validate_period(period)
    with pytest.raises(ValidationError):
        validate_month(dt.date(next_year, 1, 1))
    for period in ("1990", "1990-Q1", "2026-01", "2025-q3"):
        validate_period(period)
    validate_month(dt.date(1990, 1, 1))


def test_months_outside_the_data_are_refused_by_the_monthly_import(hr, rm, branch):
    ClientFactory(branch=branch, rm=rm, client_no="C1")
    text = monthly_text("client_no,month,deposit_avg_balance\nC1,1989-12,100\nC1,2026-01,100\n")
    with pytest.raises(ImportRejected) as rejected:
        run_import("monthly", csv_upload("m.csv", text), filename="m.csv")
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "month")]


def test_full_width_digits_are_refused_naming_the_cell(hr, rm, branch):
    ClientFactory(branch=branch, rm=rm, client_no="C1")
    text = monthly_text("client_no,month,deposit_avg_balance,deposit_accounts\nC1,２０２６-01,100,1\nC1,2026-02,１００,1\n")
    with pytest.raises(ImportRejected) as rejected:
        run_import("monthly", csv_upload("m.csv", text), filename="m.csv")
    errors = rejected.value.errors
    assert [(e.row, e.column) for e in errors] == [(2, "month"), (3, "deposit_avg_balance")]
    assert all("full-width digits in" in e.reason and "type 0-9" in e.reason for e in errors)
    assert str(errors[0]).startswith("row 2, column month: full-width digits in “２０２６-01”")


@pytest.mark.parametrize(("kind", "text", "column"), [
    ("callbacks", "client_no,date,score,channel,comment\nC1,２０２６-01-05,4,phone,ok\n", "date"),
    ("callbacks", "client_no,date,score,channel,comment\nC１,2026-01-05,4,phone,ok\n", "client_no"),
    ("callbacks", "client_no,date,score,channel,comment\nC1,2026-01-05,４,phone,ok\n", "score"),
])
def test_full_width_digits_are_refused_in_dates_codes_and_numbers(kind, text, column, rm, branch):
    ClientFactory(branch=branch, rm=rm, client_no="C1")
    with pytest.raises(ImportRejected) as rejected:
        run_import(kind, csv_upload("c.csv", text), filename="c.csv")
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, column)]
    assert "full-width digits" in rejected.value.errors[0].reason


def test_full_width_digits_are_refused_by_the_forms_and_the_api(client, hr, branch, rm):
    with pytest.raises(ValidationError, match="type 0-9"):
        validate_ascii_digits("２０２６")
    form = AppraisalRunForm(data={"period": "２０２６"}, branches=branch.__class__.objects.all())
    assert not form.is_valid() and "full-width digits" in form.errors["period"][0]
    from clients.forms import StatementForm

    statement = StatementForm(data={"period": "2025", "cash": "１００"})
    assert not statement.is_valid() and "full-width digits" in statement.errors["cash"][0]

    from tests.api_mixins import api_client_for

    customer = ClientFactory(branch=branch, rm=rm, client_no="C1")
    response = api_client_for(hr.user).get(f"/api/v1/clients/{customer.client_no}/contribution/?month=２０２６-01")
    assert response.status_code == 400
    assert "full-width digits" in json.dumps(response.json(), ensure_ascii=False)
