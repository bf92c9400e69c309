"""targets and budgets imports, and late data recomputing open appraisals (DOMAIN 3.3, 6)."""
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from clients.models import ContributionParameter, ImportBatch
from clients.tests.test_import_monthly import HEADER as MONTHLY_HEADER
from clients.tests.test_import_monthly import full_row
from performance.appraisals import appraisal_run
from performance.models import Appraisal, AppraisalLine, Budget, Target
from rmportal.import_batches import import_batch_undo
from rmportal.importing import ImportRejected, run_import
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def load(kind, text, **kwargs):
    return run_import(kind, io.BytesIO(text.encode("utf-8")), filename=f"{kind}.csv", **kwargs)


def errors_of(kind, text):
    with pytest.raises(ImportRejected) as caught:
        load(kind, text)
    return [(e.row, e.column) for e in caught.value.errors]


def test_targets_are_stored_per_rm_indicator_and_period(scheme, rm):
    result = load("targets", "employee_no,period,indicator,target\nRM001,2026-01,dep,100000\nRM001,2026-Q1,npl,0.02\n")
    assert result.created == 2
    assert Target.objects.get(employee=rm, period="2026-01").value == D(100000)


def test_targets_columns_in_any_order_and_reimport_updates(scheme, rm):
    load("targets", "target,indicator,period,employee_no\n100000,dep,2026-01,RM001\n")
    result = load("targets", "employee_no,period,indicator,target\nRM001,2026-01,dep,120000\n")
    assert (result.created, result.updated) == (0, 1)
    assert Target.objects.get().value == D(120000)


@pytest.mark.parametrize("line, column", [
    ("NOPE,2026-01,dep,1", "employee_no"),
    ("RM001,2026-13,dep,1", "period"),
    ("RM001,2026-01,xyz,1", "indicator"),
    ("RM001,2026-01,npl,0.01", "period"),  # npl is not a monthly indicator
    ("RM001,2026-01,dep,abc", "target"),
])
def test_bad_target_rows_reject_the_file(scheme, rm, line, column):
    text = f"employee_no,period,indicator,target\nRM001,2026-02,dep,5\n{line}\n"
    assert (3, column) in errors_of("targets", text)
    assert not Target.objects.exists()


def test_duplicate_target_rows_are_refused(scheme, rm):
    assert (3, "indicator") in errors_of("targets", "employee_no,period,indicator,target\n"
                                                    "RM001,2026-01,dep,1\nRM001,2026-01,dep,2\n")


def test_targets_of_an_approved_appraisal_cannot_change(scheme, rm):
    from django.utils import timezone
    Appraisal.objects.create(employee=rm, scheme=scheme, branch=rm.branch, period="2026-01", period_kind="month",
                             state="approved", computed_at=timezone.now())
    assert (2, "target") in errors_of("targets", "employee_no,period,indicator,target\nRM001,2026-01,dep,1\n")


def test_new_targets_recompute_open_appraisals(scheme, rm, branch, monthly, django_capture_on_commit_callbacks):
    client = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2025, 1, 1))
    monthly(client, "2026-01", deposit_avg_balance=50000)
    appraisal_run(period="2026-01")
    assert Appraisal.objects.get(employee=rm).missing
    with django_capture_on_commit_callbacks(execute=True):
        load("targets", "employee_no,period,indicator,target\nRM001,2026-01,dep,100000\n")
    appraisal = Appraisal.objects.get(employee=rm)
    assert appraisal.missing == []
    assert AppraisalLine.objects.get(appraisal=appraisal, indicator__code="dep").points == D(30)


def test_budgets_are_stored_and_validated(branch):
    load("budgets", "branch_code,period,amount\nB01,2026-Q1,100000.00\n")
    assert Budget.objects.get().amount == D("100000.00")
    assert (2, "amount") in errors_of("budgets", "branch_code,period,amount\nB01,2026-Q2,-1\n")
    assert (2, "branch_code") in errors_of("budgets", "branch_code,period,amount\nB99,2026-Q2,1\n")
    assert (3, "period") in errors_of("budgets", "branch_code,period,amount\nB01,2026-Q3,1\nB01,2026-Q3,2\n")
    assert Budget.objects.count() == 1


