"""Who gets in: tokens for REST clients, sessions for the browsable API, a request rate per token,
and the one error shape whatever goes wrong."""
import io
import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api_mixins import RESOURCES, api_client_for, build_bank
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_token_from_the_command_opens_the_api(rm, branch):
    ClientFactory(branch=branch, rm=rm, client_no="C-MINE")
    call_command("drf_create_token", rm.employee_no, stdout=io.StringIO())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=rm.user).key}")
    response = api.get("/api/v1/clients/")
    assert response.status_code == 200
    assert [c["client_no"] for c in response.json()["results"]] == ["C-MINE"]


def test_a_wrong_token_is_401_in_the_error_shape(rm):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = api.get("/api/v1/clients/")
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "errors"} and response.json()["errors"] == {}


def test_a_session_opens_the_browsable_api(client, hr):
    client.force_login(hr.user)
    response = client.get("/api/v1/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/v1/appraisals/" in html
    # Scripts and styles come from the packages, never from another site.
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert assets and all(asset.startswith("/static/") for asset in assets), assets


def test_an_account_without_employee_record_sees_nothing(branch, rm):
    ClientFactory(branch=branch, rm=rm)
    api = api_client_for(UserFactory())
    assert api.get("/api/v1/clients/").json()["count"] == 0
    assert api.get("/api/v1/employees/RM001/").status_code == 404


def test_an_unknown_address_is_404_in_the_error_shape(hr):
    response = api_client_for(hr.user).get("/api/v1/no-such-thing/at/all/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": {}}


@pytest.fixture
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_requests_beyond_the_rate_are_throttled_per_token(hr, rm, empty_cache):
    tiny = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "2/minute"}}
    with override_settings(REST_FRAMEWORK=tiny):
        api = api_client_for(hr.user)
        assert [api.get("/api/v1/branches/").status_code for _ in range(2)] == [200, 200]
        throttled = api.get("/api/v1/branches/")
        assert throttled.status_code == 429
        assert set(throttled.json()) == {"detail", "errors"}
        assert int(throttled["Retry-After"]) > 0
        # Another token has its own budget.
        assert api_client_for(rm.user).get("/api/v1/branches/").status_code == 200


def test_every_list_and_object_renders_in_the_browsable_api(client):
    bank = build_bank()
    client.force_login(bank["users"]["hr"])
    appraisal, customer = bank["objects"]["appraisal"]["own"], bank["objects"]["client"]["own"]
    urls = [f"/api/v1/{name}/" for name in RESOURCES] + [
        f"/api/v1/appraisals/{appraisal.pk}/", f"/api/v1/clients/{customer.client_no}/", "/api/v1/employees/RM001/",
        f"/api/v1/clients/{customer.client_no}/contribution/?month=2026-01"]
    for url in urls:
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html"), url
    # An action that only takes POST shows its form page, not an error.
    assert client.get(f"/api/v1/appraisals/{appraisal.pk}/publish/", HTTP_ACCEPT="text/html").status_code == 405
    assert client.get("/api/v1/imports/monthly/", HTTP_ACCEPT="text/html").status_code == 405
