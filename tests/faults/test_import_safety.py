"""Imports cannot lose data (DOMAIN 6): a partial file never wipes what it does not mention, a
file naming a row twice is refused whatever its kind, and a failure in the middle of an import
or of an undo leaves everything as it was."""
import datetime as dt
from decimal import Decimal

import pytest

from clients.models import ImportBatch, ImportBatchRow, MonthlyBusiness
from clients.tests.test_import_monthly import HEADER, full_row
from clients.tests.test_importers import csv_file
from rmportal.import_batches import import_batch_undo
from rmportal.importing import ImportRejected, run_import
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

NOVEMBER = dt.date(2026, 11, 1)


@pytest.fixture
def november(branch, sister_branch, rm):
    """Forty clients over two branches, each with business stored for 2026-11."""
    clients = [ClientFactory(client_no=f"N{n:03d}", branch=branch if n % 2 else sister_branch,
                             rm=rm if n % 2 else None) for n in range(40)]
    for n, client in enumerate(clients):
        MonthlyBusiness.objects.create(client=client, month=NOVEMBER, deposit_avg_balance=Decimal(n + 1),
                                       wm_income=Decimal("1.50"))
    return clients


def stored() -> dict:
    return {row["id"]: row for row in MonthlyBusiness.objects.values()}


def test_one_clients_row_for_a_month_leaves_the_rest_of_the_bank_alone(november):
    before = stored()
    result = run_import("monthly", csv_file(HEADER, full_row("N007", "2026-11", deposit_avg_balance="99.00")),
                        filename="one.csv")
    after = stored()
    assert (result.updated, result.deleted) == (1, 0)
    changed = MonthlyBusiness.objects.get(client__client_no="N007").pk
    assert after[changed]["deposit_avg_balance"] == Decimal("99.00")
    del before[changed], after[changed]
    assert after == before  # 39 rows, every column, untouched


DUPLICATES = {
    "branches": ("branch_code,name,region_code,region_name", "B05,Fifth,R01,North"),
    "levels": ("sequence,sequence_name,level,level_name,rank,bonus_coefficient", "personal,Personal,L1,One,{n},1.0"),
    "employees": ("employee_no,name,branch_code,role,sequence,level,hired_on,email", "E900,Zhao,B01,rm,,,2020-01-01,"),
    "clients": ("client_no,name,client_type,segment,branch_code,rm_employee_no,opened_on",
                "X001,Acme,individual,mass,B01,RM001,2020-01-01"),
    "monthly": (HEADER, full_row("N001", "2026-11")),
    "parameters": ("branch_code,month,key,value", "*,2026-11,tax_rate,0.06"),
    "callbacks": ("client_no,date,score,channel,comment", "N001,2025-06-01,{n},phone,"),
    "budgets": ("branch_code,period,amount", "B01,2026,1000{n}"),
    "statements": ("client_no,period,line,amount", "N001,2024,revenue,10{n}"),
}


@pytest.mark.parametrize("kind", sorted(DUPLICATES))
def test_the_same_key_twice_in_one_file_is_refused_in_every_kind(kind, november):
    header, line = DUPLICATES[kind]
    with pytest.raises(ImportRejected) as refused:
        run_import(kind, csv_file(header, line.format(n=1), line.format(n=2)), filename="twice.csv")
    duplicates = [error for error in refused.value.errors if "appears already in row 2" in error.reason
                  or "already in row 2" in error.reason]
    assert [error.row for error in duplicates] == [3], refused.value.errors
    assert not ImportBatch.objects.exists()


def test_a_failure_while_recomputing_stores_nothing(november, monkeypatch):
    before = stored()

    def broken(**kwargs):
        raise RuntimeError("the engine broke")

    monkeypatch.setattr("clients.contribution.contribution_recompute", broken)
    with pytest.raises(RuntimeError):
        run_import("monthly", csv_file(HEADER, full_row("N007", "2026-11", deposit_avg_balance="99.00")),
                   filename="one.csv", replace=True, confirm_delete=True)
    assert stored() == before
    assert not ImportBatch.objects.exists() and not ImportBatchRow.objects.exists()


def test_a_failure_while_undoing_changes_nothing(november, monkeypatch):
    result = run_import("monthly", csv_file(HEADER, full_row("N007", "2026-11", deposit_avg_balance="99.00")),
                        filename="one.csv", replace=True, confirm_delete=True)
    after_import = stored()
    assert len(after_import) == 21  # B01's other 19 November rows were replaced away; B02's 20 kept

    def broken(**kwargs):
        raise RuntimeError("the engine broke")

    monkeypatch.setattr("clients.contribution.contribution_recompute", broken)
    with pytest.raises(RuntimeError):
        import_batch_undo(batch_id=result.batch_id)
    assert stored() == after_import
    assert not ImportBatch.objects.filter(undo_of_id=result.batch_id).exists()
