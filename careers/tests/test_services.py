"""Career writes: sequences and levels, records, level changes, interviews and exits (DOMAIN 4).
Bad input is refused with a clear message and stores nothing."""
import datetime as dt
import io
import re
from decimal import Decimal

import pytest

from careers import selectors, services
from careers.models import (CareerGoal, CareerInterview, Certificate, Exit, ExitHandover, JobSequence, Level,
                            LevelChange, Training)
from clients import services as client_services
from clients.models import Employee, Role
from performance.models import Signal
from rmportal.errors import ApplicationError
from rmportal.importing import run_import
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db


def level_kwargs(**overrides):
    values = {"code": "X", "name": "Extra", "rank": 9, "bonus_coefficient": Decimal("2.000"), "min_months_at_level": 12,
              "good_grades_required": 1, "good_grades_window": 2, "training_hours_per_year": 30, "min_book_size": 50}
    return values | overrides


# --- sequences and levels -----------------------------------------------------------------

def test_level_save_creates_a_level_with_its_requirements(ladder, afp, hr):
    level = services.level_save(sequence=ladder["sequence"], required_certificates=[afp], by=hr.user,
                                **level_kwargs())

    level.refresh_from_db()
    assert (level.rank, level.bonus_coefficient, level.min_book_size) == (9, Decimal("2.000"), 50)
    assert list(level.required_certificates.all()) == [afp]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"rank": 2}, "Rank 2 of Personal RM is held by RM already."),
    ({"good_grades_required": 3, "good_grades_window": 2}, "3 good grades cannot be earned within 2 years."),
    ({"bonus_coefficient": Decimal("0")}, "The bonus coefficient must be above 0."),
    ({"code": "A"}, "Personal RM has a level with the code “A” already."),
])
def test_level_save_refuses_bad_input_and_stores_nothing(overrides, message, ladder, hr):
    with pytest.raises(ApplicationError) as error:
        services.level_save(sequence=ladder["sequence"], by=hr.user, **level_kwargs(**overrides))

    assert error.value.message == message
    assert Level.objects.count() == 3


def test_level_save_keeps_the_code_of_an_existing_level(ladder, hr):
    with pytest.raises(ApplicationError, match="cannot change"):
        services.level_save(sequence=ladder["sequence"], level=ladder["rm"], by=hr.user,
                            **level_kwargs(code="NEW", rank=2))


def test_levels_import_keeps_the_requirements_set_on_the_pages(ladder, afp, hr):
    services.level_save(sequence=ladder["sequence"], level=ladder["assistant"], required_certificates=[afp],
                        by=hr.user, **level_kwargs(code="A", name="Assistant RM", rank=1, min_months_at_level=18))
    header = "sequence,sequence_name,level,level_name,rank,bonus_coefficient"
    data = f"{header}\npersonal,Personal RM,A,Assistant RM,1,1.050\npersonal,Personal RM,J,Junior,4,0.9\n"

    run_import("levels", io.BytesIO(data.encode()), filename="levels.csv")

    assistant = Level.objects.get(sequence__code="personal", code="A")
    assert assistant.bonus_coefficient == Decimal("1.050")
    assert (assistant.min_months_at_level, assistant.min_book_size) == (18, 50)
    assert list(assistant.required_certificates.all()) == [afp]
    assert Level.objects.filter(sequence__code="personal").count() == 4


def test_job_sequence_save_refuses_a_duplicate_code_and_a_zero_interval(ladder, hr):
    with pytest.raises(ApplicationError, match="exists already"):
        services.job_sequence_save(code="personal", name="Again", interview_interval_months=6,
                                   norm_months_at_level=36, norm_book_size=150, by=hr.user)
    with pytest.raises(ApplicationError, match="at least one month"):
        services.job_sequence_save(sequence=ladder["sequence"], code="personal", name="P",
                                   interview_interval_months=0, norm_months_at_level=36, norm_book_size=150,
                                   by=hr.user)

    assert JobSequence.objects.get().interview_interval_months == 6


# --- level changes ----------------------------------------------------------------------------

@pytest.fixture
def assistant_rm(rm, ladder, branch):
    rm.level = ladder["assistant"]
    rm.save()
    LevelChange.objects.create(employee=rm, kind=LevelChange.Kind.HIRE, effective_on=dt.date(2024, 1, 1),
                               to_level=ladder["assistant"], to_branch=branch)
    return rm


def test_promotion_records_the_change_and_updates_the_level(assistant_rm, ladder, hr):
    change = services.level_change_record(employee=assistant_rm, kind="promotion", to_level=ladder["rm"],
                                          effective_on=dt.date(2026, 3, 1), note="Annual review", by=hr.user)

    assistant_rm.refresh_from_db()
    assert assistant_rm.level == ladder["rm"]
    assert (change.from_level, change.to_level, change.effective_on) == (
        ladder["assistant"], ladder["rm"], dt.date(2026, 3, 1))


