"""Who may try a password: django-axes refuses a user name and address locked after repeated failures."""
from axes.backends import AxesStandaloneBackend


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
