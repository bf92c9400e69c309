"""Forms that move money or state are done once, however often they are posted (a double click,
a reload of the answer, a resent request).

Such a form renders ``{% form_token %}`` (clients/templatetags/form_tokens.py): a hidden field
with a random one-time token. ``OneTimeFormMiddleware`` runs the view of a post that carries one
inside a transaction that first stores the token (FormSubmission, unique): the token is spent in
the same transaction as whatever the view's services write. When the view answers with a
redirect (it did what was asked), the redirect is kept as the outcome; any other answer (the form
shown again with its errors, a preview) frees the token. A post whose token was spent is answered
with the first post's redirect and a message that it was already done; a second post sent while
the first still runs waits for it (the unique index), then gets the same answer.

Forms whose view queues background work (an upload, "run now") carry no token: their task is
published when the view's own transaction commits, inside the view, so that the view can answer
that the worker is unreachable; a second click queues a second run, which waits for the first.
"""
from __future__ import annotations

import datetime as dt
import secrets

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext as _

from clients.models import FormSubmission
from rmportal.errors import ApplicationError

FIELD = "form_token"
KEEP_FOR = dt.timedelta(days=7)
"""Spent tokens are forgotten after this long (a form left open longer is done again)."""
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def form_token_new() -> str:
    return secrets.token_urlsafe(24)


class _Spent(Exception):
    pass


def form_post_once(request, token: str, view):
    """Answers the post by ``view()`` once per ``token``; a spent token by the first outcome."""
    token = token[:64]
    spent = FormSubmission.objects.filter(token=token, user=request.user).first()
    if spent is not None:
        return _replay(request, spent)
    response = None
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    submission = FormSubmission.objects.create(token=token, user=request.user)
            except IntegrityError:  # sent twice at once: the first has committed by now
                raise _Spent from None
            response = view()
            if response.status_code in REDIRECTS:
                submission.outcome_url = response["Location"][:2000]
                submission.save(update_fields=["outcome_url"])
            else:  # nothing was done (the form came back with its errors): the token is free again
                submission.delete()
    except _Spent:
        spent = FormSubmission.objects.filter(token=token, user=request.user).first()
        if spent is None:  # another user's token: nothing of theirs is shown
            return HttpResponseRedirect(request.get_full_path())
        return _replay(request, spent)
    except ApplicationError as exc:
        if response is None:
            raise
        # What the view did is committed; only something queued to follow the commit failed (its
        # own service recorded that): the user is told on the page the view answered with.
        messages.error(request, exc.message)
    return response


def _replay(request, spent: FormSubmission):
    messages.info(request, _("This form had already been sent; it was done once, not again."))
    return HttpResponseRedirect(spent.outcome_url or request.get_full_path())


def form_submissions_forget(*, now: dt.datetime | None = None) -> int:
    """Forgets the tokens spent more than ``KEEP_FOR`` ago. Returns how many."""
    now = now or timezone.now()
    deleted, _by_model = FormSubmission.objects.filter(created_at__lt=now - KEEP_FOR).delete()
    return deleted


class OneTimeFormMiddleware:
    """Runs the view of a page post that carries a form token through ``form_post_once``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or not request.user.is_authenticated:
            return None
        if request.content_type not in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            return None  # the API's JSON bodies are not forms
        token = request.POST.get(FIELD)
        if not token:
            return None
        return form_post_once(request, token, lambda: view_func(request, *view_args, **view_kwargs))
