"""The upload page (HR only), which imports in the background and sends HR to the job's page,
and the import_data command (DOMAIN 6)."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from clients.models import Branch, ImportJob, MonthlyBusiness
from clients.tests.test_import_monthly import HEADER as MONTHLY_HEADER
from clients.tests.test_import_monthly import full_row
from clients.tests.test_importers import BRANCH_HEADER, recompute_calls  # noqa: F401
from rmportal import dashboard_cache
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

URL = "/imports/"


def upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_upload_url_is_named():
    assert reverse("imports:upload") == URL


def test_hr_sees_the_upload_page_with_every_kind(client_of, hr):
    response = client_of(hr).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    for kind in ("branches", "levels", "employees", "clients", "monthly", "parameters", "callbacks"):
        assert f'value="{kind}"' in page
    # Each kind lists its columns and their formats.
    assert "<summary>Monthly business data <code>monthly</code></summary>" in page
    assert "<td><code>loan_term</code></td>" in page
    assert "blank only when loan_avg_balance is 0" in page


def test_hr_uploads_a_file_previews_it_then_confirms_and_sees_the_report(client_of, hr,
                                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_of(hr).post(URL, {"kind": "branches", "file": upload(
            "branches.csv", f"{BRANCH_HEADER}\nB05,Fifth avenue,R01,North\nB06,Sixth,R01,North\n")})
    job = ImportJob.objects.get()
    # the check is queued once the upload is stored
    assert len([c for c in callbacks if c is not dashboard_cache._bump]) == 1
    assert response.status_code == 302 and response["Location"] == reverse("imports:job", args=[job.pk])
    assert job.status == ImportJob.Status.AWAITING
    assert not Branch.objects.filter(code__in=["B05", "B06"]).exists()  # previewed, not stored
    page = client_of(hr).get(response["Location"]).content.decode()
    assert 'id="import-preview"' in page and 'id="import-confirm"' in page
    assert 'id="rows-to-delete"' not in page  # nothing is deleted: no typed confirmation
    assert "Awaiting confirmation" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(hr).post(reverse("imports:confirm", args=[job.pk]), {"confirm": ""})
    assert response.status_code == 302
    page = client_of(hr).get(response["Location"]).content.decode()
    assert 'id="import-result"' in page
    assert "branches.csv: 2 rows imported as branches." in page
    assert Branch.objects.filter(code__in=["B05", "B06"]).count() == 2
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED and job.batch.created == 2
    assert 'id="import-batch"' in page


def test_rejected_upload_shows_row_column_and_reason(client_of, hr, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(hr).post(URL, {"kind": "branches", "file": upload(
            "branches.csv", f"{BRANCH_HEADER}\nB05,Fifth,R01,North\nB06,,R01,North\n")})
    assert response.status_code == 302
    page = client_of(hr).get(response["Location"]).content.decode()
    assert 'id="import-rejected"' in page
    assert "<td>3</td><td>name</td><td>a value is required</td>" in page
    assert "nothing was stored" in page
    assert not Branch.objects.filter(code="B05").exists()


def test_upload_page_lists_recent_imports_with_links_to_their_pages(client_of, hr, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_of(hr).post(URL, {"kind": "branches", "file": upload(
            "recent.csv", f"{BRANCH_HEADER}\nB05,Fifth,R01,North\n")})
    job = ImportJob.objects.get()
    page = client_of(hr).get(URL).content.decode()
    assert f'<a href="{reverse("imports:job", args=[job.pk])}">recent.csv</a>' in page
    assert "Awaiting confirmation" in page


def test_upload_of_another_file_type_is_refused_by_the_form(client_of, hr):
    response = client_of(hr).post(URL, {"kind": "branches", "file": upload("branches.pdf", "x")})
    assert "Upload a .csv or .xlsx file." in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("role", ["rm", "department_head", "branch_manager", "reviewer"])
def test_other_roles_get_403(request, client_of, role):
    employee = request.getfixturevalue(role)
    client = client_of(employee)
    assert client.get(URL).status_code == 403
    response = client.post(URL, {"kind": "branches", "file": upload("b.csv", f"{BRANCH_HEADER}\nB07,X,R01,North\n")})
    assert response.status_code == 403
    assert client.get(reverse("imports:template", args=["branches"])).status_code == 403
    assert not Branch.objects.filter(code="B07").exists()
    assert not ImportJob.objects.exists()


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_template_download_has_the_header_row(client_of, hr):
    response = client_of(hr).get(reverse("imports:template", args=["monthly"]))
    assert response.status_code == 200
    header = response.content.decode("utf-8-sig").strip()
    assert header.startswith("client_no,month,deposit_avg_balance")
    assert client_of(hr).get(reverse("imports:template", args=["nothing"])).status_code == 404


def test_command_imports_and_prints_the_report(tmp_path, branch, rm, recompute_calls):
    ClientFactory(client_no="C001", branch=branch, rm=rm)
    path = tmp_path / "monthly.csv"
    path.write_text(f"{MONTHLY_HEADER}\n{full_row('C001', deposit_avg_balance='100.50')}\n", encoding="utf-8-sig")
    out = io.StringIO()
    call_command("import_data", "monthly", str(path), stdout=out)
    assert "monthly.csv: 1 row imported as monthly." in out.getvalue()
    assert "Months updated: 2026-01." in out.getvalue()
    assert MonthlyBusiness.objects.get().deposit_avg_balance == 100.5


def test_command_prints_errors_and_fails_on_rejection(tmp_path, branch):
    path = tmp_path / "branches.csv"
    path.write_text(f"{BRANCH_HEADER}\nB05,Fifth,R01,North\nB06,Sixth,R01,\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="rejected: 1 error"):
        call_command("import_data", "branches", str(path), stderr=err)
    assert "row 3, column region_name: a value is required" in err.getvalue()
    assert not Branch.objects.filter(code="B05").exists()


def test_command_refuses_unknown_kind_and_missing_file(tmp_path):
    with pytest.raises(CommandError):
        call_command("import_data", "bonuses", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="Cannot open"):
        call_command("import_data", "branches", str(tmp_path / "missing.csv"))
