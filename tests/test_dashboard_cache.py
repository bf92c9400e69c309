"""The dashboard cache (rmportal/dashboard_cache.py): figures kept per section and key, dropped
when the data changes (at once and again after the commit), a time limit as the backstop, plain
key parts only, and a cache outage that costs only the computation."""
import datetime as dt

import pytest
from django.core.cache import cache
from django.db import transaction

from rmportal import dashboard_cache
from rmportal.dashboard_cache import GENERATION_KEY, dashboard_cached, dashboard_data_changed


class Computation:
    """A compute function that counts its calls and returns the call number."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return {"call": self.calls, "day": dt.date(2026, 3, 31)}


def test_a_section_is_computed_once_then_read_from_the_cache():
    compute = Computation()
    first = dashboard_cached("test:section", ("hr", "scope-sql", dt.date(2026, 3, 1)), compute)
    second = dashboard_cached("test:section", ("hr", "scope-sql", dt.date(2026, 3, 1)), compute)
    assert compute.calls == 1
    assert second.value == first.value == {"call": 1, "day": dt.date(2026, 3, 31)}
    assert second.computed_at == first.computed_at


def test_other_key_parts_or_another_section_never_read_the_figures_kept():
    compute = Computation()
    dashboard_cached("test:section", ("branch_manager", "branch_id = 1"), compute)
    assert dashboard_cached("test:section", ("branch_manager", "branch_id = 2"), compute).value["call"] == 2
    assert dashboard_cached("test:other", ("branch_manager", "branch_id = 1"), compute).value["call"] == 3
    assert dashboard_cached("test:section", ("branch_manager", "branch_id = 1"), compute).value["call"] == 1


def test_a_data_change_makes_the_next_read_compute_again():
    compute = Computation()
    dashboard_cached("test:section", ("k",), compute)
    dashboard_data_changed()  # outside any transaction: the generation moves on at once
    assert dashboard_cached("test:section", ("k",), compute).value["call"] == 2
    assert dashboard_cached("test:section", ("k",), compute).value["call"] == 2


@pytest.mark.django_db
def test_inside_a_transaction_the_figures_are_dropped_now_and_again_after_the_commit(
        django_capture_on_commit_callbacks):
    compute = Computation()
    dashboard_cached("test:section", ("k",), compute)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            dashboard_data_changed()
            # Read before the commit, e.g. by another request: computed from the data before it.
            assert dashboard_cached("test:section", ("k",), compute).value["call"] == 2
            assert dashboard_cached("test:section", ("k",), compute).value["call"] == 2
    assert dashboard_cached("test:section", ("k",), compute).value["call"] == 3


def test_a_lost_generation_never_brings_back_figures_of_an_older_one():
    compute = Computation()
    dashboard_cached("test:section", ("k",), compute)
    cache.delete(GENERATION_KEY)  # evicted, or the cache restarted while the figures stayed
    assert dashboard_cached("test:section", ("k",), compute).value["call"] == 2


def test_figures_are_kept_for_dashboard_cache_seconds_at_most(settings, monkeypatch):
    settings.DASHBOARD_CACHE_SECONDS = 120
    timeouts = []
    original = cache.set

    def recording_set(key, value, timeout=None, **kwargs):
        if key.startswith("dashboard:test:"):
            timeouts.append(timeout)
        return original(key, value, timeout, **kwargs)

    monkeypatch.setattr(cache, "set", recording_set)
    dashboard_cached("test:section", ("k",), Computation())
    assert timeouts == [120]


def test_zero_seconds_turns_the_cache_off(settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    compute = Computation()
    dashboard_cached("test:section", ("k",), compute)
    assert dashboard_cached("test:section", ("k",), compute).value["call"] == 2


def test_key_parts_must_be_plain_data():
    with pytest.raises(TypeError):
        dashboard_cached("test:section", (object(),), Computation())


def test_an_unreachable_cache_costs_only_the_computation(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("cache down")

    for name in ("get", "set", "add", "incr"):
        monkeypatch.setattr(dashboard_cache.cache, name, refuse)
    compute = Computation()
    assert dashboard_cached("test:section", ("k",), compute).value["call"] == 1
    assert dashboard_cached("test:section", ("k",), compute).value["call"] == 2
    dashboard_data_changed()  # the job that changed the data goes on
