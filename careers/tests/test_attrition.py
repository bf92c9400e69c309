"""The attrition dashboard (DOMAIN 4, 5; seed art. 1): its figures on a small hand-built bank,
who sees which RMs on every table and download, the filters, the exports and what it costs in
queries."""
import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from careers import attrition
from careers.models import CareerInterview, Certificate, CertificateType, Exit, JobSequence, Level, RiskScore
from careers.services import exit_open
from careers.tasks import attrition_warm
from careers.views_attrition import EXPORTS, grid_chart
from clients.models import Employee, MonthlyBusiness, Role
from core.templatetags.portal_money import money_unit_label
from rmportal.dashboard_cache import dashboard_data_changed
from rmportal.importing import run_import
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db

PERIOD = "2026-03"
MARCH = dt.date(2026, 3, 1)
URL = reverse("careers:attrition")


def gone(employee, on, reason=None, *, voluntary=True, completed=True):
    """The RM leaves on ``on``: with an exit record of ``reason`` (none when None); a completed
    exit marks the employee as left, an open one leaves them active."""
    if reason is not None:
        Exit.objects.create(employee=employee, exit_on=on, reason=reason, voluntary=voluntary,
                            status=Exit.Status.COMPLETED if completed else Exit.Status.OPEN)
    if completed or reason is None:
        employee.status, employee.left_on = Employee.Status.LEFT, on
        employee.save()
    return employee


@pytest.fixture
def sequences():
    personal = JobSequence.objects.create(code="personal", name="Personal RM")
    corporate = JobSequence.objects.create(code="corporate", name="Corporate RM")
    return {
        "personal": personal, "corporate": corporate,
        "assistant": Level.objects.create(sequence=personal, code="A", name="Assistant RM", rank=1),
        "senior": Level.objects.create(sequence=personal, code="S", name="Senior RM", rank=2),
        "corp": Level.objects.create(sequence=corporate, code="C1", name="Corporate RM", rank=1),
    }


@pytest.fixture
def bank(rm, other_rm, branch, sister_branch, other_branch, sequences):
    """B01 (region R01): rm and other_rm (hired 2020, personal senior and corporate), x1 hired
    2025-06-15 with an open exit on 2026-03-10 (career development), x2 hired 2016 and gone on
    2026-02-28 (compensation), x3 hired 2026-03-05, x4 gone on 2025-06-30 without an exit record.
    B02 (R01): x5 gone on 2025-09-30 (work pressure, involuntary). B03 (R02): far, and far_gone
    gone on 2026-03-15 (recognition)."""
    rm.level = sequences["senior"]
    rm.save()
    other_rm.level = sequences["corp"]
    other_rm.save()
    people = {"rm": rm, "other_rm": other_rm}
    people["x1"] = gone(EmployeeFactory(employee_no="X1", branch=branch, hired_on=dt.date(2025, 6, 15),
                                        level=sequences["assistant"]),
                        dt.date(2026, 3, 10), Exit.Reason.CAREER_DEVELOPMENT, completed=False)
    people["x2"] = gone(EmployeeFactory(employee_no="X2", branch=branch, hired_on=dt.date(2016, 1, 1),
                                        level=sequences["senior"]),
                        dt.date(2026, 2, 28), Exit.Reason.COMPENSATION)
    people["x3"] = EmployeeFactory(employee_no="X3", branch=branch, hired_on=dt.date(2026, 3, 5),
                                   level=sequences["assistant"])
    people["x4"] = gone(EmployeeFactory(employee_no="X4", branch=branch, hired_on=dt.date(2020, 1, 1)),
                        dt.date(2025, 6, 30))
    people["x5"] = gone(EmployeeFactory(employee_no="X5", branch=sister_branch, hired_on=dt.date(2021, 1, 1)),
                        dt.date(2025, 9, 30), Exit.Reason.WORK_PRESSURE, voluntary=False)
    people["far"] = EmployeeFactory(employee_no="FAR1", branch=other_branch, hired_on=dt.date(2020, 1, 1),
                                    level=sequences["corp"])
    people["far_gone"] = gone(EmployeeFactory(employee_no="FAR2", branch=other_branch,
                                              hired_on=dt.date(2019, 1, 1)),
                              dt.date(2026, 3, 15), Exit.Reason.RECOGNITION)
    # A branch manager is not an RM: never counted.
    EmployeeFactory(employee_no="BM-X", branch=branch, role=Role.BRANCH_MANAGER)
    return people


