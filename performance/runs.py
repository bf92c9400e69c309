"""Bookkeeping of scheduled runs (ScheduledRun): the services the scheduled tasks call to record
a run's start, each branch's outcome and the end, and the one HR calls to start a job by hand.

A run is fanned out per branch; several workers report on the same run at once, so every update
takes the run's row lock and is idempotent (a branch reported twice is listed once).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from performance.models import ScheduledRun, Scheme
from performance.periods import MONTH, Period
from rmportal import scoping
from rmportal.celery import task_publish
from rmportal.dashboard_cache import dashboard_data_changed
from rmportal.errors import ApplicationError

ERROR_TEXT_LIMIT = 500
"""A failure is kept as its error's type and message, cut to this length."""


def scheduled_run_start(*, kind: str, key: str, branch_codes: Iterable[str],
                        triggered_by_id: int | None = None) -> ScheduledRun:
    """Records that a job for ``key`` (a period or a month) starts over ``branch_codes``."""
    return ScheduledRun.objects.create(kind=kind, key=key, branches_total=len(list(branch_codes)),
                                       triggered_by_id=triggered_by_id)


@transaction.atomic
def scheduled_run_resume(*, run_id: int, branch_codes: Iterable[str]) -> ScheduledRun:
    """Runs a finished run of the same key again over ``branch_codes``: the branches it has
    done stay done, its failures are tried again."""
    run = _locked(run_id)
    run.status, run.finished_at, run.failures = ScheduledRun.Status.RUNNING, None, {}
    run.branches_total = len(set(branch_codes) | set(run.branches_done))
    run.save(update_fields=["status", "finished_at", "failures", "branches_total"])
    return run


def _locked(run_id: int) -> ScheduledRun:
    return ScheduledRun.objects.select_for_update().get(pk=run_id)


@transaction.atomic
def scheduled_run_branch_done(*, run_id: int, branch_code: str) -> None:
    """A branch finished; an earlier failure of it (a retry that then succeeded) is cleared."""
    run = _locked(run_id)
    if branch_code not in run.branches_done:
        run.branches_done = sorted([*run.branches_done, branch_code])
    run.failures.pop(branch_code, None)
    run.save(update_fields=["branches_done", "failures"])


@transaction.atomic
def scheduled_run_branch_failed(*, run_id: int, branch_code: str, error: BaseException | str) -> None:
    """A branch failed for good (its retries are used up, or the error is not transient)."""
    run = _locked(run_id)
    if branch_code in run.branches_done:  # a duplicate delivery after the branch succeeded
        return
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    run.failures = {**run.failures, branch_code: text[:ERROR_TEXT_LIMIT]}
    run.save(update_fields=["failures"])


@transaction.atomic
def scheduled_run_finish(*, run_id: int) -> ScheduledRun:
    """The final step: the run is finished, succeeded when no branch failed, failed when none
    succeeded (and there was at least one), partly failed otherwise."""
    run = _locked(run_id)
    if run.failures and not run.branches_done:
        run.status = ScheduledRun.Status.FAILED
    elif run.failures:
        run.status = ScheduledRun.Status.PARTIAL
    else:
        run.status = ScheduledRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    dashboard_data_changed()  # appraisals, retention-risk scores
    return run


def scheduled_runs(user):
    """The runs the user may see: HR only (ScheduledRun is bank-wide), newest first."""
    return ScheduledRun.objects.restrict(user).select_related("triggered_by").order_by("-started_at", "-id")


CLOCK_SLACK = dt.timedelta(seconds=5)
"""The web server queues a job by its clock, the worker records the run by its own."""


def scheduled_run_since(user, *, kind: str, key: str, since: dt.datetime) -> ScheduledRun | None:
    """The run of a job queued at ``since``: the first run of ``kind`` and ``key`` the user may
    see that started then or later; None while no worker has started it."""
    return (ScheduledRun.objects.restrict(user).filter(kind=kind, key=key, started_at__gte=since - CLOCK_SLACK)
            .order_by("started_at", "id").first())


# What HR may start by hand, and what the key means for it.
JOB_KINDS = (ScheduledRun.Kind.APPRAISALS, ScheduledRun.Kind.RETENTION, ScheduledRun.Kind.REMINDERS)


def scheduled_job_request(*, kind: str, key: str, by, branch_code: str | None = None) -> str:
    """Queues a job on behalf of ``by`` once the current transaction commits: the appraisals of a
    period (YYYY-MM, YYYY-Qn, YYYY), of every branch with an active scheme or of ``branch_code``
    alone (DOMAIN 3.3), the retention-risk scores of a month (YYYY-MM), or today's reminders (no
    key). Only HR may (ScheduledRun's ``trigger`` action). Returns the key used. An unreachable
    broker raises WorkerUnreachable (an ApplicationError) when the transaction commits."""
    if not scoping.may(by, "trigger", ScheduledRun):
        raise ApplicationError(_("Only HR may start a scheduled job."))
    key = (key or "").strip()
    if branch_code and kind != ScheduledRun.Kind.APPRAISALS:
        raise ApplicationError(_("Only appraisals are computed for one branch."))
    if kind == ScheduledRun.Kind.APPRAISALS:
        key = Period.parse(key).key
        if branch_code and not Scheme.objects.filter(is_active=True, branch__code=branch_code).exists():
            raise ApplicationError(_("Branch %(code)s has no active scheme.") % {"code": branch_code})
    elif kind == ScheduledRun.Kind.RETENTION:
        period = Period.parse(key)
        if period.kind != MONTH:
            raise ApplicationError(_("Retention-risk scores are monthly: give the month as YYYY-MM."))
        key = period.key
    elif kind == ScheduledRun.Kind.REMINDERS:
        key = timezone.localdate().isoformat()
    else:
        raise ApplicationError(_("“%(kind)s” is not a job.") % {"kind": kind})

    # Imported here: the tasks import this module.
    from careers.tasks import reminders_daily, retention_start
    from performance.tasks import appraisals_start

    signature = {
        ScheduledRun.Kind.APPRAISALS: appraisals_start.si(period=key, triggered_by=by.pk, branch_code=branch_code),
        ScheduledRun.Kind.RETENTION: retention_start.si(month=key, triggered_by=by.pk),
        ScheduledRun.Kind.REMINDERS: reminders_daily.si(day=key, triggered_by=by.pk),
    }[kind]
    # Published once, without retries: an unreachable broker answers WorkerUnreachable at once.
    transaction.on_commit(lambda: task_publish(signature))
    return key
