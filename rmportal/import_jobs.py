"""Imports run in the background (DOMAIN 6): the upload page keeps the file in an ImportJob and
queues it; a worker imports it with ``run_import`` and reports how far it got, so that a large
file shows its progress instead of a frozen page.

A job goes queued → running → succeeded (``result`` holds the counts) or failed (``errors``
lists row, column and reason; ``result`` the message). The file is dropped when the job ends.
A job uploaded from the page is previewed first (``confirm_first``): the worker runs the import
as a dry run and the job waits, "awaiting confirmation", with the figures per branch and month
in ``preview``; once the uploader confirms it is queued again ("confirmed") and stored, the
stored rows recorded as the job's import batch.

The file is dropped when the job succeeds
or its file is rejected; a job that failed for any other reason (its worker died, the broker or
the database was away) keeps it, and HR can retry it from its page.

While a job runs, its worker writes ``heartbeat_at`` every ``HEARTBEAT_EVERY`` seconds (a thread
of its own, and every progress report). A job whose heartbeat is older than ``STALE_AFTER`` lost
its worker: the sweep (beat, every minute) fails it, and the redelivered task of the same attempt
takes it over instead of skipping it.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import threading
import time

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clients.models import ImportJob
from rmportal.celery import TRANSIENT_ERRORS, WorkerUnreachable, task_publish
from rmportal.errors import ApplicationError, UploadTooLarge
from rmportal.importing import (CHECKING, DELETE_CONFIRM_SHARE, MAX_ERRORS, RECOMPUTING, STORING,
                                DeletionNotConfirmed, ImportRejected, ImportResult, importer_for, run_import)
from rmportal.validators import upload_too_large_message

logger = logging.getLogger(__name__)

Status = ImportJob.Status
FINISHED = frozenset({Status.SUCCEEDED, Status.FAILED})
SETTLED = FINISHED | {Status.AWAITING}
WAITING = (Status.QUEUED, Status.CONFIRMED)
"""Queued for a worker: to be checked (and previewed), or confirmed and to be stored."""
"""States the page stops polling in."""
STAGE_LABELS = {
    CHECKING: gettext_lazy("Checking the rows"),
    STORING: gettext_lazy("Storing the rows"),
    RECOMPUTING: gettext_lazy("Recomputing the figures"),
}
RECENT_JOBS = 20
"""Jobs listed on the upload page."""
RESULT_FIELDS = ("rows", "created", "updated", "unchanged", "deleted", "notes")


# --- reads ------------------------------------------------------------------------------------

def import_jobs(user) -> QuerySet[ImportJob]:
    """The jobs the user may see, newest first: HR sees every job, bank-wide. The stored files
    are left in the database."""
    return (ImportJob.objects.restrict(user).defer("content").select_related("created_by")
            .order_by("-created_at", "-pk"))


def import_job_finished(job: ImportJob) -> bool:
    return job.status in FINISHED


def import_job_settled(job: ImportJob) -> bool:
    """Whether the job waits for nobody but a person (finished, or awaiting confirmation)."""
    return job.status in SETTLED


def import_job_needs_delete_confirmation(job: ImportJob) -> bool:
    return bool(job.preview.get("risky_groups"))


def import_job_result_lines(job: ImportJob) -> list[str]:
    """What a succeeded job did, in the reader's language (the notes are in the uploader's)."""
    if job.status != Status.SUCCEEDED:
        return []
    counts = {name: job.result[name] for name in RESULT_FIELDS if name in job.result}
    return ImportResult(kind=job.kind, filename=job.filename, **counts).lines()


# --- writes -----------------------------------------------------------------------------------

@transaction.atomic
def import_job_create(*, kind: str, fileobj, filename: str, user, replace: bool = False,
                      confirm_first: bool = False, confirm_delete: bool = False) -> ImportJob:
    """Keeps the uploaded file ``fileobj`` in a new queued job and queues its import once the
    transaction commits (DOMAIN 6). The user must hold a role the kind allows (HR); a file over
    IMPORT_MAX_UPLOAD_BYTES raises UploadTooLarge. ``replace`` also deletes what the file lacks in
    its branches (and months), for kinds that offer it. ``confirm_first`` previews the import (a
    dry run) and waits for ``import_job_confirm``; ``confirm_delete`` allows a replace to delete
    more than 5 % of a branch-month's rows. When the broker cannot be
    reached, the job is failed with that message (its file kept for a retry) and WorkerUnreachable
    is raised as the transaction commits."""
    importer_class = importer_for(kind)  # ApplicationError for an unknown kind
    if not importer_class.may_import(user):
        raise PermissionDenied(_("You may not import %(kind)s.") % {"kind": kind})
    if replace and not importer_class.supports_replace:
        raise ApplicationError(_("Files of %(kind)s cannot replace what is stored; import them without "
                                 "replacing.") % {"kind": kind})
    content = _read_all(fileobj)
    if len(content) > settings.IMPORT_MAX_UPLOAD_BYTES:
        raise UploadTooLarge(upload_too_large_message(len(content), settings.IMPORT_MAX_UPLOAD_BYTES))
    job = ImportJob(kind=kind, filename=filename[:255], content=content, created_by=user,
                    language=translation.get_language() or settings.LANGUAGE_CODE, replace=replace,
                    confirm_first=confirm_first, confirm_delete=confirm_delete)
    job.full_clean(exclude=["content"])  # an empty file is the import's to report
    job.save()
    transaction.on_commit(lambda: _queue(job.pk, job.attempts))
    return job


@transaction.atomic
def import_job_confirm(*, job_id: int, user, rows_to_delete: int | None = None) -> ImportJob:
    """Stores a previewed job (DOMAIN 6): queues it again to be imported for real. When the
    preview deletes more than 5 % of some branch-month's rows, ``rows_to_delete`` must repeat the
    number of rows the preview deletes, as a typed confirmation."""
    job = ImportJob.objects.restrict(user).select_for_update().get(pk=job_id)
    if job.status != Status.AWAITING:
        raise ApplicationError(_("This import is not awaiting confirmation."))
    if not importer_for(job.kind).may_import(user):
        raise PermissionDenied(_("You may not import %(kind)s.") % {"kind": job.kind})
    risky = import_job_needs_delete_confirmation(job)
    if risky and rows_to_delete != job.preview.get("deleted"):
        raise ApplicationError(_("The import would delete %(count)d rows, more than %(share)d %% of what some "
                                 "branch-month holds: type that number to confirm.") % {
            "count": job.preview.get("deleted", 0), "share": int(DELETE_CONFIRM_SHARE * 100)})
    job.status, job.confirm_delete = Status.CONFIRMED, risky
    job.save(update_fields=["status", "confirm_delete"])
    transaction.on_commit(lambda: _queue(job.pk, job.attempts))
    return job


@transaction.atomic
def import_job_cancel(*, job_id: int, user) -> ImportJob:
    """Drops a previewed job that the uploader does not want stored."""
    job = ImportJob.objects.restrict(user).select_for_update().get(pk=job_id)
    if job.status != Status.AWAITING:
        raise ApplicationError(_("This import is not awaiting confirmation."))
    job.status, job.content, job.finished_at = Status.FAILED, b"", timezone.now()
    job.result = {"message": _("Cancelled before storing; nothing was stored."), "error_count": 0}
    job.save(update_fields=["status", "content", "finished_at", "result"])
    return job


@transaction.atomic
def import_job_retry(*, job_id: int, user) -> ImportJob:
    """Queues a failed job again with the file it kept (a worker died, the broker or the database
    was away): a new attempt, so that a late message of the old one leaves it alone. The user
    must be one who may import the kind (HR)."""
    job = ImportJob.objects.restrict(user).select_for_update().filter(pk=job_id).first()
    if job is None:
        raise ApplicationError(_("There is no such import."))
    importer_class = importer_for(job.kind)
    if not importer_class.may_import(user):
        raise PermissionDenied(_("You may not import %(kind)s.") % {"kind": job.kind})
    if not import_job_retryable(job):
        raise ApplicationError(_("Only an import that failed without a verdict on its file can be retried; "
                                 "upload the file again."))
    job.attempts += 1
    job.status, job.stage, job.rows_done, job.rows_total = Status.QUEUED, "", 0, 0
    job.errors, job.result = [], {}
    job.started_at = job.finished_at = job.heartbeat_at = None
    job.save(update_fields=["attempts", "status", "stage", "rows_done", "rows_total", "errors", "result",
                            "started_at", "finished_at", "heartbeat_at"])
    transaction.on_commit(lambda: _queue(job.pk, job.attempts))
    return job


def import_job_retryable(job: ImportJob) -> bool:
    """A failed job whose file was kept (it was never judged) can be queued again."""
    return job.status == Status.FAILED and bool(job.result.get("retryable"))


def _queue(job_id: int, attempt: int) -> None:
    from clients.tasks import import_job_execute  # the task module imports this one

    try:
        task_publish(import_job_execute.si(job_id, attempt=attempt))
    except WorkerUnreachable as exc:
        # No worker will ever take it: failed now, with the file kept for a retry.
        ImportJob.objects.filter(pk=job_id, status__in=WAITING, attempts=attempt).update(
            **_failed(exc.message, retryable=True), finished_at=timezone.now())
        raise


def _read_all(fileobj) -> bytes:
    if hasattr(fileobj, "chunks"):
        fileobj.seek(0)
        return b"".join(fileobj.chunks())
    data = fileobj.read()
    return data.encode("utf-8") if isinstance(data, str) else data


HEARTBEAT_EVERY = 20
"""Seconds between two heartbeats of a running job."""
STALE_AFTER = dt.timedelta(minutes=2)
"""A running job without a heartbeat for this long lost its worker."""

ABANDONED_AFTER = dt.timedelta(minutes=75)
"""A job running this long has outlived its task's hard time limit (60 minutes): its worker died,
whatever its heartbeat says."""


def _stale_after() -> dt.timedelta:
    # On SQLite no other connection can write while the import's transaction holds the file's
    # write lock, heartbeats included: there only the task's time limit tells a dead worker.
    return STALE_AFTER if connection.vendor == "postgresql" else ABANDONED_AFTER


def import_job_claim(*, job_id: int, attempt: int | None = None, now: dt.datetime | None = None) -> bool:
    """Takes the job for this worker: a queued job, or a running one whose worker stopped beating
    (this is the same task delivered again after its worker died). ``attempt``, when given, must
    be the job's current one (``attempts`` counts the upload and each retry)."""
    now = now or timezone.now()
    stale = now - _stale_after()
    takeable = Q(status__in=WAITING) | Q(status=Status.RUNNING, heartbeat_at__lt=stale) | Q(
        status=Status.RUNNING, heartbeat_at__isnull=True, started_at__lt=stale)
    jobs = ImportJob.objects.filter(takeable, pk=job_id)
    if attempt is not None:
        jobs = jobs.filter(attempts=attempt)
    return bool(jobs.update(status=Status.RUNNING, started_at=now, heartbeat_at=now, stage=CHECKING,
                            rows_done=0, rows_total=0))


