"""The appraisal workflow, each step by its role only (DOMAIN 3.3)."""
import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from clients.models import Role
from performance.appraisals import appraisal_run
from performance.models import Appraisal, BonusStatement, Budget
from performance.workflow import (appraisal_acknowledge, appraisal_appeal, appraisal_approve, appraisal_publish,
                                  appraisal_reopen, appraisal_review, appraisal_score_manual, appraisal_submit,
                                  appraisal_transitions, period_approval_waiting, period_approve)
from tests.api_mixins import make_read_only
from rmportal.errors import ApplicationError
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def appraisal(scheme, rm, branch, monthly):
    """rm's quarterly appraisal with its target set; only the manual 'local' score is missing."""
    client = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2025, 1, 1))
    monthly(client, "2026-03", deposit_avg_balance=50000, fund_sales=300000)
    from performance.models import Target
    Target.objects.create(employee=rm, indicator=scheme.indicators.get(code="dep"), period="2026-Q1", value=D(10000))
    appraisal_run(period="2026-Q1")
    return Appraisal.objects.get(employee=rm, period="2026-Q1")


def test_manual_score_completes_the_appraisal(appraisal, branch_manager):
    assert appraisal.missing[0]["indicator"] == "local"
    appraisal_score_manual(appraisal=appraisal, indicator_code="local", score="7.5", by=branch_manager.user)
    appraisal.refresh_from_db()
    assert appraisal.missing == []
    line = appraisal.lines.get(indicator__code="local")
    assert line.manual_score == D("7.5") and line.points.quantize(D("0.0001")) == (D("7.5") * 100 / 70).quantize(D("0.0001"))
    last = appraisal.history.first()
    assert last.history_user == branch_manager.user


def test_manual_score_above_weight_is_refused(appraisal, branch_manager):
    with pytest.raises(ApplicationError):
        appraisal_score_manual(appraisal=appraisal, indicator_code="local", score="10.01", by=branch_manager.user)


def test_submission_names_what_is_missing(appraisal, branch_manager):
    with pytest.raises(ApplicationError, match="local"):
        appraisal_submit(appraisal=appraisal, by=branch_manager.user)
    appraisal.refresh_from_db()
    assert appraisal.state == "computed"


def walk_to(appraisal, state, bm, reviewer, hr):
    appraisal_score_manual(appraisal=appraisal, indicator_code="local", score=5, by=bm.user)
    steps = [
        ("submitted", lambda: appraisal_submit(appraisal=appraisal, by=bm.user)),
        ("reviewed", lambda: appraisal_review(appraisal=appraisal, by=reviewer.user, approve=True)),
        ("approved", lambda: appraisal_approve(appraisal=appraisal, by=hr.user)),
        ("published", lambda: appraisal_publish(appraisal=appraisal, by=hr.user)),
    ]
    for name, step in steps:
        step()
        if name == state:
            break
    appraisal.refresh_from_db()
    return appraisal


def test_the_whole_way_to_acknowledged(appraisal, rm, branch_manager, reviewer, hr):
    walk_to(appraisal, "published", branch_manager, reviewer, hr)
    assert appraisal.state == "published" and appraisal.published_at
    appraisal_acknowledge(appraisal=appraisal, by=rm.user)
    appraisal.refresh_from_db()
    assert appraisal.state == "acknowledged"
    states = [h.state for h in appraisal.history.order_by("history_id")]
    assert states[-5:] == ["submitted", "reviewed", "approved", "published", "acknowledged"]


@pytest.mark.parametrize("role", [Role.RM, Role.DEPARTMENT_HEAD, Role.REVIEWER, Role.HR])
def test_only_the_branch_manager_submits(appraisal, branch, branch_manager, role):
    appraisal_score_manual(appraisal=appraisal, indicator_code="local", score=5, by=branch_manager.user)
    with pytest.raises(PermissionDenied):
        appraisal_submit(appraisal=appraisal, by=EmployeeFactory(branch=branch, role=role).user)


def test_branch_manager_of_another_branch_cannot_score(appraisal, other_branch):
    with pytest.raises(PermissionDenied):
        appraisal_score_manual(appraisal=appraisal, indicator_code="local", score=5,
                               by=EmployeeFactory(branch=other_branch, role=Role.BRANCH_MANAGER).user)


