"""Career reads: promotion eligibility at each requirement's edge, interviews due, level
coefficients over time, and what became of the clients handed over at an exit (DOMAIN 4)."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from careers import selectors, services
from careers.models import CareerInterview, Certificate, Exit, ExitHandover, LevelChange, Training
from careers.tests.conftest import AS_OF
from clients import services as client_services
from clients.models import Client, ClientContribution, Employee, Role
from performance.models import Signal
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db


def eligibility_of(employee, user, as_of=AS_OF):
    rows = selectors.promotion_eligibility(user, as_of=as_of, employees=Employee.objects.filter(pk=employee.pk))
    assert len(rows) == 1
    return rows[0]


def requirement(row, key):
    return next(r for r in row.requirements if r.key == key)


# --- add_months -----------------------------------------------------------------------------

def test_add_months_keeps_the_day_or_takes_the_last_day_of_a_shorter_month():
    assert selectors.add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert selectors.add_months(dt.date(2024, 6, 30), 24) == dt.date(2026, 6, 30)
    assert selectors.add_months(dt.date(2026, 1, 15), -12) == dt.date(2025, 1, 15)


# --- promotion eligibility ----------------------------------------------------------------

def test_rm_meeting_every_requirement_is_eligible_with_each_figure(eligible_rm, hr, ladder):
    row = eligibility_of(eligible_rm, hr.user)

    assert row.eligible
    assert row.next_level == ladder["rm"]
    figures = {r.key: (r.actual, r.required, r.met) for r in row.requirements}
    assert figures == {"months": (24, 24, True), "grades": (2, 2, True), "certificates": (1, 1, True),
                       "training": (Decimal("40"), Decimal("40"), True), "book": (3, 3, True)}


def test_months_at_level_exactly_at_the_minimum_is_met_and_one_day_less_is_not(eligible_rm, hr):
    assert requirement(eligibility_of(eligible_rm, hr.user, as_of=dt.date(2026, 6, 30)), "months").met

    row = eligibility_of(eligible_rm, hr.user, as_of=dt.date(2026, 6, 29))

    months = requirement(row, "months")
    assert (months.met, months.actual) == (False, 23)
    assert not row.eligible


def test_months_count_from_the_last_change_into_the_level_not_from_hiring(eligible_rm, hr, ladder, branch):
    LevelChange.objects.create(employee=eligible_rm, kind=LevelChange.Kind.TRANSFER, effective_on=dt.date(2025, 1, 1),
                               from_level=ladder["assistant"], to_level=ladder["assistant"], from_branch=branch,
                               to_branch=branch)

    # A transfer that keeps the level does not restart the count.
    assert requirement(eligibility_of(eligible_rm, hr.user), "months").actual == 24


def test_months_without_history_count_from_the_hiring_date(rm, ladder, hr):
    rm.level = ladder["assistant"]
    rm.hired_on = dt.date(2024, 7, 1)
    rm.save()

    months = requirement(eligibility_of(rm, hr.user), "months")

    assert (months.actual, months.met) == (23, False)


def test_only_approved_good_or_better_annual_grades_of_the_window_count(eligible_rm, hr, annual):
    row = eligibility_of(eligible_rm, hr.user)
    assert requirement(row, "grades").actual == 2

    eligible_rm.appraisals.filter(period="2024").update(grade="pass")
    annual(eligible_rm, "2022", "excellent")            # outside 2023–2025
    annual(eligible_rm, "2023", "good", state="reviewed")  # not approved
    annual(eligible_rm, "2026", "excellent")            # the current year is not counted yet

    grades = requirement(eligibility_of(eligible_rm, hr.user), "grades")
    assert (grades.actual, grades.met) == (1, False)


def test_an_expired_certificate_does_not_count_but_one_valid_through_today_does(eligible_rm, hr):
    Certificate.objects.filter(employee=eligible_rm).update(expires_on=dt.date(2026, 6, 29))

    certificates = requirement(eligibility_of(eligible_rm, hr.user), "certificates")
    assert (certificates.actual, certificates.met) == (0, False)
    assert "AFP expired on 2026-06-29" in certificates.detail

    Certificate.objects.filter(employee=eligible_rm).update(expires_on=AS_OF)
    assert requirement(eligibility_of(eligible_rm, hr.user), "certificates").met


def test_a_missing_certificate_is_named(eligible_rm, hr):
    Certificate.objects.filter(employee=eligible_rm).delete()

    certificates = requirement(eligibility_of(eligible_rm, hr.user), "certificates")

    assert not certificates.met and certificates.detail == "AFP missing"


def test_training_hours_just_under_the_minimum_are_not_met(eligible_rm, hr):
    Training.objects.filter(employee=eligible_rm).update(hours=Decimal("39.9"))

    training = requirement(eligibility_of(eligible_rm, hr.user), "training")

    assert (training.actual, training.met) == (Decimal("39.9"), False)


def test_training_completed_exactly_twelve_months_ago_is_outside_the_window(eligible_rm, hr):
    Training.objects.create(employee=eligible_rm, title="Old", completed_on=dt.date(2025, 6, 30), hours=Decimal("5"))
    Training.objects.create(employee=eligible_rm, title="Recent", completed_on=dt.date(2025, 7, 1), hours=Decimal("2"))

    assert requirement(eligibility_of(eligible_rm, hr.user), "training").actual == Decimal("42")


def test_book_size_counts_open_assignments_and_one_client_short_is_not_met(eligible_rm, hr, other_rm):
    client = Client.objects.filter(assignments__rm=eligible_rm).first()
    client_services.client_reassign(client=client, to_rm=other_rm, on=dt.date(2026, 5, 1), reason="rebalancing",
                                    by=hr.user)

    row = eligibility_of(eligible_rm, hr.user)

    assert (requirement(row, "book").actual, requirement(row, "book").met) == (2, False)
    assert not row.eligible


def test_top_level_is_never_eligible(eligible_rm, hr, ladder):
    eligible_rm.level = ladder["senior"]
    eligible_rm.save()

    row = eligibility_of(eligible_rm, hr.user)

    assert row.next_level is None and not row.eligible


def test_eligible_since_is_the_day_the_last_requirement_was_met(eligible_rm, hr):
    # Months reached on 2026-06-30, the last of the five.
    assert eligibility_of(eligible_rm, hr.user).eligible_since == dt.date(2026, 6, 30)


@pytest.fixture
def long_eligible(rm, branch, ladder, afp, annual):
    """Assistant since 2023-01-01 (24 months reached 2025-01-01), good grades 2023 and 2024
    (from 2025), AFP since 2023, 20 + 20 training hours on 2025-10-01 and 2025-11-01: all met
    from 2025-11-01."""
    rm.level = ladder["assistant"]
    rm.save()
    LevelChange.objects.create(employee=rm, kind=LevelChange.Kind.HIRE, effective_on=dt.date(2023, 1, 1),
                               to_level=ladder["assistant"], to_branch=branch)
    annual(rm, "2023", "good")
    annual(rm, "2024", "good")
    Certificate.objects.create(employee=rm, certificate_type=afp, obtained_on=dt.date(2023, 1, 1))
    Training.objects.create(employee=rm, title="A", completed_on=dt.date(2025, 10, 1), hours=Decimal("20"))
    Training.objects.create(employee=rm, title="B", completed_on=dt.date(2025, 11, 1), hours=Decimal("20"))
    for _ in range(3):
        ClientFactory(branch=branch, rm=rm)
    return rm


def test_eligible_six_months_without_promotion_is_listed(long_eligible, hr):
    rows = selectors.promotion_eligibility(hr.user, as_of=AS_OF)

    row = next(r for r in rows if r.employee == long_eligible)
    assert row.eligible_since == dt.date(2025, 11, 1)
    assert row.waiting_months == 7
    assert selectors.eligible_not_promoted(rows) == [row]


def test_eligible_for_less_than_six_months_is_not_listed(long_eligible, hr):
    rows = selectors.promotion_eligibility(hr.user, as_of=dt.date(2026, 4, 30))

    assert [r.eligible for r in rows] == [True]
    assert selectors.eligible_not_promoted(rows) == []


def test_a_book_reached_only_recently_moves_eligible_since(long_eligible, hr, branch, other_rm):
    # Down to 2 clients until 2026-03-01, then back to 3.
    client = Client.objects.filter(assignments__rm=long_eligible).first()
    client_services.client_reassign(client=client, to_rm=other_rm, on=dt.date(2025, 12, 1), reason="rebalancing",
                                    by=hr.user)
    client_services.client_reassign(client=client, to_rm=long_eligible, on=dt.date(2026, 3, 1), reason="rebalancing",
                                    by=hr.user)

    row = eligibility_of(long_eligible, hr.user)

    assert row.eligible_since == dt.date(2026, 3, 1)
    assert not row.long_waiting


def test_promotion_candidate_signals_are_attached(eligible_rm, hr):
    Signal.objects.create(employee=eligible_rm, kind=Signal.Kind.PROMOTION_CANDIDATE, period="2025",
                          detail="2 excellent annual grades up to 2025")
    Signal.objects.create(employee=eligible_rm, kind=Signal.Kind.WARNING, period="2025-Q4", detail="x")

    row = eligibility_of(eligible_rm, hr.user)

    assert [s.period for s in row.candidate_signals] == ["2025"]
    assert row.promotion_candidate


def test_eligibility_is_restricted_to_the_users_scope(eligible_rm, far_manager, branch_manager, rm):
    assert selectors.promotion_eligibility(far_manager.user, as_of=AS_OF) == []
    assert [r.employee for r in selectors.promotion_eligibility(rm.user, as_of=AS_OF)] == [rm]
    assert [r.employee for r in selectors.promotion_eligibility(branch_manager.user, as_of=AS_OF)] == [rm]


def test_eligibility_of_a_branch_costs_the_same_queries_for_more_rms(eligible_rm, hr, branch, ladder, afp, annual):
    selectors.promotion_eligibility(hr.user, as_of=AS_OF)  # the user's role is looked up once
    with CaptureQueriesContext(connection) as few:
        selectors.promotion_eligibility(hr.user, as_of=AS_OF)
    for n in range(6):
        other = EmployeeFactory(branch=branch, role=Role.RM, level=ladder["assistant"], hired_on=dt.date(2022, 1, 1))
        annual(other, "2024", "good")
        annual(other, "2025", "good")
        Certificate.objects.create(employee=other, certificate_type=afp, obtained_on=dt.date(2023, 1, 1))
        Training.objects.create(employee=other, title="T", completed_on=dt.date(2026, 2, 1), hours=Decimal("50"))
        ClientFactory.create_batch(3, branch=branch, rm=other)

    with CaptureQueriesContext(connection) as many:
        rows = selectors.promotion_eligibility(hr.user, as_of=AS_OF)

    assert sum(r.eligible for r in rows) == 7
    assert len(many) == len(few) <= 10


# --- interviews -------------------------------------------------------------------------------

def test_next_interview_is_due_an_interval_after_hiring_when_none_was_held(rm, hr):
    rm.hired_on = dt.date(2026, 1, 10)
    rm.save()

    row = selectors.interviews_due(hr.user, as_of=dt.date(2026, 7, 10))[0]

    assert (row.due_on, row.interval_months, row.overdue) == (dt.date(2026, 7, 10), 6, False)
    assert selectors.interviews_overdue(hr.user, dt.date(2026, 7, 10)) == []
    assert [r.employee for r in selectors.interviews_overdue(hr.user, dt.date(2026, 7, 11))] == [rm]


def test_next_interview_is_due_the_sequence_interval_after_the_last_held(rm, hr, corporate_level):
    rm.level = corporate_level  # every 3 months
    rm.save()
    CareerInterview.objects.create(employee=rm, scheduled_on=dt.date(2026, 1, 5), held_on=dt.date(2026, 1, 6),
                                   outcome="on_track")
    CareerInterview.objects.create(employee=rm, scheduled_on=dt.date(2026, 3, 1), held_on=dt.date(2026, 3, 2),
                                   outcome="on_track")
    # Scheduled but not held: it does not move the due date.
    CareerInterview.objects.create(employee=rm, scheduled_on=dt.date(2026, 6, 20))

    row = selectors.interviews_due(hr.user, as_of=dt.date(2026, 6, 10))[0]

    assert (row.last_held_on, row.due_on, row.next_scheduled_on) == (
        dt.date(2026, 3, 2), dt.date(2026, 6, 2), dt.date(2026, 6, 20))
    assert row.overdue and row.days_overdue == 8


def test_overdue_interviews_are_listed_per_scope(rm, other_rm, hr, branch_manager, far_manager, other_branch):
    far_rm = EmployeeFactory(branch=other_branch, role=Role.RM, hired_on=dt.date(2020, 1, 1))
    left = EmployeeFactory(branch=rm.branch, role=Role.RM, status="left", left_on=dt.date(2021, 1, 1))

    assert {r.employee for r in selectors.interviews_overdue(hr.user, AS_OF)} == {rm, other_rm, far_rm}
    assert {r.employee for r in selectors.interviews_overdue(branch_manager.user, AS_OF)} == {rm, other_rm}
    assert {r.employee for r in selectors.interviews_overdue(far_manager.user, AS_OF)} == {far_rm}
    assert left not in {r.employee for r in selectors.interviews_overdue(hr.user, AS_OF)}
    counts = {branch.code: overdue for branch, overdue, _total in
              selectors.overdue_by_branch(selectors.interviews_due(hr.user, as_of=AS_OF))}
    assert counts == {"B01": 2, "B03": 1}


# --- level coefficients -------------------------------------------------------------------

def test_level_coefficient_changes_on_the_promotion_date(eligible_rm, ladder, hr):
    services.level_change_record(employee=eligible_rm, kind="promotion", to_level=ladder["rm"],
                                 effective_on=dt.date(2026, 7, 1), by=hr.user)

    before = selectors.level_coefficients_as_of([eligible_rm.pk], dt.date(2026, 6, 30))
    after = selectors.level_coefficients_as_of([eligible_rm.pk], dt.date(2026, 7, 1))

    assert before == {eligible_rm.pk: Decimal("1.000")}
    assert after == {eligible_rm.pk: Decimal("1.200")}


def test_level_coefficient_before_the_first_change_is_the_level_it_started_from(rm, ladder, hr):
    rm.level = ladder["assistant"]
    rm.save()
    services.level_change_record(employee=rm, kind="promotion", to_level=ladder["rm"],
                                 effective_on=dt.date(2026, 1, 1), by=hr.user)

    assert selectors.level_coefficients_as_of([rm.pk], dt.date(2025, 12, 31)) == {rm.pk: Decimal("1.000")}


def test_level_coefficient_falls_back_to_the_current_level_or_one(rm, other_rm, ladder):
    rm.level = ladder["senior"]
    rm.save()

    coefficients = selectors.level_coefficients_as_of([rm.pk, other_rm.pk], dt.date(2026, 1, 1))

    assert coefficients == {rm.pk: Decimal("1.500"), other_rm.pk: Decimal("1")}


def test_level_coefficients_take_two_queries_for_any_number(rm, other_rm, ladder, django_assert_num_queries):
    with django_assert_num_queries(2):
        selectors.level_coefficients_as_of([rm.pk, other_rm.pk], dt.date(2026, 1, 1))


# --- exit outflow ---------------------------------------------------------------------------

HANDOVER = dt.date(2025, 7, 1)


def contribution(client, month, **profits):
    return ClientContribution.objects.create(client=client, branch=client.branch, month=month, **profits)


@pytest.fixture
def handed_over(rm, other_rm, branch, sister_branch):
    """rm left on 2025-06-30 and handed four clients to other_rm on 2025-07-01: A lost 1.5
    months later, B 4.5 months later, C 8 months later, D kept. Six other clients active at the
    handover, one lost within 3 months; one lost before and one opened after do not count."""
    exit = Exit.objects.create(employee=rm, exit_on=dt.date(2025, 6, 30), reason=Exit.Reason.COMPENSATION,
                               status=Exit.Status.COMPLETED)
    lost = {"A": dt.date(2025, 8, 15), "B": dt.date(2025, 11, 15), "C": dt.date(2026, 3, 1), "D": None}
    clients = {}
    for name, lost_on in lost.items():
        client = ClientFactory(client_no=f"H-{name}", branch=branch, rm=other_rm,
                               status="lost" if lost_on else "active", lost_on=lost_on)
        ExitHandover.objects.create(exit=exit, client=client, to_rm=other_rm, handed_over_on=HANDOVER)
        clients[name] = client
    for n in range(6):
        ClientFactory(client_no=f"O-{n}", branch=sister_branch,
                      **({"status": "lost", "lost_on": dt.date(2025, 9, 1)} if n == 0 else {}))
    ClientFactory(client_no="O-before", branch=sister_branch, status="lost", lost_on=dt.date(2025, 6, 1))
    ClientFactory(client_no="O-after", branch=sister_branch, opened_on=dt.date(2025, 8, 1))
    contribution(clients["D"], dt.date(2025, 6, 1), loan_profit=Decimal("100.00"), deposit_profit=Decimal("50.00"))
    contribution(clients["D"], dt.date(2025, 7, 1), loan_profit=Decimal("999.00"))    # handover month: left out
    contribution(clients["D"], dt.date(2025, 8, 1), wm_profit=Decimal("30.00"), card_profit=Decimal("50.00"))
    contribution(clients["D"], dt.date(2024, 12, 1), loan_profit=Decimal("500.00"))   # 7 months before
    contribution(clients["D"], dt.date(2026, 2, 1), loan_profit=Decimal("700.00"))    # 7 months after
    contribution(clients["A"], dt.date(2025, 1, 1), loan_profit=Decimal("200.00"),
                 volume=Decimal("99999.00"), loan_revenue=Decimal("888.00"))         # only profit counts
    return exit


def test_exit_outflow_counts_clients_lost_within_3_and_6_months(handed_over, hr):
    row = selectors.exit_outflow(hr.user, as_of=AS_OF)["rows"][0]

    assert (row.handed_over, row.lost_3m, row.lost_6m) == (4, 1, 2)
    assert (row.rate_3m, row.rate_6m) == (Decimal("0.2500"), Decimal("0.5000"))
    assert row.window_3m_complete and row.window_6m_complete and row.contribution_complete


def test_exit_outflow_compares_with_the_banks_churn_over_the_same_months(handed_over, hr):
    row = selectors.exit_outflow(hr.user, as_of=AS_OF)["rows"][0]

    # Active on 2025-07-01: the 4 handed over and 6 others. Lost within 3 months: A and O-0 (2 of
    # 10); within 6 months: A, B and O-0 (3 of 10).
    assert (row.bank_rate_3m, row.bank_rate_6m) == (Decimal("0.2000"), Decimal("0.3000"))
    assert row.percentages == {"rate_3m": Decimal("25.0"), "rate_6m": Decimal("50.0"),
                               "bank_rate_3m": Decimal("20.0"), "bank_rate_6m": Decimal("30.0")}


def test_exit_outflow_sums_profit_contribution_six_months_before_and_after(handed_over, hr):
    row = selectors.exit_outflow(hr.user, as_of=AS_OF)["rows"][0]

    assert row.contribution_before == Decimal("350.00")
    assert row.contribution_after == Decimal("80.00")
    assert row.contribution_change == Decimal("-270.00")


def test_exit_outflow_flags_windows_not_yet_ended(handed_over, hr):
    row = selectors.exit_outflow(hr.user, as_of=dt.date(2025, 11, 1))["rows"][0]

    assert row.window_3m_complete and not row.window_6m_complete and not row.contribution_complete


def test_exit_outflow_total_adds_the_exits_the_user_may_see(handed_over, hr, branch_manager, far_manager,
                                                             other_branch):
    far_rm = EmployeeFactory(branch=other_branch, role=Role.RM)
    far_exit = Exit.objects.create(employee=far_rm, exit_on=dt.date(2025, 6, 30), reason=Exit.Reason.OTHER)
    far_client = ClientFactory(branch=other_branch, status="lost", lost_on=dt.date(2025, 7, 2))
    ExitHandover.objects.create(exit=far_exit, client=far_client, to_rm=EmployeeFactory(branch=other_branch),
                                handed_over_on=HANDOVER)

    bank = selectors.exit_outflow(hr.user, as_of=AS_OF)
    branch_only = selectors.exit_outflow(branch_manager.user, as_of=AS_OF)
    far = selectors.exit_outflow(far_manager.user, as_of=AS_OF)

    assert (bank["total"].handed_over, bank["total"].lost_3m) == (5, 2)
    assert [r.exit for r in branch_only["rows"]] == [handed_over]
    assert (branch_only["total"].handed_over, branch_only["total"].lost_3m) == (4, 1)
    assert [r.exit for r in far["rows"]] == [far_exit]
    assert selectors.exit_outflow(other_rm_of(handed_over).user, as_of=AS_OF)["rows"] == []


def other_rm_of(exit):
    """An RM of the exit's branch: RMs never see exits."""
    return EmployeeFactory(branch=exit.employee.branch, role=Role.RM)


def test_exit_outflow_takes_a_fixed_number_of_queries(handed_over, hr, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        selectors.exit_outflow(hr.user, as_of=AS_OF)
