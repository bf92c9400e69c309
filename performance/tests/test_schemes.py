"""Scheme files: validation, import, replacement and copies (DOMAIN 3.1.1)."""
import json

import pytest
from django.core.management import CommandError, call_command

from performance.models import Appraisal, Indicator, Scheme
from performance.schemes import scheme_copy, scheme_import
from rmportal.errors import ApplicationError

pytestmark = pytest.mark.django_db


def test_example_scheme_loads_with_its_indicators(scheme):
    assert scheme.branch.code == "B01"
    assert scheme.contribution_method == 3
    assert [i.code for i in scheme.indicators.all()] == ["dep", "npl", "fund", "sat", "ability", "local"]
    fund = scheme.indicators.get(code="fund")
    assert fund.applies_month and fund.applies_quarter and fund.applies_year
    assert scheme.indicators.get(code="npl").applies_month is False
    assert scheme.indicators.get(code="sat").metric == "satisfaction"


def test_weights_must_add_up_to_exactly_100(branch, scheme_data):
    scheme_data["indicators"][0]["weight"] = "30.01"
    with pytest.raises(ApplicationError, match="100.01"):
        scheme_import(data=scheme_data)
    assert not Scheme.objects.exists()


def test_unknown_metric_is_refused_with_its_name(branch, scheme_data):
    scheme_data["indicators"][0]["metric"] = "deposit_magic"
    with pytest.raises(ApplicationError, match="deposit_magic"):
        scheme_import(data=scheme_data)


def test_unknown_method_is_refused(branch, scheme_data):
    scheme_data["indicators"][0]["method"] = "log"
    with pytest.raises(ApplicationError, match="log"):
        scheme_import(data=scheme_data)


def test_unknown_branch_is_refused(scheme_data):
    with pytest.raises(ApplicationError, match="B01"):
        scheme_import(data=scheme_data)


def test_bands_must_rise(branch, scheme_data):
    scheme_data["indicators"][2]["bands"] = [["100000", "0.6"], ["0", "0"]]
    with pytest.raises(ApplicationError):
        scheme_import(data=scheme_data)


def test_loading_the_same_code_replaces_the_definition(scheme, scheme_data):
    scheme_data["indicators"][0]["weight"] = "20"
    scheme_data["indicators"][5]["weight"] = "20"
    scheme_data["indicators"].pop(3)
    scheme_data["indicators"][3]["weight"] = "30"
    scheme_import(data=scheme_data)
    assert Scheme.objects.count() == 1
    assert Indicator.objects.filter(scheme=scheme).count() == 5
    assert Indicator.objects.get(scheme=scheme, code="dep").weight == 20


def test_replacement_is_refused_once_an_appraisal_is_approved(scheme, scheme_data, rm):
    from django.utils import timezone
    Appraisal.objects.create(employee=rm, scheme=scheme, branch=rm.branch, period="2026-01", period_kind="month",
                             state="approved", computed_at=timezone.now())
    with pytest.raises(ApplicationError, match="approved"):
        scheme_import(data=scheme_data)


def test_a_new_scheme_for_the_branch_becomes_its_active_one(scheme, scheme_data):
    scheme_data["code"] = "B01-2027"
    newer = scheme_import(data=scheme_data)
    scheme.refresh_from_db()
    assert newer.is_active and not scheme.is_active


def test_head_office_template_is_copied_to_a_branch(branch, scheme_data):
    scheme_data.pop("branch_code")
    scheme_data["code"] = "HO-2026"
    template = scheme_import(data=scheme_data)
    copy = scheme_copy(template=template, branch=branch, code="B01-2026")
    assert copy.branch == branch and copy.template == template and copy.is_active
    assert copy.indicators.count() == template.indicators.count() == 6


def test_import_scheme_command_loads_a_file(branch, scheme_data, tmp_path):
    path = tmp_path / "scheme.json"
    path.write_text(json.dumps(scheme_data, ensure_ascii=False), encoding="utf-8")
    call_command("import_scheme", str(path))
    assert Scheme.objects.get(code="B01-2026").indicators.count() == 6


def test_import_scheme_command_fails_with_the_reason(branch, scheme_data, tmp_path):
    scheme_data["indicators"][0]["weight"] = "31"
    path = tmp_path / "scheme.json"
    path.write_text(json.dumps(scheme_data), encoding="utf-8")
    with pytest.raises(CommandError, match="101"):
        call_command("import_scheme", str(path))


def test_hr_copies_a_template_on_the_page(client, hr, branch, scheme_data):
    scheme_data.pop("branch_code")
    scheme_data["code"] = "HO-2026"
    scheme_import(data=scheme_data)
    client.force_login(hr.user)
    response = client.post("/performance/schemes/copy/", {"template": "HO-2026", "branch": "B01", "code": "B01-X"})
    assert response.status_code == 302
    assert Scheme.objects.get(code="B01-X").branch == branch


@pytest.mark.parametrize("role", ["rm", "department_head", "branch_manager", "reviewer"])
def test_only_hr_copies_templates(client, branch, role):
    from tests.factories import EmployeeFactory
    client.force_login(EmployeeFactory(branch=branch, role=role).user)
    assert client.get("/performance/schemes/copy/").status_code == 403
