"""A test mixin for the API resources (after NetBox's ``utilities/testing/api.py``).

Every resource test class names its route and how to find its objects in a small bank built by
``build_bank``: two regions, three branches (B01 and B02 in region R01, B03 in R02), the RM
``RM001`` and a colleague in B01, one RM in B02 and one in B03, and one object of the resource
for each of them under the keys "own", "colleague", "sister" and "far" (branch-level resources:
"home", "sister", "far"; regions: "home", "far").

For each role the mixin checks that anonymous calls are answered 401, that the list holds
exactly the keyed objects the role may see, that each of them answers 200 and every other 404,
that filtering on another branch returns nothing, and that read-only service accounts are refused
every write with 403.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from careers.models import (CareerGoal, CareerInterview, Certificate, CertificateType, Commendation, Exit,
                            ExitHandover, LevelChange, RiskAlert, RiskScore, Training)
from clients.contribution import contribution_recompute
from clients.models import ClientContribution, ContributionParameter, MonthlyBusiness, Role
from performance.appraisals import appraisal_run
from performance.models import (Appraisal, AppraisalLine, BonusStatement, Indicator, PerformancePool, PoolEntry,
                                ScheduledRun, Scheme, Target)
from performance.schemes import scheme_import
from rmportal.api.permissions import READ_ONLY_GROUP
from tests.factories import BranchFactory, ClientFactory, EmployeeFactory, LevelFactory, RegionFactory

ROLES = ("rm", "department_head", "branch_manager", "reviewer", "hr")
MAX_LIST_QUERIES = 6
# The list routes of /api/v1/.
RESOURCES = ("regions", "branches", "employees", "clients", "schemes", "appraisals", "bonus-statements", "pools",
             "pool-entries", "scheduled-runs", "level-changes", "certificates", "trainings", "commendations",
             "career-goals", "career-interviews", "exits", "risk-scores", "risk-alerts")
JAN = dt.date(2026, 1, 1)
PERIOD = "2026-Q1"


def api_client_for(user) -> APIClient:
    """An API client authenticating as ``user`` with a token, as a REST client would."""
    token, _created = Token.objects.get_or_create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def make_read_only(user) -> None:
    group, _created = Group.objects.get_or_create(name=READ_ONLY_GROUP)
    user.groups.add(group)


def build_bank() -> dict:
    """The bank every resource test runs against; returns users by role and objects by resource."""
    home_region, far_region = RegionFactory(code="R01"), RegionFactory(code="R02")
    branches = {"home": BranchFactory(code="B01", region=home_region),
                "sister": BranchFactory(code="B02", region=home_region),
                "far": BranchFactory(code="B03", region=far_region)}
    level = LevelFactory(code="L1", rank=1)
    owners = {
        "own": EmployeeFactory(employee_no="RM001", branch=branches["home"], level=level),
        "colleague": EmployeeFactory(employee_no="RM002", branch=branches["home"], level=level),
        "sister": EmployeeFactory(employee_no="RM201", branch=branches["sister"], level=level),
        "far": EmployeeFactory(employee_no="RM301", branch=branches["far"], level=level),
    }
    users = {"rm": owners["own"].user}
    for role, number in ((Role.DEPARTMENT_HEAD, "DH001"), (Role.BRANCH_MANAGER, "BM001"),
                         (Role.REVIEWER, "RV001"), (Role.HR, "HR001")):
        users[role.value] = EmployeeFactory(employee_no=number, branch=branches["home"], role=role).user
    now = timezone.now()
    certificate_type = CertificateType.objects.create(code="AFP", name="AFP")
    objects: dict[str, dict] = {name: {} for name in (
        "client", "contribution", "appraisal", "bonus", "pool_entry", "level_change", "certificate", "training",
        "commendation", "goal", "interview", "exit", "risk_score", "risk_alert")}
    schemes, pools = {}, {}
    for key, branch in branches.items():
        schemes[key] = Scheme.objects.create(code=f"{branch.code}-2026", name=f"{branch.code} 2026", branch=branch)
        Indicator.objects.create(scheme=schemes[key], code="ability", name="Ability", category="comprehensive",
                                 source="manual", weight=Decimal("100"), method="manual", applies_year=True)
        pools[key] = PerformancePool.objects.create(branch=branch, balance=Decimal("1000.00"))
    for key, owner in owners.items():
        branch_key = "home" if owner.branch_id == branches["home"].pk else key
        client = ClientFactory(branch=owner.branch, rm=owner)
        objects["client"][key] = client
        objects["contribution"][key] = ClientContribution.objects.create(
            client=client, month=JAN, branch=owner.branch, volume=Decimal("100.00"),
            loan_revenue=Decimal("1.00"), deposit_revenue=Decimal("2.00"), wm_revenue=Decimal("3.00"),
            card_revenue=Decimal("4.00"), loan_profit=Decimal("0.50"), deposit_profit=Decimal("1.50"),
            wm_profit=Decimal("2.50"), card_profit=Decimal("3.50"), capital_charge=Decimal("0.25"))
        # Published, so that only ownership decides what an RM sees.
        appraisal = Appraisal.objects.create(
            employee=owner, scheme=schemes[branch_key], branch=owner.branch, period="2025", period_kind="year",
            state=Appraisal.State.PUBLISHED, total=Decimal("85.00"), grade="good", computed_at=now,
            published_at=now)
        AppraisalLine.objects.create(appraisal=appraisal, indicator=schemes[branch_key].indicators.get(),
                                     weight=Decimal("100"), manual_score=Decimal("85.00"), points=Decimal("85"))
        objects["appraisal"][key] = appraisal
        objects["bonus"][key] = BonusStatement.objects.create(
            employee=owner, branch=owner.branch, period="2025", appraisal=appraisal, level_coefficient=Decimal("1"),
            grade_coefficient=Decimal("1.2"), bonus=Decimal("1000.00"), withheld=Decimal("100.00"),
            paid=Decimal("900.00"))
        objects["pool_entry"][key] = PoolEntry.objects.create(
            pool=pools[branch_key], kind=PoolEntry.Kind.ALLOCATION, amount=Decimal("10.00"), period="2025",
            employee=owner, reason=PoolEntry.Reason.DILIGENCE, justification="worked hard",
            balance_after=Decimal("990.00"))
        objects["level_change"][key] = LevelChange.objects.create(
            employee=owner, kind=LevelChange.Kind.HIRE, effective_on=dt.date(2020, 1, 1), to_level=level,
            to_branch=owner.branch)
        objects["certificate"][key] = Certificate.objects.create(
            employee=owner, certificate_type=certificate_type, obtained_on=dt.date(2021, 1, 1))
        objects["training"][key] = Training.objects.create(
            employee=owner, title="Wealth planning", completed_on=dt.date(2025, 5, 1), hours=Decimal("8"))
        objects["commendation"][key] = Commendation.objects.create(
            employee=owner, title="Best service", awarded_on=dt.date(2025, 6, 1))
        objects["goal"][key] = CareerGoal.objects.create(
            employee=owner, target_level=level, target_date=dt.date(2027, 1, 1), created_on=dt.date(2025, 1, 1))
        objects["interview"][key] = CareerInterview.objects.create(employee=owner, scheduled_on=dt.date(2026, 3, 1))
        exit_ = Exit.objects.create(employee=owner, exit_on=dt.date(2026, 6, 30), reason=Exit.Reason.RECOGNITION)
        ExitHandover.objects.create(exit=exit_, client=client, to_rm=owner, handed_over_on=dt.date(2026, 6, 1))
        objects["exit"][key] = exit_
        score = RiskScore.objects.create(employee=owner, month=JAN, score=Decimal("72.50"), band="high",
                                         factors={"assessment": {"value": "0.8"}})
        objects["risk_score"][key] = score
        objects["risk_alert"][key] = RiskAlert.objects.create(employee=owner, score=score, trigger="entered_high")
    objects["employee"] = owners
    objects["region"] = {"home": home_region, "far": far_region}
    objects["branch"] = branches
    objects["scheme"] = schemes
    objects["pool"] = pools
    objects["scheduled_run"] = {"run": ScheduledRun.objects.create(kind=ScheduledRun.Kind.APPRAISALS, key="2026-01")}
    return {"users": users, "objects": objects, "branches": branches}


def default_sees(role: str, key: str, resource: Resource) -> bool:
    """Who sees which key under the scoping rules (DOMAIN 1)."""
    if resource.hr_only:
        return role == "hr"
    if role == "rm":
        return resource.rm_sees_own and key == "own"
    if role in ("department_head", "branch_manager"):
        return key in ("own", "colleague", "home")
    if role == "reviewer":
        return key in ("own", "colleague", "home", "sister")
    return True


@dataclass
class Resource:
    """One API resource as the mixin sees it.

    basename: the router's basename; objects: the key of ``build_bank()["objects"]``;
    lookup: the URL value of an object (its id unless a business key is used);
    rm_sees_own: whether an RM sees the "own" object; hr_only: nobody but HR sees anything;
    branch_filter: the query parameter filtering by branch code (with ``APIBranchFilterChecks``);
    detail_url: builds the object URL when it is not the router's detail route.
    """

    basename: str
    objects: str
    lookup: Callable = lambda obj: obj.pk
    rm_sees_own: bool = True
    hr_only: bool = False
    branch_filter: str | None = None
    detail_url: Callable | None = None

    def list_url(self) -> str:
        return reverse(f"{self.basename}-list")

    def url(self, obj) -> str:
        if self.detail_url is not None:
            return self.detail_url(obj)
        return reverse(f"{self.basename}-detail", args=[self.lookup(obj)])


@pytest.mark.django_db
class APIObjectChecks:
    """Subclass with ``resource = Resource(...)``; the tests run for every role. Resources with
    a list use ``APIResourceChecks``."""

    resource: Resource

    @pytest.fixture
    def bank(self, db):
        return build_bank()

    def keyed(self, bank) -> dict:
        return bank["objects"][self.resource.objects]

    def expected(self, role: str, bank) -> set[str]:
        return {key for key in self.keyed(bank) if default_sees(role, key, self.resource)}

    def urls(self, bank) -> list[str]:
        return [self.resource.url(next(iter(self.keyed(bank).values())))]

    # --- anonymous -----------------------------------------------------------------------------

    def test_anonymous_is_answered_401_in_the_error_shape(self, bank):
        anonymous = APIClient()
        for url in self.urls(bank):
            response = anonymous.get(url)
            assert response.status_code == 401, url
            assert set(response.json()) == {"detail", "errors"}
            assert response["WWW-Authenticate"] == "Token"

    # --- objects -------------------------------------------------------------------------------

    @pytest.mark.parametrize("role", ROLES)
    def test_object_in_scope_is_200_and_out_of_scope_404(self, bank, role):
        api = api_client_for(bank["users"][role])
        expected = self.expected(role, bank)
        for key, obj in self.keyed(bank).items():
            response = api.get(self.resource.url(obj))
            assert response.status_code == (200 if key in expected else 404), (role, key, response.content)
            if key not in expected:
                assert set(response.json()) == {"detail", "errors"}

    # --- read-only accounts --------------------------------------------------------------------

    def write_url(self, bank) -> str:
        return self.resource.url(next(iter(self.keyed(bank).values())))

    def test_writes_are_refused_to_read_only_accounts(self, bank):
        hr = bank["users"]["hr"]
        url = self.write_url(bank)
        # Without the group, a write to a read-only resource is merely not allowed …
        assert api_client_for(hr).post(url, {}, format="json").status_code == 405
        make_read_only(hr)
        api = api_client_for(hr)
        for method in ("post", "put", "patch", "delete"):
            response = getattr(api, method)(url, {}, format="json")
            assert response.status_code == 403, method
            assert set(response.json()) == {"detail", "errors"}
        # … while reading goes on.
        assert api.get(url).status_code == 200


class APIResourceChecks(APIObjectChecks):
    """The object checks, and the list's: exactly the keyed objects the role may see."""

    def write_url(self, bank) -> str:
        return self.resource.list_url()

    def urls(self, bank) -> list[str]:
        return [*super().urls(bank), self.resource.list_url()]

    # --- lists ---------------------------------------------------------------------------------

    def listed_ids(self, api, **params) -> set[int]:
        response = api.get(self.resource.list_url(), {"page_size": 500, **params})
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        return {item["id"] for item in body["results"]}

    @pytest.mark.parametrize("role", ROLES)
    def test_list_holds_exactly_what_the_role_may_see(self, bank, role):
        ids = self.listed_ids(api_client_for(bank["users"][role]))
        expected = self.expected(role, bank)
        for key, obj in self.keyed(bank).items():
            assert (obj.pk in ids) == (key in expected), (role, key)

    def test_list_costs_a_few_queries_however_many_rows(self, bank, django_assert_max_num_queries):
        api = api_client_for(bank["users"]["hr"])
        # Authentication, role, count, page and at most two prefetches: never a query per row.
        with django_assert_max_num_queries(MAX_LIST_QUERIES):
            assert len(self.listed_ids(api)) >= len(self.keyed(bank))