def import_job_run(*, job_id: int, may_retry: bool = False, attempt: int | None = None) -> ImportJob | None:
    """Imports the file of a queued job and records the outcome (DOMAIN 6). Idempotent: a job
    that another delivery of the task is running, or that has finished, is left alone and None is
    returned; a job left running by a dead worker is taken over (``import_job_claim``). A job
    uploaded from the page (``confirm_first``) is first run as a dry run whose figures wait for
    the uploader's confirmation; once confirmed it runs for real. A rejected file fails the job
    with its (row, column, reason) errors, at most ``MAX_ERRORS`` of them, and stores nothing. A
    transient database or broker error puts the job back in the queue and is raised again when
    ``may_retry``; any other error fails the job with a general message (the file kept for a
    retry) and is logged. Not atomic itself: the import is one transaction of its own, and the
    job row must show its state while that runs."""
    if not import_job_claim(job_id=job_id, attempt=attempt):
        return None
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    dry_run = _previewing(job)
    language = job.language or settings.LANGUAGE_CODE
    progress = ImportJobProgress(job_id)
    heartbeat = ImportJobHeartbeat(job_id)
    heartbeat.start()
    with translation.override(language):
        try:
            result = run_import(job.kind, io.BytesIO(bytes(job.content)), filename=job.filename,
                                user=job.created_by, progress=progress, replace=job.replace, dry_run=dry_run,
                                confirm_delete=job.confirm_delete, job=None if dry_run else job)
        except ImportRejected as exc:
            outcome = _failed(exc.message, errors=exc.errors, total=exc.total)
        except DeletionNotConfirmed as exc:
            outcome = _failed(exc.message)
            outcome["preview"] = _preview(exc.result)
        except (ApplicationError, PermissionDenied) as exc:
            outcome = _failed(getattr(exc, "message", None) or str(exc))
        except TRANSIENT_ERRORS:
            if may_retry:
                _release_broken_connection()
                ImportJob.objects.filter(pk=job_id, status=Status.RUNNING).update(
                    status=_waiting_status(job), started_at=None, heartbeat_at=None, stage="", rows_done=0,
                    rows_total=0)
                raise
            logger.exception("import job %s (%s, %s) failed", job_id, job.kind, job.filename)
            _release_broken_connection()
            outcome = _failed(_("The import stopped on a database or queue error; nothing was stored. "
                                "Retry it, or upload the file again."), retryable=True)
        except SoftTimeLimitExceeded:
            logger.error("import job %s (%s, %s) ran out of time", job_id, job.kind, job.filename)
            outcome = _failed(_("The import took too long and was stopped; nothing was stored."))
        except Exception:  # noqa: BLE001 - whatever broke, the job must not stay "running"
            logger.exception("import job %s (%s, %s) failed", job_id, job.kind, job.filename)
            outcome = _failed(_("The import stopped on an unexpected error, which has been logged "
                                "for the administrators."), retryable=True)
        else:
            if dry_run:
                outcome = {"status": Status.AWAITING, "stage": "", "rows_done": result.rows,
                           "rows_total": result.rows, "errors": [], "preview": _preview(result)}
                ImportJob.objects.filter(pk=job_id).update(**outcome)
                job.refresh_from_db()
                return job  # the file is kept for the run that stores it
            lines = result.lines()
            outcome = {
                "status": Status.SUCCEEDED, "stage": "", "rows_done": result.rows, "rows_total": result.rows,
                "errors": [],
                "result": {**{name: getattr(result, name) for name in RESULT_FIELDS},
                           "seconds": f"{result.seconds:.1f}", "message": " ".join(lines)},
            }
        finally:
            heartbeat.stop()
            progress.close()
    if not outcome["result"].get("retryable"):
        outcome["content"] = b""
    ImportJob.objects.filter(pk=job_id).update(**outcome, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def import_jobs_abandoned_fail(*, now: dt.datetime | None = None, stale_after: dt.timedelta | None = None) -> int:
    """Fails the running jobs whose heartbeat stopped ``stale_after`` ago, or that have outlived
    their task's hard time limit: the worker that ran them was killed. The import is one
    transaction, so nothing of their files was stored; the file is kept for a retry, and the job
    page stops showing a progress that will never move. Returns the number failed."""
    now = now or timezone.now()
    stale_after = stale_after or _stale_after()
    outcome = _failed(_("The import was interrupted (its worker stopped); nothing was stored. "
                        "Retry it, or upload the file again."), retryable=True)
    stale = (Q(heartbeat_at__lt=now - stale_after) | Q(heartbeat_at__isnull=True, started_at__lt=now - stale_after)
             | Q(started_at__lt=now - ABANDONED_AFTER))
    return ImportJob.objects.filter(stale, status=Status.RUNNING).update(**outcome, finished_at=now)


def _previewing(job: ImportJob) -> bool:
    """Whether the job's next run is the dry run of a page upload (not yet previewed)."""
    return job.confirm_first and not job.preview


def _waiting_status(job: ImportJob) -> str:
    """The status a job waits in for a worker: confirmed once its preview was accepted."""
    return Status.CONFIRMED if job.confirm_first and job.preview else Status.QUEUED


def _preview(result: ImportResult) -> dict:
    return {"rows": result.rows, "created": result.created, "updated": result.updated,
            "unchanged": result.unchanged, "deleted": result.deleted, "groups": result.groups,
            "risky_groups": result.risky_groups, "replace": result.replace}


def _failed(message: str, *, errors=(), total: int = 0, retryable: bool = False) -> dict:
    listed = [{"row": error.row, "column": error.column, "reason": error.reason}
              for error in list(errors)[:MAX_ERRORS]]
    result = {"message": str(message), "error_count": max(total, len(listed))}
    if retryable:
        result["retryable"] = True
    return {"status": Status.FAILED, "stage": "", "errors": listed, "result": result}


def _release_broken_connection() -> None:
    # The error may have cost the database connection: the job is recorded on a fresh one.
    if connection.connection is not None and not connection.in_atomic_block and not connection.is_usable():
        connection.close()


class ImportJobProgress:
    """The ``progress`` callback of a job's import: writes stage and row counts to the job row.

    ``run_import`` calls it from inside the import's transaction. An UPDATE through the default
    connection would join that transaction: the page polling the job would see nothing until the
    commit, and a rejected file would roll the progress back with the rows. So inside a
    transaction the row is written through a second connection of its own, in autocommit, which
    each poll sees at once. It touches only the job row, which the import never locks; a lock
    timeout keeps a surprise from stalling the import. On SQLite a second writer would wait for
    the import's write lock, so there progress is written only outside transactions.

    Writes come once per chunk of rows (``PROGRESS_EVERY``) and at most every ``MIN_INTERVAL``
    seconds within a stage; a new stage is always written. Progress is a courtesy: a failed
    write is logged and the import goes on."""

    MIN_INTERVAL = 0.5

    def __init__(self, job_id: int):
        self.job_id = job_id
        self._stage: str | None = None
        self._written = 0.0
        self._side = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage == self._stage and now - self._written < self.MIN_INTERVAL:
            return
        self._stage, self._written = stage, now
        values = {"stage": stage, "rows_done": done, "rows_total": max(total, done), "heartbeat_at": timezone.now()}
        if not connection.in_atomic_block:
            ImportJob.objects.filter(pk=self.job_id, status=Status.RUNNING).update(**values)
        elif connection.vendor == "postgresql":
            self._write_aside(values)

    def _write_aside(self, values: dict) -> None:
        quote = connection.ops.quote_name
        columns = ", ".join(f"{quote(ImportJob._meta.get_field(name).column)} = %s" for name in values)
        sql = (f"UPDATE {quote(ImportJob._meta.db_table)} SET {columns} "
               f"WHERE {quote(ImportJob._meta.pk.column)} = %s AND {quote(ImportJob._meta.get_field('status').column)} = %s")
        try:
            if self._side is None:
                self._side = connections.create_connection(DEFAULT_DB_ALIAS)
                with self._side.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '2s'")
            with self._side.cursor() as cursor:
                cursor.execute(sql, [*values.values(), self.job_id, Status.RUNNING.value])
        except DatabaseError:
            logger.warning("progress of import job %s not written", self.job_id, exc_info=True)

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None



class ImportJobHeartbeat:
    """A thread that writes the job's ``heartbeat_at`` every ``HEARTBEAT_EVERY`` seconds while
    the import runs. A thread's queries go through a database connection of its own, outside the
    import's transaction, so each beat is visible at once; a worker that dies stops beating, and
    the sweep sees it. A failed beat is logged and the next one tried."""

    def __init__(self, job_id: int, every: float | None = None):
        self.job_id = job_id
        self.every = HEARTBEAT_EVERY if every is None else every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"import-job-{job_id}-heartbeat", daemon=True)

    def start(self) -> None:
        if connection.vendor == "postgresql":  # on SQLite it would only wait for the import's lock
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.every + 5)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    ImportJob.objects.filter(pk=self.job_id, status=Status.RUNNING).update(
                        heartbeat_at=timezone.now())
                except DatabaseError:
                    logger.warning("heartbeat of import job %s not written", self.job_id, exc_info=True)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection
