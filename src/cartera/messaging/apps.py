from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "cartera.messaging"
    label = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from cartera.messaging.jurisdictions import contact_rules_ensure

        post_migrate.connect(
            contact_rules_ensure, sender=self, dispatch_uid="cartera_contact_rules_ensure"
        )
        from cartera.messaging.defaults import templates_ensure

        post_migrate.connect(templates_ensure, sender=self, dispatch_uid="cartera_templates_ensure")
        # Confirmations and reminders asked for by promises and agreements (negotiation sits
        # below messaging and announces them with signals).
        from cartera.messaging.negotiation_events import connect

        connect()
