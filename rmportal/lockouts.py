"""Accounts locked after repeated wrong passwords (django-axes): the lockout page, the list HR
sees, and releasing an account."""
from __future__ import annotations

import datetime as dt
import logging

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, OuterRef, QuerySet, Subquery, Value
from django.shortcuts import render
from django.utils import timezone

logger = logging.getLogger(__name__)


def lockout_response(request, original_response=None, credentials=None):
    """The page shown instead of logging in while a user name and address are locked.

    Every attempt during the lockout restarts the wait, so it ends a cool-off after this one.
    """
    attempt_time = getattr(request, "axes_attempt_time", None) or timezone.now()
    context = {
        "username": get_client_username(request, credentials) or "",
        "locked_until": attempt_time + get_cool_off(request),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    return render(request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)


def locked_attempts(*, now: dt.datetime | None = None) -> QuerySet[AccessAttempt]:
    """User names and addresses locked now, the latest attempt first; each row carries
    ``locked_until`` and the employee's ``name`` (None for a user name nobody has)."""
    from clients.models import Employee

    now = now or timezone.now()
    cool_off = get_cool_off()
    return (AccessAttempt.objects
            .filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gt=now - cool_off)
            .annotate(locked_until=ExpressionWrapper(
                          F("attempt_time") + Value(cool_off, output_field=DurationField()), output_field=DateTimeField()),
                      name=Subquery(Employee.objects.filter(employee_no=OuterRef("username")).values("name")[:1]))
            .order_by("-attempt_time", "username"))


@transaction.atomic
def lockout_release(*, username: str, by) -> int:
    """Lets ``username`` try again from every address at once: its failed attempts are forgotten
    (the access log keeps them). Returns how many records were cleared."""
    count, _ = AccessAttempt.objects.filter(username=username).delete()
    logger.info("Login lockout of %s released by %s (%d records).", username, by.get_username(), count)
    return count
