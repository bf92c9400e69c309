import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from clients.models import Role
from tests.factories import BranchFactory, EmployeeFactory, RegionFactory


@pytest.fixture
def region():
    return RegionFactory(code="R01", name="North")


@pytest.fixture
def other_region():
    return RegionFactory(code="R02", name="South")


@pytest.fixture
def branch(region):
    return BranchFactory(code="B01", name="Main street", region=region)


@pytest.fixture
def sister_branch(region):
    """Another branch of the same region."""
    return BranchFactory(code="B02", name="Harbour", region=region)


@pytest.fixture
def other_branch(other_region):
    """A branch of another region."""
    return BranchFactory(code="B03", name="Hill", region=other_region)


@pytest.fixture
def rm(branch):
    return EmployeeFactory(employee_no="RM001", name="Li Na", branch=branch, role=Role.RM)


@pytest.fixture
def other_rm(branch):
    return EmployeeFactory(employee_no="RM002", name="Wang Wei", branch=branch, role=Role.RM)


@pytest.fixture
def department_head(branch):
    return EmployeeFactory(employee_no="DH001", branch=branch, role=Role.DEPARTMENT_HEAD)


@pytest.fixture
def branch_manager(branch):
    return EmployeeFactory(employee_no="BM001", branch=branch, role=Role.BRANCH_MANAGER)


@pytest.fixture
def reviewer(branch):
    return EmployeeFactory(employee_no="RV001", branch=branch, role=Role.REVIEWER)


@pytest.fixture
def hr(branch):
    return EmployeeFactory(employee_no="HR001", branch=branch, role=Role.HR)


@pytest.fixture
def client_of(client):
    """A Django test client logged in as the given employee: ``client_of(rm)``."""

    def login(employee):
        client.force_login(employee.user)
        return client

    return login


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache: no dashboard figures kept by another test."""
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the settings' language: a page requested by an earlier test leaves
    its language active in the thread (the locale middleware does not reset it)."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()
