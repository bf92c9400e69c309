"""``seed_demo`` builds a deterministic, consistent demo bank (clients/demo.py)."""
import datetime as dt
import io
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Min, Sum
from django.utils import timezone

from careers.models import JobSequence, Level
from clients import demo
from clients.models import (
    Assignment,
    Branch,
    Client,
    ClientContribution,
    Complaint,
    ContributionParameter,
    Employee,
    Interaction,
    MonthlyBusiness,
    ParameterKey,
    Region,
    Role,
)
from rmportal.errors import ApplicationError
from tests.factories import BranchFactory

pytestmark = pytest.mark.django_db

SMALL = {"clients": 300, "months": 4, "end_month": dt.date(2026, 10, 1)}
WINDOW = [dt.date(2026, 7, 1), dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)]
MONEY_FIELDS = [f.name for f in MonthlyBusiness._meta.fields if f.get_internal_type() == "DecimalField"]
COUNT_FIELDS = ["deposit_accounts", "loan_accounts", "wm_tx_count", "card_count"]


@pytest.fixture
def recompute_calls(monkeypatch):
    """Records the contribution runs instead of computing them (the engine has its own tests).
    Without contributions the appraisal history means nothing, so the career and appraisal
    history is left out too (careers/tests/test_demo.py and performance/tests/test_demo.py)."""
    calls = []
    monkeypatch.setattr(demo, "contribution_recompute", lambda **kwargs: calls.append(kwargs) or 0)
    monkeypatch.setattr(demo, "_seed_history", lambda streams, org, cal: {})
    return calls


@pytest.fixture
def bank(recompute_calls):
    return demo.demo_seed(**SMALL)


def month_end(month):
    return demo._month_end(month)


def totals() -> dict:
    """A fingerprint of the seeded bank."""
    sums = MonthlyBusiness.objects.aggregate(*(Sum(name) for name in MONEY_FIELDS + COUNT_FIELDS))
    return {
        **sums,
        "clients": list(Client.objects.order_by("client_no").values_list("client_no", "name", "segment", "status")),
        "employees": list(Employee.objects.order_by("employee_no").values_list("employee_no", "name", "role")),
        "assignments": sorted(Assignment.objects.values_list("client__client_no", "rm__employee_no", "started_on",
                                                             "ended_on", "reason")),
        "interactions": Interaction.objects.aggregate(n=Count("id"), score=Sum("score"), first=Min("occurred_on")),
        "complaints": sorted(Complaint.objects.values_list("client__client_no", "opened_at", "resolved_at")),
        "parameters": sorted((p.branch_id is None, p.month, p.key, p.value)
                             for p in ContributionParameter.objects.all()),
    }


def seeded_totals(**options) -> dict:
    """Seed, fingerprint and roll back, so the next run starts from an empty database again."""
    with transaction.atomic():
        demo.demo_seed(**{**SMALL, **options})
        result = totals()
        transaction.set_rollback(True)
    return result


# Organisation ---------------------------------------------------------------------------------

def test_organisation_has_two_regions_of_three_branches_with_their_staff(bank):
    assert Region.objects.count() == 2
    assert list(Region.objects.annotate(n=Count("branches")).values_list("n", flat=True)) == [3, 3]
    per_branch = Counter(Employee.objects.filter(hired_on__lt=WINDOW[0]).values_list("branch__code", "role"))
    for branch in Branch.objects.all():
        assert per_branch[(branch.code, Role.BRANCH_MANAGER)] == 1
        assert per_branch[(branch.code, Role.DEPARTMENT_HEAD)] == 1
        assert per_branch[(branch.code, Role.RM)] == 10
    reviewers = Employee.objects.filter(role=Role.REVIEWER)
    assert sorted(reviewers.values_list("branch__region__code", flat=True)) == ["R01", "R02"]
    assert Employee.objects.filter(role=Role.HR).count() == 2


def test_every_sequence_has_five_levels_with_rising_bonus_coefficients(bank):
    assert sorted(JobSequence.objects.values_list("code", flat=True)) == ["corporate", "personal", "wealth"]
    for sequence in JobSequence.objects.all():
        levels = Level.objects.filter(sequence=sequence).order_by("rank")
        assert [level.bonus_coefficient for level in levels] == [
            Decimal("0.8"), Decimal("1.0"), Decimal("1.2"), Decimal("1.5"), Decimal("1.8")]
    rms = Employee.objects.filter(role=Role.RM)
    assert not rms.filter(level__isnull=True).exists()
    assert rms.values("level__sequence").distinct().count() == 3


