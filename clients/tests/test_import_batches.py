"""Imports that cannot lose data (DOMAIN 6): upsert by key, explicit replace with its preview and
deletion threshold, dry runs, and import batches that can be undone exactly."""
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from clients.models import (BookMonth, ClientContribution, ContributionParameter, ImportBatch, Interaction,
                            MonthlyBusiness)
from clients.tests.test_contribution import EXAMPLE_PARAMETERS, set_parameters
from clients.tests.test_import_monthly import HEADER, JANUARY, FEBRUARY, full_row, write_path  # noqa: F401
from clients.tests.test_importers import csv_file
from performance.models import Appraisal
from performance.schemes import scheme_import
from performance.tests.conftest import EXAMPLE_SCHEME
from rmportal.errors import ApplicationError
from rmportal.import_batches import import_batch_undo, import_batch_undo_problem
from rmportal.importing import DeletionNotConfirmed, run_import
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank(branch, sister_branch, rm):
    """Clients C001–C003 at B01 and D001–D002 at B02, each with a January row, C001 also February,
    and the contribution parameters of both months."""
    other_rm = EmployeeFactory(employee_no="RM201", branch=sister_branch)
    clients = {no: ClientFactory(client_no=no, branch=branch, rm=rm) for no in ("C001", "C002", "C003")}
    clients |= {no: ClientFactory(client_no=no, branch=sister_branch, rm=other_rm) for no in ("D001", "D002")}
    for month in (JANUARY, FEBRUARY):
        set_parameters(None, month, **EXAMPLE_PARAMETERS)
        set_parameters(branch, month, cost_loan="800", cost_deposit="120", cost_wm="100", cost_card="50")
    rows = [full_row(no, "2026-01", deposit_avg_balance=f"{n}000.00", wm_income=f"{n}5.5")
            for n, no in enumerate(clients, start=1)]
    rows.append(full_row("C001", "2026-02", deposit_avg_balance="42.00"))
    run_import("monthly", csv_file(HEADER, *rows), filename="initial.csv")
    return clients


def monthly_rows() -> list[dict]:
    """Every column of every stored monthly row, keys included."""
    return list(MonthlyBusiness.objects.order_by("pk").values())


def contribution_rows() -> list[dict]:
    """Every stored contribution, without the row key (recomputing may renumber them)."""
    return sorted(({k: v for k, v in row.items() if k != "id"} for row in ClientContribution.objects.values()),
                  key=lambda row: (row["client_id"], row["month"]))


def book_rows() -> list[dict]:
    return sorted(({k: v for k, v in row.items() if k != "id"} for row in BookMonth.objects.values()),
                  key=lambda row: (row["rm_id"], row["month"]))


def test_a_one_row_correction_leaves_every_other_row_of_the_month_alone(write_path, bank):
    before = {row["client_id"]: row for row in monthly_rows()}
    result = run_import("monthly", csv_file(HEADER, full_row("C002", deposit_avg_balance="9.99")), filename="fix.csv")
    after = {row["client_id"]: row for row in monthly_rows()}
    assert (result.created, result.updated, result.unchanged, result.deleted) == (0, 1, 0, 0)
    changed = bank["C002"].pk
    assert after[changed]["deposit_avg_balance"] == Decimal("9.99")
    assert {pk: row for pk, row in after.items() if pk != changed} == {
        pk: row for pk, row in before.items() if pk != changed}
    assert MonthlyBusiness.objects.count() == 6
    assert result.groups == [{"branch": "B01", "month": "2026-01", "created": 0, "updated": 1, "unchanged": 0,
                              "deleted": 0, "stored": 0}]


def replace_file():
    # B01's January: C001 changed, C002 as stored, C003 missing (to be deleted).
    return csv_file(HEADER, full_row("C001", deposit_avg_balance="1.00", wm_income="15.5"),
                    full_row("C002", deposit_avg_balance="2000.00", wm_income="25.5"))


