"""RMs' books per month (BookMonth), rebuilt by clients.books (DOMAIN 2, 2.1, 2.2)."""
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db.models import Count, Q, Sum

from clients import services
from clients.books import book_months_refresh, book_months_refresh_since
from clients.contribution import ContributionMethod, contribution_recompute, contribution_total_sum
from clients.models import Assignment, BookMonth, Client, ClientContribution, ContributionParameter, MonthlyBusiness
from clients.selectors import AUM
from rmportal.importing import run_import
from tests.factories import ClientFactory, EmployeeFactory, MonthlyBusinessFactory

pytestmark = pytest.mark.django_db

D = Decimal
JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)
FIGURES = ("clients", "private_affluent", "deposit", "loan", "aum", "volume", "revenue", "profit", "eva")


def business(client, month, n=1):
    """A client-month with every kind of amount, varied by ``n`` so that totals tell rows apart."""
    return MonthlyBusinessFactory(
        client=client, month=month, deposit_avg_balance=D("100000.10") * n, deposit_interest_expense=D("50") * n,
        deposit_accounts=1, loan_avg_balance=D("300000") * n, loan_interest_income=D("1200.55") * n,
        loan_accounts=1, loan_term="1y_3y", wm_income=D("400") * n, wm_expense=D("100") * n, wm_tx_count=2,
        wm_sales=D("20000.20") * n, card_count=1, card_fee_income=D("30") * n, insurance_sales=D("5000") * n,
        fund_sales=D("7000") * n, bond_sales=D("1000") * n)


@pytest.fixture
def parameters():
    for month in (JAN, FEB, MAR):
        for key, value in {"tax_rate": "0.06", "ftp_loan_1y_3y": "0.029", "ftp_deposit": "0.02",
                           "cost_loan": "90", "cost_deposit": "30", "cost_wm": "20", "cost_card": "10",
                           "capital_ratio": "0.105", "cost_of_capital": "0.10"}.items():
            ContributionParameter.objects.create(branch=None, month=month, key=key, value=D(value))


@pytest.fixture
def bank(branch, sister_branch, rm, other_rm, parameters):
    """Two RMs of B01 and one of B02. One client moves from rm to other_rm on 2026-02-28, the last
    day of February (February is other_rm's), another on 2026-03-01 (February stays rm's)."""
    third = EmployeeFactory(employee_no="RM003", branch=sister_branch)
    clients = {
        "private": ClientFactory(branch=branch, rm=rm, segment=Client.Segment.PRIVATE),
        "affluent": ClientFactory(branch=branch, rm=rm, segment=Client.Segment.AFFLUENT),
        "mass": ClientFactory(branch=branch, rm=other_rm),
        "moved_end": ClientFactory(branch=branch, rm=rm),
        "moved_next": ClientFactory(branch=branch, rm=rm),
        "sister": ClientFactory(branch=sister_branch, rm=third, segment=Client.Segment.AFFLUENT),
    }
    for n, client in enumerate(clients.values(), start=1):
        business(client, JAN, n)
        business(client, FEB, n + 1)
    by = rm.user
    services.client_reassign(client=clients["moved_end"], to_rm=other_rm, on=dt.date(2026, 2, 28),
                             reason="rebalancing", by=by)
    services.client_reassign(client=clients["moved_next"], to_rm=other_rm, on=dt.date(2026, 3, 1),
                             reason="rebalancing", by=by)
    contribution_recompute(months=[JAN, FEB])
    return {"clients": clients, "third": third}


def direct(rm_id, branch_id, month):
    """The book of an RM, branch and month aggregated straight from the ORM (the reference)."""
    last_day = {JAN: dt.date(2026, 1, 31), FEB: dt.date(2026, 2, 28), MAR: dt.date(2026, 3, 31)}[month]
    owners = Assignment.objects.filter(Q(ended_on__isnull=True) | Q(ended_on__gt=last_day), rm_id=rm_id,
                                       started_on__lte=last_day).values("client_id")
    rows = MonthlyBusiness.objects.filter(month=month, client_id__in=owners, client__branch_id=branch_id)
    figures = rows.aggregate(
        clients=Count("pk"),
        private_affluent=Count("pk", filter=Q(client__segment__in=["private", "affluent"])),
        deposit=Sum("deposit_avg_balance"), loan=Sum("loan_avg_balance"), aum=Sum(AUM))
    valued = ClientContribution.objects.filter(month=month, client_id__in=rows.values("client_id"))
    for name, method in (("volume", 1), ("revenue", 2), ("profit", 3), ("eva", 4)):
        figures[name] = valued.aggregate(total=contribution_total_sum(ContributionMethod(method)))["total"]
    return figures


def stored(rm_id, branch_id, month):
    row = BookMonth.objects.get(rm_id=rm_id, branch_id=branch_id, month=month)
    return {name: getattr(row, name) for name in FIGURES}


def test_every_book_row_equals_the_direct_orm_aggregation(bank, branch, sister_branch, rm, other_rm):
    keys = sorted(BookMonth.objects.values_list("rm_id", "branch_id", "month"))

    assert keys == sorted([(rm.pk, branch.pk, JAN), (other_rm.pk, branch.pk, JAN), (bank["third"].pk, sister_branch.pk, JAN),
                           (rm.pk, branch.pk, FEB), (other_rm.pk, branch.pk, FEB),
                           (bank["third"].pk, sister_branch.pk, FEB)])
    for key in keys:
        assert stored(*key) == direct(*key)
    assert stored(rm.pk, branch.pk, JAN)["profit"] != D("0.00")


