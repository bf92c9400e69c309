"""The monthly business import (DOMAIN 2.1, 6), on both write paths: COPY on PostgreSQL and the
portable bulk_create path."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from clients.models import MonthlyBusiness
from clients.tests.test_importers import cells, csv_file, recompute_calls, rejected, xlsx_file  # noqa: F401
from rmportal.importing import MAX_ERRORS, ImportRejected, run_import
from tests.factories import ClientFactory, MonthlyBusinessFactory

pytestmark = pytest.mark.django_db

HEADER = ("client_no,month,deposit_avg_balance,deposit_interest_expense,deposit_accounts,loan_avg_balance,"
          "loan_interest_income,loan_accounts,loan_term,loan_npl_balance,wm_income,wm_expense,wm_tx_count,"
          "wm_sales,card_count,card_deposit_income,card_overdraft_income,card_fee_income,card_annual_fee_income,"
          "card_rebate_income,insurance_sales,fund_sales,bond_sales")
SHORT = "client_no,month,deposit_avg_balance,loan_avg_balance,loan_term,wm_income,card_count"

JANUARY = dt.date(2026, 1, 1)
FEBRUARY = dt.date(2026, 2, 1)


@pytest.fixture(params=["copy", "orm"])
def write_path(request, monkeypatch):
    if request.param == "copy" and connection.vendor != "postgresql":
        # COPY needs PostgreSQL; on other databases both runs take the portable path.
        return "orm"
    if request.param == "orm":
        monkeypatch.setattr("clients.importers._copy_available", lambda: False)
    return request.param


@pytest.fixture
def clients(branch, rm):
    return {no: ClientFactory(client_no=no, branch=branch, rm=rm) for no in ("C001", "C002", "C003")}


def widen(line: str) -> str:
    """A row written with the SHORT columns, as a row of every column (the others blank)."""
    values = dict(zip(SHORT.split(","), line.split(",")))
    return ",".join(values.get(name, "") for name in HEADER.split(","))


def short_file(*lines):
    return csv_file(HEADER, *(widen(line) for line in lines))


def full_row(client_no="C001", month="2026-01", **values):
    row = dict.fromkeys(HEADER.split(","), "")
    row.update(client_no=client_no, month=month, deposit_avg_balance="500000.00",
               deposit_interest_expense="250", deposit_accounts="2", loan_avg_balance="1200000",
               loan_interest_income="4500.00", loan_accounts="1", loan_term="1y_3y", wm_income="1200",
               wm_expense="300", wm_tx_count="3", card_count="2", card_deposit_income="20",
               card_overdraft_income="150", card_fee_income="30", card_annual_fee_income="10",
               card_rebate_income="15")
    row.update(values)
    return ",".join(row[name] for name in HEADER.split(","))


def test_monthly_rows_are_stored_with_blank_numbers_as_zero(write_path, clients, recompute_calls):
    result = run_import("monthly", csv_file(HEADER, full_row(), full_row("C002", loan_avg_balance="",
                                                                          loan_term="", card_count="")),
                        filename="monthly.csv")
    first = MonthlyBusiness.objects.get(client__client_no="C001")
    assert first.month == JANUARY
    assert (first.deposit_avg_balance, first.loan_interest_income, first.loan_term, first.card_count) == (
        Decimal("500000.00"), Decimal("4500.00"), "1y_3y", 2)
    second = MonthlyBusiness.objects.get(client__client_no="C002")
    assert (second.loan_avg_balance, second.loan_term, second.card_count, second.wm_sales) == (0, "", 0, 0)
    assert (result.rows, result.created) == (2, 2)
    # Only the branch-months that changed are recomputed.
    assert recompute_calls == [{"months": [JANUARY], "branch_ids": [clients["C001"].branch_id]}]


def test_monthly_columns_may_come_in_any_order(write_path, clients):
    names = HEADER.split(",")[::-1]
    row = dict.fromkeys(names, "")
    row.update(month="2026-01", wm_income="-35.5", client_no="C001")
    run_import("monthly", csv_file(",".join(names), ",".join(row[name] for name in names)), filename="m.csv")
    stored = MonthlyBusiness.objects.get()
    assert (stored.wm_income, stored.deposit_avg_balance, stored.loan_term) == (Decimal("-35.50"), 0, "")


def test_a_missing_monthly_column_is_refused_by_name(write_path, clients):
    errors = rejected("monthly", csv_file(SHORT, "C001,2026-01,1,0,,0,0"))
    missing = set(HEADER.split(",")) - set(SHORT.split(","))
    assert cells(errors) == {(1, name) for name in missing}
    assert all(reason == "required column is missing" for _row, _column, reason in errors)
    assert not MonthlyBusiness.objects.exists()


def test_reimporting_a_month_upserts_and_leaves_other_rows_alone(write_path, clients):
    MonthlyBusinessFactory(client=clients["C003"], month=JANUARY, deposit_avg_balance=Decimal("7"))
    MonthlyBusinessFactory(client=clients["C001"], month=FEBRUARY, deposit_avg_balance=Decimal("9"))
    result = run_import("monthly", short_file("C001,2026-01,100,0,,0,0", "C002,2026-01,200,0,,0,0"),
                        filename="m.csv")
    january = dict(MonthlyBusiness.objects.filter(month=JANUARY)
                   .values_list("client__client_no", "deposit_avg_balance"))
    assert january == {"C001": Decimal("100.00"), "C002": Decimal("200.00"), "C003": Decimal("7.00")}
    assert MonthlyBusiness.objects.get(month=FEBRUARY).deposit_avg_balance == Decimal("9.00")
    assert (result.created, result.updated, result.unchanged, result.deleted) == (2, 0, 0, 0)

    result = run_import("monthly", short_file("C001,2026-01,111,0,,0,0", "C002,2026-01,200,0,,0,0"),
                        filename="m.csv")
    january = dict(MonthlyBusiness.objects.filter(month=JANUARY)
                   .values_list("client__client_no", "deposit_avg_balance"))
    assert january == {"C001": Decimal("111.00"), "C002": Decimal("200.00"), "C003": Decimal("7.00")}
    assert (result.created, result.updated, result.unchanged, result.deleted) == (0, 1, 1, 0)


def test_replace_deletes_what_the_file_lacks_in_its_branch_months(write_path, clients):
    MonthlyBusinessFactory(client=clients["C003"], month=JANUARY, deposit_avg_balance=Decimal("7"))
    MonthlyBusinessFactory(client=clients["C001"], month=FEBRUARY, deposit_avg_balance=Decimal("9"))
    result = run_import("monthly", short_file("C001,2026-01,100,0,,0,0"), filename="m.csv", replace=True,
                        confirm_delete=True)
    january = dict(MonthlyBusiness.objects.filter(month=JANUARY)
                   .values_list("client__client_no", "deposit_avg_balance"))
    assert january == {"C001": Decimal("100.00")}  # C003's January is gone, February is kept
    assert MonthlyBusiness.objects.get(month=FEBRUARY).deposit_avg_balance == Decimal("9.00")
    assert (result.created, result.deleted) == (1, 1)


def test_bad_last_row_stores_nothing_and_keeps_old_data(write_path, clients, recompute_calls):
    MonthlyBusinessFactory(client=clients["C001"], month=JANUARY, deposit_avg_balance=Decimal("7"))
    lines = [f"C00{n},2026-01,{n}00,0,,0,0" for n in (1, 2, 3)] + ["C001,2026-02,-5,0,,0,0"]
    errors = rejected("monthly", short_file(*lines))
    assert cells(errors) == {(5, "deposit_avg_balance")}
    assert list(MonthlyBusiness.objects.values_list("month", "deposit_avg_balance")) == [(JANUARY, Decimal("7.00"))]
    assert recompute_calls == []


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("deposit_avg_balance", "-0.01", "must not be negative"),
    ("loan_npl_balance", "-1", "must not be negative"),
    ("insurance_sales", "-100", "must not be negative"),
    ("deposit_accounts", "-1", "must not be negative"),
    ("card_count", "1.5", "not a whole number"),
    ("wm_tx_count", "many", "not a number"),
    ("wm_income", "12.345", "at most 2 decimals"),
    ("fund_sales", '"1,000.00"', "not a number"),
    ("bond_sales", "12345678901234567", "too large"),
    ("month", "2026-13", "not a month"),
    ("month", "2026/01", "not a month"),
    ("month", "2026-01-15", "not a month"),
    ("loan_term", "2y", "is not one of le6m, 6m_1y, 1y_3y, 3y_5y, gt5y"),
    ("loan_term", "", "required when loan_avg_balance is not 0"),
    ("client_no", "", "a value is required"),
])
def test_monthly_cell_errors(write_path, clients, column, value, reason):
    errors = rejected("monthly", csv_file(HEADER, full_row(**{column: value})))
    assert errors == [(2, column, errors[0][2])]
    assert reason in errors[0][2]
    assert not MonthlyBusiness.objects.exists()


def test_negative_incomes_and_expenses_are_accepted(write_path, clients):
    run_import("monthly", csv_file(HEADER, full_row(wm_income="-10.5", deposit_interest_expense="-3",
                                                    card_rebate_income="-0.01")), filename="m.csv")
    row = MonthlyBusiness.objects.get()
    assert (row.wm_income, row.deposit_interest_expense, row.card_rebate_income) == (
        Decimal("-10.50"), Decimal("-3.00"), Decimal("-0.01"))


def test_unknown_client_is_rejected(write_path, clients):
    errors = rejected("monthly", short_file("C001,2026-01,1,0,,0,0", "C404,2026-01,1,0,,0,0"))
    assert errors == [(3, "client_no", "unknown client “C404”")]
    assert not MonthlyBusiness.objects.exists()


def test_duplicate_client_month_in_file_is_rejected(write_path, clients):
    errors = rejected("monthly", short_file("C001,2026-01,1,0,,0,0", "C002,2026-01,1,0,,0,0",
                                          "C001,2026-01-01,2,0,,0,0"))
    assert cells(errors) == {(4, "month")}
    assert "row 2" in errors[0][2]


def test_every_error_of_the_file_is_reported(write_path, clients):
    errors = rejected("monthly", short_file(
        "C001,2026-01,1,0,,0,0",
        "C001,2026-01,1,0,,0,0",
        "C404,2026-01,1,0,,0,0",
        "C002,2026-1,x,5,,0,-1",
    ))
    assert cells(errors) == {(3, "month"), (4, "client_no"), (5, "month"), (5, "deposit_avg_balance"),
                             (5, "card_count")}


def test_errors_stop_being_listed_after_the_cap(write_path, clients):
    lines = [f"C001,2026-{(n % 12) + 1:02d},-1,0,,0,0" for n in range(MAX_ERRORS + 50)]
    with pytest.raises(ImportRejected) as exc:
        run_import("monthly", short_file(*lines), filename="m.csv")
    assert len(exc.value.errors) == MAX_ERRORS
    assert exc.value.truncated


def test_padded_cells_are_accepted(write_path, clients):
    run_import("monthly", short_file(" C001 , 2026-01 ,  12.50 ,0, ,0, 3 "), filename="m.csv")
    row = MonthlyBusiness.objects.get()
    assert (row.client.client_no, row.deposit_avg_balance, row.card_count) == ("C001", Decimal("12.50"), 3)


def test_monthly_xlsx_with_numbers_and_date_cells(write_path, clients):
    columns = SHORT.split(",")

    def wide(values):
        given = dict(zip(columns, values))
        return [given.get(name) for name in HEADER.split(",")]

    workbook = xlsx_file([HEADER.split(","), wide(["C001", dt.datetime(2026, 2, 1), 1234.5, 0, None, -7, 2]),
                          wide(["C002", "2026-02", 10, 250000, "le6m", 0, None])])
    result = run_import("monthly", workbook, filename="monthly.xlsx")
    stored = dict(MonthlyBusiness.objects.values_list("client__client_no", "deposit_avg_balance"))
    assert stored == {"C001": Decimal("1234.50"), "C002": Decimal("10.00")}
    assert set(MonthlyBusiness.objects.values_list("month", flat=True)) == {FEBRUARY}
    assert result.rows == 2


def test_monthly_import_query_count_does_not_grow_with_rows(write_path, clients, django_assert_max_num_queries):
    lines = [f"C00{n % 3 + 1},2025-{n // 3 + 1:02d},{n},0,,0,0" for n in range(36)]
    with django_assert_max_num_queries(25):
        result = run_import("monthly", short_file(*lines), filename="m.csv")
    assert result.created == 36


def test_control_characters_in_client_number_are_rejected_not_sent_to_the_database(write_path, clients):
    errors = rejected("monthly", short_file("C0\x0001,2026-01,1,0,,0,0"))
    assert errors == [(2, "client_no", "contains a NUL character")]
