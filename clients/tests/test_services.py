"""Client services: reassignment, handover, exits, losses, interactions, complaints (DOMAIN 2)."""
import datetime as dt
from decimal import Decimal

import factory
import pytest
from django.utils import timezone

from clients import services
from clients.models import Assignment, Client, ClientContribution, Complaint, Employee, Interaction, Role
from rmportal.errors import ApplicationError
from tests.factories import ClientFactory, EmployeeFactory, MonthlyBusinessFactory

pytestmark = pytest.mark.django_db

ON = dt.date(2026, 3, 1)


class ContributionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClientContribution

    client = factory.SubFactory(ClientFactory)
    branch = factory.SelfAttribute("client.branch")
    month = dt.date(2026, 1, 1)


def open_assignments(client):
    return list(Assignment.objects.filter(client=client).order_by("started_on", "id")
                .values_list("rm__employee_no", "started_on", "ended_on"))


@pytest.fixture
def by(branch_manager):
    return branch_manager.user


@pytest.fixture
def third_rm(branch):
    return EmployeeFactory(employee_no="RM003", branch=branch, role=Role.RM)


@pytest.fixture
def book(rm, branch):
    """Four clients of ``rm`` whose 12-month contribution is 400, 300, 200 and 100."""
    clients = []
    for n, amount in enumerate(["400", "300", "200", "100"]):
        client = ClientFactory(client_no=f"C{n}", branch=branch, rm=rm)
        MonthlyBusinessFactory(client=client, month=dt.date(2026, 1, 1))
        ContributionFactory(client=client, loan_profit=Decimal(amount))
        clients.append(client)
    return clients


# --- client_reassign ----------------------------------------------------------------------

def test_reassign_ends_the_open_assignment_on_the_date_and_opens_the_next(rm, other_rm, branch, by):
    client = ClientFactory(branch=branch, rm=rm)

    new = services.client_reassign(client=client, to_rm=other_rm, on=ON,
                                   reason=Assignment.Reason.CLIENT_REQUEST, note="moved house", by=by)

    assert open_assignments(client) == [("RM001", dt.date(2020, 1, 1), ON), ("RM002", ON, None)]
    assert (new.reason, new.note) == (Assignment.Reason.CLIENT_REQUEST, "moved house")
    assert new.history.first().history_user == by


def test_reassign_of_a_dormant_client_is_allowed(rm, other_rm, branch, by):
    client = ClientFactory(branch=branch, rm=rm, status=Client.Status.DORMANT)

    services.client_reassign(client=client, to_rm=other_rm, on=ON, reason="rebalancing", by=by)

    assert open_assignments(client)[-1] == ("RM002", ON, None)


@pytest.mark.parametrize("case", ["other_branch", "left", "not_an_rm", "same_rm", "before_start",
                                  "bad_reason", "lost_client", "note_too_long"])
def test_reassign_refusals_store_nothing(case, rm, other_rm, branch, sister_branch, branch_manager, by):
    client = ClientFactory(branch=branch, rm=rm)
    to_rm, on, reason, note = other_rm, ON, "rebalancing", ""
    if case == "other_branch":
        to_rm = EmployeeFactory(branch=sister_branch)
    elif case == "left":
        other_rm.status, other_rm.left_on = Employee.Status.LEFT, ON
        other_rm.save()
    elif case == "not_an_rm":
        to_rm = branch_manager
    elif case == "same_rm":
        to_rm = rm
    elif case == "before_start":
        on = dt.date(2019, 12, 31)
    elif case == "bad_reason":
        reason = "whim"
    elif case == "lost_client":
        Client.objects.filter(pk=client.pk).update(status=Client.Status.LOST, lost_on=ON)
        client.refresh_from_db()
    elif case == "note_too_long":
        note = "x" * 301
    before = open_assignments(client)

    with pytest.raises(ApplicationError):
        services.client_reassign(client=client, to_rm=to_rm, on=on, reason=reason, note=note, by=by)

    assert open_assignments(client) == before


def test_reassign_on_the_day_the_assignment_started_is_allowed(rm, other_rm, branch, by):
    client = ClientFactory(branch=branch, rm=rm, rm__started_on=ON)

    services.client_reassign(client=client, to_rm=other_rm, on=ON, reason="rebalancing", by=by)

    assert open_assignments(client) == [("RM001", ON, ON), ("RM002", ON, None)]


# --- book_handover_preview ----------------------------------------------------------------

