"""Undoing the organisation imports (DOMAIN 6): branches, levels, employees and clients come back
exactly, what the import created goes again, and the undo is refused, with the reason, while
other data has come to depend on what it would remove."""
import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from careers.models import JobSequence, Level
from clients.models import (Assignment, BookMonth, Branch, Client, Employee, ImportBatch, Interaction, Region,
                            User)
from clients.tests.test_contribution import EXAMPLE_PARAMETERS, set_parameters
from clients.tests.test_import_monthly import HEADER as MONTHLY_HEADER
from clients.tests.test_import_monthly import full_row
from clients.tests.test_importers import csv_file
from performance.models import Appraisal
from performance.schemes import scheme_import
from performance.tests.conftest import EXAMPLE_SCHEME
from rmportal.errors import ApplicationError
from rmportal.import_batches import import_batch_undo, import_batch_undo_problem
from rmportal.importing import run_import
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db

BRANCH_HEADER = "branch_code,name,region_code,region_name"
LEVEL_HEADER = "sequence,sequence_name,level,level_name,rank,bonus_coefficient"
EMPLOYEE_HEADER = "employee_no,name,branch_code,role,sequence,level,hired_on,email"
CLIENT_HEADER = "client_no,name,client_type,segment,branch_code,rm_employee_no,opened_on,assigned_on,status,lost_on"


def rows(model) -> list[dict]:
    """Every column of every stored row, keys included."""
    return list(model._base_manager.order_by("pk").values())


def imported(kind: str, header: str, *lines: str) -> ImportBatch:
    result = run_import(kind, csv_file(header, *lines), filename=f"{kind}.csv")
    return ImportBatch.objects.get(pk=result.batch_id)


def undo_refused(batch: ImportBatch, *fragments: str) -> None:
    """The undo of ``batch`` is refused with a reason naming every fragment, and changes nothing."""
    problem = import_batch_undo_problem(batch)
    assert problem and all(fragment in problem for fragment in fragments), problem
    with pytest.raises(ApplicationError) as refused:
        import_batch_undo(batch_id=batch.pk)
    assert refused.value.message == problem
    assert not ImportBatch.objects.filter(undo_of=batch).exists()


# --- branches ---------------------------------------------------------------------------------

def test_branches_undo_restores_regions_and_branches_exactly_then_removes_what_the_first_created(branch):
    initial = rows(Region), rows(Branch)
    first = imported("branches", BRANCH_HEADER, "B05,Riverside,R05,East", "B01,Main street,R01,North")
    after_first = rows(Region), rows(Branch)
    second = imported("branches", BRANCH_HEADER, "B05,Riverside East,R06,Far East", "B01,Main st.,R05,East",
                      "B06,Airport,R06,Far East")
    assert Branch.objects.get(code="B01").region.code == "R05"  # moved to a region the first import made

    assert import_batch_undo_problem(second) is None
    undo = import_batch_undo(batch_id=second.pk)
    assert (rows(Region), rows(Branch)) == after_first
    assert (undo.created, undo.updated, undo.deleted) == (0, 2, 2)  # B01, B05 back; B06, R06 removed

    import_batch_undo(batch_id=first.pk)
    assert (rows(Region), rows(Branch)) == initial


def test_branches_undo_is_refused_while_a_created_branch_has_clients_or_employees(branch, rm):
    batch = imported("branches", BRANCH_HEADER, "B05,Riverside,R05,East")
    created = Branch.objects.get(code="B05")
    employee = EmployeeFactory(employee_no="RM505", branch=created)
    undo_refused(batch, "B05 Riverside", "employees")
    ClientFactory(client_no="C505", branch=created, rm=employee)
    employee.branch = branch  # the clients alone keep the branch in use too
    employee.save()
    undo_refused(batch, "B05 Riverside", "clients")


def test_branches_undo_is_refused_while_a_created_region_has_other_branches(branch):
    batch = imported("branches", BRANCH_HEADER, "B05,Riverside,R05,East")
    Branch.objects.create(code="B07", name="Added by hand", region=Region.objects.get(code="R05"))
    undo_refused(batch, "R05 East", "branches")


def test_a_later_branches_import_of_the_same_branch_must_be_undone_first(branch):
    first = imported("branches", BRANCH_HEADER, "B05,Riverside,R05,East")
    second = imported("branches", BRANCH_HEADER, "B05,Riverside East,R05,East")
    undo_refused(first, f"batch {second.pk}")


# --- levels -----------------------------------------------------------------------------------