def board_for(employee, **filters):
    return attrition.Dashboard(employee.user, attrition.Filters(period=MARCH, **filters))


def by_key(groups):
    return {g.key: g.rates for g in groups}


# --- figures ---------------------------------------------------------------------------------------

def test_headcount_exits_and_rates_of_the_month_and_trailing_12_months(bank, branch, hr):
    board = board_for(hr, branch=branch)
    march = board.current
    # End of February: rm, other_rm, x1 (x2 gone on the 28th). End of March: rm, other_rm, x3.
    assert (march.headcount, march.exits, march.average) == (3, 1, D(3))
    assert march.rate == D("33.33")
    # 12 months Apr 2025–Mar 2026: exits x4 (June), x2 (February), x1 (March); monthly average
    # headcounts 4 × 10, 3.5 (February), 3 (March).
    assert march.exits_12m == 3
    assert march.average_12m == D("46.5") / 12
    assert march.rate_12m == D("77.42")


def test_the_trend_covers_24_months_ending_with_the_period(bank, branch, hr):
    trend = board_for(hr, branch=branch).trend
    assert [p.month for p in trend][0] == dt.date(2024, 4, 1) and trend[-1].month == MARCH
    assert len(trend) == 24
    june = next(p.rates for p in trend if p.month == dt.date(2025, 6, 1))
    # x4 leaves on the 30th, x1 joins on the 15th.
    assert (june.headcount, june.exits, june.voluntary) == (4, 1, 0)
    february = next(p.rates for p in trend if p.month == dt.date(2026, 2, 1))
    assert (february.headcount, february.exits, february.voluntary, february.rate) == (3, 1, 1, D("28.57"))


def test_an_open_exit_counts_on_its_date_before_the_employee_is_marked_as_left(bank, branch, hr):
    assert bank["x1"].status == Employee.Status.ACTIVE
    march = board_for(hr, branch=branch).current
    assert march.exits == 1 and march.headcount == 3


def test_tenure_bands_are_measured_at_each_months_end(bank, branch, hr):
    tenure = by_key(board_for(hr, branch=branch).by("tenure"))
    assert (tenure["lt1"].headcount, tenure["lt1"].exits) == (1, 1)  # x3 in, x1 (9 months) out
    assert (tenure["5to10"].headcount, tenure["5to10"].exits) == (2, 0)
    # x2 (hired 2016-01-01) reached 10 years at the end of January and left in February.
    assert (tenure["ge10"].headcount, tenure["ge10"].exits, tenure["ge10"].exits_12m) == (0, 0, 1)
    assert tenure["1to3"].exits_12m == 0 and tenure["5to10"].exits_12m == 1  # x4, in June 2025
    assert "unknown" not in tenure


def test_rates_by_region_branch_sequence_and_level(bank, hr, sequences):
    board = board_for(hr)
    regions = by_key(board.by("region"))
    assert (regions["R01"].headcount, regions["R01"].exits, regions["R01"].exits_12m) == (3, 1, 4)
    assert (regions["R02"].headcount, regions["R02"].exits) == (1, 1)
    branches = by_key(board.by("branch"))
    assert set(branches) == {"B01", "B02", "B03"}
    assert (branches["B02"].headcount, branches["B02"].exits_12m) == (0, 1)
    sequences_ = by_key(board.by("sequence"))
    assert sequences_["personal"].headcount == 2 and sequences_["personal"].exits_12m == 2  # rm, x3; x1, x2
    assert sequences_["corporate"].headcount == 2  # other_rm, far
    assert sequences_[""].exits_12m == 3  # x4, x5 and far_gone have no level
    levels = board.by("level")
    assert [g.key for g in levels] == ["corporate/C1", "personal/A", "personal/S", ""]
    assert by_key(levels)["personal/A"].exits == 1


