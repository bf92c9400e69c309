"""Who may use which HTTP methods of the API, beyond ``restrict`` (which decides the rows)."""
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

# The group and the test live with the rest of who-may-do-what; re-exported for the API.
from rmportal.scoping import READ_ONLY_GROUP, is_read_only_account  # noqa: F401


class ReadOnlyServiceAccount(BasePermission):
    """Refuses POST, PUT, PATCH and DELETE to accounts in the "api-readonly" group (403)."""

    message = _("This account may only read.")

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or not is_read_only_account(request.user)
