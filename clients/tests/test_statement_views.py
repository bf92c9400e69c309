"""Statement pages (DOMAIN 2.3): the client page's section, entering a statement, explaining a flag,
and the list of clients with open flags — who may open what, what they show, what they cost."""
import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from clients import services
from clients.models import Client, FinancialStatement, Role, StatementEntry, StatementFlag
from clients.tests.test_statements import Y2024, Y2025
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db

DOCTORED = {"2024": Y2024, "2025": {**Y2025, "accounts_receivable": Decimal("3000000"),
                                    "total_equity": Decimal("4000000")}}


def store(client, statements):
    services.statements_replace(
        items=[services.StatementInput(client, period, lines) for period, lines in statements.items()], by=None)


@pytest.fixture
def bank(branch, sister_branch, other_branch, rm, other_rm):
    companies = {
        "mine": ClientFactory(client_no="C-MINE", name="Hengda Trading", client_type=Client.Type.CORPORATE,
                              branch=branch, rm=rm),
        "colleague": ClientFactory(client_no="C-COLL", client_type=Client.Type.CORPORATE, branch=branch, rm=other_rm),
        "sister": ClientFactory(client_no="C-SIS", client_type=Client.Type.CORPORATE, branch=sister_branch),
        "far": ClientFactory(client_no="C-FAR", client_type=Client.Type.CORPORATE, branch=other_branch),
        "clean": ClientFactory(client_no="C-CLEAN", client_type=Client.Type.CORPORATE, branch=branch, rm=rm),
        "person": ClientFactory(client_no="C-PERS", client_type=Client.Type.INDIVIDUAL, branch=branch, rm=rm),
    }
    for key in ("mine", "colleague", "sister", "far"):
        store(companies[key], DOCTORED)
    store(companies["clean"], {"2024": Y2024, "2025": Y2025})
    return companies


@pytest.fixture
def far_manager(other_branch):
    return EmployeeFactory(employee_no="BM009", branch=other_branch, role=Role.BRANCH_MANAGER)


def client_url(client):
    return reverse("clients:client-detail", kwargs={"client_no": client.client_no})


def new_url(client):
    return reverse("clients:statement-new", kwargs={"client_no": client.client_no})


def edit_url(client, period):
    return reverse("clients:statement-edit", kwargs={"client_no": client.client_no, "period": period})


def explain_url(flag):
    return reverse("clients:statement-flag-explain", kwargs={"client_no": flag.client.client_no, "pk": flag.pk})


LIST = "/clients/statements/flags/"


def swing_flag(client) -> StatementFlag:
    return StatementFlag.objects.select_related("client").get(client=client, rule="account_swing")


# --- the client page -----------------------------------------------------------------------------------

def test_the_rm_sees_the_statements_and_flags_of_a_corporate_client(client_of, rm, bank):
    page = client_of(rm).get(client_url(bank["mine"])).content.decode()

    assert 'id="statements"' in page
    assert "Accounts receivable went from 1,500,000.00 (2024) to 3,000,000.00" in page
    assert "Total assets 9,000,000.00 differ from total liabilities" in page
    assert explain_url(swing_flag(bank["mine"])) in page
    assert new_url(bank["mine"]) in page and edit_url(bank["mine"], "2025") in page


def test_a_clean_client_shows_its_periods_and_no_flag(client_of, rm, bank):
    response = client_of(rm).get(client_url(bank["clean"]))

    assert [s.period for s in response.context["statements"]] == ["2025", "2024"]
    assert response.context["statements"][0].total_assets == Decimal("9000000.00")
    assert response.context["statement_flags"] == []
    assert "No red flag" in response.content.decode()


def test_an_individual_client_has_no_statements_section(client_of, rm, bank):
    page = client_of(rm).get(client_url(bank["person"])).content.decode()

    assert 'id="statements"' not in page


@pytest.mark.parametrize("role", ["department_head", "reviewer"])
def test_viewing_roles_see_the_flags_but_may_not_explain_or_enter(client_of, role, request, bank):
    response = client_of(request.getfixturevalue(role)).get(client_url(bank["mine"]))

    assert response.status_code == 200
    assert response.context["statement_flags"]
    assert all(flag.explain_form is None for flag in response.context["statement_flags"])
    assert response.context["may_enter_statements"] is False


def test_the_client_page_costs_a_fixed_number_of_queries(client_of, branch_manager, bank,
                                                         django_assert_max_num_queries):
    browser = client_of(branch_manager)

    with django_assert_max_num_queries(20):
        response = browser.get(client_url(bank["mine"]))

    assert len(response.context["statement_flags"]) >= 3