def test_replace_is_limited_to_the_branches_and_months_of_the_file(write_path, bank):
    before = monthly_rows()
    preview = run_import("monthly", replace_file(), filename="r.csv", replace=True, dry_run=True)
    assert preview.dry_run and preview.batch_id is None
    assert preview.groups == [{"branch": "B01", "month": "2026-01", "created": 0, "updated": 1, "unchanged": 1,
                               "deleted": 1, "stored": 3}]
    assert (preview.created, preview.updated, preview.unchanged, preview.deleted) == (0, 1, 1, 1)
    assert monthly_rows() == before  # the dry run stored nothing
    assert not ImportBatch.objects.exclude(filename="initial.csv").exists()

    result = run_import("monthly", replace_file(), filename="r.csv", replace=True, confirm_delete=True)
    assert result.groups == preview.groups  # the preview and the run cannot disagree
    stored = set(MonthlyBusiness.objects.values_list("client__client_no", "month"))
    # C003's January is gone; B02's January and C001's February are untouched.
    assert stored == {("C001", JANUARY), ("C002", JANUARY), ("D001", JANUARY), ("D002", JANUARY),
                      ("C001", FEBRUARY)}
    untouched = [row for row in before if row["client_id"] not in (bank["C001"].pk, bank["C003"].pk)
                 or row["month"] == FEBRUARY]
    assert [row for row in monthly_rows() if row["id"] in {r["id"] for r in untouched}] == untouched


def test_a_replace_deleting_over_5_percent_is_refused_without_confirmation(write_path, bank):
    before = monthly_rows()
    with pytest.raises(DeletionNotConfirmed) as refused:
        run_import("monthly", replace_file(), filename="r.csv", replace=True)
    assert "1 of 3 rows" in refused.value.message
    assert refused.value.result.risky_groups[0]["deleted"] == 1
    assert monthly_rows() == before
    assert ImportBatch.objects.count() == 1  # the initial import only

    result = run_import("monthly", replace_file(), filename="r.csv", replace=True, confirm_delete=True)
    assert result.deleted == 1
    assert not MonthlyBusiness.objects.filter(client=bank["C003"], month=JANUARY).exists()


def test_a_replace_deleting_5_percent_or_less_needs_no_confirmation(write_path, branch, rm):
    numbers = [f"K{n:03d}" for n in range(20)]
    for number in numbers:
        ClientFactory(client_no=number, branch=branch, rm=rm)
    run_import("monthly", csv_file(HEADER, *(full_row(no) for no in numbers)), filename="all.csv")
    result = run_import("monthly", csv_file(HEADER, *(full_row(no) for no in numbers[1:])), filename="less.csv",
                        replace=True)
    assert (result.deleted, result.unchanged, result.risky_groups) == (1, 19, [])  # 1 of 20: exactly 5 %
    assert MonthlyBusiness.objects.count() == 19


def test_replace_is_refused_by_kinds_that_do_not_offer_it(branch):
    with pytest.raises(ApplicationError, match="cannot replace"):
        run_import("branches", csv_file("branch_code,name,region_code,region_name", "B09,New,R01,North"),
                   filename="b.csv", replace=True)


def test_every_import_that_stores_is_a_batch_with_its_rows(write_path, bank):
    result = run_import("monthly", replace_file(), filename="r.csv", replace=True, confirm_delete=True)
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert (batch.kind, batch.filename, batch.mode) == ("monthly", "r.csv", ImportBatch.Mode.REPLACE)
    assert (batch.created, batch.updated, batch.unchanged, batch.deleted) == (0, 1, 1, 1)
    assert (batch.months, batch.branches) == (["2026-01"], ["B01"])
    rows = {(row.object_pk, row.action) for row in batch.rows.all()}
    c001 = MonthlyBusiness.objects.get(client=bank["C001"], month=JANUARY).pk
    assert (c001, "updated") in rows and len(rows) == 2
    deleted = batch.rows.get(action="deleted")
    assert Decimal(str(deleted.before["deposit_avg_balance"])) == Decimal("3000.00")


def test_undo_restores_a_month_exactly(write_path, bank, branch, rm):
    new_client = ClientFactory(client_no="C004", branch=branch, rm=rm)
    monthly, contributions, books = monthly_rows(), contribution_rows(), book_rows()
    assert contributions and books  # the recompute ran: the comparison below means something
    result = run_import("monthly", csv_file(HEADER, full_row("C001", deposit_avg_balance="1.00"),
                                            full_row("C004", deposit_avg_balance="4.00")),
                        filename="r.csv", replace=True, confirm_delete=True)
    assert (result.created, result.updated, result.deleted) == (1, 1, 2)
    assert contribution_rows() != contributions

    undo = import_batch_undo(batch_id=result.batch_id)
    assert monthly_rows() == monthly  # every column of every row, keys included
    assert contribution_rows() == contributions
    assert book_rows() == books
    assert not MonthlyBusiness.objects.filter(client=new_client).exists()

    assert (undo.mode, undo.undo_of_id) == (ImportBatch.Mode.UNDO, result.batch_id)
    assert (undo.created, undo.updated, undo.deleted) == (2, 1, 1)
    assert set(undo.rows.values_list("action", flat=True)) == {"created", "updated", "deleted"}
    assert "undone already" in import_batch_undo_problem(ImportBatch.objects.get(pk=result.batch_id))
    assert "is an undo" in import_batch_undo_problem(undo)


