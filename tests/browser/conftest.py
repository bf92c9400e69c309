"""Chromium drives the portal that pytest-django's live server serves, over one demo bank per module.

The bank is ``seed_demo`` at a reduced size (clients/demo.py): real branches, RMs, books and an
open appraisal period with appraisals waiting for the branch manager's manual scores. Seeding
takes seconds, so a module seeds once, its tests run in file order on the same data, and the
database is flushed once after the module (as TransactionTestCase flushes after each test).

Playwright's sync API keeps an asyncio loop in this thread, which makes Django refuse ORM calls
here (SynchronousOnlyOperation); the tests need a few, so the check is off for the module only.
While that loop runs, Django keeps connections per asyncio context rather than per thread: the
connection opened before Playwright starts is not the one used after, so each side closes its
own, or the test database could not be dropped at the end.
Chromium is Debian's (/usr/bin/chromium, installed by .ci/run); nothing is downloaded.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from playwright.sync_api import Browser, Page, expect, sync_playwright

from clients.models import Branch, Employee, Role
from performance.models import Appraisal

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}
PASSWORD = "demo-pass-2026"
DEMO_SIZE = {"clients": 600, "months": 14}
SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots"
# A shared 2-core machine renders slowly now and then; waits are explicit, so a long limit costs nothing.
TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class Person:
    employee_no: str
    name: str


@dataclass(frozen=True)
class ManualLine:
    name: str
    weight: Decimal


@dataclass(frozen=True)
class Cast:
    """Who plays the journey, picked by role from the seeded bank, and the appraisal they work on."""

    branch_code: str
    branch_name: str
    branch_manager: Person
    department_head: Person
    reviewer: Person
    hr: Person
    rm: Person
    appraisal_pk: int
    period: str
    manual_lines: tuple[ManualLine, ...]


def _person(employee: Employee) -> Person:
    return Person(employee_no=employee.employee_no, name=employee.name)


def _first(**filters) -> Employee:
    return Employee.objects.filter(status=Employee.Status.ACTIVE, **filters).order_by("employee_no").first()


def _cast() -> Cast:
    branch = Branch.objects.select_related("region").order_by("code").first()
    # The open period: the newest one whose appraisals still wait for manual scores in the branch.
    waiting = (Appraisal.objects.filter(branch=branch, state=Appraisal.State.COMPUTED, employee__role=Role.RM)
               .exclude(missing=[]).select_related("employee").order_by("-computed_at", "employee__employee_no"))
    appraisal = waiting.first()
    assert appraisal is not None, "the demo bank has no appraisal waiting for manual scores"
    manual = [m["indicator"] for m in appraisal.missing if m["missing"] == "manual"]
    assert manual and len(manual) == len(appraisal.missing), appraisal.missing
    lines = appraisal.lines.select_related("indicator").filter(indicator__code__in=manual).order_by("indicator__code")
    return Cast(
        branch_code=branch.code, branch_name=branch.name,
        branch_manager=_person(_first(branch=branch, role=Role.BRANCH_MANAGER)),
        department_head=_person(_first(branch=branch, role=Role.DEPARTMENT_HEAD)),
        reviewer=_person(_first(branch__region=branch.region, role=Role.REVIEWER)),
        hr=_person(_first(role=Role.HR)),
        rm=_person(appraisal.employee),
        appraisal_pk=appraisal.pk, period=appraisal.period,
        manual_lines=tuple(ManualLine(name=line.indicator.name, weight=line.indicator.weight) for line in lines))


@pytest.fixture(scope="module")
def orm_beside_playwright():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def demo_bank(django_db_setup, django_db_blocker, orm_beside_playwright) -> Cast:
    """Seeds the demo bank once for the module; the live server's thread reads it, so the database
    stays unblocked until the module ends, then it is emptied for the tests after it."""
    with django_db_blocker.unblock():
        try:
            call_command("seed_demo", **DEMO_SIZE, password=PASSWORD, stdout=StringIO())
            cast = _cast()
            connections.close_all()
            yield cast
        finally:
            call_command("flush", interactive=False, verbosity=0)
            connections.close_all()


@pytest.fixture
def transactional_db(demo_bank):
    """Replaces pytest-django's for this folder: live_server asks for it before every test, and
    its flush after each test would wipe the bank the module's steps share (see demo_bank)."""


@pytest.fixture(scope="module")
def chromium(orm_beside_playwright):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()


class Portal:
    """The portal in Chromium: one browser context (its own cookies) per person logged in."""

    def __init__(self, browser: Browser, base_url: str):
        self.browser, self.base_url, self.contexts = browser, base_url, []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def page(self) -> Page:
        context = self.browser.new_context(base_url=self.base_url, viewport=VIEWPORT, accept_downloads=True,
                                           locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        return context.new_page()

    def log_in(self, person: Person) -> Page:
        """Logs in through the form, from the root, and returns the page where the portal lands."""
        page = self.page()
        page.goto("/")
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        page.get_by_label("Employee number").fill(person.employee_no)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        expect(page.get_by_text(person.name, exact=False).first).to_be_visible()
        return page

    @staticmethod
    def screenshot(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def portal(demo_bank, chromium, live_server):
    expect.set_options(timeout=TIMEOUT_MS)
    portal = Portal(chromium, live_server.url)
    yield portal
    portal.close()
