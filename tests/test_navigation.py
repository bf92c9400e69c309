"""The main navigation per role, and that templates leave the question of who may do what to
the views (STYLE 4)."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

from tests.api_mixins import make_read_only

pytestmark = pytest.mark.django_db


class NavLinks(HTMLParser):
    """The (href, text) pairs of the links inside ``<nav class="site-nav">``."""

    def __init__(self):
        super().__init__()
        self.links, self._depth, self._href, self._text = [], 0, None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and "site-nav" in (attrs.get("class") or ""):
            self._depth = 1
        elif self._depth and tag == "a":
            self._href, self._text = attrs.get("href"), []

    def handle_endtag(self, tag):
        if tag == "nav" and self._depth:
            self._depth = 0
        elif self._depth and tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)


def nav_links(browser):
    response = browser.get("/", follow=True)
    assert response.status_code == 200
    parser = NavLinks()
    parser.feed(response.content.decode())
    return parser.links


BRANCHES = ("/clients/branches/", "Branches")
APPRAISALS = ("/performance/appraisals/", "Appraisals")
CALIBRATION = ("/performance/calibration/", "Calibration")
BONUS = ("/performance/bonus/", "Bonus")
POOLS = ("/performance/pools/", "Performance pools")
CAREERS = ("/careers/", "Careers")
ATTRITION = ("/careers/attrition/", "Attrition")
RISK = ("/risk/", "Retention risk")


@pytest.mark.parametrize(("role", "expected"), [
    ("rm", [("/clients/rms/RM001/", "My clients"), ("/performance/mine/", "My appraisals"),
            ("/careers/records/RM001/", "My career")]),
    ("department_head", [("/clients/branches/B01/home/", "Branch home"), ("/clients/branches/B01/", "My branch"), BRANCHES,
                         APPRAISALS, BONUS, ("/performance/pools/B01/", "Performance pool"), CAREERS, ATTRITION]),
    ("branch_manager", [("/clients/branches/B01/home/", "Branch home"), ("/clients/branches/B01/", "My branch"), BRANCHES,
                        APPRAISALS, BONUS, ("/performance/pools/B01/", "Performance pool"), CAREERS, ATTRITION,
                        RISK]),
    ("reviewer", [BRANCHES, APPRAISALS, ("/performance/queue/", "Review queue"), CALIBRATION, POOLS, CAREERS,
                  ATTRITION]),
    ("hr", [BRANCHES, APPRAISALS, ("/performance/queue/", "Approval queue"), CALIBRATION, BONUS, POOLS, CAREERS,
            ATTRITION, RISK, ("/operations/", "Operations"), ("/accounts/locked/", "Locked accounts")]),
])
def test_the_navigation_shows_each_role_its_links(request, client_of, role, expected):
    employee = request.getfixturevalue(role)
    assert nav_links(client_of(employee)) == expected


def test_a_read_only_account_keeps_the_navigation_of_its_role(client_of, hr):
    make_read_only(hr.user)
    assert ("/operations/", "Operations") in nav_links(client_of(hr))
    assert ("/accounts/locked/", "Locked accounts") in nav_links(client_of(hr))


def test_the_page_shown_is_marked_current_in_the_navigation(client_of, branch_manager):
    html = client_of(branch_manager).get("/", follow=True).content.decode()
    assert '<a href="/clients/branches/B01/home/" aria-current="page">' in html
    assert '<a href="/clients/branches/B01/">My branch</a>' in html


def test_no_template_compares_roles():
    templates = Path(settings.BASE_DIR) / "templates"
    comparing = [str(path.relative_to(templates)) for path in templates.rglob("*.html")
                 if re.search(r"current_role|\.role\s*[!=]=", path.read_text(encoding="utf-8"))]
    assert comparing == []