def test_balanced_preview_spreads_the_largest_clients_and_evens_book_sizes(book, rm, other_rm, third_rm):
    plan = services.book_handover_preview(from_rm=rm, targets=[other_rm, third_rm])

    taken = {employee_no: sorted(c.client_no for c, r in plan if r.employee_no == employee_no)
             for employee_no in ("RM002", "RM003")}
    # 400 → RM002, 300 → RM003, 200 → RM003 (less received so far), 100 → RM002 (fewer clients)
    assert taken == {"RM002": ["C0", "C3"], "RM003": ["C1", "C2"]}
    assert [c.client_no for c, _r in plan] == ["C0", "C1", "C2", "C3"]


def test_balanced_preview_fills_the_smallest_book_first(book, rm, other_rm, third_rm, branch):
    for _ in range(5):
        ClientFactory(branch=branch, rm=other_rm)

    plan = services.book_handover_preview(from_rm=rm, targets=[other_rm, third_rm])

    assert {r.employee_no for _c, r in plan} == {"RM003"}


def test_preview_writes_nothing(book, rm, other_rm):
    before = Assignment.objects.count()

    services.book_handover_preview(from_rm=rm, targets=[other_rm])

    assert Assignment.objects.filter(rm=rm, ended_on__isnull=True).count() == 4
    assert Assignment.objects.count() == before


def test_preview_accepts_an_explicit_mapping_of_part_of_the_book(book, rm, other_rm, third_rm):
    plan = services.book_handover_preview(from_rm=rm, targets=[other_rm, third_rm],
                                          strategy={book[2]: third_rm, book[0]: other_rm})

    assert [(c.client_no, r.employee_no) for c, r in plan] == [("C0", "RM002"), ("C2", "RM003")]


def test_preview_refuses_a_client_outside_the_book(book, rm, other_rm, branch):
    stranger = ClientFactory(branch=branch, rm=other_rm)

    with pytest.raises(ApplicationError, match="not in the book"):
        services.book_handover_preview(from_rm=rm, targets=[other_rm], strategy={stranger: other_rm})


def test_preview_refuses_a_mapping_to_an_rm_not_chosen(book, rm, other_rm, third_rm):
    with pytest.raises(ApplicationError, match="not one of the RMs"):
        services.book_handover_preview(from_rm=rm, targets=[other_rm], strategy={book[0]: third_rm})


@pytest.mark.parametrize("targets", ["none", "self", "other_branch"])
def test_preview_refuses_bad_targets(targets, book, rm, sister_branch):
    chosen = {"none": [], "self": [rm], "other_branch": [EmployeeFactory(branch=sister_branch)]}[targets]

    with pytest.raises(ApplicationError):
        services.book_handover_preview(from_rm=rm, targets=chosen)


def test_preview_refuses_an_unknown_strategy(book, rm, other_rm):
    with pytest.raises(ApplicationError, match="Unknown handover strategy"):
        services.book_handover_preview(from_rm=rm, targets=[other_rm], strategy="random")


# --- book_handover ------------------------------------------------------------------------

def test_handover_moves_every_client_of_the_plan_with_exit_reason_by_default(book, rm, other_rm, third_rm, by):
    plan = services.book_handover_preview(from_rm=rm, targets=[other_rm, third_rm])

    created = services.book_handover(from_rm=rm, plan=plan, on=ON, by=by)

    assert len(created) == 4
    assert not Assignment.objects.filter(rm=rm, ended_on__isnull=True).exists()
    assert set(Assignment.objects.filter(rm=rm).values_list("ended_on", flat=True)) == {ON}
    moved = Assignment.objects.filter(ended_on__isnull=True, client__in=book)
    assert {(a.client.client_no, a.rm.employee_no, a.started_on, a.reason) for a in moved} == {
        (c.client_no, r.employee_no, ON, Assignment.Reason.EXIT_HANDOVER) for c, r in plan}
    histories = Assignment.history.filter(client__in=book, history_user=by)
    assert histories.filter(history_type="~").count() == 4
    assert histories.filter(history_type="+").count() == 4


def test_handover_runs_a_fixed_number_of_queries_whatever_the_book_size(rm, other_rm, third_rm, branch, by,
                                                                          django_assert_max_num_queries):
    clients = [ClientFactory(branch=branch, rm=rm) for _ in range(40)]
    plan = [(client, other_rm if n % 2 else third_rm) for n, client in enumerate(clients)]

    with django_assert_max_num_queries(8):
        services.book_handover(from_rm=rm, plan=plan, on=ON, by=by)

    assert Assignment.objects.filter(rm__in=[other_rm, third_rm], ended_on__isnull=True).count() == 40


