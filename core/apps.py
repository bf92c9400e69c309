from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The bottom layer: money, periods, exports, errors. No models."""

    name = "core"
    verbose_name = _("Core")