def test_exit_reasons_are_grouped_against_the_seeds_finding(bank, region, hr):
    reasons = board_for(hr, region=region).reasons
    counts = {row.reason: row.exits for row in reasons.rows}
    assert counts[Exit.Reason.CAREER_DEVELOPMENT] == 1 and counts[Exit.Reason.WORK_PRESSURE] == 1
    assert counts[Exit.Reason.COMPENSATION] == 1 and counts[attrition.NO_RECORD] == 1  # x4
    assert [(key, count) for key, _label, count in reasons.groups] == [
        ("non_pay", 2), ("compensation", 1), ("personal_other", 0)]
    assert reasons.total == 4 and reasons.recorded == 3
    assert "as the seed found" in reasons.finding and "2 of 3" in reasons.finding


def test_the_finding_says_so_when_pay_weighs_more(bank, branch, hr):
    Exit.objects.filter(reason=Exit.Reason.CAREER_DEVELOPMENT).update(reason=Exit.Reason.COMPENSATION)
    assert "unlike the seed's finding" in board_for(hr, branch=branch).reasons.finding


def test_filters_narrow_every_figure(bank, hr, sequences, other_branch):
    board = board_for(hr, sequence=sequences["corporate"])
    assert board.current.headcount == 2 and board.current.exits == 0
    assert {g.key for g in board.by("branch")} == {"B01", "B03"}
    far = board_for(hr, branch=other_branch)
    assert (far.current.headcount, far.current.exits, far.reasons.total) == (1, 1, 1)


def test_a_later_period_moves_the_window(bank, branch, hr):
    board = attrition.Dashboard(hr.user, attrition.Filters(period=dt.date(2026, 9, 1), branch=branch))
    assert board.trend[0].month == dt.date(2024, 10, 1)
    assert board.current.exits_12m == 2  # x2 and x1; x4 (June 2025) is out of the 12 months


# --- retention risk --------------------------------------------------------------------------------

@pytest.fixture
def scored(bank, rm, other_rm):
    ClientFactory(branch=rm.branch, rm=rm, segment="affluent")
    client = ClientFactory(branch=rm.branch, rm=rm)
    MonthlyBusiness.objects.create(client=client, month=MARCH, deposit_avg_balance=D("60000000.00"),
                                   wm_sales=D("500000.00"))
    factors = {"career": {"points": "30.00"}, "recognition": {"points": "25.00"}, "pressure": {"points": "20.00"}}
    RiskScore.objects.create(employee=rm, month=MARCH, score=D("75.00"), band="high", factors=factors)
    RiskScore.objects.create(employee=other_rm, month=MARCH, score=D("20.00"), band="low", factors={})
    RiskScore.objects.create(employee=bank["far"], month=MARCH, score=D("90.00"), band="high", factors={})
    RiskScore.objects.create(employee=rm, month=dt.date(2026, 4, 1), score=D("10.00"), band="low", factors={})


def test_risk_figures_use_the_latest_month_scored_up_to_the_period(scored, branch, hr, rm):
    board = board_for(hr, branch=branch)
    assert board.risk_month == MARCH
    assert [(band, count) for band, _label, count, _share in board.risk_bands] == [("low", 1), ("medium", 0),
                                                                                     ("high", 1)]
    # Two RMs scored: other_rm's empty book in the smallest quarter, rm's in the third.
    cell = next(c for c in board.risk_grid.cells if c.band == "high" and c.rms)
    assert (cell.quarter, cell.rms, cell.aum) == ("q3", 1, D("60500000.00"))
    assert board.risk_grid.limits == [D(0), None, D("60500000.00"), None]
    [row] = board.high_risk
    assert row.score.employee == rm
    assert [label for label, _points in row.top_factors] == ["Career stagnation", "Recognition"]
    assert (row.book.client_count, row.book.aum, row.book.affluent) == (2, D("60500000.00"), 1)


def test_the_backtest_covers_the_scores_of_the_rms_shown(scored, branch, hr):
    result = board_for(hr, branch=branch).backtest
    assert [(row.month, row.scored) for row in result["rows"]] == [(MARCH, 2)]


# --- career items --------------------------------------------------------------------------------

