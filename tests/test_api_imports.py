"""POST /api/v1/imports/{kind}/: data in, as a file or as JSON rows, through the same background
job and all-or-nothing import as the upload page (DOMAIN 2.1, 6); the job's status endpoint tells
the outcome. Celery runs eagerly in tests: the job runs when the request's transaction commits."""
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook

from clients.models import Client, ImportJob, MonthlyBusiness
from rmportal.importing import importer_for
from tests.api_mixins import api_client_for, make_read_only
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports/monthly/"


@pytest.fixture
def post_job(django_capture_on_commit_callbacks):
    """Posts to the import endpoint; returns (response of the POST, the job's status once it ran)."""

    def post(api, data, *, format, url=URL):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(url, data, format=format)
        if response.status_code != 202:
            return response, None
        job = api.get(response["Location"])
        assert job.status_code == 200, job.content
        return response, job.json()

    return post


@pytest.fixture
def hr_api(hr):
    return api_client_for(hr.user)


@pytest.fixture
def clients(branch, rm):
    return [ClientFactory(branch=branch, rm=rm, client_no=f"C{n}") for n in (1, 2, 3)]


MONTHLY_COLUMNS = [column.name for column in importer_for("monthly").columns]


def good_row(client_no, **cells):
    """A row with every monthly column (they are all required), the ones not given blank (0)."""
    return {**dict.fromkeys(MONTHLY_COLUMNS, ""), "client_no": client_no, "month": "2026-01",
            "deposit_avg_balance": "500000.00", "deposit_interest_expense": "250.00", "deposit_accounts": 2,
            "loan_avg_balance": "1200000.00", "loan_interest_income": "4500.00", "loan_accounts": 1,
            "loan_term": "1y_3y", **cells}


def short_table(header: list[str], *rows: list) -> list[list]:
    """Rows given for some columns, widened to every monthly column (the others blank)."""
    return [MONTHLY_COLUMNS] + [[dict(zip(header, row)).get(name, "") for name in MONTHLY_COLUMNS] for row in rows]


def test_the_routes_are_registered_on_the_router():
    assert reverse("import-start", kwargs={"kind": "monthly"}) == URL
    assert reverse("import-job", kwargs={"job_id": 7}) == "/api/v1/imports/jobs/7/"


def test_json_rows_are_accepted_as_a_job_and_stored_with_their_exact_amounts(hr_api, clients, post_job):
    response, job = post_job(hr_api, {"rows": [good_row("C1"), good_row("C2", wm_income=1234.56, wm_sales=None)]},
                             format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["kind"] == "monthly"
    assert response["Location"] == body["url"] and body["url"].endswith(f"/api/v1/imports/jobs/{body['id']}/")
    assert job["status"] == "succeeded", job
    assert job["result"]["created"] == 2 and job["result"]["rows"] == 2 and job["errors"] == []
    assert job["rows_done"] == 2 and job["finished_at"]
    stored = MonthlyBusiness.objects.get(client__client_no="C2")
    # A JSON number keeps its digits (no float on the way); null is 0 like a blank cell.
    assert stored.wm_income == Decimal("1234.56") and stored.wm_sales == Decimal("0")
    assert stored.deposit_avg_balance == Decimal("500000.00")


def test_bad_rows_fail_the_job_with_row_column_and_reason_and_store_nothing(hr_api, clients, post_job):
    rows = [good_row("C1"), good_row("C2", deposit_avg_balance="-1"), good_row("NOPE"),
            good_row("C3", loan_term="forever"), good_row("C1")]
    response, job = post_job(hr_api, {"rows": rows}, format="json")
    assert response.status_code == 202
    assert job["status"] == "failed"
    assert "nothing was stored" in job["result"]["message"] and job["result"]["error_count"] == 4
    # Rows count as in a file: rows[0] is row 2.
    assert {(e["row"], e["column"]) for e in job["errors"]} == {
        (3, "deposit_avg_balance"), (4, "client_no"), (5, "loan_term"), (6, "month")}
    assert all(e["reason"] for e in job["errors"])
    assert not MonthlyBusiness.objects.exists()


def test_an_element_that_is_not_an_object_rejects_the_request(hr_api, clients, post_job):
    response, _ = post_job(hr_api, {"rows": [good_row("C1"), ["C2", "2026-01"]]}, format="json")
    assert response.status_code == 400
    assert [(e["row"], e["column"]) for e in response.json()["errors"]["rows"]] == [(3, "")]
    assert not ImportJob.objects.exists() and not MonthlyBusiness.objects.exists()


@pytest.mark.parametrize("body", [{}, {"rows": "C1,2026-01"}, {"rows": []}])
def test_a_body_without_rows_is_refused(hr_api, clients, body):
    response = hr_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "errors"}
    assert not ImportJob.objects.exists()


