"""Retention-risk pages (DOMAIN 5): who may open them, what they show, the alert and settings
forms, what they cost in queries, and that an RM never sees their own score anywhere."""
import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from careers import risk
from careers.models import RiskAlert, RiskScore, RiskSettings
from clients.models import Role
from performance.models import Appraisal, Scheme
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db

MARCH = dt.date(2026, 3, 1)
SCORE = D("87.65")  # a figure that appears nowhere else on any page


def stored_factors(**values):
    settings = RiskSettings()
    parts = {name: risk.Factor(value=D(values.get(name, "0.5")), parts={"x": D(values.get(name, "0.5"))},
                               figures={"total": D("61.50")}) for name in risk.FACTORS}
    return risk.compose(parts, settings)[2]


@pytest.fixture
def world(rm, other_rm, branch, other_branch, branch_manager, hr, department_head, reviewer):
    far_rm = EmployeeFactory(employee_no="RM-FAR", branch=other_branch)
    far_manager = EmployeeFactory(employee_no="BM-FAR", branch=other_branch, role=Role.BRANCH_MANAGER)
    ClientFactory(branch=branch, rm=rm)
    RiskScore.objects.create(employee=rm, month=dt.date(2026, 2, 1), score=D("60.00"), band="medium",
                             factors=stored_factors())
    mine = RiskScore.objects.create(employee=rm, month=MARCH, score=SCORE, band="high", factors=stored_factors(career=1))
    RiskScore.objects.create(employee=other_rm, month=MARCH, score=D("12.00"), band="low", factors=stored_factors())
    far = RiskScore.objects.create(employee=far_rm, month=MARCH, score=D("75.00"), band="high",
                                   factors=stored_factors())
    alert = RiskAlert.objects.create(employee=rm, score=mine, trigger="entered_high", previous_score=D("60.00"),
                                     suggested_action=risk.Action.CAREER_INTERVIEW)
    far_alert = RiskAlert.objects.create(employee=far_rm, score=far, trigger="entered_high",
                                         suggested_action=risk.Action.BACKUP_RM)
    people = {"rm": rm, "department_head": department_head, "branch_manager": branch_manager, "reviewer": reviewer,
              "hr": hr, "far": far_manager}
    return {"people": people, "score": mine, "far_score": far, "alert": alert, "far_alert": far_alert}


def urls(world):
    return {
        "scores": reverse("risk:scores"),
        "score": reverse("risk:score-detail", kwargs={"pk": world["score"].pk}),
        "alerts": reverse("risk:alerts"),
        "alert": reverse("risk:alert-detail", kwargs={"pk": world["alert"].pk}),
        "settings": reverse("risk:settings"),
        "backtest": reverse("risk:backtest"),
    }


OPEN = {"rm": 403, "department_head": 403, "reviewer": 403, "branch_manager": 200, "hr": 200, "far": 200}
EXPECTED = {
    "scores": OPEN, "alerts": OPEN,
    "score": {**OPEN, "far": 404}, "alert": {**OPEN, "far": 404},
    "settings": {**OPEN, "branch_manager": 403, "far": 403},
    "backtest": {**OPEN, "branch_manager": 403, "far": 403},
}


@pytest.mark.parametrize("page", list(EXPECTED))
@pytest.mark.parametrize("role", list(OPEN))
def test_who_may_open_each_risk_page(world, client_of, page, role):
    response = client_of(world["people"][role]).get(urls(world)[page])
    assert response.status_code == EXPECTED[page][role]


def test_the_rm_never_sees_their_own_score_on_their_pages(world, rm, client_of):
    scheme = Scheme.objects.create(code="S-B01", name="Scheme", branch=rm.branch)
    Appraisal.objects.create(employee=rm, scheme=scheme, branch=rm.branch, period="2026-03", period_kind="month",
                             state="published", total=D("81.00"), grade="good", computed_at=timezone.now())
    browser = client_of(rm)
    pages = [reverse("clients:rm-book", kwargs={"employee_no": rm.employee_no}),
             reverse("careers:record", kwargs={"employee_no": rm.employee_no}),
             reverse("performance:mine")]
    for url in pages:
        response = browser.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert str(SCORE) not in text and "Retention" not in text and "/risk/" not in text, url
    for url in urls(world).values():
        assert browser.get(url).status_code == 403


def test_scores_page_lists_the_branch_managers_branch_with_factor_points_and_change(world, branch_manager,
                                                                                   client_of):
    response = client_of(branch_manager).get(reverse("risk:scores"))
    text = response.content.decode()
    assert response.context["month"] == MARCH
    listed = [row["score"].employee.employee_no for row in response.context["rows"]]
    assert listed == ["RM001", "RM002"]  # highest first; RM-FAR is another branch's
    assert "+27.65" in text and "25.00" in text  # change since February; career points


def test_hr_filters_the_scores_by_branch_and_band(world, hr, client_of):
    browser = client_of(hr)
    everyone = browser.get(reverse("risk:scores"))
    assert len(everyone.context["rows"]) == 3
    high = browser.get(reverse("risk:scores"), {"band": "high", "month": "2026-03"})
    assert {row["score"].employee.employee_no for row in high.context["rows"]} == {"RM001", "RM-FAR"}
    far = browser.get(reverse("risk:scores"), {"branch": "B03"})
    assert [row["score"].employee.employee_no for row in far.context["rows"]] == ["RM-FAR"]


