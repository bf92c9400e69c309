"""The import pages' two steps (preview, then confirm) and the undo of a batch from its page."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clients.models import ImportBatch, ImportJob, MonthlyBusiness
from clients.tests.test_import_monthly import HEADER, full_row
from clients.tests.test_importers import recompute_calls  # noqa: F401
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

URL = reverse("imports:upload")
JANUARY = dt.date(2026, 1, 1)


@pytest.fixture
def january(branch, rm, recompute_calls):  # noqa: F811
    """C001–C004 with a January row each."""
    for number in ("C001", "C002", "C003", "C004"):
        client = ClientFactory(client_no=number, branch=branch, rm=rm)
        MonthlyBusiness.objects.create(client=client, month=JANUARY, deposit_avg_balance=Decimal("10.00"))


def upload(browser, capture, text: str, *, replace: bool = False):
    with capture(execute=True):
        response = browser.post(URL, {"kind": "monthly", "replace": "on" if replace else "",
                                      "file": SimpleUploadedFile("m.csv", text.encode(), content_type="text/csv")})
    assert response.status_code == 302, response.content.decode()
    return ImportJob.objects.latest("pk")


def test_a_replace_deleting_over_5_percent_needs_the_typed_number(client_of, hr, january,
                                                                  django_capture_on_commit_callbacks):
    browser = client_of(hr)
    job = upload(browser, django_capture_on_commit_callbacks, f"{HEADER}\n{full_row('C001')}\n", replace=True)
    assert job.status == ImportJob.Status.AWAITING
    assert (job.preview["created"], job.preview["updated"], job.preview["deleted"]) == (0, 1, 3)
    page = browser.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'id="rows-to-delete"' in page and "(3)" in page
    assert '<td class="num">4</td>' in page  # the rows stored before, shown for a replace

    confirm = reverse("imports:confirm", args=[job.pk])
    for typed in ("", "2"):
        response = browser.post(confirm, {"confirm": "", "rows_to_delete": typed})
        assert response.status_code == 400
        assert "type that number to confirm" in response.content.decode()
    assert MonthlyBusiness.objects.count() == 4
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(confirm, {"confirm": "", "rows_to_delete": "3"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED
    assert list(MonthlyBusiness.objects.values_list("client__client_no", flat=True)) == ["C001"]
    assert (job.batch.mode, job.batch.deleted) == (ImportBatch.Mode.REPLACE, 3)


def test_a_cancelled_preview_stores_nothing(client_of, hr, january, django_capture_on_commit_callbacks):
    browser = client_of(hr)
    job = upload(browser, django_capture_on_commit_callbacks, f"{HEADER}\n{full_row('C001', wm_income='5')}\n")
    response = browser.post(reverse("imports:confirm", args=[job.pk]), {"cancel": ""})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.content == b""
    assert not MonthlyBusiness.objects.filter(wm_income=5).exists()
    assert not ImportBatch.objects.exists()


def test_hr_undoes_an_import_from_its_page(client_of, hr, january, django_capture_on_commit_callbacks):
    browser = client_of(hr)
    before = list(MonthlyBusiness.objects.order_by("pk").values())
    job = upload(browser, django_capture_on_commit_callbacks, f"{HEADER}\n{full_row('C002')}\n")
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(reverse("imports:confirm", args=[job.pk]), {"confirm": ""})
    job.refresh_from_db()
    batch = job.batch
    page = browser.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'id="undo-button"' in page and reverse("imports:undo", args=[batch.pk]) in page
    assert browser.get(URL).content.decode().count(reverse("imports:batch", args=[batch.pk])) == 1

    undo_url = reverse("imports:undo", args=[batch.pk])
    confirm_page = browser.get(undo_url).content.decode()
    assert 'id="undo-confirm"' in confirm_page
    assert MonthlyBusiness.objects.get(client__client_no="C002").deposit_avg_balance == Decimal("500000.00")
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(undo_url)
    undo = ImportBatch.objects.get(undo_of=batch)
    assert response.status_code == 302 and response["Location"] == reverse("imports:batch", args=[undo.pk])
    assert list(MonthlyBusiness.objects.order_by("pk").values()) == before

    page = browser.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'id="undo-button"' not in page and "was undone already" in page
    response = browser.post(undo_url)
    assert response.status_code == 400 and "was undone already" in response.content.decode()


@pytest.mark.parametrize("role", ["rm", "department_head", "branch_manager", "reviewer"])
def test_only_hr_sees_batches_confirms_and_undoes(request, client_of, hr, january, role,
                                                   django_capture_on_commit_callbacks):
    employee = request.getfixturevalue(role)
    job = upload(client_of(hr), django_capture_on_commit_callbacks, f"{HEADER}\n{full_row('C002')}\n")
    browser = client_of(employee)
    assert browser.post(reverse("imports:confirm", args=[job.pk]), {"confirm": ""}).status_code == 403
    job.refresh_from_db()
    assert job.status == ImportJob.Status.AWAITING

    with django_capture_on_commit_callbacks(execute=True):
        client_of(hr).post(reverse("imports:confirm", args=[job.pk]), {"confirm": ""})
    batch = ImportBatch.objects.get()
    browser = client_of(employee)  # the test client is shared: log the employee in again
    for url in (reverse("imports:batch", args=[batch.pk]), reverse("imports:undo", args=[batch.pk])):
        assert browser.get(url).status_code == 403
    assert browser.post(reverse("imports:undo", args=[batch.pk])).status_code == 403
    assert not ImportBatch.objects.filter(undo_of=batch).exists()
    assert client_of(hr).get(reverse("imports:batch", args=[batch.pk])).status_code == 200
    assert client_of(hr).get(reverse("imports:batch", args=[batch.pk + 1000])).status_code == 404
