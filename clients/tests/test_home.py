"""The branch home (clients:branch-home): who may open it, what each card shows, the lists behind
its figures, the RM-table export and what the page costs in queries."""
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db.models import Q, Sum
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from careers.models import CareerInterview, RiskAlert, RiskScore
from careers.selectors import DEFAULT_INTERVIEW_MONTHS, add_months, interviews_due
from clients import home, services
from clients.contribution import ContributionMethod, contribution_recompute, contribution_total_sum
from clients.models import (Client, ClientContribution, Complaint, ContributionParameter, Employee, MonthlyBusiness,
                            Role)
from clients.selectors import AUM
from core.templatetags.portal_money import money_in_unit
from performance.models import Appraisal, PerformancePool, PoolEntry, Scheme
from tests.factories import (ClientFactory, EmployeeFactory, JobSequenceFactory, LevelFactory,
                             MonthlyBusinessFactory)

pytestmark = pytest.mark.django_db

D = Decimal
DEC, JAN, FEB = dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)
MISSING = [{"indicator": "dep", "name": "Deposits", "missing": "target"}]


def home_url(branch):
    return reverse("clients:branch-home", kwargs={"code": branch.code})


def business(client, month, n):
    MonthlyBusinessFactory(client=client, month=month, deposit_avg_balance=D("200000.00") * n,
                           wm_sales=D("15000.50") * n, loan_avg_balance=D("400000.00") * n,
                           loan_interest_income=D("1500.00") * n, loan_accounts=1, loan_term="1y_3y",
                           deposit_accounts=1, card_count=1, card_fee_income=D("40.00") * n)


@pytest.fixture
def parameters():
    for month in (DEC, JAN, FEB):
        for key, value in {"tax_rate": "0.06", "ftp_loan_1y_3y": "0.029", "ftp_deposit": "0.02",
                           "cost_loan": "100", "cost_deposit": "20", "cost_card": "5"}.items():
            ContributionParameter.objects.create(branch=None, month=month, key=key, value=D(value))


@pytest.fixture
def sister_rm(sister_branch):
    return EmployeeFactory(employee_no="RM201", branch=sister_branch)


@pytest.fixture
def scheme_of():
    def make(branch):
        return Scheme.objects.get_or_create(code=f"S-{branch.code}", defaults={"name": "Scheme", "branch": branch})[0]
    return make


def appraisal(employee, period, state, grade="", missing=None, scheme=None):
    return Appraisal.objects.create(employee=employee, scheme=scheme, branch=employee.branch, period=period,
                                    period_kind="month", state=state, grade=grade, total=D("80"),
                                    missing=missing or [], computed_at=timezone.now())


def allocation(pool, employee, amount, period="2026-01"):
    return PoolEntry.objects.create(pool=pool, kind=PoolEntry.Kind.ALLOCATION, amount=D(amount), period=period,
                                    employee=employee, reason=PoolEntry.Reason.DILIGENCE, justification="worked hard",
                                    balance_after=pool.balance)


def alert(employee, score, status=RiskAlert.Status.OPEN, note=""):
    risk_score = RiskScore.objects.create(employee=employee, month=FEB, score=D(score), band="high", factors={})
    return RiskAlert.objects.create(employee=employee, score=risk_score, trigger=RiskAlert.Trigger.ENTERED_HIGH,
                                    status=status, action_note=note)


