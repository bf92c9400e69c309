from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerformanceConfig(AppConfig):
    name = "performance"
    verbose_name = _("Performance")

    def ready(self):
        from clients.signals import business_data_changed

        business_data_changed.connect(_recompute_open_appraisals, dispatch_uid="performance.late_data")


def _recompute_open_appraisals(sender, months, **kwargs):
    """Late business data recomputes the open appraisals in a worker, not in the request or the
    import that brought it (DOMAIN 3.3)."""
    from performance.tasks import late_data_recompute_queue

    late_data_recompute_queue(months)
