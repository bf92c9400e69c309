"""Reading files, header rules, all-or-nothing and the kind registry (rmportal.importing)."""
import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from clients.models import Branch, Employee
from rmportal import importing
from rmportal.errors import ApplicationError
from rmportal.importing import (
    CodeColumn,
    ImportRejected,
    Importer,
    ImportResult,
    IntegerColumn,
    importer_kinds,
    register_importer,
    run_import,
)
from clients.tests.test_importers import BRANCH_HEADER, cells, csv_file, rejected, xlsx_file
from tests.factories import LevelFactory

pytestmark = pytest.mark.django_db


def test_csv_with_byte_order_mark_is_read(region):
    run_import("branches", csv_file(BRANCH_HEADER, "B01,Main street,R01,North", bom=True), filename="b.csv")
    assert Branch.objects.get().code == "B01"


def test_xlsx_first_sheet_is_read_with_date_and_number_cells(branch):
    LevelFactory(sequence__code="personal", code="RM", rank=1)
    workbook = xlsx_file([
        ["employee_no", "name", "branch_code", "role", "sequence", "level", "hired_on", "email"],
        ["E001", "Li Na", "B01", "rm", "personal", "RM", dt.datetime(2021, 3, 1), None],
        [1002, "Wang Wei", "B01", "rm", None, None, dt.date(2022, 7, 1), "wang@bank.example"],
    ])
    result = run_import("employees", workbook, filename="staff.xlsx")
    assert result.created == 2
    assert dict(Employee.objects.values_list("employee_no", "hired_on")) == {
        "E001": dt.date(2021, 3, 1), "1002": dt.date(2022, 7, 1)}


def test_xlsx_errors_use_spreadsheet_row_numbers(branch):
    workbook = xlsx_file([
        ["branch_code", "name", "region_code", "region_name"],
        ["B05", "Fifth", "R01", "North"],
        [None, None, None, None],
        ["B06", None, "R01", "North"],
    ])
    assert rejected("branches", workbook, filename="b.xlsx") == [(4, "name", "a value is required")]


def test_not_a_workbook_is_rejected_as_a_whole():
    errors = rejected("branches", io.BytesIO(b"PK\x03\x04 broken"), filename="b.xlsx")
    assert errors == [(None, "", "the file is not a readable XLSX workbook")]


def test_file_that_is_not_utf8_is_rejected():
    gbk = "branch_code,name,region_code,region_name\nB01,北京分行,R01,华北\n".encode("gbk")
    errors = rejected("branches", io.BytesIO(gbk))
    assert len(errors) == 1 and "UTF-8" in errors[0][2]
    assert not Branch.objects.exists()


def test_columns_may_come_in_any_order_and_case():
    run_import("branches", csv_file("Region_Name, REGION_CODE ,name,branch_code", "North,R01,Main,B01"),
               filename="b.csv")
    branch = Branch.objects.get()
    assert (branch.code, branch.name, branch.region.code, branch.region.name) == ("B01", "Main", "R01", "North")


def test_missing_required_column_is_named():
    errors = rejected("branches", csv_file("branch_code,name,region_code", "B01,Main,R01"))
    assert errors == [(1, "region_name", "required column is missing")]


def test_unknown_column_is_rejected():
    errors = rejected("branches", csv_file(BRANCH_HEADER + ",manager", "B01,Main,R01,North,Li"))
    assert cells(errors) == {(1, "manager")}
    assert "unknown column" in errors[0][2]


def test_column_given_twice_is_rejected():
    errors = rejected("branches", csv_file(BRANCH_HEADER + ",name", "B01,Main,R01,North,Main"))
    assert cells(errors) == {(1, "name")}


def test_blank_trailing_header_cells_and_blank_rows_are_ignored():
    result = run_import("branches", csv_file(BRANCH_HEADER + ",,", ",,,,", "B01,Main,R01,North,,", "  , ,,",
                                             "B02,Harbour,R01,North,,"), filename="b.csv")
    assert result.rows == 2
    assert set(Branch.objects.values_list("code", flat=True)) == {"B01", "B02"}


def test_blank_rows_still_count_for_row_numbers():
    errors = rejected("branches", csv_file(BRANCH_HEADER, "B01,Main,R01,North", ",,,", "B02,,R01,North"))
    assert errors == [(4, "name", "a value is required")]


def test_value_under_a_column_without_name_is_rejected():
    errors = rejected("branches", csv_file(BRANCH_HEADER, "B01,Main,R01,North,surprise"))
    assert errors == [(2, "E", "a value in a column without a name")]


def test_blank_header_cell_between_columns_is_rejected():
    errors = rejected("branches", csv_file("branch_code,,name,region_code,region_name", "B01,,Main,R01,North"))
    assert errors == [(1, "B", "the column has no name")]


