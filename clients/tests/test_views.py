"""Client pages: who may open what (DOMAIN 1), what they show, and what they cost in queries."""
import datetime as dt
import json
from decimal import Decimal

import factory
import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from clients.filtersets import ClientFilterSet
from clients.models import Assignment, Client, ClientContribution, Complaint, Employee, Interaction, Role
from tests.factories import ClientFactory, EmployeeFactory, MonthlyBusinessFactory, UserFactory

pytestmark = pytest.mark.django_db

LATEST = dt.date(2026, 1, 1)


class ContributionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClientContribution

    client = factory.SubFactory(ClientFactory)
    branch = factory.SelfAttribute("client.branch")
    month = LATEST


@pytest.fixture
def bank(branch, sister_branch, other_branch, rm, other_rm):
    mine = ClientFactory(client_no="C-MINE", name="Zhao Lei", branch=branch, rm=rm, segment=Client.Segment.PRIVATE)
    colleague = ClientFactory(client_no="C-COLL", branch=branch, rm=other_rm)
    sister = ClientFactory(client_no="C-SIS", branch=sister_branch)
    far = ClientFactory(client_no="C-FAR", branch=other_branch)
    MonthlyBusinessFactory(client=mine, month=LATEST, deposit_avg_balance=Decimal("500000.00"),
                           wm_sales=Decimal("20000.00"), loan_avg_balance=Decimal("1200000.00"))
    MonthlyBusinessFactory(client=mine, month=dt.date(2025, 12, 1), deposit_avg_balance=Decimal("1.00"))
    ContributionFactory(client=mine, month=LATEST, loan_profit=Decimal("1130.00"), deposit_profit=Decimal("523.33"),
                        wm_profit=Decimal("798.00"), card_profit=Decimal("205.00"))
    ContributionFactory(client=mine, month=dt.date(2025, 12, 1), loan_profit=Decimal("100.00"))
    # Thirteen months back: outside the 12-month window.
    ContributionFactory(client=mine, month=dt.date(2024, 12, 1), loan_profit=Decimal("9999.00"))
    return {"mine": mine, "colleague": colleague, "sister": sister, "far": far}


def client_url(client):
    return reverse("clients:client-detail", kwargs={"client_no": client.client_no})


def book_url(employee):
    return reverse("clients:rm-book", kwargs={"employee_no": employee.employee_no})


def branch_url(branch):
    return reverse("clients:branch-detail", kwargs={"code": branch.code})


def handover_url(employee):
    return reverse("clients:handover", kwargs={"employee_no": employee.employee_no})


# --- anonymous ----------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["branch-list", "branch", "book", "client", "handover", "lost", "interaction"])
def test_anonymous_visitor_is_sent_to_log_in(page, client, bank, branch, rm):
    url = {
        "branch-list": reverse("clients:branch-list"),
        "branch": branch_url(branch),
        "book": book_url(rm),
        "client": client_url(bank["mine"]),
        "handover": handover_url(rm),
        "lost": reverse("clients:client-lost", kwargs={"client_no": "C-MINE"}),
        "interaction": reverse("clients:interaction-create", kwargs={"client_no": "C-MINE"}),
    }[page]

    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- RM -----------------------------------------------------------------------------------

def test_rm_home_is_their_book_showing_their_clients_only(client_of, bank, rm):
    browser = client_of(rm)

    response = browser.get("/", follow=True)

    assert response.redirect_chain[-1][0] == book_url(rm)
    assert [c.client_no for c in response.context["clients"]] == ["C-MINE"]
    assert b"C-COLL" not in response.content


def test_rm_book_shows_latest_month_aum_and_12_month_contribution(client_of, bank, rm):
    response = client_of(rm).get(book_url(rm))

    mine = response.context["clients"][0]
    assert mine.aum == Decimal("520000.00")
    assert mine.contribution_12m == Decimal("2756.33")
    assert "520,000.00" in response.content.decode()


