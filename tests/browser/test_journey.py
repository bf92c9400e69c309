"""One appraisal's journey through the portal in Chromium, step by step as each role sees it
(DOMAIN 1, 3.3, 3.5): the branch manager scores and submits, the region's reviewer passes it on,
HR approves and publishes, the RM appeals; the department head allocates from the pool; HR
filters and exports the attrition dashboard; the portal switches to Chinese.

The steps share the module's demo bank (conftest.py) and run in file order: each one starts
where the previous one left the appraisal. Every step saves a full-page screenshot under
var/screenshots/.
"""
import re
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from core.money import money_round, round_half_up
from performance.models import Appraisal, PerformancePool

pytestmark = pytest.mark.browser



def main_nav(page: Page):
    return page.get_by_role("navigation", name="Main")


def messages(page: Page):
    """The messages shown after a step (a status list; the lists' counts are statuses without items)."""
    return page.get_by_role("main").get_by_role("status").filter(has=page.get_by_role("listitem"))


def form_with(page: Page, button: str):
    """The form that a step's button submits."""
    return page.locator("form").filter(has=page.get_by_role("button", name=button, exact=True))


def fact(page: Page, term: str):
    """The value next to a term of the page's facts list (<dl class="facts">)."""
    return page.locator(".facts div").filter(has=page.get_by_role("term").filter(has_text=term)) \
        .get_by_role("definition")


def appraisal_heading(cast) -> str:
    return f"Appraisal of {cast.rm.name} ({cast.rm.employee_no}), {cast.period}"


