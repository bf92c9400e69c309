"""The demo bank's career histories (careers/demo.py): ladders, level history, certificates,
trainings, interviews, goals, commendations and exits generated from hidden causes, seeded once
for the module."""
import datetime as dt
from collections import Counter, defaultdict

import pytest
from django.db import transaction

from careers.models import (CareerGoal, CareerInterview, Certificate, CertificateType, Commendation, Exit,
                            ExitHandover, JobSequence, LevelChange, Training)
from careers.selectors import exit_outflow, interviews_due
from clients import demo
from clients.models import Assignment, Employee, Role
from performance.models import Appraisal

pytestmark = pytest.mark.django_db

BANK = {"clients": 3000, "months": 22, "end_month": dt.date(2026, 10, 1)}
WINDOW_START = dt.date(2025, 1, 1)
GRADE_SCORE = {"excellent": 5, "good": 4, "pass": 3, "basic": 2, "fail": 1}
SEED_REASONS = {Exit.Reason.INCENTIVE_ASSESSMENT, Exit.Reason.CAREER_DEVELOPMENT, Exit.Reason.RECOGNITION,
                Exit.Reason.WORK_PRESSURE}


@pytest.fixture(scope="module")
def bank(django_db_setup, django_db_blocker):
    """One demo bank for the module, rolled back at its end."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            yield demo.demo_seed(**BANK)
            transaction.set_rollback(True)


@pytest.fixture
def hr(bank):
    return Employee.objects.get(employee_no="E0001").user


def rm_years() -> float:
    """Years in post of all RMs within the window."""
    end = dt.date(2026, 10, 31)
    exits = dict(Exit.objects.values_list("employee_id", "exit_on"))
    days = 0
    for pk, hired_on in Employee.objects.filter(role=Role.RM).values_list("pk", "hired_on"):
        days += (min(exits.get(pk, end), end) - max(hired_on, WINDOW_START)).days
    return days / 365.25


# Ladders and records -------------------------------------------------------------------------------

def test_sequences_have_their_norms_and_levels_their_promotion_requirements(bank):
    norms = {s.code: (s.norm_book_size, s.norm_months_at_level, s.interview_interval_months)
             for s in JobSequence.objects.all()}
    assert norms == {"personal": (180, 36, 6), "wealth": (80, 36, 6), "corporate": (50, 36, 6)}
    assert set(CertificateType.objects.values_list("code", flat=True)) >= {"AFP", "CFP", "BANKING"}
    assert CertificateType.objects.get(code="BANKING").name == "银行从业资格"
    personal = {level.rank: level for level in JobSequence.objects.get(code="personal").levels.all()}
    assert [c.code for c in personal[1].required_certificates.all()] == ["BANKING"]
    assert {c.code for c in personal[2].required_certificates.all()} == {"AFP", "BANKING"}
    assert personal[2].min_months_at_level == 24 and personal[2].good_grades_required == 2
    assert personal[1].min_book_size < personal[4].min_book_size
    assert all(level.training_hours_per_year > 0 for rank, level in personal.items() if rank < 5)


def test_every_employee_has_a_hire_record_and_rms_climb_one_rank_at_a_time(bank):
    changes = defaultdict(list)
    for change in LevelChange.objects.select_related("from_level", "to_level").order_by("effective_on", "id"):
        changes[change.employee_id].append(change)
    employees = list(Employee.objects.select_related("level"))
    assert set(changes) == {e.pk for e in employees}
    promotions_in_window = 0
    for employee in employees:
        history = changes[employee.pk]
        assert history[0].kind == LevelChange.Kind.HIRE and history[0].effective_on == employee.hired_on
        assert [c.kind for c in history[1:]].count(LevelChange.Kind.HIRE) == 0
        for change in history:
            if change.kind == LevelChange.Kind.PROMOTION:
                assert change.to_level.rank == change.from_level.rank + 1
                assert change.to_level.sequence_id == change.from_level.sequence_id
                promotions_in_window += change.effective_on >= WINDOW_START
        if employee.role == Role.RM:
            held = [c for c in history if c.kind != LevelChange.Kind.EXIT][-1].to_level
            assert held == employee.level
    assert promotions_in_window > 0
    assert LevelChange.objects.filter(kind=LevelChange.Kind.PROMOTION, effective_on__lt=WINDOW_START).exists()


def test_certificates_include_some_expiring_within_90_days_and_some_expired(bank):
    present = bank.present
    certificates = Certificate.objects.filter(employee__status=Employee.Status.ACTIVE)
    expiring = certificates.filter(expires_on__gt=present, expires_on__lte=present + dt.timedelta(days=90))
    expired = certificates.filter(expires_on__lt=present)
    assert expiring.exists() and expired.exists()
    assert expiring.count() + expired.count() < 0.3 * certificates.count()
    assert not Certificate.objects.filter(obtained_on__gt=present).exists()
    held = Counter(Certificate.objects.values_list("certificate_type__code", flat=True))
    assert held["BANKING"] > held["AFP"] > held["CFP"] > 0


def test_trainings_fall_within_employment_and_cover_most_of_the_yearly_hours(bank):
    trainings = Training.objects.select_related("employee")
    assert trainings.count() > 10 * Employee.objects.filter(role=Role.RM).count()
    exits = dict(Exit.objects.values_list("employee_id", "exit_on"))
    for training in trainings:
        assert training.hours > 0
        assert training.employee.hired_on <= training.completed_on <= exits.get(training.employee_id, bank.present)


def test_interviews_every_six_months_with_some_rms_overdue(bank, hr):
    due = interviews_due(hr, as_of=bank.present)
    overdue = [row for row in due if row.overdue]
    assert 0 < len(overdue) < 0.5 * len(due)
    held = CareerInterview.objects.filter(held_on__isnull=False)
    assert not held.filter(outcome="").exists()
    assert set(held.values_list("outcome", flat=True)) == set(CareerInterview.Outcome.values)
    pending = Counter(CareerInterview.objects.filter(held_on__isnull=True).values_list("employee_id", flat=True))
    assert pending and max(pending.values()) == 1
    # In post long enough, an RM in time has been seen within the last six months or so.
    gaps = []
    for employee_id in Employee.objects.filter(role=Role.RM, hired_on__lt=dt.date(2024, 1, 1)).values_list(
            "pk", flat=True):
        days = sorted(held.filter(employee_id=employee_id).values_list("held_on", flat=True))
        gaps += [(b - a).days for a, b in zip(days, days[1:])]
    assert 150 < sorted(gaps)[len(gaps) // 2] < 200


def test_open_career_goals_aim_higher_in_the_own_sequence_and_not_every_rm_has_one(bank):
    goals = CareerGoal.objects.select_related("employee__level", "target_level")
    assert set(goals.values_list("status", flat=True)) >= {CareerGoal.Status.OPEN, CareerGoal.Status.ACHIEVED,
                                                           CareerGoal.Status.DROPPED}
    open_goals = [g for g in goals if g.status == CareerGoal.Status.OPEN]
    for goal in open_goals:
        assert goal.employee.status == Employee.Status.ACTIVE
        assert goal.target_level.sequence_id == goal.employee.level.sequence_id
        assert goal.target_level.rank > goal.employee.level.rank
        assert goal.target_date > bank.present
    active = Employee.objects.filter(role=Role.RM, status=Employee.Status.ACTIVE).count()
    assert 0 < len({g.employee_id for g in open_goals}) < active


def test_commendations_go_to_good_grades_and_not_to_everyone(bank):
    commendations = Commendation.objects.all()
    titles = set(commendations.values_list("title", flat=True))
    assert any("营销之星" in t for t in titles) and any("年度优秀客户经理" in t for t in titles)
    for commendation in commendations.filter(title__contains="营销之星"):
        quarter = f"{commendation.title[:4]}-Q{'一二三四'.index(commendation.title[6]) + 1}"
        grade = Appraisal.objects.get(employee_id=commendation.employee_id, period=quarter).grade
        assert grade in ("excellent", "good")
    rms = Employee.objects.filter(role=Role.RM).count()
    assert commendations.values("employee").distinct().count() < 0.8 * rms


# Exits --------------------------------------------------------------------------------------------

def test_about_twelve_percent_of_rms_leave_each_year(bank):
    rate = Exit.objects.count() / rm_years()
    assert 0.07 < rate < 0.2, rate


def test_every_leaver_has_a_completed_exit_with_a_reason_and_no_clients_left(bank):
    exits = Exit.objects.select_related("employee__user")
    assert exits.exists()
    for exit in exits:
        employee = exit.employee
        assert exit.status == Exit.Status.COMPLETED and exit.reason in Exit.Reason.values
        assert (employee.status, employee.left_on) == (Employee.Status.LEFT, exit.exit_on)
        assert not employee.user.is_active
        assert not Assignment.objects.filter(rm=employee, ended_on__isnull=True).exists()
        assert LevelChange.objects.filter(employee=employee, kind=LevelChange.Kind.EXIT,
                                          effective_on=exit.exit_on).exists()
        assert WINDOW_START <= exit.exit_on <= bank.present
    left = set(Employee.objects.filter(status=Employee.Status.LEFT).values_list("pk", flat=True))
    assert left == set(exits.values_list("employee_id", flat=True))


def test_books_were_handed_over_before_the_exit_date(bank):
    handovers = ExitHandover.objects.select_related("exit")
    assert handovers.count() > 0
    for handover in handovers:
        assert handover.handed_over_on < handover.exit.exit_on
        assert handover.exit.exit_on - handover.handed_over_on <= dt.timedelta(days=30)
        assignment = Assignment.objects.get(client_id=handover.client_id, started_on=handover.handed_over_on)
        assert (assignment.reason, assignment.rm_id) == (Assignment.Reason.EXIT_HANDOVER, handover.to_rm_id)
    assert Exit.objects.filter(handovers__isnull=False).distinct().count() == Exit.objects.count()


def test_handed_over_clients_are_lost_more_often_than_the_banks_normal_churn(bank, hr):
    total = exit_outflow(hr, as_of=bank.present)["total"]
    assert total.handed_over > 50
    assert total.lost_6m > 2 * total.expected_6m


def test_exit_reasons_are_weighted_as_the_seed_found(bank):
    reasons = Counter(Exit.objects.values_list("reason", flat=True))
    assert sum(reasons[r] for r in SEED_REASONS) > 2 * reasons[Exit.Reason.COMPENSATION]
    assert reasons[Exit.Reason.PERSONAL] + reasons[Exit.Reason.OTHER] < 0.3 * sum(reasons.values())


def test_exits_are_mostly_voluntary_with_destinations_and_notes_in_chinese(bank):
    exits = list(Exit.objects.all())
    assert sum(e.voluntary for e in exits) > 0.7 * len(exits)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e.interview_notes) for e in exits)
    moving = [e for e in exits if e.voluntary and e.reason in SEED_REASONS | {Exit.Reason.COMPENSATION}]
    assert moving and all(e.destination for e in moving)


def test_hires_keep_the_rm_count_near_sixty(bank):
    active = Employee.objects.filter(role=Role.RM, status=Employee.Status.ACTIVE).count()
    assert 52 <= active <= 66
    hires = Employee.objects.filter(role=Role.RM, hired_on__gte=WINDOW_START)
    assert 0 < hires.count() <= Exit.objects.count()
    # New RMs take over clients from their colleagues.
    received = [hire.assignments.filter(reason=Assignment.Reason.REBALANCING).exists() for hire in hires]
    assert sum(received) > 0.75 * len(received)


def test_leavers_showed_worse_signals_than_stayers_before_they_left(bank):
    """What a retention-risk model can see: on each exit's date, the leaver against the RMs who
    stay (in post then and not leaving in the window) on the same date — grades, career
    interviews held, commendations, and interviews that found them at risk, each over the year
    before."""
    exits = dict(Exit.objects.values_list("employee_id", "exit_on"))
    hired = dict(Employee.objects.filter(role=Role.RM).values_list("pk", "hired_on"))
    grades, interviews, commendations = defaultdict(list), defaultdict(list), defaultdict(list)
    for pk, grade, computed_at in Appraisal.objects.filter(
            state__in=Appraisal.FROZEN, period_kind__in=("quarter", "year")).values_list(
            "employee_id", "grade", "computed_at"):
        grades[pk].append((computed_at.date(), GRADE_SCORE[grade]))
    for pk, held_on, outcome in CareerInterview.objects.filter(held_on__isnull=False).values_list(
            "employee_id", "held_on", "outcome"):
        interviews[pk].append((held_on, outcome))
    for pk, awarded_on in Commendation.objects.values_list("employee_id", "awarded_on"):
        commendations[pk].append(awarded_on)

    def signals(pk, day):
        year_before = day - dt.timedelta(days=365)
        recent = [score for on, score in grades[pk] if year_before < on < day]
        return {
            "grade": sum(recent) / len(recent) if recent else None,
            "interviews": sum(1 for on, _outcome in interviews[pk] if year_before < on < day)
            if hired[pk] < year_before else None,
            "commendations": sum(1 for on in commendations[pk] if year_before < on <= day),
            "at_risk": sum(1 for on, outcome in interviews[pk]
                           if year_before < on < day and outcome == CareerInterview.Outcome.AT_RISK),
        }

    gaps = defaultdict(list)  # per signal: leaver minus the stayers' mean, one value per exit
    stayers = [pk for pk in hired if pk not in exits]
    for leaver, day in exits.items():
        mine = signals(leaver, day)
        theirs = [signals(pk, day) for pk in stayers if hired[pk] < day]
        for name, value in mine.items():
            values = [s[name] for s in theirs if s[name] is not None]
            if value is not None and values:
                gaps[name].append(value - sum(values) / len(values))

    def mean(values):
        return sum(values) / len(values)

    assert len(gaps["grade"]) >= 8
    assert mean(gaps["grade"]) < 0
    assert mean(gaps["interviews"]) < 0
    assert mean(gaps["commendations"]) < 0
    assert mean(gaps["at_risk"]) > 0
