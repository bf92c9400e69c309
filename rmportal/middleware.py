"""Project middleware: requests refused before any view sees them (control characters,
read-only accounts), idle sessions, and no caching of pages that show client data."""
from __future__ import annotations

import re
import time
from urllib.parse import unquote_plus

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from rmportal.scoping import is_read_only_account

# Control characters other than tab and line breaks: no filter holds them, and PostgreSQL
# refuses NUL in a text parameter (a 500 where the user only mistyped).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
API_PREFIX = "/api/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

RENEWED_KEY = "_renewed_at"
RENEW_AFTER_SECONDS = 60
POLL_HEADER = "X-Portal-Poll"
"""Sent by a page part that refreshes itself (a job's progress): not a sign that anyone is there."""


class ControlCharactersMiddleware:
    """Answers 400 to a query string that holds a control character (``%00`` and the like): as
    the API's JSON error (``{"detail": ..., "errors": {}}``) under /api/, as text elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if query and CONTROL_CHARACTERS.search(unquote_plus(query, errors="replace")):
            message = _("The address holds a character that is not allowed.")
            if request.path.startswith(API_PREFIX):
                return JsonResponse({"detail": message, "errors": {}}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def session_renewed_at_login(sender, request, user, **kwargs):
    """Logging in starts a fresh session: the first requests after it need not renew it."""
    if request is not None and hasattr(request, "session"):
        request.session[RENEWED_KEY] = int(time.time())


class SessionRenewalMiddleware:
    """A session ends SESSION_COOKIE_AGE (SESSION_IDLE_SECONDS) after it was last renewed, and a
    logged-in user's request renews it. At most once a minute: renewing writes the session, and a
    busy page should not write it on every request. So a session ends between one minute short of
    the idle time and the idle time after the last request. A page part that refreshes itself
    (``POLL_HEADER``) does not renew it: a page left open is not a user at work."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated and POLL_HEADER not in request.headers:
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
        if request.path_info.startswith(API_PREFIX) or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)
        return response