@pytest.mark.parametrize("target", ["colleague_book", "colleague_client", "sister_client", "branch_page"])
def test_rm_cannot_open_anything_outside_their_book(target, client_of, bank, rm, other_rm, branch):
    url = {"colleague_book": book_url(other_rm), "colleague_client": client_url(bank["colleague"]),
           "sister_client": client_url(bank["sister"]), "branch_page": branch_url(branch)}[target]

    assert client_of(rm).get(url).status_code == 404


def test_rm_cannot_reassign_or_mark_lost(client_of, bank, rm, other_rm):
    browser = client_of(rm)

    assert browser.get(handover_url(rm)).status_code == 403
    response = browser.post(handover_url(rm), {"action": "reassign", "one-client": "C-MINE",
                                               "one-to_rm": other_rm.employee_no, "one-on": "2026-02-01",
                                               "one-reason": "rebalancing"})
    assert response.status_code == 403
    assert browser.get(reverse("clients:client-lost", kwargs={"client_no": "C-MINE"})).status_code == 403
    assert Assignment.objects.get(client=bank["mine"], ended_on__isnull=True).rm == rm


def test_rm_client_page_has_chart_table_and_history(client_of, bank, rm):
    response = client_of(rm).get(client_url(bank["mine"]))

    assert response.status_code == 200
    rows = response.context["contribution_rows"]
    assert [r["month"] for r in rows][0] == dt.date(2025, 2, 1) and rows[-1]["month"] == LATEST
    assert (rows[-1]["loan"], rows[-1]["total"]) == (Decimal("1130.00"), Decimal("2656.33"))
    assert rows[0]["total"] == Decimal("0.00")
    chart = response.context["chart"]
    assert [s["name"] for s in chart["series"]] == ["Loans", "Deposits", "Wealth management", "Cards"]
    assert chart["yaxis"] == "Contribution (元)" and chart["months"][-1] == "2026-01"
    html = response.content.decode()
    assert "vendor/plotly/plotly.min.js" in html and 'id="contribution-chart-data"' in html
    assert "2,656.33" in html
    assert response.context["contribution_totals"]["total"] == Decimal("2756.33")  # 2024-12 is outside
    assert [a.rm for a in response.context["assignments"]] == [rm]
    assert response.context["interaction_form"] is not None
    assert not response.context["may_reassign"]


def test_rm_records_a_call_back_for_their_client(client_of, bank, rm):
    url = reverse("clients:interaction-create", kwargs={"client_no": "C-MINE"})

    response = client_of(rm).post(url, {"interaction-kind": "callback", "interaction-on": "2026-01-15",
                                        "interaction-score": "5", "interaction-channel": "phone"})

    assert response.status_code == 302 and response.url == client_url(bank["mine"])
    interaction = Interaction.objects.get()
    assert (interaction.client, interaction.employee, interaction.score) == (bank["mine"], rm, 5)


def test_call_back_without_score_shows_the_rule_and_stores_nothing(client_of, bank, rm):
    url = reverse("clients:interaction-create", kwargs={"client_no": "C-MINE"})

    response = client_of(rm).post(url, {"interaction-kind": "callback", "interaction-on": "2026-01-15"})

    assert response.status_code == 200
    assert "satisfaction score from 1 to 5" in response.content.decode()
    assert not Interaction.objects.exists()


def test_rm_cannot_record_for_a_colleagues_client(client_of, bank, rm):
    url = reverse("clients:interaction-create", kwargs={"client_no": "C-COLL"})

    response = client_of(rm).post(url, {"interaction-kind": "visit", "interaction-on": "2026-01-15"})

    assert response.status_code == 404
    assert not Interaction.objects.exists()


