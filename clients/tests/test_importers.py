"""The import kinds branches, levels, employees, clients, parameters and callbacks (DOMAIN 6)."""
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.utils import timezone
from openpyxl import Workbook
from rest_framework.authtoken.models import Token

from careers.models import JobSequence, Level
from clients.models import (
    Assignment,
    Branch,
    Client,
    ContributionParameter,
    Employee,
    Interaction,
    Region,
    User,
)
from rmportal.importing import ImportRejected, run_import
from tests.factories import ClientFactory, EmployeeFactory, LevelFactory

pytestmark = pytest.mark.django_db


# --- helpers shared by the import tests -------------------------------------------------------

def csv_file(*lines: str, bom: bool = False) -> io.BytesIO:
    text = "\n".join(lines) + "\n"
    return io.BytesIO((("\ufeff" if bom else "") + text).encode("utf-8"))


def xlsx_file(rows) -> io.BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def rejected(kind: str, fileobj, filename: str = "data.csv") -> list[tuple]:
    """The (row, column, reason) triples of a rejected import."""
    with pytest.raises(ImportRejected) as exc:
        run_import(kind, fileobj, filename=filename)
    return [tuple(error) for error in exc.value.errors]


def cells(errors: list[tuple]) -> set[tuple]:
    """(row, column) pairs of a report, to assert where the errors are."""
    return {(row, column) for row, column, _reason in errors}


@pytest.fixture(autouse=True)
def recompute_calls(monkeypatch):
    """Records contribution recomputations instead of running the engine (tested on its own)."""
    calls = []

    def record(*, months, branch_ids=None):
        calls.append({"months": sorted(months), "branch_ids": None if branch_ids is None else sorted(branch_ids)})
        return 0

    monkeypatch.setattr("clients.contribution.contribution_recompute", record)
    return calls


# --- branches ---------------------------------------------------------------------------------

BRANCH_HEADER = "branch_code,name,region_code,region_name"


def test_branches_are_created_and_then_updated_by_code():
    result = run_import("branches", csv_file(BRANCH_HEADER, "B01,Main street,R01,North", "B02,Harbour,R01,North"),
                        filename="branches.csv")
    assert (result.created, result.rows) == (2, 2)
    assert Region.objects.get(code="R01").name == "North"

    result = run_import("branches", csv_file(BRANCH_HEADER, "B01,Main Street East,R02,South"),
                        filename="branches.csv")
    branch = Branch.objects.get(code="B01")
    assert (branch.name, branch.region.code, branch.region.name) == ("Main Street East", "R02", "South")
    assert (result.created, result.updated) == (0, 1)
    assert Branch.objects.count() == 2


def test_branches_duplicate_code_in_file_is_rejected():
    errors = rejected("branches", csv_file(BRANCH_HEADER, "B01,A,R01,North", "B01,B,R01,North"))
    assert cells(errors) == {(3, "branch_code")}
    assert "row 2" in errors[0][2]
    assert not Branch.objects.exists()


def test_branches_region_named_two_ways_is_rejected():
    errors = rejected("branches", csv_file(BRANCH_HEADER, "B01,A,R01,North", "B02,B,R01,Nord"))
    assert cells(errors) == {(3, "region_name")}


# --- levels -----------------------------------------------------------------------------------

LEVEL_HEADER = "sequence,sequence_name,level,level_name,rank,bonus_coefficient"


def test_levels_upsert_sequences_and_levels():
    run_import("levels", csv_file(LEVEL_HEADER, "personal,Personal RM,A,Assistant RM,1,1.0",
                                  "personal,Personal RM,S,Senior RM,2,1.25"), filename="levels.csv")
    result = run_import("levels", csv_file(LEVEL_HEADER, "personal,Personal RM track,S,Senior RM,2,1.3"),
                        filename="levels.csv")
    assert JobSequence.objects.get(code="personal").name == "Personal RM track"
    senior = Level.objects.get(sequence__code="personal", code="S")
    assert (senior.rank, senior.bonus_coefficient) == (2, Decimal("1.300"))
    assert (result.updated, result.created) == (1, 0)


