from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "cartera.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from cartera.reports.snapshots import snapshots_after_run
        from cartera.strategy.signals import run_committed

        run_committed.connect(snapshots_after_run, dispatch_uid="reports.snapshots")
