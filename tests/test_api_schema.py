"""The OpenAPI schema validates without a warning, describes every operation and the one error
shape, and the Swagger UI is served from local static files only."""
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse

from tests.api_mixins import RESOURCES

pytestmark = pytest.mark.django_db



@pytest.fixture(scope="module")
def schema():
    return _generate()


def _generate():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_validates_without_any_warning(tmp_path):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn turns every generator warning (unresolvable types, name clashes …) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.read_text().startswith("openapi: 3.")


def test_schema_is_served_as_openapi_3(client, rm):
    client.force_login(rm.user)
    response = client.get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    served = json.loads(response.content)
    assert served["openapi"].startswith("3.")
    assert "tokenAuth" in served["components"]["securitySchemes"]


def test_every_resource_has_its_list_and_object(schema):
    paths = set(schema["paths"])
    for name in RESOURCES:
        assert f"/api/v1/{name}/" in paths, name
        assert any(re.fullmatch(rf"/api/v1/{name}/\{{\w+\}}/", path) for path in paths), name
    assert "/api/v1/clients/{client_no}/contribution/" in paths
    assert "/api/v1/imports/{kind}/" in paths and "/api/v1/imports/jobs/{job_id}/" in paths
    for step in ("score", "submit", "review", "approve", "publish", "acknowledge", "appeal", "reopen"):
        assert f"/api/v1/appraisals/{{id}}/{step}/" in paths


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_is_described_with_summary_description_and_tag(schema):
    for path, method, operation in operations(schema):
        assert operation.get("summary"), (method, path)
        assert operation.get("description"), (method, path)
        assert operation.get("tags"), (method, path)


def test_every_operation_documents_the_one_error_shape(schema):
    error = {"$ref": "#/components/schemas/Error"}
    for path, method, operation in operations(schema):
        for code in ("400", "401", "404", "429") + (("403",) if method == "post" else ()):
            assert operation["responses"][code]["content"]["application/json"]["schema"] == error, (method, path, code)
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"detail", "errors"}


def test_amounts_are_decimal_strings_and_dates_iso(schema):
    components = schema["components"]["schemas"]
    paid = components["BonusStatement"]["properties"]["paid"]
    assert paid["type"] == "string" and paid["format"] == "decimal"
    assert components["Appraisal"]["properties"]["computed_at"]["format"] == "date-time"
    assert components["Exit"]["properties"]["exit_on"]["format"] == "date"
    assert components["Contribution"]["properties"]["total"]["type"] == "string"


def test_key_operations_carry_examples(schema):
    contribution = schema["paths"]["/api/v1/clients/{client_no}/contribution/"]["get"]
    assert contribution["responses"]["200"]["content"]["application/json"]["examples"]
    imports = schema["paths"]["/api/v1/imports/{kind}/"]["post"]
    assert imports["requestBody"]["content"]["application/json"]["examples"]
    assert set(imports["requestBody"]["content"]) == {"application/json", "multipart/form-data"}


def test_swagger_ui_references_only_local_static_files(client, rm):
    client.force_login(rm.user)
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "://" not in html  # no CDN, no online validator
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert references
    # Its start-up script comes from the page's own address (no inline script, for the CSP).
    script_url = f"{reverse('api-docs')}?script="
    for reference in references:
        if reference == script_url:
            continue
        assert reference.startswith("/static/"), reference
        assert finders.find(reference.removeprefix("/static/")), reference
    script = client.get(script_url).content.decode()
    assert "://" not in script
    assert '"validatorUrl": null' in script