# --- entering a statement ------------------------------------------------------------------------------

@pytest.mark.parametrize("role,client_key,status", [
    ("rm", "mine", 200),
    ("rm", "colleague", 404),        # another RM's book
    ("other_rm", "mine", 404),
    ("rm", "far", 404),              # another branch
    ("rm", "person", 404),           # not a corporate client
    ("branch_manager", "colleague", 200),
    ("branch_manager", "sister", 404),
    ("far_manager", "mine", 404),
    ("hr", "far", 200),
    ("department_head", "mine", 403),
    ("reviewer", "mine", 403),
])
def test_who_may_open_the_statement_form(client_of, request, bank, role, client_key, status):
    browser = client_of(request.getfixturevalue(role))

    assert browser.get(new_url(bank[client_key])).status_code == status
    if client_key != "person":
        assert browser.get(edit_url(bank[client_key], "2025")).status_code == status


def test_entering_a_statement_stores_its_lines_and_runs_the_checks(client_of, rm, bank):
    form = {"period": "2025-q1", "cash": "100000", "total_assets": "500000", "total_liabilities": "100000",
            "total_equity": "300000", "retained_earnings": "-20000"}

    response = client_of(rm).post(new_url(bank["clean"]), form)

    assert response.status_code == 302
    statement = FinancialStatement.objects.get(client=bank["clean"], period="2025-Q1")
    assert dict(statement.entries.values_list("line", "amount"))["retained_earnings"] == Decimal("-20000.00")
    assert statement.uploaded_by == rm.user
    assert StatementFlag.objects.filter(statement=statement, rule="balance_identity").exists()


def test_a_negative_cash_balance_is_shown_on_its_field_and_nothing_is_stored(client_of, rm, bank):
    response = client_of(rm).post(new_url(bank["clean"]), {"period": "2025-Q1", "cash": "-5"})

    assert response.status_code == 200
    assert response.context["form"].errors["cash"]
    assert not FinancialStatement.objects.filter(period="2025-Q1").exists()


def test_a_new_statement_for_an_existing_period_is_refused(client_of, rm, bank):
    response = client_of(rm).post(new_url(bank["clean"]), {"period": "2025", "cash": "5"})

    assert response.status_code == 200
    assert response.context["form"].errors["period"]
    assert StatementEntry.objects.get(statement__client=bank["clean"], statement__period="2025",
                                      line="cash").amount == Y2025["cash"]


def test_editing_a_statement_shows_its_lines_and_replaces_them(client_of, rm, bank):
    browser = client_of(rm)
    form = browser.get(edit_url(bank["mine"], "2025")).context["form"]
    assert form.initial["accounts_receivable"] == Decimal("3000000.00")
    assert form.fields["period"].disabled

    data = {**{key: str(value) for key, value in Y2025.items()}, "period": "1999"}
    response = browser.post(edit_url(bank["mine"], "2025"), data)

    assert response.status_code == 302
    assert not FinancialStatement.objects.filter(period="1999").exists()
    # The receivables are back to normal: their swing flag is gone; the statement balances again.
    assert not StatementFlag.objects.filter(client=bank["mine"], rule__in=["account_swing", "balance_identity"])


# --- explaining a flag ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role,client_key,status", [
    ("rm", "mine", 302),
    ("other_rm", "mine", 404),
    ("rm", "colleague", 404),
    ("branch_manager", "colleague", 302),
    ("far_manager", "mine", 404),
    ("hr", "far", 302),
    ("department_head", "mine", 403),
    ("reviewer", "mine", 403),
])
def test_who_may_explain_a_flag(client_of, request, bank, role, client_key, status):
    flag = swing_flag(bank[client_key])
    browser = client_of(request.getfixturevalue(role))

    response = browser.post(explain_url(flag), {f"flag-{flag.pk}-status": "explained",
                                                f"flag-{flag.pk}-explanation": "Contract with a new distributor."})

    assert response.status_code == status
    flag.refresh_from_db()
    assert (flag.status == StatementFlag.Status.EXPLAINED) == (status == 302)


