"""Who sees what: the one place that decides (DOMAIN 1, STYLE 3).

Every scoped model uses ``RestrictedQuerySet`` and declares a ``Scope``: where its branch is,
which rows belong to an RM personally, and which roles may perform actions other than "view".
Pages, exports and the API all call ``Model.objects.restrict(user, action)``; an object outside
the result is answered with 404.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from django.db import models
from django.db.models import Exists, OuterRef, Q

# Role names are defined here (not in clients.models) so that this module has no model imports.
RM = "rm"
DEPARTMENT_HEAD = "department_head"
BRANCH_MANAGER = "branch_manager"
REVIEWER = "reviewer"
HR = "hr"
BRANCH_ROLES = frozenset({DEPARTMENT_HEAD, BRANCH_MANAGER})
ALL_ROLES = frozenset({RM, DEPARTMENT_HEAD, BRANCH_MANAGER, REVIEWER, HR})
MANAGER_ROLES = ALL_ROLES - {RM}
"""The roles that look after others: the pages over a unit's people are theirs."""

VIEW = "view"

READ_ONLY_GROUP = "api-readonly"
"""Members of this Django group are read-only accounts: they may view what their role sees and
nothing else, on the pages and in the API alike."""


@dataclass(frozen=True)
class Scope:
    """How a model is scoped.

    branch: lookup from the model to its Branch (``"pk"`` for Branch itself).
    region: lookup to its Region; defaults to ``<branch>__region``.
    own: the rows an RM may see, as a function of the RM's Employee; None means RMs see nothing.
    actions: roles allowed per action other than "view" (view is decided by the row scope alone).
    """

    branch: str | None
    region: str | None = None
    own: Callable[[object], Q] | None = None
    actions: dict[str, frozenset[str]] = field(default_factory=dict)

    def region_lookup(self) -> str | None:
        """The lookup to the Region; None for bank-wide data that has neither (HR only)."""
        if self.region:
            return self.region
        if self.branch is None:
            return None
        if self.branch == "pk":
            return "region"
        return f"{self.branch}__region"


def employee_of(user):
    """The Employee behind a user, or None (anonymous users, technical accounts)."""
    if user is None or not user.is_authenticated:
        return None
    cached = getattr(user, "_employee_cache", False)
    if cached is not False:
        return cached
    from django.contrib.auth import get_user_model

    from clients.models import Employee

    # Whether the account is read-only comes with the same query (every page asks both).
    memberships = get_user_model().groups.through.objects.filter(user_id=OuterRef("user_id"), group__name=READ_ONLY_GROUP)
    employee = (Employee.objects.select_related("branch").annotate(in_read_only_group=Exists(memberships))
                .filter(user_id=user.pk).first())
    user._employee_cache = employee
    if employee is not None:
        user._read_only_account = employee.in_read_only_group
    return employee


def role_of(user) -> str | None:
    """The portal role of a user; superusers act with HR's bank-wide view."""
    employee = employee_of(user)
    if employee is not None and employee.is_active:
        return employee.role
    if user is not None and user.is_authenticated and user.is_superuser:
        return HR
    return None


def is_read_only_account(user) -> bool:
    """Whether the user is in the read-only group (asked once per request)."""
    if user is None or not user.is_authenticated:
        return False
    if getattr(user, "_read_only_account", None) is None:
        employee_of(user)  # reads the membership with the employee record
    if getattr(user, "_read_only_account", None) is None:  # an account without an employee record
        user._read_only_account = user.groups.filter(name=READ_ONLY_GROUP).exists()
    return user._read_only_account


def own_employee(user):
    """The employee whose own records are all the user sees (an RM), else None."""
    employee = employee_of(user)
    return employee if role_of(user) == RM else None


def own_unit(user):
    """The branch a branch role looks after, else None (reviewers, HR and RMs look at no one unit)."""
    employee = employee_of(user)
    return employee.branch if employee is not None and role_of(user) in BRANCH_ROLES else None


def role_may(user, action: str, model) -> bool:
    """Whether the model's scope grants ``action`` to the user's role (row scope aside). Pages and
    the navigation ask this: a read-only account still opens the pages of its role, and the
    read-only middleware refuses whatever it submits there."""
    role = role_of(user)
    if role is None:
        return False
    if action == VIEW:
        return True
    allowed = model.scope.actions.get(action)
    return allowed is not None and role in allowed


def may(user, action: str, model) -> bool:
    """Whether the user may perform ``action`` on ``model`` at all (row scope aside).
    A read-only account may only view."""
    if action != VIEW and is_read_only_account(user):
        return False
    return role_may(user, action, model)


def scope_filter(user, action: str, model) -> Q | None:
    """The Q selecting the rows of ``model`` that ``user`` may ``action``; None means none."""
    if not may(user, action, model):
        return None
    role = role_of(user)
    scope: Scope = model.scope
    if role == HR:
        return Q()
    employee = employee_of(user)
    if employee is None:  # a superuser without an employee record is HR, handled above
        return None
    region = scope.region_lookup()
    if role == REVIEWER:
        return Q(**{region: employee.branch.region_id}) if region else None
    if role in BRANCH_ROLES:
        if scope.branch is None:
            return Q(**{region: employee.branch.region_id}) if region else None
        return Q(**{scope.branch: employee.branch_id})
    if role == RM and scope.own is not None:
        return scope.own(employee)
    return None


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action: str = VIEW):
        condition = scope_filter(user, action, self.model)
        if condition is None:
            return self.none()
        return self.filter(condition) if condition else self
