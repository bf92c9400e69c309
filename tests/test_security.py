"""Who may log in and for how long, what the browser may load and keep, the error pages, and
read-only accounts (the lockout itself: tests/test_lockout.py)."""
import datetime as dt
import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import RequestDataTooBig
from django.test import Client, RequestFactory
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation

from clients.models import Client as BankClient
from clients.models import Interaction
from rmportal import scoping, views
from rmportal.middleware import POLL_HEADER, RENEW_AFTER_SECONDS, RENEWED_KEY
from tests.api_mixins import api_client_for, make_read_only
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

ROOT = settings.BASE_DIR


def run_manage(*args, **env):
    environment = {**os.environ, **env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def mine(rm):
    return ClientFactory(client_no="C-MINE", name="Zhao Lei", branch=rm.branch, rm=rm)


# --- Idle sessions and what the browser may keep --------------------------------------------

def test_a_session_ends_after_the_idle_time_and_a_request_renews_it(client_of, rm, mine):
    browser = client_of(rm)
    url = reverse("clients:client-detail", kwargs={"client_no": "C-MINE"})
    assert settings.SESSION_COOKIE_AGE == 1800

    def a_minute_passes():
        session = browser.session
        session[RENEWED_KEY] -= RENEW_AFTER_SECONDS
        session.save()

    # Just logged in: the session is fresh and a request does not write it again.
    logged_in = Session.objects.get().expire_date
    browser.get(url)
    assert Session.objects.get().expire_date == logged_in

    # Active a minute before the end: the request pushes the end back by the full idle time.
    a_minute_passes()
    Session.objects.update(expire_date=timezone.now() + dt.timedelta(minutes=1))
    response = browser.get(url)
    assert response.status_code == 200
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 1800
    renewed = Session.objects.get().expire_date
    assert renewed > timezone.now() + dt.timedelta(seconds=1790)

    # Renewed less than a minute ago: the next request does not write the session again.
    browser.get(url)
    assert Session.objects.get().expire_date == renewed

    # A page part that refreshes itself is no sign of a user at work: it does not renew.
    a_minute_passes()
    before_poll = Session.objects.get().expire_date
    browser.get(url, headers={POLL_HEADER: "1"})
    assert Session.objects.get().expire_date == before_poll
    browser.get(url)  # the same request from the user does renew it
    assert Session.objects.get().expire_date > before_poll

    # Idle past the end: the next request is asked to log in.
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = browser.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_client_pages_of_a_logged_in_user_are_not_stored(client_of, rm, mine):
    response = client_of(rm).get(reverse("clients:client-detail", kwargs={"client_no": "C-MINE"}))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_api_answers_are_not_stored(rm, mine):
    response = api_client_for(rm.user).get("/api/v1/clients/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_static_files_may_be_cached(client):
    # WhiteNoise answers before the portal's middleware: no no-store on stylesheets.
    response = client.get(static("css/portal.css"))

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    response.close()


# --- Content-Security-Policy ----------------------------------------------------------------

def directives(response) -> dict:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_pages_send_a_content_security_policy_without_inline_script(client_of, rm, mine):
    response = client_of(rm).get(reverse("clients:client-detail", kwargs={"client_no": "C-MINE"}))

    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert policy["form-action"] == ["'self'"] and policy["img-src"] == ["'self'", "data:"]


def test_the_login_page_has_the_policy_too(client):
    assert directives(client.get(reverse("login")))["script-src"] == ["'self'"]


def test_templates_hold_no_inline_script_style_or_handler():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for marker in ("<script>", "style=\"", "<style", " onclick=", " onchange=", " onsubmit=", " onload=",
                       "javascript:"):
            if marker in text:
                offenders.append((path.name, marker))
    assert offenders == []


def test_the_api_docs_load_their_start_up_script_from_the_portal(client_of, rm):
    browser = client_of(rm)
    page = browser.get(reverse("api-docs"))
    html = page.content.decode()
    assert page.status_code == 200 and "<script>" not in html and "<style>" not in html

    script = browser.get(reverse("api-docs"), {"script": ""})

    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert reverse("schema") in script.content.decode()


# --- Production settings, DEBUG ------------------------------------------------------------

def test_check_deploy_with_the_production_settings_reports_nothing():
    result = run_manage("check", "--deploy", "--fail-level", "DEBUG",
                        DJANGO_SETTINGS_MODULE="rmportal.settings.production",
                        DJANGO_SECRET_KEY=secrets.token_urlsafe(64), DJANGO_ALLOWED_HOSTS="portal.bank.example")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                            env={**environment, "DJANGO_SETTINGS_MODULE": "rmportal.settings.production"},
                            timeout=120)

    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(("value", "expected"), [(None, "False"), ("0", "False"), ("1", "True")])
def test_debug_is_off_unless_asked_for(value, expected):
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"}
    if value is not None:
        environment["DJANGO_DEBUG"] = value
    environment["DJANGO_SETTINGS_MODULE"] = "rmportal.settings.base"
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                             "from django.conf import settings; print(settings.DEBUG)"],
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)

    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


# --- Error pages ------------------------------------------------------------------------------

def heading(language: str, text: str) -> str:
    """The heading as the page's language says it (English until the catalog has it)."""
    with translation.override(language):
        return translation.gettext(text)