@pytest.fixture
def home_bank(branch, sister_branch, other_branch, rm, other_rm, sister_rm, branch_manager, parameters, scheme_of):
    """B01: rm (a private and a mass client), other_rm (an affluent client); B02 and B03 one client
    each. Three months of business, appraisals of two periods, a pool, alerts, interviews,
    complaints and lost clients, each with a twin in another branch that must not count."""
    today = timezone.localdate()
    now = timezone.now()
    clients = {
        "private": ClientFactory(branch=branch, rm=rm, segment=Client.Segment.PRIVATE),
        "mass": ClientFactory(branch=branch, rm=rm),
        "affluent": ClientFactory(branch=branch, rm=other_rm, segment=Client.Segment.AFFLUENT),
        "sister": ClientFactory(branch=sister_branch, rm=sister_rm),
        "far": ClientFactory(branch=other_branch),
    }
    for n, client in enumerate(clients.values(), start=1):
        for k, month in enumerate((DEC, JAN, FEB)):
            business(client, month, n + k)
    contribution_recompute(months=[DEC, JAN, FEB])

    # Lost this month in B01 (counts), last month in B01 and this month in B02 (do not).
    lost = ClientFactory(branch=branch, rm=rm)
    services.client_mark_lost(client=lost, on=today, reason="moved to another city", by=branch_manager.user)
    earlier = ClientFactory(branch=branch, rm=rm)
    services.client_mark_lost(client=earlier, on=today.replace(day=1) - dt.timedelta(days=1), reason="left",
                              by=branch_manager.user)
    services.client_mark_lost(client=ClientFactory(branch=sister_branch, rm=sister_rm), on=today, reason="left",
                              by=branch_manager.user)

    # Complaints: one of B01 open past its deadline counts; open in time, resolved, B02 do not.
    late = now - dt.timedelta(hours=72)
    for client, opened, resolved in ((clients["mass"], late, None), (clients["private"], now, None),
                                     (clients["affluent"], late, now), (clients["sister"], late, None)):
        Complaint.objects.create(client=client, subject="Fees", opened_at=opened,
                                 due_at=opened + dt.timedelta(hours=48), resolved_at=resolved,
                                 resolution="refunded" if resolved else "")

    # Appraisals: 2026-01 closed (all approved), 2026-02 under way; B02 has its own.
    scheme = scheme_of(branch)
    appraisal(rm, "2026-01", Appraisal.State.APPROVED, "good", scheme=scheme)
    appraisal(other_rm, "2026-01", Appraisal.State.PUBLISHED, "excellent", scheme=scheme)
    appraisal(rm, "2026-02", Appraisal.State.COMPUTED, missing=MISSING, scheme=scheme)
    appraisal(other_rm, "2026-02", Appraisal.State.SUBMITTED, scheme=scheme)
    appraisal(sister_rm, "2026-02", Appraisal.State.COMPUTED, missing=MISSING, scheme=scheme_of(sister_branch))

    pool = PerformancePool.objects.create(branch=branch, balance=D("4000.00"))
    allocation(pool, rm, "1000.00")
    allocation(pool, other_rm, "500.00", period="2026-02")
    sister_pool = PerformancePool.objects.create(branch=sister_branch, balance=D("9.00"))
    allocation(sister_pool, sister_rm, "7.00")

    alert(rm, "82.50")
    alert(other_rm, "71.00", status=RiskAlert.Status.RESOLVED, note="talked it through")
    alert(sister_rm, "90.00")

    # rm: no interview since hiring in 2020 (overdue); other_rm: held one almost six months ago.
    CareerInterview.objects.create(employee=other_rm, scheduled_on=add_months(today, -6) + dt.timedelta(days=10),
                                   held_on=add_months(today, -6) + dt.timedelta(days=10), outcome="on_track")
    CareerInterview.objects.create(employee=sister_rm, scheduled_on=today, held_on=today, outcome="on_track")
    return {"clients": clients, "lost": lost, "today": today, "rm": rm, "other_rm": other_rm}


# --- who may open it ---------------------------------------------------------------------------

def test_anonymous_visitor_is_sent_to_log_in(client, branch):
    response = client.get(home_url(branch))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_rm_is_refused(client_of, rm, branch):
    assert client_of(rm).get(home_url(branch)).status_code == 403


@pytest.mark.parametrize("role", ["branch_manager", "department_head"])
def test_branch_roles_open_their_own_branch_and_no_other(role, request, client_of, branch, sister_branch):
    browser = client_of(request.getfixturevalue(role))

    assert browser.get(home_url(branch)).status_code == 200
    assert browser.get(home_url(sister_branch)).status_code == 404


def test_reviewer_opens_the_branches_of_their_region_only(client_of, reviewer, branch, sister_branch, other_branch):
    browser = client_of(reviewer)

    assert browser.get(home_url(branch)).status_code == 200
    assert browser.get(home_url(sister_branch)).status_code == 200
    assert browser.get(home_url(other_branch)).status_code == 404


