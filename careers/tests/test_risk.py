"""Retention-risk scoring (DOMAIN 5): each factor at its edges, the score and its bands, the
monthly run on real records (set-based, idempotent), alerts, the alert services, the book at
risk and the backtest."""
import datetime as dt
from decimal import Decimal as D

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from careers import risk
from careers.models import (CareerGoal, CareerInterview, Commendation, Exit, RiskAlert, RiskBand, RiskScore,
                            RiskSettings)
from careers.notices import risk_alert_notices_send
from clients.models import Client, ClientContribution, Complaint, Employee, MonthlyBusiness, Role, User
from performance.models import Appraisal, Scheme
from rmportal.errors import ApplicationError
from tests.factories import BranchFactory, ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db

MARCH = dt.date(2026, 3, 1)


def settings_with(**values) -> RiskSettings:
    defaults = {"weight_assessment": D(25), "weight_incentive": D(20), "weight_career": D(25),
                "weight_recognition": D(15), "weight_pressure": D(15), "medium_from": D(40), "high_from": D(70),
                "rise_alert": D(15)}
    return RiskSettings(**{**defaults, **values})


def only(factor: str, **thresholds) -> RiskSettings:
    """Settings where one factor carries all 100 points."""
    weights = {f"weight_{name}": D(100 if name == factor else 0) for name in risk.FACTORS}
    return RiskSettings.objects.create(**weights, **thresholds)


def factors(**overrides):
    """Five factors at 0 unless given (value only)."""
    return {name: risk.Factor(value=D(overrides.get(name, 0)), parts={}, figures={}) for name in risk.FACTORS}


# --- factors at their edges -------------------------------------------------------------------

def test_assessment_without_any_appraisal_is_zero():
    f = risk.assessment_factor(recent_avg=None, earlier_avg=None, fails=0, basics=0, total=None, team_median=None)
    assert f.value == 0 and f.parts == {"falling": 0, "weak_grades": 0, "below_team": 0}


def test_assessment_counts_a_fall_of_fifteen_points_in_full_and_half_of_it_half():
    full = risk.assessment_factor(recent_avg=D(70), earlier_avg=D(85), fails=0, basics=0, total=None,
                                  team_median=None)
    half = risk.assessment_factor(recent_avg=D("77.5"), earlier_avg=D(85), fails=0, basics=0, total=None,
                                  team_median=None)
    rising = risk.assessment_factor(recent_avg=D(90), earlier_avg=D(85), fails=0, basics=0, total=None,
                                    team_median=None)
    assert full.parts["falling"] == 1 and half.parts["falling"] == D("0.5") and rising.parts["falling"] == 0


def test_assessment_weak_grades_count_three_fails_or_six_basic_passes_in_full():
    assert risk.assessment_factor(recent_avg=None, earlier_avg=None, fails=3, basics=0, total=None,
                                  team_median=None).parts["weak_grades"] == 1
    assert risk.assessment_factor(recent_avg=None, earlier_avg=None, fails=0, basics=6, total=None,
                                  team_median=None).parts["weak_grades"] == 1
    assert risk.assessment_factor(recent_avg=None, earlier_avg=None, fails=1, basics=1, total=None,
                                  team_median=None).parts["weak_grades"] == D("0.5")


def test_assessment_below_the_branch_median_counts_in_full_twenty_points_below():
    at = risk.assessment_factor(recent_avg=None, earlier_avg=None, fails=0, basics=0, total=D(80),
                                team_median=D(80))
    below = risk.assessment_factor(recent_avg=None, earlier_avg=None, fails=0, basics=0, total=D(55),
                                   team_median=D(80))
    assert at.parts["below_team"] == 0 and below.parts["below_team"] == 1
    # The factor is the mean of its three parts.
    assert below.value == D("0.3333")