def test_handover_refuses_a_client_no_longer_in_the_book_and_stores_nothing(book, rm, other_rm, third_rm, by):
    plan = services.book_handover_preview(from_rm=rm, targets=[other_rm])
    services.client_reassign(client=book[3], to_rm=third_rm, on=ON, reason="rebalancing", by=by)
    before = sorted(Assignment.objects.values_list("pk", "rm_id", "ended_on"))

    with pytest.raises(ApplicationError, match="no longer in the book"):
        services.book_handover(from_rm=rm, plan=plan, on=ON, by=by)

    assert sorted(Assignment.objects.values_list("pk", "rm_id", "ended_on")) == before


def test_handover_refuses_a_date_before_an_assignment_started_and_stores_nothing(book, rm, other_rm, by):
    plan = services.book_handover_preview(from_rm=rm, targets=[other_rm])
    before = sorted(Assignment.objects.values_list("pk", "rm_id", "ended_on"))

    with pytest.raises(ApplicationError, match="before"):
        services.book_handover(from_rm=rm, plan=plan, on=dt.date(2019, 1, 1), by=by)

    assert sorted(Assignment.objects.values_list("pk", "rm_id", "ended_on")) == before


def test_handover_refuses_a_client_twice_in_the_plan(book, rm, other_rm, third_rm, by):
    with pytest.raises(ApplicationError, match="twice"):
        services.book_handover(from_rm=rm, plan=[(book[0], other_rm), (book[0], third_rm)], on=ON, by=by)


def test_handover_refuses_an_empty_plan(rm, by):
    with pytest.raises(ApplicationError):
        services.book_handover(from_rm=rm, plan=[], on=ON, by=by)


# --- employee_mark_left -------------------------------------------------------------------

def test_exit_is_refused_while_the_rm_has_clients(book, rm, by):
    with pytest.raises(ApplicationError, match="still responsible for 4 client"):
        services.employee_mark_left(employee=rm, on=ON, by=by)

    rm.refresh_from_db()
    rm.user.refresh_from_db()
    assert (rm.status, rm.left_on, rm.user.is_active) == (Employee.Status.ACTIVE, None, True)


def test_exit_after_handover_closes_the_log_in(book, rm, other_rm, by):
    services.book_handover(from_rm=rm, plan=services.book_handover_preview(from_rm=rm, targets=[other_rm]),
                           on=ON, by=by)

    services.employee_mark_left(employee=rm, on=ON, by=by)

    rm.refresh_from_db()
    rm.user.refresh_from_db()
    assert (rm.status, rm.left_on, rm.user.is_active) == (Employee.Status.LEFT, ON, False)


def test_exit_is_refused_twice_and_before_hiring(rm, by):
    with pytest.raises(ApplicationError, match="before the hiring date"):
        services.employee_mark_left(employee=rm, on=dt.date(2019, 1, 1), by=by)
    services.employee_mark_left(employee=rm, on=ON, by=by)

    with pytest.raises(ApplicationError, match="already left"):
        services.employee_mark_left(employee=rm, on=ON, by=by)


# --- client_mark_lost ---------------------------------------------------------------------

def test_lost_client_gets_date_and_reason_and_its_assignment_ends(rm, branch, by):
    client = ClientFactory(branch=branch, rm=rm)

    services.client_mark_lost(client=client, on=ON, reason="moved to another bank", by=by)

    client.refresh_from_db()
    assert (client.status, client.lost_on, client.lost_reason) == (Client.Status.LOST, ON, "moved to another bank")
    assert open_assignments(client) == [("RM001", dt.date(2020, 1, 1), ON)]


@pytest.mark.parametrize("case", ["no_reason", "already_lost", "before_assignment", "before_opened"])
def test_lost_refusals_store_nothing(case, rm, branch, by):
    client = ClientFactory(branch=branch, rm=rm, rm__started_on=dt.date(2021, 1, 1))
    on, reason = ON, "moved away"
    if case == "no_reason":
        reason = "  "
    elif case == "already_lost":
        services.client_mark_lost(client=client, on=ON, reason="first", by=by)
    elif case == "before_assignment":
        on = dt.date(2020, 6, 1)
    elif case == "before_opened":
        on = dt.date(2019, 6, 1)
    before = (open_assignments(client), list(Client.objects.filter(pk=client.pk).values()))

    with pytest.raises(ApplicationError):
        services.client_mark_lost(client=client, on=on, reason=reason, by=by)

    assert (open_assignments(client), list(Client.objects.filter(pk=client.pk).values())) == before