def test_score_page_shows_each_factor_against_last_month_and_the_book(world, hr, client_of):
    response = client_of(hr).get(reverse("risk:score-detail", kwargs={"pk": world["score"].pk}))
    text = response.content.decode()
    career = next(row for row in response.context["rows"] if row.name == "career")
    assert career.points == D("25.00") and career.previous_points == D("12.50") and career.change == D("12.50")
    assert "Career stagnation" in text and "Book at risk" in text
    assert response.context["book"].client_count == 1 and response.context["alert"] == world["alert"]


def test_alert_list_shows_open_alerts_with_their_book_at_risk(world, hr, client_of):
    response = client_of(hr).get(reverse("risk:alerts"))
    rows = response.context["rows"]
    assert {row["alert"].pk for row in rows} == {world["alert"].pk, world["far_alert"].pk}
    mine = next(row for row in rows if row["alert"] == world["alert"])
    assert mine["book"].client_count == 1 and str(mine["action"]) == "Hold a career interview"
    RiskAlert.objects.filter(pk=world["far_alert"].pk).update(status="resolved", action_note="done")
    assert len(client_of(hr).get(reverse("risk:alerts")).context["rows"]) == 1
    resolved = client_of(hr).get(reverse("risk:alerts"), {"status": "resolved"})
    assert [row["alert"].pk for row in resolved.context["rows"]] == [world["far_alert"].pk]


def test_branch_manager_acknowledges_snoozes_and_resolves_an_alert(world, branch_manager, client_of):
    browser = client_of(branch_manager)
    url = reverse("risk:alert-detail", kwargs={"pk": world["alert"].pk})
    alert = world["alert"]
    assert browser.post(url, {"action": "acknowledge"}).status_code == 302
    alert.refresh_from_db()
    assert alert.status == "acknowledged"

    past = browser.post(url, {"action": "snooze", "snooze-until": timezone.localdate().isoformat()})
    assert past.status_code == 200 and "after today" in past.content.decode()
    later = timezone.localdate() + dt.timedelta(days=14)
    assert browser.post(url, {"action": "snooze", "snooze-until": later.isoformat()}).status_code == 302
    alert.refresh_from_db()
    assert alert.status == "snoozed" and alert.snoozed_until == later

    empty = browser.post(url, {"action": "resolve", "resolve-note": ""})
    assert empty.status_code == 200 and empty.context["resolve_form"].errors
    assert browser.post(url, {"action": "resolve", "resolve-note": "Named a backup RM"}).status_code == 302
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.action_note == "Named a backup RM"
    assert alert.handled_by == branch_manager.user


def test_another_branchs_manager_cannot_handle_the_alert(world, client_of):
    browser = client_of(world["people"]["far"])
    response = browser.post(reverse("risk:alert-detail", kwargs={"pk": world["alert"].pk}), {"action": "acknowledge"})
    assert response.status_code == 404
    world["alert"].refresh_from_db()
    assert world["alert"].status == "open"


def test_hr_edits_the_settings_and_weights_must_add_up_to_one_hundred(world, hr, client_of):
    browser = client_of(hr)
    values = {"weight_assessment": "30", "weight_incentive": "20", "weight_career": "20", "weight_recognition": "15",
              "weight_pressure": "20", "medium_from": "35", "high_from": "65", "rise_alert": "10"}
    refused = browser.post(reverse("risk:settings"), values)
    assert refused.status_code == 200 and "must add up to 100" in refused.content.decode()
    assert not RiskSettings.objects.exists()
    values["weight_pressure"] = "15"
    assert browser.post(reverse("risk:settings"), values).status_code == 302
    saved = RiskSettings.objects.get()
    assert (saved.weight_assessment, saved.high_from, saved.rise_alert) == (D(30), D(65), D(10))
    assert browser.get(reverse("risk:settings")).context["form"].initial["medium_from"] == D(35)


def test_backtest_page_shows_each_month(world, hr, client_of):
    response = client_of(hr).get(reverse("risk:backtest"))
    assert [row.month for row in response.context["rows"]] == [MARCH, dt.date(2026, 2, 1)]
    assert response.context["rows"][0].scored == 3


def test_risk_links_are_in_the_navigation_of_hr_and_branch_managers_only(world, client_of, rm, hr, branch_manager):
    assert reverse("risk:scores") in client_of(hr).get(reverse("risk:alerts")).content.decode()
    assert reverse("operations:runs") in client_of(hr).get(reverse("risk:alerts")).content.decode()
    manager_page = client_of(branch_manager).get(reverse("risk:alerts")).content.decode()
    assert reverse("risk:scores") in manager_page and reverse("operations:runs") not in manager_page


def test_scores_and_alerts_pages_cost_the_same_queries_for_more_rows(world, hr, client_of, branch):
    browser = client_of(hr)

    def cost(url):
        with CaptureQueriesContext(connection) as queries:
            assert browser.get(url).status_code == 200
        return len(queries.captured_queries)

    before = {url: cost(url) for url in (reverse("risk:scores"), reverse("risk:alerts"))}
    for n in range(6):
        employee = EmployeeFactory(branch=branch)
        ClientFactory(branch=branch, rm=employee)
        score = RiskScore.objects.create(employee=employee, month=MARCH, score=D(70 + n), band="high",
                                         factors=stored_factors())
        RiskAlert.objects.create(employee=employee, score=score, trigger="entered_high")
    after = {url: cost(url) for url in before}
    assert after == before