def test_incentive_net_pool_position_is_full_when_a_whole_tenth_was_withheld_and_nothing_came_back():
    lost = risk.incentive_factor(withheld=D(1000), received=D(0), bonus=D(10000), bonus_previous=D(0))
    even = risk.incentive_factor(withheld=D(1000), received=D(1000), bonus=D(10000), bonus_previous=D(0))
    gained = risk.incentive_factor(withheld=D(1000), received=D(3000), bonus=D(10000), bonus_previous=D(0))
    no_bonus = risk.incentive_factor(withheld=D(0), received=D(0), bonus=D(0), bonus_previous=D(0))
    assert lost.parts["net_pool"] == 1 and even.parts["net_pool"] == 0
    assert gained.parts["net_pool"] == 0 and no_bonus.value == 0


def test_incentive_bonus_falling_thirty_per_cent_year_on_year_counts_in_full():
    fell = risk.incentive_factor(withheld=D(0), received=D(0), bonus=D(7000), bonus_previous=D(10000))
    rose = risk.incentive_factor(withheld=D(0), received=D(0), bonus=D(12000), bonus_previous=D(10000))
    assert fell.parts["bonus_falling"] == 1 and rose.parts["bonus_falling"] == 0
    assert risk.incentive_factor(withheld=D(0), received=D(0), bonus=D("8500"),
                                 bonus_previous=D(10000)).parts["bonus_falling"] == D("0.5")


def test_career_months_at_the_norm_count_nothing_and_half_again_count_in_full():
    def overstay(months, norm=36):
        return risk.career_factor(months_at_level=months, norm_months=norm, waiting_months=0, days_overdue=0,
                                  open_goals=1, goal_passed=False).parts["overstay"]

    assert overstay(36) == 0 and overstay(45) == D("0.5") and overstay(54) == 1 and overstay(80) == 1
    assert overstay(None, None) == 0  # no level: no norm to stay beyond
    assert overstay(1, 0) == 1


def test_career_eligible_twelve_months_interview_ninety_days_overdue_and_no_goal_each_count_in_full():
    worst = risk.career_factor(months_at_level=60, norm_months=36, waiting_months=12, days_overdue=90,
                               open_goals=0, goal_passed=False)
    assert worst.value == 1
    best = risk.career_factor(months_at_level=10, norm_months=36, waiting_months=0, days_overdue=0,
                              open_goals=1, goal_passed=False)
    assert best.value == 0
    passed = risk.career_factor(months_at_level=10, norm_months=36, waiting_months=6, days_overdue=45,
                                open_goals=2, goal_passed=True)
    assert passed.parts == {"overstay": 0, "not_promoted": D("0.5"), "interview_overdue": D("0.5"),
                            "no_goal": D("0.5")}


def test_recognition_within_six_months_counts_nothing_and_twelve_months_or_none_in_full():
    assert risk.recognition_factor(months_since=0).value == 0
    assert risk.recognition_factor(months_since=6).value == 0
    assert risk.recognition_factor(months_since=9).value == D("0.5")
    assert risk.recognition_factor(months_since=12).value == 1
    assert risk.recognition_factor(months_since=None).value == 1


def test_pressure_needs_targets_raised_and_achievement_falling_together():
    def squeeze(rise, fall):
        return risk.pressure_factor(target_raise=rise, achievement_fall=fall, book_size=0, norm_book=150,
                                    complaint_count=0).parts["squeeze"]

    assert squeeze(D("0.20"), D("0.20")) == 1
    assert squeeze(D("0.40"), D(0)) == 0
    assert squeeze(D(0), D("0.50")) == 0
    assert squeeze(D("0.10"), D("0.40")) == D("0.5")
    assert squeeze(None, None) == 0


def test_pressure_book_at_the_norm_counts_nothing_half_again_in_full_and_three_complaints_in_full():
    def pressure(book, complaints=0):
        return risk.pressure_factor(target_raise=None, achievement_fall=None, book_size=book, norm_book=150,
                                    complaint_count=complaints)

    assert pressure(150).parts["book_overload"] == 0
    assert pressure(225).parts["book_overload"] == 1
    assert pressure(0, 3).parts["complaints"] == 1 and pressure(0, 1).parts["complaints"] == D("0.3333")


# --- score and bands ------------------------------------------------------------------------------