def test_a_csv_file_goes_through_the_same_checks(hr_api, clients, post_job):
    table = short_table(["client_no", "month", "deposit_avg_balance"], ["C1", "2026-01", "100.00"],
                        ["C2", "2026-01", "-5"])
    upload = io.BytesIO("".join(",".join(row) + "\n" for row in table).encode())
    upload.name = "2026-01.csv"
    response, job = post_job(hr_api, {"file": upload}, format="multipart")
    assert response.status_code == 202
    assert job["filename"] == "2026-01.csv" and job["status"] == "failed"
    assert job["errors"] == [{"row": 3, "column": "deposit_avg_balance", "reason": "must not be negative"}]
    assert not MonthlyBusiness.objects.exists()


def test_an_xlsx_file_is_imported(hr_api, clients, post_job):
    workbook = Workbook()
    for row in short_table(["client_no", "month", "deposit_avg_balance"], ["C1", "2026-02", "100.50"]):
        workbook.active.append(row)
    upload = io.BytesIO()
    workbook.save(upload)
    upload.seek(0)
    upload.name = "2026-02.xlsx"
    response, job = post_job(hr_api, {"file": upload}, format="multipart")
    assert response.status_code == 202, response.content
    assert job["status"] == "succeeded", job
    assert MonthlyBusiness.objects.get(client__client_no="C1").deposit_avg_balance == Decimal("100.50")


