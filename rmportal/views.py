"""Project-wide views and the base mixin that applies ``restrict`` to every page (STYLE 3)."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.generic import TemplateView

from clients.models import Employee
from rmportal import lockouts, scoping
from rmportal.errors import ApplicationError
from rmportal.scoping import VIEW


class RestrictedMixin(LoginRequiredMixin):
    """A page over a scoped model. ``get_queryset`` is restricted to what the user may ``action``;
    objects outside it are 404 through Django's generic views."""

    model = None
    restrict_action = VIEW

    def get_queryset(self):
        return self.model.objects.restrict(self.request.user, self.restrict_action)


class ActionRequiredMixin(LoginRequiredMixin):
    """A page that needs an action on a model: ``required_action = ("approve", Appraisal)``.
    A role the model's scope does not grant the action gets 403 (a user without a role too);
    which rows the page then shows is ``restrict``'s answer, 404 outside it."""

    required_action: tuple[str, type | None] = (VIEW, None)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not scoping.role_may(request.user, *self.required_action):
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
    mine, unit = scoping.own_employee(request.user), scoping.own_unit(request.user)
    if mine is not None:
        return redirect("clients:rm-book", employee_no=mine.employee_no)
    if unit is not None:
        return redirect("clients:branch-home", code=unit.code)
    if role == scoping.HR:
        try:
            return redirect(reverse("careers:attrition"))
        except NoReverseMatch:  # the attrition dashboard is not installed in this build
            pass
    return redirect("clients:branch-list")


class LockedAccountsView(ActionRequiredMixin, TemplateView):
    """HR's list of accounts locked after repeated wrong passwords, each with a button to release it."""

    required_action = ("unlock", Employee)
    template_name = "accounts/locked.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(attempts=lockouts.locked_attempts(),
                                        failure_limit=settings.AXES_FAILURE_LIMIT, **kwargs)

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "").strip()
        if username and lockouts.lockout_release(username=username, by=request.user):
            messages.success(request, _("%(username)s may log in again.") % {"username": username})
        return redirect("locked-accounts")


# Error pages. Under /api/ every failure answers in the API's JSON shape (rmportal.api.exceptions),
# elsewhere a page in the portal's layout with a way home.

def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def _api_error(detail, status: int) -> JsonResponse:
    return JsonResponse({"detail": str(detail), "errors": {}}, status=status,
                        json_dumps_params={"ensure_ascii": False})


def bad_request(request, exception):
    too_large = isinstance(exception, RequestDataTooBig)
    if _is_api(request):
        if too_large:
            return _api_error(_("The request is too large."), 413)
        return _api_error(_("Bad request."), 400)
    response = defaults.bad_request(request, exception, template_name="400.html")
    if too_large:
        response.status_code = 413
    return response


def permission_denied(request, exception):
    if _is_api(request):
        return _api_error(_("You do not have permission to perform this action."), 403)
    return defaults.permission_denied(request, exception, template_name="403.html")


def page_not_found(request, exception):
    if _is_api(request):
        return _api_error(_("Not found."), 404)
    return defaults.page_not_found(request, exception, template_name="404.html")


def server_error(request):
    if _is_api(request):
        return _api_error(_("The server could not answer; the error has been logged."), 500)
    # Rendered without a request context: the failure may lie in the database or a context processor.
    return defaults.server_error(request, template_name="500.html")