def test_certificates_expiring_within_90_days_of_the_rms_shown(bank, rm, branch, hr):
    today = timezone.localdate()
    afp = CertificateType.objects.create(code="AFP", name="AFP")
    Certificate.objects.create(employee=rm, certificate_type=afp, obtained_on=dt.date(2020, 1, 1),
                               expires_on=today + dt.timedelta(days=30))
    Certificate.objects.create(employee=bank["other_rm"], certificate_type=afp, obtained_on=dt.date(2020, 1, 1),
                               expires_on=today + dt.timedelta(days=120))
    Certificate.objects.create(employee=bank["far"], certificate_type=afp, obtained_on=dt.date(2020, 1, 1),
                               expires_on=today + dt.timedelta(days=10))
    assert [c.employee for c in board_for(hr, branch=branch).certificates_expiring] == [rm]
    assert len(board_for(hr).certificates_expiring) == 2


def test_overdue_interviews_of_active_rms_shown(bank, branch, hr):
    CareerInterview.objects.create(employee=bank["other_rm"], scheduled_on=timezone.localdate(),
                                   held_on=timezone.localdate(), outcome=CareerInterview.Outcome.ON_TRACK)
    overdue = board_for(hr, branch=branch).interviews_overdue
    # No interview held: due six months after hiring (x1's exit is still open); other_rm just had one.
    assert {row.employee.employee_no for row in overdue} == {"RM001", "X1", "X3"}


def test_eligible_but_not_promoted_for_six_months(eligible_rm, branch, hr):
    rows = attrition.not_promoted_for(hr.user, attrition.rm_population(
        hr.user, attrition.Filters(period=MARCH, branch=branch)), as_of=dt.date(2027, 1, 1))
    assert [row.employee for row in rows] == [eligible_rm]


# --- the page: roles and scope -------------------------------------------------------------------

def get(client_of, employee, **params):
    return client_of(employee).get(URL, {"period": PERIOD, **params})


def export(client_of, employee, table, fmt="csv", **params):
    response = get(client_of, employee, export=table, format=fmt, **params)
    if response.status_code != 200:
        return response, None
    if fmt == "csv":
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        return response, list(csv.reader(io.StringIO(body)))
    return response, [list(r) for r in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)]


@pytest.mark.parametrize("role, status", [("rm", 403), ("department_head", 200), ("branch_manager", 200),
                                          ("reviewer", 200), ("hr", 200)])
def test_who_may_open_the_dashboard(bank, client_of, request, role, status):
    assert get(client_of, request.getfixturevalue(role)).status_code == status


def test_an_rm_cannot_download_either(bank, rm, client_of):
    response, _rows = export(client_of, rm, "trend")
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["branch_manager", "department_head"])
def test_branch_roles_see_only_their_branch_on_every_table_and_export(scored, client_of, request, role):
    employee = request.getfixturevalue(role)
    page = get(client_of, employee)
    assert page.status_code == 200
    content = page.content.decode()
    assert "FAR1" not in content and "B03" not in content and "R02" not in content
    board = page.context["board"]
    assert board.current.headcount == 3  # B01's, not the bank's 4
    for table, spec in EXPORTS.items():
        response, rows = export(client_of, employee, table)
        if employee.role not in spec.roles:
            assert response.status_code == 403, table
            continue
        assert response.status_code == 200, table
        header, data = rows[0], rows[1:]
        for column in [i for i, title in enumerate(header) if title == "Branch code"]:
            assert {row[column] for row in data} <= {"B01"}, table
        for column in [i for i, title in enumerate(header) if title == "Region code"]:
            assert {row[column] for row in data} <= {"R01"}, table
        assert "FAR1" not in str(rows) and "B03" not in str(rows), table
    _response, trend = export(client_of, employee, "trend")
    assert trend[-1][:4] == ["2026-03", "3", "3", "1"]


def test_the_branch_manager_sees_names_at_risk_but_the_department_head_does_not(scored, client_of, branch_manager,
                                                                                department_head):
    score = RiskScore.objects.get(employee__employee_no="RM001", month=MARCH)
    link = reverse("risk:score-detail", kwargs={"pk": score.pk})
    assert link in get(client_of, branch_manager).content.decode()
    content = get(client_of, department_head).content.decode()
    assert link not in content and "Li Na" not in content.split('id="risk-heading"')[1].split("attention-heading")[0]


@pytest.mark.parametrize("params", [{"branch": "B03"}, {"branch": "B02"}, {"region": "R02"}, {"branch": "NOPE"}])
def test_a_branch_or_region_filter_outside_the_branch_managers_scope_is_404(bank, client_of, branch_manager,
                                                                            params):
    assert get(client_of, branch_manager, **params).status_code == 404
    assert export(client_of, branch_manager, "trend", **params)[0].status_code == 404