def test_score_is_the_weighted_sum_of_the_factors_rounded_to_the_cent():
    score, band, stored = risk.compose(factors(assessment="0.5", incentive="1", career="0.3333"), settings_with())
    # 25 × 0.5 + 20 × 1 + 25 × 0.3333 = 12.5 + 20 + 8.3325
    assert score == D("40.83") and band == RiskBand.MEDIUM
    assert stored["career"]["points"] == "8.33" and stored["incentive"]["weight"] == "20"


def test_all_factors_in_full_score_one_hundred():
    score, band, _stored = risk.compose(factors(**dict.fromkeys(risk.FACTORS, 1)), settings_with())
    assert score == D(100) and band == RiskBand.HIGH


@pytest.mark.parametrize(("score", "band"), [
    (D("39.99"), RiskBand.LOW), (D(40), RiskBand.MEDIUM), (D("69.99"), RiskBand.MEDIUM), (D(70), RiskBand.HIGH),
])
def test_bands_start_at_their_thresholds(score, band):
    assert risk.band_for(score, settings_with()) == band


def test_alert_triggers_on_entering_high_or_rising_by_the_threshold():
    s = settings_with()
    assert risk.alert_trigger(score=D(70), band="high", previous=None, settings=s) == "entered_high"
    assert risk.alert_trigger(score=D(75), band="high", previous=(D(65), "medium"), settings=s) == "entered_high"
    assert risk.alert_trigger(score=D(90), band="high", previous=(D(72), "high"), settings=s) == "rose"
    assert risk.alert_trigger(score=D(55), band="medium", previous=(D(40), "medium"), settings=s) == "rose"
    assert risk.alert_trigger(score=D("54.99"), band="medium", previous=(D(40), "medium"), settings=s) is None
    assert risk.alert_trigger(score=D(80), band="high", previous=(D(78), "high"), settings=s) is None


def test_suggested_action_follows_the_top_factor():
    _score, _band, stored = risk.compose(factors(pressure=1, career="0.5"), settings_with())
    assert risk.suggested_action(stored) == risk.Action.WORKLOAD_REBALANCE
    _score, _band, stored = risk.compose(factors(career=1, recognition="0.2"), settings_with())
    assert risk.suggested_action(stored) == risk.Action.CAREER_INTERVIEW
    _score, _band, stored = risk.compose(factors(recognition=1), settings_with())
    assert risk.suggested_action(stored) == risk.Action.RECOGNITION
    _score, _band, stored = risk.compose(factors(incentive=1), settings_with())
    assert risk.suggested_action(stored) == risk.Action.BACKUP_RM


# --- settings ---------------------------------------------------------------------------------

def new_settings(hr, **changes):
    values = {"weight_assessment": D(20), "weight_incentive": D(20), "weight_career": D(20),
              "weight_recognition": D(20), "weight_pressure": D(20), "medium_from": D(30), "high_from": D(60),
              "rise_alert": D(10)}
    return risk.risk_settings_update(by=hr.user, **{**values, **changes})


def test_hr_saves_weights_that_add_up_to_one_hundred(hr):
    saved = new_settings(hr)
    assert RiskSettings.objects.count() == 1 and saved.high_from == D(60)
    new_settings(hr, weight_career=D(30), weight_pressure=D(10))
    assert RiskSettings.objects.count() == 1 and risk.risk_settings_current().weight_career == D(30)


@pytest.mark.parametrize("changes", [
    {"weight_career": D(21)},
    {"weight_career": D(-5), "weight_pressure": D(45)},
    {"medium_from": D(60), "high_from": D(60)},
    {"high_from": D(101)},
    {"rise_alert": D(0)},
])
def test_settings_breaking_a_rule_are_refused(hr, changes):
    with pytest.raises(ApplicationError):
        new_settings(hr, **changes)
    assert not RiskSettings.objects.exists()


def test_only_hr_changes_the_settings(branch_manager):
    with pytest.raises(PermissionDenied):
        new_settings(branch_manager)


# --- the run on real records --------------------------------------------------------------------

