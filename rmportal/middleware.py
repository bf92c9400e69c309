"""Project middleware: idle sessions, read-only accounts, and no caching of pages that show client data."""
import time

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from rmportal.scoping import is_read_only_account

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

RENEWED_KEY = "_renewed_at"
RENEW_AFTER_SECONDS = 60


def session_renewed_at_login(sender, request, user, **kwargs):
    """Logging in starts a fresh session: the first requests after it need not renew it."""
    if request is not None and hasattr(request, "session"):
        request.session[RENEWED_KEY] = int(time.time())


class SessionRenewalMiddleware:
    """A session ends SESSION_COOKIE_AGE (SESSION_IDLE_SECONDS) after it was last renewed, and a
    logged-in user's request renews it. At most once a minute: renewing writes the session, and a
    busy page should not write it on every request. So a session ends between one minute short of
    the idle time and the idle time after the last request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated:
            now = int(time.time())
            if now - session.get(RENEWED_KEY, 0) >= RENEW_AFTER_SECONDS:
                session[RENEWED_KEY] = now  # a changed session is saved with a fresh expiry
        return self.get_response(request)


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
