"""No filter value answers 500: every list and dashboard page, as HR and as a branch manager,
with each of its filter fields (read from the page's own GET forms, plus paging and sorting)
given nonsense. An answer may be the page with a form error, an empty list or 400; never 500.
"""
import datetime as dt
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from careers.models import Exit
from clients.models import Role
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "home", "clients:client-list", "clients:complaint-list", "clients:branch-list", "clients:statement-flags",
    ("clients:branch-home", {"code": "B01"}), ("clients:rm-book", {"employee_no": "RM001"}),
    ("clients:branch-detail", {"code": "B01"}),
    "performance:appraisal-list", "performance:queue", "performance:calibration", "performance:mine",
    "performance:bonus", "performance:pool-list", "performance:appraisal-run",
    "careers:home", "careers:sequence-list", "careers:record-list", "careers:eligibility", "careers:interview-list",
    "careers:exit-list", "careers:attrition",
    "risk:scores", "risk:alerts", "risk:backtest",
    "operations:runs", "operations:run-progress",
    "imports:upload",
]
"""Every page that lists or sums things under filters (the URL conf's list and dashboard views)."""

ALWAYS = ["page", "sort", "o", "ordering", "period", "month", "branch", "region", "q", "format"]
"""Parameters the generic list view and the dashboards read even when no form field shows them."""

PER_FIELD = ["x" * 10_000, "-99999999999999999999", "2026-13-45", ["1", "2"]]
"""Values tried on each field alone (a control character never reaches a view: see ALL_FIELDS)."""

NONSENSE = [
    "\x00", "a\x00b", "%00", "-1", "99999999999999999999999", "1e309", "NaN", "0000", "2026-Q9",
    "'; DROP TABLE clients_client; --", "ő中文🙂\u202e", "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
    "-zzz_unknown_column",
]


class _GetForms(HTMLParser):
    """The names of the fields of the page's GET forms."""

    def __init__(self):
        super().__init__()
        self.names: set[str] = set()
        self._in_get_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._in_get_form = (attrs.get("method") or "get").lower() == "get"
        elif self._in_get_form and tag in {"input", "select", "textarea"} and attrs.get("name"):
            if attrs.get("type") not in {"submit", "button"}:
                self.names.add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_get_form = False


def url_of(page) -> str:
    name, kwargs = page if isinstance(page, tuple) else (page, {})
    return reverse(name, kwargs=kwargs)


def fields_of(html: str) -> set[str]:
    parser = _GetForms()
    parser.feed(html)
    return parser.names


@pytest.fixture
def bank(branch, rm, other_rm, other_branch):
    for n, owner in enumerate((rm, other_rm)):
        ClientFactory(branch=branch, rm=owner, client_no=f"C{n:03d}", opened_on=dt.date(2024, 1, 1))
    leaver = EmployeeFactory(employee_no="RM099", branch=branch, role=Role.RM)
    Exit.objects.create(employee=leaver, exit_on=dt.date(2026, 1, 31), reason=Exit.Reason.values[0])
    return branch


@pytest.mark.parametrize("role", ["hr", "branch_manager"])
def test_no_filter_value_answers_500(role, request, bank, client_of):
    browser = client_of(request.getfixturevalue(role))
    failures = []
    for page in PAGES:
        url = url_of(page)
        first = browser.get(url)
        if first.status_code >= 500:
            failures.append((url, "", "", first.status_code))
            continue
        names = sorted(fields_of(first.content.decode(errors="replace")) | set(ALWAYS))
        for name in names:
            for value in PER_FIELD:
                response = browser.get(url, {name: value})
                if response.status_code >= 500:
                    failures.append((url, name, str(value)[:40], response.status_code))
        for value in ("-1", "0", "99999999", "abc"):  # bad page numbers
            response = browser.get(url, {"page": value})
            if response.status_code >= 500:
                failures.append((url, "page", value, response.status_code))
        # Every value in every field at once: what one field lets through, the others meet.
        for value in NONSENSE:
            response = browser.get(url, {name: value for name in names})
            if response.status_code >= 500:
                failures.append((url, "*", value[:40], response.status_code))
    assert failures == []


@pytest.mark.parametrize("query", [{"status": "no-such-status"}, {"branch": "B03"}, {"exit_from": "2099-01-01"}])
def test_exits_filtered_down_to_nothing_answer_an_empty_list(query, bank, client_of, branch_manager):
    # B03 is another region's branch: out of the branch manager's scope, so refused like a bad value.
    response = client_of(branch_manager).get(reverse("careers:exit-list"), query)
    assert response.status_code == 200 and response.context["count"] == 0


def test_a_control_character_in_the_query_string_answers_400(client_of, hr):
    for name in ("careers:attrition", "performance:bonus", "performance:pool-list"):
        response = client_of(hr).get(reverse(name) + "?period=%00")
        assert response.status_code == 400, name


def test_a_control_character_in_an_api_query_answers_the_apis_json_error(client, hr):
    client.force_login(hr.user)
    response = client.get("/api/v1/appraisals/?grade=%02")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "errors"}
