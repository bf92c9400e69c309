"""Schemathesis against the live schema: every operation, called as an HR user with generated
input, answers no server error and nothing the schema does not describe (status code, content
type, body)."""
import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.api_mixins import api_client_for, build_bank

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Enough to reach every operation with valid and invalid input, few enough to stay under a minute.
MAX_EXAMPLES = 8
CONFIG = {"phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
          "generation": {"max-examples": MAX_EXAMPLES}}


def _served_schema() -> dict:
    """The schema as /api/schema/?format=json serves it (to logged-in users only, so it is rendered
    here rather than fetched anonymously); generating it reads no data."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(_served_schema(), config=schemathesis.Config.from_dict(CONFIG))
schema.app = get_wsgi_application()


@pytest.fixture
def hr_authorization(db):
    """Objects of every resource, so that the lists answered hold rows to check against the
    schema, and the Authorization header of HR, who may call every operation."""
    bank = build_bank()
    return api_client_for(bank["users"]["hr"])._credentials["HTTP_AUTHORIZATION"]


@pytest.fixture(autouse=True)
def keep_test_connection():
    """The WSGI application runs in the test's transaction: like Django's test client, requests
    must not close the database connection when they start or end."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_every_operation_answers_within_its_schema(case, hr_authorization):
    case.call_and_validate(headers={"Authorization": hr_authorization}, checks=CHECKS)
