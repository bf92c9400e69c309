"""Career pages: who may open what (DOMAIN 1), what they show, the forms through the pages,
and what they cost in queries (DOMAIN 4)."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from careers import selectors
from careers.models import (CareerGoal, CareerInterview, Certificate, Commendation, Exit, ExitHandover, Level,
                            LevelChange, Training)
from clients import services as client_services
from clients.models import Client, Role
from performance.models import Signal
from rmportal.dashboard_cache import dashboard_data_changed
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db

ROLES = ("rm", "department_head", "branch_manager", "reviewer", "hr", "far")
EVERYONE = dict.fromkeys(ROLES, 200)
MANAGERS = {**EVERYONE, "rm": 403}
HR_ONLY = {**dict.fromkeys(ROLES, 403), "hr": 200}
OWN_RECORD = {**EVERYONE, "far": 404}
EXIT_PAGE = {**EVERYONE, "rm": 404, "far": 404}
COMMEND = {**HR_ONLY, "branch_manager": 200, "far": 404}


@pytest.fixture
def world(rm, other_rm, ladder, branch, hr, department_head, branch_manager, reviewer, far_manager):
    """rm (assistant level, one client) and other_rm, whose exit is open."""
    rm.level = ladder["assistant"]
    rm.save()
    ClientFactory(client_no="C-RM", branch=branch, rm=rm)
    exit = Exit.objects.create(employee=other_rm, exit_on=dt.date(2026, 10, 31), reason=Exit.Reason.RECOGNITION)
    people = {"rm": rm, "department_head": department_head, "branch_manager": branch_manager, "reviewer": reviewer,
              "hr": hr, "far": far_manager}
    return {"people": people, "exit": exit, "rm": rm, "other_rm": other_rm}


def page_url(name, world):
    rm_no = world["rm"].employee_no
    on_rm = {"employee_no": rm_no}
    return {
        "sequence-list": reverse("careers:sequence-list"),
        "sequence-detail": reverse("careers:sequence-detail", kwargs={"code": "personal"}),
        "sequence-create": reverse("careers:sequence-create"),
        "sequence-edit": reverse("careers:sequence-edit", kwargs={"code": "personal"}),
        "level-create": reverse("careers:level-create", kwargs={"code": "personal"}),
        "level-edit": reverse("careers:level-edit", kwargs={"code": "personal", "level": "A"}),
        "certificate-types": reverse("careers:certificate-types"),
        "record-list": reverse("careers:record-list"),
        "record": reverse("careers:record", kwargs=on_rm),
        "certificate-add": reverse("careers:certificate-add", kwargs=on_rm),
        "training-add": reverse("careers:training-add", kwargs=on_rm),
        "commendation-add": reverse("careers:commendation-add", kwargs=on_rm),
        "goal-add": reverse("careers:goal-add", kwargs=on_rm),
        "level-change": reverse("careers:level-change", kwargs=on_rm),
        "interview-schedule": reverse("careers:interview-schedule", kwargs=on_rm),
        "interview-record": reverse("careers:interview-record", kwargs=on_rm),
        "exit-open": reverse("careers:exit-open", kwargs=on_rm),
        "eligibility": reverse("careers:eligibility"),
        "interview-list": reverse("careers:interview-list"),
        "exit-list": reverse("careers:exit-list"),
        "exit-detail": reverse("careers:exit-detail", kwargs={"pk": world["exit"].pk}),
    }[name]


PAGES = {
    "sequence-list": EVERYONE, "sequence-detail": EVERYONE, "sequence-create": HR_ONLY, "sequence-edit": HR_ONLY,
    "level-create": HR_ONLY, "level-edit": HR_ONLY, "certificate-types": HR_ONLY, "record-list": MANAGERS,
    "record": OWN_RECORD, "certificate-add": HR_ONLY, "training-add": HR_ONLY, "commendation-add": COMMEND,
    "goal-add": HR_ONLY, "level-change": HR_ONLY, "interview-schedule": HR_ONLY, "interview-record": HR_ONLY,
    "exit-open": HR_ONLY, "eligibility": MANAGERS, "interview-list": MANAGERS, "exit-list": MANAGERS,
    "exit-detail": EXIT_PAGE,
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_who_may_open_each_page(page, role, world, client):
    client.force_login(world["people"][role].user)

    response = client.get(page_url(page, world))

    assert response.status_code == PAGES[page][role]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitor_is_sent_to_log_in(page, world, client):
    response = client.get(page_url(page, world))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_careers_home_sends_rms_to_their_record_and_managers_to_the_list(world, client_of):
    assert client_of(world["rm"]).get(reverse("careers:home")).url == reverse(
        "careers:record", kwargs={"employee_no": "RM001"})
    assert client_of(world["people"]["reviewer"]).get(reverse("careers:home")).url == reverse("careers:record-list")


def test_rm_cannot_open_a_colleagues_record(world, client_of):
    url = reverse("careers:record", kwargs={"employee_no": world["other_rm"].employee_no})

    assert client_of(world["rm"]).get(url).status_code == 404


def test_rm_sees_their_record_and_eligibility_but_never_their_exit(world, client_of, hr, afp):
    rm = world["rm"]
    Certificate.objects.create(employee=rm, certificate_type=afp, obtained_on=dt.date(2024, 1, 1),
                               expires_on=timezone.localdate() + dt.timedelta(days=30))
    Exit.objects.create(employee=rm, exit_on=dt.date(2026, 12, 31), reason=Exit.Reason.PERSONAL)

    response = client_of(rm).get(reverse("careers:record", kwargs={"employee_no": "RM001"}))

    assert response.status_code == 200
    assert response.context["exit"] is None and "Exit on" not in response.content.decode()
    assert response.context["eligibility"].next_level.code == "R"
    assert [c.validity for c in response.context["certificates"]] == ["expiring"]
    assert not response.context["may_change"] and not response.context["may_commend"]
    html = response.content.decode()
    assert "Expires within 90 days" in html and "Change of level" not in html


def test_far_branch_manager_lists_show_none_of_our_rms(world, client_of):
    browser = client_of(world["people"]["far"])

    assert list(browser.get(reverse("careers:record-list")).context["employees"]) == []
    assert browser.get(reverse("careers:eligibility")).context["page_obj"].paginator.count == 0
    assert browser.get(reverse("careers:interview-list")).context["page_obj"].paginator.count == 0
    assert browser.get(reverse("careers:exit-list")).context["count"] == 0
    # Asking for our branch by code is an invalid filter, not a leak.
    assert list(browser.get(reverse("careers:record-list") + "?branch=B01").context["employees"]) == []


def test_record_list_shows_the_branchs_rms_with_due_interviews(world, client_of):
    response = client_of(world["people"]["branch_manager"]).get(reverse("careers:record-list"))

    rows = response.context["rows"]
    assert [e.employee_no for e, _due in rows] == ["RM001", "RM002"]
    assert all(due.overdue for _e, due in rows)  # hired 2020, never interviewed


# --- HR's forms -------------------------------------------------------------------------------

def test_hr_promotes_through_the_page(world, client_of, ladder):
    url = reverse("careers:level-change", kwargs={"employee_no": "RM001"})
    browser = client_of(world["people"]["hr"])
    assert browser.get(url + f"?kind=promotion&to_level={ladder['rm'].pk}").context["form"].initial == {
        "kind": "promotion", "to_level": ladder["rm"].pk}

    response = browser.post(url, {"kind": "promotion", "to_level": ladder["rm"].pk, "effective_on": "2026-07-01",
                                  "note": "Eligible"})

    assert response.status_code == 302
    world["rm"].refresh_from_db()
    assert world["rm"].level == ladder["rm"]
    assert LevelChange.objects.get().kind == "promotion"


def test_promotion_to_a_lower_rank_is_shown_as_an_error_and_stores_nothing(world, client_of, ladder):
    world["rm"].level = ladder["rm"]
    world["rm"].save()
    url = reverse("careers:level-change", kwargs={"employee_no": "RM001"})

    response = client_of(world["people"]["hr"]).post(url, {"kind": "promotion", "to_level": ladder["assistant"].pk,
                                                           "effective_on": "2026-07-01"})

    assert response.status_code == 200
    assert "A promotion goes to a higher rank" in response.content.decode()
    world["rm"].refresh_from_db()
    assert world["rm"].level == ladder["rm"] and not LevelChange.objects.exists()


def test_hr_records_certificate_training_goal_and_interviews(world, client_of, afp, ladder):
    browser = client_of(world["people"]["hr"])
    no = {"employee_no": "RM001"}

    assert browser.post(reverse("careers:certificate-add", kwargs=no), {
        "certificate_type": afp.pk, "obtained_on": "2025-01-01", "expires_on": "2024-01-01"}).status_code == 200
    assert not Certificate.objects.exists()
    assert browser.post(reverse("careers:certificate-add", kwargs=no), {
        "certificate_type": afp.pk, "obtained_on": "2025-01-01", "expires_on": "2028-01-01"}).status_code == 302
    assert browser.post(reverse("careers:training-add", kwargs=no), {
        "title": "Compliance", "completed_on": "2026-02-01", "hours": "12.5"}).status_code == 302
    assert browser.post(reverse("careers:goal-add", kwargs=no), {
        "target_level": ladder["rm"].pk, "target_date": (dt.date.today() + dt.timedelta(days=3 * 365)).isoformat(), "actions": "AFP"}).status_code == 302
    goal = CareerGoal.objects.get()
    assert browser.post(reverse("careers:goal-status", kwargs={**no, "pk": goal.pk}),
                        {f"goal-{goal.pk}-status": "revised"}).status_code == 302
    assert browser.post(reverse("careers:interview-schedule", kwargs=no),
                        {"scheduled_on": "2026-11-01"}).status_code == 302
    interview = CareerInterview.objects.get()
    assert browser.post(reverse("careers:interview-record-scheduled", kwargs={**no, "pk": interview.pk}), {
        "held_on": "2026-11-02", "outcome": "on_track", "notes": "Fine", "revised_goals": ""}).status_code == 302

    assert Training.objects.get().hours == Decimal("12.5")
    goal.refresh_from_db()
    interview.refresh_from_db()
    assert goal.status == "revised" and interview.held_on == dt.date(2026, 11, 2)
    page = browser.get(reverse("careers:record", kwargs=no))
    assert page.context["due"].due_on == dt.date(2027, 5, 2)


def test_goal_form_offers_only_levels_of_the_rms_sequence(world, client_of, corporate_level):
    response = client_of(world["people"]["hr"]).post(
        reverse("careers:goal-add", kwargs={"employee_no": "RM001"}),
        {"target_level": corporate_level.pk, "target_date": (dt.date.today() + dt.timedelta(days=3 * 365)).isoformat()})

    assert response.status_code == 200 and not CareerGoal.objects.exists()
    assert response.context["form"].errors["target_level"]


def test_branch_manager_records_a_commendation(world, client_of):
    response = client_of(world["people"]["branch_manager"]).post(
        reverse("careers:commendation-add", kwargs={"employee_no": "RM001"}),
        {"title": "Best service of the quarter", "awarded_on": "2026-10-01", "awarded_by": "Branch"})

    assert response.status_code == 302
    assert Commendation.objects.get().employee == world["rm"]


def test_hr_edits_sequences_and_levels_through_the_pages(world, client_of, afp):
    browser = client_of(world["people"]["hr"])

    assert browser.post(reverse("careers:sequence-create"), {
        "code": "wealth", "name": "Wealth advisor", "interview_interval_months": 4, "norm_months_at_level": 30,
        "norm_book_size": 80}).status_code == 302
    level_data = {"code": "W1", "name": "Advisor", "rank": 1, "bonus_coefficient": "1.100",
                  "min_months_at_level": 18, "good_grades_required": 1, "good_grades_window": 2,
                  "required_certificates": [afp.pk], "training_hours_per_year": 30, "min_book_size": 40}
    assert browser.post(reverse("careers:level-create", kwargs={"code": "wealth"}), level_data).status_code == 302
    clash = browser.post(reverse("careers:level-create", kwargs={"code": "wealth"}), {**level_data, "code": "W2"})
    assert clash.status_code == 200 and "Rank 1 of Wealth advisor is held by Advisor already." in clash.content.decode()

    edited = browser.post(reverse("careers:level-edit", kwargs={"code": "wealth", "level": "W1"}),
                          {**level_data, "code": "ignored", "min_book_size": 45})

    assert edited.status_code == 302
    level = Level.objects.get(sequence__code="wealth")
    assert (level.code, level.min_book_size, list(level.required_certificates.all())) == ("W1", 45, [afp])
    detail = browser.get(reverse("careers:sequence-detail", kwargs={"code": "wealth"}))
    assert "AFP" in detail.content.decode() and detail.context["may_change"]


def test_hr_adds_a_certificate_type(world, client_of):
    browser = client_of(world["people"]["hr"])

    assert browser.post(reverse("careers:certificate-types"), {"code": "CFP", "name": "CFP"}).status_code == 302
    again = browser.post(reverse("careers:certificate-types"), {"code": "CFP", "name": "CFP"})

    assert "exists already" in again.content.decode()


# --- exits ------------------------------------------------------------------------------------

def test_hr_opens_an_exit_and_is_sent_to_the_handover(world, client_of):
    browser = client_of(world["people"]["hr"])

    response = browser.post(reverse("careers:exit-open", kwargs={"employee_no": "RM001"}), {
        "exit_on": "2026-11-15", "voluntary": "on", "reason": "career_development", "destination": "Bank B"},
        follow=True)

    exit = Exit.objects.get(employee=world["rm"])
    assert response.redirect_chain[-1][0] == reverse("careers:exit-detail", kwargs={"pk": exit.pk})
    html = response.content.decode()
    assert "Hand over the 1 client first" in html
    assert reverse("clients:handover", kwargs={"employee_no": "RM001"}) in html
    assert exit.status == Exit.Status.OPEN


def test_the_exit_counts_only_the_clients_of_the_book_the_user_sees(world, client_of, branch, other_branch,
                                                                     branch_manager):
    other_rm = world["other_rm"]
    ClientFactory(client_no="C-HOME", branch=branch, rm=other_rm)
    ClientFactory(client_no="C-AWAY", branch=other_branch, rm=other_rm)  # outside the branch manager's scope
    url = reverse("careers:exit-detail", kwargs={"pk": world["exit"].pk})

    assert client_of(world["people"]["hr"]).get(url).context["book_size"] == 2
    assert client_of(branch_manager).get(url).context["book_size"] == 1


def test_exit_before_hiring_is_shown_as_an_error(world, client_of):
    response = client_of(world["people"]["hr"]).post(
        reverse("careers:exit-open", kwargs={"employee_no": "RM001"}),
        {"exit_on": "2019-01-01", "reason": "personal"})

    assert response.status_code == 200
    assert "is before RM001 Li Na was hired" in response.content.decode()
    assert not Exit.objects.filter(employee=world["rm"]).exists()


def test_completing_an_exit_is_refused_while_clients_remain_then_done(world, client_of, branch, branch_manager):
    other_rm = world["other_rm"]
    client = ClientFactory(client_no="C-OTHER", branch=branch, rm=other_rm)
    url = reverse("careers:exit-detail", kwargs={"pk": world["exit"].pk})
    browser = client_of(world["people"]["hr"])

    refused = browser.post(url, {"action": "complete"})

    assert refused.status_code == 200
    assert "still responsible for 1 client" in refused.content.decode()
    world["exit"].refresh_from_db()
    assert world["exit"].status == Exit.Status.OPEN

    client_services.book_handover(from_rm=other_rm, plan=[(client, world["rm"])], on=dt.date(2026, 10, 25),
                                  by=branch_manager.user)
    done = browser.post(url, {"action": "complete"})

    assert done.status_code == 302
    other_rm.refresh_from_db()
    assert not other_rm.is_active
    assert list(ExitHandover.objects.values_list("client__client_no", "to_rm__employee_no")) == [("C-OTHER", "RM001")]
    page = browser.get(url)
    assert page.context["outflow"].handed_over == 1 and "C-OTHER" in page.content.decode()


def test_branch_manager_may_not_complete_an_exit(world, client_of):
    response = client_of(world["people"]["branch_manager"]).post(
        reverse("careers:exit-detail", kwargs={"pk": world["exit"].pk}), {"action": "complete"})

    assert response.status_code == 403
    world["exit"].refresh_from_db()
    assert world["exit"].status == Exit.Status.OPEN


def test_hr_updates_the_exit_interview(world, client_of):
    response = client_of(world["people"]["hr"]).post(
        reverse("careers:exit-detail", kwargs={"pk": world["exit"].pk}),
        {"action": "details", "details-reason": "work_pressure", "details-interview_notes": "Targets"})

    assert response.status_code == 302
    world["exit"].refresh_from_db()
    assert (world["exit"].reason, world["exit"].voluntary, world["exit"].interview_notes) == (
        "work_pressure", False, "Targets")


def test_exit_list_shows_each_exit_and_the_total(world, client_of, branch):
    client = ClientFactory(branch=branch, rm=world["rm"], status="lost", lost_on=dt.date(2025, 8, 1))
    ExitHandover.objects.create(exit=world["exit"], client=client, to_rm=world["rm"],
                                handed_over_on=dt.date(2025, 7, 1))

    response = client_of(world["people"]["reviewer"]).get(reverse("careers:exit-list"))

    assert response.context["count"] == 1
    assert (response.context["total"].handed_over, response.context["total"].lost_3m) == (1, 1)
    assert "100.0%" in response.content.decode()



def test_exit_list_figures_are_kept_until_the_data_changes(world, client_of, branch):
    client = ClientFactory(branch=branch, rm=world["rm"])
    ExitHandover.objects.create(exit=world["exit"], client=client, to_rm=world["rm"],
                                handed_over_on=dt.date(2025, 7, 1))
    reviewer = client_of(world["people"]["reviewer"])
    assert reviewer.get(reverse("careers:exit-list")).context["total"].lost_3m == 0

    # A change behind the services' back is not seen: the figures are kept …
    Client.objects.filter(pk=client.pk).update(status="lost", lost_on=dt.date(2025, 8, 1))
    assert reviewer.get(reverse("careers:exit-list")).context["total"].lost_3m == 0
    # … until a job that changes the data says so.
    dashboard_data_changed()
    assert reviewer.get(reverse("careers:exit-list")).context["total"].lost_3m == 1

# --- eligibility and interviews -------------------------------------------------------------

def test_eligibility_page_lists_long_waiting_rms_and_candidates(world, client_of, branch, ladder, afp, annual):
    rm, today = world["rm"], timezone.localdate()
    LevelChange.objects.create(employee=rm, kind=LevelChange.Kind.HIRE, effective_on=selectors.add_months(today, -40),
                               to_level=ladder["assistant"], to_branch=branch)
    annual(rm, str(today.year - 1), "good")
    annual(rm, str(today.year - 2), "excellent")
    annual(rm, str(today.year - 3), "good")
    Certificate.objects.create(employee=rm, certificate_type=afp, obtained_on=dt.date(2023, 1, 1))
    Training.objects.create(employee=rm, title="T", completed_on=today - dt.timedelta(days=200), hours=Decimal("40"))
    ClientFactory.create_batch(2, branch=branch, rm=rm)
    Signal.objects.create(employee=rm, kind=Signal.Kind.PROMOTION_CANDIDATE, period=str(today.year - 1),
                          detail="2 excellent annual grades")

    response = client_of(world["people"]["branch_manager"]).get(reverse("careers:eligibility"))

    assert [row.employee for row in response.context["long_waiting"]] == [rm]
    assert response.context["long_waiting"][0].eligible_since == today - dt.timedelta(days=200)
    assert [row.employee for row in response.context["candidates"]] == [rm]
    assert response.context["eligible_count"] == 1
    assert {row.employee.employee_no for row in response.context["page_obj"].object_list} == {"RM001"}
    assert not response.context["may_promote"]
    html = response.content.decode()
    assert "2 excellent annual grades" in html
    assert "1 active RM has no level and is not shown" in html  # other_rm


def test_eligibility_page_filters_eligible_only(world, client_of):
    response = client_of(world["people"]["hr"]).get(reverse("careers:eligibility") + "?show=eligible")

    assert list(response.context["page_obj"].object_list) == []
    assert response.context["page_obj"].paginator.count == 0


@pytest.mark.parametrize("page", ["careers:eligibility", "careers:record-list", "careers:interview-list"])
def test_lists_cost_the_same_queries_for_more_rms(page, world, client_of, branch, ladder):
    browser = client_of(world["people"]["hr"])
    url = reverse(page)
    browser.get(url)
    with CaptureQueriesContext(connection) as few:
        browser.get(url)
    for _ in range(5):
        EmployeeFactory(branch=branch, role=Role.RM, level=ladder["assistant"])

    with CaptureQueriesContext(connection) as many:
        response = browser.get(url)

    assert response.context["page_obj"].paginator.count == (6 if page == "careers:eligibility" else 7)
    assert len(many) == len(few)


def test_interview_list_shows_overdue_per_branch_for_hr(world, client_of, other_branch):
    EmployeeFactory(branch=other_branch, role=Role.RM, hired_on=timezone.localdate())

    response = client_of(world["people"]["hr"]).get(reverse("careers:interview-list") + "?overdue=1")

    assert {row.employee.employee_no for row in response.context["page_obj"].object_list} == {"RM001", "RM002"}
    assert [(b.code, overdue, total) for b, overdue, total in response.context["by_branch"]] == [
        ("B01", 2, 2), ("B03", 0, 1)]


def test_interviews_overdue_is_what_the_list_counts(world, client_of):
    response = client_of(world["people"]["branch_manager"]).get(reverse("careers:interview-list"))

    expected = selectors.interviews_overdue(world["people"]["branch_manager"].user, timezone.localdate())
    assert response.context["overdue_count"] == len(expected) == 2
