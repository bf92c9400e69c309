"""A form that moves money or state is done once per rendering of the form: posted twice (a
double click, a reload, two requests at the same moment) it stores one allocation, and the second
post is answered with the first one's outcome."""
import re
import threading
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test import Client

from clients.models import FormSubmission
from performance.tests.conftest import monthly, scheme, scheme_data  # noqa: F401 - fixtures
from performance.tests.test_views import PERIOD, appraisal, paid, pool_url, walk  # noqa: F401 - fixtures
from tests.markers import requires_postgresql

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def allocation(token: str | None, amount="200.00") -> dict:
    data = {"action": "allocate", "allocate-employee": "RM002", "allocate-amount": amount,
            "allocate-reason": "special_circumstance", "allocate-justification": "branch refurbishment",
            "allocate-period": PERIOD}
    if token:
        data["form_token"] = token
    return data


def token_of(page) -> str:
    tokens = TOKEN.findall(page.content.decode())
    assert tokens, "the form renders no one-time token"
    return tokens[0]


@pytest.mark.django_db
def test_a_double_clicked_allocation_is_stored_once_and_answered_with_the_first_outcome(
        client_of, paid, branch, department_head, other_rm):
    browser = client_of(department_head)
    token = token_of(browser.get(pool_url(branch)))

    first = browser.post(pool_url(branch), allocation(token))
    second = browser.post(pool_url(branch), allocation(token), follow=True)

    assert first.status_code == 302
    assert second.redirect_chain == [(first["Location"], 302)]
    assert "already been sent" in second.content.decode()
    assert other_rm.pool_entries.count() == 1
    assert other_rm.pool_entries.get().amount == D("200.00")


@pytest.mark.django_db
def test_a_refused_form_leaves_its_token_usable_for_the_corrected_post(client_of, paid, branch, department_head,
                                                                      other_rm):
    browser = client_of(department_head)
    token = token_of(browser.get(pool_url(branch)))

    refused = browser.post(pool_url(branch), allocation(token, amount="999999.00"))
    assert refused.status_code == 200 and not FormSubmission.objects.filter(token=token).exists()

    corrected = browser.post(pool_url(branch), allocation(token))
    assert corrected.status_code == 302 and other_rm.pool_entries.count() == 1
    assert FormSubmission.objects.get(token=token).outcome_url == corrected["Location"]


@pytest.mark.django_db
def test_every_page_form_that_changes_something_carries_a_one_time_token(client_of, paid, branch, department_head,
                                                                        appraisal, branch_manager, hr):
    pages = [(department_head, pool_url(branch)),
             (branch_manager, f"/clients/rms/{appraisal.employee.employee_no}/handover/")]
    for employee, url in pages:
        page = client_of(employee).get(url).content.decode()
        # Every post form but the layout's two (the language switch and logging out).
        posts = page.count('name="csrfmiddlewaretoken"') - 2
        assert posts > 0 and len(TOKEN.findall(page)) == posts, url


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_posts_of_one_form_at_the_same_moment_store_one_allocation(paid, branch, department_head, other_rm):
    browsers = [Client(), Client()]
    for browser in browsers:
        browser.force_login(department_head.user)
    token = token_of(browsers[0].get(pool_url(branch)))
    start, answers = threading.Barrier(2), []

    def post(browser):
        start.wait()
        try:
            answers.append(browser.post(pool_url(branch), allocation(token)).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(browser,)) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert answers == [302, 302]
    assert other_rm.pool_entries.count() == 1
