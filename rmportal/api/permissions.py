"""Who may use which HTTP methods of the API, beyond ``restrict`` (which decides the rows)."""
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

READ_ONLY_GROUP = "api-readonly"
"""Members of this Django group are read-only service accounts: every unsafe method is refused."""


def is_read_only_account(user) -> bool:
    if user is None or not user.is_authenticated:
        return False
    cached = getattr(user, "_api_read_only", None)
    if cached is None:
        cached = user.groups.filter(name=READ_ONLY_GROUP).exists()
        user._api_read_only = cached
    return cached


class ReadOnlyServiceAccount(BasePermission):
    """Refuses POST, PUT, PATCH and DELETE to accounts in the "api-readonly" group (403)."""

    message = _("This account may only read.")

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or not is_read_only_account(request.user)