@pytest.fixture
def monthly_appraisal(branch):
    scheme = Scheme.objects.create(code=f"S-{branch.code}", name="Scheme", branch=branch)

    def make(employee, period, total, grade, state=Appraisal.State.COMPUTED):
        return Appraisal.objects.create(employee=employee, scheme=scheme, branch=employee.branch, period=period,
                                        period_kind="month", state=state, total=D(total), grade=grade,
                                        computed_at=timezone.now())

    return make


def score_of(employee, month=MARCH) -> RiskScore:
    return RiskScore.objects.get(employee=employee, month=month)


def test_run_scores_the_rms_employed_at_the_months_end_only(rm, other_rm, branch, branch_manager):
    gone = EmployeeFactory(branch=branch, status=Employee.Status.LEFT, left_on=dt.date(2026, 2, 28))
    leaving = EmployeeFactory(branch=branch, status=Employee.Status.LEFT, left_on=dt.date(2026, 4, 15))
    newcomer = EmployeeFactory(branch=branch, hired_on=dt.date(2026, 4, 1))
    result = risk.risk_scores_compute(month="2026-03")
    scored = set(RiskScore.objects.values_list("employee_id", flat=True))
    assert scored == {rm.pk, other_rm.pk, leaving.pk} and result.scored == 3
    assert gone.pk not in scored and newcomer.pk not in scored and branch_manager.pk not in scored


def test_run_reads_each_factor_from_the_records(rm, other_rm, branch, monthly_appraisal, ladder):
    rm.level = ladder["assistant"]
    rm.save()
    for period, total, grade in (("2025-10", 88, "good"), ("2025-11", 86, "good"), ("2025-12", 85, "good"),
                                 ("2026-01", 65, "basic"), ("2026-02", 58, "fail"), ("2026-03", 55, "fail")):
        monthly_appraisal(rm, period, total, grade)
    monthly_appraisal(other_rm, "2026-03", 85, "good")
    Commendation.objects.create(employee=other_rm, title="Best RM", awarded_on=dt.date(2026, 2, 10))
    CareerGoal.objects.create(employee=other_rm, target_level=ladder["rm"], target_date=dt.date(2027, 1, 1),
                              created_on=dt.date(2025, 6, 1))
    CareerInterview.objects.create(employee=other_rm, scheduled_on=dt.date(2026, 1, 5), held_on=dt.date(2026, 1, 5),
                                   outcome="on_track")
    client = ClientFactory(branch=branch, rm=rm)
    for day in (dt.date(2026, 1, 10), dt.date(2026, 3, 31)):
        Complaint.objects.create(client=client, rm=rm, subject="Slow", opened_at=timezone.make_aware(
            dt.datetime.combine(day, dt.time(10))), due_at=timezone.make_aware(dt.datetime.combine(day, dt.time(18))))
    risk.risk_scores_compute(month="2026-03")

    mine, theirs = score_of(rm).factors, score_of(other_rm).factors
    # Mean 86.33 three months before, 59.33 now: a fall of 27 points; 2 fails and a basic; the
    # branch median of March is (55 + 85) / 2 = 70, 15 below it.
    assert mine["assessment"]["figures"]["recent_avg"] == "59.33"
    assert mine["assessment"]["parts"] == {"falling": "1.0000", "weak_grades": "0.8333", "below_team": "0.7500"}
    assert theirs["assessment"]["parts"]["below_team"] == "0.0000"
    # Hired 2020-01-01 at the assistant level (no history): 74 months against the norm of 36.
    assert mine["career"]["figures"]["months_at_level"] == 74 and mine["career"]["parts"]["overstay"] == "1.0000"
    assert mine["career"]["parts"]["no_goal"] == "1.0000" and theirs["career"]["parts"]["no_goal"] == "0.0000"
    # Interview due six months after hiring, long ago (90 days or more) / held in January: not due.
    assert mine["career"]["parts"]["interview_overdue"] == "1.0000"
    assert theirs["career"]["parts"]["interview_overdue"] == "0.0000"
    assert mine["recognition"]["value"] == "1.0000" and theirs["recognition"]["value"] == "0.0000"
    assert theirs["recognition"]["figures"]["last_recognition"] == "2026-02-10"
    assert mine["pressure"]["figures"]["complaint_count"] == 2 and mine["pressure"]["figures"]["book_size"] == 1
    assert score_of(rm).score > score_of(other_rm).score


