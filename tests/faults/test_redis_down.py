"""Redis down (the cache, the API throttle and the Celery broker pointed at a closed port): the
pages and the API keep answering, and an upload or a "run now" answers within seconds that the
background worker is unreachable and nothing was started, leaving no job queued forever."""
import datetime as dt
import logging
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from rest_framework.authtoken.models import Token

from clients.models import ImportJob
from rmportal.celery import app as celery_app
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

DOWN = "redis://127.0.0.1:1/0"
"""Nothing listens on port 1: every connection is refused."""
ANSWER_WITHIN = 5
UNREACHABLE = "background worker is unreachable"
BRANCHES = "branch_code,name,region_code,region_name\nX01,Branch X,R-X,East\n"

CACHE_DOWN = {"default": {"BACKEND": "rmportal.cache.FailOpenRedisCache", "LOCATION": DOWN, "KEY_PREFIX": "faults"}}


@pytest.fixture
def cache_down(settings):
    settings.CACHES = CACHE_DOWN
    settings.DASHBOARD_CACHE_SECONDS = 600
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "1000/hour"}}


def _reset_broker_pools():
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """The test process publishes to a broker that refuses connections (not eagerly)."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager
    conf.broker_url, conf.task_always_eager = DOWN, False
    _reset_broker_pools()
    yield
    conf.broker_url, conf.task_always_eager = saved
    _reset_broker_pools()


@pytest.mark.parametrize("name", ["home", "clients:client-list", "careers:attrition", "careers:exit-list",
                                  "performance:appraisal-list", "performance:pool-list", "risk:scores"])
def test_pages_answer_with_the_cache_down(name, cache_down, client_of, hr, rm, branch, caplog):
    ClientFactory(branch=branch, rm=rm)
    with caplog.at_level(logging.WARNING, logger="rmportal.cache"):
        first = client_of(hr).get(reverse(name), follow=True)
        second = client_of(hr).get(reverse(name), follow=True)
    assert (first.status_code, second.status_code) == (200, 200)


def test_the_outage_is_logged_at_most_once_a_minute(cache_down, client_of, hr, caplog, monkeypatch):
    from rmportal import cache as fail_open

    monkeypatch.setattr(fail_open, "_warning", fail_open._Warning())
    with caplog.at_level(logging.WARNING, logger="rmportal.cache"):
        for _ in range(3):
            assert client_of(hr).get(reverse("careers:attrition")).status_code == 200
    assert len([r for r in caplog.records if r.name == "rmportal.cache"]) == 1


@pytest.mark.parametrize("resource", ["appraisals", "clients", "branches", "pools"])
def test_the_api_answers_with_its_throttle_cache_down(resource, cache_down, client, hr):
    token = Token.objects.create(user=hr.user)
    response = client.get(f"/api/v1/{resource}/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200


# The publish happens once the upload's transaction commits: these tests commit for real.
@pytest.mark.django_db(transaction=True)
def test_an_upload_with_the_broker_down_answers_at_once_and_leaves_no_queued_job(broker_down, cache_down,
                                                                                  client_of, hr):
    started = time.monotonic()
    response = client_of(hr).post(reverse("imports:upload"), {
        "kind": "branches", "file": SimpleUploadedFile("b.csv", BRANCHES.encode(), content_type="text/csv")})
    elapsed = time.monotonic() - started

    assert elapsed < ANSWER_WITHIN
    assert response.status_code == 200 and UNREACHABLE in response.content.decode()
    job = ImportJob.objects.get()
    # Failed with the reason, the file kept: the Retry button queues it once the worker is back.
    assert (job.status, UNREACHABLE in job.result["message"], job.result["retryable"]) == ("failed", True, True)
    assert bytes(job.content) == BRANCHES.encode()
    assert not ImportJob.objects.filter(status="queued").exists()


@pytest.mark.django_db(transaction=True)
def test_run_now_with_the_broker_down_answers_at_once_that_nothing_started(broker_down, client_of, hr):
    started = time.monotonic()
    response = client_of(hr).post(reverse("operations:runs"), {"run-kind": "reminders", "run-key": ""})
    elapsed = time.monotonic() - started

    assert elapsed < ANSWER_WITHIN
    assert response.status_code == 200 and UNREACHABLE in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_job_failed_on_the_broker_is_retried_once_it_is_back(broker_down, client_of, hr):
    browser = client_of(hr)
    browser.post(reverse("imports:upload"), {
        "kind": "branches", "file": SimpleUploadedFile("b.csv", BRANCHES.encode(), content_type="text/csv")})
    job = ImportJob.objects.get()
    assert UNREACHABLE in browser.get(reverse("imports:job", args=[job.pk])).content.decode()

    celery_app.conf.broker_url, celery_app.conf.task_always_eager = "memory://", True  # the broker is back
    _reset_broker_pools()
    response = browser.post(reverse("imports:job-retry", args=[job.pk]))

    job.refresh_from_db()
    assert response.status_code == 302
    # A page upload is previewed first: the retried job waits for the uploader's confirmation.
    assert (job.status, job.attempts) == ("awaiting", 2)
    browser.post(reverse("imports:confirm", args=[job.pk]), {"confirm": ""})
    job.refresh_from_db()
    assert (job.status, job.attempts, bytes(job.content)) == ("succeeded", 2, b"")


@pytest.mark.django_db(transaction=True)
def test_business_data_written_with_the_broker_down_is_stored_and_answered(broker_down, caplog):
    from clients.signals import business_data_changed

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="performance.tasks"):
        business_data_changed.send(sender=None, months=[dt.date(2026, 3, 1)])
    assert time.monotonic() - started < ANSWER_WITHIN
    assert "not queued for recomputing" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_one_time_form_whose_queued_work_fails_after_commit_answers_with_the_message(broker_down, client_of, hr):
    # Run-now forms carry no token; should one be posted with a token all the same, the publish
    # fails once the token's transaction commits: the page says so instead of answering 500.
    response = client_of(hr).post(reverse("operations:runs"), {"run-kind": "reminders", "run-key": "",
                                                              "form_token": "once"}, follow=True)
    assert response.status_code == 200 and UNREACHABLE in response.content.decode()
