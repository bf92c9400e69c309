"""Scheduled work on Celery (STYLE 7): the monthly run fanned out per branch and recorded, its
idempotence (twice in a row, twice at once), retries of transient errors and the report of a
branch that keeps failing, the late-data recompute queued on commit, the daily reminders, the
beat schedule and the operations page. Tasks run eagerly here; tests/test_celery_e2e.py runs
them in a real worker."""
import copy
import datetime as dt
import smtplib
import threading
import time
from decimal import Decimal as D

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.db import InterfaceError, OperationalError, connection
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from careers import notices
from careers.models import Certificate, CertificateType, RiskAlert, RiskScore, RiskSettings
from careers.tasks import reminders_daily, retention_branch
from clients.models import Role
from clients.signals import announce_business_data_changed
from performance import tasks
from performance.models import Appraisal, AppraisalLine, ScheduledRun
from performance.periods import Period
from performance.runs import scheduled_run_start
from performance.schemes import scheme_import
from performance.tests.conftest import EXAMPLE_SCHEME
from rmportal import dashboard_cache
from rmportal.celery import app as celery_app
from tests.factories import ClientFactory, EmployeeFactory
from tests.markers import requires_postgresql

pytestmark = pytest.mark.django_db

CODES = ["B01", "B02", "B03"]


@pytest.fixture
def eager():
    """Tasks run in-process (``.get()`` raises a task's error; propagating it at once would stop
    retries, which eager Celery runs as nested calls)."""
    names = ("task_always_eager", "task_eager_propagates")
    saved = {name: celery_app.conf[name] for name in names}
    celery_app.conf.update(task_always_eager=True, task_eager_propagates=False)
    yield
    celery_app.conf.update(saved)


def scheme_for(code):
    data = copy.deepcopy(EXAMPLE_SCHEME)
    data.update(code=f"{code}-2026", name=f"{code} 2026", branch_code=code)
    data["indicators"][0]["target"] = "100000"  # every monthly indicator has its target
    return scheme_import(data=data)


@pytest.fixture
def bank(branch, sister_branch, other_branch, monthly):
    """Three branches with a scheme, two RMs each with a client and business in Dec–Mar."""
    rms = []
    for b in (branch, sister_branch, other_branch):
        scheme_for(b.code)
        for n in range(2):
            rm = EmployeeFactory(employee_no=f"{b.code}-RM{n}", branch=b)
            client = ClientFactory(branch=b, rm=rm, opened_on=dt.date(2025, 1, 1))
            for month, amount in (("2025-12", 100000), ("2026-01", 120000), ("2026-02", 150000),
                                  ("2026-03", 150000 + 50000 * n)):
                monthly(client, month, deposit_avg_balance=amount, fund_sales=100000 * n)
            rms.append(rm)
    return rms


def runs(kind=None):
    queryset = ScheduledRun.objects.order_by("pk")
    return list(queryset.filter(kind=kind) if kind else queryset)


def snapshot():
    return (
        list(Appraisal.objects.order_by("pk").values_list("pk", "employee_id", "scheme_id", "period", "state", "total",
                                                          "grade", "missing")),
        list(AppraisalLine.objects.order_by("pk").values_list("pk", "appraisal_id", "indicator_id", "weight",
                                                              "actual", "target", "points")),
        list(RiskScore.objects.order_by("pk").values_list("pk", "employee_id", "month", "score", "band", "factors")),
        list(RiskAlert.objects.order_by("pk").values_list("pk", "employee_id", "score_id", "trigger", "status")),
    )


# --- months and periods -------------------------------------------------------------------------

def test_the_run_of_the_first_takes_the_month_before_in_the_banks_time_zone():
    assert tasks.previous_month(dt.date(2026, 4, 1)).key == "2026-03"
    assert tasks.previous_month(dt.date(2026, 1, 1)).key == "2025-12"


@pytest.mark.parametrize(("month", "periods"), [
    ("2026-02", ["2026-02"]),
    ("2026-03", ["2026-03", "2026-Q1"]),
    ("2025-12", ["2025-12", "2025-Q4", "2025"]),
])
def test_a_month_that_ends_a_quarter_or_a_year_brings_that_period_too(month, periods):
    assert [p.key for p in tasks.periods_ending_with(Period.parse(month))] == periods


# --- the monthly run ----------------------------------------------------------------------------