class APIBranchFilterChecks:
    """For lists filtered by branch code (``resource.branch_filter``): a branch manager asking for
    another branch gets an empty list, not an error that would confirm the code exists."""

    def test_filtering_on_another_branch_returns_nothing(self, bank):
        api = api_client_for(bank["users"]["branch_manager"])
        assert self.listed_ids(api, **{self.resource.branch_filter: "B03"}) == set()
        home = self.listed_ids(api, **{self.resource.branch_filter: "B01"})
        assert home and home == self.listed_ids(api)


# --- figures shared by the API tests ---------------------------------------------------------


def worked_example_client(branch, rm):
    """DOMAIN 2.2's worked example, stored and valued for January 2026: one client "C.0001" of
    ``branch``, the branch-month's planned costs giving unit costs loan 200, deposit 30, wm 10,
    card 10."""
    client = ClientFactory(branch=branch, rm=rm, client_no="C.0001")
    MonthlyBusiness.objects.create(
        client=client, month=JAN, loan_avg_balance=Decimal("1200000"), loan_interest_income=Decimal("4500"),
        loan_accounts=1, loan_term="1y_3y", deposit_avg_balance=Decimal("500000"),
        deposit_interest_expense=Decimal("250"), deposit_accounts=2, wm_income=Decimal("1200"),
        wm_expense=Decimal("300"), wm_tx_count=3, wm_sales=Decimal("50000"), card_count=2,
        card_deposit_income=Decimal("20"), card_overdraft_income=Decimal("150"), card_fee_income=Decimal("30"),
        card_annual_fee_income=Decimal("10"), card_rebate_income=Decimal("15"), insurance_sales=Decimal("10000"),
        fund_sales=Decimal("20000"), bond_sales=Decimal("5000"))
    for key, value in {"tax_rate": "0.06", "ftp_loan_1y_3y": "0.029", "ftp_deposit": "0.02",
                       "capital_ratio": "0.105", "cost_of_capital": "0.10", "cost_loan": "200",
                       "cost_deposit": "60", "cost_wm": "30", "cost_card": "20"}.items():
        ContributionParameter.objects.create(branch=None, month=JAN, key=key, value=Decimal(value))
    contribution_recompute(months=[JAN])
    return client


# DOMAIN 3.1.1's example scheme.
SCHEME = {
    "code": "B01-2026", "name": "B01 2026", "branch_code": "B01", "contribution_method": 3, "pool_rate": "0.10",
    "indicators": [
        {"code": "dep", "name": "存款日均新增", "category": "performance", "source": "metric",
         "metric": "deposit_avg_increase", "weight": "30", "method": "ratio", "cap": "1.2",
         "periods": ["month", "quarter", "year"]},
        {"code": "npl", "name": "贷款不良率", "category": "performance", "source": "metric", "metric": "npl_ratio",
         "weight": "10", "method": "inverse", "target": "0.01", "ceiling": "0.05", "periods": ["quarter", "year"]},
        {"code": "fund", "name": "基金销售", "category": "performance", "source": "metric", "metric": "fund_sales",
         "weight": "20", "method": "bands", "bands": [["0", "0"], ["100000", "0.6"], ["300000", "1"]],
         "periods": ["month", "quarter", "year"]},
        {"code": "sat", "name": "客户满意度", "category": "comprehensive", "source": "survey",
         "metric": "satisfaction", "weight": "10", "method": "ratio", "target": "0.9", "periods": ["year"]},
        {"code": "ability", "name": "工作能力", "category": "comprehensive", "source": "manual", "weight": "20",
         "method": "manual", "periods": ["year"]},
        {"code": "local", "name": "特色业务", "category": "adjustment", "source": "manual", "weight": "10",
         "method": "manual", "periods": ["quarter", "year"]},
    ],
}


def store_month(client, month: dt.date, **amounts):
    MonthlyBusiness.objects.update_or_create(client=client, month=month, defaults=amounts)


def book_client(branch, rm):
    """A client of ``rm`` with March 2026 business: deposits 50,000, fund sales 100,000."""
    client = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2025, 1, 1))
    store_month(client, dt.date(2026, 3, 1), deposit_avg_balance=50000, fund_sales=100000)
    return client


def quarterly_appraisal(rm) -> Appraisal:
    """``rm``'s 2026-Q1 appraisal under the example scheme of their branch (B01): every target
    set, only the manual "local" score missing."""
    scheme = scheme_import(data=SCHEME)
    Target.objects.create(employee=rm, indicator=scheme.indicators.get(code="dep"), period=PERIOD, value=10000)
    appraisal_run(period=PERIOD)
    return Appraisal.objects.get(employee=rm, period=PERIOD)
