"""Clients through the API: business-key lookups, assignment history, and the stored contribution
of a month under each method (DOMAIN 2, 2.2)."""
import datetime as dt

import pytest

from clients.models import Assignment, Role
from rmportal.api.pagination import StandardPagination
from tests.api_mixins import api_client_for, worked_example_client
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked_example(branch, rm):
    return worked_example_client(branch, rm)


def contribution(employee, client_no, **params):
    return api_client_for(employee.user).get(f"/api/v1/clients/{client_no}/contribution/", params)


@pytest.mark.parametrize("method, expected", [
    (3, {"loan": "1130.00", "deposit": "523.33", "wm": "798.00", "card": "205.00", "total": "2656.33"}),
    (2, {"loan": "1330.00", "deposit": "583.33", "wm": "828.00", "card": "225.00", "total": "2966.33"}),
    (4, {"loan": "80.00", "deposit": "523.33", "wm": "798.00", "card": "205.00", "total": "1606.33",
         "capital_charge": "1050.00"}),
    (1, {"loan": "1200000.00", "deposit": "500000.00", "wm": "85000.00", "card": "0.00", "total": "1785000.00"}),
])
def test_contribution_of_the_worked_example_under_each_method(worked_example, branch_manager, method, expected):
    response = contribution(branch_manager, "C.0001", month="2026-01", method=method)
    assert response.status_code == 200, response.content
    assert response.json() == {"client_no": "C.0001", "month": "2026-01", "method": method, **expected}


def test_contribution_method_defaults_to_profit_contribution(worked_example, rm):
    response = contribution(rm, "C.0001", month="2026-01")
    assert response.json()["method"] == 3 and response.json()["total"] == "2656.33"


@pytest.mark.parametrize("params", [{}, {"month": "2026-13"}, {"month": "2026-1"}, {"month": "Jan"},
                                    {"month": "2026-01", "method": 5}, {"month": "2026-01", "method": "x"}])
def test_a_bad_month_or_method_is_400(worked_example, branch_manager, params):
    response = contribution(branch_manager, "C.0001", **params)
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "errors"}


def test_a_month_without_stored_contribution_is_404(worked_example, branch_manager):
    assert contribution(branch_manager, "C.0001", month="2026-02").status_code == 404


def test_a_client_out_of_scope_is_404_whatever_the_query(worked_example, other_branch, branch, other_rm):
    far_manager = EmployeeFactory(branch=other_branch, role=Role.BRANCH_MANAGER)
    assert contribution(far_manager, "C.0001", month="2026-01").status_code == 404
    assert contribution(far_manager, "C.0001", month="bad").status_code == 404
    # A colleague RM of the same branch does not have the client in their book either.
    assert contribution(other_rm, "C.0001", month="2026-01").status_code == 404


def test_clients_are_found_by_client_no_and_by_id(worked_example, branch_manager):
    api = api_client_for(branch_manager.user)
    by_key = api.get("/api/v1/clients/C.0001/")
    by_id = api.get(f"/api/v1/clients/{worked_example.pk}/")
    assert by_key.status_code == by_id.status_code == 200
    assert by_key.json() == by_id.json()
    assert api.get("/api/v1/clients/C.9999/").status_code == 404


def test_a_client_shows_its_rm_and_its_assignment_history(worked_example, rm, other_rm, branch_manager):
    Assignment.objects.filter(client=worked_example).update(ended_on=dt.date(2026, 3, 1))
    Assignment.objects.create(client=worked_example, rm=other_rm, started_on=dt.date(2026, 3, 1),
                              reason=Assignment.Reason.REBALANCING)
    body = api_client_for(branch_manager.user).get("/api/v1/clients/C.0001/").json()
    assert body["rm"] == other_rm.employee_no
    assert [(a["rm"], a["started_on"], a["ended_on"], a["reason"]) for a in body["assignments"]] == [
        (rm.employee_no, "2020-01-01", "2026-03-01", "onboarding"),
        (other_rm.employee_no, "2026-03-01", None, "rebalancing")]


def test_employees_are_found_by_employee_no_and_branches_by_code(branch, rm, hr):
    api = api_client_for(hr.user)
    assert api.get(f"/api/v1/employees/{rm.employee_no}/").json()["id"] == rm.pk
    assert api.get(f"/api/v1/employees/{rm.pk}/").json()["employee_no"] == rm.employee_no
    body = api.get("/api/v1/branches/B01/").json()
    assert body == {"id": branch.pk, "code": "B01", "name": branch.name, "region": "R01",
                    "region_name": branch.region.name}


def test_client_list_filters_by_rm_and_pages_with_a_maximum_size(branch, rm, other_rm, hr, monkeypatch):
    mine = [ClientFactory(branch=branch, rm=rm) for _ in range(3)]
    ClientFactory(branch=branch, rm=other_rm)
    api = api_client_for(hr.user)
    listed = api.get("/api/v1/clients/", {"rm": rm.employee_no}).json()
    assert sorted(c["client_no"] for c in listed["results"]) == sorted(c.client_no for c in mine)
    page = api.get("/api/v1/clients/", {"page_size": 2}).json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]
    # Above the maximum, the maximum applies.
    monkeypatch.setattr(StandardPagination, "max_page_size", 3)
    assert len(api.get("/api/v1/clients/", {"page_size": 100000}).json()["results"]) == 3
    missing = api.get("/api/v1/clients/", {"page": 99})
    assert missing.status_code == 404 and set(missing.json()) == {"detail", "errors"}