def test_employees_log_in_with_their_employee_number(bank):
    employees = Employee.objects.select_related("user")
    assert all(e.user.username == e.employee_no for e in employees)
    assert sorted(e.employee_no for e in employees)[:3] == ["E0001", "E0002", "E0003"]
    # The staff was in post before the window; RMs hired during it replace leavers.
    hired_in_window = [e for e in employees if e.hired_on >= WINDOW[0]]
    assert all(e.role == Role.RM and e.hired_on <= month_end(WINDOW[-1]) for e in hired_in_window)
    assert len(hired_in_window) == bank.counts["hires"]


def test_demo_logins_can_log_in_with_the_demo_password(bank, client):
    roles = {login.role for login in bank.logins}
    assert roles == {str(role.label) for role in Role}
    for login in bank.logins:
        assert login.password == demo.DEFAULT_PASSWORD
        assert client.login(username=login.username, password=demo.DEFAULT_PASSWORD), login
        employee = Employee.objects.get(employee_no=login.username)
        assert employee.branch.code == "B01"
        client.logout()
    demo_rm = Employee.objects.get(employee_no=next(l.username for l in bank.logins if l.role == str(Role.RM.label)))
    assert demo_rm.assignments.filter(ended_on__isnull=True).count() >= 5


# Clients and assignments ----------------------------------------------------------------------

def test_clients_are_mostly_mass_individuals_with_unique_numbers(bank):
    clients = Client.objects.all()
    assert clients.count() == 300
    segments = Counter(clients.values_list("segment", flat=True))
    assert 0.7 < segments[Client.Segment.MASS] / 300 < 0.9
    assert segments[Client.Segment.AFFLUENT] > segments[Client.Segment.PRIVATE] > 0
    types = Counter(clients.values_list("client_type", flat=True))
    assert 0 < types[Client.Type.CORPORATE] < types[Client.Type.INDIVIDUAL]
    numbers = dict(clients.values_list("client_no", "client_type"))
    assert all(no.startswith("6222" if kind == "individual" else "C") for no, kind in numbers.items())
    assert clients.values("branch").distinct().count() == 6


def test_every_client_still_served_has_one_open_assignment_to_an_active_rm_of_its_branch(bank):
    served = Client.objects.exclude(status=Client.Status.LOST)
    assert served.filter(status=Client.Status.DORMANT).exists()
    open_assignments = Assignment.objects.filter(ended_on__isnull=True).select_related("rm", "client")
    assert sorted(a.client_id for a in open_assignments) == sorted(served.values_list("pk", flat=True))
    for assignment in open_assignments:
        rm = assignment.rm
        assert (rm.role, rm.status, rm.branch_id) == (Role.RM, Employee.Status.ACTIVE, assignment.client.branch_id)


def test_lost_clients_have_a_loss_date_and_their_last_assignment_ended_that_day(bank):
    lost = Client.objects.filter(status=Client.Status.LOST)
    assert lost.exists()
    for client in lost:
        assert WINDOW[0] < client.lost_on <= month_end(WINDOW[-1])
        assert client.lost_reason
        assignments = list(client.assignments.order_by("started_on"))
        assert assignments[-1].ended_on == client.lost_on
        assert all(a.ended_on is not None for a in assignments)


def test_assignment_history_is_contiguous_within_the_branch(bank):
    history = defaultdict(list)
    for a in Assignment.objects.select_related("rm", "client").order_by("client_id", "started_on"):
        history[a.client_id].append(a)
        assert a.rm.branch_id == a.client.branch_id
    for spans in history.values():
        assert spans[0].reason == Assignment.Reason.ONBOARDING
        for before, after in zip(spans, spans[1:]):
            assert before.ended_on == after.started_on
            assert before.rm_id != after.rm_id
            assert after.reason in {Assignment.Reason.REBALANCING, Assignment.Reason.CLIENT_REQUEST,
                                    Assignment.Reason.EXIT_HANDOVER}
    assert any(len(spans) > 1 for spans in history.values())


def test_book_sizes_differ_between_rms(bank):
    books = list(Assignment.objects.filter(ended_on__isnull=True, rm__level__sequence__code="personal")
                 .values("rm").annotate(n=Count("id")).values_list("n", flat=True))
    assert max(books) >= 2 * min(books)


# Monthly business -----------------------------------------------------------------------------