def test_an_appraisal_still_missing_inputs_is_not_counted(rm, other_rm, monthly_appraisal):
    monthly_appraisal(rm, "2026-03", 0, "fail")
    Appraisal.objects.update(missing=[{"indicator": "dep", "missing": "target"}])
    monthly_appraisal(other_rm, "2026-03", 85, "good")
    risk.risk_scores_compute(month="2026-03")
    figures = score_of(rm).factors["assessment"]["figures"]
    assert (figures["fails"], figures["total"]) == (0, None)
    assert score_of(rm).factors["assessment"]["value"] == "0.0000"


def test_a_good_grade_counts_as_recognition_only_once_the_rm_was_shown_it(rm, monthly_appraisal):
    monthly_appraisal(rm, "2026-02", 92, "excellent", state=Appraisal.State.APPROVED)
    risk.risk_scores_compute(month="2026-03")
    assert score_of(rm).factors["recognition"]["value"] == "1.0000"
    Appraisal.objects.update(state=Appraisal.State.PUBLISHED)
    risk.risk_scores_compute(month="2026-03")
    assert score_of(rm).factors["recognition"]["figures"]["months_since"] == 1
    assert score_of(rm).factors["recognition"]["value"] == "0.0000"


def test_eligible_but_not_promoted_counts_the_months_waiting(eligible_rm):
    # eligible_rm meets the last requirement on 2026-06-30; six months on it is half counted.
    risk.risk_scores_compute(month="2026-12")
    score = score_of(eligible_rm, dt.date(2026, 12, 1))
    assert score.factors["career"]["figures"]["waiting_months"] == 6
    assert score.factors["career"]["parts"]["not_promoted"] == "0.5000"


def make_rms(branch, count, monthly_appraisal):
    for n in range(count):
        employee = EmployeeFactory(branch=branch)
        monthly_appraisal(employee, "2026-03", 60 + n, "basic")
        client = ClientFactory(branch=branch, rm=employee)
        Complaint.objects.create(client=client, rm=employee, subject="x", opened_at=timezone.now() - dt.timedelta(
            days=400), due_at=timezone.now())
        Commendation.objects.create(employee=employee, title="x", awarded_on=dt.date(2026, 1, 1))


def test_run_costs_the_same_queries_for_two_rms_as_for_eight(branch, monthly_appraisal):
    make_rms(branch, 2, monthly_appraisal)
    with CaptureQueriesContext(connection) as few:
        risk.risk_scores_compute(month="2026-03", branch_code=branch.code)
    make_rms(branch, 6, monthly_appraisal)
    RiskScore.objects.all().delete()
    with CaptureQueriesContext(connection) as many:
        risk.risk_scores_compute(month="2026-03", branch_code=branch.code)
    assert RiskScore.objects.count() == 8
    assert len(many.captured_queries) == len(few.captured_queries) <= 25


def test_running_twice_stores_the_same_scores_and_alerts_once(rm, other_rm, monthly_appraisal):
    only("career", medium_from=D(20), high_from=D(50))
    risk.risk_scores_compute(month="2026-03")
    first = list(RiskScore.objects.order_by("pk").values_list("pk", "employee_id", "score", "band", "factors"))
    alerts = list(RiskAlert.objects.values_list("pk", "employee_id", "trigger", "status"))
    again = risk.risk_scores_compute(month="2026-03")
    assert list(RiskScore.objects.order_by("pk").values_list("pk", "employee_id", "score", "band", "factors")) == first
    assert list(RiskAlert.objects.values_list("pk", "employee_id", "trigger", "status")) == alerts
    assert len(alerts) == 2 and again.alert_ids == []


def test_an_rm_no_longer_employed_that_month_loses_the_score_of_a_rerun(rm, other_rm):
    risk.risk_scores_compute(month="2026-03")
    Employee.objects.filter(pk=other_rm.pk).update(status=Employee.Status.LEFT, left_on=dt.date(2026, 3, 1))
    result = risk.risk_scores_compute(month="2026-03")
    assert result.removed == 1 and list(RiskScore.objects.values_list("employee_id", flat=True)) == [rm.pk]