def test_undo_is_refused_after_a_later_batch_touched_the_rows(write_path, bank):
    first = run_import("monthly", csv_file(HEADER, full_row("C001", deposit_avg_balance="1.00")), filename="a.csv")
    second = run_import("monthly", csv_file(HEADER, full_row("C001", deposit_avg_balance="2.00")), filename="b.csv")
    with pytest.raises(ApplicationError, match=f"batch {second.batch_id}"):
        import_batch_undo(batch_id=first.batch_id)
    assert MonthlyBusiness.objects.get(client=bank["C001"], month=JANUARY).deposit_avg_balance == Decimal("2.00")

    import_batch_undo(batch_id=second.batch_id)
    import_batch_undo(batch_id=first.batch_id)  # the later batch is undone: the rows are first's again
    assert MonthlyBusiness.objects.get(client=bank["C001"], month=JANUARY).deposit_avg_balance == Decimal("1000.00")


def test_undo_is_refused_once_an_appraisal_using_the_months_is_approved(write_path, bank, branch, rm):
    result = run_import("monthly", csv_file(HEADER, full_row("C001", deposit_avg_balance="1.00")), filename="a.csv")
    scheme = scheme_import(data=EXAMPLE_SCHEME)
    appraisal = Appraisal.objects.create(employee=rm, scheme=scheme, branch=branch, period="2026-Q1",
                                         period_kind="quarter", state=Appraisal.State.COMPUTED,
                                         computed_at=timezone.now())
    assert import_batch_undo_problem(ImportBatch.objects.get(pk=result.batch_id)) is None
    appraisal.state = Appraisal.State.APPROVED
    appraisal.save()
    with pytest.raises(ApplicationError, match="2026-Q1 at branch B01"):
        import_batch_undo(batch_id=result.batch_id)
    assert MonthlyBusiness.objects.get(client=bank["C001"], month=JANUARY).deposit_avg_balance == Decimal("1.00")
    assert not ImportBatch.objects.filter(mode=ImportBatch.Mode.UNDO).exists()


# --- the command ------------------------------------------------------------------------------