def test_a_file_that_is_neither_csv_nor_xlsx_is_refused(hr_api, clients):
    upload = io.BytesIO(b"client_no,month\nC1,2026-01\n")
    upload.name = "data.txt"
    response = hr_api.post(URL, {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["errors"]
    assert not ImportJob.objects.exists()


def test_reimporting_a_month_upserts_and_leaves_other_rows_alone(hr_api, clients, post_job):
    assert post_job(hr_api, {"rows": [good_row("C1"), good_row("C2")]}, format="json")[1]["status"] == "succeeded"
    response, job = post_job(hr_api, {"rows": [good_row("C3"), good_row("C1", wm_income="7.00")]}, format="json")
    assert response.status_code == 202
    assert job["replace"] is False
    assert (job["result"]["created"], job["result"]["updated"], job["result"]["deleted"]) == (1, 1, 0)
    assert sorted(MonthlyBusiness.objects.values_list("client__client_no", flat=True)) == ["C1", "C2", "C3"]


def test_replace_deletes_what_the_file_lacks_in_its_branch_and_month(hr_api, clients, post_job):
    rows = [good_row("C1"), good_row("C2"), good_row("C3")]
    assert post_job(hr_api, {"rows": rows}, format="json")[1]["status"] == "succeeded"
    # One row of three deleted is over the share that needs a confirmation: refused without it.
    response, job = post_job(hr_api, {"rows": rows[:2], "replace": True}, format="json")
    assert response.status_code == 202 and job["replace"] is True
    assert job["status"] == "failed", job
    assert MonthlyBusiness.objects.count() == 3
    response, job = post_job(hr_api, {"rows": rows[:2], "replace": True, "confirm_delete": True}, format="json")
    assert job["status"] == "succeeded", job
    assert job["result"]["deleted"] == 1
    assert sorted(MonthlyBusiness.objects.values_list("client__client_no", flat=True)) == ["C1", "C2"]


def test_replace_is_a_true_or_false_value(hr_api, clients):
    response = hr_api.post(URL + "?replace=perhaps", {"rows": [good_row("C1")]}, format="json")
    assert response.status_code == 400
    assert "replace" in response.json()["errors"]
    assert not ImportJob.objects.exists()


def test_every_kind_hr_may_import_is_taken(hr_api, branch, post_job):
    rows = [{"client_no": "C9", "name": "New client", "client_type": "individual", "segment": "mass",
             "branch_code": branch.code, "rm_employee_no": "NOBODY", "opened_on": "2024-01-02"}]
    response, job = post_job(hr_api, {"rows": rows}, format="json", url="/api/v1/imports/clients/")
    assert response.status_code == 202 and job["kind"] == "clients"
    assert job["status"] == "failed"
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(2, "rm_employee_no")]


def test_an_unknown_kind_is_not_found(hr_api):
    response = hr_api.post("/api/v1/imports/nonsense/", {"rows": [{"a": 1}]}, format="json")
    assert response.status_code == 404
    assert set(response.json()) == {"detail", "errors"}


def test_a_job_of_another_user_is_visible_to_hr_only(hr_api, branch, clients, post_job):
    _, job = post_job(hr_api, {"rows": [good_row("C1")]}, format="json")
    rm = EmployeeFactory(branch=branch, role="rm")
    assert api_client_for(rm.user).get(f"/api/v1/imports/jobs/{job['id']}/").status_code == 404
    assert hr_api.get("/api/v1/imports/jobs/999999/").status_code == 404


@pytest.mark.parametrize("role", ["rm", "branch_manager", "reviewer", "department_head"])
def test_only_hr_imports(branch, clients, role):
    employee = EmployeeFactory(branch=branch, role=role)
    response = api_client_for(employee.user).post(URL, {"rows": [good_row("C1")]}, format="json")
    assert response.status_code == 403
    assert not ImportJob.objects.exists() and not MonthlyBusiness.objects.exists()


def test_a_read_only_account_cannot_import(hr, clients):
    make_read_only(hr.user)
    response = api_client_for(hr.user).post(URL, {"rows": [good_row("C1")]}, format="json")
    assert response.status_code == 403
    assert not ImportJob.objects.exists() and not MonthlyBusiness.objects.exists()


def test_a_file_over_the_import_limit_is_answered_413_and_queues_nothing(hr_api, clients, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000
    upload = io.BytesIO(b"client_no,month,deposit_avg_balance\n" + b"C1,2026-01,100.00\n" * 100)
    upload.name = "big.csv"
    response = hr_api.post(URL, {"file": upload}, format="multipart")
    assert response.status_code == 413
    body = response.json()
    assert set(body) == {"detail", "errors"} and "at most 1000" in body["detail"]
    assert body["errors"]["file"]
    assert not ImportJob.objects.exists()


def test_a_multipart_body_announced_over_the_limit_is_refused_before_it_is_read(hr_api, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000
    response = hr_api.post(URL, data=b"x" * 10, content_type="multipart/form-data; boundary=b",
                           CONTENT_LENGTH=str(10_000_000))
    assert response.status_code == 413
    assert set(response.json()) == {"detail", "errors"}


def test_a_json_body_over_its_limit_is_answered_413(hr_api, clients, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    response = hr_api.post(URL, {"rows": [good_row("C1")] * 20}, format="json")
    assert response.status_code == 413
    assert set(response.json()) == {"detail", "errors"}
    assert not ImportJob.objects.exists()


def test_ten_thousand_rows_in_one_request_are_stored(hr_api, branch, post_job):
    Client.objects.bulk_create(Client(client_no=f"K{n:05d}", name=f"Client {n}", client_type="individual",
                                      branch=branch) for n in range(10_000))
    rows = [good_row(f"K{n:05d}", wm_income=f"{n}.25", card_count=n % 7) for n in range(10_000)]
    response, job = post_job(hr_api, {"rows": rows}, format="json")
    assert response.status_code == 202, response.content[:500]
    assert job["status"] == "succeeded" and job["result"]["created"] == 10_000
    assert MonthlyBusiness.objects.count() == 10_000
    assert MonthlyBusiness.objects.get(client__client_no="K09999").wm_income == Decimal("9999.25")