# --- alerts ------------------------------------------------------------------------------------

@pytest.fixture
def high_world(rm, other_rm, branch):
    """Thresholds low enough that rm, without goal or recent interview, is high in March."""
    only("career", medium_from=D(20), high_from=D(40), rise_alert=D(15))
    return rm


def test_first_high_score_opens_an_entered_high_alert(high_world, rm):
    result = risk.risk_scores_compute(month="2026-03")
    alert = RiskAlert.objects.get(employee=rm)
    assert alert.trigger == RiskAlert.Trigger.ENTERED_HIGH and alert.status == RiskAlert.Status.OPEN
    assert alert.previous_score is None and alert.score == score_of(rm)
    assert alert.suggested_action == risk.Action.CAREER_INTERVIEW
    assert alert.pk in result.alert_ids and alert.history.count() == 1


def test_a_second_trigger_while_an_alert_is_open_changes_nothing(high_world, rm):
    risk.risk_scores_compute(month="2026-03")
    alert = RiskAlert.objects.get(employee=rm)
    RiskScore.objects.filter(employee=rm).update(band=RiskBand.LOW, score=D(0))  # so April "enters" high again
    risk.risk_scores_compute(month="2026-04")
    assert RiskAlert.objects.filter(employee=rm).count() == 1
    assert RiskAlert.objects.get(employee=rm).score_id == alert.score_id


def test_after_resolving_a_new_trigger_opens_a_new_alert(high_world, rm, hr):
    risk.risk_scores_compute(month="2026-03")
    risk.risk_alert_resolve(alert=RiskAlert.objects.get(employee=rm), note="Talked it through", by=hr.user)
    RiskScore.objects.filter(employee=rm).update(band=RiskBand.LOW, score=D(0))
    risk.risk_scores_compute(month="2026-04")
    assert RiskAlert.objects.filter(employee=rm).count() == 2
    assert RiskAlert.objects.filter(employee=rm).exclude(status="resolved").get().score.month == dt.date(2026, 4, 1)


def test_a_rise_by_the_threshold_opens_a_rose_alert(rm, other_rm):
    only("career", medium_from=D(60), high_from=D(90), rise_alert=D(15))
    RiskScore.objects.create(employee=rm, month=dt.date(2026, 2, 1), score=D(30), band=RiskBand.LOW)
    risk.risk_scores_compute(month="2026-03")
    alert = RiskAlert.objects.get(employee=rm)
    assert alert.trigger == RiskAlert.Trigger.ROSE and alert.previous_score == D(30)
    assert score_of(rm).score == D(50)


def test_the_database_allows_one_unresolved_alert_per_rm(rm):
    score = RiskScore.objects.create(employee=rm, month=MARCH, score=D(80), band=RiskBand.HIGH)
    RiskAlert.objects.create(employee=rm, score=score, trigger="entered_high")
    with pytest.raises(IntegrityError), transaction.atomic():
        RiskAlert.objects.create(employee=rm, score=score, trigger="rose", status="acknowledged")


@pytest.fixture
def alert(rm):
    score = RiskScore.objects.create(employee=rm, month=MARCH, score=D(80), band=RiskBand.HIGH,
                                     factors=risk.compose(factors(career=1), settings_with())[2])
    return RiskAlert.objects.create(employee=rm, score=score, trigger="entered_high",
                                    suggested_action=risk.Action.CAREER_INTERVIEW)


def test_acknowledge_then_resolve_with_a_note(alert, branch_manager):
    risk.risk_alert_acknowledge(alert=alert, by=branch_manager.user)
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_at and alert.handled_by == branch_manager.user
    with pytest.raises(ApplicationError):
        risk.risk_alert_acknowledge(alert=alert, by=branch_manager.user)
    with pytest.raises(ApplicationError):
        risk.risk_alert_resolve(alert=alert, note="   ", by=branch_manager.user)
    risk.risk_alert_resolve(alert=alert, note="Career interview held; goal set", by=branch_manager.user)
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.action_note == "Career interview held; goal set"
    assert [h.history_change_reason for h in alert.history.order_by("history_id")][1:] == ["acknowledged", "resolved"]
    with pytest.raises(ApplicationError):
        risk.risk_alert_snooze(alert=alert, until=timezone.localdate() + dt.timedelta(days=3), by=branch_manager.user)


