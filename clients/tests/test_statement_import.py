"""The ``statements`` import kind (DOMAIN 2.3, 6): one row per client, period and line; all rows or
none; scoped to the clients the uploader may change; the checks run after storing."""
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from openpyxl import Workbook

from clients.models import Client, FinancialStatement, StatementEntry, StatementFlag
from rmportal.importing import ImportRejected, run_import
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

HEADER = "client_no,period,line,amount"


@pytest.fixture
def companies(branch, other_branch, rm, other_rm):
    return {
        "mine": ClientFactory(client_no="C-MINE", client_type=Client.Type.CORPORATE, branch=branch, rm=rm),
        "colleague": ClientFactory(client_no="C-COLL", client_type=Client.Type.CORPORATE, branch=branch,
                                   rm=other_rm),
        "far": ClientFactory(client_no="C-FAR", client_type=Client.Type.CORPORATE, branch=other_branch),
        "person": ClientFactory(client_no="C-PERS", client_type=Client.Type.INDIVIDUAL, branch=branch, rm=rm),
    }


def csv_file(*rows: str) -> io.BytesIO:
    return io.BytesIO(("\n".join((HEADER, *rows)) + "\n").encode("utf-8"))


def errors_of(fileobj, user=None) -> list[tuple]:
    with pytest.raises(ImportRejected) as exc:
        run_import("statements", fileobj, filename="s.csv", user=user)
    return [tuple(error) for error in exc.value.errors]


def cells(errors) -> set:
    return {(row, column) for row, column, _reason in errors}


GOOD = ("C-MINE,2024,accounts_receivable,1500000", "C-MINE,2024,total_assets,9000000",
        "C-MINE,2025,accounts_receivable,3000000", "C-MINE,2025,total_assets,9000000",
        "C-MINE,2025,retained_earnings,-250000.50")


def test_a_good_file_is_stored_and_checked(companies):
    result = run_import("statements", csv_file(*GOOD), filename="s.csv")

    assert (result.rows, result.created) == (5, 5)  # counted by line: the key is client, period and line
    statement = FinancialStatement.objects.get(client=companies["mine"], period="2025")
    assert statement.kind == "year" and str(statement.period_end) == "2025-12-31"
    assert dict(statement.entries.values_list("line", "amount"))["retained_earnings"] == Decimal("-250000.50")
    flag = StatementFlag.objects.get(client=companies["mine"], rule="account_swing")
    assert flag.subject == "accounts_receivable"
    assert any("flags raised" in note for note in result.notes)


def test_an_xlsx_file_with_numbers_in_cells_is_read(companies):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(["C-MINE", 2025, "cash", 1234.5])
    sheet.append(["C-MINE", "2025-Q3", "cash", 1000])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)

    run_import("statements", buffer, filename="s.xlsx")

    assert set(FinancialStatement.objects.values_list("period", "kind")) == {("2025", "year"),
                                                                            ("2025-Q3", "quarter")}
    assert StatementEntry.objects.get(statement__period="2025").amount == Decimal("1234.50")


def test_an_unknown_line_item_is_refused_with_its_row_and_nothing_is_stored(companies):
    errors = errors_of(csv_file("C-MINE,2025,cash,1", "C-MINE,2025,goodwill,5"))

    assert cells(errors) == {(3, "line")}
    assert "goodwill" in errors[0][2]
    assert not FinancialStatement.objects.exists() and not StatementEntry.objects.exists()


def test_a_non_numeric_amount_is_refused(companies):
    errors = errors_of(csv_file("C-MINE,2025,cash,1", "C-MINE,2025,inventory,lots"))

    assert cells(errors) == {(3, "amount")}
    assert not StatementEntry.objects.exists()


def test_the_same_client_period_and_line_twice_is_refused(companies):
    errors = errors_of(csv_file("C-MINE,2025,cash,1", "C-MINE,2025,inventory,2", "C-MINE,2025,cash,3"))

    assert cells(errors) == {(4, "line")}
    assert "row 2" in errors[0][2]
    assert not StatementEntry.objects.exists()


@pytest.mark.parametrize("period", ["2025-Q5", "2025-07", "FY2025"])
def test_a_bad_period_is_refused(companies, period):
    assert cells(errors_of(csv_file(f"C-MINE,{period},cash,1"))) == {(2, "period")}


def test_a_period_that_has_not_ended_is_refused(companies):
    assert cells(errors_of(csv_file("C-MINE,2999,cash,1"))) == {(2, "period")}


def test_negative_amounts_only_where_the_chart_allows(companies):
    errors = errors_of(csv_file("C-MINE,2025,cash,-1", "C-MINE,2025,inventory,-5", "C-MINE,2025,net_profit,-9",
                                "C-MINE,2025,investing_cash_flow,-9"))

    assert cells(errors) == {(2, "amount"), (3, "amount")}


def test_unknown_and_individual_clients_are_refused(companies):
    errors = errors_of(csv_file("C-NONE,2025,cash,1", "C-PERS,2025,cash,1"))

    assert cells(errors) == {(2, "client_no"), (3, "client_no")}
    assert "corporate" in errors[1][2]


def test_an_rm_may_upload_only_for_their_own_book(companies, rm):
    errors = errors_of(csv_file("C-MINE,2025,cash,1", "C-COLL,2025,cash,1", "C-FAR,2025,cash,1"), user=rm.user)

    assert cells(errors) == {(3, "client_no"), (4, "client_no")}
    assert not FinancialStatement.objects.exists()
    run_import("statements", csv_file("C-MINE,2025,cash,1"), filename="s.csv", user=rm.user)
    assert FinancialStatement.objects.get().uploaded_by == rm.user


