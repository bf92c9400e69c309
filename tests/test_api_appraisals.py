"""Appraisals through the API: the workflow steps as actions by the roles that may take them, and
the "as of" guarantee: approved and published figures never change unless reopened (DOMAIN 3.3)."""
import datetime as dt
from decimal import Decimal

import pytest

from clients.models import Role
from performance.appraisals import appraisal_run
from tests.api_mixins import PERIOD, api_client_for, book_client, make_read_only, quarterly_appraisal, store_month
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(branch, rm):
    return book_client(branch, rm)


@pytest.fixture
def appraisal(book, rm):
    """rm's quarterly appraisal: every target set, only the manual 'local' score missing."""
    return quarterly_appraisal(rm)


def url(appraisal, step=None):
    return f"/api/v1/appraisals/{appraisal.pk}/" + (f"{step}/" if step else "")


def post(employee, appraisal, step, body=None):
    return api_client_for(employee.user).post(url(appraisal, step), body or {}, format="json")


def walk(appraisal, to, *, branch_manager, reviewer, hr, rm=None):
    steps = [(branch_manager, "score", {"indicator": "local", "score": "7.50"}), (branch_manager, "submit", None),
             (reviewer, "review", {"approve": True}), (hr, "approve", {"approve": True}), (hr, "publish", None),
             (rm, "acknowledge", None)]
    for employee, step, body in steps:
        response = post(employee, appraisal, step, body)
        assert response.status_code == 200, (step, response.content)
        if step == to:
            return response.json()
    raise AssertionError(to)


def test_branch_manager_enters_a_manual_score(appraisal, branch_manager):
    before = appraisal.total
    response = post(branch_manager, appraisal, "score", {"indicator": "local", "score": "7.50", "reason": "Q1"})
    assert response.status_code == 200, response.content
    body = response.json()
    line = next(line for line in body["lines"] if line["indicator"] == "local")
    assert line["manual_score"] == "7.50"
    assert body["missing"] == [] and Decimal(body["total"]) > before
    assert body["history"][-1]["by"] == branch_manager.employee_no


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.HR, Role.DEPARTMENT_HEAD])
def test_a_role_that_sees_the_appraisal_but_may_not_score_gets_403(appraisal, branch, role):
    someone = EmployeeFactory(branch=branch, role=role)
    response = post(someone, appraisal, "score", {"indicator": "local", "score": "5"})
    assert response.status_code == 403
    assert set(response.json()) == {"detail", "errors"}
    appraisal.refresh_from_db()
    assert appraisal.missing  # nothing entered


def test_out_of_scope_is_404_before_anything_else(appraisal, rm, other_branch):
    far_manager = EmployeeFactory(branch=other_branch, role=Role.BRANCH_MANAGER)
    assert post(far_manager, appraisal, "score", {"indicator": "local", "score": "5"}).status_code == 404
    # The RM does not see a computed appraisal at all.
    assert post(rm, appraisal, "acknowledge").status_code == 404
    assert api_client_for(rm.user).get(url(appraisal)).status_code == 404


@pytest.mark.parametrize("body", [{"indicator": "local", "score": "10.01"}, {"indicator": "dep", "score": "5"},
                                  {"indicator": "local"}, {"indicator": "local", "score": "abc"}])
def test_a_broken_rule_or_bad_input_is_400(appraisal, branch_manager, body):
    response = post(branch_manager, appraisal, "score", body)
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "errors"}


def test_submission_with_missing_input_is_400_naming_it(appraisal, branch_manager):
    response = post(branch_manager, appraisal, "submit")
    assert response.status_code == 400
    assert "local" in response.json()["detail"]


def test_the_whole_way_through_the_api(appraisal, rm, branch_manager, reviewer, hr):
    body = walk(appraisal, "acknowledge", branch_manager=branch_manager, reviewer=reviewer, hr=hr, rm=rm)
    assert body["state"] == "acknowledged"
    states = [entry["state"] for entry in body["history"]]
    assert states[-5:] == ["submitted", "reviewed", "approved", "published", "acknowledged"]
    assert [entry["by"] for entry in body["history"][-5:]] == [
        branch_manager.employee_no, reviewer.employee_no, hr.employee_no, hr.employee_no, rm.employee_no]