def test_levels_undo_restores_swapped_ranks_exactly_then_removes_what_the_first_created():
    initial = rows(JobSequence), rows(Level)
    first = imported("levels", LEVEL_HEADER, "p,Personal,A,Assistant,1,1.0", "p,Personal,B,Senior,2,1.2")
    after_first = rows(JobSequence), rows(Level)
    second = imported("levels", LEVEL_HEADER, "p,Personal RM,A,Assistant,2,1.1", "p,Personal RM,B,Senior,1,1.2",
                      "p,Personal RM,C,Principal,3,1.5", "q,Corporate,A,Associate,1,1.0")
    assert dict(Level.objects.filter(sequence__code="p").values_list("code", "rank")) == {"A": 2, "B": 1, "C": 3}

    undo = import_batch_undo(batch_id=second.pk)
    assert (rows(JobSequence), rows(Level)) == after_first
    assert (undo.updated, undo.deleted) == (3, 3)  # sequence p, levels A and B; C, q and q's A

    import_batch_undo(batch_id=first.pk)
    assert (rows(JobSequence), rows(Level)) == initial


def test_levels_undo_is_refused_while_a_created_level_has_employees(branch):
    batch = imported("levels", LEVEL_HEADER, "p,Personal,A,Assistant,1,1.0")
    EmployeeFactory(employee_no="RM510", branch=branch, level=Level.objects.get(code="A"))
    undo_refused(batch, "employees")


# --- employees --------------------------------------------------------------------------------

@pytest.fixture
def levels():
    run_import("levels", csv_file(LEVEL_HEADER, "p,Personal,A,Assistant,1,1.0", "p,Personal,B,Senior,2,1.2"),
               filename="levels.csv")


def test_employees_undo_restores_employees_and_accounts_exactly_then_removes_what_the_first_created(
        branch, sister_branch, rm, levels):
    initial = rows(Employee), rows(User)
    first = imported("employees", EMPLOYEE_HEADER, "E001,Li Na,B01,rm,p,A,2021-03-01,li@bank.example",
                     "E002,Wang Wei,B01,rm,,,2022-04-01,")
    after_first = rows(Employee), rows(User)
    second = imported("employees", EMPLOYEE_HEADER,
                      "E001,Li Na,B02,department_head,p,B,2021-03-02,na.li@bank.example",
                      "E003,Zhao Lei,B02,reviewer,,,2023-05-01,", "RM001,Li Na (RM),B01,rm,p,A,2020-01-01,")
    assert Employee.objects.get(employee_no="E001").branch == sister_branch

    undo = import_batch_undo(batch_id=second.pk)
    assert (rows(Employee), rows(User)) == after_first  # every field, the password hashes too
    assert (undo.updated, undo.deleted) == (3, 2)  # E001's employee and account, RM001; E003 and its account

    import_batch_undo(batch_id=first.pk)
    assert (rows(Employee), rows(User)) == initial
    assert not User.objects.filter(username__in=["E001", "E002", "E003"]).exists()


def test_employees_undo_gives_an_existing_employee_back_the_account_it_had(branch):
    employee = EmployeeFactory(employee_no="E020", branch=branch, user=None)
    before = rows(Employee), rows(User)
    batch = imported("employees", EMPLOYEE_HEADER, "E020,Employee E020,B01,rm,,,2020-01-01,")
    assert Employee.objects.get(pk=employee.pk).user.username == "E020"  # given a new account
    import_batch_undo(batch_id=batch.pk)
    assert (rows(Employee), rows(User)) == before


def test_employees_undo_is_refused_once_a_created_account_has_logged_in(branch):
    batch = imported("employees", EMPLOYEE_HEADER, "E001,Li Na,B01,rm,,,2021-03-01,")
    User.objects.filter(username="E001").update(last_login=timezone.now())
    undo_refused(batch, "“E001”", "log in")


def test_employees_undo_is_refused_while_a_created_account_has_an_api_token(branch):
    batch = imported("employees", EMPLOYEE_HEADER, "E001,Li Na,B01,rm,,,2021-03-01,")
    Token.objects.create(user=User.objects.get(username="E001"))
    undo_refused(batch, "E001", str(Token._meta.verbose_name_plural))


def test_employees_undo_is_refused_while_a_created_employee_has_clients(branch):
    batch = imported("employees", EMPLOYEE_HEADER, "E001,Li Na,B01,rm,,,2021-03-01,")
    ClientFactory(client_no="C001", branch=branch, rm=Employee.objects.get(employee_no="E001"))
    undo_refused(batch, "E001 Li Na", "assignments")


def test_employees_undo_is_refused_while_a_created_employee_has_an_appraisal(branch):
    batch = imported("employees", EMPLOYEE_HEADER, "E001,Li Na,B01,rm,,,2021-03-01,")
    Appraisal.objects.create(employee=Employee.objects.get(employee_no="E001"), scheme=scheme_import(
        data=EXAMPLE_SCHEME), branch=branch, period="2026-Q1", period_kind="quarter",
        state=Appraisal.State.COMPUTED, computed_at=timezone.now())
    undo_refused(batch, "E001 Li Na", "appraisals")