def test_a_branch_manager_may_upload_for_the_branch_only(companies, branch_manager):
    errors = errors_of(csv_file("C-COLL,2025,cash,1", "C-FAR,2025,cash,1"), user=branch_manager.user)

    assert cells(errors) == {(3, "client_no")}


def test_a_reviewer_may_not_upload(companies, reviewer):
    with pytest.raises(PermissionDenied):
        run_import("statements", csv_file("C-MINE,2025,cash,1"), filename="s.csv", user=reviewer.user)


def test_re_uploading_a_client_period_upserts_its_lines(companies):
    run_import("statements", csv_file("C-MINE,2025,cash,1", "C-MINE,2025,inventory,2"), filename="a.csv")
    result = run_import("statements", csv_file("C-MINE,2025,cash,7"), filename="b.csv")

    assert (result.created, result.updated, result.unchanged, result.deleted) == (0, 1, 0, 0)
    assert sorted(StatementEntry.objects.values_list("line", "amount")) == [
        ("cash", Decimal("7.00")), ("inventory", Decimal("2.00"))]  # the line not in the file is kept
    assert result.groups[0]["branch"] == companies["mine"].branch.code and result.groups[0]["month"] == "2025"


def test_the_command_imports_statements(companies, tmp_path):
    path = tmp_path / "statements.csv"
    path.write_text("\n".join((HEADER, *GOOD)) + "\n", encoding="utf-8")
    out = io.StringIO()

    call_command("import_data", "statements", str(path), stdout=out)

    assert "5 rows imported as statements" in out.getvalue()
    assert FinancialStatement.objects.count() == 2


def test_the_command_reports_a_rejected_file(companies, tmp_path):
    path = tmp_path / "statements.csv"
    path.write_text(f"{HEADER}\nC-MINE,2025,goodwill,1\n", encoding="utf-8")
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_data", "statements", str(path), stderr=err)
    assert "row 2, column line" in err.getvalue()


def test_hr_imports_statements_on_the_import_page(client_of, hr, companies, django_capture_on_commit_callbacks):
    browser = client_of(hr)
    assert 'value="statements"' in browser.get(reverse("imports:upload")).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse("imports:upload"), {"kind": "statements", "file": SimpleUploadedFile(
            "s.csv", "\n".join((HEADER, *GOOD)).encode("utf-8"), content_type="text/csv")})
    assert not FinancialStatement.objects.filter(client=companies["mine"]).exists()  # previewed first
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(response["Location"] + "confirm/", {"confirm": ""})

    page = browser.get(response["Location"]).content.decode()
    assert "s.csv: 5 rows imported as statements." in page
    assert FinancialStatement.objects.filter(client=companies["mine"]).count() == 2


# --- the upload page of the statements -------------------------------------------------------------

UPLOAD = "/clients/statements/upload/"


def upload(text: str, name="statements.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_upload_url_is_named():
    assert reverse("clients:statement-upload") == UPLOAD


def test_an_rm_uploads_statements_for_their_book(client_of, rm, companies):
    response = client_of(rm).post(UPLOAD, {"file": upload(f"{HEADER}\nC-MINE,2025,cash,100\n")})

    assert response.status_code == 200
    assert 'id="import-result"' in response.content.decode()
    assert FinancialStatement.objects.filter(client=companies["mine"]).exists()


def test_an_upload_naming_another_book_is_rejected_with_the_row(client_of, rm, companies):
    response = client_of(rm).post(UPLOAD, {"file": upload(f"{HEADER}\nC-MINE,2025,cash,100\nC-COLL,2025,cash,5\n")})

    page = response.content.decode()
    assert 'id="import-rejected"' in page
    assert "<td>3</td><td>client_no</td>" in page
    assert not FinancialStatement.objects.exists()


@pytest.mark.parametrize("role", ["department_head", "reviewer"])
def test_roles_that_may_not_enter_statements_get_403_on_the_upload_page(client_of, role, request):
    employee = request.getfixturevalue(role)

    assert client_of(employee).get(UPLOAD).status_code == 403


def test_the_upload_page_lists_the_columns_and_the_chart(client_of, branch_manager):
    page = client_of(branch_manager).get(UPLOAD).content.decode()

    assert "<code>client_no</code>" in page and "<code>total_assets</code>" in page


def test_a_statement_import_can_be_undone_exactly(companies):
    from rmportal.import_batches import import_batch_undo

    run_import("statements", csv_file("C-MINE,2024,accounts_receivable,1500000", "C-MINE,2024,total_assets,9000000"),
               filename="a.csv")

    def state():
        return (list(FinancialStatement.objects.order_by("pk").values()),
                list(StatementEntry.objects.order_by("pk").values()),
                sorted(StatementFlag.objects.filter(status="open").values_list("client_id", "rule", "subject")))

    before = state()
    result = run_import("statements", csv_file(*GOOD[1:], "C-COLL,2025,cash,5"), filename="b.csv")
    assert (result.created, result.updated, result.unchanged) == (4, 0, 1)
    assert state() != before
    undo = import_batch_undo(batch_id=result.batch_id)
    assert state() == before
    assert undo.deleted == 6  # two statements and four lines created by b.csv are gone