def test_levels_may_swap_ranks():
    run_import("levels", csv_file(LEVEL_HEADER, "p,P,A,Assistant,1,1.0", "p,P,B,Senior,2,1.2"), filename="l.csv")
    run_import("levels", csv_file(LEVEL_HEADER, "p,P,A,Assistant,2,1.0", "p,P,B,Senior,1,1.2"), filename="l.csv")
    assert dict(Level.objects.values_list("code", "rank")) == {"A": 2, "B": 1}


def test_levels_rank_taken_by_a_level_not_in_the_file_is_rejected():
    run_import("levels", csv_file(LEVEL_HEADER, "p,P,A,Assistant,1,1.0"), filename="l.csv")
    errors = rejected("levels", csv_file(LEVEL_HEADER, "p,P,B,Senior,1,1.2"))
    assert cells(errors) == {(2, "rank")}


@pytest.mark.parametrize(("rank", "coefficient", "column", "reason"), [
    ("two", "1.0", "rank", "not a number"),
    ("0", "1.0", "rank", "at least 1"),
    ("1.5", "1.0", "rank", "not a whole number"),
    ("1", "0", "bonus_coefficient", "greater than 0"),
    ("1", "-1", "bonus_coefficient", "greater than 0"),
    ("1", "abc", "bonus_coefficient", "not a number"),
])
def test_levels_wrong_rank_or_coefficient_is_rejected(rank, coefficient, column, reason):
    errors = rejected("levels", csv_file(LEVEL_HEADER, f"p,P,A,Assistant,{rank},{coefficient}"))
    assert cells(errors) == {(2, column)}
    assert reason in errors[0][2]


# --- employees --------------------------------------------------------------------------------

EMPLOYEE_HEADER = "employee_no,name,branch_code,role,sequence,level,hired_on,email"


@pytest.fixture
def level(branch):
    return LevelFactory(sequence__code="personal", code="RM", rank=2)


def test_employee_import_creates_employee_with_account_without_password(branch, level):
    result = run_import("employees", csv_file(
        EMPLOYEE_HEADER,
        "E001,Li Na,B01,rm,personal,RM,2021-03-01,li.na@bank.example",
        "H001,Zhao Min,B01,hr,,,2019-07-15,",
    ), filename="employees.csv")
    assert result.created == 2
    li = Employee.objects.select_related("user").get(employee_no="E001")
    assert (li.role, li.level, li.hired_on, li.branch) == ("rm", level, dt.date(2021, 3, 1), branch)
    assert (li.user.username, li.user.email) == ("E001", "li.na@bank.example")
    assert not li.user.has_usable_password()
    assert Employee.objects.get(employee_no="H001").level is None


def test_imported_employee_logs_in_once_a_password_is_set(branch, level, client):
    run_import("employees", csv_file(EMPLOYEE_HEADER, "E001,Li Na,B01,rm,personal,RM,2021-03-01,"),
               filename="employees.csv")
    user = User.objects.get(username="E001")
    assert authenticate(username="E001", password="") is None
    user.set_password("Spring-Harbour-2026")
    user.save()
    assert client.login(username="E001", password="Spring-Harbour-2026")


def test_changepassword_command_then_log_in_works(branch, level, client, monkeypatch):
    run_import("employees", csv_file(EMPLOYEE_HEADER, "E001,Li Na,B01,rm,personal,RM,2021-03-01,"),
               filename="employees.csv")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "Spring-Harbour-2026")
    call_command("changepassword", "E001", stdout=io.StringIO())
    assert client.login(username="E001", password="Spring-Harbour-2026")


def test_drf_create_token_command_works_for_imported_employee(branch, level):
    run_import("employees", csv_file(EMPLOYEE_HEADER, "E001,Li Na,B01,rm,personal,RM,2021-03-01,"),
               filename="employees.csv")
    out = io.StringIO()
    call_command("drf_create_token", "E001", stdout=out)
    token = Token.objects.get(user__username="E001")
    assert token.key in out.getvalue()


