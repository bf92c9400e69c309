"""Progress of queued runs (HR only): the operations list and the run fragment show branches
done against the total as a progress bar and poll themselves with htmx while a run is going or a
job just queued waits for a worker, and stop once nothing runs."""
import datetime as dt
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from performance.models import ScheduledRun
from performance.views_operations import WAIT_LIMIT, queued_query

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
RUNS = "/operations/"


def progress_url(**query) -> str:
    return f"{reverse('operations:run-progress')}?{urlencode(query)}"


def make_run(**fields) -> ScheduledRun:
    values = {"kind": "appraisals", "key": "2026-03", "status": "running", "branches_total": 3,
              "branches_done": ["B01"]}
    return ScheduledRun.objects.create(**{**values, **fields})


def test_runs_url_is_named():
    assert reverse("operations:runs") == RUNS


def test_run_now_sends_hr_to_the_list_that_waits_for_the_worker(client_of, hr, django_capture_on_commit_callbacks):
    browser = client_of(hr)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # no worker takes it yet
        response = browser.post(RUNS, {"run-kind": "retention", "run-key": "2026-03"})

    assert response.status_code == 302 and len(callbacks) == 1
    assert response["Location"].startswith(f"{RUNS}?job=retention&key=2026-03&since=")
    page = browser.get(response["Location"]).content.decode()
    assert "Retention-risk scoring 2026-03 waits for a worker to start it" in page
    assert 'hx-trigger="every 2s"' in page


def test_runs_list_polls_while_a_run_is_running_and_shows_its_progress_bar(client_of, hr,
                                                                         django_assert_max_num_queries):
    make_run()
    browser = client_of(hr)
    with django_assert_max_num_queries(6):
        fragment = browser.get(RUNS, headers=HTMX).content.decode()

    assert fragment.lstrip().startswith('<div id="runs"') and "<html" not in fragment
    assert '<progress class="run-progress" max="3" value="1"' in fragment and "1 / 3" in fragment
    assert f'hx-get="{RUNS}" hx-trigger="every 2s"' in fragment


def test_runs_list_stops_polling_once_nothing_runs(client_of, hr):
    make_run(status="succeeded", branches_done=["B01", "B02", "B03"], finished_at=timezone.now())
    fragment = client_of(hr).get(RUNS, headers=HTMX).content.decode()

    assert "3 / 3" in fragment
    assert "hx-trigger" not in fragment and "<progress" not in fragment


def test_list_follows_the_run_of_the_queued_job_until_it_is_finished(client_of, hr):
    query = urlencode(queued_query(kind="appraisals", key="2026-03"))
    browser = client_of(hr)
    run = make_run()
    fragment = browser.get(f"{RUNS}?{query}", headers=HTMX).content.decode()
    assert "waits for a worker" not in fragment and "hx-trigger" in fragment

    ScheduledRun.objects.filter(pk=run.pk).update(status="partial", finished_at=timezone.now())
    fragment = browser.get(f"{RUNS}?{query}", headers=HTMX).content.decode()
    assert "hx-trigger" not in fragment


def test_list_stops_waiting_for_a_worker_after_the_limit(client_of, hr):
    long_ago = timezone.now() - WAIT_LIMIT - dt.timedelta(seconds=1)
    query = urlencode(queued_query(kind="retention", key="2026-03", since=long_ago))
    fragment = client_of(hr).get(f"{RUNS}?{query}", headers=HTMX).content.decode()

    assert "waits for a worker" not in fragment and "hx-trigger" not in fragment


@pytest.mark.parametrize("role", ["rm", "department_head", "branch_manager", "reviewer"])
def test_other_roles_get_403_on_the_fragments(request, client_of, role):
    make_run()
    browser = client_of(request.getfixturevalue(role))
    assert browser.get(RUNS, headers=HTMX).status_code == 403
    assert browser.get(progress_url(**queued_query(kind="appraisals", key="2026-03")), headers=HTMX).status_code == 403


# --- one queued run's fragment ------------------------------------------------------------------

def test_run_fragment_shows_the_branches_done_and_polls_while_running(client_of, hr):
    since = timezone.now()
    make_run()
    url = progress_url(**queued_query(kind="appraisals", key="2026-03", since=since))
    fragment = client_of(hr).get(url, headers=HTMX).content.decode()

    assert fragment.lstrip().startswith('<section id="run-progress"')
    assert '<progress class="run-progress__bar" max="3" value="1"' in fragment
    assert "1 of 3 branches done" in fragment
    assert f'hx-get="{url.replace("&", "&amp;")}" hx-trigger="every 2s"' in fragment


def test_run_fragment_waits_for_the_worker_then_stops_polling_when_the_run_ends(client_of, hr):
    url = progress_url(**queued_query(kind="appraisals", key="2026-03"))
    browser = client_of(hr)
    fragment = browser.get(url, headers=HTMX).content.decode()
    assert "waiting for a worker" in fragment and "hx-trigger" in fragment

    make_run(status="failed", branches_done=[], failures={"B01": "ValueError: down"}, finished_at=timezone.now())
    fragment = browser.get(url, headers=HTMX).content.decode()
    assert "Failed" in fragment and "ValueError: down" in fragment
    assert "hx-trigger" not in fragment and "<progress" not in fragment


def test_run_fragment_ignores_runs_started_before_the_job_was_queued(client_of, hr):
    old = make_run(status="succeeded", finished_at=timezone.now())
    ScheduledRun.objects.filter(pk=old.pk).update(started_at=timezone.now() - dt.timedelta(hours=1))
    fragment = client_of(hr).get(progress_url(**queued_query(kind="appraisals", key="2026-03")),
                                 headers=HTMX).content.decode()
    assert "waiting for a worker" in fragment and "Succeeded" not in fragment


@pytest.mark.parametrize("query", [{}, {"job": "nonsense", "key": "x", "since": "1"},
                                   {"job": "appraisals", "key": "2026-03", "since": "soon"}])
def test_run_fragment_without_a_proper_job_is_404(client_of, hr, query):
    assert client_of(hr).get(progress_url(**query)).status_code == 404
