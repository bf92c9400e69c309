"""Request rates per API token (per user; session users count against the same budget)."""
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class TokenRateThrottle(UserRateThrottle):
    """``UserRateThrottle`` with its rate read from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"]``
    at every request rather than once at import, so that a settings override takes effect; no
    rate configured means no throttling (the test settings run without one)."""

    scope = "user"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
