"""Background work on the organisation and client data: imports of uploaded files (DOMAIN 6).

Tasks are thin: an id in, a service call (rmportal.import_jobs), idempotent by the job's status.
"""
from __future__ import annotations

from celery import shared_task

from rmportal.celery import TRANSIENT_ERRORS
from rmportal.import_jobs import import_job_run, import_jobs_abandoned_fail


@shared_task(bind=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=5, retry_backoff_max=300, retry_jitter=True,
             max_retries=3, soft_time_limit=55 * 60, time_limit=60 * 60)
def import_job_execute(self, job_id: int, attempt: int | None = None) -> str:
    """Imports the file of job ``job_id`` (its ``attempt``): a job another delivery is running, or
    that has finished, is skipped; one whose worker died is taken over. A transient error puts
    the job back in the queue for the retry, until the retries run out."""
    job = import_job_run(job_id=job_id, attempt=attempt, may_retry=self.request.retries < self.max_retries)
    return job.status if job is not None else "skipped"


@shared_task(soft_time_limit=50, time_limit=55)
def import_jobs_sweep() -> int:
    """The beat entry of every minute: fails the import jobs whose worker died while running them."""
    return import_jobs_abandoned_fail()


@shared_task(soft_time_limit=5 * 60, time_limit=6 * 60)
def form_submissions_forget_task() -> int:
    """The nightly beat entry: forgets the spent form tokens older than a week."""
    from rmportal.form_tokens import form_submissions_forget

    return form_submissions_forget()