def test_monthly_run_computes_every_branch_then_scores_retention_and_records_each_stage(bank, eager):
    tasks.monthly_run.apply(kwargs={"month": "2026-03"})
    recorded = [(r.kind, r.key, r.status, r.branches_total, r.branches_done, r.failures) for r in runs()]
    assert recorded == [
        ("appraisals", "2026-03", "succeeded", 3, CODES, {}),
        ("appraisals", "2026-Q1", "succeeded", 3, CODES, {}),
        ("retention", "2026-03", "succeeded", 3, CODES, {}),
    ]
    assert all(r.finished_at and r.finished_at >= r.started_at for r in runs())
    for code in CODES:
        assert Appraisal.objects.filter(branch__code=code, period="2026-03").count() == 2
        assert Appraisal.objects.filter(branch__code=code, period="2026-Q1").count() == 2
        assert RiskScore.objects.filter(employee__branch__code=code, month=dt.date(2026, 3, 1)).count() == 2
    # The scores were computed after the month's appraisals: the branch median is in the figures.
    assert RiskScore.objects.filter(factors__assessment__figures__team_median__isnull=False).count() == 6


def test_monthly_run_without_a_month_takes_last_month(bank, eager, monkeypatch):
    monkeypatch.setattr(tasks, "previous_month", lambda today=None: Period.parse("2026-02"))
    assert tasks.monthly_run.apply().get() == ["2026-02"]
    assert [(r.kind, r.key) for r in runs()] == [("appraisals", "2026-02"), ("retention", "2026-02")]


def test_running_the_monthly_job_twice_gives_identical_rows(bank, eager):
    RiskSettings.objects.create(weight_assessment=0, weight_incentive=0, weight_career=100, weight_recognition=0,
                                weight_pressure=0, medium_from=20, high_from=40)
    tasks.monthly_run.apply(kwargs={"month": "2026-03"})
    first = snapshot()
    assert first[0] and first[2] and first[3]  # appraisals, scores and alerts were stored
    tasks.monthly_run.apply(kwargs={"month": "2026-03"})
    assert snapshot() == first
    assert len(runs()) == 6 and {r.status for r in runs()} == {"succeeded"}


@pytest.fixture
def slow_appraisals(monkeypatch):
    """Each appraisal run waits a moment before it writes: two unlocked runs would collide."""
    real = tasks.appraisal_run

    def slow(**kwargs):
        time.sleep(0.4)
        return real(**kwargs)

    monkeypatch.setattr(tasks, "appraisal_run", slow)


