"""Project-wide views and the base mixin that applies ``restrict`` to every page (STYLE 3)."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse

from rmportal import scoping
from rmportal.errors import ApplicationError
from rmportal.scoping import VIEW


class RestrictedMixin(LoginRequiredMixin):
    """A page over a scoped model. ``get_queryset`` is restricted to what the user may ``action``;
    objects outside it are 404 through Django's generic views."""

    model = None
    restrict_action = VIEW

    def get_queryset(self):
        return self.model.objects.restrict(self.request.user, self.restrict_action)


class RoleRequiredMixin(LoginRequiredMixin):
    """A page only some roles may open at all (403 for the others)."""

    allowed_roles: frozenset = scoping.ALL_ROLES

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and scoping.role_of(request.user) not in self.allowed_roles:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ApplicationErrorFormMixin:
    """Shows a broken business rule raised by the service as a form error."""

    def form_valid(self, form):
        try:
            return self.perform(form)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    role = scoping.role_of(request.user)
    if role is None:
        raise PermissionDenied
    if role == scoping.RM:
        employee = scoping.employee_of(request.user)
        return redirect("clients:rm-book", employee_no=employee.employee_no)
    if role in scoping.BRANCH_ROLES:
        employee = scoping.employee_of(request.user)
        return redirect("clients:branch-home", code=employee.branch.code)
    if role == scoping.HR:
        try:
            return redirect(reverse("careers:attrition"))
        except NoReverseMatch:  # the attrition dashboard is not installed in this build
            pass
    return redirect("clients:branch-list")
