"""Login throttling (django-axes): a user name tried too often from one address is locked for a
while, the page says until when, and HR can release it."""
import datetime as dt

import pytest
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # tests.factories.UserFactory


def log_in(browser, username, password):
    return browser.post(reverse("login"), {"username": username, "password": password})


def fail(browser, username, times):
    for _ in range(times):
        response = log_in(browser, username, "wrong")
    return response


def test_the_limit_and_the_wait_come_from_the_settings_with_safe_defaults():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == dt.timedelta(minutes=15)
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_after_the_limit_of_wrong_passwords_even_the_right_one_is_refused(client, rm):
    before_limit = fail(client, "RM001", settings.AXES_FAILURE_LIMIT - 1)
    assert before_limit.status_code == 200 and 'class="errorlist nonfield"' in before_limit.content.decode()

    at_limit = log_in(client, "RM001", "wrong")
    right_password = log_in(client, "RM001", PASSWORD)

    assert at_limit.status_code == 429
    assert right_password.status_code == 429
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated
    attempt = AccessAttempt.objects.get(username="RM001")
    assert attempt.failures_since_start == settings.AXES_FAILURE_LIMIT + 1


def test_the_lockout_page_is_the_portals_and_says_when_to_try_again(client, rm):
    response = fail(client, "RM001", settings.AXES_FAILURE_LIMIT)

    html = response.content.decode()
    attempt = AccessAttempt.objects.get(username="RM001")
    until = timezone.localtime(attempt.attempt_time + dt.timedelta(minutes=15))
    assert response.status_code == 429
    assert 'class="site-header"' in html and "<h1>Account locked</h1>" in html
    assert f"Try again after <strong>{until:%Y-%m-%d %H:%M}</strong>" in html
    assert f'href="{reverse("login")}"' in html


def test_the_lockout_page_speaks_chinese(client, rm):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = fail(client, "RM001", settings.AXES_FAILURE_LIMIT)

    html = response.content.decode()
    assert response.status_code == 429
    assert 'lang="zh-hans"' in html and "客户经理管理平台" in html


def test_another_address_is_not_locked_out_by_someone_elses_guessing(client, rm):
    fail(client, "RM001", settings.AXES_FAILURE_LIMIT)

    elsewhere = Client(REMOTE_ADDR="10.0.0.8")
    response = elsewhere.post(reverse("login"), {"username": "RM001", "password": PASSWORD})

    assert response.status_code == 302


def test_the_lock_ends_by_itself_after_the_wait(client, rm, hr):
    fail(client, "RM001", settings.AXES_FAILURE_LIMIT)
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    hr_browser = Client()
    hr_browser.force_login(hr.user)

    assert "No account is locked." in hr_browser.get(reverse("locked-accounts")).content.decode()
    assert log_in(client, "RM001", PASSWORD).status_code == 302


def test_attempts_are_logged_in_the_database(client, rm):
    fail(client, "RM001", 2)
    log_in(client, "RM001", PASSWORD)

    assert AccessLog.objects.filter(username="RM001").count() == 1
    # A successful login clears the count: the next mistakes start from zero.
    assert not AccessAttempt.objects.filter(username="RM001").exists()


def test_hr_sees_the_locked_account_and_unlocks_it_then_login_works(client, rm, hr, django_assert_max_num_queries):
    fail(client, "RM001", settings.AXES_FAILURE_LIMIT)
    fail(Client(REMOTE_ADDR="10.0.0.9"), "nobody", settings.AXES_FAILURE_LIMIT)
    hr_browser = Client()
    hr_browser.force_login(hr.user)

    with django_assert_max_num_queries(8):
        page = hr_browser.get(reverse("locked-accounts"))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<th scope="row">RM001</th>' in html and "<td>Li Na</td>" in html and "Unlock RM001" in html

    released = hr_browser.post(reverse("locked-accounts"), {"username": "RM001"}, follow=True)

    assert "RM001 may log in again." in released.content.decode()
    assert '<th scope="row">nobody</th>' in released.content.decode()
    assert not AccessAttempt.objects.filter(username="RM001").exists()
    assert log_in(client, "RM001", PASSWORD).status_code == 302


@pytest.mark.parametrize("role", ["rm", "branch_manager", "reviewer"])
def test_only_hr_may_see_or_unlock_locked_accounts(role, request, client, other_rm):
    fail(Client(), "RM002", settings.AXES_FAILURE_LIMIT)
    client.force_login(request.getfixturevalue(role).user)

    assert client.get(reverse("locked-accounts")).status_code == 403
    assert client.post(reverse("locked-accounts"), {"username": "RM002"}).status_code == 403
    assert AccessAttempt.objects.filter(username="RM002").exists()


def test_hr_finds_the_locked_accounts_page_in_the_navigation(client_of, hr):
    html = client_of(hr).get(reverse("operations:runs")).content.decode()

    assert f'href="{reverse("locked-accounts")}"' in html


def test_the_admin_lists_the_attempts_for_unlocking(client, rm):
    fail(client, "RM001", settings.AXES_FAILURE_LIMIT)
    admin = Client()
    admin.force_login(type(rm.user).objects.create_superuser("root", "root@bank.example", "x-Strong-pass-1"))

    response = admin.get(reverse("admin:axes_accessattempt_changelist"))

    assert response.status_code == 200 and "RM001" in response.content.decode()


def test_behind_the_proxy_the_forwarded_address_counts_not_the_one_the_client_claims(client, rm, settings):
    settings.BEHIND_PROXY = True
    for claimed in ("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"):
        client.post(reverse("login"), {"username": "RM001", "password": "wrong"},
                    HTTP_X_FORWARDED_FOR=f"{claimed}, 10.1.2.3")

    response = client.post(reverse("login"), {"username": "RM001", "password": PASSWORD},
                           HTTP_X_FORWARDED_FOR="9.9.9.9, 10.1.2.3")

    assert response.status_code == 429
    assert AccessAttempt.objects.get(username="RM001").ip_address == "10.1.2.3"
