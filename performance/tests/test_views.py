"""Performance pages: who may open what (DOMAIN 1), every workflow step through the pages by its
role only (DOMAIN 3.3), exports holding only what the user may see, and query counts."""
import csv
import datetime as dt
import io
import json
from decimal import Decimal as D

import openpyxl
import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from clients.models import Role
from performance.appraisals import appraisal_run
from performance.bonus import pool_allocate
from performance.filtersets import AppraisalFilterSet
from performance.models import Appraisal, AppraisalLine, BonusStatement, Budget, ScheduledRun, Scheme, Target
from performance.views import calibration_reason
from performance.workflow import (appraisal_approve, appraisal_publish, appraisal_review, appraisal_score_manual,
                                  appraisal_submit)
from rmportal import dashboard_cache
from tests.factories import ClientFactory, EmployeeFactory, UserFactory

pytestmark = pytest.mark.django_db

PERIOD = "2026-Q1"


@pytest.fixture
def appraisal(scheme, rm, branch, monthly):
    """rm's quarterly appraisal with its target set; only the manual 'local' score is missing."""
    client = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2025, 1, 1))
    monthly(client, "2026-03", deposit_avg_balance=50000, fund_sales=300000)
    Target.objects.create(employee=rm, indicator=scheme.indicators.get(code="dep"), period=PERIOD, value=D(10000))
    appraisal_run(period=PERIOD)
    return Appraisal.objects.get(employee=rm, period=PERIOD)


@pytest.fixture
def elsewhere(scheme, sister_branch, other_branch):
    """One computed appraisal in a sister branch (same region) and one in another region."""
    made = {}
    for key, branch in (("sister", sister_branch), ("far", other_branch)):
        employee = EmployeeFactory(employee_no=f"RM-{key.upper()}", branch=branch, role=Role.RM)
        made[key] = Appraisal.objects.create(employee=employee, scheme=scheme, branch=branch, period=PERIOD,
                                             period_kind="quarter", total=D("75.00"), grade="pass",
                                             computed_at=timezone.now())
    return made


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


@pytest.fixture
def walk(appraisal, branch_manager, reviewer, hr):
    return lambda state: walk_to(appraisal, state, branch_manager, reviewer, hr)


def list_url(**params):
    url = reverse("performance:appraisal-list")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def detail_url(appraisal):
    return reverse("performance:appraisal-detail", kwargs={"pk": appraisal.pk})


def pool_url(branch):
    return reverse("performance:pool-detail", kwargs={"code": branch.code})


def csv_rows(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def xlsx_rows(response):
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def refreshed(appraisal):
    appraisal.refresh_from_db()
    return appraisal


# --- anonymous ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["appraisal-list", "appraisal-run", "queue", "calibration", "mine", "bonus",
                                  "pool-list"])
