from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from cartera.core.commandline import cli_actor, print_json, usage_error
from cartera.portfolio.models import BalanceMode, Creditor
from cartera.portfolio.services import PortfolioError, creditor_create


class Command(BaseCommand):
    help = "Create and list creditors (the companies that are owed)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="create a creditor")
        add.add_argument("code", help="short code, e.g. ACME")
        add.add_argument("--name", required=True)
        add.add_argument("--country", required=True, help="ISO country code, e.g. CO, MX, ES")
        add.add_argument("--currency", required=True, help="ISO 4217 code, e.g. COP, MXN, EUR")
        add.add_argument("--locale", help="e.g. es_CO (default: from the country)")
        add.add_argument("--timezone", help="e.g. America/Bogota (default: from the country)")
        add.add_argument("--tax-id", default="")
        add.add_argument(
            "--balance-mode",
            choices=BalanceMode.values,
            default=BalanceMode.LEDGER,
            help="ledger: Cartera records payments (default); erp: the ERP sends open balances",
        )
        listing = sub.add_parser("list", help="list creditors")
        listing.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "add":
            try:
                creditor = creditor_create(
                    code=options["code"],
                    name=options["name"],
                    country=options["country"],
                    currency=options["currency"],
                    locale=options["locale"],
                    timezone=options["timezone"],
                    tax_id=options["tax_id"],
                    balance_mode=options["balance_mode"],
                    actor=cli_actor(),
                )
            except PortfolioError as exc:
                raise usage_error(str(exc)) from exc
            self.stdout.write(
                _(
                    "creditor %(code)s created: %(name)s, %(country)s, %(currency)s, "
                    "%(locale)s, %(timezone)s, balance mode %(mode)s"
                )
                % {
                    "code": creditor.code,
                    "name": creditor.name,
                    "country": creditor.country,
                    "currency": creditor.currency,
                    "locale": creditor.locale,
                    "timezone": creditor.timezone,
                    "mode": creditor.balance_mode,
                }
            )
            return
        creditors = list(Creditor.objects.order_by("code"))
        if options["format"] == "json":
            print_json(
                [
                    {
                        "code": c.code,
                        "name": c.name,
                        "country": c.country,
                        "currency": c.currency,
                        "locale": c.locale,
                        "timezone": c.timezone,
                        "balance_mode": c.balance_mode,
                    }
                    for c in creditors
                ]
            )
            return
        if not creditors:
            self.stdout.write(_("no creditors yet: cartera creditor add CODE --name … --country …"))
        for c in creditors:
            self.stdout.write(
                f"{c.code:<12} {c.name:<40} {c.country} {c.currency} {c.locale:<6} "
                f"{c.timezone:<22} {c.balance_mode}"
            )