# --- clients ----------------------------------------------------------------------------------

def assignment_history() -> list[dict]:
    return rows(Assignment)


def book_rows() -> list[dict]:
    return sorted(({k: v for k, v in row.items() if k != "id"} for row in BookMonth.objects.values()),
                  key=lambda row: (row["rm_id"], row["month"]))


@pytest.fixture
def books_of_c001(rm, other_rm):
    """C001 with RM001 since 2025-06 and business from January to March 2026, its books built."""
    first = imported("clients", CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2025-06-01,,,",
                     "C002,Beta,corporate,affluent,B01,RM002,2025-07-01,,,")
    for month in ("2026-01", "2026-02", "2026-03"):
        set_parameters(None, dt.date(int(month[:4]), int(month[5:]), 1), **EXAMPLE_PARAMETERS)
    run_import("monthly", csv_file(MONTHLY_HEADER, *(full_row("C001", month) for month in
                                                     ("2026-01", "2026-02", "2026-03"))), filename="m.csv")
    return first


def test_clients_undo_restores_fields_assignment_history_and_books_exactly(books_of_c001):
    clients, history, books = rows(Client), assignment_history(), book_rows()
    assert {row["rm_id"] for row in books} == {Employee.objects.get(employee_no="RM001").pk}
    second = imported("clients", CLIENT_HEADER,
                      "C001,Acme Ltd,corporate,affluent,B01,RM002,2025-06-01,2026-02-01,,",  # moves in February
                      "C002,Beta,corporate,affluent,B01,RM002,2025-07-01,,lost,2026-03-15",
                      "C003,Gamma,individual,private,B01,RM001,2026-04-01,,,")
    assert Assignment.objects.filter(client__client_no="C001", ended_on=dt.date(2026, 2, 1)).exists()
    assert book_rows() != books  # RM002 owns C001's February and March now

    undo = import_batch_undo(batch_id=second.pk)
    assert rows(Client) == clients
    assert assignment_history() == history  # keys, dates, RMs and reasons
    assert book_rows() == books
    assert (undo.created, undo.updated, undo.deleted) == (0, 4, 3)  # C001, C002, two ended; C003, two started
    reasons = set(Assignment.history.filter(history_change_reason=f"Undo of import batch {second.pk}")
                  .values_list("history_type", flat=True))
    assert reasons == {"~", "-"}


def test_clients_undo_of_the_first_import_removes_its_clients_and_assignments(rm):
    before = rows(Client), assignment_history()
    batch = imported("clients", CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2025-06-01,,,",
                     "C002,Beta,individual,mass,B01,RM001,2025-06-01,2025-07-01,lost,2025-09-30")
    assert Assignment.objects.count() == 2
    import_batch_undo(batch_id=batch.pk)
    assert (rows(Client), assignment_history()) == before


