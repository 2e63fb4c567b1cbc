from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "cartera.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from cartera.core.roles import roles_ensure

        post_migrate.connect(roles_ensure, dispatch_uid="cartera_roles_ensure")