def test_hr_opens_any_branch(client_of, hr, other_branch):
    assert client_of(hr).get(home_url(other_branch)).status_code == 200


def test_unknown_branch_is_404(client_of, hr):
    assert client_of(hr).get(reverse("clients:branch-home", kwargs={"code": "NOPE"})).status_code == 404


# --- landing page and navigation ---------------------------------------------------------------

@pytest.mark.parametrize("role", ["branch_manager", "department_head"])
def test_branch_roles_land_on_their_branch_home(role, request, client_of, branch):
    response = client_of(request.getfixturevalue(role)).get(reverse("home"))

    assert response.status_code == 302 and response.url == home_url(branch)


def test_hr_lands_on_the_attrition_dashboard_when_there_is_one(client_of, hr):
    try:
        expected = reverse("careers:attrition")
    except NoReverseMatch:
        expected = reverse("clients:branch-list")

    assert client_of(hr).get(reverse("home")).url == expected


def test_reviewer_still_lands_on_the_branches(client_of, reviewer):
    assert client_of(reviewer).get(reverse("home")).url == reverse("clients:branch-list")


def test_branch_manager_navigation_and_branch_page_offer_the_branch_home(client_of, branch_manager, branch):
    html = client_of(branch_manager).get(reverse("clients:branch-list")).content.decode()

    assert f'<a href="{home_url(branch)}"' in html
    assert f'href="{home_url(branch)}"' in client_of(branch_manager).get(
        reverse("clients:branch-detail", kwargs={"code": branch.code})).content.decode().split("</header>")[1]


# --- the cards -----------------------------------------------------------------------------------

def direct_profit(employee, months):
    """Profit contribution of the client-months an RM owned at each month's end, from the ORM."""
    total = D("0.00")
    for month in months:
        last_day = add_months(month, 1) - dt.timedelta(days=1)
        owned = employee.assignments.filter(Q(ended_on__isnull=True) | Q(ended_on__gt=last_day),
                                            started_on__lte=last_day).values("client_id")
        total += ClientContribution.objects.filter(month=month, client_id__in=owned).aggregate(
            t=contribution_total_sum(ContributionMethod.PROFIT))["t"]
    return total


def test_rm_table_ranks_the_branch_rms_by_12_month_profit_with_book_and_aum(client_of, home_bank, branch_manager,
                                                                            rm, other_rm):
    books = client_of(branch_manager).get(home_url(rm.branch)).context["books"]

    assert books.month == FEB and books.rm_count == 2 and books.lowest == []
    ranking = sorted([rm, other_rm], key=lambda e: (-direct_profit(e, [DEC, JAN, FEB]), e.employee_no))
    assert [row.rm for row in books.top] == ranking
    assert [row.rank for row in books.top] == [1, 2]
    mine = next(row for row in books.top if row.rm == rm)
    assert mine.book_size == 2  # the lost clients' assignments ended
    assert mine.latest.clients == 2 and mine.latest.private_affluent == 1
    assert mine.latest.aum == MonthlyBusiness.objects.filter(
        month=FEB, client__in=[home_bank["clients"]["private"], home_bank["clients"]["mass"]]).aggregate(
        a=Sum(AUM))["a"]
    assert mine.profit_12m == direct_profit(rm, [DEC, JAN, FEB])
    assert len(mine.profits) == 12 and mine.profits[-3:] == [mine.months[-3].profit, mine.months[-2].profit,
                                                            mine.months[-1].profit]