def test_clients_undo_restores_a_lost_client_that_came_back(rm, other_rm):
    imported("clients", CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2025-01-01,,lost,2025-05-31")
    clients, history = rows(Client), assignment_history()
    back = imported("clients", CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM002,2025-01-01,2025-08-01,,")
    assert Client.objects.get().status == Client.Status.ACTIVE
    import_batch_undo(batch_id=back.pk)
    assert (rows(Client), assignment_history()) == (clients, history)


def test_clients_undo_is_refused_while_a_created_client_has_monthly_data(books_of_c001):
    undo_refused(books_of_c001, "C001 Acme", "monthly business")


def test_clients_undo_is_refused_while_a_created_client_has_call_backs(rm):
    batch = imported("clients", CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2025-06-01,,,")
    run_import("callbacks", csv_file("client_no,date,score,channel,comment", "C001,2025-07-03,4,phone,"),
               filename="cb.csv")
    assert Interaction.objects.exists()
    undo_refused(batch, "C001 Acme", str(Interaction._meta.verbose_name_plural))


def test_clients_undo_is_refused_after_a_later_move_of_the_same_client(rm, other_rm):
    first = imported("clients", CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2025-06-01,,,")
    second = imported("clients", CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM002,2025-06-01,2025-09-01,,")
    undo_refused(first, f"batch {second.pk}")


def test_clients_undo_of_a_move_is_refused_once_an_appraisal_of_its_months_is_approved(books_of_c001, branch, rm):
    move = imported("clients", CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM002,2025-06-01,2026-02-01,,")
    scheme = scheme_import(data=EXAMPLE_SCHEME)
    Appraisal.objects.create(employee=rm, scheme=scheme, branch=branch, period="2025-Q4", period_kind="quarter",
                             state=Appraisal.State.APPROVED, computed_at=timezone.now())
    assert import_batch_undo_problem(move) is None  # before the move: untouched
    Appraisal.objects.create(employee=rm, scheme=scheme, branch=branch, period="2026-Q1", period_kind="quarter",
                             state=Appraisal.State.APPROVED, computed_at=timezone.now())
    undo_refused(move, "2026-Q1 at branch B01")


# --- the page and the command -----------------------------------------------------------------

@pytest.mark.parametrize("kind, header, line", [
    ("branches", BRANCH_HEADER, "B05,Riverside,R05,East"),
    ("levels", LEVEL_HEADER, "p,Personal,A,Assistant,1,1.0"),
    ("employees", EMPLOYEE_HEADER, "E001,Li Na,B01,rm,,,2021-03-01,"),
    ("clients", CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2025-06-01,,,"),
])
def test_hr_undoes_an_organisation_import_from_its_page(client_of, hr, rm, kind, header, line,
                                                        django_capture_on_commit_callbacks):
    batch = imported(kind, header, line)
    browser = client_of(hr)
    page = browser.get(reverse("imports:batch", args=[batch.pk])).content.decode()
    assert 'id="undo-button"' in page and "cannot be undone" not in page
    undo_url = reverse("imports:undo", args=[batch.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(undo_url)
    undo = ImportBatch.objects.get(undo_of=batch)
    assert response.status_code == 302 and response["Location"] == reverse("imports:batch", args=[undo.pk])
    assert not (Branch.objects.filter(code="B05").exists() or Level.objects.filter(code="A").exists()
                or Employee.objects.filter(employee_no="E001").exists() or Client.objects.exists())


def test_the_batch_page_gives_the_reason_an_organisation_import_cannot_be_undone(client_of, hr, branch):
    batch = imported("branches", BRANCH_HEADER, "B05,Riverside,R05,East")
    EmployeeFactory(employee_no="RM505", branch=Branch.objects.get(code="B05"))
    browser = client_of(hr)
    page = browser.get(reverse("imports:batch", args=[batch.pk])).content.decode()
    assert 'id="undo-button"' not in page and 'id="undo-problem"' in page and "B05 Riverside" in page
    response = browser.post(reverse("imports:undo", args=[batch.pk]))
    assert response.status_code == 400 and "employees" in response.content.decode()
    assert Branch.objects.filter(code="B05").exists()


def test_command_undoes_an_employees_import_and_refuses_with_the_reason(branch, tmp_path):
    path = tmp_path / "employees.csv"
    path.write_text(f"{EMPLOYEE_HEADER}\nE001,Li Na,B01,rm,,,2021-03-01,\n")
    call_command("import_data", "employees", str(path), stdout=io.StringIO())
    batch = ImportBatch.objects.latest("pk")
    User.objects.filter(username="E001").update(last_login=timezone.now())
    with pytest.raises(CommandError, match="has been used to log in"):
        call_command("import_data", "--undo", str(batch.pk), stdout=io.StringIO())
    User.objects.filter(username="E001").update(last_login=None)
    out = io.StringIO()
    call_command("import_data", "--undo", str(batch.pk), stdout=out)
    assert f"Batch {batch.pk} undone" in out.getvalue()
    assert not Employee.objects.filter(employee_no="E001").exists()
    assert not User.objects.filter(username="E001").exists()


def test_the_portable_recording_and_undo_restore_organisation_rows_exactly(branch, sister_branch, rm, other_rm,
                                                                           levels, monkeypatch):
    """Other databases record the before-images and put them back through the ORM."""
    before = [rows(model) for model in (Region, Branch, Level, Employee, User, Client, Assignment)]
    monkeypatch.setattr("django.db.connection.vendor", "portable")
    batches = [
        imported("branches", BRANCH_HEADER, "B05,Riverside,R05,East", "B01,Main st.,R05,East"),
        imported("levels", LEVEL_HEADER, "p,Personal,A,Assistant,2,1.0", "p,Personal,B,Senior,1,1.3"),
        imported("employees", EMPLOYEE_HEADER, "E001,Li Na,B02,rm,p,A,2021-03-01,", "RM002,Wang,B01,rm,p,B,2020-01-01,"),
        imported("clients", CLIENT_HEADER, "C001,Acme,individual,mass,B01,RM001,2025-06-01,,,"),
    ]
    batches.append(imported("clients", CLIENT_HEADER, "C001,Acme Ltd,individual,mass,B01,RM002,2025-06-01,2025-08-01,,"))
    for batch in reversed(batches):
        import_batch_undo(batch_id=batch.pk)
    monkeypatch.undo()
    assert [rows(model) for model in (Region, Branch, Level, Employee, User, Client, Assignment)] == before