def test_monthly_rows_exist_exactly_for_the_months_a_client_was_served(bank):
    expected = {
        (client.pk, month)
        for client in Client.objects.all()
        for month in WINDOW
        if month_end(month) >= client.opened_on and (client.lost_on is None or month_end(month) < client.lost_on)
    }
    actual = set(MonthlyBusiness.objects.values_list("client_id", "month"))
    assert actual == expected
    assert {month for _client, month in actual} == set(WINDOW)


def test_monthly_figures_are_never_negative_and_have_two_decimals(bank):
    lowest = MonthlyBusiness.objects.aggregate(*(Min(name) for name in MONEY_FIELDS + COUNT_FIELDS))
    assert all(value >= 0 for value in lowest.values()), lowest
    row = MonthlyBusiness.objects.filter(deposit_avg_balance__gt=0).first()
    assert row.deposit_avg_balance.as_tuple().exponent == -2
    assert all(row.loan_npl_balance <= row.loan_avg_balance for row in MonthlyBusiness.objects.all())


def test_interest_follows_the_balances(bank):
    rows = MonthlyBusiness.objects.all()
    sums = rows.aggregate(Sum("deposit_avg_balance"), Sum("deposit_interest_expense"), Sum("loan_avg_balance"),
                          Sum("loan_npl_balance"), Sum("loan_interest_income"))
    deposit_rate = sums["deposit_interest_expense__sum"] * 12 / sums["deposit_avg_balance__sum"]
    loan_rate = sums["loan_interest_income__sum"] * 12 / (sums["loan_avg_balance__sum"] - sums["loan_npl_balance__sum"])
    assert Decimal("0.005") < deposit_rate < Decimal("0.025")
    assert Decimal("0.03") < loan_rate < Decimal("0.06")
    # A loan has a term and accounts; no loan, no term.
    assert not rows.filter(loan_avg_balance__gt=0, loan_term="").exists()
    assert not rows.filter(loan_avg_balance=0).exclude(loan_term="").exists()
    assert not rows.filter(loan_avg_balance__gt=0, loan_accounts=0).exists()


def test_wealthier_segments_hold_more(bank):
    averages = dict(MonthlyBusiness.objects.filter(client__client_type="individual").values("client__segment")
                    .annotate(aum=Sum("deposit_avg_balance") / Count("id")).values_list("client__segment", "aum"))
    assert averages["mass"] < averages["affluent"] < averages["private"]


# Parameters, contributions --------------------------------------------------------------------

def test_parameters_cover_every_month_bank_wide_with_one_branch_override(bank):
    bank_wide = ContributionParameter.objects.filter(branch__isnull=True)
    for month in WINDOW:
        values = dict(bank_wide.filter(month=month).values_list("key", "value"))
        assert set(values) == set(ParameterKey.values)
        assert values["tax_rate"] == Decimal("0.06")
        assert values["capital_ratio"] == Decimal("0.105")
        assert values["cost_of_capital"] == Decimal("0.10")
        assert Decimal("0.02") <= values["ftp_loan_le6m"] < values["ftp_loan_gt5y"] <= Decimal("0.04")
        assert all(values[key] > 0 for key in ("cost_loan", "cost_deposit", "cost_wm", "cost_card"))
    overrides = ContributionParameter.objects.filter(branch__isnull=False)
    assert set(overrides.values_list("branch__code", "key")) == {("B03", "ftp_deposit")}
    assert overrides.count() == len(WINDOW)


def test_contributions_are_recomputed_for_every_month_of_the_window(bank, recompute_calls):
    assert recompute_calls == [{"months": WINDOW}]
    assert bank.months == WINDOW


def test_seeded_bank_has_a_stored_contribution_for_every_monthly_row():
    demo.demo_seed(**SMALL)
    assert ClientContribution.objects.count() == MonthlyBusiness.objects.count() > 0


# Interactions ---------------------------------------------------------------------------------

def test_interactions_fall_in_served_months_and_name_the_rm_of_that_day(bank):
    spans = defaultdict(list)
    for a in Assignment.objects.all():
        spans[a.client_id].append(a)
    interactions = list(Interaction.objects.select_related("client"))
    assert {i.kind for i in interactions} == set(Interaction.Kind.values)
    for interaction in interactions:
        day, client = interaction.occurred_on, interaction.client
        assert max(WINDOW[0], client.opened_on) <= day <= month_end(WINDOW[-1])
        assert client.lost_on is None or day < client.lost_on
        owner = [a.rm_id for a in spans[client.pk] if a.started_on <= day and (a.ended_on is None or day < a.ended_on)]
        assert owner == [interaction.employee_id]