def test_the_filter_options_are_limited_to_what_the_user_may_see(bank, client_of, branch_manager, reviewer, hr):
    def options(employee, name):
        return [c.code for c in get(client_of, employee).context["form"].fields[name].queryset]

    assert options(branch_manager, "branch") == ["B01"] and options(branch_manager, "region") == ["R01"]
    assert options(reviewer, "branch") == ["B01", "B02"] and options(reviewer, "region") == ["R01"]
    assert options(hr, "branch") == ["B01", "B02", "B03"]


def test_the_reviewer_sees_their_region(bank, client_of, reviewer):
    response = get(client_of, reviewer)
    assert {g.key for g in response.context["board"].by("branch")} == {"B01", "B02"}
    assert get(client_of, reviewer, branch="B02").status_code == 200
    assert get(client_of, reviewer, branch="B03").status_code == 404
    _response, rows = export(client_of, reviewer, "by-region")
    assert [row[0] for row in rows[1:]] == ["R01"]
    assert export(client_of, reviewer, "high-risk")[0].status_code == 403


def test_hr_sees_the_bank_and_the_backtest(scored, client_of, hr):
    response = get(client_of, hr)
    assert response.context["board"].current.headcount == 4
    _response, rows = export(client_of, hr, "by-branch")
    assert [row[0] for row in rows[1:]] == ["B01", "B02", "B03"]
    _response, rows = export(client_of, hr, "high-risk")
    assert [row[1] for row in rows[1:]] == ["FAR1", "RM001"]
    _response, rows = export(client_of, hr, "backtest")
    assert rows[1][0] == "2026-03-01" and rows[1][1] == "3"


def test_the_page_keeps_the_filters_in_its_form_and_export_links(bank, client_of, hr):
    response = get(client_of, hr, branch="B01", sequence="personal")
    content = response.content.decode()
    assert 'value="B01" selected' in content and 'value="personal" selected' in content
    assert "?period=2026-03&amp;branch=B01&amp;sequence=personal&amp;export=trend&amp;format=csv" in content
    assert ">CSV</a>" in content and ">XLSX</a>" in content
    assert response.context["board"].current.headcount == 2  # rm and x3


def test_without_a_period_the_last_full_month_is_shown(bank, client_of, hr):
    response = client_of(hr).get(URL)
    expected = attrition.default_period()
    assert response.context["filters"].period == expected
    assert f"period={expected:%Y-%m}" in response.context["export_query"]


def test_a_malformed_period_is_a_form_error(bank, client_of, hr):
    response = get(client_of, hr, period="March")
    assert response.status_code == 200 and response.context["board"] is None
    assert response.context["form"].errors["period"]
    assert export(client_of, hr, "trend", period="March")[0].status_code == 400


def test_an_unknown_export_is_404(bank, client_of, hr):
    assert export(client_of, hr, "salaries")[0].status_code == 404


# --- exports ---------------------------------------------------------------------------------------

def test_the_trend_exports_as_csv_and_xlsx_with_the_same_figures(bank, client_of, hr):
    response, rows = export(client_of, hr, "trend", branch="B01")
    assert response["Content-Disposition"] == 'attachment; filename="attrition-trend-2026-03.csv"'
    assert rows[0][:4] == ["Month", "Headcount at month end", "Average headcount", "Exits"]
    assert len(rows) == 25
    assert rows[-1] == ["2026-03", "3", "3", "1", "1", "33.33", "3", "3.88", "77.42"]
    response, sheet = export(client_of, hr, "trend", "xlsx", branch="B01")
    assert response["Content-Disposition"] == 'attachment; filename="attrition-trend-2026-03.xlsx"'
    assert sheet[-1][0] == "2026-03" and sheet[-1][1] == 3 and sheet[-1][5] == pytest.approx(33.33)


def test_the_reasons_and_tenure_exports(bank, client_of, hr):
    _response, rows = export(client_of, hr, "reasons", region="R01")
    by_reason = {row[1]: row for row in rows[1:]}
    assert by_reason["Career development"][2] == "1" and by_reason["No exit record"][2] == "1"
    assert by_reason["Work pressure"][3] == "0"  # x5 left involuntarily
    _response, rows = export(client_of, hr, "by-tenure", "xlsx", branch="B01")
    assert [row[0] for row in rows[1:]] == ["lt1", "1to3", "3to5", "5to10", "ge10"]


