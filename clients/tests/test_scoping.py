"""restrict(user, action) decides who sees which rows (DOMAIN 1, STYLE 3)."""
import pytest

from clients.models import Branch, Client, MonthlyBusiness
from tests.factories import ClientFactory, MonthlyBusinessFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank(branch, sister_branch, other_branch, rm, other_rm):
    mine = ClientFactory(branch=branch, rm=rm)
    colleague = ClientFactory(branch=branch, rm=other_rm)
    sister = ClientFactory(branch=sister_branch)
    far = ClientFactory(branch=other_branch)
    for c in (mine, colleague, sister, far):
        MonthlyBusinessFactory(client=c)
    return {"mine": mine, "colleague": colleague, "sister": sister, "far": far}


def visible(model, employee_or_user):
    user = getattr(employee_or_user, "user", employee_or_user)
    return set(model.objects.restrict(user).values_list("pk", flat=True))


def test_rm_sees_only_own_book(bank, rm):
    assert visible(Client, rm) == {bank["mine"].pk}
    assert visible(MonthlyBusiness, rm) == set(
        MonthlyBusiness.objects.filter(client=bank["mine"]).values_list("pk", flat=True))


def test_branch_manager_sees_only_their_branch(bank, branch_manager):
    assert visible(Client, branch_manager) == {bank["mine"].pk, bank["colleague"].pk}
    assert visible(Branch, branch_manager) == {branch_manager.branch_id}


def test_department_head_sees_their_unit(bank, department_head):
    assert visible(Client, department_head) == {bank["mine"].pk, bank["colleague"].pk}


def test_reviewer_sees_the_branches_of_their_region(bank, reviewer):
    assert visible(Client, reviewer) == {bank["mine"].pk, bank["colleague"].pk, bank["sister"].pk}


def test_hr_sees_the_whole_bank(bank, hr):
    assert visible(Client, hr) == {c.pk for c in bank.values()}


def test_user_without_employee_record_sees_nothing(bank):
    assert visible(Client, UserFactory()) == set()


def test_rm_may_not_reassign(bank, rm, branch_manager):
    assert not Client.objects.restrict(rm.user, "reassign").exists()
    assert Client.objects.restrict(branch_manager.user, "reassign").count() == 2


def test_left_employee_sees_nothing(bank, rm):
    rm.status, rm.left_on = "left", rm.hired_on
    rm.save()
    rm.user._employee_cache = False
    assert visible(Client, rm) == set()
