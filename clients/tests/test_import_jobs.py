"""Imports in the background (DOMAIN 6): an ImportJob goes queued → running → succeeded or
failed, reports its progress while the import's transaction runs, and its page (HR only,
bank-wide) polls itself until the job is finished."""
import datetime as dt
import io
import logging
import time

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from clients.importers import BranchImporter
from clients.models import Branch, ImportJob, Role
from clients.tests.test_import_monthly import HEADER as MONTHLY_HEADER
from clients.tests.test_import_monthly import full_row
from clients.tests.test_importers import BRANCH_HEADER, recompute_calls  # noqa: F401
from rmportal import import_jobs, importing, scoping
from rmportal.import_jobs import ImportJobProgress, import_job_create, import_job_run, import_jobs_abandoned_fail
from rmportal.importing import run_import
from tests.factories import ClientFactory, EmployeeFactory
from tests.markers import requires_postgresql

pytestmark = pytest.mark.django_db

FIVE_BRANCHES = BRANCH_HEADER + "".join(f"\nB1{n},Branch {n},R01,North" for n in range(5)) + "\n"


def upload(text: str, name: str = "branches.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def job_url(job) -> str:
    return reverse("imports:job", args=[job.pk])


# --- the job's life ---------------------------------------------------------------------------

def test_job_is_queued_with_its_file_and_succeeds_once_the_upload_commits(hr, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = import_job_create(kind="branches", fileobj=upload(FIVE_BRANCHES), filename="branches.csv",
                                user=hr.user)
    job.refresh_from_db()
    assert (job.status, job.created_by, bytes(job.content)) == ("queued", hr.user, FIVE_BRANCHES.encode())
    assert len(callbacks) == 1 and not Branch.objects.filter(code="B10").exists()

    callbacks[0]()  # the task runs (eagerly in tests)

    job.refresh_from_db()
    assert job.status == "succeeded"
    assert job.started_at is not None and job.finished_at >= job.started_at
    assert (job.rows_done, job.rows_total, job.errors) == (5, 5, [])
    assert (job.result["rows"], job.result["created"], job.result["updated"]) == (5, 5, 0)
    assert job.result["message"].startswith("branches.csv: 5 rows imported as branches.")
    assert bytes(job.content) == b""  # the file is not kept once imported
    assert Branch.objects.filter(code__startswith="B1").count() == 5


def test_rejected_file_fails_the_job_with_row_column_and_reason_and_stores_nothing(
        hr, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(kind="branches", fileobj=upload(f"{BRANCH_HEADER}\nB05,Fifth,R01,North\nB06,,R01,North\n"),
                                filename="branches.csv", user=hr.user)
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert job.errors == [{"row": 3, "column": "name", "reason": "a value is required"}]
    assert job.result["message"] == "branches.csv was rejected: 1 error; nothing was stored."
    assert job.result["error_count"] == 1
    assert bytes(job.content) == b""
    assert not Branch.objects.filter(code__in=["B05", "B06"]).exists()


def test_errors_of_a_rejected_file_are_capped_and_counted(hr, django_capture_on_commit_callbacks, client_of):
    rows = "".join(f"\nX{n},,R01,North" for n in range(importing.MAX_ERRORS + 5))
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(kind="branches", fileobj=upload(BRANCH_HEADER + rows), filename="many.csv",
                                user=hr.user)
    job.refresh_from_db()
    assert len(job.errors) == importing.MAX_ERRORS
    assert job.result["error_count"] == importing.MAX_ERRORS + 5
    page = client_of(hr).get(job_url(job)).content.decode()
    assert f"{importing.MAX_ERRORS + 5} errors were found; the first {importing.MAX_ERRORS} are listed here." in page


def test_unexpected_error_fails_the_job_with_a_general_message_and_is_logged(
        hr, monkeypatch, caplog, django_capture_on_commit_callbacks):
    def broken(self, table, report):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(BranchImporter, "run", broken)
    with caplog.at_level(logging.ERROR, logger="rmportal.import_jobs"), \
            django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(kind="branches", fileobj=upload(FIVE_BRANCHES), filename="branches.csv",
                                user=hr.user)
    job.refresh_from_db()
    assert job.status == "failed" and job.errors == []
    assert "unexpected error" in job.result["message"] and "disk on fire" not in job.result["message"]
    assert "disk on fire" in caplog.text
    assert not Branch.objects.filter(code="B10").exists()


def test_transient_error_puts_the_job_back_in_the_queue_while_retries_remain(hr, monkeypatch):
    def flaky(self, table, report):
        raise OperationalError("connection reset")

    monkeypatch.setattr(BranchImporter, "run", flaky)
    job = ImportJob.objects.create(kind="branches", filename="b.csv", content=FIVE_BRANCHES.encode(),
                                   created_by=hr.user)
    with pytest.raises(OperationalError):
        import_job_run(job_id=job.pk, may_retry=True)
    job.refresh_from_db()
    assert (job.status, job.started_at, bytes(job.content)) == ("queued", None, FIVE_BRANCHES.encode())

    import_job_run(job_id=job.pk, may_retry=False)  # the last attempt
    job.refresh_from_db()
    assert job.status == "failed" and "upload the file again" in job.result["message"]
    assert job.result["retryable"] and bytes(job.content) == FIVE_BRANCHES.encode()  # kept for a retry


def test_a_job_already_taken_is_left_alone(hr):
    job = ImportJob.objects.create(kind="branches", filename="b.csv", content=FIVE_BRANCHES.encode(),
                                   created_by=hr.user)
    assert import_job_run(job_id=job.pk).status == "succeeded"
    assert import_job_run(job_id=job.pk) is None  # a second delivery of the task
    assert Branch.objects.filter(code__startswith="B1").count() == 5



def test_a_job_whose_worker_died_is_failed_by_the_sweep_and_a_live_one_is_not(hr):
    now = timezone.now()
    dead, live = (ImportJob.objects.create(kind="branches", filename=f"{name}.csv", content=b"x", created_by=hr.user,
                                           status="running", started_at=now - dt.timedelta(minutes=10),
                                           heartbeat_at=now - age)
                  for name, age in (("dead", dt.timedelta(minutes=3)), ("live", dt.timedelta(seconds=30))))

    assert import_jobs_abandoned_fail(now=now) == 1

    dead.refresh_from_db()
    live.refresh_from_db()
    # The file is kept: the job can be retried.
    assert (dead.status, dead.finished_at, bytes(dead.content)) == ("failed", now, b"x")
    assert "interrupted" in dead.result["message"] and dead.result["retryable"]
    assert live.status == "running"
    assert import_jobs_abandoned_fail(now=now) == 0  # nothing left to sweep


def test_only_a_role_the_kind_allows_may_create_a_job(branch_manager):
    with pytest.raises(PermissionDenied):
        import_job_create(kind="branches", fileobj=upload(FIVE_BRANCHES), filename="b.csv", user=branch_manager.user)
    assert not ImportJob.objects.exists()


# --- progress ---------------------------------------------------------------------------------

def test_run_import_reports_each_chunk_of_rows_then_the_storing(monkeypatch):
    monkeypatch.setattr(importing, "PROGRESS_EVERY", 2)
    calls = []
    run_import("branches", io.BytesIO(FIVE_BRANCHES.encode()), filename="b.csv",
               progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert calls == [("checking", 0, 5), ("checking", 2, 5), ("checking", 4, 5), ("storing", 5, 5)]


def test_xlsx_import_estimates_its_rows_from_the_sheet_size():
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(BRANCH_HEADER.split(","))
    for n in range(3):
        workbook.active.append([f"B2{n}", f"Branch {n}", "R01", "North"])
    data = io.BytesIO()
    workbook.save(data)
    calls = []
    run_import("branches", io.BytesIO(data.getvalue()), filename="b.xlsx",
               progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert calls == [("checking", 0, 3), ("storing", 3, 3)]


def test_monthly_import_reports_the_recompute_after_storing(branch, rm, recompute_calls):
    ClientFactory(client_no="C001", branch=branch, rm=rm)
    calls = []
    text = f"{MONTHLY_HEADER}\n{full_row('C001', deposit_avg_balance='100.50')}\n"
    run_import("monthly", io.BytesIO(text.encode()), filename="m.csv",
               progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert calls == [("checking", 0, 1), ("storing", 1, 1), ("recomputing", 1, 1)]
    assert len(recompute_calls) == 1


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_progress_is_written_to_the_job_row_while_the_import_transaction_runs(hr, monkeypatch):
    """What the job page would read in the middle of the import: the progress is committed
    through its own connection although the rows are not yet."""
    monkeypatch.setattr(importing, "PROGRESS_EVERY", 2)
    monkeypatch.setattr(ImportJobProgress, "MIN_INTERVAL", 0)
    seen = []
    report = ImportJobProgress.__call__

    def report_and_look(self, stage, done, total):
        report(self, stage, done, total)
        seen.append(tuple(ImportJob.objects.filter(pk=self.job_id).values_list("stage", "rows_done", "rows_total")
                          .get()) + (Branch.objects.filter(code__startswith="B1").count(),))

    monkeypatch.setattr(ImportJobProgress, "__call__", report_and_look)
    job = import_job_create(kind="branches", fileobj=upload(FIVE_BRANCHES), filename="b.csv", user=hr.user)

    # The first report comes before the transaction; the later ones from inside it, where the
    # main connection sees its own rows only after the storing.
    assert seen == [("checking", 0, 5, 0), ("checking", 2, 5, 0), ("checking", 4, 5, 0), ("storing", 5, 5, 0)]
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.rows_total) == ("succeeded", 5, 5)


# --- the job's page ---------------------------------------------------------------------------

@pytest.fixture
def running_job(hr):
    return ImportJob.objects.create(kind="monthly", filename="monthly.csv", content=b"x", created_by=hr.user,
                                    status="running", stage="checking", rows_done=3000, rows_total=12000)


def test_job_page_shows_a_progress_bar_and_the_stage_while_running(client_of, hr, running_job):
    page = client_of(hr).get(job_url(running_job)).content.decode()
    assert '<progress class="job-progress" id="import-progress"' in page
    assert 'max="12000" value="3000"' in page
    assert "Checking the rows" in page and "3000 of 12000 rows" in page
    assert 'hx-trigger="every 1s"' in page and f'hx-get="{job_url(running_job)}"' in page


def test_polling_fragment_polls_while_running_and_stops_once_finished(client_of, hr, running_job,
                                                                     django_assert_max_num_queries):
    browser = client_of(hr)
    with django_assert_max_num_queries(6):
        fragment = browser.get(job_url(running_job), headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section id="import-job"') and "<html" not in fragment
    assert 'hx-trigger="every 1s"' in fragment

    ImportJob.objects.filter(pk=running_job.pk).update(
        status="succeeded", stage="", rows_done=12000, finished_at=running_job.created_at, content=b"",
        result={"rows": 12000, "created": 12000, "updated": 0, "unchanged": 0, "deleted": 0, "notes": []})
    fragment = browser.get(job_url(running_job), headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in fragment and "hx-get" not in fragment and "<progress" not in fragment
    assert "monthly.csv: 12000 rows imported as monthly." in fragment


def test_queued_job_says_it_waits_for_a_worker(client_of, hr):
    job = ImportJob.objects.create(kind="branches", filename="b.csv", content=b"x", created_by=hr.user)
    page = client_of(hr).get(job_url(job)).content.decode()
    assert "Waiting for a worker" in page and 'hx-trigger="every 1s"' in page


def test_another_hr_sees_the_job_bank_wide(client_of, running_job, other_branch):
    colleague = EmployeeFactory(employee_no="HR900", branch=other_branch, role=Role.HR)
    assert client_of(colleague).get(job_url(running_job)).status_code == 200


@pytest.mark.parametrize("role", ["rm", "department_head", "branch_manager", "reviewer"])
def test_other_roles_get_403_on_the_job_page(request, client_of, running_job, role):
    employee = request.getfixturevalue(role)
    browser = client_of(employee)
    assert browser.get(job_url(running_job)).status_code == 403
    assert browser.get(job_url(running_job), headers={"HX-Request": "true"}).status_code == 403


def test_unknown_job_is_404_and_anonymous_visitor_logs_in(client, client_of, hr, running_job):
    assert client.get(job_url(running_job)).status_code == 302
    assert client_of(hr).get(reverse("imports:job", args=[running_job.pk + 1000])).status_code == 404


def test_recent_jobs_leave_the_stored_files_in_the_database(hr, running_job, django_assert_max_num_queries):
    scoping.role_of(hr.user)  # the role is looked up once per request
    with django_assert_max_num_queries(1):
        jobs = list(import_jobs.import_jobs(hr.user)[:20])
    assert jobs == [running_job]
    assert "content" in jobs[0].get_deferred_fields()


# --- heartbeat, takeover and retry --------------------------------------------------------------

def beating_job(hr, *, beat_ago: dt.timedelta, attempts: int = 1) -> ImportJob:
    now = timezone.now()
    return ImportJob.objects.create(kind="branches", filename="b.csv", content=FIVE_BRANCHES.encode(),
                                    created_by=hr.user, status="running", started_at=now - beat_ago,
                                    heartbeat_at=now - beat_ago, attempts=attempts)


def test_the_redelivered_task_takes_over_a_job_whose_worker_stopped_beating(hr):
    job = beating_job(hr, beat_ago=import_jobs.STALE_AFTER + dt.timedelta(seconds=5))
    assert import_job_run(job_id=job.pk, attempt=1).status == "succeeded"
    assert Branch.objects.filter(code__startswith="B1").count() == 5


def test_a_job_that_is_still_beating_or_queued_again_since_is_left_to_its_worker(hr):
    beating = beating_job(hr, beat_ago=dt.timedelta(seconds=10))
    retried = beating_job(hr, beat_ago=import_jobs.STALE_AFTER * 2, attempts=2)
    assert import_job_run(job_id=beating.pk, attempt=1) is None
    assert import_job_run(job_id=retried.pk, attempt=1) is None  # a message of the earlier attempt
    assert set(ImportJob.objects.values_list("status", flat=True)) == {"running"}


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_writes_through_its_own_connection_while_the_import_runs(hr):
    job = beating_job(hr, beat_ago=dt.timedelta(minutes=1))
    before = job.heartbeat_at
    heartbeat = import_jobs.ImportJobHeartbeat(job.pk, every=0.05)
    heartbeat.start()
    time.sleep(0.5)
    heartbeat.stop()
    job.refresh_from_db()
    assert job.heartbeat_at > before + dt.timedelta(seconds=50)


def test_hr_retries_a_failed_job_with_its_kept_file(client_of, hr, django_capture_on_commit_callbacks):
    job = ImportJob.objects.create(kind="branches", filename="b.csv", content=FIVE_BRANCHES.encode(),
                                   created_by=hr.user, status="failed",
                                   result={"message": "interrupted", "retryable": True})
    page = client_of(hr).get(job_url(job)).content.decode()
    assert 'id="import-retry"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(hr).post(reverse("imports:job-retry", args=[job.pk]))

    job.refresh_from_db()
    assert response.status_code == 302
    assert (job.status, job.attempts, bytes(job.content)) == ("succeeded", 2, b"")


def test_a_rejected_file_is_not_retried_and_only_hr_may_retry(client_of, hr, branch_manager):
    rejected = ImportJob.objects.create(kind="branches", filename="b.csv", content=b"", created_by=hr.user,
                                        status="failed", result={"message": "bad rows"})
    assert 'id="import-retry"' not in client_of(hr).get(job_url(rejected)).content.decode()
    answer = client_of(hr).post(reverse("imports:job-retry", args=[rejected.pk]), follow=True)
    assert "Only an import that failed" in answer.content.decode()
    assert client_of(branch_manager).post(reverse("imports:job-retry", args=[rejected.pk])).status_code == 403
    rejected.refresh_from_db()
    assert (rejected.status, rejected.attempts) == ("failed", 1)
