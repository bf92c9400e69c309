"""A real worker killed (SIGKILL) in the middle of an import: the job stops beating, the sweep
fails it within minutes with its file kept, HR presses Retry and a new worker imports it.

Like tests/test_celery_e2e.py: real ``celery -A rmportal worker`` processes on the Redis at
REDIS_URL, writing to the test database.
"""
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from clients.models import Branch, ImportJob
from clients.tasks import import_job_execute
from rmportal.celery import app as celery_app
from rmportal.import_jobs import STALE_AFTER, import_jobs_abandoned_fail
from tests.markers import requires_postgresql
from tests.test_celery_e2e import BASE_DIR, READY_TIMEOUT, REDIS_URL, broker, database_url, not_eager  # noqa: F401

pytestmark = [pytest.mark.celery_e2e, requires_postgresql, pytest.mark.django_db(transaction=True)]

ROWS = 60_000
RUN_TIMEOUT = 240


def start_worker(tmp_path, queue: str, name: str):
    log_path = tmp_path / f"{name}.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "rmportal.settings.base", "DATABASE_URL": database_url(),
           "DB_CONN_MAX_AGE": "0", "REDIS_URL": REDIS_URL, "CELERY_QUEUE": queue,
           "RMPORTAL_VAR_DIR": str(tmp_path / "var"), "DJANGO_LANGUAGE_CODE": "en"}
    command = [sys.executable, "-m", "celery", "-A", "rmportal", "worker", "--loglevel", "INFO", "--concurrency", "1",
               "--hostname", f"{name}-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle",
               "--without-heartbeat"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    deadline = time.monotonic() + READY_TIMEOUT
    while b" ready." not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"the worker did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.2)
    return process, log_path


def stop(process) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.fixture
def workers(broker, tmp_path):
    started, queues = [], []

    def start(queue: str, name: str):
        process, log = start_worker(tmp_path, queue, name)
        started.append(process)
        queues.append(queue)
        return process, log

    yield start
    for process in started:
        stop(process)
    client = redis.Redis.from_url(REDIS_URL)
    for queue in queues:
        client.delete(queue)


def wait_for(condition, *, what: str, log) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen:\n{log.read_text(errors='replace')[-5000:]}")
        time.sleep(0.1)


def test_a_worker_killed_mid_import_leaves_a_job_that_is_failed_by_the_sweep_and_retried(
        workers, not_eager, client_of, hr):
    rows = "".join(f"\nK{n:05d},Branch {n},R-K,East" for n in range(ROWS))
    job = ImportJob.objects.create(kind="branches", filename="branches.csv", created_by=hr.user, language="en",
                                   content=f"branch_code,name,region_code,region_name{rows}\n".encode())
    first_queue = f"rmportal-faults-{uuid.uuid4().hex[:12]}"
    first, first_log = workers(first_queue, "doomed")
    with celery_app.connection_for_write(REDIS_URL) as connection:
        import_job_execute.apply_async(args=[job.pk], kwargs={"attempt": job.attempts}, connection=connection,
                                       queue=first_queue)

    # Killed once it is well into the file.
    wait_for(lambda: ImportJob.objects.filter(pk=job.pk, status="running", rows_done__gt=0).exists(),
             what="the import's progress", log=first_log)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    job.refresh_from_db()
    assert job.status == "running" and job.heartbeat_at is not None
    assert not Branch.objects.filter(code__startswith="K").exists()  # one transaction: nothing stored

    # No heartbeat since: the sweep of a few minutes later fails it, and keeps the file.
    assert import_jobs_abandoned_fail(now=timezone.now() + dt.timedelta(seconds=1)) == 0  # still fresh
    assert import_jobs_abandoned_fail(now=job.heartbeat_at + STALE_AFTER + dt.timedelta(seconds=1)) == 1
    job.refresh_from_db()
    assert (job.status, job.result["retryable"], len(bytes(job.content)) > 0) == ("failed", True, True)
    page = client_of(hr).get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'id="import-retry"' in page

    # HR presses Retry; a new worker on the portal's queue imports the file.
    _second, second_log = workers(celery_app.conf.task_default_queue, "second")
    response = client_of(hr).post(reverse("imports:job-retry", args=[job.pk]))
    assert response.status_code == 302
    wait_for(lambda: ImportJob.objects.filter(pk=job.pk, finished_at__isnull=False).exists(),
             what="the retried import", log=second_log)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.rows_done) == ("succeeded", 2, ROWS)
    assert Branch.objects.filter(code__startswith="K").count() == ROWS
