from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerformanceConfig(AppConfig):
    name = "performance"
    verbose_name = _("Performance")

    def ready(self):
        from clients.signals import business_data_changed

        business_data_changed.connect(_recompute_open_appraisals, dispatch_uid="performance.late_data")


def _recompute_open_appraisals(sender, months, **kwargs):
    from performance.appraisals import appraisals_refresh_for_months

    appraisals_refresh_for_months(months=months)