def test_employee_reimport_updates_employee_and_keeps_account(branch, sister_branch, level):
    run_import("employees", csv_file(EMPLOYEE_HEADER, "E001,Li Na,B01,rm,personal,RM,2021-03-01,a@bank.example"),
               filename="employees.csv")
    user_id = User.objects.get(username="E001").pk
    result = run_import("employees", csv_file(
        EMPLOYEE_HEADER, "E001,Li Na,B02,department_head,,,2021-03-01,b@bank.example"), filename="employees.csv")
    employee = Employee.objects.select_related("user").get(employee_no="E001")
    assert (employee.branch, employee.role, employee.level) == (sister_branch, "department_head", None)
    assert (employee.user_id, employee.user.email) == (user_id, "b@bank.example")
    assert result.updated == 1


@pytest.mark.parametrize(("row", "column", "reason"), [
    ("E001,Li Na,B99,rm,personal,RM,2021-03-01,", "branch_code", "unknown branch"),
    ("E001,Li Na,B01,rm,personal,XX,2021-03-01,", "level", "unknown level"),
    ("E001,Li Na,B01,rm,other,RM,2021-03-01,", "level", "unknown level"),
    ("E001,Li Na,B01,rm,personal,,2021-03-01,", "level", "together"),
    ("E001,Li Na,B01,teller,personal,RM,2021-03-01,", "role", "is not one of"),
    ("E001,Li Na,B01,rm,personal,RM,2021-02-30,", "hired_on", "not a date"),
    ("E001,Li Na,B01,rm,personal,RM,01/03/2021,", "hired_on", "not a date"),
    ("E001,Li Na,B01,rm,personal,RM,2021-03-01,not-an-address", "email", "e-mail"),
    ("E 001,Li Na,B01,rm,personal,RM,2021-03-01,", "employee_no", "letters, digits"),
])
def test_employee_row_errors(branch, level, row, column, reason):
    errors = rejected("employees", csv_file(EMPLOYEE_HEADER, row))
    assert cells(errors) == {(2, column)}
    assert reason in errors[0][2]
    assert not Employee.objects.exists() and not User.objects.exists()


def test_employee_duplicate_number_in_file_is_rejected(branch, level):
    errors = rejected("employees", csv_file(EMPLOYEE_HEADER, "E001,A,B01,rm,,,2021-03-01,",
                                            "E001,B,B01,rm,,,2021-03-01,"))
    assert cells(errors) == {(3, "employee_no")}


# --- clients ----------------------------------------------------------------------------------

CLIENT_HEADER = "client_no,name,client_type,segment,branch_code,rm_employee_no,opened_on"
CLIENT_HEADER_FULL = CLIENT_HEADER + ",assigned_on,status,lost_on"


def assignments(client_no: str) -> list[tuple]:
    return list(Assignment.objects.filter(client__client_no=client_no).order_by("started_on", "id")
                .values_list("rm__employee_no", "started_on", "ended_on", "reason"))


def test_new_client_gets_open_onboarding_assignment_from_opened_on(rm):
    result = run_import("clients", csv_file(CLIENT_HEADER, "C001,Acme,corporate,affluent,B01,RM001,2024-05-06"),
                        filename="clients.csv")
    client = Client.objects.get(client_no="C001")
    assert (client.client_type, client.segment, client.status) == ("corporate", "affluent", "active")
    assert assignments("C001") == [("RM001", dt.date(2024, 5, 6), None, "onboarding")]
    assert result.created == 1


def test_new_client_assignment_starts_on_assigned_on(rm):
    run_import("clients", csv_file(CLIENT_HEADER_FULL, "C001,Acme,individual,mass,B01,RM001,2024-05-06,2024-06-01,,"),
               filename="clients.csv")
    assert assignments("C001") == [("RM001", dt.date(2024, 6, 1), None, "onboarding")]


