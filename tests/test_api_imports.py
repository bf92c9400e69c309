"""POST /api/v1/imports/monthly/: business data in, through the same all-or-nothing import as
the upload page, as a file or as JSON rows (DOMAIN 2.1, 6)."""
import io
import time
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook

from clients.models import Client, MonthlyBusiness
from rmportal.importing import importer_for
from tests.api_mixins import api_client_for, make_read_only
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports/monthly/"


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


def test_the_route_is_registered_on_the_router():
    assert reverse("import-monthly") == URL


def test_json_rows_are_stored_with_their_exact_amounts(hr_api, clients):
    response = hr_api.post(URL, {"rows": [good_row("C1"), good_row("C2", wm_income=1234.56, wm_sales=None)]},
                           format="json")
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 2 and response.json()["rows"] == 2
    stored = MonthlyBusiness.objects.get(client__client_no="C2")
    # A JSON number keeps its digits (no float on the way); null is 0 like a blank cell.
    assert stored.wm_income == Decimal("1234.56") and stored.wm_sales == Decimal("0")
    assert stored.deposit_avg_balance == Decimal("500000.00")


def test_bad_rows_reject_the_request_with_row_column_and_reason_and_store_nothing(hr_api, clients):
    rows = [good_row("C1"), good_row("C2", deposit_avg_balance="-1"), good_row("NOPE"),
            good_row("C3", loan_term="forever"), good_row("C1")]
    response = hr_api.post(URL, {"rows": rows}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "errors"} and "nothing was stored" in body["detail"]
    assert body["errors"]["truncated"] is False
    # Rows count as in a file: rows[0] is row 2.
    assert {(e["row"], e["column"]) for e in body["errors"]["rows"]} == {
        (3, "deposit_avg_balance"), (4, "client_no"), (5, "loan_term"), (6, "month")}
    assert all(e["reason"] for e in body["errors"]["rows"])
    assert not MonthlyBusiness.objects.exists()


def test_an_element_that_is_not_an_object_rejects_the_request(hr_api, clients):
    response = hr_api.post(URL, {"rows": [good_row("C1"), ["C2", "2026-01"]]}, format="json")
    assert response.status_code == 400
    assert [(e["row"], e["column"]) for e in response.json()["errors"]["rows"]] == [(3, "")]
    assert not MonthlyBusiness.objects.exists()


@pytest.mark.parametrize("body", [{}, {"rows": "C1,2026-01"}, {"rows": []}])
def test_a_body_without_rows_is_refused(hr_api, clients, body):
    response = hr_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "errors"}


def test_a_csv_file_goes_through_the_same_checks(hr_api, clients):
    table = short_table(["client_no", "month", "deposit_avg_balance"], ["C1", "2026-01", "100.00"],
                        ["C2", "2026-01", "-5"])
    upload = io.BytesIO("".join(",".join(row) + "\n" for row in table).encode())
    upload.name = "2026-01.csv"
    response = hr_api.post(URL, {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"]["rows"] == [
        {"row": 3, "column": "deposit_avg_balance", "reason": "must not be negative"}]
    assert not MonthlyBusiness.objects.exists()


def test_an_xlsx_file_is_imported(hr_api, clients):
    workbook = Workbook()
    for row in short_table(["client_no", "month", "deposit_avg_balance"], ["C1", "2026-02", "100.50"]):
        workbook.active.append(row)
    upload = io.BytesIO()
    workbook.save(upload)
    upload.seek(0)
    upload.name = "2026-02.xlsx"
    response = hr_api.post(URL, {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    assert MonthlyBusiness.objects.get(client__client_no="C1").deposit_avg_balance == Decimal("100.50")


def test_a_file_that_is_neither_csv_nor_xlsx_is_refused(hr_api, clients):
    upload = io.BytesIO(b"client_no,month\nC1,2026-01\n")
    upload.name = "data.txt"
    response = hr_api.post(URL, {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["errors"]


def test_reimporting_a_month_upserts_and_leaves_other_rows_alone(hr_api, clients):
    assert hr_api.post(URL, {"rows": [good_row("C1"), good_row("C2")]}, format="json").status_code == 201
    response = hr_api.post(URL, {"rows": [good_row("C3"), good_row("C1", wm_income="7.00")]}, format="json")
    assert response.status_code == 201
    assert (response.json()["created"], response.json()["updated"], response.json()["deleted"]) == (1, 1, 0)
    assert sorted(MonthlyBusiness.objects.values_list("client__client_no", flat=True)) == ["C1", "C2", "C3"]


@pytest.mark.parametrize("role", ["rm", "branch_manager", "reviewer", "department_head"])
def test_only_hr_imports(branch, clients, role):
    employee = EmployeeFactory(branch=branch, role=role)
    response = api_client_for(employee.user).post(URL, {"rows": [good_row("C1")]}, format="json")
    assert response.status_code == 403
    assert not MonthlyBusiness.objects.exists()


def test_a_read_only_account_cannot_import(hr, clients):
    make_read_only(hr.user)
    response = api_client_for(hr.user).post(URL, {"rows": [good_row("C1")]}, format="json")
    assert response.status_code == 403
    assert not MonthlyBusiness.objects.exists()


def test_ten_thousand_rows_in_one_request_take_a_few_seconds(hr_api, branch):
    Client.objects.bulk_create(Client(client_no=f"K{n:05d}", name=f"Client {n}", client_type="individual",
                                      branch=branch) for n in range(10_000))
    rows = [good_row(f"K{n:05d}", wm_income=f"{n}.25", card_count=n % 7) for n in range(10_000)]
    started = time.monotonic()
    response = hr_api.post(URL, {"rows": rows}, format="json")
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.content[:500]
    assert response.json()["created"] == 10_000
    assert MonthlyBusiness.objects.count() == 10_000
    assert MonthlyBusiness.objects.get(client__client_no="K09999").wm_income == Decimal("9999.25")
    assert elapsed < 15, elapsed