def test_an_explanation_is_required(client_of, rm, bank):
    flag = swing_flag(bank["mine"])

    response = client_of(rm).post(explain_url(flag), {f"flag-{flag.pk}-status": "accepted",
                                                      f"flag-{flag.pk}-explanation": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["explanation"]
    flag.refresh_from_db()
    assert flag.status == StatementFlag.Status.OPEN


def test_the_client_page_shows_who_changed_a_flag_from_what_to_what(client_of, rm, branch_manager, bank):
    flag = swing_flag(bank["mine"])
    client_of(rm).post(explain_url(flag), {f"flag-{flag.pk}-status": "explained",
                                           f"flag-{flag.pk}-explanation": "New distributor contract."})

    response = client_of(branch_manager).get(client_url(bank["mine"]))

    rows = [row for row in response.context["flag_history"] if row["flag_id"] == flag.pk]
    assert rows[0]["who"] == rm.name
    assert (rows[0]["status_before"], rows[0]["status_after"]) == ("Open", "Explained")
    assert rows[0]["explanation"] == "New distributor contract."
    assert rows[-1]["reason"] == "Raised by the statement checks"
    assert "New distributor contract." in response.content.decode()


# --- the list of clients with open flags ---------------------------------------------------------------

@pytest.mark.parametrize("role,expected", [
    ("rm", {"C-MINE"}),
    ("other_rm", {"C-COLL"}),
    ("department_head", {"C-MINE", "C-COLL"}),
    ("branch_manager", {"C-MINE", "C-COLL"}),
    ("far_manager", {"C-FAR"}),
    ("reviewer", {"C-MINE", "C-COLL", "C-SIS"}),
    ("hr", {"C-MINE", "C-COLL", "C-SIS", "C-FAR"}),
])
def test_the_flag_list_shows_each_role_its_scope(client_of, request, bank, role, expected):
    response = client_of(request.getfixturevalue(role)).get(LIST)

    assert response.status_code == 200
    assert {c.client_no for c in response.context["flag_clients"]} == expected


def test_the_flag_list_counts_open_flags_by_severity(client_of, branch_manager, bank):
    flag = swing_flag(bank["mine"])
    services.statement_flag_explain(flag=flag, status="accepted", explanation="Checked.", by=branch_manager.user)

    rows = {c.client_no: c for c in client_of(branch_manager).get(LIST).context["flag_clients"]}

    mine, colleague = rows["C-MINE"], rows["C-COLL"]
    assert mine.open_critical == colleague.open_critical == 1
    assert mine.open_warning == colleague.open_warning - 1
    assert (mine.latest_period, mine.worst_severity, mine.rm_no) == ("2025", "critical", "RM001")


def test_the_flag_list_filters_by_check_and_branch(client_of, hr, bank):
    store(bank["far"], {"2024": Y2024, "2025": Y2025})
    browser = client_of(hr)

    assert {c.client_no for c in browser.get(LIST, {"rule": "balance_identity"}).context["flag_clients"]} == {
        "C-MINE", "C-COLL", "C-SIS"}
    assert {c.client_no for c in browser.get(LIST, {"branch": "B02"}).context["flag_clients"]} == {"C-SIS"}
    assert {c.client_no for c in browser.get(LIST, {"severity": "critical", "q": "hengda"})
            .context["flag_clients"]} == {"C-MINE"}


def test_a_branch_manager_cannot_filter_on_another_branch(client_of, branch_manager, bank):
    response = client_of(branch_manager).get(LIST, {"branch": "B03"})

    assert list(response.context["flag_clients"]) == []


def test_the_flag_list_exports_csv_and_xlsx_of_the_scope(client_of, branch_manager, bank):
    browser = client_of(branch_manager)

    response = browser.get(LIST, {"format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("Client number,Client,Branch code")
    assert {line.split(",")[0] for line in lines[1:]} == {"C-MINE", "C-COLL"}

    xlsx = browser.get(LIST, {"format": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_flag_list_is_linked_from_the_branch_page(client_of, branch_manager, branch, bank):
    page = client_of(branch_manager).get(reverse("clients:branch-detail", kwargs={"code": branch.code}))

    assert f'{LIST}?branch=B01' in page.content.decode()


def test_the_flag_list_costs_a_fixed_number_of_queries(client_of, hr, branch, bank, django_assert_max_num_queries):
    for n in range(10):
        store(ClientFactory(client_type=Client.Type.CORPORATE, branch=branch), DOCTORED)
    browser = client_of(hr)

    with django_assert_max_num_queries(8):
        response = browser.get(LIST)

    assert len(response.context["flag_clients"]) == 14


def test_the_flag_list_url_is_named():
    assert reverse("clients:statement-flags") == LIST


def test_anonymous_visitors_are_sent_to_log_in(client, bank):
    assert client.get(LIST).status_code == 302
    assert client.get(new_url(bank["mine"])).status_code == 302


def test_statement_dates_follow_the_period(bank):
    statement = FinancialStatement.objects.get(client=bank["mine"], period="2025")
    assert statement.period_end == dt.date(2025, 12, 31)