def assert_nothing_changed(employee, level, changes=1):
    employee.refresh_from_db()
    assert employee.level == level
    assert LevelChange.objects.filter(employee=employee).count() == changes


@pytest.mark.parametrize(("kind", "target", "on", "message"), [
    ("promotion", "assistant", dt.date(2026, 3, 1), "A promotion goes to a higher rank"),
    ("demotion", "rm", dt.date(2026, 3, 1), "A demotion goes to a lower rank"),
    ("promotion", "corporate", dt.date(2026, 3, 1), "belongs to another job sequence"),
    ("promotion", "rm", dt.date(2019, 12, 31), "is before RM001 Li Na was hired (2020-01-01)"),
    ("promotion", "rm", dt.date(2023, 12, 31), "is before the last change recorded (2024-01-01, Hire)"),
    ("transfer", None, dt.date(2026, 3, 1), "A transfer moves to another branch or another job sequence"),
])
def test_bad_level_change_is_refused_and_stores_nothing(kind, target, on, message, assistant_rm, ladder,
                                                        corporate_level, hr):
    levels = {**ladder, "corporate": corporate_level, None: None}

    with pytest.raises(ApplicationError, match=re.escape(message)):
        services.level_change_record(employee=assistant_rm, kind=kind, to_level=levels[target], effective_on=on,
                                     by=hr.user)

    assert_nothing_changed(assistant_rm, ladder["assistant"])


def test_transfer_to_another_sequence_keeps_the_branch(assistant_rm, corporate_level, hr, branch):
    services.level_change_record(employee=assistant_rm, kind="transfer", to_level=corporate_level,
                                 effective_on=dt.date(2026, 3, 1), by=hr.user)

    assistant_rm.refresh_from_db()
    assert (assistant_rm.level, assistant_rm.branch) == (corporate_level, branch)


def test_transfer_to_another_branch_is_refused_while_the_rm_has_clients(assistant_rm, sister_branch, ladder, hr,
                                                                         branch):
    ClientFactory(branch=branch, rm=assistant_rm)

    with pytest.raises(ApplicationError, match="still responsible for 1 client"):
        services.level_change_record(employee=assistant_rm, kind="transfer", to_branch=sister_branch,
                                     effective_on=dt.date(2026, 3, 1), by=hr.user)

    assert_nothing_changed(assistant_rm, ladder["assistant"])
    assert assistant_rm.branch == branch


def test_transfer_to_another_branch_moves_an_rm_without_clients(assistant_rm, sister_branch, hr):
    change = services.level_change_record(employee=assistant_rm, kind="transfer", to_branch=sister_branch,
                                          effective_on=dt.date(2026, 3, 1), by=hr.user)

    assistant_rm.refresh_from_db()
    assert assistant_rm.branch == sister_branch
    assert (change.from_branch.code, change.to_branch.code) == ("B01", "B02")


def test_hire_is_only_the_first_entry(assistant_rm, ladder, hr):
    with pytest.raises(ApplicationError, match="starts already"):
        services.level_change_record(employee=assistant_rm, kind="hire", to_level=ladder["assistant"],
                                     effective_on=dt.date(2026, 1, 1), by=hr.user)


# --- career record ----------------------------------------------------------------------------

def test_certificate_expiring_before_it_was_obtained_is_refused(rm, afp, hr):
    with pytest.raises(ApplicationError, match="expires"):
        services.certificate_add(employee=rm, certificate_type=afp, obtained_on=dt.date(2025, 1, 1),
                                 expires_on=dt.date(2024, 12, 31), by=hr.user)

    assert not Certificate.objects.exists()


def test_certificate_expiring_within_90_days_is_flagged(rm, afp, hr):
    services.certificate_add(employee=rm, certificate_type=afp, obtained_on=dt.date(2024, 1, 1),
                             expires_on=dt.date(2026, 9, 28), by=hr.user)
    services.certificate_add(employee=rm, certificate_type=afp, obtained_on=dt.date(2020, 1, 1),
                             expires_on=dt.date(2026, 9, 29), by=hr.user)

    shown = selectors.employee_certificates(hr.user, rm, as_of=dt.date(2026, 6, 30))

    assert sorted(c.validity for c in shown) == ["expiring", "valid"]


