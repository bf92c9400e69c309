"""Who may try a password: django-axes refuses a user name and address locked after repeated failures."""
from axes.backends import AxesStandaloneBackend
from django.conf import settings


def client_address(request) -> str | None:
    """The address a login comes from. Behind the portal's proxy it is the last address of
    X-Forwarded-For, the one the proxy itself appended; earlier ones are whatever the client sent."""
    if settings.BEHIND_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


class LockoutBackend(AxesStandaloneBackend):
    """Refuses locked-out logins (the next backend checks the password).

    A login without a request (a management command, the test client's ``login``) has no address
    to throttle and no one guessing at a form, so it is passed on unchecked; every login over HTTP
    carries its request.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
