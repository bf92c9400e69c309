"""Logging in with the employee number, logging out, and where each role lands (DOMAIN 1, 6)."""
import datetime as dt

import pytest
from django.urls import NoReverseMatch, reverse

from clients import services
from clients.models import Employee

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # tests.factories.UserFactory


def test_login_page_asks_for_the_employee_number(client):
    response = client.get(reverse("login"))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_username">Employee number</label>' in html
    assert 'autocomplete="current-password"' in html


def test_rm_logs_in_with_employee_number_and_lands_on_their_book(client, rm):
    response = client.post(reverse("login"), {"username": "RM001", "password": PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("clients:rm-book", kwargs={"employee_no": "RM001"})
    assert response.context["user"] == rm.user


@pytest.mark.parametrize("role", ["branch_manager", "department_head"])
def test_branch_roles_land_on_their_branch_home(role, client, request, branch):
    employee = request.getfixturevalue(role)

    response = client.post(reverse("login"), {"username": employee.employee_no, "password": PASSWORD},
                           follow=True)

    assert response.redirect_chain[-1][0] == reverse("clients:branch-home", kwargs={"code": branch.code})


def test_reviewer_lands_on_the_branches(client, reviewer):
    response = client.post(reverse("login"), {"username": reviewer.employee_no, "password": PASSWORD},
                           follow=True)

    assert response.redirect_chain[-1][0] == reverse("clients:branch-list")


def test_hr_lands_on_the_attrition_dashboard_or_else_the_branches(client, hr):
    try:
        expected = reverse("careers:attrition")
    except NoReverseMatch:
        expected = reverse("clients:branch-list")

    response = client.post(reverse("login"), {"username": hr.employee_no, "password": PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == expected


def test_wrong_password_is_refused_with_a_message(client, rm):
    response = client.post(reverse("login"), {"username": "RM001", "password": "wrong"})

    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
    assert 'class="errorlist nonfield"' in response.content.decode()


def test_employee_who_left_cannot_log_in(client, rm, branch_manager):
    services.employee_mark_left(employee=rm, on=dt.date(2026, 1, 31), by=branch_manager.user)

    response = client.post(reverse("login"), {"username": "RM001", "password": PASSWORD})

    assert not response.context["user"].is_authenticated
    assert Employee.objects.get(pk=rm.pk).status == Employee.Status.LEFT


def test_logout_is_a_post_and_ends_the_session(client_of, rm):
    browser = client_of(rm)
    page = browser.get(reverse("clients:rm-book", kwargs={"employee_no": "RM001"}))
    assert f'action="{reverse("logout")}" method="post"' in page.content.decode()

    response = browser.post(reverse("logout"))

    assert response.status_code == 302 and response.url == reverse("login")
    assert browser.get(reverse("home")).url == reverse("login")


def test_anonymous_home_goes_to_log_in(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302 and response.url == reverse("login")


def test_login_page_switches_to_chinese(client):
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("login")},
                           follow=True)

    assert 'lang="zh-hans"' in response.content.decode()
    assert response["Content-Language"] == "zh-hans"
