"""Computing appraisals: metrics from the books, points, rescaling, reruns (DOMAIN 3.1–3.3)."""
import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.utils import timezone

from clients.models import Assignment, Interaction
from performance.appraisals import appraisal_run
from performance.metrics import rm_metrics
from performance.models import Appraisal, AppraisalLine, Target
from performance.periods import Period
from tests.factories import ClientFactory, EmployeeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(rm, other_rm, branch, monthly):
    """rm owns c1 all along; c2 moves from other_rm to rm on the last day of January."""
    c1 = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2025, 1, 1))
    c2 = ClientFactory(branch=branch, rm=other_rm, opened_on=dt.date(2025, 1, 1))
    Assignment.objects.filter(client=c2).update(ended_on=dt.date(2026, 1, 31))
    Assignment.objects.create(client=c2, rm=rm, started_on=dt.date(2026, 1, 31), reason="rebalancing")
    monthly(c1, "2025-12", deposit_avg_balance=100000)
    monthly(c1, "2026-01", deposit_avg_balance=160000, fund_sales=150000)
    monthly(c2, "2025-12", deposit_avg_balance=50000)
    monthly(c2, "2026-01", deposit_avg_balance=50000, fund_sales=10000)
    return c1, c2


def lines_of(appraisal):
    return {line.indicator.code: line for line in appraisal.lines.select_related("indicator")}


def test_month_belongs_to_the_rm_covering_its_last_day(book, rm, other_rm):
    metrics = rm_metrics([rm.pk, other_rm.pk], Period.parse("2026-01"), contribution_method=3)
    # c2 moved on 31 January: January's c2 row is rm's, and so is c2's December base.
    assert metrics[rm.pk]["fund_sales"] == D(160000)
    assert metrics[rm.pk]["deposit_avg_increase"] == D(210000) - D(150000)
    assert metrics[other_rm.pk]["fund_sales"] == 0


def test_monthly_appraisal_rescales_the_monthly_indicators(book, scheme, rm, other_rm):
    Target.objects.create(employee=rm, indicator=scheme.indicators.get(code="dep"), period="2026-01",
                          value=D(100000))
    appraisal_run(period="2026-01")
    appraisal = Appraisal.objects.get(employee=rm, period="2026-01")
    lines = lines_of(appraisal)
    assert set(lines) == {"dep", "fund"}  # the monthly indicators, 30 + 20 points rescaled to 100
    assert lines["dep"].weight == D(60) and lines["fund"].weight == D(40)
    assert lines["dep"].actual == D(60000) and lines["dep"].target == D(100000)
    assert lines["dep"].points == D(36)          # 60 × 0.6
    assert lines["fund"].points == D(24)         # 160,000 ≥ 100,000 → 0.6 of 40
    assert appraisal.total == D("60.00") and appraisal.grade == "basic"
    assert appraisal.missing == []


def test_missing_target_is_named_and_scores_nothing(book, scheme, rm):
    appraisal_run(period="2026-01")
    appraisal = Appraisal.objects.get(employee=rm, period="2026-01")
    assert appraisal.missing == [{"indicator": "dep", "name": "存款日均新增", "missing": "target"}]
    assert lines_of(appraisal)["dep"].points is None
    assert appraisal.total == D("24.00")


def test_quarter_takes_npl_and_manual_adjustment(book, scheme, rm, monthly):
    c1, _c2 = book
    monthly(c1, "2026-03", deposit_avg_balance=100000, loan_avg_balance=1000000, loan_npl_balance=30000,
            loan_term="1y_3y")
    Target.objects.create(employee=rm, indicator=scheme.indicators.get(code="dep"), period="2026-Q1", value=D(1))
    appraisal_run(period="2026-Q1")
    lines = lines_of(Appraisal.objects.get(employee=rm, period="2026-Q1"))
    assert set(lines) == {"dep", "npl", "fund", "local"}
    scale = D(100) / D(70)
    assert lines["npl"].actual == D("0.03")
    assert lines["npl"].points.quantize(D("0.000001")) == (D(10) * scale * D("0.5")).quantize(D("0.000001"))
    assert lines["local"].points is None


