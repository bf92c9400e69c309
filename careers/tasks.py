"""Scheduled work on careers: the monthly retention-risk scoring (DOMAIN 5), fanned out per
branch like the appraisals (performance.tasks), and the daily reminders (DOMAIN 4).

Thin tasks: keys in, a service of careers.risk or careers.notices, the outcome recorded.
"""
from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from careers.attrition import dashboard_warm
from careers.notices import reminders_send, risk_alert_notices_send
from careers.risk import risk_scores_compute
from clients.models import Branch, Role
from performance.models import ScheduledRun
from performance.periods import MONTH, Period
from performance.tasks import BRANCH_TASK, STEP_TASK, branch_step, fan_out
from rmportal.celery import TRANSIENT_ERRORS


def retention_branch_codes() -> list[str]:
    """The branches with RMs: the ones a scoring run covers."""
    return list(Branch.objects.filter(employees__role=Role.RM).distinct().order_by("code")
                .values_list("code", flat=True))


@shared_task(**STEP_TASK)
def retention_start(month: str, triggered_by: int | None = None, then: dict | None = None) -> int:
    """Fans the retention-risk scoring of ``month`` (YYYY-MM) out over the branches."""
    period = Period.parse(month)
    if period.kind != MONTH:
        raise ValueError(f"{month} is not a month (YYYY-MM)")
    return fan_out(kind=ScheduledRun.Kind.RETENTION, key=period.key, branch_task=retention_branch,
                   branch_codes=retention_branch_codes(), triggered_by=triggered_by, then=then)


@shared_task(bind=True, **BRANCH_TASK)
def retention_branch(self, run_id: int, month: str, branch_code: str) -> dict:
    """Scores one branch's RMs for ``month`` and e-mails the alerts it opened. Idempotent by the
    unique score per RM and month, the one open alert per RM and the lock on branch and month."""

    def work():
        result = risk_scores_compute(month=month, branch_code=branch_code)
        # Every alert of the branch not mailed yet, not only this run's: a run that died after
        # opening alerts has left them for this one.
        sent = risk_alert_notices_send(branch_code=branch_code)
        return {"scored": result.scored, "alerts": len(result.alert_ids), "mailed": sent}

    return branch_step(self, run_id=run_id, branch_code=branch_code, lock=f"retention:{month}:{branch_code}",
                       work=work)


@shared_task(**STEP_TASK)
def attrition_warm() -> int:
    """The last step of the monthly run: HR's attrition dashboard of the month just closed is
    computed and kept (rmportal.dashboard_cache), so that HR's first visit does not wait for it."""
    return dashboard_warm()


@shared_task(autoretry_for=TRANSIENT_ERRORS, retry_backoff=30, retry_backoff_max=900, max_retries=5,
             soft_time_limit=15 * 60, time_limit=20 * 60)
def reminders_daily(day: str | None = None, triggered_by: int | None = None) -> str | None:
    """The beat entry of every morning: overdue career interviews and expiring certificates to
    the branch managers and HR, once a day."""
    run = reminders_send(day=dt.date.fromisoformat(day) if day else timezone.localdate(),
                         triggered_by_id=triggered_by)
    return run.status if run else None
