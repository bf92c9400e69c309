"""Project middleware: read-only accounts, and no caching of pages that show client data."""
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from rmportal.scoping import is_read_only_account

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class ReadOnlyAccountMiddleware:
    """Refuses every unsafe request of a read-only account with 403, whatever the page, so a
    page that forgets to ask ``may()`` still cannot write. Logging out and switching the
    language change nothing but the account's own session."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.allowed_paths = None

    def __call__(self, request):
        if request.method not in SAFE_METHODS and is_read_only_account(getattr(request, "user", None)):
            if self.allowed_paths is None:
                self.allowed_paths = frozenset({reverse("logout"), reverse("set_language")})
            if request.path_info not in self.allowed_paths:
                raise PermissionDenied
        return self.get_response(request)


class NoStoreMiddleware:
    """Pages of a logged-in user and every API answer show client data: no browser or proxy may
    keep a copy (``Cache-Control: no-store``), so the back button after logging out or a shared
    computer shows nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path_info.startswith("/api/") or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)
        return response