def test_a_large_branch_lists_its_top_and_lowest_rms_and_points_to_all_of_them(client_of, home_bank, branch_manager,
                                                                              branch, rm, other_rm, monkeypatch):
    newcomer = EmployeeFactory(employee_no="RM003", branch=branch)  # no client yet: the lowest
    monkeypatch.setattr(home, "TOP_RMS", 1)
    monkeypatch.setattr(home, "LOWEST_RMS", 1)
    browser = client_of(branch_manager)

    response = browser.get(home_url(branch))
    books = response.context["books"]
    best, middle = sorted([rm, other_rm], key=lambda e: (-direct_profit(e, [DEC, JAN, FEB]), e.employee_no))
    assert books.rm_count == 3
    assert [(row.rank, row.rm) for row in books.top] == [(1, best)]
    assert [(row.rank, row.rm, row.book_size, row.profit_12m) for row in books.lowest] == [(3, newcomer, 0, D("0"))]
    html = response.content.decode()
    book = {e: f'href="{reverse("clients:rm-book", kwargs={"employee_no": e.employee_no})}"'
            for e in (best, middle, newcomer)}
    assert book[best] in html and book[newcomer] in html and book[middle] not in html
    everyone = reverse("clients:branch-detail", kwargs={"code": branch.code})
    assert f'class="rm-ranking__more"><a href="{everyone}"' in html
    exported = browser.get(home_url(branch), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["RM001", "RM002", "RM003"]


def test_branch_chart_totals_are_the_branch_books_per_month(client_of, home_bank, branch_manager, branch):
    response = client_of(branch_manager).get(home_url(branch))
    books, chart = response.context["books"], response.context["chart"]

    february = books.branch[-1]
    b01 = MonthlyBusiness.objects.filter(month=FEB, client__branch=branch)
    assert february.aum == b01.aggregate(a=Sum(AUM))["a"]
    assert february.clients == 3 and february.private_affluent == 2
    assert books.profit_12m == direct_profit(home_bank["rm"], [DEC, JAN, FEB]) + direct_profit(
        home_bank["other_rm"], [DEC, JAN, FEB])
    assert chart["months"][-3:] == ["2025-12", "2026-01", "2026-02"]
    assert chart["aum"][-1] == str(money_in_unit(february.aum))
    assert b'id="branch-chart"' in response.content and b"plotly.min.js" in response.content


def test_appraisal_card_shows_the_newest_period_progress_and_the_last_closed_grades(client_of, home_bank,
                                                                                     branch_manager, branch):
    overview = client_of(branch_manager).get(home_url(branch)).context["appraisals"]

    assert overview.period == "2026-02"
    states = {state: count for state, _label, count in overview.states}
    assert (states["computed"], states["submitted"], states["approved"]) == (1, 1, 0)
    assert overview.total == 2 and overview.missing_inputs == 1
    assert overview.closed_period == "2026-01"
    grades = {g.grade: (g.count, g.share) for g in overview.grades}
    assert grades["good"] == (1, D("50.0")) and grades["excellent"] == (1, D("50.0")) and grades["fail"][0] == 0


def test_pool_card_shows_the_branch_balance_and_latest_allocations(client_of, home_bank, branch_manager, branch):
    pool = client_of(branch_manager).get(home_url(branch)).context["pool"]

    assert pool.balance == D("4000.00")
    assert [entry.amount for entry in pool.allocations] == [D("500.00"), D("1000.00")]


def test_alert_card_shows_the_unresolved_alerts_of_the_branch_with_the_book_at_risk(client_of, home_bank,
                                                                                    branch_manager, branch, rm):
    alerts = client_of(branch_manager).get(home_url(branch)).context["alerts"]

    assert [row.alert.employee for row in alerts.rows] == [rm]
    assert alerts.clients == 2 and alerts.private_affluent == 1
    assert alerts.aum == MonthlyBusiness.objects.filter(
        month=FEB, client__in=[home_bank["clients"]["private"], home_bank["clients"]["mass"]]).aggregate(
        a=Sum(AUM))["a"]


def test_alert_card_is_left_out_for_roles_that_cannot_open_the_alerts(client_of, home_bank, department_head,
                                                                     reviewer, branch):
    for employee in (department_head, reviewer):
        response = client_of(employee).get(home_url(branch))
        assert response.context["alerts"] is None
        assert reverse("risk:alerts").encode() not in response.content


def test_interview_card_counts_overdue_and_coming_interviews(client_of, home_bank, branch_manager, branch, rm,
                                                           other_rm):
    interviews = client_of(branch_manager).get(home_url(branch)).context["interviews"]

    assert [row.employee for row in interviews.overdue] == [rm] and interviews.overdue_count == 1
    assert interviews.overdue[0].due_on == add_months(rm.hired_on, DEFAULT_INTERVIEW_MONTHS)
    assert interviews.due_soon_count == 1  # other_rm


def test_interview_card_agrees_with_the_interview_list_rule(home_bank, branch_manager, branch):
    """The card computes the due dates itself; they are those of careers.selectors.interviews_due."""
    yearly = LevelFactory(sequence=JobSequenceFactory(code="yearly", interview_interval_months=12))
    EmployeeFactory(branch=branch, level=yearly, hired_on=add_months(home_bank["today"], -13))  # overdue
    EmployeeFactory(branch=branch, level=yearly, hired_on=add_months(home_bank["today"], -12)
                    + dt.timedelta(days=10))  # due soon
    EmployeeFactory(branch=branch, hired_on=None)  # never due
    planned = EmployeeFactory(branch=branch, hired_on=dt.date(2019, 5, 31))
    CareerInterview.objects.create(employee=planned, scheduled_on=home_bank["today"])
    for as_of in (home_bank["today"], dt.date(2021, 2, 28), dt.date(2019, 12, 31)):
        card = home.interview_overview(branch_manager.user, branch=branch, as_of=as_of)
        rows = interviews_due(branch_manager.user, as_of=as_of, employees=Employee.objects.filter(branch=branch))
        overdue = sorted((r for r in rows if r.overdue), key=lambda r: (r.due_on, r.employee.employee_no))
        soon = [r for r in rows if r.due_on and as_of <= r.due_on <= as_of + dt.timedelta(days=home.DUE_SOON_DAYS)]

        assert card.overdue_count == len(overdue) and card.due_soon_count == len(soon)
        assert [(r.employee, r.due_on, r.last_held_on, r.next_scheduled_on) for r in card.overdue] == [
            (r.employee, r.due_on, r.last_held_on, r.next_scheduled_on) for r in overdue[:home.LISTED]]


def test_complaint_and_lost_client_cards_count_only_this_branch(client_of, home_bank, branch_manager, branch):
    context = client_of(branch_manager).get(home_url(branch)).context

    assert context["complaints_overdue_count"] == 1
    assert [c.client for c in context["complaints_overdue"]] == [home_bank["clients"]["mass"]]
    assert context["lost_count"] == 1
    assert list(context["lost_clients"]) == [home_bank["lost"]]


def test_empty_branch_renders_every_card_with_nothing_to_show(client_of, hr, other_branch):
    response = client_of(hr).get(home_url(other_branch))

    assert response.status_code == 200
    books = response.context["books"]
    assert books.rm_count == 0 and books.top == books.lowest == [] and not books.has_data
    assert response.context["appraisals"].period is None
    assert b"plotly.min.js" not in response.content


# --- the lists behind the figures ----------------------------------------------------------------

def test_each_figure_links_to_a_list_holding_that_many_rows(client_of, home_bank, branch_manager, branch):
    browser = client_of(branch_manager)
    html = browser.get(home_url(branch)).content.decode()
    code, today = branch.code, home_bank["today"]
    links = {
        "missing": (f"{reverse('performance:appraisal-list')}?period=2026-02&amp;branch={code}&amp;missing=true", 1),
        "excellent": (f"{reverse('performance:appraisal-list')}?period=2026-01&amp;branch={code}&amp;grade=excellent", 1),
        "complaints": (f"{reverse('clients:complaint-list')}?branch={code}&amp;state=overdue", 1),
        "lost": (f"{reverse('clients:client-list')}?branch={code}&amp;status=lost&amp;"
                 f"lost_from={today.replace(day=1):%Y-%m-%d}", 1),
        "overdue": (f"{reverse('careers:interview-list')}?branch={code}&amp;overdue=1", 1),
        "due": (f"{reverse('careers:interview-list')}?branch={code}&amp;due=30", 1),
        "alerts": (f"{reverse('risk:alerts')}?branch={code}", 1),
    }
    for name, (link, count) in links.items():
        assert f'href="{link}"' in html, name
        listed = browser.get(link.replace("&amp;", "&")).context
        rows = listed.get("paginator") or listed["page_obj"].paginator
        assert rows.count == count, name
    assert f'href="{reverse("performance:pool-detail", kwargs={"code": code})}"' in html


def test_client_list_filters_lost_clients_by_date_within_the_users_scope(client_of, home_bank, branch_manager,
                                                                        sister_branch):
    browser = client_of(branch_manager)
    since = home_bank["today"].replace(day=1)

    response = browser.get(reverse("clients:client-list"), {"status": "lost", "lost_from": f"{since:%Y-%m-%d}"})
    assert list(response.context["clients"]) == [home_bank["lost"]]
    # Another branch cannot be chosen: the filter is invalid and lists nothing.
    assert browser.get(reverse("clients:client-list"), {"branch": sister_branch.code}).context["paginator"].count == 0


def test_complaint_list_shows_an_rm_only_the_complaints_of_their_book(client_of, home_bank, rm, other_rm):
    listed = client_of(other_rm).get(reverse("clients:complaint-list")).context["complaints"]

    assert [c.client for c in listed] == [home_bank["clients"]["affluent"]]


# --- export ----------------------------------------------------------------------------------------

def test_csv_export_holds_only_the_branch_rms(client_of, home_bank, branch_manager, branch, rm, other_rm):
    response = client_of(branch_manager).get(home_url(branch), {"format": "csv"})

    assert response["Content-Disposition"] == 'attachment; filename="rms-B01-2026-02.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [rm.employee_no, other_rm.employee_no]
    assert len(rows[0]) == 9 + 12
    books = client_of(branch_manager).get(home_url(branch)).context["books"]
    mine = next(row for row in books.top if row.rm == rm)
    assert D(rows[1][8]) == mine.profit_12m
    assert [D(value) for value in rows[1][9:]] == mine.profits


def test_xlsx_export_of_another_branch_is_404_and_of_the_own_branch_a_workbook(client_of, home_bank,
                                                                              branch_manager, branch,
                                                                              sister_branch):
    browser = client_of(branch_manager)

    assert browser.get(home_url(sister_branch), {"format": "xlsx"}).status_code == 404
    response = browser.get(home_url(branch), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["RM001", "RM002"]


# --- cost -------------------------------------------------------------------------------------------

def _grow(branch, scheme, count):
    """``count`` more RMs of the branch, each with clients, business, an appraisal and an alert."""
    for n in range(count):
        employee = EmployeeFactory(branch=branch, role=Role.RM)
        for _ in range(3):
            client = ClientFactory(branch=branch, rm=employee, segment=Client.Segment.AFFLUENT)
            for k, month in enumerate((DEC, JAN, FEB)):
                business(client, month, k + 1)
        appraisal(employee, "2026-02", Appraisal.State.COMPUTED, scheme=scheme)
        appraisal(employee, "2026-01", Appraisal.State.APPROVED, "pass", scheme=scheme)
        alert(employee, "75.00")
    contribution_recompute(months=[DEC, JAN, FEB])


PAGE_QUERIES = 27  # session, user, employee, branch and the cards: 25 today


def test_page_queries_do_not_grow_with_rms_and_clients(client_of, home_bank, branch_manager, branch, scheme_of,
                                                       django_assert_max_num_queries):
    browser = client_of(branch_manager)
    browser.get(home_url(branch))  # a first visit, so that the second one is measured like any other

    with django_assert_max_num_queries(PAGE_QUERIES) as small:
        browser.get(home_url(branch))
    _grow(branch, scheme_of(branch), 12)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = browser.get(home_url(branch))
    assert response.context["books"].rm_count == len(response.context["books"].top) == 14


# --- money in the reader's unit -----------------------------------------------------------------------

def test_money_is_shown_in_wan_in_chinese_and_in_thousands_in_english():
    template = Template("{% load portal_money %}{{ amount|money_wan }} {% money_unit %}")
    context = Context({"amount": D("1234567.89")})

    with translation.override("en"):
        assert template.render(context) == "1,234.6 CNY thousands"
    with translation.override("zh-hans"):
        assert template.render(context).startswith("123.46 ")
    assert money_in_unit(D("15000.00"), "zh-hans") == D("1.50")
    assert money_in_unit(None) is None
