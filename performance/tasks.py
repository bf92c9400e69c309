"""Scheduled and queued work on appraisals (DOMAIN 3.3), and the fan-out every monthly job uses.

The monthly run (beat, on the 1st) computes last month's appraisals, the quarter's or the year's
when one has just ended, then last month's retention-risk scores. Each stage is one ScheduledRun
fanned out as a chord: one task per branch, so several workers share it, and a final step that
records the outcome. The stages run one after the other: a stage's final step starts the next.

Tasks are thin: ids and keys in, a service call, the outcome recorded. Each is idempotent (the
unique keys of what it writes, plus a lock per job, branch and period), retries transient errors
with exponential backoff, and a branch that still fails is reported in its run while the other
branches complete.
"""
from __future__ import annotations

import datetime as dt
import logging

from celery import chord, shared_task, signature
from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from performance.appraisals import appraisal_lock_key, appraisal_run, appraisals_refresh_for_months
from performance.models import ScheduledRun, Scheme
from performance.periods import Period
from performance.runs import (scheduled_run_branch_done, scheduled_run_branch_failed, scheduled_run_finish,
                              scheduled_run_start)
from rmportal.celery import TRANSIENT_ERRORS, WorkerUnreachable, job_lock, task_publish

logger = logging.getLogger(__name__)

BRANCH_TASK = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,  # about 5, 10, 20, 40 seconds, with jitter
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 4,
    "soft_time_limit": 20 * 60,
    "time_limit": 25 * 60,
}
"""Options of the per-branch tasks."""

STEP_TASK = {**BRANCH_TASK, "soft_time_limit": 5 * 60, "time_limit": 6 * 60}
"""Options of the short steps: starting a stage, finishing it, the monthly entry."""


def previous_month(today: dt.date | None = None) -> Period:
    """The month before ``today`` in the bank's time zone."""
    today = today or timezone.localdate()
    return Period.for_month(today.replace(day=1) - dt.timedelta(days=1))


def periods_ending_with(month: Period) -> list[Period]:
    """The month, and the quarter and the year it closes, in that order."""
    periods = [month]
    if month.first_month % 3 == 0:
        periods.append(Period.parse(f"{month.year}-Q{month.first_month // 3}"))
    if month.first_month == 12:
        periods.append(Period.parse(str(month.year)))
    return periods


# --- the fan-out shared by every monthly stage ------------------------------------------------

def fan_out(*, kind: str, key: str, branch_task, branch_codes: list[str], triggered_by: int | None = None,
            then: dict | None = None) -> int:
    """Records a run and queues one ``branch_task(run_id, key, branch_code)`` per branch, then
    ``run_finish`` once all have returned; ``then`` (a signature) follows the finish."""
    run = scheduled_run_start(kind=kind, key=key, branch_codes=branch_codes, triggered_by_id=triggered_by)
    finish = run_finish.s(run_id=run.pk, then=then)
    try:
        if branch_codes:
            chord([branch_task.si(run.pk, key, code) for code in branch_codes])(finish)
        else:
            finish.delay([])
    except Exception as exc:
        # Nothing was queued (the broker is away): this run ends here, the retry records another.
        scheduled_run_branch_failed(run_id=run.pk, branch_code="*", error=exc)
        scheduled_run_finish(run_id=run.pk)
        raise
    return run.pk


def branch_step(task, *, run_id: int, branch_code: str, lock: str, work) -> dict:
    """Runs ``work()`` for one branch under ``lock`` and reports the outcome to the run.

    A transient error raises so that ``autoretry_for`` retries it with backoff; on the last
    attempt it is reported instead, like any other error (bad data, a time limit), and the task
    returns normally so that the run's final step still comes."""
    last_attempt = task.request.retries >= task.max_retries
    try:
        with job_lock(lock):
            outcome = work()
    except TRANSIENT_ERRORS as exc:
        if not last_attempt:
            raise
        error = exc
        # The error may have cost the database connection: report on a fresh one.
        if connection.connection is not None and not connection.in_atomic_block and not connection.is_usable():
            connection.close()
    except SoftTimeLimitExceeded as exc:
        error = exc
    except Exception as exc:  # noqa: BLE001 - any error of one branch must not stop the others
        logger.exception("%s failed for branch %s", task.name, branch_code)
        error = exc
    else:
        scheduled_run_branch_done(run_id=run_id, branch_code=branch_code)
        return {"branch": branch_code, "ok": True, **(outcome or {})}
    scheduled_run_branch_failed(run_id=run_id, branch_code=branch_code, error=error)
    return {"branch": branch_code, "ok": False, "error": f"{type(error).__name__}: {error}"}