def run_at_once(*calls):
    """Runs the callables in threads started together; returns their results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_same_branch_twice_at_once_stores_each_appraisal_and_score_once(bank, eager, slow_appraisals):
    run = scheduled_run_start(kind="appraisals", key="2026-03", branch_codes=["B01"])
    results = run_at_once(*[lambda: tasks.appraisals_branch.apply(args=(run.pk, "2026-03", "B01")).get()] * 2)
    assert [r["ok"] for r in results] == [True, True]
    assert sorted(r["created"] for r in results) == [0, 2]  # the second found the first's rows
    assert Appraisal.objects.filter(period="2026-03").count() == 2
    run.refresh_from_db()
    assert run.branches_done == ["B01"] and run.failures == {}

    retention = scheduled_run_start(kind="retention", key="2026-03", branch_codes=["B01"])
    results = run_at_once(*[lambda: retention_branch.apply(args=(retention.pk, "2026-03", "B01")).get()] * 2)
    assert [r["ok"] for r in results] == [True, True]
    assert RiskScore.objects.count() == 2


def failing(monkeypatch, branch_code, error, times=None):
    """appraisal_run raises ``error`` for ``branch_code`` (``times`` times, or always); returns the
    number of attempts per branch."""
    real = tasks.appraisal_run
    attempts = {}

    def run(*, period, branch_code: str, **kwargs):
        attempts[branch_code] = attempts.get(branch_code, 0) + 1
        if branch_code == failing_code and (times is None or attempts[branch_code] <= times):
            raise error
        return real(period=period, branch_code=branch_code, **kwargs)

    failing_code = branch_code
    monkeypatch.setattr(tasks, "appraisal_run", run)
    return attempts


def test_a_branch_that_keeps_failing_is_retried_reported_and_the_others_complete(bank, eager, monkeypatch):
    attempts = failing(monkeypatch, "B02", OperationalError("server closed the connection unexpectedly"))
    tasks.monthly_run.apply(kwargs={"month": "2026-03"})
    month_run = runs("appraisals")[0]
    assert month_run.status == "partial" and month_run.branches_done == ["B01", "B03"]
    assert month_run.failures == {"B02": "OperationalError: server closed the connection unexpectedly"}
    # Each of the two appraisal stages tried B02 once and retried it max_retries times.
    assert attempts["B02"] == 2 * (tasks.appraisals_branch.max_retries + 1) and attempts["B01"] == 2
    assert not Appraisal.objects.filter(branch__code="B02").exists()
    assert Appraisal.objects.filter(branch__code="B01", period="2026-03").count() == 2
    # The stages after it still ran.
    assert [r.status for r in runs("retention")] == ["succeeded"]


def test_a_transient_error_is_retried_and_the_branch_then_succeeds(bank, eager, monkeypatch):
    attempts = failing(monkeypatch, "B03", RedisConnectionError("Connection refused"), times=1)
    tasks.appraisals_start.apply(kwargs={"period": "2026-03"})
    run = runs("appraisals")[0]
    assert attempts["B03"] == 2 and run.status == "succeeded" and run.branches_done == CODES


def test_an_error_that_is_not_transient_is_reported_without_retrying(bank, eager, monkeypatch):
    attempts = failing(monkeypatch, "B01", ValueError("bad scheme"))
    tasks.appraisals_start.apply(kwargs={"period": "2026-03"})
    run = runs("appraisals")[0]
    assert attempts["B01"] == 1 and run.status == "partial" and run.failures == {"B01": "ValueError: bad scheme"}


def test_a_run_where_every_branch_fails_is_failed(bank, eager, monkeypatch):
    monkeypatch.setattr(tasks, "appraisal_run", lambda **kwargs: (_ for _ in ()).throw(ValueError("down")))
    tasks.appraisals_start.apply(kwargs={"period": "2026-03"})
    assert runs("appraisals")[0].status == "failed"


def test_a_run_over_no_branch_is_recorded_as_done(eager, branch):
    tasks.appraisals_start.apply(kwargs={"period": "2026-03"})
    run = runs()[0]
    assert (run.status, run.branches_total, run.finished_at is not None) == ("succeeded", 0, True)


def test_tasks_retry_transient_errors_with_backoff_and_have_time_limits():
    for task in (tasks.appraisals_branch, retention_branch, tasks.monthly_run, tasks.run_finish,
                 tasks.appraisals_refresh, reminders_daily):
        assert {OperationalError, InterfaceError, RedisConnectionError} <= set(task.autoretry_for), task.name
        assert task.retry_backoff and task.max_retries and task.time_limit > task.soft_time_limit > 0, task.name
    assert celery_app.conf.task_serializer == "json" and celery_app.conf.accept_content == ["json"]


def test_beat_runs_the_monthly_job_on_the_first_and_reminders_every_day_in_the_banks_time_zone():
    schedule = settings.CELERY_BEAT_SCHEDULE
    monthly, daily = schedule["monthly-appraisals-and-retention"], schedule["daily-reminders"]
    assert monthly["task"] == tasks.monthly_run.name and daily["task"] == reminders_daily.name
    assert isinstance(monthly["schedule"], crontab) and monthly["schedule"].day_of_month == {1}
    assert daily["schedule"].day_of_month == set(range(1, 32))
    assert monthly["options"]["expires"] > 0 and daily["options"]["expires"] > 0
    assert celery_app.conf.timezone == settings.TIME_ZONE == "Asia/Shanghai"


# --- late business data ---------------------------------------------------------------------------

def test_late_data_queues_the_recompute_once_the_transaction_commits(monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(tasks, "task_publish", lambda signature: queued.append(signature.args[0]))
    with django_capture_on_commit_callbacks(execute=True):
        announce_business_data_changed([dt.date(2026, 2, 1), dt.date(2026, 1, 1)])
        assert queued == []
    assert queued == [["2026-01-01", "2026-02-01"]]


def test_the_queued_recompute_updates_open_appraisals(bank, eager, monthly, django_capture_on_commit_callbacks):
    tasks.appraisals_start.apply(kwargs={"period": "2026-03"})
    rm = bank[0]
    Appraisal.objects.exclude(employee=rm).update(state="approved")
    client = rm.assignments.get().client
    monthly(client, "2026-03", deposit_avg_balance=150000, fund_sales=400000)
    with django_capture_on_commit_callbacks(execute=True):
        announce_business_data_changed([dt.date(2026, 3, 1)])
    assert AppraisalLine.objects.get(appraisal__employee=rm, indicator__code="fund").points == D(40)


# --- daily reminders ------------------------------------------------------------------------------

@pytest.fixture
def reminder_world(rm, other_rm, branch):
    """rm's career interview is long overdue; other_rm's certificate expires in 30 days."""
    EmployeeFactory(branch=branch, role=Role.BRANCH_MANAGER, email="bm@bank.test")
    EmployeeFactory(branch=branch, role=Role.HR, email="hr@bank.test")
    other_rm.interviews.create(scheduled_on=timezone.localdate(), held_on=timezone.localdate(), outcome="on_track")
    afp = CertificateType.objects.create(code="AFP", name="AFP")
    Certificate.objects.create(employee=other_rm, certificate_type=afp, obtained_on=dt.date(2020, 1, 1),
                               expires_on=timezone.localdate() + dt.timedelta(days=30))


def test_reminders_go_to_the_branch_manager_and_hr_once_a_day(reminder_world, rm, other_rm, eager):
    assert reminders_daily.apply().get() == "succeeded"
    assert sorted(m.to[0] for m in mail.outbox) == ["bm@bank.test", "hr@bank.test"]
    body = mail.outbox[0].body
    assert rm.employee_no in body and "AFP" in body and other_rm.employee_no in body
    assert reminders_daily.apply().get() is None
    assert len(mail.outbox) == 2
    run = ScheduledRun.objects.get(kind="reminders")
    assert run.key == timezone.localdate().isoformat() and run.branches_done == ["B01", "HR"]


def test_a_digest_that_could_not_be_sent_goes_out_on_the_next_run_alone(reminder_world, eager, monkeypatch):
    real = notices._send
    refused = {"count": 0}

    def send(subject, template, context, recipients):
        if recipients == ["hr@bank.test"] and not refused["count"]:
            refused["count"] += 1
            raise smtplib.SMTPServerDisconnected("gone")
        real(subject, template, context, recipients)

    monkeypatch.setattr(notices, "_send", send)
    assert reminders_daily.apply().get() == "partial"
    assert [m.to for m in mail.outbox] == [["bm@bank.test"]]
    assert reminders_daily.apply().get() == "succeeded"
    assert [m.to for m in mail.outbox] == [["bm@bank.test"], ["hr@bank.test"]]
    assert ScheduledRun.objects.filter(kind="reminders").count() == 1


def test_reminders_wake_snoozed_alerts_whose_day_has_come(rm, eager):
    score = RiskScore.objects.create(employee=rm, month=dt.date(2026, 3, 1), score=D(80), band="high")
    RiskAlert.objects.create(employee=rm, score=score, trigger="entered_high", status="snoozed",
                             snoozed_until=timezone.localdate())
    reminders_daily.apply()
    assert RiskAlert.objects.get().status == "open"


# --- the operations page ----------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "status"), [("hr", 200), ("branch_manager", 403), ("reviewer", 403),
                                              ("rm", 403), ("department_head", 403)])
def test_only_hr_opens_the_operations_page(role, status, request, client_of):
    assert client_of(request.getfixturevalue(role)).get(reverse("operations:runs")).status_code == status


def test_operations_page_lists_the_runs_with_their_failures(hr, client_of):
    ScheduledRun.objects.create(kind="appraisals", key="2026-03", status="partial", branches_total=3,
                                branches_done=["B01", "B03"], failures={"B02": "OperationalError: gone"})
    text = client_of(hr).get(reverse("operations:runs")).content.decode()
    assert "2026-03" in text and "OperationalError: gone" in text and "2 / 3" in text


def test_run_now_queues_the_job_after_commit_and_records_who_asked(bank, hr, client_of, eager,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_of(hr).post(reverse("operations:runs"), {"run-kind": "retention", "run-key": "2026-03"})
    # Besides the job, only the dashboards' generation moves on after commit (the run changed data).
    assert response.status_code == 302 and len([c for c in callbacks if c is not dashboard_cache._bump]) == 1
    run = ScheduledRun.objects.get()
    assert (run.kind, run.key, run.status, run.triggered_by) == ("retention", "2026-03", "succeeded", hr.user)
    assert RiskScore.objects.count() == len(bank)


@pytest.mark.parametrize(("kind", "key", "message"), [
    ("retention", "2026-Q1", "monthly"), ("appraisals", "2026-13", "is not a period"), ("nonsense", "", "valid choice"),
])
def test_run_now_refuses_a_key_that_does_not_fit_the_job(hr, client_of, kind, key, message,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_of(hr).post(reverse("operations:runs"), {"run-kind": kind, "run-key": key})
    assert response.status_code == 200 and message in response.content.decode() and not callbacks