def test_rm_opens_and_resolves_a_complaint(client_of, bank, rm):
    browser = client_of(rm)
    opened = timezone.localtime() - dt.timedelta(hours=3)
    browser.post(reverse("clients:complaint-open", kwargs={"client_no": "C-MINE"}),
                 {"complaint-subject": "Card fee", "complaint-opened_at": opened.strftime("%Y-%m-%dT%H:%M")})
    complaint = Complaint.objects.get()
    assert complaint.due_at - complaint.opened_at == dt.timedelta(hours=48)

    response = browser.post(
        reverse("clients:complaint-resolve", kwargs={"client_no": "C-MINE", "pk": complaint.pk}),
        {f"resolve-{complaint.pk}-resolved_at": (opened + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
         f"resolve-{complaint.pk}-resolution": "refunded"})

    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.resolution == "refunded" and complaint.response_time == dt.timedelta(hours=1)


# --- branch manager -----------------------------------------------------------------------

def test_branch_manager_sees_their_branch_with_rm_figures(client_of, bank, branch_manager, branch, rm, other_rm):
    browser = client_of(branch_manager)

    listing = browser.get(reverse("clients:branch-list"))
    page = browser.get(branch_url(branch))

    assert [b.code for b in listing.context["branches"]] == ["B01"]
    rms = {e.employee_no: e for e in page.context["rms"]}
    assert set(rms) == {"RM001", "RM002"}
    assert (rms["RM001"].book_size, rms["RM001"].aum, rms["RM001"].contribution_12m) == (
        1, Decimal("520000.00"), Decimal("2756.33"))
    assert (rms["RM002"].book_size, rms["RM002"].aum) == (1, Decimal("0.00"))
    assert handover_url(rm).encode() in page.content


@pytest.mark.parametrize("target", ["sister_branch", "other_branch", "sister_rm", "sister_client", "far_client",
                                    "sister_handover"])
def test_branch_manager_gets_404_outside_their_branch(target, client_of, bank, branch_manager, sister_branch,
                                                      other_branch):
    sister_rm = Assignment.objects.get(client=bank["sister"]).rm
    url = {"sister_branch": branch_url(sister_branch), "other_branch": branch_url(other_branch),
           "sister_rm": book_url(sister_rm), "sister_client": client_url(bank["sister"]),
           "far_client": client_url(bank["far"]), "sister_handover": handover_url(sister_rm)}[target]

    assert client_of(branch_manager).get(url).status_code == 404


def test_branch_manager_reassigns_one_client(client_of, bank, branch_manager, rm, other_rm):
    browser = client_of(branch_manager)
    page = browser.get(handover_url(rm) + "?client=C-MINE")
    assert page.context["reassign_form"]["client"].value() == "C-MINE"

    response = browser.post(handover_url(rm), {
        "action": "reassign", "one-client": "C-MINE", "one-to_rm": other_rm.employee_no,
        "one-on": "2026-02-01", "one-reason": "client_request", "one-note": "asked for Wang"})

    assert response.status_code == 302
    current = Assignment.objects.get(client=bank["mine"], ended_on__isnull=True)
    assert (current.rm, current.reason, current.note) == (other_rm, "client_request", "asked for Wang")


def test_branch_manager_cannot_pick_a_client_of_another_branch(client_of, bank, branch_manager, rm, other_rm):
    response = client_of(branch_manager).post(handover_url(rm), {
        "action": "reassign", "one-client": "C-SIS", "one-to_rm": other_rm.employee_no,
        "one-on": "2026-02-01", "one-reason": "rebalancing"})

    assert response.status_code == 200
    assert response.context["reassign_form"].errors["client"]
    assert Assignment.objects.filter(client=bank["sister"], ended_on__isnull=True).exclude(rm=other_rm).exists()


def test_book_handover_previews_then_applies_the_confirmed_plan(client_of, bank, branch_manager, rm, other_rm,
                                                               branch):
    third = EmployeeFactory(employee_no="RM003", branch=branch, role=Role.RM)
    second_client = ClientFactory(client_no="C-MINE2", branch=branch, rm=rm)
    browser = client_of(branch_manager)

    preview = browser.post(handover_url(rm), {
        "action": "preview", "book-targets": [other_rm.employee_no, third.employee_no],
        "book-on": "2026-02-01", "book-reason": "exit_handover", "book-note": "leaving"})

    assert preview.status_code == 200
    form = preview.context["confirm_form"]
    assert Assignment.objects.filter(rm=rm, ended_on__isnull=True).count() == 2  # nothing written yet
    proposed = {c.client_no: field.value() for c, field in form.plan_rows()}
    # The larger client goes to the empty book; the other evens the counts out.
    assert proposed == {"C-MINE": "RM003", "C-MINE2": "RM002"}

    response = browser.post(handover_url(rm), {
        "action": "confirm", "plan-on": "2026-02-01", "plan-reason": "exit_handover", "plan-note": "leaving",
        "plan-plan_C-MINE": "RM002", "plan-plan_C-MINE2": "RM003"})

    assert response.status_code == 302
    assert Assignment.objects.get(client=bank["mine"], ended_on__isnull=True).rm == other_rm
    assert Assignment.objects.get(client=second_client, ended_on__isnull=True).rm == third
    assert not Assignment.objects.filter(rm=rm, ended_on__isnull=True).exists()


def test_rm_left_is_refused_with_a_message_while_they_have_clients(client_of, bank, branch_manager, rm):
    response = client_of(branch_manager).post(handover_url(rm), {"action": "left", "left-on": "2026-02-01"})

    assert response.status_code == 200
    assert "still responsible for 1 client" in response.content.decode()
    rm.refresh_from_db()
    assert rm.status == Employee.Status.ACTIVE


def test_rm_left_is_recorded_once_the_book_is_empty(client_of, branch_manager, rm, branch):
    response = client_of(branch_manager).post(handover_url(rm), {"action": "left", "left-on": "2026-02-01"})

    assert response.status_code == 302 and response.url == branch_url(branch)
    rm.refresh_from_db()
    assert (rm.status, rm.left_on) == (Employee.Status.LEFT, dt.date(2026, 2, 1))


def test_branch_manager_marks_a_client_lost(client_of, bank, branch_manager):
    url = reverse("clients:client-lost", kwargs={"client_no": "C-COLL"})

    response = client_of(branch_manager).post(url, {"lost-on": "2026-02-01", "lost-reason": "moved abroad"})

    assert response.status_code == 302
    bank["colleague"].refresh_from_db()
    assert (bank["colleague"].status, bank["colleague"].lost_reason) == (Client.Status.LOST, "moved abroad")


def test_unknown_handover_action_is_a_bad_request(client_of, branch_manager, rm):
    assert client_of(branch_manager).post(handover_url(rm), {"action": "explode"}).status_code == 400


# --- department head, reviewer, HR --------------------------------------------------------

def test_department_head_sees_the_branch_but_cannot_hand_over(client_of, bank, department_head, branch, rm):
    browser = client_of(department_head)

    assert browser.get(branch_url(branch)).status_code == 200
    assert browser.get(client_url(bank["colleague"])).status_code == 200
    assert browser.get(handover_url(rm)).status_code == 403
    assert browser.get(client_url(bank["sister"])).status_code == 404


def test_reviewer_sees_the_regions_branches_and_may_not_record(client_of, bank, reviewer, sister_branch):
    browser = client_of(reviewer)

    listing = browser.get(reverse("clients:branch-list"))

    assert [b.code for b in listing.context["branches"]] == ["B01", "B02"]
    assert browser.get(branch_url(sister_branch)).status_code == 200
    assert browser.get(client_url(bank["sister"])).status_code == 200
    assert browser.get(client_url(bank["far"])).status_code == 404
    page = browser.get(client_url(bank["sister"]))
    assert page.context["interaction_form"] is None
    url = reverse("clients:interaction-create", kwargs={"client_no": "C-SIS"})
    assert browser.post(url, {"interaction-kind": "visit", "interaction-on": "2026-01-15"}).status_code == 403


def test_hr_sees_the_whole_bank_and_may_hand_over_anywhere(client_of, bank, hr, other_branch):
    browser = client_of(hr)
    far_rm = Assignment.objects.get(client=bank["far"]).rm

    listing = browser.get(reverse("clients:branch-list"))

    assert [b.code for b in listing.context["branches"]] == ["B01", "B02", "B03"]
    assert browser.get(branch_url(other_branch)).status_code == 200
    assert browser.get(client_url(bank["far"])).status_code == 200
    assert browser.get(handover_url(far_rm)).status_code == 200


# --- the book page: filters, sorting, htmx ------------------------------------------------

@pytest.fixture
def big_book(rm, branch):
    clients = []
    for n in range(30):
        client = ClientFactory(client_no=f"C{n:03d}", name=f"Name {n:03d}", branch=branch, rm=rm,
                               segment=[Client.Segment.MASS, Client.Segment.AFFLUENT, Client.Segment.PRIVATE][n % 3])
        MonthlyBusinessFactory(client=client, month=LATEST, deposit_avg_balance=Decimal(1000 * n))
        ContributionFactory(client=client, month=LATEST, loan_profit=Decimal(30 - n))
        clients.append(client)
    return clients


def test_book_sorts_by_aum_descending_and_paginates(client_of, big_book, rm):
    response = client_of(rm).get(book_url(rm), {"sort": "-aum"})

    clients = list(response.context["clients"])
    assert len(clients) == 25 and response.context["paginator"].count == 30
    assert [c.client_no for c in clients[:3]] == ["C029", "C028", "C027"]
    assert 'aria-sort="descending"' in response.content.decode()


def test_book_sorts_by_contribution_and_segment(client_of, big_book, rm):
    browser = client_of(rm)

    by_contribution = browser.get(book_url(rm), {"sort": "-contribution"}).context["clients"]
    by_segment = browser.get(book_url(rm), {"sort": "-segment"}).context["clients"]

    assert by_contribution[0].client_no == "C000"
    assert {c.segment for c in list(by_segment)[:10]} == {Client.Segment.PRIVATE}


def test_book_filters_with_the_client_filterset(client_of, big_book, rm):
    browser = client_of(rm)

    affluent = browser.get(book_url(rm), {"segment": "affluent"})
    named = browser.get(book_url(rm), {"q": "name 007"})

    assert affluent.context["paginator"].count == 10
    assert [c.client_no for c in named.context["clients"]] == ["C007"]


def test_book_unknown_sort_falls_back_to_client_number(client_of, big_book, rm):
    response = client_of(rm).get(book_url(rm), {"sort": "password"})

    assert response.context["clients"][0].client_no == "C000"


def test_htmx_request_gets_only_the_results(client_of, big_book, rm):
    response = client_of(rm).get(book_url(rm), {"page": 2}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "<html" not in html and 'id="book-results"' in html
    assert "C025" in html
    assert "HX-Request" in response["Vary"]


# --- query counts -------------------------------------------------------------------------

def test_book_page_queries_do_not_grow_with_the_book(client_of, big_book, rm, django_assert_max_num_queries):
    browser = client_of(rm)
    with django_assert_max_num_queries(8):
        response = browser.get(book_url(rm), {"sort": "-contribution"})
    assert len(response.context["clients"]) == 25


def test_branch_page_queries_do_not_grow_with_the_rms(client_of, branch_manager, branch,
                                                       django_assert_max_num_queries):
    for n in range(15):
        employee = EmployeeFactory(branch=branch, role=Role.RM)
        ClientFactory(branch=branch, rm=employee)
    browser = client_of(branch_manager)

    with django_assert_max_num_queries(7):
        response = browser.get(branch_url(branch))

    assert len(response.context["rms"]) == 15


def test_branch_page_lists_the_rms_25_a_page_with_the_book_figures_of_each_page(client_of, branch_manager, branch):
    rms = [EmployeeFactory(branch=branch, role=Role.RM, employee_no=f"P{n:03d}") for n in range(30)]
    ClientFactory(branch=branch, rm=rms[0])
    ClientFactory(branch=branch, rm=rms[-1])
    ClientFactory(branch=branch, rm=rms[-1])
    browser = client_of(branch_manager)

    first = browser.get(branch_url(branch))
    second = browser.get(branch_url(branch), {"page": 2})

    assert [(e.employee_no, e.book_size) for e in first.context["rms"]] == (
        [("P000", 1)] + [(f"P{n:03d}", 0) for n in range(1, 25)])
    assert [(e.employee_no, e.book_size) for e in second.context["rms"]] == (
        [(f"P{n:03d}", 0) for n in range(25, 29)] + [("P029", 2)])
    assert b'rel="next"' in first.content and b'rel="prev"' in second.content


def test_branch_list_queries_do_not_grow_with_the_branches(client_of, hr, django_assert_max_num_queries):
    for n in range(10):
        ClientFactory(branch__code=f"X{n:02d}")
    browser = client_of(hr)

    with django_assert_max_num_queries(5):
        response = browser.get(reverse("clients:branch-list"))

    assert len(response.context["branches"]) >= 10


def test_client_page_queries_do_not_grow_with_its_history(client_of, bank, branch_manager, rm,
                                                          django_assert_max_num_queries):
    client = bank["mine"]
    for n in range(10):
        Interaction.objects.create(client=client, employee=rm, kind="visit", occurred_on=LATEST)
        Complaint.objects.create(client=client, rm=rm, subject=f"s{n}", opened_at=timezone.now(),
                                 due_at=timezone.now())
    browser = client_of(branch_manager)

    with django_assert_max_num_queries(10):
        response = browser.get(client_url(client))

    assert len(response.context["complaints"]) == 10


def test_handover_preview_queries_do_not_grow_with_the_book(client_of, big_book, branch_manager, rm, other_rm,
                                                            django_assert_max_num_queries):
    browser = client_of(branch_manager)

    with django_assert_max_num_queries(16):
        response = browser.post(handover_url(rm), {
            "action": "preview", "book-targets": [other_rm.employee_no], "book-on": "2026-02-01",
            "book-reason": "exit_handover"})

    assert len(response.context["confirm_form"].clients) == 30


# --- language -----------------------------------------------------------------------------

def test_language_switch_turns_the_page_chinese(client_of, bank, rm):
    browser = client_of(rm)

    response = browser.post(reverse("set_language"), {"language": "zh-hans", "next": book_url(rm)})
    page = browser.get(book_url(rm))

    assert response.status_code == 302 and response.url == book_url(rm)
    assert 'lang="zh-hans"' in page.content.decode()
    assert page["Content-Language"] == "zh-hans"


def test_chart_labels_follow_the_language(client_of, bank, rm):
    browser = client_of(rm)
    browser.post(reverse("set_language"), {"language": "en"})

    page = browser.get(client_url(bank["mine"]))

    data = json.loads(page.content.decode().split('id="contribution-chart-data" type="application/json">')[1]
                      .split("</script>")[0])
    assert data["series"][0]["values"][-1] == "1130.00"
    assert data["title"].startswith("Profit contribution")


# --- the filter set, shared with the API --------------------------------------------------

def test_filterset_refuses_a_branch_the_user_may_not_see(rf, bank, branch_manager, sister_branch):
    request = rf.get("/", {"branch": sister_branch.code})
    request.user = branch_manager.user
    filterset = ClientFilterSet(request.GET, queryset=Client.objects.restrict(branch_manager.user),
                                request=request)

    assert not filterset.is_valid()
    assert "branch" in filterset.errors


def test_filterset_filters_by_branch_code_and_rm_employee_number(rf, bank, hr, other_rm):
    def run(**params):
        request = rf.get("/", params)
        request.user = hr.user
        return sorted(ClientFilterSet(request.GET, queryset=Client.objects.restrict(hr.user), request=request)
                      .qs.values_list("client_no", flat=True))

    assert run(branch="B01") == ["C-COLL", "C-MINE"]
    assert run(rm="RM002") == ["C-COLL"]
    assert run(q="zhao") == ["C-MINE"]


# --- admin --------------------------------------------------------------------------------

def test_admin_lists_of_clients_and_careers_models_open_for_a_superuser(client, bank):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    models = [m for m in admin.site._registry if m._meta.app_label in {"clients", "careers"}]

    assert {"client", "assignment", "employee", "jobsequence", "level"} <= {m._meta.model_name for m in models}
    for model in models:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("admin:clients_client_change", args=[bank["mine"].pk])).status_code == 200