def test_snooze_needs_a_later_day_and_ends_on_it(alert, hr):
    today = timezone.localdate()
    with pytest.raises(ApplicationError):
        risk.risk_alert_snooze(alert=alert, until=today, by=hr.user)
    with pytest.raises(ApplicationError):
        risk.risk_alert_snooze(alert=alert, until=None, by=hr.user)
    risk.risk_alert_snooze(alert=alert, until=today + dt.timedelta(days=7), by=hr.user)
    alert.refresh_from_db()
    assert alert.status == "snoozed"
    assert risk.risk_alerts_wake(today=today + dt.timedelta(days=6)) == 0
    assert risk.risk_alerts_wake(today=today + dt.timedelta(days=7)) == 1
    alert.refresh_from_db()
    assert alert.status == "open" and alert.snoozed_until is None


def test_only_managers_of_the_rms_branch_and_hr_handle_an_alert(alert, rm, other_branch):
    far = EmployeeFactory(branch=other_branch, role=Role.BRANCH_MANAGER)
    for user in (rm.user, far.user):
        with pytest.raises(PermissionDenied):
            risk.risk_alert_acknowledge(alert=alert, by=user)
    alert.refresh_from_db()
    assert alert.status == "open"


# --- book at risk and e-mails ---------------------------------------------------------------------

@pytest.fixture
def book(rm, branch):
    affluent = ClientFactory(branch=branch, rm=rm, segment=Client.Segment.AFFLUENT)
    private = ClientFactory(branch=branch, rm=rm, segment=Client.Segment.PRIVATE)
    for month, amount in ((dt.date(2025, 3, 1), D(1000)), (dt.date(2025, 4, 1), D(100)), (dt.date(2026, 3, 1), D(50))):
        ClientContribution.objects.create(client=affluent, branch=branch, month=month, loan_profit=amount,
                                          deposit_profit=D(1), loan_revenue=D(9999))
    MonthlyBusiness.objects.create(client=affluent, month=dt.date(2026, 2, 1), deposit_avg_balance=D(1))
    MonthlyBusiness.objects.create(client=affluent, month=dt.date(2026, 3, 1), deposit_avg_balance=D(300000),
                                   wm_sales=D(20000))
    MonthlyBusiness.objects.create(client=private, month=dt.date(2026, 3, 1), deposit_avg_balance=D(2000000))
    return affluent, private


def test_book_at_risk_counts_the_rms_clients_twelve_month_profit_and_latest_aum(book, rm, other_rm):
    affluent, _private = book
    ClientFactory(branch=rm.branch, rm=other_rm)
    books = risk.book_at_risk([rm.pk])
    mine = books[rm.pk]
    assert mine.month == dt.date(2026, 3, 1) and mine.client_count == 2
    # April 2025 … March 2026: 101 + 51 (profit components), not March 2025 nor the revenue.
    assert mine.contribution_12m == D("152.00")
    assert mine.aum == D("2320000.00")
    assert (mine.affluent, mine.private) == (1, 1)


def test_new_alerts_are_mailed_to_the_branch_manager_and_hr_with_factors_and_book(book, alert, rm, branch):
    manager = EmployeeFactory(branch=branch, role=Role.BRANCH_MANAGER, email="bm@bank.test")
    EmployeeFactory(branch=branch, role=Role.HR, email="hr@bank.test")
    EmployeeFactory(branch=BranchFactory(), role=Role.BRANCH_MANAGER, email="far@bank.test")
    RiskScore.objects.create(employee=rm, month=dt.date(2026, 2, 1), score=D(40), band=RiskBand.MEDIUM,
                             factors=risk.compose(factors(career="0.4"), settings_with())[2])
    assert risk_alert_notices_send(alert_ids=[alert.pk]) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["bm@bank.test", "hr@bank.test"] and manager.email in message.to
    assert rm.name in message.subject and "80.00" in message.subject
    body = message.body
    assert "Career stagnation: 25.00 / 25" in body and "(+15.00)" in body
    assert "Hold a career interview" in body
    assert "2320000" in body.replace(",", "") and "Private banking: 1" in body



