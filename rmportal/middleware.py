"""Requests refused before any view sees them."""
from __future__ import annotations

import re
from urllib.parse import unquote_plus

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

# Control characters other than tab and line breaks: no filter holds them, and PostgreSQL
# refuses NUL in a text parameter (a 500 where the user only mistyped).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


API_PREFIX = "/api/"


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
