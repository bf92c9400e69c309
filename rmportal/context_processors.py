"""What every page shows of the user's permissions: the main navigation and the links that
depend on what the user may do, asked of the models' scopes like the pages themselves
(``required_action``), so a template never compares roles (STYLE 4)."""
from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from careers.models import Exit, LevelChange, RiskScore
from clients.models import Branch, Employee
from performance.models import Appraisal, BonusStatement, PerformancePool, ScheduledRun
from performance.workflow import TRANSITIONS
from rmportal import scoping


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url: str
    current: bool


def pages_for(user) -> dict[str, bool]:
    """The pages (and the links to them) the user may open, by the action each page declares."""
    def may(action, model):
        return scoping.role_may(user, action, model)

    return {
        "own_appraisals": may("view_own", Appraisal),
        "appraisals": may("browse", Appraisal),
        "queue": may("queue", Appraisal),
        "reviewing": may(TRANSITIONS["review"].action, Appraisal),
        "calibration": may("calibrate", Appraisal),
        "bonus": may("browse", BonusStatement),
        "pools": may("browse", PerformancePool),
        "branches": may("home", Branch),
        "career_records": may("browse", LevelChange),
        "career_settings": may("change", LevelChange),
        "attrition": may("analyse", Exit),
        "risk": may("browse", RiskScore),
        "risk_settings": may("configure", RiskScore),
        "operations": may("trigger", ScheduledRun),
        "locked_accounts": may("unlock", Employee),
    }


def navigation_items(request, pages: dict[str, bool], mine, unit) -> list[NavItem]:
    match = request.resolver_match
    app, url_name = (match.app_name, match.url_name) if match else ("", "")
    view_name = match.view_name if match else ""
    items: list[NavItem] = []

    def add(label, url, current):
        items.append(NavItem(label, url, current))

    if mine is not None:
        add(_("My clients"), reverse("clients:rm-book", kwargs={"employee_no": mine.employee_no}),
            url_name == "rm-book")
    else:
        if unit is not None:
            add(_("Branch home"), reverse("clients:branch-home", kwargs={"code": unit.code}), url_name == "branch-home")
            add(_("My branch"), reverse("clients:branch-detail", kwargs={"code": unit.code}),
                url_name == "branch-detail")
        add(_("Branches"), reverse("clients:branch-list"), url_name == "branch-list")

    def page(key, label, name, **kwargs):
        if pages.get(key):
            add(label, reverse(name, kwargs=kwargs or None), view_name == name)

    page("own_appraisals", _("My appraisals"), "performance:mine")
    page("appraisals", _("Appraisals"), "performance:appraisal-list")
    page("queue", _("Review queue") if pages.get("reviewing") else _("Approval queue"), "performance:queue")
    page("calibration", _("Calibration"), "performance:calibration")
    page("bonus", _("Bonus"), "performance:bonus")
    if unit is not None:
        page("pools", _("Performance pool"), "performance:pool-detail", code=unit.code)
    else:
        page("pools", _("Performance pools"), "performance:pool-list")
    if mine is not None:
        add(_("My career"), reverse("careers:record", kwargs={"employee_no": mine.employee_no}), app == "careers")
    elif pages.get("career_records"):
        add(_("Careers"), reverse("careers:home"), app == "careers" and url_name != "attrition")
    page("attrition", _("Attrition"), "careers:attrition")
    if pages.get("risk"):
        add(_("Retention risk"), reverse("risk:scores"), app == "risk")
    if pages.get("operations"):
        add(_("Operations"), reverse("operations:runs"), app == "operations")
    page("locked_accounts", _("Locked accounts"), "locked-accounts")
    return items


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or scoping.role_of(user) is None:
        return {"current_employee": scoping.employee_of(user) if user is not None else None,
                "own_employee": None, "own_unit": None, "pages": {}, "nav": []}
    pages, mine, unit = pages_for(user), scoping.own_employee(user), scoping.own_unit(user)
    return {
        "current_employee": scoping.employee_of(user),
        "own_employee": mine,
        "own_unit": unit,
        "pages": pages,
        "nav": navigation_items(request, pages, mine, unit),
    }