def test_sending_back_without_a_comment_is_400(appraisal, branch_manager, reviewer, hr):
    walk(appraisal, "submit", branch_manager=branch_manager, reviewer=reviewer, hr=hr)
    assert post(reviewer, appraisal, "review", {}).status_code == 400  # the decision is never assumed
    assert post(reviewer, appraisal, "review", {"approve": False}).status_code == 400
    response = post(reviewer, appraisal, "review", {"approve": False, "comment": "check the fund figure"})
    assert response.status_code == 200
    assert response.json()["state"] == "computed"


def test_an_rm_appeals_and_then_no_longer_sees_it(appraisal, rm, branch_manager, reviewer, hr):
    walk(appraisal, "publish", branch_manager=branch_manager, reviewer=reviewer, hr=hr)
    assert post(rm, appraisal, "appeal", {}).status_code == 400  # says nothing
    response = post(rm, appraisal, "appeal", {"comment": "the March fund sale is missing"})
    assert response.status_code == 200
    assert response.json()["state"] == "submitted" and response.json()["appealed"] is True
    assert api_client_for(rm.user).get(url(appraisal)).status_code == 404


def test_another_rm_cannot_respond(appraisal, other_rm, branch_manager, reviewer, hr):
    walk(appraisal, "publish", branch_manager=branch_manager, reviewer=reviewer, hr=hr)
    # The colleague does not see it; a branch manager sees it but may not respond.
    assert post(other_rm, appraisal, "acknowledge").status_code == 404
    assert post(branch_manager, appraisal, "acknowledge").status_code == 403


def test_a_read_only_account_takes_no_step(appraisal, branch_manager, reviewer, hr):
    walk(appraisal, "approve", branch_manager=branch_manager, reviewer=reviewer, hr=hr)
    make_read_only(hr.user)
    assert post(hr, appraisal, "publish").status_code == 403
    appraisal.refresh_from_db()
    assert appraisal.state == "approved"


def test_an_approved_appraisal_answers_the_same_numbers_whatever_data_arrives(
        appraisal, book, branch_manager, reviewer, hr):
    walk(appraisal, "approve", branch_manager=branch_manager, reviewer=reviewer, hr=hr)
    api = api_client_for(hr.user)
    first = api.get(url(appraisal)).json()
    # Late data for the quarter would raise the fund score, and the run is repeated.
    store_month(book, dt.date(2026, 2, 1), fund_sales=250000)
    appraisal_run(period=PERIOD, reason="late data")
    again = api.get(url(appraisal)).json()
    assert (again["total"], again["grade"], again["lines"]) == (first["total"], first["grade"], first["lines"])
    listed = api.get("/api/v1/appraisals/", {"period": PERIOD}).json()["results"]
    assert [(a["total"], a["lines"]) for a in listed] == [(first["total"], first["lines"])]

    # Reopened with a reason, it is computed again; its history keeps the approved figures.
    response = post(hr, appraisal, "reopen", {"reason": "late fund data for February"})
    assert response.status_code == 200
    appraisal_run(period=PERIOD, reason="recomputed after reopening")
    reopened = api.get(url(appraisal)).json()
    assert reopened["state"] == "computed"
    fund = {line["indicator"]: line["points"] for line in reopened["lines"]}["fund"]
    assert fund != {line["indicator"]: line["points"] for line in first["lines"]}["fund"]
    approved = [entry for entry in reopened["history"] if entry["state"] == "approved"]
    assert approved and approved[-1]["total"] == first["total"]
    assert any("late fund data" in entry["reason"] for entry in reopened["history"])


def test_appraisals_filter_by_period_grade_state_and_employee(appraisal, rm, hr):
    api = api_client_for(hr.user)

    def ids(**params):
        return [a["id"] for a in api.get("/api/v1/appraisals/", params).json()["results"]]

    assert ids(period=PERIOD) == [appraisal.pk]
    assert ids(period="2026-Q2") == []
    assert ids(state="computed", employee=rm.employee_no) == [appraisal.pk]
    assert ids(state="approved") == []
    assert ids(grade=appraisal.grade) == [appraisal.pk]
    response = api.get("/api/v1/appraisals/", {"state": "nonsense"})
    assert response.status_code == 400 and "state" in response.json()["errors"]