@pytest.fixture
def replace_path(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(replace_file().getvalue())
    return path


def test_command_dry_run_prints_the_preview_and_stores_nothing(bank, replace_path):
    before = monthly_rows()
    out = io.StringIO()
    call_command("import_data", "monthly", str(replace_path), "--replace", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Dry run: nothing was stored." in text
    assert any(line.split() == ["B01", "2026-01", "0", "1", "1", "1", "3"] for line in text.splitlines())
    assert "Storing it would need --confirm-delete: more than 5 % of some branch-month's rows" in text
    assert monthly_rows() == before
    assert ImportBatch.objects.count() == 1


def test_command_refuses_a_large_delete_without_confirm_delete(bank, replace_path):
    before = monthly_rows()
    with pytest.raises(CommandError, match="1 of 3 rows"):
        call_command("import_data", "monthly", str(replace_path), "--replace", stdout=io.StringIO())
    assert monthly_rows() == before
    out = io.StringIO()
    call_command("import_data", "monthly", str(replace_path), "--replace", "--confirm-delete", stdout=out)
    batch = ImportBatch.objects.latest("pk")
    assert f"--undo {batch.pk}" in out.getvalue()
    assert not MonthlyBusiness.objects.filter(client=bank["C003"], month=JANUARY).exists()


def test_command_undo(bank, replace_path):
    before = monthly_rows()
    call_command("import_data", "monthly", str(replace_path), "--replace", "--confirm-delete", stdout=io.StringIO())
    batch = ImportBatch.objects.latest("pk")
    out = io.StringIO()
    call_command("import_data", "--undo", str(batch.pk), stdout=out)
    assert f"Batch {batch.pk} undone" in out.getvalue()
    assert monthly_rows() == before
    with pytest.raises(CommandError, match="undone already"):
        call_command("import_data", "--undo", str(batch.pk), stdout=io.StringIO())
    with pytest.raises(CommandError, match="no import batch"):
        call_command("import_data", "--undo", "999999", stdout=io.StringIO())


# --- the other kinds that offer replace and undo ----------------------------------------------

PARAMETER_HEADER = "branch_code,month,key,value"


def parameter_rows() -> list[dict]:
    return list(ContributionParameter.objects.order_by("pk").values())


def test_parameters_replace_only_the_file_branch_months_and_undo_exactly(bank, branch, sister_branch):
    set_parameters(sister_branch, JANUARY, cost_loan="900")
    before = parameter_rows()
    result = run_import("parameters", csv_file(PARAMETER_HEADER, "B01,2026-01,cost_loan,801"), filename="p.csv",
                        replace=True, confirm_delete=True)
    assert result.groups == [{"branch": "B01", "month": "2026-01", "created": 0, "updated": 1, "unchanged": 0,
                              "deleted": 3, "stored": 4}]
    left = set(ContributionParameter.objects.values_list("branch__code", "month", "key"))
    assert ("B01", JANUARY, "cost_deposit") not in left
    assert {("B02", JANUARY, "cost_loan"), ("B01", FEBRUARY, "cost_deposit"), (None, JANUARY, "tax_rate")} <= left

    import_batch_undo(batch_id=result.batch_id)
    assert parameter_rows() == before


CALLBACK_HEADER = "client_no,date,score,channel,comment"


def test_callbacks_replace_only_the_file_branch_months_and_undo_exactly(bank):
    run_import("callbacks", csv_file(CALLBACK_HEADER, "C001,2025-06-03,4,phone,fine", "C002,2025-06-04,2,visit,",
                                     "C002,2025-07-01,5,phone,", "D001,2025-06-05,3,phone,"), filename="a.csv")
    before = list(Interaction.objects.order_by("pk").values())
    result = run_import("callbacks", csv_file(CALLBACK_HEADER, "C001,2025-06-03,5,phone,better"), filename="b.csv",
                        replace=True, confirm_delete=True)
    assert result.groups == [{"branch": "B01", "month": "2025-06", "created": 0, "updated": 1, "unchanged": 0,
                              "deleted": 1, "stored": 2}]
    assert sorted(Interaction.objects.values_list("client__client_no", "occurred_on", "score")) == [
        ("C001", dt.date(2025, 6, 3), 5), ("C002", dt.date(2025, 7, 1), 5), ("D001", dt.date(2025, 6, 5), 3)]

    import_batch_undo(batch_id=result.batch_id)
    assert list(Interaction.objects.order_by("pk").values()) == before


def test_the_portable_recording_and_undo_restore_exactly(bank, branch, rm, monkeypatch):
    """Other databases record the before-images and put them back through the ORM."""
    ClientFactory(client_no="C004", branch=branch, rm=rm)
    before = monthly_rows()
    monkeypatch.setattr("clients.contribution.contribution_recompute", lambda **kwargs: 0)  # tested above
    monkeypatch.setattr(connection, "vendor", "portable")
    result = run_import("monthly", csv_file(HEADER, full_row("C001", deposit_avg_balance="1.00"),
                                            full_row("C004", deposit_avg_balance="4.00")),
                        filename="r.csv", replace=True, confirm_delete=True)
    assert (result.created, result.updated, result.deleted) == (1, 1, 2)
    assert ImportBatch.objects.get(pk=result.batch_id).rows.count() == 4
    import_batch_undo(batch_id=result.batch_id)
    monkeypatch.undo()
    assert monthly_rows() == before


def test_undo_of_a_bank_wide_parameter_is_refused_once_any_branch_approved_the_month(bank, sister_branch):
    result = run_import("parameters", csv_file(PARAMETER_HEADER, "*,2026-01,tax_rate,0.07"), filename="p.csv")
    assert import_batch_undo_problem(ImportBatch.objects.get(pk=result.batch_id)) is None
    employee = EmployeeFactory(employee_no="RM202", branch=sister_branch)
    Appraisal.objects.create(employee=employee, scheme=scheme_import(data=EXAMPLE_SCHEME), branch=sister_branch,
                             period="2026", period_kind="year", state=Appraisal.State.APPROVED,
                             computed_at=timezone.now())
    with pytest.raises(ApplicationError, match="2026 at branch B02"):
        import_batch_undo(batch_id=result.batch_id)
