from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StrategyConfig(AppConfig):
    name = "cartera.strategy"
    label = "strategy"
    verbose_name = _("Strategy")

    def ready(self) -> None:
        from cartera.messaging.gate import register_hold_source
        from cartera.strategy.holds import accounts_held_by_stage

        register_hold_source(accounts_held_by_stage)