def test_the_high_risk_export_lists_the_book_at_risk(scored, client_of, branch_manager):
    _response, rows = export(client_of, branch_manager, "high-risk")
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1]))
    assert row["Employee number"] == "RM001" and row["Clients"] == "2" and row["AUM (CNY)"] == "60500000.00"
    assert row["Top factors"] == "Career stagnation (30.00); Recognition (25.00)"


# --- cost ----------------------------------------------------------------------------------------

def _grow(bank, sequences, n):
    """``n`` more RMs per branch, a third of them gone with an exit, all scored, half with a
    certificate expiring soon and a client."""
    today = timezone.localdate()
    afp, _created = CertificateType.objects.get_or_create(code="AFP", defaults={"name": "AFP"})
    for branch in {bank["rm"].branch, bank["x5"].branch, bank["far"].branch}:
        for i in range(n):
            e = EmployeeFactory(branch=branch, hired_on=dt.date(2018 + i % 8, 1 + i % 12, 1),
                                level=sequences["assistant" if i % 2 else "corp"])
            if i % 3 == 0:
                gone(e, dt.date(2025, 1 + i % 12, 10), Exit.Reason.values[i % 7])
            else:
                RiskScore.objects.create(employee=e, month=MARCH, score=D(30 + i * 7 % 70), band=(
                    "high" if i % 4 == 0 else "low"), factors={"career": {"points": "10"}})
            if i % 2:
                Certificate.objects.create(employee=e, certificate_type=afp, obtained_on=dt.date(2020, 1, 1),
                                           expires_on=today + dt.timedelta(days=20))
                if e.is_active:
                    ClientFactory(branch=branch, rm=e)


QUERY_BOUND = 60
WARM_QUERY_BOUND = 6
"""With every figure in the dashboard cache: the log-in's record, the user, the employee and the
filters' three lists of choices."""


@pytest.mark.parametrize("role", ["hr", "branch_manager"])
def test_the_page_costs_the_same_queries_on_small_and_larger_data(scored, sequences, client_of, request,
                                                                  django_assert_max_num_queries, role):
    employee = request.getfixturevalue(role)
    with django_assert_max_num_queries(QUERY_BOUND):
        assert get(client_of, employee).status_code == 200
    _grow(request.getfixturevalue("bank"), sequences, 12)
    dashboard_data_changed()  # the factories wrote behind the services' back
    with django_assert_max_num_queries(QUERY_BOUND):
        assert get(client_of, employee).status_code == 200
    client = client_of(employee)  # logged in before counting
    with django_assert_max_num_queries(WARM_QUERY_BOUND):
        assert client.get(URL, {"period": PERIOD}).status_code == 200


# --- charts ----------------------------------------------------------------------------------------

def test_the_charts_data_sits_beside_its_table_on_the_page(scored, client_of, hr):
    response = get(client_of, hr, branch="B01")
    content = response.content.decode()
    for name in ("attrition-people-data", "attrition-rate-data", "attrition-reasons-data", "attrition-grid-data"):
        assert f'id="{name}"' in content and f'data-chart="{name}"' in content
    people = response.context["people_chart"]
    assert people["x"][-1] == PERIOD and people["series"][0]["values"][-1] == "3"
    assert "js/attrition_charts.js" in content and "vendor/plotly/plotly.min.js" in content


RISK_HIGH = 2  # low, medium, high: the order of the bars


def test_chart_money_is_in_wan_yuan_in_chinese(scored, branch, hr):
    board = board_for(hr, branch=branch)
    with translation.override("zh-hans"):
        chart = grid_chart(board)
        assert money_unit_label() in chart["yaxis"]
    assert chart["series"][2]["values"][RISK_HIGH] == "6050.00"  # 60,500,000 元 in the third quarter
    with translation.override("en"):
        assert grid_chart(board)["series"][2]["values"][RISK_HIGH] == "60500.0"  # CNY thousands


def test_a_branch_outside_the_chosen_region_is_a_form_error(bank, client_of, hr):
    response = get(client_of, hr, region="R02", branch="B01")
    assert response.status_code == 200 and response.context["board"] is None
    assert "not in region R02" in str(response.context["form"].errors["branch"])


