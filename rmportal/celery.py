"""The Celery application, configured from Django settings (CELERY_* names), and what every
scheduled task shares: the errors worth a retry and the lock that keeps one job key to one worker.
"""
import contextlib
import hashlib
import logging
import os

from celery import Celery

from rmportal.errors import ApplicationError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmportal.settings.base")

app = Celery("rmportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


def _transient_errors() -> tuple[type[BaseException], ...]:
    from django.db import InterfaceError, OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError


TRANSIENT_ERRORS = _transient_errors()
"""Errors that pass by themselves (a dropped database or broker connection, a deadlock, a
serialisation failure): tasks retry them with exponential backoff instead of failing."""


def _lock_id(key: str) -> int:
    """A stable signed 64-bit number for ``key`` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


@contextlib.contextmanager
def job_lock(key: str):
    """Hold the PostgreSQL advisory lock named ``key`` (e.g. ``appraisals:2026-03:B01``) while the
    block runs; a second holder of the same key waits until the first is done, then finds its
    work already stored and recomputes it in place. The lock belongs to the session, so it spans
    the block's own transactions. Elsewhere (SQLite: one writer anyway) it is a no-op."""
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql":
        yield
        return
    lock_id = _lock_id(key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])
        except DatabaseError:
            # Closing the session releases its locks: a lock left behind on a reused connection
            # would hold every other worker back.
            connection.close()


def _publish_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return BrokerError, RedisConnectionError, RedisTimeoutError, OSError


PUBLISH_ERRORS = _publish_errors()
"""What an unreachable broker raises on publish."""


class WorkerUnreachable(ApplicationError):
    """The broker did not take the task: nothing was started."""

    def __init__(self):
        from django.utils.translation import gettext as _

        super().__init__(_("The background worker is unreachable: nothing was started. "
                           "Try again in a few minutes; if it persists, tell the administrators."))


def task_publish(signature, *, queue: str | None = None):
    """Sends ``signature`` to the broker now, once, without waiting for a result: a broker that
    does not answer costs the request about two seconds (the connect timeout) and raises
    WorkerUnreachable, instead of publish retries that would keep the page waiting."""
    options = {"retry": False, "ignore_result": True}
    if queue:
        options["queue"] = queue
    try:
        return signature.apply_async(**options)
    except PUBLISH_ERRORS as exc:
        logger.warning("the broker did not take %s: %s", signature.task, exc)
        raise WorkerUnreachable() from exc