# --- interaction_record -------------------------------------------------------------------

def test_call_back_is_recorded_with_its_score_by_the_users_employee(rm, branch):
    client = ClientFactory(branch=branch, rm=rm)

    interaction = services.interaction_record(client=client, kind=Interaction.Kind.CALLBACK, on=ON, score=4,
                                              channel="phone", comment="happy", by=rm.user)

    assert (interaction.employee, interaction.score, interaction.channel) == (rm, 4, "phone")


@pytest.mark.parametrize("kind,score,message", [
    ("callback", None, "score from 1 to 5"),
    ("callback", 0, "score from 1 to 5"),
    ("callback", 6, "score from 1 to 5"),
    ("visit", 3, "Only a call-back"),
    ("letter", None, "not a kind"),
])
def test_interaction_score_rules(kind, score, message, rm, branch):
    client = ClientFactory(branch=branch, rm=rm)

    with pytest.raises(ApplicationError, match=message):
        services.interaction_record(client=client, kind=kind, on=ON, score=score, by=rm.user)

    assert not Interaction.objects.exists()


def test_interaction_in_the_future_is_refused(rm, branch):
    client = ClientFactory(branch=branch, rm=rm)

    with pytest.raises(ApplicationError, match="future"):
        services.interaction_record(client=client, kind="visit", on=timezone.localdate() + dt.timedelta(days=1),
                                    by=rm.user)

    assert not Interaction.objects.exists()


# --- complaints ---------------------------------------------------------------------------

def test_complaint_is_due_48_hours_after_it_was_received_and_filed_against_the_rm(rm, branch):
    client = ClientFactory(branch=branch, rm=rm)
    opened = timezone.now() - dt.timedelta(hours=5)

    complaint = services.complaint_open(client=client, subject="Card fee", description="charged twice",
                                        opened_at=opened, by=rm.user)

    assert complaint.due_at == opened + dt.timedelta(hours=48)
    assert complaint.rm == rm


@pytest.mark.parametrize("subject,hours_ago", [("  ", 1), ("Card fee", -1)])
def test_complaint_without_subject_or_in_the_future_is_refused(subject, hours_ago, rm, branch):
    client = ClientFactory(branch=branch, rm=rm)

    with pytest.raises(ApplicationError):
        services.complaint_open(client=client, subject=subject,
                                opened_at=timezone.now() - dt.timedelta(hours=hours_ago), by=rm.user)

    assert not Complaint.objects.exists()


def test_complaint_resolution_keeps_its_response_time(rm, branch):
    client = ClientFactory(branch=branch, rm=rm)
    opened = timezone.now() - dt.timedelta(hours=30)
    complaint = services.complaint_open(client=client, subject="Card fee", opened_at=opened, by=rm.user)

    services.complaint_resolve(complaint=complaint, resolved_at=opened + dt.timedelta(hours=26),
                               resolution="fee refunded", by=rm.user)

    complaint.refresh_from_db()
    assert complaint.response_time == dt.timedelta(hours=26)
    assert complaint.resolution == "fee refunded"


@pytest.mark.parametrize("case", ["before_opened", "no_resolution", "twice"])
def test_complaint_resolution_refusals_store_nothing(case, rm, branch):
    client = ClientFactory(branch=branch, rm=rm)
    opened = timezone.now() - dt.timedelta(hours=30)
    complaint = services.complaint_open(client=client, subject="Card fee", opened_at=opened, by=rm.user)
    resolved_at, resolution = opened + dt.timedelta(hours=1), "refunded"
    if case == "before_opened":
        resolved_at = opened - dt.timedelta(minutes=1)
    elif case == "no_resolution":
        resolution = ""
    elif case == "twice":
        services.complaint_resolve(complaint=complaint, resolved_at=resolved_at, resolution="first", by=rm.user)
    before = list(Complaint.objects.values("resolved_at", "resolution"))

    with pytest.raises(ApplicationError):
        services.complaint_resolve(complaint=complaint, resolved_at=resolved_at, resolution=resolution, by=rm.user)

    assert list(Complaint.objects.values("resolved_at", "resolution")) == before