def test_import_data_command_takes_targets(scheme, rm, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text("employee_no,period,indicator,target\nRM001,2026,sat,0.9\n", encoding="utf-8")
    call_command("import_data", "targets", str(path))
    assert Target.objects.get().period == "2026"


def test_late_monthly_data_recomputes_open_but_not_approved_appraisals(scheme, rm, other_rm, branch, monthly,
                                                                       django_capture_on_commit_callbacks):
    mine = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2025, 1, 1))
    theirs = ClientFactory(branch=branch, rm=other_rm, opened_on=dt.date(2025, 1, 1))
    ContributionParameter.objects.create(month=dt.date(2026, 1, 1), key="tax_rate", value=D("0.06"))
    appraisal_run(period="2026-01")
    Appraisal.objects.filter(employee=other_rm).update(state="approved")
    rows = "\n".join(full_row(client.client_no, fund_sales="400000") for client in (mine, theirs))
    with django_capture_on_commit_callbacks(execute=True):
        load("monthly", f"{MONTHLY_HEADER}\n{rows}\n")
    assert AppraisalLine.objects.get(appraisal__employee=rm, indicator__code="fund").points == D(40)
    assert AppraisalLine.objects.get(appraisal__employee=other_rm, indicator__code="fund").points == D(0)


TARGET_HEADER = "employee_no,period,indicator,target\n"


def test_targets_upsert_replace_within_the_branch_periods_and_undo(scheme, rm, other_rm):
    load("targets", TARGET_HEADER + "RM001,2026-01,dep,1\nRM001,2026-01,fund,2\nRM002,2026-01,dep,3\n"
                                    "RM001,2026-02,dep,4\n")
    before = list(Target.objects.order_by("pk").values())
    result = load("targets", TARGET_HEADER + "RM001,2026-01,dep,9\n")
    assert (result.created, result.updated, result.deleted, Target.objects.count()) == (0, 1, 0, 4)

    result = load("targets", TARGET_HEADER + "RM001,2026-01,dep,9\n", replace=True, confirm_delete=True)
    assert result.groups == [{"branch": "B01", "month": "2026-01", "created": 0, "updated": 0, "unchanged": 1,
                              "deleted": 2, "stored": 3}]
    assert sorted(Target.objects.values_list("employee__employee_no", "period", "value")) == [
        ("RM001", "2026-01", D(9)), ("RM001", "2026-02", D(4))]
    undo = import_batch_undo(batch_id=result.batch_id)
    undone = Target.history.filter(history_change_reason=f"Undo of import batch {result.batch_id}")
    assert sorted(undone.values_list("history_type", flat=True)) == ["+", "+"]  # the two deleted come back
    assert undo.created == 2
    first = ImportBatch.objects.filter(kind="targets").order_by("pk")[1]
    import_batch_undo(batch_id=first.pk)
    assert list(Target.objects.order_by("pk").values()) == before


def test_budget_imports_are_batches_that_can_be_undone(branch):
    load("budgets", "branch_code,period,amount\nB01,2026,1000\n")
    before = list(Budget.objects.values())
    result = load("budgets", "branch_code,period,amount\nB01,2026,2000\nB01,2025,500\n")
    assert result.groups == [
        {"branch": "B01", "month": "2025", "created": 1, "updated": 0, "unchanged": 0, "deleted": 0, "stored": 0},
        {"branch": "B01", "month": "2026", "created": 0, "updated": 1, "unchanged": 0, "deleted": 0, "stored": 0}]
    import_batch_undo(batch_id=result.batch_id)
    assert list(Budget.objects.values()) == before