def test_an_alert_is_mailed_once_and_a_retry_sends_what_a_dead_run_left(book, alert, rm, branch):
    EmployeeFactory(branch=branch, role=Role.BRANCH_MANAGER, email="bm@bank.test")
    assert risk_alert_notices_send(branch_code=branch.code) == 1
    alert.refresh_from_db()
    assert alert.notified_at is not None
    # The retry of the same branch finds nothing left to send.
    assert risk_alert_notices_send(branch_code=branch.code) == 0
    assert risk_alert_notices_send(alert_ids=[alert.pk]) == 0
    assert len(mail.outbox) == 1


def test_an_alert_of_another_branch_is_not_mailed_by_this_branchs_run(book, alert, rm, branch):
    EmployeeFactory(branch=branch, role=Role.BRANCH_MANAGER, email="bm@bank.test")
    assert risk_alert_notices_send(branch_code=BranchFactory().code) == 0
    alert.refresh_from_db()
    assert alert.notified_at is None and mail.outbox == []

# --- backtest -------------------------------------------------------------------------------------

def test_backtest_ranks_the_leavers_of_the_next_six_months(branch, hr):
    today = dt.date(2026, 12, 31)
    people = [EmployeeFactory(branch=branch) for _ in range(10)]
    scores = [90, 80, 70, 60, 50, 40, 30, 20, 10, 5]
    for employee, score in zip(people, scores):
        RiskScore.objects.create(employee=employee, month=dt.date(2026, 1, 1), score=D(score), band="low")
    # The top scorer leaves in April, the fourth in June (within six months of 31 January); the
    # last leaves in September, outside the window.
    Employee.objects.filter(pk=people[0].pk).update(status="left", left_on=dt.date(2026, 4, 30))
    Exit.objects.create(employee=people[3], exit_on=dt.date(2026, 6, 30), reason="recognition")
    Employee.objects.filter(pk=people[9].pk).update(status="left", left_on=dt.date(2026, 9, 1))
    result = risk.risk_backtest(hr.user, today=today)
    row = result["rows"][0]
    assert (row.scored, row.left, row.complete) == (10, 2, True)
    # Leavers ranked 1st and 4th of 10: of the 16 leaver–stayer pairs the leaver is above in 8 + 6.
    assert row.auc == D("0.8750")
    assert (row.top_count, row.top_left, row.precision_top) == (1, 1, D(1))
    assert result["total"].auc == D("0.8750")


def test_backtest_without_leavers_has_no_auc_and_is_hr_only(rm, branch_manager):
    RiskScore.objects.create(employee=rm, month=MARCH, score=D(50), band="medium")
    hr_user = User.objects.create(username="root", is_superuser=True)
    row = risk.risk_backtest(hr_user, today=dt.date(2026, 5, 1))["rows"][0]
    assert row.auc is None and row.complete is False
    with pytest.raises(PermissionDenied):
        risk.risk_backtest(branch_manager.user)


# --- the command -----------------------------------------------------------------------------------

def test_score_retention_command_scores_a_month_for_one_branch(rm, other_branch, capsys):
    elsewhere = EmployeeFactory(branch=other_branch)
    call_command("score_retention", "--month", "2026-03", "--branch", rm.branch.code)
    assert list(RiskScore.objects.values_list("employee_id", flat=True)) == [rm.pk]
    assert "2026-03 B01: 1 scored" in capsys.readouterr().out
    call_command("score_retention", "--month", "2026-03")
    assert set(RiskScore.objects.values_list("employee_id", flat=True)) == {rm.pk, elsewhere.pk}


def test_score_retention_command_refuses_a_period_that_is_not_a_month(rm):
    with pytest.raises(CommandError):
        call_command("score_retention", "--month", "2026-Q1")
