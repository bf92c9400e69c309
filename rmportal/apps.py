from django.apps import AppConfig


class RmportalConfig(AppConfig):
    """The project itself, installed only to wire what must be connected before any request."""

    name = "rmportal"
    verbose_name = "RM Portal"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from rmportal.middleware import session_renewed_at_login

        user_logged_in.connect(session_renewed_at_login, dispatch_uid="rmportal-session-renewed-at-login")