def test_the_month_belongs_to_the_rm_whose_assignment_covers_its_last_day(bank, branch, rm, other_rm):
    january_rm, february_rm = stored(rm.pk, branch.pk, JAN), stored(rm.pk, branch.pk, FEB)
    february_other = stored(other_rm.pk, branch.pk, FEB)

    # January: private, affluent, both movers. February: the mover of the 28th is other_rm's,
    # the mover of 1 March still rm's.
    assert january_rm["clients"] == 4 and january_rm["private_affluent"] == 2
    assert february_rm["clients"] == 3
    assert february_other["clients"] == 2
    assert february_other["deposit"] == D("100000.10") * (4 + 5)  # February's amounts are n + 1


def test_a_refresh_run_twice_changes_nothing_the_second_time(bank):
    before = sorted(BookMonth.objects.values_list("pk", "rm_id", "month", *FIGURES))

    assert book_months_refresh(months=[JAN, FEB]) == 0
    assert sorted(BookMonth.objects.values_list("pk", "rm_id", "month", *FIGURES)) == before


def test_recompute_refreshes_the_books_of_its_months(bank, branch, rm):
    MonthlyBusiness.objects.filter(client=bank["clients"]["private"], month=JAN).update(
        deposit_avg_balance=D("1.00"))

    contribution_recompute(months=[JAN], branch_ids=[branch.pk])

    assert stored(rm.pk, branch.pk, JAN) == direct(rm.pk, branch.pk, JAN)


def test_rows_that_no_longer_have_an_owned_client_month_are_removed(bank, branch, other_rm, rm):
    BookMonth.objects.create(rm=rm, branch=branch, month=MAR, clients=9)  # March has no data at all
    MonthlyBusiness.objects.filter(client__assignments__rm=other_rm, month=JAN).delete()

    book_months_refresh(months=[JAN, MAR], branch_ids=[branch.pk])

    assert not BookMonth.objects.filter(rm=other_rm, month=JAN).exists()
    assert not BookMonth.objects.filter(month=MAR).exists()
    assert BookMonth.objects.filter(rm=rm, month=JAN).exists()


def test_a_branch_refresh_leaves_other_branches_alone(bank, branch, sister_branch):
    BookMonth.objects.filter(branch=sister_branch).update(clients=99)

    book_months_refresh(months=[JAN, FEB], branch_ids=[branch.pk])

    assert set(BookMonth.objects.filter(branch=sister_branch).values_list("clients", flat=True)) == {99}


def test_a_back_dated_reassignment_moves_the_months_from_that_day(bank, branch, rm, other_rm):
    client = bank["clients"]["private"]

    services.client_reassign(client=client, to_rm=other_rm, on=dt.date(2026, 1, 15), reason="rebalancing",
                             by=rm.user)

    for month in (JAN, FEB):
        assert stored(rm.pk, branch.pk, month) == direct(rm.pk, branch.pk, month)
        assert stored(other_rm.pk, branch.pk, month) == direct(other_rm.pk, branch.pk, month)
    assert stored(rm.pk, branch.pk, JAN)["private_affluent"] == 1


def test_a_back_dated_handover_and_a_back_dated_loss_rebuild_the_books(bank, branch, rm, other_rm):
    plan = [(client, other_rm) for client in Client.objects.filter(assignments__rm=rm, assignments__ended_on__isnull=True)]
    services.book_handover(from_rm=rm, plan=plan, on=dt.date(2026, 2, 10), by=rm.user)
    services.client_mark_lost(client=bank["clients"]["mass"], on=dt.date(2026, 2, 20), reason="moved away",
                              by=rm.user)

    # February keeps only the client rm still held at its end (it moves on 1 March).
    assert stored(rm.pk, branch.pk, FEB)["clients"] == 1
    assert stored(rm.pk, branch.pk, FEB) == direct(rm.pk, branch.pk, FEB)
    assert stored(other_rm.pk, branch.pk, FEB) == direct(other_rm.pk, branch.pk, FEB)
    assert stored(other_rm.pk, branch.pk, JAN) == direct(other_rm.pk, branch.pk, JAN)


def test_a_clients_import_with_a_back_dated_move_rebuilds_the_books(bank, branch, rm, other_rm):
    client = bank["clients"]["affluent"]
    csv = ("client_no,name,client_type,segment,branch_code,rm_employee_no,opened_on,assigned_on\n"
           f"{client.client_no},{client.name},individual,affluent,B01,{other_rm.employee_no},2020-01-01,2026-01-31\n")

    run_import("clients", io.BytesIO(csv.encode()), filename="clients.csv")

    assert stored(rm.pk, branch.pk, JAN) == direct(rm.pk, branch.pk, JAN)
    assert stored(other_rm.pk, branch.pk, JAN)["private_affluent"] == 1


def test_a_move_dated_after_the_last_month_with_data_refreshes_nothing(bank, branch, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        assert book_months_refresh_since(since=MAR, branch_ids=[branch.pk]) == 0


def _many(branch, count):
    rms = [EmployeeFactory(branch=branch) for _ in range(count)]
    for n in range(count * 4):
        client = ClientFactory(branch=branch, rm=rms[n % count], segment=Client.Segment.AFFLUENT)
        business(client, JAN, 1)
        business(client, FEB, 2)


@pytest.mark.parametrize("count", [2, 12])
def test_a_refresh_costs_two_statements_per_batch_whatever_the_number_of_rms(branch, count, parameters,
                                                                             django_assert_max_num_queries):
    _many(branch, count)

    # one batch of months: the upsert and the stale-row delete
    with django_assert_max_num_queries(2):
        book_months_refresh(months=[JAN, FEB], branch_ids=[branch.pk])
    assert BookMonth.objects.filter(month=FEB).aggregate(n=Sum("clients"))["n"] == count * 4