@shared_task(**STEP_TASK)
def run_finish(results=None, *, run_id: int, then: dict | None = None) -> str:
    """The final step of a run: records its outcome, then starts what follows it."""
    run = scheduled_run_finish(run_id=run_id)
    if then:
        signature(then).delay()
    return run.status


# --- appraisals -------------------------------------------------------------------------------

def appraisal_branch_codes() -> list[str]:
    """The branches with an active scheme: the ones an appraisal run covers."""
    return list(Scheme.objects.filter(is_active=True, branch__isnull=False)
                .order_by("branch__code").values_list("branch__code", flat=True))


@shared_task(**STEP_TASK)
def monthly_run(month: str | None = None, triggered_by: int | None = None) -> list[str]:
    """The beat entry of the 1st: last month (or ``month``) and the periods it closes, then the
    retention-risk scores of that month, then HR's attrition dashboard computed ahead."""
    from careers.tasks import attrition_warm, retention_start

    month_period = Period.parse(month) if month else previous_month()
    periods = periods_ending_with(month_period)
    step = retention_start.si(month=month_period.key, triggered_by=triggered_by, then=attrition_warm.si())
    for period in reversed(periods):
        step = appraisals_start.si(period=period.key, triggered_by=triggered_by, then=step)
    step.delay()
    return [p.key for p in periods]


@shared_task(**STEP_TASK)
def appraisals_start(period: str, triggered_by: int | None = None, then: dict | None = None,
                     branch_code: str | None = None) -> int:
    """Fans the appraisals of ``period`` out over the branches with an active scheme, or runs
    them for ``branch_code`` alone (HR's request for one branch)."""
    key = Period.parse(period).key
    branch_codes = [branch_code] if branch_code else appraisal_branch_codes()
    return fan_out(kind=ScheduledRun.Kind.APPRAISALS, key=key, branch_task=appraisals_branch,
                   branch_codes=branch_codes, triggered_by=triggered_by, then=then)


@shared_task(bind=True, **BRANCH_TASK)
def appraisals_branch(self, run_id: int, period: str, branch_code: str) -> dict:
    """Computes (or recomputes) one branch's appraisals of ``period``: idempotent by the unique
    appraisal per RM, scheme and period, and by the lock on branch and period."""

    def work():
        result = appraisal_run(period=period, branch_code=branch_code)
        return {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
                "frozen": result.frozen}

    return branch_step(self, run_id=run_id, branch_code=branch_code,
                       lock=appraisal_lock_key(Period.parse(period), branch_code), work=work)


@shared_task(autoretry_for=(*TRANSIENT_ERRORS, IntegrityError), retry_backoff=5, retry_backoff_max=300,
             max_retries=5, soft_time_limit=30 * 60, time_limit=35 * 60)
def appraisals_refresh(months: list[str]) -> list[str]:
    """Late business data (DOMAIN 3.3): recomputes the open appraisals of the periods these
    months (``YYYY-MM-DD`` first days) belong to. A run of the same period at the same moment
    may store the rows first (IntegrityError): the retry then recomputes them in place."""
    results = appraisals_refresh_for_months(months=[dt.date.fromisoformat(m) for m in months])
    return [r.period for r in results]


def late_data_recompute_queue(months) -> None:
    """Queues ``appraisals_refresh`` once the transaction that changed the data has committed."""
    keys = sorted({m.isoformat() for m in months})
    if keys:
        transaction.on_commit(lambda: _refresh_publish(keys))


def _refresh_publish(keys: list[str]) -> None:
    # The data is stored already: an unreachable broker must not turn its request into an error.
    # The appraisals stay as they were until the next run or the next change of the same months.
    try:
        task_publish(appraisals_refresh.si(keys))
    except WorkerUnreachable:
        logger.warning("appraisals of the months %s were not queued for recomputing: the broker is unreachable",
                       ", ".join(keys))