def test_call_back_scores_are_one_to_five_and_mostly_good(bank):
    scores = list(Interaction.objects.filter(kind=Interaction.Kind.CALLBACK).values_list("score", flat=True))
    assert scores and all(1 <= score <= 5 for score in scores)
    assert sum(score >= 4 for score in scores) / len(scores) > 0.7
    assert not Interaction.objects.exclude(kind=Interaction.Kind.CALLBACK).filter(score__isnull=False).exists()


def test_complaints_are_due_48_hours_after_opening_in_office_hours(recompute_calls):
    demo.demo_seed(clients=2000, months=6, end_month=dt.date(2026, 10, 1))
    complaints = list(Complaint.objects.all())
    assert len(complaints) >= 10
    bank_zone = timezone.get_default_timezone()
    for complaint in complaints:
        assert complaint.due_at - complaint.opened_at == dt.timedelta(hours=48)
        assert 8 <= complaint.opened_at.astimezone(bank_zone).hour < 20
        assert complaint.resolved_at is None or complaint.resolved_at >= complaint.opened_at
        assert bool(complaint.resolution) == (complaint.resolved_at is not None)
        assert complaint.rm.branch_id == complaint.client.branch_id
    resolved = [c for c in complaints if c.resolved_at]
    assert resolved and len(resolved) < len(complaints)
    assert any(c.resolved_at > c.due_at for c in resolved)


# Determinism, window, writers -----------------------------------------------------------------

def test_same_seed_gives_the_same_bank_and_another_seed_a_different_one(recompute_calls):
    first = seeded_totals()
    assert not Branch.objects.exists()
    assert seeded_totals() == first
    other = seeded_totals(seed=7)
    assert other["deposit_avg_balance__sum"] != first["deposit_avg_balance__sum"]
    assert other["clients"] != first["clients"]


def test_bulk_create_writes_the_same_bank_as_copy(recompute_calls, monkeypatch):
    with_copy = seeded_totals()
    monkeypatch.setattr(demo, "_copy_supported", lambda: False)
    assert seeded_totals() == with_copy


def test_window_ends_with_the_month_before_today_unless_pinned(monkeypatch):
    assert demo.demo_month_window(months=4, end_month=dt.date(2026, 10, 1)) == WINDOW
    monkeypatch.setattr(timezone, "localdate", lambda: dt.date(2026, 1, 15))
    assert demo.demo_month_window(months=2) == [dt.date(2025, 11, 1), dt.date(2025, 12, 1)]


def test_demo_bank_refuses_a_database_with_branches(recompute_calls):
    BranchFactory()
    with pytest.raises(ApplicationError):
        demo.demo_seed(**SMALL)
    assert not Client.objects.exists()


# Command --------------------------------------------------------------------------------------

def run_command(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--clients", "300", "--months", "4", "--end-month", "2026-10", *args, stdout=out)
    return out.getvalue()


def test_command_seeds_and_prints_the_demo_logins(recompute_calls, client):
    output = run_command("--password", "another-demo-pass")
    assert Client.objects.count() == 300
    for username in ("E0001", "E0003", "E0005", "E0006", "E0007"):
        assert username in output
        assert client.login(username=username, password="another-demo-pass")
    assert "another-demo-pass" in output


def test_command_if_empty_does_nothing_on_a_non_empty_database(recompute_calls):
    BranchFactory(code="X01")
    run_command("--if-empty")
    assert list(Branch.objects.values_list("code", flat=True)) == ["X01"]
    assert not Client.objects.exists() and not Employee.objects.exists()
    assert recompute_calls == []


def test_command_if_empty_seeds_an_empty_database(recompute_calls):
    run_command("--if-empty")
    assert Branch.objects.count() == 6


def test_command_refuses_a_non_empty_database_without_if_empty(recompute_calls):
    BranchFactory()
    with pytest.raises(CommandError):
        run_command()


def test_command_rejects_a_malformed_end_month():
    with pytest.raises(CommandError):
        call_command("seed_demo", "--end-month", "2026-13", stdout=io.StringIO())


def test_command_help_lists_the_options():
    from clients.management.commands.seed_demo import Command

    text = Command().create_parser("manage.py", "seed_demo").format_help()
    for option in ("--clients", "--months", "--end-month", "--seed", "--password", "--if-empty"):
        assert option in text