@pytest.mark.parametrize(("hours", "on", "message"), [
    (Decimal("0"), dt.date(2025, 1, 1), "more than 0 hours"),
    (Decimal("8"), dt.date(2019, 6, 1), "before RM001 Li Na was hired"),
    (Decimal("8"), dt.date(2099, 1, 1), "cannot be in the future"),
])
def test_bad_training_is_refused(hours, on, message, rm, hr):
    with pytest.raises(ApplicationError, match=message):
        services.training_record(employee=rm, title="Course", completed_on=on, hours=hours, by=hr.user)

    assert not Training.objects.exists()


def test_goal_must_be_above_the_current_level_in_the_same_sequence(rm, ladder, corporate_level, hr):
    rm.level = ladder["rm"]
    rm.save()
    later = dt.date.today() + dt.timedelta(days=3 * 365)

    for target, message in ((corporate_level, "another job sequence"), (ladder["assistant"], "not above")):
        with pytest.raises(ApplicationError, match=message):
            services.career_goal_set(employee=rm, target_level=target, target_date=later, by=hr.user)
    with pytest.raises(ApplicationError, match="after today"):
        services.career_goal_set(employee=rm, target_level=ladder["senior"], target_date=dt.date(2020, 1, 1),
                                 by=hr.user)

    assert not CareerGoal.objects.exists()
    goal = services.career_goal_set(employee=rm, target_level=ladder["senior"], target_date=later,
                                    actions="CFP by 2028", by=hr.user)
    assert services.career_goal_update(goal=goal, status="achieved", by=hr.user).status == "achieved"


# --- interviews -------------------------------------------------------------------------------

def test_interview_is_scheduled_once_then_recorded_with_notes_and_outcome(rm, hr):
    interview = services.interview_schedule(employee=rm, scheduled_on=dt.date(2026, 5, 1), by=hr.user)
    with pytest.raises(ApplicationError, match="scheduled already"):
        services.interview_schedule(employee=rm, scheduled_on=dt.date(2026, 5, 8), by=hr.user)

    services.interview_record(employee=rm, interview=interview, held_on=dt.date(2026, 5, 2), outcome="needs_support",
                              notes="Wants a wealth track", revised_goals="AFP this year", by=hr.user)

    interview.refresh_from_db()
    assert (interview.held_on, interview.outcome, interview.interviewer) == (dt.date(2026, 5, 2), "needs_support", hr)
    with pytest.raises(ApplicationError, match="recorded already"):
        services.interview_record(employee=rm, interview=interview, held_on=dt.date(2026, 5, 3), outcome="on_track",
                                  by=hr.user)


@pytest.mark.parametrize(("on", "outcome", "message"), [
    (dt.date(2099, 1, 1), "on_track", "cannot be in the future"),
    (dt.date(2019, 1, 1), "on_track", "before RM001 Li Na was hired"),
    (dt.date(2026, 1, 1), "", "Choose the outcome"),
])
def test_bad_interview_is_refused_and_stores_nothing(on, outcome, message, rm, hr):
    with pytest.raises(ApplicationError, match=message):
        services.interview_record(employee=rm, held_on=on, outcome=outcome, by=hr.user)

    assert not CareerInterview.objects.exists()


# --- exits ------------------------------------------------------------------------------------

EXIT_ON = dt.date(2026, 10, 31)


@pytest.fixture
def leaving(rm, branch, ladder):
    """rm with two clients, at the assistant level."""
    rm.level = ladder["assistant"]
    rm.save()
    return {"rm": rm, "clients": [ClientFactory(client_no=f"K{n}", branch=branch, rm=rm) for n in range(2)]}


def open_exit(employee, by, on=EXIT_ON):
    return services.exit_open(employee=employee, exit_on=on, voluntary=True, reason=Exit.Reason.CAREER_DEVELOPMENT,
                              destination="Another bank", interview_notes="No promotion prospects", by=by)


def test_exit_before_hiring_is_refused_and_stores_nothing(rm, hr):
    with pytest.raises(ApplicationError, match="exit date 2019-12-31 is before RM001 Li Na was hired"):
        open_exit(rm, hr.user, on=dt.date(2019, 12, 31))

    assert not Exit.objects.exists()


def test_exit_of_an_rm_with_clients_stays_open_and_completion_is_refused(leaving, hr):
    exit = open_exit(leaving["rm"], hr.user)

    with pytest.raises(ApplicationError) as error:
        services.exit_complete(exit=exit, by=hr.user)

    assert error.value.message == ("RM001 Li Na is still responsible for 2 clients. Hand them over on the handover "
                                   "page before completing the exit.")
    exit.refresh_from_db()
    leaving["rm"].refresh_from_db()
    assert exit.status == Exit.Status.OPEN and leaving["rm"].is_active
    assert not ExitHandover.objects.exists() and not LevelChange.objects.filter(kind="exit").exists()