@pytest.mark.parametrize("role", [Role.RM, Role.BRANCH_MANAGER, Role.HR])
def test_only_the_reviewer_reviews(appraisal, branch, branch_manager, reviewer, hr, role):
    walk_to(appraisal, "submitted", branch_manager, reviewer, hr)
    with pytest.raises(PermissionDenied):
        appraisal_review(appraisal=appraisal, by=EmployeeFactory(branch=branch, role=role).user, approve=True)


def test_reviewer_of_another_region_cannot_review(appraisal, other_branch, branch_manager, reviewer, hr):
    walk_to(appraisal, "submitted", branch_manager, reviewer, hr)
    with pytest.raises(PermissionDenied):
        appraisal_review(appraisal=appraisal, by=EmployeeFactory(branch=other_branch, role=Role.REVIEWER).user,
                         approve=True)


def test_sending_back_needs_a_comment_and_returns_to_the_branch(appraisal, branch_manager, reviewer, hr):
    walk_to(appraisal, "submitted", branch_manager, reviewer, hr)
    with pytest.raises(ApplicationError):
        appraisal_review(appraisal=appraisal, by=reviewer.user, approve=False)
    appraisal_review(appraisal=appraisal, by=reviewer.user, approve=False, comment="check the fund figure")
    appraisal.refresh_from_db()
    assert appraisal.state == "computed" and appraisal.comment == "check the fund figure"


@pytest.mark.parametrize("role", [Role.RM, Role.BRANCH_MANAGER, Role.REVIEWER])
def test_only_hr_approves_and_publishes(appraisal, branch, branch_manager, reviewer, hr, role):
    walk_to(appraisal, "reviewed", branch_manager, reviewer, hr)
    someone = EmployeeFactory(branch=branch, role=role).user
    with pytest.raises(PermissionDenied):
        appraisal_approve(appraisal=appraisal, by=someone)
    appraisal_approve(appraisal=appraisal, by=hr.user)
    with pytest.raises(PermissionDenied):
        appraisal_publish(appraisal=appraisal, by=someone)


def test_rm_does_not_see_the_appraisal_before_publication(appraisal, rm, branch_manager, reviewer, hr):
    walk_to(appraisal, "approved", branch_manager, reviewer, hr)
    assert not Appraisal.objects.restrict(rm.user).exists()
    appraisal_publish(appraisal=appraisal, by=hr.user)
    assert list(Appraisal.objects.restrict(rm.user)) == [appraisal]


def test_another_rm_cannot_acknowledge_or_appeal(appraisal, other_rm, branch_manager, reviewer, hr):
    walk_to(appraisal, "published", branch_manager, reviewer, hr)
    with pytest.raises(PermissionDenied):
        appraisal_acknowledge(appraisal=appraisal, by=other_rm.user)
    with pytest.raises(PermissionDenied):
        appraisal_appeal(appraisal=appraisal, by=other_rm.user, comment="not mine")


def test_appeal_within_7_days_returns_it_for_review(appraisal, rm, branch_manager, reviewer, hr):
    walk_to(appraisal, "published", branch_manager, reviewer, hr)
    appraisal_appeal(appraisal=appraisal, by=rm.user, comment="the March fund sale is missing")
    appraisal.refresh_from_db()
    assert appraisal.state == "submitted" and appraisal.appealed


def test_appeal_after_7_days_is_refused(appraisal, rm, branch_manager, reviewer, hr):
    walk_to(appraisal, "published", branch_manager, reviewer, hr)
    Appraisal.objects.filter(pk=appraisal.pk).update(published_at=timezone.now() - dt.timedelta(days=7, seconds=1))
    with pytest.raises(ApplicationError, match="7 days"):
        appraisal_appeal(appraisal=appraisal, by=rm.user, comment="late")


def test_reopening_an_approved_appraisal_needs_a_reason(appraisal, branch_manager, reviewer, hr):
    walk_to(appraisal, "approved", branch_manager, reviewer, hr)
    with pytest.raises(ApplicationError):
        appraisal_reopen(appraisal=appraisal, by=hr.user, reason="")
    appraisal_reopen(appraisal=appraisal, by=hr.user, reason="late loan data for March")
    appraisal.refresh_from_db()
    assert appraisal.state == "computed"
    assert "late loan data" in appraisal.history.first().history_change_reason