def test_anonymous_visitor_is_sent_to_log_in(name, client):
    response = client.get(reverse(f"performance:{name}"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_anonymous_visitor_cannot_open_or_post_to_an_appraisal_or_a_pool(client, appraisal, branch):
    for response in (client.get(detail_url(appraisal)), client.post(detail_url(appraisal), {"action": "submit"}),
                     client.get(pool_url(branch))):
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert refreshed(appraisal).state == "computed"


# --- which roles may open which page --------------------------------------------------------

ROLE_PAGES = {
    # page: the roles that may open it; every other role gets 403
    "appraisal-list": {Role.DEPARTMENT_HEAD, Role.BRANCH_MANAGER, Role.REVIEWER, Role.HR},
    "appraisal-run": {Role.HR},
    "queue": {Role.REVIEWER, Role.HR},
    "calibration": {Role.REVIEWER, Role.HR},
    "mine": {Role.RM},
    "bonus": {Role.DEPARTMENT_HEAD, Role.BRANCH_MANAGER, Role.HR},
    "pool-list": {Role.DEPARTMENT_HEAD, Role.BRANCH_MANAGER, Role.REVIEWER, Role.HR},
}


@pytest.mark.parametrize("name", sorted(ROLE_PAGES))
@pytest.mark.parametrize("role", Role.values)
def test_each_page_opens_for_its_roles_and_is_forbidden_to_the_others(name, role, client_of, appraisal, branch):
    employee = EmployeeFactory(branch=branch, role=role)

    response = client_of(employee).get(reverse(f"performance:{name}"))

    assert response.status_code == (200 if role in ROLE_PAGES[name] else 403)


# --- appraisal list, filters and exports -----------------------------------------------------

def test_branch_manager_lists_only_their_branch_with_progress(client_of, appraisal, elsewhere, branch_manager):
    response = client_of(branch_manager).get(list_url())

    assert [a.employee.employee_no for a in response.context["appraisals"]] == ["RM001"]
    assert response.context["period"] == PERIOD  # the latest period by default
    progress = response.context["progress"]
    assert progress["total"] == 1 and progress["missing"] == 1
    assert ("computed", "Computed", 1) in progress["states"]
    html = response.content.decode()
    assert "特色业务" in html  # the missing manual indicator is named
    assert "RM-SISTER" not in html and "RM-FAR" not in html


def test_department_head_sees_the_unit_read_only(client_of, appraisal, elsewhere, department_head):
    browser = client_of(department_head)

    listing = browser.get(list_url())
    page = browser.get(detail_url(appraisal))

    assert [a.employee.employee_no for a in listing.context["appraisals"]] == ["RM001"]
    assert listing.context["run_form"] is None
    assert page.status_code == 200 and page.context["forms"] == {}
    assert browser.post(detail_url(appraisal), {"action": "score", "score-score_local": "5"}).status_code == 403
    assert browser.get(detail_url(elsewhere["sister"])).status_code == 404


def test_reviewer_lists_the_region_and_hr_the_bank(client_of, appraisal, elsewhere, reviewer, hr):
    by_reviewer = client_of(reviewer).get(list_url()).context["appraisals"]
    by_hr = client_of(hr).get(list_url()).context["appraisals"]

    assert {a.employee.employee_no for a in by_reviewer} == {"RM001", "RM-SISTER"}
    assert {a.employee.employee_no for a in by_hr} == {"RM001", "RM-SISTER", "RM-FAR"}


def test_list_filters_by_branch_region_employee_grade_and_state(client_of, appraisal, elsewhere, hr):
    browser = client_of(hr)

    def numbers(**params):
        return sorted(a.employee.employee_no for a in browser.get(list_url(**params)).context["appraisals"])

    assert numbers(branch="B02") == ["RM-SISTER"]
    assert numbers(region="R02") == ["RM-FAR"]
    assert numbers(employee="RM001") == ["RM001"]
    assert numbers(grade="pass") == ["RM-FAR", "RM-SISTER"]
    assert numbers(state="computed") == ["RM-FAR", "RM-SISTER", "RM001"]
    assert numbers(period="2025-Q4") == []


def test_list_refuses_a_branch_filter_outside_the_users_scope(client_of, appraisal, elsewhere, branch_manager):
    response = client_of(branch_manager).get(list_url(branch="B03"))

    assert list(response.context["appraisals"]) == []
    assert "branch" in response.context["filterset"].errors


def test_filterset_filters_a_queryset_for_the_api_too(rf, appraisal, elsewhere, reviewer):
    request = rf.get("/", {"region": "R01", "state": "computed"})
    request.user = reviewer.user

    filterset = AppraisalFilterSet(request.GET, queryset=Appraisal.objects.restrict(reviewer.user), request=request)

    assert sorted(filterset.qs.values_list("employee__employee_no", flat=True)) == ["RM-SISTER", "RM001"]


def test_branch_manager_csv_export_holds_their_branch_only(client_of, appraisal, elsewhere, branch_manager):
    response = client_of(branch_manager).get(list_url(format="csv"))

    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert rows[0][:4] == ["Period", "Branch code", "Branch", "Employee number"]
    assert [row[3] for row in rows[1:]] == ["RM001"]
    assert {row[1] for row in rows[1:]} == {"B01"}


def test_export_neutralises_formulas_and_names_the_file_safely(client_of, scheme, sister_branch, reviewer):
    employee = EmployeeFactory(employee_no="RM-EVIL", name="=HYPERLINK(1)", branch=sister_branch)
    Appraisal.objects.create(employee=employee, scheme=scheme, branch=sister_branch, period=PERIOD,
                             period_kind="quarter", computed_at=timezone.now())

    response = client_of(reviewer).get(reverse("performance:appraisal-list"),
                                       {"period": 'x"\r\n', "format": "csv"})
    named = client_of(reviewer).get(list_url(format="csv"))

    assert response["Content-Disposition"] == 'attachment; filename="appraisals-x.csv"'
    assert named["Content-Disposition"] == 'attachment; filename="appraisals-2026-Q1.csv"'
    assert csv_rows(named)[1][4] == "'=HYPERLINK(1)"


def test_xlsx_export_follows_the_filters_and_the_scope(client_of, appraisal, elsewhere, reviewer):
    browser = client_of(reviewer)

    everything = xlsx_rows(browser.get(list_url(format="xlsx")))
    sister = xlsx_rows(browser.get(list_url(format="xlsx", branch="B02")))

    assert sorted(row[3] for row in everything[1:]) == ["RM-SISTER", "RM001"]
    assert [row[3] for row in sister[1:]] == ["RM-SISTER"]
    assert sister[1][6] == 75  # the total stays a number in the spreadsheet


def test_hr_runs_a_period_for_one_branch_in_the_background_and_follows_its_progress(
        client_of, scheme, rm, other_rm, hr, django_capture_on_commit_callbacks):
    browser = client_of(hr)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = browser.post(reverse("performance:appraisal-run"), {"run-period": PERIOD, "run-branch": "B01"})

    # queued once the request commits (besides, the dashboards' generation moves on)
    assert response.status_code == 302 and len([c for c in callbacks if c is not dashboard_cache._bump]) == 1
    run = ScheduledRun.objects.get()
    assert (run.kind, run.key, run.status, run.branches_done, run.triggered_by) == (
        "appraisals", PERIOD, "succeeded", ["B01"], hr.user)
    assert Appraisal.objects.filter(period=PERIOD).count() == 2
    page = browser.get(response["Location"]).content.decode()
    assert 'id="run-progress"' in page and "1 of 1 branches done" in page and "Succeeded" in page
    assert "hx-trigger" not in page  # finished: nothing to poll
    assert f'?period={PERIOD}">See the appraisals</a>' in page


def test_run_of_a_branch_without_an_active_scheme_is_refused(client_of, scheme, sister_branch, hr,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_of(hr).post(reverse("performance:appraisal-run"),
                                      {"run-period": PERIOD, "run-branch": sister_branch.code})

    assert response.status_code == 200 and not callbacks
    assert f"Branch {sister_branch.code} has no active scheme." in response.content.decode()


def test_run_with_a_bad_period_shows_the_rule(client_of, scheme, rm, hr, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_of(hr).post(reverse("performance:appraisal-run"), {"run-period": "2026-13"})

    assert response.status_code == 200 and not callbacks
    assert "is not a period" in response.content.decode()
    assert not Appraisal.objects.exists()


def test_branch_manager_cannot_run_a_period(client_of, scheme, rm, branch_manager):
    response = client_of(branch_manager).post(reverse("performance:appraisal-run"), {"run-period": PERIOD})

    assert response.status_code == 403
    assert not Appraisal.objects.exists()


# --- the appraisal page ---------------------------------------------------------------------

def test_appraisal_page_shows_lines_total_missing_and_history(client_of, appraisal, branch_manager):
    response = client_of(branch_manager).get(detail_url(appraisal))

    lines = {line.indicator.code: line for line in response.context["lines"]}
    assert set(lines) == {"dep", "npl", "fund", "local"}
    assert lines["local"].missing_kind == "manual"
    assert response.context["missing"] == ["特色业务 (manual score)"]
    assert set(response.context["forms"]) == {"score", "submit"}
    history = response.context["history"]
    assert any(entry["subject"] == "Appraisal" and entry["created"] for entry in history)
    html = response.content.decode()
    assert "Ratio to target" in html and "贷款不良率" in html


@pytest.mark.parametrize("who", ["other_branch_manager", "other_region_reviewer", "rm_before_publication",
                                 "colleague"])
def test_appraisal_page_is_404_outside_the_scope(who, client_of, appraisal, sister_branch, other_branch, other_rm):
    employee = {
        "other_branch_manager": lambda: EmployeeFactory(branch=sister_branch, role=Role.BRANCH_MANAGER),
        "other_region_reviewer": lambda: EmployeeFactory(branch=other_branch, role=Role.REVIEWER),
        "rm_before_publication": lambda: appraisal.employee,
        "colleague": lambda: other_rm,
    }[who]()
    browser = client_of(employee)

    assert browser.get(detail_url(appraisal)).status_code == 404
    assert browser.post(detail_url(appraisal), {"action": "acknowledge"}).status_code == 404


def test_branch_manager_enters_the_manual_scores_and_the_history_shows_it(client_of, appraisal, branch_manager):
    browser = client_of(branch_manager)

    response = browser.post(detail_url(appraisal), {"action": "score", "score-score_local": "7.5",
                                                    "score-reason": "strong local business"})

    assert response.status_code == 302 and response.url == detail_url(appraisal)
    line = appraisal.lines.get(indicator__code="local")
    assert line.manual_score == D("7.5")
    assert refreshed(appraisal).missing == []
    page = browser.get(detail_url(appraisal))
    changes = [(entry["subject"], change["field"], change["after"], entry["why"], entry["who"])
               for entry in page.context["history"] for change in entry["changes"]]
    assert ("特色业务", "manual score", "7.50", "strong local business", branch_manager.name) in changes
    assert any(subject == "Appraisal" and field == "total score" for subject, field, *_rest in changes)


def test_manual_score_above_the_weight_is_shown_and_nothing_is_stored(client_of, scheme, rm, branch_manager):
    appraisal_run(period="2026")  # the annual appraisal has two manual indicators
    appraisal = Appraisal.objects.get(employee=rm, period="2026")
    history_before = appraisal.history.count()

    response = client_of(branch_manager).post(detail_url(appraisal), {
        "action": "score", "score-score_ability": "15", "score-score_local": "10.01"})

    assert response.status_code == 200
    form = response.context["forms"]["score"]
    assert form.errors["score_local"] == ["A manual score must lie between 0 and 10.00."]
    assert "A manual score must lie between 0 and 10.00." in response.content.decode()
    assert not AppraisalLine.objects.filter(appraisal=appraisal, manual_score__isnull=False).exists()
    assert refreshed(appraisal).history.count() == history_before


def test_manual_score_that_is_not_a_number_is_a_form_error(client_of, appraisal, branch_manager):
    response = client_of(branch_manager).post(detail_url(appraisal), {"action": "score", "score-score_local": "x"})

    assert response.status_code == 200
    assert response.context["forms"]["score"].errors["score_local"]
    assert appraisal.lines.get(indicator__code="local").manual_score is None


def test_submit_with_a_missing_score_names_it_and_keeps_the_state(client_of, appraisal, branch_manager):
    response = client_of(branch_manager).post(detail_url(appraisal), {"action": "submit"})

    assert response.status_code == 200
    assert "Cannot submit: missing local" in response.content.decode()
    assert refreshed(appraisal).state == "computed"


def test_branch_manager_submits(client_of, appraisal, branch_manager):
    appraisal_score_manual(appraisal=appraisal, indicator_code="local", score=5, by=branch_manager.user)

    response = client_of(branch_manager).post(detail_url(appraisal), {"action": "submit", "submit-comment": "done"})

    assert response.status_code == 302
    assert (refreshed(appraisal).state, appraisal.comment) == ("submitted", "done")


@pytest.mark.parametrize("role", [Role.DEPARTMENT_HEAD, Role.REVIEWER, Role.HR])
def test_only_the_branch_manager_scores_and_submits(role, client_of, appraisal, branch, branch_manager):
    appraisal_score_manual(appraisal=appraisal, indicator_code="local", score=5, by=branch_manager.user)
    browser = client_of(EmployeeFactory(branch=branch, role=role))

    assert browser.post(detail_url(appraisal), {"action": "submit"}).status_code == 403
    assert browser.post(detail_url(appraisal), {"action": "score", "score-score_local": "9"}).status_code == 403
    assert refreshed(appraisal).state == "computed"
    assert appraisal.lines.get(indicator__code="local").manual_score == D(5)


def test_reviewer_passes_an_appraisal_on(client_of, walk, appraisal, reviewer):
    walk("submitted")
    browser = client_of(reviewer)
    assert set(browser.get(detail_url(appraisal)).context["forms"]) == {"review"}

    response = browser.post(detail_url(appraisal), {"action": "review", "review-decision": "pass"})

    assert response.status_code == 302
    assert refreshed(appraisal).state == "reviewed"


def test_sending_back_needs_a_comment(client_of, walk, appraisal, reviewer):
    walk("submitted")
    browser = client_of(reviewer)

    refused = browser.post(detail_url(appraisal), {"action": "review", "review-decision": "return"})
    assert refused.status_code == 200
    assert "Say why when sending an appraisal back." in refused.content.decode()
    assert refreshed(appraisal).state == "submitted"

    returned = browser.post(detail_url(appraisal), {"action": "review", "review-decision": "return",
                                                    "review-comment": "check the fund figure"})
    assert returned.status_code == 302
    assert (refreshed(appraisal).state, appraisal.comment) == ("computed", "check the fund figure")


@pytest.mark.parametrize("role", [Role.BRANCH_MANAGER, Role.HR, Role.DEPARTMENT_HEAD])
def test_only_the_reviewer_reviews(role, client_of, walk, appraisal, branch):
    walk("submitted")

    response = client_of(EmployeeFactory(branch=branch, role=role)).post(
        detail_url(appraisal), {"action": "review", "review-decision": "pass"})

    assert response.status_code == 403
    assert refreshed(appraisal).state == "submitted"


def test_reviewer_of_another_region_gets_404(client_of, walk, appraisal, other_branch):
    walk("submitted")
    stranger = EmployeeFactory(branch=other_branch, role=Role.REVIEWER)

    response = client_of(stranger).post(detail_url(appraisal), {"action": "review", "review-decision": "pass"})

    assert response.status_code == 404
    assert refreshed(appraisal).state == "submitted"


def test_hr_approves_then_publishes(client_of, walk, appraisal, hr):
    walk("reviewed")
    browser = client_of(hr)

    approved = browser.post(detail_url(appraisal), {"action": "approve", "approve-decision": "pass"})
    assert approved.status_code == 302 and refreshed(appraisal).state == "approved"

    published = browser.post(detail_url(appraisal), {"action": "publish"})
    assert published.status_code == 302 and refreshed(appraisal).state == "published"
    assert appraisal.published_at is not None


def test_hr_sends_back_with_a_reason(client_of, walk, appraisal, hr):
    walk("reviewed")

    response = client_of(hr).post(detail_url(appraisal), {"action": "approve", "approve-decision": "return",
                                                          "approve-comment": "grade looks high"})

    assert response.status_code == 302
    assert refreshed(appraisal).state == "computed"


@pytest.mark.parametrize("role", [Role.BRANCH_MANAGER, Role.REVIEWER, Role.DEPARTMENT_HEAD])
def test_only_hr_approves_publishes_and_reopens(role, client_of, walk, appraisal, branch, hr):
    walk("reviewed")
    browser = client_of(EmployeeFactory(branch=branch, role=role))

    assert browser.post(detail_url(appraisal), {"action": "approve", "approve-decision": "pass"}).status_code == 403
    appraisal_approve(appraisal=appraisal, by=hr.user)
    assert browser.post(detail_url(appraisal), {"action": "publish"}).status_code == 403
    assert browser.post(detail_url(appraisal), {"action": "reopen", "reopen-reason": "x"}).status_code == 403
    assert refreshed(appraisal).state == "approved"


def test_reopening_needs_a_reason_which_the_history_keeps(client_of, walk, appraisal, hr):
    walk("approved")
    browser = client_of(hr)

    refused = browser.post(detail_url(appraisal), {"action": "reopen", "reopen-reason": " "})
    assert refused.status_code == 200
    assert "reopened only with a reason" in refused.content.decode()
    assert refreshed(appraisal).state == "approved"

    browser.post(detail_url(appraisal), {"action": "reopen", "reopen-reason": "late loan data for March"})
    assert refreshed(appraisal).state == "computed"
    page = browser.get(detail_url(appraisal))
    assert page.context["history"][0]["why"] == "reopened: late loan data for March"
    assert page.context["history"][0]["changes"][0]["before"] == "Approved"


def test_rm_sees_the_published_appraisal_with_the_deadline_and_acknowledges(client_of, walk, appraisal, rm):
    walk("published")
    browser = client_of(rm)

    page = browser.get(detail_url(appraisal))
    assert set(page.context["forms"]) == {"acknowledge", "appeal"}
    assert page.context["deadline"] == appraisal.published_at + dt.timedelta(days=7)
    assert timezone.localtime(page.context["deadline"]).strftime("%Y-%m-%d %H:%M") in page.content.decode()

    response = browser.post(detail_url(appraisal), {"action": "acknowledge"})
    assert response.status_code == 302
    assert refreshed(appraisal).state == "acknowledged"


def test_rm_appeals_with_a_comment_and_goes_back_to_their_page(client_of, walk, appraisal, rm):
    walk("published")
    browser = client_of(rm)

    empty = browser.post(detail_url(appraisal), {"action": "appeal", "appeal-comment": ""})
    assert empty.status_code == 200 and "Say what the appeal is about." in empty.content.decode()

    response = browser.post(detail_url(appraisal), {"action": "appeal", "appeal-comment": "March fund sale missing"})
    assert response.status_code == 302 and response.url == reverse("performance:mine")
    assert (refreshed(appraisal).state, appraisal.appealed) == ("submitted", True)


def test_appeal_after_the_deadline_is_not_offered_and_refused(client_of, walk, appraisal, rm):
    walk("published")
    Appraisal.objects.filter(pk=appraisal.pk).update(published_at=timezone.now() - dt.timedelta(days=8))
    browser = client_of(rm)

    page = browser.get(detail_url(appraisal))
    assert set(page.context["forms"]) == {"acknowledge"}
    assert "The time for an appeal ended" in page.content.decode()

    response = browser.post(detail_url(appraisal), {"action": "appeal", "appeal-comment": "late"})
    assert response.status_code == 200 and "7 days for an appeal ended" in response.content.decode()
    assert refreshed(appraisal).state == "published"


def test_only_the_appraised_rm_responds(client_of, walk, appraisal, branch, branch_manager, hr):
    walk("published")

    for employee in (branch_manager, hr):
        assert client_of(employee).post(detail_url(appraisal), {"action": "acknowledge"}).status_code == 403
    assert refreshed(appraisal).state == "published"


def test_unknown_action_is_a_bad_request(client_of, appraisal, branch_manager):
    assert client_of(branch_manager).post(detail_url(appraisal), {"action": "explode"}).status_code == 400


# --- queues ---------------------------------------------------------------------------------

def test_reviewer_queue_holds_the_submitted_appraisals_of_the_region(client_of, walk, appraisal, elsewhere,
                                                                     reviewer):
    walk("submitted")
    Appraisal.objects.filter(pk__in=[elsewhere["sister"].pk, elsewhere["far"].pk]).update(state="submitted")

    response = client_of(reviewer).get(reverse("performance:queue"))

    assert [a.employee.employee_no for a in response.context["to_review"]] == ["RM001", "RM-SISTER"]


def test_hr_queue_groups_by_branch_and_period_and_counts_the_unreviewed(client_of, walk, appraisal, other_rm,
                                                                        scheme, branch, hr):
    walk("reviewed")
    Appraisal.objects.create(employee=other_rm, scheme=scheme, branch=branch, period=PERIOD, period_kind="quarter",
                             computed_at=timezone.now())

    response = client_of(hr).get(reverse("performance:queue"))

    [group] = response.context["groups"]
    assert (group["branch"], group["period"], group["waiting"]) == (branch, PERIOD, 1)
    assert [a.pk for a in group["appraisals"]] == [appraisal.pk]


def test_hr_approves_the_branchs_period_from_the_queue_and_the_bonus_follows(client_of, walk, appraisal, branch,
                                                                           hr):
    walk("reviewed")
    Budget.objects.create(branch=branch, period=PERIOD, amount=D("30000"))

    response = client_of(hr).post(reverse("performance:period-approve"), {"branch": "B01", "period": PERIOD},
                                  follow=True)

    assert response.redirect_chain[-1][0] == reverse("performance:queue")
    assert "1 appraisal of Main street for 2026-Q1 approved." in response.content.decode()
    assert refreshed(appraisal).state == "approved"
    assert BonusStatement.objects.get(appraisal=appraisal).bonus == D("30000.00")


def test_period_approval_with_unreviewed_appraisals_shows_the_rule(client_of, walk, appraisal, other_rm, scheme,
                                                                   branch, hr):
    walk("reviewed")
    Appraisal.objects.create(employee=other_rm, scheme=scheme, branch=branch, period=PERIOD, period_kind="quarter",
                             computed_at=timezone.now())

    response = client_of(hr).post(reverse("performance:period-approve"), {"branch": "B01", "period": PERIOD},
                                  follow=True)

    assert "1 appraisals of Main street are not reviewed yet." in response.content.decode()
    assert refreshed(appraisal).state == "reviewed"


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.BRANCH_MANAGER])
def test_only_hr_approves_a_branchs_period(role, client_of, walk, appraisal, branch):
    walk("reviewed")

    response = client_of(EmployeeFactory(branch=branch, role=role)).post(
        reverse("performance:period-approve"), {"branch": "B01", "period": PERIOD})

    assert response.status_code == 403
    assert refreshed(appraisal).state == "reviewed"


# --- calibration ----------------------------------------------------------------------------

def test_calibration_flags_the_lenient_branch_with_its_reasons(client_of, scheme, branch, sister_branch,
                                                               other_branch, hr):
    typical = ["excellent", "good", "good", "pass", "pass", "pass", "basic", "fail"]
    for where, grades in ((branch, ["excellent"] * 7 + ["good"]), (sister_branch, typical), (other_branch, typical)):
        for grade in grades:
            Appraisal.objects.create(employee=EmployeeFactory(branch=where), scheme=scheme, branch=where,
                                     period=PERIOD, period_kind="quarter", state="reviewed", grade=grade,
                                     computed_at=timezone.now())

    response = client_of(hr).get(reverse("performance:calibration"), {"period": PERIOD})

    rows = {row["label"].split()[0]: row for row in response.context["branches"]}
    assert rows["B01"]["flagged"] and not rows["B02"]["flagged"]
    assert rows["B01"]["reasons"] == [
        "62.5 percentage points more good-or-better grades than the median branch."]
    assert rows["B01"]["cells"][0]["share"] == pytest.approx(87.5)
    assert response.context["bank"]["total"] == 24 and response.context["flagged"] == 1
    html = response.content.decode()
    assert html.count('class="row--flagged"') == 1
    assert "62.5 percentage points more good-or-better grades" in html


def test_calibration_reason_for_a_distribution_unlike_the_banks():
    assert calibration_reason(("chi_square", 12.3)) == (
        "The grade distribution differs from the bank's (χ² = 12.3, above 9.488).")
    assert calibration_reason(("good_or_better_gap", -0.3)) == (
        "30.0 percentage points fewer good-or-better grades than the median branch.")


def test_reviewer_calibration_covers_the_region_only(client_of, appraisal, elsewhere, reviewer):
    response = client_of(reviewer).get(reverse("performance:calibration"))

    assert response.context["period"] == PERIOD
    assert sorted(row["label"].split()[0] for row in response.context["branches"]) == ["B01", "B02"]


# --- the RM's page and bonus statements -----------------------------------------------------

@pytest.fixture
def paid(walk, appraisal, branch, hr, department_head, rm):
    """rm's appraisal approved with a budget (so a bonus and a pool contribution) and published,
    plus an allocation from the pool to rm."""
    Budget.objects.create(branch=branch, period=PERIOD, amount=D("30000"))
    walk("published")
    pool_allocate(branch=branch, employee=rm, amount="500.00", reason="diligence", justification="kept at it",
                  period=PERIOD, by=department_head.user)
    return BonusStatement.objects.get(appraisal=appraisal)


def test_rm_page_shows_published_appraisals_statements_and_receipts(client_of, paid, appraisal, rm, other_rm,
                                                                   branch, department_head):
    pool_allocate(branch=branch, employee=other_rm, amount="100.00", reason="special_circumstance",
                  justification="not for Li Na", period=PERIOD, by=department_head.user)

    response = client_of(rm).get(reverse("performance:mine"))

    assert [a.pk for a in response.context["appraisals"]] == [appraisal.pk]
    assert response.context["appraisals"][0].may_appeal
    [row] = response.context["statements"]
    assert (row["statement"].bonus, row["statement"].withheld, row["received"], row["total_paid"]) == (
        D("30000.00"), D("3000.00"), D("500.00"), D("27500.00"))
    assert [(e.kind, e.amount) for e in response.context["receipts"]] == [("allocation", D("500.00"))]
    assert "27,500.00" in response.content.decode()


def test_rm_page_hides_appraisals_not_yet_published(client_of, walk, appraisal, rm):
    walk("approved")

    response = client_of(rm).get(reverse("performance:mine"))

    assert response.context["appraisals"] == []


def test_bonus_statements_page_and_exports_for_the_branch(client_of, paid, branch_manager, elsewhere, scheme,
                                                          other_branch):
    browser = client_of(branch_manager)

    page = browser.get(reverse("performance:bonus"))
    exported = csv_rows(browser.get(reverse("performance:bonus"), {"period": PERIOD, "format": "csv"}))
    workbook = xlsx_rows(browser.get(reverse("performance:bonus"), {"period": PERIOD, "format": "xlsx"}))

    assert page.context["period"] == PERIOD
    assert page.context["totals"]["bonus"] == D("30000.00") and page.context["totals"]["received"] == D("500.00")
    assert [row[2] for row in exported[1:]] == ["RM001"]
    assert exported[1][7:] == ["30000.00", "3000.00", "500.00", "27000.00", "27500.00"]
    assert [row[2] for row in workbook[1:]] == ["RM001"]


def test_bonus_export_of_another_branch_is_empty_for_a_branch_manager(client_of, paid, sister_branch):
    stranger = EmployeeFactory(branch=sister_branch, role=Role.BRANCH_MANAGER)

    rows = csv_rows(client_of(stranger).get(reverse("performance:bonus"), {"period": PERIOD, "format": "csv"}))

    assert rows[1:] == []


# --- the performance pool -------------------------------------------------------------------

def test_department_head_allocates_from_the_pool(client_of, paid, branch, department_head, other_rm):
    response = client_of(department_head).post(pool_url(branch), {
        "action": "allocate", "allocate-employee": "RM002", "allocate-amount": "200.00",
        "allocate-reason": "special_circumstance", "allocate-justification": "branch refurbishment",
        "allocate-period": PERIOD})

    assert response.status_code == 302
    entry = other_rm.pool_entries.get()
    assert (entry.amount, entry.reason, entry.balance_after) == (D("200.00"), "special_circumstance", D("2300.00"))


def test_allocation_beyond_the_balance_is_a_form_error_and_changes_nothing(client_of, paid, branch,
                                                                          department_head, other_rm):
    response = client_of(department_head).post(pool_url(branch), {
        "action": "allocate", "allocate-employee": "RM002", "allocate-amount": "2500.01",
        "allocate-reason": "diligence", "allocate-justification": "x", "allocate-period": PERIOD})

    assert response.status_code == 200
    assert "cannot be taken from it" in response.content.decode()
    assert not other_rm.pool_entries.exists()
    assert response.context["balance"] == D("2500.00")


def test_allocation_to_an_rm_of_another_unit_is_not_a_choice(client_of, paid, branch, department_head, elsewhere):
    response = client_of(department_head).post(pool_url(branch), {
        "action": "allocate", "allocate-employee": "RM-SISTER", "allocate-amount": "10",
        "allocate-reason": "diligence", "allocate-justification": "x", "allocate-period": PERIOD})

    assert response.status_code == 200
    assert response.context["allocation_form"].errors["employee"]


def test_department_head_reverses_an_allocation_once(client_of, paid, branch, department_head, rm):
    allocation = rm.pool_entries.get(kind="allocation")
    browser = client_of(department_head)

    response = browser.post(pool_url(branch), {"action": "reverse", "reverse-entry": allocation.pk,
                                               "reverse-justification": "wrong RM"})
    again = browser.post(pool_url(branch), {"action": "reverse", "reverse-entry": allocation.pk,
                                            "reverse-justification": "again"})

    assert response.status_code == 302
    assert again.status_code == 200 and "reversed already" in again.content.decode()
    assert rm.pool_entries.filter(kind="reversal", reverses=allocation).count() == 1


@pytest.mark.parametrize("role", [Role.BRANCH_MANAGER, Role.HR, Role.REVIEWER])
def test_only_the_department_head_allocates_and_reverses(role, client_of, paid, branch, rm):
    allocation = rm.pool_entries.get(kind="allocation")
    browser = client_of(EmployeeFactory(branch=branch, role=role))

    page = browser.get(pool_url(branch))
    allocated = browser.post(pool_url(branch), {
        "action": "allocate", "allocate-employee": "RM001", "allocate-amount": "1", "allocate-reason": "diligence",
        "allocate-justification": "x", "allocate-period": PERIOD})
    reversed_ = browser.post(pool_url(branch), {"action": "reverse", "reverse-entry": allocation.pk,
                                                "reverse-justification": "x"})

    assert page.status_code == 200 and not page.context["may_allocate"]
    assert (allocated.status_code, reversed_.status_code) == (403, 403)
    assert rm.pool_entries.count() == 2  # the contribution and the allocation


def test_branch_manager_sees_every_allocation_and_hr_every_pool(client_of, paid, branch, branch_manager, hr):
    ledger = client_of(branch_manager).get(pool_url(branch)).context["entries"]
    pools = client_of(hr).get(reverse("performance:pool-list")).context["pools"]

    assert [(e.kind, e.employee.employee_no) for e in ledger] == [("allocation", "RM001"), ("contribution", "RM001")]
    assert [p.branch.code for p in pools] == ["B01"]


@pytest.mark.parametrize("who", ["other_department_head", "rm"])
def test_pool_of_another_unit_is_404_and_rm_is_refused(who, client_of, paid, branch, sister_branch, rm):
    if who == "rm":
        assert client_of(rm).get(pool_url(branch)).status_code == 403
    else:
        head = EmployeeFactory(branch=sister_branch, role=Role.DEPARTMENT_HEAD)
        assert client_of(head).get(pool_url(branch)).status_code == 404


def test_ledger_exports_the_units_entries_in_csv_and_xlsx(client_of, paid, branch, branch_manager):
    browser = client_of(branch_manager)

    rows = csv_rows(browser.get(pool_url(branch), {"format": "csv"}))
    sheet = xlsx_rows(browser.get(pool_url(branch), {"format": "xlsx"}))

    assert [row[2] for row in rows[1:]] == ["Contribution", "Allocation"]
    assert rows[2][7:] == ["500.00", "Diligent without results", "kept at it", "", rows[2][11], "2500.00"]
    assert [row[4] for row in sheet[1:]] == ["B01", "B01"]


# --- query counts ---------------------------------------------------------------------------

@pytest.fixture
def crowded_branch(scheme, branch):
    for n in range(25):
        EmployeeFactory(employee_no=f"RMX{n:02d}", branch=branch, role=Role.RM)
    appraisal_run(period=PERIOD)


def test_appraisal_list_queries_do_not_grow_with_the_rows(client_of, crowded_branch, hr,
                                                          django_assert_max_num_queries):
    browser = client_of(hr)

    with django_assert_max_num_queries(12):
        response = browser.get(list_url())

    assert len(response.context["appraisals"]) == 25


def test_appraisal_list_export_queries_do_not_grow_with_the_rows(client_of, crowded_branch, branch_manager,
                                                                 django_assert_max_num_queries):
    browser = client_of(branch_manager)

    with django_assert_max_num_queries(6):
        rows = csv_rows(browser.get(list_url(format="csv")))

    assert len(rows) == 26


def test_appraisal_page_queries_do_not_grow_with_its_history(client_of, appraisal, branch_manager,
                                                             django_assert_max_num_queries):
    for n in range(10):
        appraisal_score_manual(appraisal=appraisal, indicator_code="local", score=n, by=branch_manager.user,
                               reason=f"try {n}")
    browser = client_of(branch_manager)

    with django_assert_max_num_queries(9):
        response = browser.get(detail_url(appraisal))

    assert len(response.context["history"]) == 18  # every score change and the totals it moved


def test_pool_page_queries_do_not_grow_with_the_ledger(client_of, paid, branch, department_head, rm,
                                                       django_assert_max_num_queries):
    for n in range(20):
        pool_allocate(branch=branch, employee=rm, amount="1.00", reason="diligence", justification=f"week {n}",
                      period=PERIOD, by=department_head.user)
    browser = client_of(department_head)

    with django_assert_max_num_queries(10):
        response = browser.get(pool_url(branch))

    assert len(response.context["entries"]) == 22


# --- admin ----------------------------------------------------------------------------------

def test_admin_lists_of_performance_models_open_for_a_superuser(client, paid, appraisal):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    models = [m for m in admin.site._registry if m._meta.app_label == "performance"]

    assert {"scheme", "appraisal", "appraisalline", "poolentry", "bonusstatement", "budget", "target"} <= {
        m._meta.model_name for m in models}
    for model in models:
        url = reverse(f"admin:performance_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("admin:performance_appraisal_history", args=[appraisal.pk])).status_code == 200
    assert client.get(reverse("admin:performance_appraisal_change", args=[appraisal.pk])).status_code == 200


def test_admin_loads_a_scheme_file(client, branch, scheme_data):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    scheme_data["name"] = "B01 2026 from the admin"
    upload = SimpleUploadedFile("scheme.json", json.dumps(scheme_data, ensure_ascii=False).encode("utf-8"))

    response = client.post(reverse("admin:performance_scheme_import"), {"file": upload})

    assert response.status_code == 302
    assert Scheme.objects.get(code="B01-2026").indicators.count() == 6


def test_admin_refuses_a_scheme_file_whose_weights_do_not_add_up(client, branch, scheme_data):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    scheme_data["indicators"][0]["weight"] = "31"
    upload = SimpleUploadedFile("scheme.json", json.dumps(scheme_data).encode("utf-8"))

    response = client.post(reverse("admin:performance_scheme_import"), {"file": upload})

    assert response.status_code == 200
    assert "The weights add up to 101, not 100." in response.content.decode()
    assert not Scheme.objects.exists()