def test_empty_file_and_header_only_file_are_rejected():
    assert rejected("branches", io.BytesIO(b"")) == [(None, "", "the file is empty")]
    assert rejected("branches", csv_file(BRANCH_HEADER)) == [(None, "", "the file holds no data rows")]


def test_bad_last_row_stores_nothing():
    lines = [BRANCH_HEADER] + [f"B{n:02d},Branch {n},R01,North" for n in range(1, 30)] + ["B99,,R01,North"]
    errors = rejected("branches", csv_file(*lines))
    assert errors == [(31, "name", "a value is required")]
    assert not Branch.objects.exists()


def test_text_and_uploaded_file_objects_are_accepted():
    run_import("branches", io.StringIO(f"\ufeff{BRANCH_HEADER}\nB01,Main,R01,North\n"), filename="b.csv")
    upload = SimpleUploadedFile("b.csv", f"{BRANCH_HEADER}\nB02,Harbour,R01,North\n".encode())
    run_import("branches", upload, filename=upload.name)
    assert Branch.objects.count() == 2


def test_rejection_is_an_application_error_with_row_column_reason():
    with pytest.raises(ImportRejected) as exc:
        run_import("branches", csv_file(BRANCH_HEADER, "B01,,R01,North"), filename="b.csv")
    assert isinstance(exc.value, ApplicationError)
    row, column, reason = exc.value.errors[0]
    assert (row, column, reason) == (2, "name", "a value is required")
    assert exc.value.message == "b.csv was rejected: 1 error; nothing was stored."
    assert exc.value.extra["errors"] == [{"row": 2, "column": "name", "reason": "a value is required"}]


def test_unknown_kind_is_an_application_error():
    with pytest.raises(ApplicationError, match="Unknown kind"):
        run_import("bonuses", csv_file("a", "1"), filename="x.csv")


def test_only_roles_the_kind_allows_may_import(rm, hr):
    with pytest.raises(PermissionDenied):
        run_import("branches", csv_file(BRANCH_HEADER, "B09,Ninth,R01,North"), filename="b.csv", user=rm.user)
    run_import("branches", csv_file(BRANCH_HEADER, "B09,Ninth,R01,North"), filename="b.csv", user=hr.user)
    assert Branch.objects.filter(code="B09").exists()


@pytest.fixture
def scores_kind():
    """A kind registered the way another app registers its own (e.g. targets, budgets)."""

    @register_importer
    class ScoreImporter(Importer):
        kind = "test_scores"
        label = "Scores"
        columns = (CodeColumn("code", max_length=10), IntegerColumn("points", minimum=0, maximum=100))
        stored = []

        def run(self, table, report) -> ImportResult:
            rows = list(self.records(table, report))
            if not report:
                self.stored.extend(rows)
            return self.result(rows=table.rows_read, created=len(rows))

    yield ScoreImporter
    importing._registry.pop("test_scores")


def test_another_app_registers_its_own_kind(scores_kind):
    assert importer_kinds()["test_scores"] is scores_kind
    assert {"branches", "levels", "employees", "clients", "monthly", "parameters", "callbacks"} <= set(importer_kinds())
    result = run_import("test_scores", csv_file("points,code", "90,A", "75,B"), filename="s.csv")
    assert result.created == 2
    assert scores_kind.stored == [(2, {"code": "A", "points": 90}), (3, {"code": "B", "points": 75})]
    assert rejected("test_scores", csv_file("code,points", "A,101")) == [(2, "points", "must be at most 100")]


def test_error_report_is_capped(scores_kind):
    lines = ["code,points"] + ["A,-1"] * (importing.MAX_ERRORS + 10)
    with pytest.raises(ImportRejected) as exc:
        run_import("test_scores", csv_file(*lines), filename="s.csv")
    assert len(exc.value.errors) == importing.MAX_ERRORS and exc.value.truncated
    assert "more than" in exc.value.message


def test_unreadable_csv_row_is_reported_with_its_row():
    errors = rejected("branches", csv_file(BRANCH_HEADER, "B01,Main,R01,North", "B02," + "x" * 200_000 + ",R01,N"))
    assert len(errors) == 1
    assert errors[0][0] == 3 and "cannot be read" in errors[0][2]
    assert not Branch.objects.exists()


@pytest.mark.parametrize("name", ["branches.csv", "branches.xlsx"])
def test_large_uploads_spooled_to_disk_are_read(name):
    from django.core.files.uploadedfile import TemporaryUploadedFile

    rows = [BRANCH_HEADER.split(","), ["B01", "Main", "R01", "North"]]
    content = xlsx_file(rows).getvalue() if name.endswith(".xlsx") else csv_file(*map(",".join, rows)).getvalue()
    upload = TemporaryUploadedFile(name, "application/octet-stream", len(content), None)
    upload.write(content)
    upload.seek(0)
    run_import("branches", upload, filename=upload.name)
    upload.close()
    assert Branch.objects.get().code == "B01"
