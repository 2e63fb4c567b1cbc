from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _defaults_after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    from cartera.workdesk.defaults import outcome_defaults_ensure

    outcome_defaults_ensure(using=kwargs.get("using", "default"))


class WorkdeskConfig(AppConfig):
    name = "cartera.workdesk"
    label = "workdesk"
    verbose_name = _("Workdesk")

    def ready(self) -> None:
        # Connects the login signal that starts the idle clock with the session.
        from cartera.workdesk import middleware  # noqa: F401

        # Connected for the workdesk only: its tables exist by then.
        post_migrate.connect(
            _defaults_after_migrate, sender=self, dispatch_uid="cartera_workdesk_defaults"
        )
