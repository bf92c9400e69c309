"""The API answers the figures the pages show, for the same user and period: a client's
contribution as on the client page, an appraisal's total, grade and points as on the appraisal
pages, a bonus statement as on the statements page."""
from decimal import Decimal

import pytest
from django.urls import reverse

from clients.contribution import LINES
from core.money import money_round
from performance.models import Budget
from tests.api_mixins import (JAN, PERIOD, api_client_for, book_client, quarterly_appraisal,
                              worked_example_client)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who", ["rm", "branch_manager", "hr"])
def test_contribution_is_the_one_on_the_client_page(branch, rm, branch_manager, hr, client, who):
    employee = {"rm": rm, "branch_manager": branch_manager, "hr": hr}[who]
    customer = worked_example_client(branch, rm)
    client.force_login(employee.user)
    page = client.get(reverse("clients:client-detail", args=[customer.client_no]))
    assert page.status_code == 200
    shown = next(row for row in page.context["contribution_rows"] if row["month"] == JAN)
    api = api_client_for(employee.user).get(f"/api/v1/clients/{customer.client_no}/contribution/",
                                            {"month": "2026-01", "method": 3}).json()
    assert {key: api[key] for key in (*LINES, "total")} == {key: f"{shown[key]:.2f}" for key in (*LINES, "total")}
    assert api["total"] == "2656.33"


def test_appraisal_total_grade_and_points_are_those_of_the_pages(branch, rm, branch_manager, reviewer, hr, client):
    book_client(branch, rm)
    appraisal = quarterly_appraisal(rm)
    client.force_login(branch_manager.user)
    page = client.get(reverse("performance:appraisal-detail", args=[appraisal.pk]))
    listing = client.get(reverse("performance:appraisal-list"), {"period": PERIOD})
    api = api_client_for(branch_manager.user)
    detail = api.get(f"/api/v1/appraisals/{appraisal.pk}/").json()
    listed = api.get("/api/v1/appraisals/", {"period": PERIOD}).json()["results"]

    shown = page.context["appraisal"]
    assert (detail["total"], detail["grade"], detail["state"]) == (f"{shown.total:.2f}", shown.grade, shown.state)
    assert {line["indicator"]: line["points"] for line in detail["lines"]} == {
        line.indicator.code: None if line.points is None else f"{line.points:.10f}" for line in page.context["lines"]}
    assert [(a["id"], a["total"], a["grade"]) for a in listed] == [
        (a.pk, f"{a.total:.2f}", a.grade) for a in listing.context["appraisals"]]


def test_bonus_statement_is_the_one_on_the_statements_page(branch, rm, branch_manager, reviewer, hr, client):
    book_client(branch, rm)
    appraisal = quarterly_appraisal(rm)
    Budget.objects.create(branch=branch, period=PERIOD, amount=Decimal("30000"))
    api = api_client_for(hr.user)
    for employee, step, body in ((branch_manager, "score", {"indicator": "local", "score": "5"}),
                                 (branch_manager, "submit", {}), (reviewer, "review", {"approve": True}),
                                 (hr, "approve", {"approve": True})):
        assert api_client_for(employee.user).post(f"/api/v1/appraisals/{appraisal.pk}/{step}/", body,
                                                  format="json").status_code == 200
    client.force_login(hr.user)
    page = client.get(reverse("performance:bonus"), {"period": PERIOD})
    shown = [row["statement"] for row in page.context["rows"]]
    listed = api.get("/api/v1/bonus-statements/", {"period": PERIOD}).json()["results"]
    assert [(s["employee"], s["bonus"], s["withheld"], s["paid"]) for s in listed] == [
        (s.employee.employee_no, *(f"{money_round(getattr(s, f))}" for f in
                                   ("bonus", "withheld", "paid"))) for s in shown]
    assert listed[0]["bonus"] == "30000.00" and listed[0]["withheld"] == "3000.00"