def test_client_moves_to_new_rm_on_assigned_on(rm, other_rm):
    run_import("clients", csv_file(CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2024-01-10"), filename="c.csv")
    result = run_import("clients", csv_file(
        CLIENT_HEADER_FULL, "C001,Acme,individual,mass,B01,RM002,2024-01-10,2025-03-01,,"), filename="c.csv")
    assert assignments("C001") == [
        ("RM001", dt.date(2024, 1, 10), dt.date(2025, 3, 1), "onboarding"),
        ("RM002", dt.date(2025, 3, 1), None, "rebalancing"),
    ]
    assert any("1 client moved" in note for note in result.notes)
    history = Assignment.history.filter(rm__employee_no="RM001").latest("history_date")
    assert history.history_change_reason.startswith("Import of c.csv")


def test_client_moves_today_when_assigned_on_is_blank(rm, other_rm):
    run_import("clients", csv_file(CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2024-01-10"), filename="c.csv")
    run_import("clients", csv_file(CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM002,2024-01-10"), filename="c.csv")
    today = timezone.localdate()
    assert assignments("C001")[-1] == ("RM002", today, None, "rebalancing")


def test_same_rm_reimport_leaves_assignments_alone(rm):
    run_import("clients", csv_file(CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2024-01-10"), filename="c.csv")
    result = run_import("clients", csv_file(CLIENT_HEADER, "C001,Acme Ltd,individual,mass,B01,RM001,2024-01-10"),
                        filename="c.csv")
    assert assignments("C001") == [("RM001", dt.date(2024, 1, 10), None, "onboarding")]
    assert Client.objects.get().name == "Acme Ltd" and result.updated == 1


def test_move_dated_before_current_assignment_start_is_rejected(rm, other_rm):
    run_import("clients", csv_file(CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2024-01-10"), filename="c.csv")
    errors = rejected("clients", csv_file(
        CLIENT_HEADER_FULL, "C001,Acme,individual,mass,B01,RM002,2024-01-10,2023-12-31,,"))
    assert cells(errors) == {(2, "assigned_on")}
    assert "2024-01-10" in errors[0][2]
    assert len(assignments("C001")) == 1


def test_lost_client_assignment_ends_on_lost_on(rm):
    run_import("clients", csv_file(CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2024-01-10"), filename="c.csv")
    run_import("clients", csv_file(
        CLIENT_HEADER_FULL, "C001,Acme,individual,mass,B01,RM001,2024-01-10,,lost,2025-02-14"), filename="c.csv")
    client = Client.objects.get()
    assert (client.status, client.lost_on) == ("lost", dt.date(2025, 2, 14))
    assert assignments("C001") == [("RM001", dt.date(2024, 1, 10), dt.date(2025, 2, 14), "onboarding")]


def test_new_lost_client_gets_a_closed_assignment(rm):
    run_import("clients", csv_file(
        CLIENT_HEADER_FULL, "C001,Acme,individual,mass,B01,RM001,2024-01-10,,lost,2024-09-30"), filename="c.csv")
    assert assignments("C001") == [("RM001", dt.date(2024, 1, 10), dt.date(2024, 9, 30), "onboarding")]


@pytest.mark.parametrize(("status", "lost_on", "reason"), [
    ("lost", "", "required when status is lost"),
    ("active", "2025-01-01", "only a lost client"),
    ("lost", "2023-01-01", "before opened_on"),
    ("lost", "2025-13-01", "not a date"),
])
def test_lost_on_goes_with_status_lost(rm, status, lost_on, reason):
    errors = rejected("clients", csv_file(
        CLIENT_HEADER_FULL, f"C001,Acme,individual,mass,B01,RM001,2024-01-10,,{status},{lost_on}"))
    assert cells(errors) == {(2, "lost_on")}
    assert reason in errors[0][2]


def test_rm_of_another_branch_is_rejected_and_says_so(rm, sister_branch):
    EmployeeFactory(employee_no="RM009", branch=sister_branch)
    errors = rejected("clients", csv_file(CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM009,2024-01-10"))
    assert errors == [(2, "rm_employee_no", "employee RM009 works at branch B02, not at B01")]


def test_rm_who_has_left_is_rejected(rm):
    rm.status, rm.left_on = Employee.Status.LEFT, dt.date(2025, 1, 1)
    rm.save()
    errors = rejected("clients", csv_file(CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2024-01-10"))
    assert errors == [(2, "rm_employee_no", "employee RM001 has left the bank")]


@pytest.mark.parametrize(("row", "column", "reason"), [
    ("C001,Acme,individual,mass,B99,RM001,2024-01-10", "branch_code", "unknown branch “B99”"),
    ("C001,Acme,individual,mass,B01,RM999,2024-01-10", "rm_employee_no", "unknown employee “RM999”"),
    ("C001,Acme,individual,vip,B01,RM001,2024-01-10", "segment", "is not one of mass, affluent, private"),
    ("C001,Acme,person,mass,B01,RM001,2024-01-10", "client_type", "is not one of"),
    ("C001,Acme,individual,mass,B01,RM001,2024/01/10", "opened_on", "not a date"),
    ("C001,,individual,mass,B01,RM001,2024-01-10", "name", "a value is required"),
])
def test_client_row_errors(rm, row, column, reason):
    errors = rejected("clients", csv_file(CLIENT_HEADER, row))
    assert cells(errors) == {(2, column)}
    assert reason in errors[0][2]


def test_clients_report_every_bad_row_and_store_nothing(rm):
    errors = rejected("clients", csv_file(
        CLIENT_HEADER,
        "C001,Acme,individual,mass,B01,RM001,2024-01-10",
        "C002,Beta,individual,mass,B99,RM001,2024-01-10",
        "C001,Acme again,individual,mass,B01,RM001,2024-01-10",
        "C003,Gamma,individual,gold,B01,RM001,2024-01-10",
    ))
    assert cells(errors) == {(3, "branch_code"), (4, "client_no"), (5, "segment")}
    assert not Client.objects.exists() and not Assignment.objects.exists()


def test_clients_import_runs_a_handful_of_queries(rm, other_rm, django_assert_max_num_queries):
    existing = [ClientFactory(client_no=f"X{n:03d}", branch=rm.branch, rm=rm) for n in range(20)]
    lines = [CLIENT_HEADER_FULL]
    lines += [f"{c.client_no},{c.name},individual,mass,B01,RM002,2020-01-01,2025-01-01,," for c in existing]
    lines += [f"N{n:03d},New {n},individual,mass,B01,RM001,2025-01-01,,," for n in range(30)]
    with django_assert_max_num_queries(20):
        result = run_import("clients", csv_file(*lines), filename="c.csv")
    assert (result.created, result.updated) == (30, 0)
    assert Assignment.objects.filter(rm=other_rm, ended_on__isnull=True).count() == 20
    assert Assignment.objects.filter(ended_on__isnull=True).count() == 50


# --- parameters -------------------------------------------------------------------------------

PARAMETER_HEADER = "branch_code,month,key,value"


def test_parameters_upsert_bank_wide_and_branch_rows(branch, recompute_calls):
    run_import("parameters", csv_file(PARAMETER_HEADER, "*,2026-01,tax_rate,0.06", "B01,2026-01,tax_rate,0.05",
                                      "B01,2026-02,cost_loan,120000"), filename="p.csv")
    stored = {(p.branch_id, p.month, p.key): p.value for p in ContributionParameter.objects.all()}
    assert stored == {
        (None, dt.date(2026, 1, 1), "tax_rate"): Decimal("0.06"),
        (branch.pk, dt.date(2026, 1, 1), "tax_rate"): Decimal("0.05"),
        (branch.pk, dt.date(2026, 2, 1), "cost_loan"): Decimal("120000"),
    }
    # January has a bank-wide change: every branch; February only B01.
    assert recompute_calls == [{"months": [dt.date(2026, 1, 1)], "branch_ids": None},
                               {"months": [dt.date(2026, 2, 1)], "branch_ids": [branch.pk]}]

    recompute_calls.clear()
    result = run_import("parameters", csv_file(PARAMETER_HEADER, "*,2026-01,tax_rate,0.06",
                                               "B01,2026-02,cost_loan,130000"), filename="p.csv")
    assert (result.updated, result.unchanged, result.created) == (1, 1, 0)
    assert recompute_calls == [{"months": [dt.date(2026, 2, 1)], "branch_ids": [branch.pk]}]


@pytest.mark.parametrize(("row", "column", "reason"), [
    ("B99,2026-01,tax_rate,0.06", "branch_code", "unknown branch"),
    ("B01,2026-13,tax_rate,0.06", "month", "not a month"),
    ("B01,Jan 2026,tax_rate,0.06", "month", "not a month"),
    ("B01,2026-01,vat,0.06", "key", "is not one of"),
    ("B01,2026-01,cost_loan,-5", "value", "must not be negative"),
    ("B01,2026-01,cost_loan,lots", "value", "not a number"),
    ("B01,2026-01,ftp_deposit,2.9", "value", "as a decimal"),
])
def test_parameter_row_errors(branch, row, column, reason):
    errors = rejected("parameters", csv_file(PARAMETER_HEADER, row))
    assert cells(errors) == {(2, column)}
    assert reason in errors[0][2]


def test_parameter_duplicate_in_file_is_rejected(branch):
    errors = rejected("parameters", csv_file(PARAMETER_HEADER, "*,2026-01,tax_rate,0.06", "*,2026-01,tax_rate,0.07"))
    assert cells(errors) == {(3, "key")}
    assert not ContributionParameter.objects.exists()


# --- call-backs -------------------------------------------------------------------------------

CALLBACK_HEADER = "client_no,date,score,channel,comment"


@pytest.fixture
def moved_client(rm, other_rm):
    """C001: with RM001 from 2024-01-01, with RM002 from 2025-03-01."""
    client = ClientFactory(client_no="C001", branch=rm.branch, rm=rm, rm__started_on=dt.date(2024, 1, 1))
    Assignment.objects.filter(client=client).update(ended_on=dt.date(2025, 3, 1))
    Assignment.objects.create(client=client, rm=other_rm, started_on=dt.date(2025, 3, 1),
                              reason=Assignment.Reason.REBALANCING)
    return client


def test_callbacks_are_credited_to_the_rm_of_that_date(moved_client, rm, other_rm):
    run_import("callbacks", csv_file(CALLBACK_HEADER, "C001,2025-02-28,4,phone,fine",
                                     "C001,2025-03-01,5,visit,very good"), filename="cb.csv")
    stored = list(Interaction.objects.order_by("occurred_on").values_list("kind", "employee", "score", "channel"))
    assert stored == [("callback", rm.pk, 4, "phone"), ("callback", other_rm.pk, 5, "visit")]


def test_callback_before_any_assignment_has_no_employee(moved_client):
    run_import("callbacks", csv_file(CALLBACK_HEADER, "C001,2023-06-01,3,,"), filename="cb.csv")
    assert Interaction.objects.get().employee is None


def test_callback_reimport_upserts_by_client_date_and_channel(moved_client):
    lines = (CALLBACK_HEADER, "C001,2025-02-28,4,phone,fine", "C001,2025-04-02,2,phone,slow")
    run_import("callbacks", csv_file(*lines), filename="cb.csv")
    result = run_import("callbacks", csv_file(*lines), filename="cb.csv")
    assert Interaction.objects.count() == 2
    assert (result.created, result.unchanged, result.deleted) == (0, 2, 0)
    result = run_import("callbacks", csv_file(CALLBACK_HEADER, "C001,2025-02-28,3,visit,came by"), filename="cb.csv")
    assert (result.created, Interaction.objects.count()) == (1, 3)  # another channel, another call-back
    Interaction.objects.filter(channel="visit").delete()
    other_day = Interaction.objects.create(client=moved_client, kind="callback", occurred_on=dt.date(2025, 5, 5),
                                           score=5)
    run_import("callbacks", csv_file(CALLBACK_HEADER, "C001,2025-02-28,5,phone,better"), filename="cb.csv")
    assert sorted(Interaction.objects.values_list("occurred_on", "score")) == [
        (dt.date(2025, 2, 28), 5), (dt.date(2025, 4, 2), 2), (other_day.occurred_on, 5)]


@pytest.mark.parametrize(("row", "column", "reason"), [
    ("C999,2025-02-28,4,,", "client_no", "unknown client “C999”"),
    ("C001,2025-02-28,6,,", "score", "at most 5"),
    ("C001,2025-02-28,0,,", "score", "at least 1"),
    ("C001,2025-02-28,good,,", "score", "not a number"),
    ("C001,28.02.2025,4,,", "date", "not a date"),
    ("C001,2999-01-01,4,,", "date", "in the future"),
])
def test_callback_row_errors(moved_client, row, column, reason):
    errors = rejected("callbacks", csv_file(CALLBACK_HEADER, row))
    assert cells(errors) == {(2, column)}
    assert reason in errors[0][2]
    assert not Interaction.objects.exists()
