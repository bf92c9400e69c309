"""A Redis cache that fails open: when Redis cannot be reached, reads miss, writes are dropped and
the pages and the API keep answering (the dashboards compute their figures, the API throttle lets
requests through). The outage is logged, at most once per ``WARN_EVERY`` seconds per process.
"""
from __future__ import annotations

import functools
import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
WARN_EVERY = 60.0


class _Warning:
    """Remembers when the outage was last logged, so that a down Redis logs once a minute, not
    once a request."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last = float("-inf")

    def log(self, operation: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < WARN_EVERY:
                return
            self._last = now
        logger.warning("the cache (Redis) is unreachable; %s answered without it: %s", operation, exc)


_warning = _Warning()


def _fail_open(default):
    """Wraps a cache operation: an unreachable Redis returns ``default(args, kwargs)``."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as exc:
                _warning.log(method.__name__, exc)
                return default(args, kwargs)

        return wrapper

    return decorate


def _default_of_get(args, kwargs):
    return kwargs.get("default", args[1] if len(args) > 1 else None)


def _missing_key(args, kwargs):
    # incr/decr of a key that cannot be read: as if it were missing.
    raise ValueError("Key '%s' not found" % (args[0] if args else kwargs.get("key")))


class FailOpenRedisCache(RedisCache):
    """``RedisCache`` whose every operation survives an unreachable Redis (see the module)."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        # Short timeouts: a down Redis must cost a request milliseconds, not the OS's default.
        options.setdefault("socket_connect_timeout", 1)
        options.setdefault("socket_timeout", 1)
        options.setdefault("retry_on_timeout", False)
        options.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(server, {**params, "OPTIONS": options})

    get = _fail_open(_default_of_get)(RedisCache.get)
    add = _fail_open(lambda a, k: False)(RedisCache.add)
    set = _fail_open(lambda a, k: None)(RedisCache.set)
    touch = _fail_open(lambda a, k: False)(RedisCache.touch)
    delete = _fail_open(lambda a, k: False)(RedisCache.delete)
    get_many = _fail_open(lambda a, k: {})(RedisCache.get_many)
    set_many = _fail_open(lambda a, k: [])(RedisCache.set_many)
    delete_many = _fail_open(lambda a, k: None)(RedisCache.delete_many)
    has_key = _fail_open(lambda a, k: False)(RedisCache.has_key)
    incr = _fail_open(_missing_key)(RedisCache.incr)
    decr = _fail_open(_missing_key)(RedisCache.decr)
    clear = _fail_open(lambda a, k: False)(RedisCache.clear)
    get_or_set = _fail_open(lambda a, k: None)(RedisCache.get_or_set)