def test_period_approval_computes_the_bonus(appraisal, branch, branch_manager, reviewer, hr):
    walk_to(appraisal, "reviewed", branch_manager, reviewer, hr)
    Budget.objects.create(branch=branch, period="2026-Q1", amount=D("30000"))
    assert period_approve(branch=branch, period="2026-Q1", by=hr.user) == 1
    statement = BonusStatement.objects.get(appraisal=appraisal)
    assert statement.bonus == D("30000.00") and statement.withheld == D("3000.00")


def open_steps(user, appraisal, **kwargs):
    return {step for step, is_open in appraisal_transitions(user, appraisal, **kwargs).items() if is_open}


def test_each_state_opens_its_steps_to_its_role_only(appraisal, rm, branch_manager, department_head, reviewer, hr):
    everyone = (rm, branch_manager, department_head, reviewer, hr)
    appraisal_score_manual(appraisal=appraisal, indicator_code="local", score=5, by=branch_manager.user)
    walk = [
        ("computed", {branch_manager: {"score", "submit"}},
         lambda: appraisal_submit(appraisal=appraisal, by=branch_manager.user)),
        ("submitted", {reviewer: {"review"}},
         lambda: appraisal_review(appraisal=appraisal, by=reviewer.user, approve=True)),
        ("reviewed", {hr: {"approve"}}, lambda: appraisal_approve(appraisal=appraisal, by=hr.user)),
        ("approved", {hr: {"publish", "reopen"}}, lambda: appraisal_publish(appraisal=appraisal, by=hr.user)),
        ("published", {hr: {"reopen"}, rm: {"acknowledge", "appeal"}}, lambda: None),
    ]
    for state, steps, next_step in walk:
        appraisal.refresh_from_db()
        assert appraisal.state == state
        for person in everyone:
            assert open_steps(person.user, appraisal) == steps.get(person, set()), (state, person.role)
        next_step()
    appraisal_acknowledge(appraisal=appraisal, by=rm.user)
    appraisal.refresh_from_db()
    assert open_steps(hr.user, appraisal) == {"reopen"}
    assert open_steps(rm.user, appraisal) == set()


def test_a_manual_score_is_offered_only_with_a_manual_indicator(appraisal, branch_manager):
    lines = list(appraisal.lines.select_related("indicator"))
    assert "score" in open_steps(branch_manager.user, appraisal, lines=lines)
    automatic = [line for line in lines if line.indicator.method != "manual"]
    assert "score" not in open_steps(branch_manager.user, appraisal, lines=automatic)


def test_the_appeal_closes_after_seven_days_and_acknowledging_stays_open(appraisal, rm, branch_manager, reviewer, hr):
    walk_to(appraisal, "published", branch_manager, reviewer, hr)
    later = appraisal.published_at + dt.timedelta(days=7, seconds=1)
    assert open_steps(rm.user, appraisal, now=later) == {"acknowledge"}


def test_another_rm_is_offered_nothing_on_an_appraisal_not_theirs(appraisal, other_rm, branch_manager, reviewer, hr):
    walk_to(appraisal, "published", branch_manager, reviewer, hr)
    assert open_steps(other_rm.user, appraisal) == set()


def test_a_read_only_account_is_offered_no_step(appraisal, branch_manager):
    make_read_only(branch_manager.user)
    assert open_steps(branch_manager.user, appraisal) == set()


def test_appraisals_not_yet_reviewed_block_the_period_approval(appraisal, branch, branch_manager, reviewer, hr):
    appraisals = Appraisal.objects.filter(branch=branch, period="2026-Q1")
    assert period_approval_waiting(appraisals) == {(branch.pk, "2026-Q1"): 1}
    with pytest.raises(ApplicationError, match="not reviewed yet"):
        period_approve(branch=branch, period="2026-Q1", by=hr.user)
    walk_to(appraisal, "reviewed", branch_manager, reviewer, hr)
    assert period_approval_waiting(appraisals) == {}
    assert period_approve(branch=branch, period="2026-Q1", by=hr.user) == 1