def test_completing_the_exit_records_who_took_which_client_and_marks_the_rm_left(leaving, other_rm, hr, branch,
                                                                                 ladder, branch_manager):
    rm, (first, second) = leaving["rm"], leaving["clients"]
    third_rm = EmployeeFactory(employee_no="RM003", branch=branch, role=Role.RM)
    exit = open_exit(rm, hr.user)
    client_services.book_handover(from_rm=rm, plan=[(first, other_rm), (second, third_rm)],
                                  on=dt.date(2026, 10, 20), by=branch_manager.user)

    services.exit_complete(exit=exit, by=hr.user)

    exit.refresh_from_db()
    rm.refresh_from_db()
    assert exit.status == Exit.Status.COMPLETED and exit.completed_at is not None
    assert set(exit.handovers.values_list("client__client_no", "to_rm__employee_no", "handed_over_on")) == {
        ("K0", "RM002", dt.date(2026, 10, 20)), ("K1", "RM003", dt.date(2026, 10, 20))}
    assert (rm.status, rm.left_on, rm.user.is_active) == ("left", EXIT_ON, False)
    change = LevelChange.objects.get(employee=rm, kind="exit")
    assert (change.effective_on, change.from_level, change.to_level) == (EXIT_ON, ladder["assistant"], None)


def test_only_exit_handovers_since_30_days_before_belong_to_the_exit(leaving, other_rm, hr, branch_manager):
    rm, (early, rebalanced) = leaving["rm"], leaving["clients"]
    # Handed over 40 days before the exit: too early. Rebalanced: not an exit handover.
    client_services.client_reassign(client=early, to_rm=other_rm, on=EXIT_ON - dt.timedelta(days=40),
                                    reason="exit_handover", by=branch_manager.user)
    client_services.client_reassign(client=rebalanced, to_rm=other_rm, on=EXIT_ON - dt.timedelta(days=5),
                                    reason="rebalancing", by=branch_manager.user)
    exit = open_exit(rm, hr.user)

    services.exit_complete(exit=exit, by=hr.user)

    assert not ExitHandover.objects.exists()


def test_exit_is_completed_on_or_after_its_date(rm, hr):
    on = dt.date.today() + dt.timedelta(days=60)
    exit = open_exit(rm, hr.user, on=on)

    with pytest.raises(ApplicationError, match=f"takes effect on {on.isoformat()}"):
        services.exit_complete(exit=exit, by=hr.user)

    rm.refresh_from_db()
    assert rm.is_active


def test_a_second_exit_or_an_exit_of_a_left_employee_is_refused(rm, hr):
    open_exit(rm, hr.user)
    with pytest.raises(ApplicationError, match="recorded already"):
        open_exit(rm, hr.user)

    services.exit_complete(exit=Exit.objects.get(), by=hr.user)
    rm.refresh_from_db()
    with pytest.raises(ApplicationError, match="has left the bank"):
        services.level_change_record(employee=rm, kind="transfer", effective_on=dt.date(2026, 11, 1), by=hr.user)


def test_exit_update_keeps_the_exit_interview(rm, hr):
    exit = open_exit(rm, hr.user)

    services.exit_update(exit=exit, voluntary=False, reason=Exit.Reason.WORK_PRESSURE, destination="",
                         interview_notes="Targets too high", by=hr.user)

    exit.refresh_from_db()
    assert (exit.voluntary, exit.reason, exit.interview_notes) == (False, "work_pressure", "Targets too high")
    assert exit.status == Exit.Status.OPEN and Employee.objects.get(pk=rm.pk).is_active


def test_promotion_closes_the_open_promotion_candidate_signal(assistant_rm, ladder, hr):
    Signal.objects.create(employee=assistant_rm, kind=Signal.Kind.PROMOTION_CANDIDATE, period="2025", detail="x")
    warning = Signal.objects.create(employee=assistant_rm, kind=Signal.Kind.WARNING, period="2025", detail="y")

    services.level_change_record(employee=assistant_rm, kind="promotion", to_level=ladder["rm"],
                                 effective_on=dt.date(2026, 3, 1), by=hr.user)

    assert not Signal.objects.filter(kind="promotion_candidate", closed_at__isnull=True).exists()
    warning.refresh_from_db()
    assert warning.closed_at is None


def test_exit_completes_when_the_handover_page_recorded_the_departure_first(rm, hr):
    exit = open_exit(rm, hr.user)
    client_services.employee_mark_left(employee=rm, on=dt.date(2026, 10, 30), by=hr.user)

    services.exit_complete(exit=exit, by=hr.user)

    exit.refresh_from_db()
    rm.refresh_from_db()
    assert exit.status == Exit.Status.COMPLETED and rm.left_on == dt.date(2026, 10, 30)
    assert LevelChange.objects.filter(employee=rm, kind="exit").count() == 1