def open_appraisal_from(page: Page, container, cast) -> None:
    container.get_by_role("link", name=f"{cast.rm.employee_no} {cast.rm.name}").click()
    expect(page).to_have_url(re.compile(rf"/performance/appraisals/{cast.appraisal_pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(appraisal_heading(cast))


def rendered_chart(page: Page, name: str):
    """A plotly chart (role="img" with its title as name) once plotly has drawn it."""
    return page.get_by_role("img", name=name, exact=True).locator("svg").first


def test_branch_manager_scores_and_submits_an_appraisal_from_the_branch_home(portal, demo_bank):
    cast = demo_bank
    page = portal.log_in(cast.branch_manager)

    home = reverse("clients:branch-home", kwargs={"code": cast.branch_code})
    expect(page).to_have_url(re.compile(rf"{re.escape(home)}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{cast.branch_code} {cast.branch_name}")
    books = page.get_by_role("region", name="Relationship managers and their books")
    expect(books.get_by_role("link", name=f"{cast.rm.employee_no} {cast.rm.name}")).to_be_visible()
    expect(rendered_chart(page, "AUM and profit contribution per month")).to_be_visible()
    progress = page.get_by_role("region", name=f"Appraisals {cast.period}")
    waiting = progress.get_by_role("link", name=re.compile(r"^Missing a target or manual score [1-9]\d*$"))
    expect(waiting).to_be_visible()
    portal.screenshot(page, "01-branch-manager-home")

    waiting.click()
    expect(page).to_have_url(re.compile(rf"[?&]branch={cast.branch_code}(&|$)"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Appraisals · {cast.period}")
    table = page.get_by_role("table", name="Appraisals matching the filters")
    row = table.get_by_role("row").filter(has=page.get_by_role("link", name=f"{cast.rm.employee_no} {cast.rm.name}"))
    expect(row).to_contain_text(cast.branch_code)
    expect(row).to_contain_text("Computed")
    for line in cast.manual_lines:
        expect(row).to_contain_text(line.name)
    portal.screenshot(page, "02-branch-manager-appraisals-waiting")

    open_appraisal_from(page, table, cast)
    expect(fact(page, "State")).to_have_text("Computed")
    missing = page.get_by_role("note")
    expect(missing).to_contain_text("Missing before it can be submitted:")
    expect(page.get_by_role("heading", name="Enter the manual scores")).to_be_visible()
    scores = form_with(page, "Save the scores")
    total_before = fact(page, "Total score").inner_text()

    for line in cast.manual_lines:
        expect(missing).to_contain_text(line.name)
        score = round_half_up(line.weight * Decimal("0.8"), 2)
        scores.get_by_label(re.compile(rf"^{re.escape(line.name)}:?$")).fill(str(score))
    scores.get_by_label("Why (kept in the history)").fill("Cross-border business checked against the ledger")
    scores.get_by_role("button", name="Save the scores").click()

    count = len(cast.manual_lines)
    expect(messages(page)).to_have_text(f"{count} score saved." if count == 1 else f"{count} scores saved.")
    expect(page.get_by_role("note")).to_have_count(0)
    expect(fact(page, "Total score")).not_to_have_text(total_before)
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text("Cross-border business checked against the ledger")
    portal.screenshot(page, "03-branch-manager-scores-saved")

    submit = form_with(page, "Submit")
    submit.get_by_label("Comment").fill("Scores complete for the period")
    submit.get_by_role("button", name="Submit", exact=True).click()
    expect(messages(page)).to_have_text("The appraisal was submitted for review.")
    expect(fact(page, "State")).to_have_text("Submitted")
    expect(page.get_by_role("heading", name="What you can do now")).to_have_count(0)
    portal.screenshot(page, "04-branch-manager-submitted")
    assert Appraisal.objects.get(pk=cast.appraisal_pk).state == Appraisal.State.SUBMITTED


def test_reviewer_passes_the_submitted_appraisal_on_to_hr(portal, demo_bank):
    cast = demo_bank
    page = portal.log_in(cast.reviewer)
    main_nav(page).get_by_role("link", name="Review queue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
    queue = page.get_by_role("table")
    row = queue.get_by_role("row").filter(has=page.get_by_role("link", name=f"{cast.rm.employee_no} {cast.rm.name}"))
    expect(row).to_contain_text(cast.period)
    expect(row).to_contain_text(f"{cast.branch_code} {cast.branch_name}")
    expect(row).to_contain_text("Scores complete for the period")
    portal.screenshot(page, "05-reviewer-queue")

    open_appraisal_from(page, queue, cast)
    expect(fact(page, "State")).to_have_text("Submitted")
    expect(page.get_by_role("heading", name="Review", exact=True)).to_be_visible()
    review = form_with(page, "Pass on to HR")
    review.get_by_label("Comment").fill("Manual score matches the branch's records")
    review.get_by_role("button", name="Pass on to HR").click()
    expect(messages(page)).to_have_text("The appraisal was passed on to HR.")
    expect(fact(page, "State")).to_have_text("Reviewed")
    portal.screenshot(page, "06-reviewer-passed-on")


def test_hr_approves_and_publishes_the_reviewed_appraisal(portal, demo_bank):
    cast = demo_bank
    page = portal.log_in(cast.hr)
    main_nav(page).get_by_role("link", name="Approval queue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approval queue")
    group = page.get_by_role("region", name=f"{cast.branch_code} {cast.branch_name} · {cast.period}")
    expect(group.get_by_role("button", name=f"Approve {cast.branch_code} for {cast.period}")).to_be_visible()
    portal.screenshot(page, "07-hr-approval-queue")

    open_appraisal_from(page, group, cast)
    expect(fact(page, "State")).to_have_text("Reviewed")
    expect(page.get_by_role("heading", name="Final approval")).to_be_visible()
    approval = form_with(page, "Approve")
    approval.get_by_role("button", name="Approve", exact=True).click()
    expect(messages(page)).to_have_text("The appraisal was approved.")
    expect(fact(page, "State")).to_have_text("Approved")
    portal.screenshot(page, "08-hr-approved")

    form_with(page, "Publish").get_by_role("button", name="Publish").click()
    expect(messages(page)).to_have_text("The appraisal was published; the RM sees it now.")
    expect(fact(page, "State")).to_have_text("Published")
    expect(fact(page, "Appeal deadline")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))
    portal.screenshot(page, "09-hr-published")


def test_rm_sees_the_published_appraisal_and_appeals(portal, demo_bank):
    cast = demo_bank
    page = portal.log_in(cast.rm)
    main_nav(page).get_by_role("link", name="My appraisals").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My appraisals")
    published = page.get_by_role("region", name="Published appraisals")
    row = published.get_by_role("row").filter(has=page.get_by_role("link", name=cast.period, exact=True))
    expect(row).to_contain_text("Published")
    expect(row.get_by_role("strong")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))
    portal.screenshot(page, "10-rm-my-appraisals")

    row.get_by_role("link", name=cast.period, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(appraisal_heading(cast))
    expect(fact(page, "State")).to_have_text("Published")
    appeal = form_with(page, "Appeal")
    appeal.get_by_label("What is wrong").fill("Two cross-border deals of October are not counted")
    portal.screenshot(page, "11-rm-appeal")
    appeal.get_by_role("button", name="Appeal", exact=True).click()

    expect(page).to_have_url(re.compile(r"/performance/mine/$"))
    expect(messages(page)).to_have_text("Your appeal was sent; the appraisal is reviewed again.")
    expect(page.get_by_role("link", name=cast.period, exact=True)).to_have_count(0)
    portal.screenshot(page, "12-rm-appealed")
    appraisal = Appraisal.objects.get(pk=cast.appraisal_pk)
    assert (appraisal.state, appraisal.appealed) == (Appraisal.State.SUBMITTED, True)


def test_department_head_allocates_from_the_pool_and_the_ledger_shows_it(portal, demo_bank):
    cast = demo_bank
    balance = PerformancePool.objects.get(branch__code=cast.branch_code).balance
    assert balance > 0, "the demo bank's pool is empty"
    amount = min(Decimal("500.00"), money_round(balance / 4))
    page = portal.log_in(cast.department_head)
    main_nav(page).get_by_role("link", name="Performance pool").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Performance pool of {cast.branch_code} {cast.branch_name}")
    expect(fact(page, "Balance")).to_contain_text("元")
    ledger = page.get_by_role("region", name="Ledger")
    expect(ledger.get_by_role("row").nth(1)).to_be_visible()  # the seeded history
    portal.screenshot(page, "13-department-head-pool")

    form = page.get_by_role("region", name="Allocate to an RM")
    form.get_by_label("RM").select_option(cast.rm.employee_no)
    form.get_by_label("Amount (元)").fill(str(amount))
    form.get_by_label("Diligent without results").check()
    form.get_by_label("Justification").fill("Opened the cross-border desk; deals close next quarter")
    expect(form.get_by_label("Period")).not_to_have_value("")
    form.get_by_role("button", name="Allocate").click()

    left = balance - amount
    expect(messages(page)).to_have_text(f"{amount} allocated to {cast.rm.name}; {left} left in the pool.")
    newest = page.get_by_role("region", name="Ledger").get_by_role("row").nth(1)
    expect(newest).to_contain_text("Allocation")
    expect(newest).to_contain_text(f"{cast.rm.employee_no} {cast.rm.name}")
    expect(newest).to_contain_text(f"−{amount:,}")
    expect(newest).to_contain_text("Diligent without results")
    expect(newest).to_contain_text("Opened the cross-border desk; deals close next quarter")
    expect(newest).to_contain_text(cast.department_head.name)
    expect(fact(page, "Balance")).to_contain_text(f"{left:,}")
    portal.screenshot(page, "14-department-head-allocated")


def download_rows(page: Page, link, folder) -> list[tuple]:
    """Clicks an export link, expects a download and returns the rows of the XLSX file."""
    with page.expect_download() as download:
        link.click()
    path = folder / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".xlsx", path.name
    return list(openpyxl.load_workbook(path, read_only=True).active.iter_rows(values_only=True))


def branch_cells(rows: list[tuple]) -> list[list[str]]:
    """Per data row, the cells of its branch columns (headed "Branch…"); none if it has no such column."""
    header = [str(cell or "") for cell in rows[0]]
    columns = [i for i, title in enumerate(header) if title.lower().startswith("branch")]
    return [[str(row[i] or "") for i in columns] for row in rows[1:]] if columns else []


def test_hr_filters_the_attrition_dashboard_by_branch_and_exports_it(portal, demo_bank, tmp_path):
    cast = demo_bank
    page = portal.log_in(cast.hr)
    main_nav(page).get_by_role("link", name="Attrition").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(reverse('careers:attrition'))}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Attrition")
    expect(rendered_chart(page, "Headcount and exits per month")).to_be_visible()
    by_branch = page.get_by_role("region", name="By branch")
    expect(by_branch.get_by_role("row")).not_to_have_count(0)
    branches_before = by_branch.get_by_role("row").count()
    portal.screenshot(page, "15-hr-attrition")

    filters = page.get_by_role("search", name="Filters")
    branch = filters.get_by_label("Branch", exact=True)
    value = branch.get_by_role("option", name=f"{cast.branch_code} {cast.branch_name}").get_attribute("value")
    branch.select_option(value)
    filters.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"[?&]branch={re.escape(value)}(&|$)"))
    expect(page.get_by_label("Branch", exact=True)).to_have_value(value)
    expect(rendered_chart(page, "Headcount and exits per month")).to_be_visible()
    by_branch = page.get_by_role("region", name="By branch")
    # Header rows and the one branch left.
    expect(by_branch.get_by_role("row").filter(has_text=cast.branch_name)).to_have_count(1)
    assert by_branch.get_by_role("row").count() < branches_before
    for section in page.get_by_role("region").filter(has=page.get_by_role("table")).all():
        # Every table comes with its two downloads (an empty list keeps them, its table does not show).
        tables = section.get_by_role("table").count()
        assert section.get_by_role("link", name="CSV", exact=True).count() >= tables
        assert section.get_by_role("link", name="XLSX", exact=True).count() >= tables
    portal.screenshot(page, "16-hr-attrition-branch")

    first = download_rows(page, page.get_by_role("link", name="XLSX", exact=True).first, tmp_path)
    assert len(first) > 1, first
    for cells in branch_cells(first):
        assert any(cast.branch_code in cell or cast.branch_name in cell for cell in cells), cells

    rows = download_rows(page, by_branch.get_by_role("link", name="XLSX", exact=True), tmp_path)
    (code, name), = branch_cells(rows)  # one row: the branch filtered
    assert code == cast.branch_code and cast.branch_name in name, rows


def test_language_switch_turns_the_page_chinese(portal, demo_bank):
    cast = demo_bank
    page = portal.log_in(cast.hr)
    main_nav(page).get_by_role("link", name="Appraisals", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Appraisals")

    page.get_by_role("group", name="Language").get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(re.compile(r"/performance/appraisals/"))
    expect(page.get_by_role("link", name="客户经理管理平台")).to_be_visible()
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="考核", exact=True)) \
        .to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("考核")
    expect(page.get_by_role("button", name="简体中文")).to_have_attribute("aria-pressed", "true")
    portal.screenshot(page, "17-chinese")
