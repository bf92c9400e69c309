"""The Celery application, configured from Django settings (CELERY_* names), and what every
scheduled task shares: the errors worth a retry and the lock that keeps one job key to one worker.
"""
import contextlib
import hashlib
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmportal.settings.base")

app = Celery("rmportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