def test_rerun_recomputes_in_place_without_duplicates_or_history(book, scheme, rm):
    appraisal_run(period="2026-01")
    history = Appraisal.history.count() + AppraisalLine.history.count()
    result = appraisal_run(period="2026-01")
    assert Appraisal.objects.filter(period="2026-01").count() == 2
    assert AppraisalLine.objects.count() == 4
    assert result.unchanged == 2 and result.created == 0
    assert Appraisal.history.count() + AppraisalLine.history.count() == history


def test_late_data_recomputes_an_open_appraisal_and_keeps_history(book, scheme, rm, monthly):
    appraisal_run(period="2026-01")
    c1, _ = book
    monthly(c1, "2026-01", deposit_avg_balance=160000, fund_sales=400000)
    appraisal_run(period="2026-01")
    line = AppraisalLine.objects.get(appraisal__employee=rm, indicator__code="fund")
    assert line.points == D(40)
    before, after = line.history.order_by("history_id")[0], line.history.order_by("history_id")[1]
    assert (before.points, after.points) == (D(24), D(40))


def test_approved_appraisal_keeps_its_numbers(book, scheme, rm, monthly):
    appraisal_run(period="2026-01")
    Appraisal.objects.filter(employee=rm).update(state="approved")
    c1, _ = book
    monthly(c1, "2026-01", deposit_avg_balance=160000, fund_sales=400000)
    result = appraisal_run(period="2026-01")
    assert result.frozen == 1
    assert AppraisalLine.objects.get(appraisal__employee=rm, indicator__code="fund").points == D(24)


def test_satisfaction_and_churn_metrics(branch, rm, monthly):
    kept = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2025, 1, 1))
    lost = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2025, 1, 1))
    lost.status, lost.lost_on = "lost", dt.date(2026, 5, 10)
    lost.save()
    Assignment.objects.filter(client=lost).update(ended_on=lost.lost_on)
    for score, day in ((5, 3), (4, 20)):
        Interaction.objects.create(client=kept, kind="callback", score=score, occurred_on=dt.date(2026, 4, day))
    Interaction.objects.create(client=kept, kind="callback", score=1, occurred_on=dt.date(2026, 7, 1))
    metrics = rm_metrics([rm.pk], Period.parse("2026-Q2"), contribution_method=3)[rm.pk]
    assert metrics["satisfaction"] == D("0.9")
    assert metrics["churn_rate"] == D("0.5")


def test_growth_rate_is_zero_without_a_december_base(branch, rm, monthly):
    c = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2026, 1, 1))
    monthly(c, "2026-01", deposit_avg_balance=31000)
    metrics = rm_metrics([rm.pk], Period.parse("2026-01"), contribution_method=3)[rm.pk]
    assert metrics["deposit_avg_increase"] == D(31000)
    assert metrics["deposit_growth_rate"] == 0


def test_quarter_average_weights_months_by_their_days(branch, rm, monthly):
    c = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2025, 1, 1))
    monthly(c, "2026-01", deposit_avg_balance=90000)   # 31 days
    monthly(c, "2026-02", deposit_avg_balance=0)       # 28 days
    monthly(c, "2026-03", deposit_avg_balance=0)       # 31 days
    metrics = rm_metrics([rm.pk], Period.parse("2026-Q1"), contribution_method=3)[rm.pk]
    assert metrics["deposit_avg_increase"] == D(90000) * 31 / 90


def test_run_costs_the_same_queries_for_3_or_12_rms(scheme, branch, django_assert_max_num_queries, monthly):
    def run_with(n):
        for _ in range(n):
            rm = EmployeeFactory(branch=branch)
            c = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2025, 1, 1))
            monthly(c, "2026-01", deposit_avg_balance=1000, fund_sales=1)
        Appraisal.objects.all().delete()

    run_with(3)
    with django_assert_max_num_queries(40) as small:
        appraisal_run(period="2026-01")
    run_with(9)
    with django_assert_max_num_queries(len(small.captured_queries)):
        appraisal_run(period="2026-01")


def test_run_appraisals_command(book, scheme, capsys):
    call_command("run_appraisals", "--period", "2026-01", "--branch", "B01")
    assert "2 created" in capsys.readouterr().out
    assert Appraisal.objects.filter(period="2026-01").count() == 2
