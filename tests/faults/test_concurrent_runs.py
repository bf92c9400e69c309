"""Two runs of the same period at once (the command twice, beat and HR's "run now") take turns on
the branch's lock instead of both inserting the same appraisals (an IntegrityError)."""
import copy
import datetime as dt
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection

from clients.models import MonthlyBusiness
from performance import appraisals
from performance.models import Appraisal, ScheduledRun
from performance.schemes import scheme_import
from performance.tests.conftest import EXAMPLE_SCHEME
from tests.factories import ClientFactory, EmployeeFactory
from tests.markers import requires_postgresql

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]

PERIOD = "2026-03"


@pytest.fixture
def bank(branch):
    scheme_import(data=copy.deepcopy(EXAMPLE_SCHEME))
    for n in range(4):
        rm = EmployeeFactory(employee_no=f"RMC{n}", branch=branch, hired_on=dt.date(2020, 1, 1))
        client = ClientFactory(branch=branch, rm=rm, opened_on=dt.date(2020, 1, 1))
        for month in (dt.date(2026, 2, 1), dt.date(2026, 3, 1)):
            MonthlyBusiness.objects.create(client=client, month=month, deposit_avg_balance=100000 + 1000 * n)
    return branch


def run_concurrently(*calls):
    """Runs the calls in threads started together; returns the errors they raised."""
    errors = []
    start = threading.Barrier(len(calls))

    def run(call):
        start.wait()
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever a run raised
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@pytest.fixture
def slow_metrics(monkeypatch):
    """Each run reads its metrics slowly: without the lock both would be computing at once."""
    real = appraisals.rm_metrics

    def slow(*args, **kwargs):
        time.sleep(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(appraisals, "rm_metrics", slow)


def test_two_run_appraisals_commands_of_one_period_take_turns_and_store_each_appraisal_once(bank, slow_metrics):
    started = time.monotonic()
    errors = run_concurrently(lambda: call_command("run_appraisals", period=PERIOD),
                              lambda: call_command("run_appraisals", period=PERIOD, branch=bank.code))
    assert errors == []
    assert Appraisal.objects.filter(period=PERIOD).count() == 4
    assert time.monotonic() - started >= 2  # the second waited for the first


def test_run_now_and_the_command_of_one_period_do_not_collide(bank, slow_metrics):
    from performance.tasks import appraisals_start

    errors = run_concurrently(lambda: appraisals_start(period=PERIOD),
                              lambda: call_command("run_appraisals", period=PERIOD))
    assert errors == []
    assert Appraisal.objects.filter(period=PERIOD).count() == 4
    # The branch task reports a failure rather than raising: its run must show none.
    assert list(ScheduledRun.objects.values_list("status", "failures")) == [("succeeded", {})]