@pytest.mark.parametrize(("language", "brand"), [("en", "RM Portal"), ("zh-hans", "客户经理管理平台")])
def test_the_404_page_is_in_the_layout_in_both_languages_with_a_way_home(language, brand, client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    response = client.get("/no-such-page/")

    html = response.content.decode()
    assert response.status_code == 404
    assert f'lang="{language}"' in html and 'class="site-header"' in html and brand in html
    assert f"<h1>{heading(language, 'Page not found')}</h1>" in html and f'<a href="{reverse("home")}">' in html


@pytest.mark.parametrize(("language", "brand"), [("en", "RM Portal"), ("zh-hans", "客户经理管理平台")])
def test_the_403_page_is_in_the_layout_in_both_languages_with_a_way_home(language, brand, client, rm):
    client.force_login(rm.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    response = client.get(reverse("operations:runs"))  # HR's page

    html = response.content.decode()
    assert response.status_code == 403
    assert f'lang="{language}"' in html and 'class="site-header"' in html and brand in html
    assert f"<h1>{heading(language, 'Not allowed')}</h1>" in html and f'<a href="{reverse("home")}">' in html


@pytest.mark.parametrize(("language", "brand"), [("en", "RM Portal"), ("zh-hans", "客户经理管理平台")])
def test_the_500_page_renders_even_when_the_database_and_context_fail(language, brand, rm, monkeypatch):
    browser = Client(raise_request_exception=False)
    browser.force_login(rm.user)
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    def broken(user):
        raise RuntimeError("the database went away")

    # The home page and the navigation's context processor both ask for the role.
    monkeypatch.setattr(scoping, "role_of", broken)
    response = browser.get(reverse("home"))

    html = response.content.decode()
    assert response.status_code == 500
    assert f'lang="{language}"' in html and 'class="site-header"' in html and brand in html
    assert f"<h1>{heading(language, 'Something went wrong')}</h1>" in html and '<a href="/">' in html
    assert "the database went away" not in html


def test_an_unknown_api_address_is_json_404(client):
    response = client.get("/api/no-such-thing/")

    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"detail": "Not found.", "errors": {}}


def test_an_api_server_error_is_json_500(rm, monkeypatch):
    from clients.api.views import ClientViewSet

    def broken(self, request, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ClientViewSet, "list", broken)
    browser = Client(raise_request_exception=False)
    browser.force_login(rm.user)

    response = browser.get("/api/v1/clients/")

    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"detail", "errors"} and body["errors"] == {} and "boom" not in body["detail"]


def test_an_api_refusal_outside_drf_is_json_403(rm):
    make_read_only(rm.user)
    browser = Client()
    browser.force_login(rm.user)

    response = browser.post("/api/v1/imports/monthly/", {})

    assert response.status_code == 403 and response["Content-Type"] == "application/json"
    assert set(json.loads(response.content)) == {"detail", "errors"}


def test_a_too_large_api_request_is_json_413():
    request = RequestFactory().post("/api/v1/imports/monthly/")

    response = views.bad_request(request, RequestDataTooBig("too big"))

    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert set(json.loads(response.content)) == {"detail", "errors"}


def test_a_too_large_form_is_a_413_page(client_of, rm, mine, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    url = reverse("clients:interaction-create", kwargs={"client_no": "C-MINE"})

    response = client_of(rm).post(url, {"interaction-kind": "visit", "interaction-comment": "x" * 500})

    assert response.status_code == 413
    assert 'class="site-header"' in response.content.decode()
    assert not Interaction.objects.exists()


# --- Read-only accounts -----------------------------------------------------------------------

def test_a_read_only_account_may_only_view(rm, branch_manager):
    make_read_only(branch_manager.user)

    assert scoping.may(branch_manager.user, scoping.VIEW, BankClient)
    assert not scoping.may(branch_manager.user, "reassign", BankClient)
    assert not BankClient.objects.restrict(branch_manager.user, "reassign").exists()
    assert scoping.may(rm.user, "interact", BankClient)


def test_a_read_only_account_gets_403_on_a_page_post_and_nothing_changes(client_of, rm, mine):
    make_read_only(rm.user)
    browser = client_of(rm)
    url = reverse("clients:interaction-create", kwargs={"client_no": "C-MINE"})

    response = browser.post(url, {"interaction-kind": "callback", "interaction-on": "2026-01-15",
                                  "interaction-score": "5", "interaction-channel": "phone"})

    assert response.status_code == 403
    assert "<h1>Not allowed</h1>" in response.content.decode()
    assert not Interaction.objects.exists()


def test_a_read_only_account_may_still_switch_language_and_log_out(client_of, rm):
    make_read_only(rm.user)
    browser = client_of(rm)

    switched = browser.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("login")})
    logged_out = browser.post(reverse("logout"))

    assert switched.status_code == 302
    assert logged_out.status_code == 302 and logged_out.url == reverse("login")


# --- The API schema and docs --------------------------------------------------------------------

def test_anonymous_users_may_not_read_the_schema_or_the_docs(client):
    schema = client.get(reverse("schema"), {"format": "json"})
    docs = client.get(reverse("api-docs"))

    assert schema.status_code == 401 and client.get(reverse("schema")).status_code == 401
    assert set(json.loads(schema.content)) == {"detail", "errors"}
    assert docs.status_code == 302 and docs.url.startswith(reverse("login"))


def test_logged_in_users_and_tokens_read_the_schema_and_the_docs(client_of, rm):
    assert api_client_for(rm.user).get(reverse("schema"), {"format": "json"}).status_code == 200
    browser = client_of(rm)
    assert browser.get(reverse("schema")).status_code == 200
    assert browser.get(reverse("api-docs")).status_code == 200
