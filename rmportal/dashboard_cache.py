"""The dashboards' expensive figures, computed once and kept until the data behind them changes.

``dashboard_cached(section, key_parts, compute)`` keeps what ``compute()`` returns in Django's
cache (settings ``CACHES``: Redis when ``REDIS_URL`` is set, else files under var/, so that every
worker process shares it) under a key made of the section, a hash of ``key_parts`` and the global
data generation. The jobs that change the data (imports, contribution recomputes, scheduled runs,
appraisal approvals, the career and client services) call ``dashboard_data_changed()``, which moves
the generation on: every figure computed before is never read again and expires by itself.
``DASHBOARD_CACHE_SECONDS`` (6 hours by default) is the backstop for changes made elsewhere (the
admin, the shell); 0 turns the cache off.

``key_parts`` must hold everything the figures depend on besides the data: the user's effective
scope (the SQL of the restricted querysets, the role), the filters, the day, the language of the
labels. Never the user's id alone, and nothing that lets one scope read another's figures. What is
kept must pickle (dataclasses of Decimals, dates, ints and strings, model instances); anything that
depends on the role beyond the scope (e.g. names shown to some roles only) is decided after reading.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

GENERATION_KEY = "dashboard:generation"
DEFAULT_SECONDS = 6 * 60 * 60

T = TypeVar("T")


@dataclass(frozen=True)
class Cached(Generic[T]):
    value: T
    computed_at: dt.datetime


def _seconds() -> int:
    return int(getattr(settings, "DASHBOARD_CACHE_SECONDS", DEFAULT_SECONDS))


def data_generation() -> int:
    """The current data generation. A missing one (first use, or evicted) starts from the clock,
    so that it never meets a generation counted before."""
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
        generation = cache.get(GENERATION_KEY)
    return generation


def _bump() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no generation yet: any new one differs from the ones before
        cache.set(GENERATION_KEY, time.time_ns(), timeout=None)
    except Exception:  # noqa: BLE001 - a cache outage must not undo the job; the TTL still ends old figures
        logger.exception("the dashboards' data generation could not be moved on")


def dashboard_data_changed() -> None:
    """Every cached dashboard figure is out of date. Inside a transaction the generation moves on
    now (so that the transaction itself reads fresh figures) and again once it has committed (so
    that nothing computed from the data before the commit is read afterwards)."""
    _bump()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_bump)


def queryset_key(queryset: models.QuerySet) -> str:
    """A queryset as a key part: its SQL, or a mark of its model when it can match nothing (Django
    then builds no SQL at all)."""
    try:
        return str(queryset.query)
    except EmptyResultSet:
        return f"{queryset.model._meta.label}:none"


def _part(value) -> str:
    if isinstance(value, models.QuerySet):
        return queryset_key(value)
    if isinstance(value, models.Model):
        return f"{value._meta.label}:{value.pk}"
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(_part(v) for v in value) + ")"
    if value is None or isinstance(value, (str, int, dt.date, bool)):
        return repr(value)
    raise TypeError(f"a dashboard cache key part must be plain data, not {type(value).__name__}")


def _digest(key_parts: Iterable) -> str:
    return hashlib.sha256("|".join(_part(p) for p in key_parts).encode()).hexdigest()


def dashboard_cached(section: str, key_parts: Iterable, compute: Callable[[], T]) -> Cached[T]:
    """``compute()``'s value for ``section`` and ``key_parts`` in the current data generation,
    computed now when not kept yet, with the time it was computed. A cache that cannot be reached
    only costs the computation."""
    seconds = _seconds()
    if seconds <= 0:
        return Cached(compute(), timezone.now())
    digest = _digest(key_parts)
    try:
        key = f"dashboard:{section}:{data_generation()}:{digest}"
        kept = cache.get(key)
    except Exception:  # noqa: BLE001 - the figures can always be computed
        logger.exception("the dashboard cache could not be read")
        return Cached(compute(), timezone.now())
    if kept is not None:
        computed_at, value = kept
        return Cached(value, computed_at)
    computed_at = timezone.now()
    value = compute()
    try:
        cache.set(key, (computed_at, value), timeout=seconds)
    except Exception:  # noqa: BLE001 - an unpicklable value or a cache outage: served uncached
        logger.exception("the dashboard figures of %s could not be kept", section)
    return Cached(value, computed_at)