# --- the dashboard cache -----------------------------------------------------------------------

def test_a_second_visit_reads_every_figure_from_the_cache(scored, client_of, hr, django_assert_max_num_queries):
    first = get(client_of, hr)
    client = client_of(hr)
    with django_assert_max_num_queries(WARM_QUERY_BOUND):
        second = client.get(URL, {"period": PERIOD})
    assert second.context["current"] == first.context["current"]
    assert second.context["figures_as_of"] == first.context["figures_as_of"]
    assert 'id="figures-as-of"' in second.content.decode()
    assert "FAR1" in second.content.decode()  # the high-risk names, read from the cache


def test_an_exit_recorded_by_the_service_makes_the_next_visit_recompute(bank, client_of, hr, rm):
    assert get(client_of, hr, branch="B01").context["current"].exits == 1
    exit_open(employee=rm, exit_on=dt.date(2026, 3, 20), voluntary=True, reason=Exit.Reason.COMPENSATION,
              by=hr.user)
    page = get(client_of, hr, branch="B01")
    assert page.context["current"].exits == 2  # x1 and now rm
    assert page.context["reasons"].group_count(attrition.COMPENSATION) == 2


def test_an_import_makes_the_next_visit_recompute(bank, client_of, hr):
    assert get(client_of, hr, branch="B01").context["current"].headcount == 3
    run_import("employees", io.BytesIO(b"employee_no,name,branch_code,role,sequence,level,hired_on,email\n"
                                       b"NEW1,Zhao Lei,B01,rm,,,2026-03-02,\n"), filename="employees.csv")
    assert get(client_of, hr, branch="B01").context["current"].headcount == 4


def test_each_scope_reads_only_its_own_cached_figures(scored, client_of, hr, branch_manager, far_manager):
    """HR (the bank), the manager of B01 and the manager of B03 each fill the cache in turn; every
    one of them then sees their own RMs only, whoever came first."""
    for _round in range(2):
        bank_page = get(client_of, hr).content.decode()
        near = get(client_of, branch_manager)
        far = get(client_of, far_manager)
        assert "FAR1" in bank_page and "RM001" in bank_page
        assert near.context["current"].headcount == 3
        assert "RM001" in near.content.decode()
        assert "FAR1" not in near.content.decode() and "B03" not in near.content.decode()
        assert far.context["current"].headcount == 1
        assert "FAR1" in far.content.decode()
        assert "RM001" not in far.content.decode() and "Li Na" not in far.content.decode()


def test_names_at_risk_stay_hidden_from_the_department_head_after_the_branch_manager_read_them(
        scored, client_of, branch_manager, department_head):
    score = RiskScore.objects.get(employee__employee_no="RM001", month=MARCH)
    link = reverse("risk:score-detail", kwargs={"pk": score.pk})
    assert link in get(client_of, branch_manager).content.decode()
    page = get(client_of, department_head)
    assert link not in page.content.decode() and "high_risk" not in page.context
    assert page.context["high_risk_count"] == 1


def in_chinese(client, *args, **kwargs):
    """A request in Chinese (the language cookie); the test's own language is restored afterwards."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    with translation.override(translation.get_language()):
        return client.get(*args, **kwargs)


def test_the_figures_follow_the_readers_language(bank, client_of, hr):
    with translation.override("zh-hans"):
        chinese = str(Exit.Reason.COMPENSATION.label)
    assert chinese != "Compensation"
    english = get(client_of, hr, branch="B01").context["reasons"]
    reasons = in_chinese(client_of(hr), URL, {"period": PERIOD, "branch": "B01"}).context["reasons"]
    assert chinese in [row.label for row in reasons.rows]
    assert "Compensation" in [row.label for row in english.rows]


def test_the_monthly_run_leaves_hrs_default_view_ready_in_every_language(bank, client_of, hr,
                                                                         django_assert_max_num_queries):
    assert attrition_warm.apply().get() == len(settings.LANGUAGES)
    client = client_of(hr)
    with django_assert_max_num_queries(WARM_QUERY_BOUND):
        assert client.get(URL).status_code == 200
    with django_assert_max_num_queries(WARM_QUERY_BOUND):
        assert in_chinese(client, URL).status_code == 200
