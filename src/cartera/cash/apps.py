from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class CashConfig(AppConfig):
    name = "cartera.cash"
    label = "cash"
    verbose_name = _("Cash application")

    def ready(self) -> None:
        from cartera.cash.matching import sqlite_functions_register

        # SQLite has no regexp_replace: matching asks it for document-number keys through a
        # Python function registered on every new connection (PostgreSQL computes them itself).
        connection_created.connect(sqlite_functions_register, dispatch_uid="cartera_cash_sqlite")
