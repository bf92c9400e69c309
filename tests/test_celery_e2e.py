"""End to end on Celery (STYLE 7): a real worker process on a real Redis broker runs the monthly
job that beat starts on the 1st, against the test database, and records it.

Not eager: the test sends beat's entry (its task, args and options) through Redis, a
``celery -A rmportal worker`` subprocess fans it out per branch and writes to the test database
(its name is passed in DATABASE_URL), and the test waits for the recorded run. Redis must be
reachable at REDIS_URL (default redis://127.0.0.1:6379/5): when it is not, the test fails.
"""
import copy
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from careers.models import RiskScore
from clients.models import MonthlyBusiness
from performance.models import Appraisal, ScheduledRun
from performance.schemes import scheme_import
from performance.tasks import periods_ending_with, previous_month
from performance.tests.conftest import EXAMPLE_SCHEME
from rmportal.celery import app as celery_app
from tests.factories import BranchFactory, ClientFactory, EmployeeFactory, RegionFactory
from tests.markers import requires_postgresql

pytestmark = [pytest.mark.celery_e2e, requires_postgresql, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5"
BASE_DIR = Path(settings.BASE_DIR)
MONTHLY_ENTRY = "monthly-appraisals-and-retention"
READY_TIMEOUT = 60
RUN_TIMEOUT = 180


@pytest.fixture
def broker():
    """Redis must answer: the end-to-end test fails (never skips) without it."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


def database_url() -> str:
    """DATABASE_URL of the database this test runs in (the test database, not the real one)."""
    db = connection.settings_dict
    assert db["NAME"].startswith("test_"), db["NAME"]
    credentials = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(broker, tmp_path):
    """A ``celery -A rmportal worker`` subprocess on its own queue of the broker; stopped after the
    test (before the test database is emptied)."""
    queue = f"rmportal-e2e-{uuid.uuid4().hex[:12]}"
    log_path = tmp_path / "worker.log"
    env = {**os.environ,
           "DJANGO_SETTINGS_MODULE": "rmportal.settings.base",
           "DATABASE_URL": database_url(),
           "DB_CONN_MAX_AGE": "0",
           "REDIS_URL": broker,
           "CELERY_QUEUE": queue,
           "RMPORTAL_VAR_DIR": str(tmp_path / "var"),
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
           "DJANGO_LANGUAGE_CODE": "en"}
    command = [sys.executable, "-m", "celery", "-A", "rmportal", "worker", "--loglevel", "INFO",
               "--concurrency", "3", "--hostname", f"{queue}@%h", "--without-gossip", "--without-mingle",
               "--without-heartbeat"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while b" ready." not in log_path.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.2)
        yield {"queue": queue, "log": log_path, "process": process}
    finally:
        # The worker and its pool children are one process group, started here.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        redis.Redis.from_url(broker).delete(queue)


@pytest.fixture
def not_eager():
    """Whatever the test settings say, this test sends through the broker."""
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = saved


def bank(month: dt.date) -> list[str]:
    """Three branches with a scheme and two RMs each, with business up to ``month``."""
    region = RegionFactory(code="R-E2E")
    codes = []
    for code in ("E01", "E02", "E03"):
        branch = BranchFactory(code=code, region=region)
        data = copy.deepcopy(EXAMPLE_SCHEME)
        data.update(code=f"{code}-S", name=code, branch_code=code)
        scheme_import(data=data)
        for n in range(2):
            rm = EmployeeFactory(employee_no=f"{code}-RM{n}", branch=branch, hired_on=dt.date(2020, 1, 1))
            client = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2020, 1, 1))
            first = dt.date(month.year - 1, 12, 1)
            day = first
            while day <= month:
                MonthlyBusiness.objects.create(client=client, month=day, deposit_avg_balance=100000 + 5000 * n,
                                               fund_sales=50000 * n)
                day = (day + dt.timedelta(days=32)).replace(day=1)
        codes.append(code)
    return codes


def test_beat_monthly_entry_runs_in_a_real_worker_and_records_the_run(worker, not_eager):
    month = previous_month()
    codes = bank(month.start)
    entry = settings.CELERY_BEAT_SCHEDULE[MONTHLY_ENTRY]
    task = celery_app.tasks[entry["task"]]
    with celery_app.connection_for_write(REDIS_URL) as broker_connection:
        task.apply_async(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}), connection=broker_connection,
                         queue=worker["queue"], **entry.get("options", {}))

    deadline = time.monotonic() + RUN_TIMEOUT
    while not ScheduledRun.objects.filter(kind="retention", finished_at__isnull=False).exists():
        if worker["process"].poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the run did not finish:\n{worker['log'].read_text(errors='replace')}")
        time.sleep(0.5)

    periods = [p.key for p in periods_ending_with(month)]
    recorded = list(ScheduledRun.objects.order_by("pk").values_list("kind", "key", "status", "branches_total",
                                                                    "branches_done", "failures"))
    assert recorded == [*[("appraisals", key, "succeeded", 3, codes, {}) for key in periods],
                        ("retention", month.key, "succeeded", 3, codes, {})]
    assert all(run.finished_at >= run.started_at for run in ScheduledRun.objects.all())
    for code in codes:
        for key in periods:
            assert Appraisal.objects.filter(branch__code=code, period=key).count() == 2, (code, key)
        assert RiskScore.objects.filter(employee__branch__code=code, month=month.start).count() == 2, code
    # Every branch of every stage went through the worker as a task of its own.
    log = worker["log"].read_text(errors="replace")
    assert log.count("performance.tasks.appraisals_branch") >= 3 * len(periods)


def test_uploaded_file_is_imported_by_a_real_worker_with_its_progress(worker, not_eager):
    from clients.models import Branch, ImportJob
    from clients.tasks import import_job_execute

    rows = "".join(f"\nX{n:04d},Branch {n},R-E2E,East" for n in range(2500))
    job = ImportJob.objects.create(kind="branches", filename="branches.csv", created_by=None,
                                   content=f"branch_code,name,region_code,region_name{rows}\n".encode())
    with celery_app.connection_for_write(REDIS_URL) as broker_connection:
        import_job_execute.apply_async(args=[job.pk], connection=broker_connection, queue=worker["queue"])

    deadline = time.monotonic() + RUN_TIMEOUT
    while not ImportJob.objects.filter(pk=job.pk, finished_at__isnull=False).exists():
        if worker["process"].poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the import did not finish:\n{worker['log'].read_text(errors='replace')}")
        time.sleep(0.2)

    job.refresh_from_db()
    assert (job.status, job.rows_done, job.rows_total, bytes(job.content)) == ("succeeded", 2500, 2500, b"")
    assert job.result["created"] == 2500 and Branch.objects.filter(code__startswith="X").count() == 2500
    assert "progress of import job" not in worker["log"].read_text(errors="replace")  # no failed write
