from __future__ import annotations

import argparse
import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from cartera.core.commandline import iso_date, print_json, usage_error
from cartera.core.money import CurrencyError, minor_str, validate_currency
from cartera.negotiation.plans import (
    Frequency,
    Method,
    Plan,
    PlanError,
    default_first_date,
    plan_build,
)
from cartera.portfolio.models import Creditor


def _amount(text: str) -> Decimal:
    """A plain decimal with a point (the calculator's amounts are typed, not imported)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise argparse.ArgumentTypeError(
            _("'%(text)s' is not an amount: write it with a decimal point, e.g. 1500000.50")
            % {"text": text}
        ) from exc
    if not value.is_finite():
        raise argparse.ArgumentTypeError(_("'%(text)s' is not an amount") % {"text": text})
    return value


class Command(BaseCommand):
    help = "The schedule of a payment agreement (French or German amortization)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--principal", type=_amount, required=True, help="amount owed")
        parser.add_argument("--installments", type=int, required=True)
        parser.add_argument(
            "--frequency", choices=[f.value for f in Frequency], default=Frequency.MONTHLY.value
        )
        parser.add_argument(
            "--annual-rate",
            type=_amount,
            default=Decimal(0),
            help="effective annual rate (E.A.) in percent: 24 is 24 %% E.A.",
        )
        parser.add_argument("--down-payment", type=_amount, default=Decimal(0))
        parser.add_argument("--first-date", type=iso_date, help="default: one period after today")
        parser.add_argument("--method", choices=[m.value for m in Method], default="french")
        parser.add_argument(
            "--currency", help="ISO 4217 code (default: the currency of the only creditor)"
        )
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        currency = self._currency(options["currency"])
        frequency = Frequency(options["frequency"])
        first = options["first_date"] or default_first_date(timezone.localdate(), frequency)
        try:
            plan = plan_build(
                principal=options["principal"],
                installments=options["installments"],
                currency=currency,
                first_date=first,
                annual_rate_percent=options["annual_rate"],
                frequency=frequency,
                down_payment=options["down_payment"],
                method=Method(options["method"]),
            )
        except PlanError as exc:
            raise usage_error(str(exc)) from exc
        if options["format"] == "json":
            print_json(plan.as_json())
        else:
            self._table(plan, first)

    def _currency(self, given: str | None) -> str:
        if given:
            try:
                return validate_currency(given)
            except CurrencyError as exc:
                raise usage_error(f"--currency: {exc}") from exc
        currencies = set(Creditor.objects.values_list("currency", flat=True)[:2])
        if len(currencies) != 1:
            raise usage_error(_("--currency is needed (e.g. --currency COP)"))
        return currencies.pop()

    def _table(self, plan: Plan, first: datetime.date) -> None:
        c = plan.currency
        data = plan.as_json()
        rate = Decimal(str(data["period_rate"])) * 100
        self.stdout.write(
            _(
                "financed %(financed)s %(currency)s (principal %(principal)s, down payment "
                "%(down)s); period rate %(rate)s %%, first due %(first)s"
            )
            % {
                "financed": minor_str(plan.financed, c),
                "currency": c,
                "principal": minor_str(plan.principal, c),
                "down": minor_str(plan.down_payment, c),
                "rate": f"{rate:.6f}",
                "first": first.isoformat(),
            }
        )
        header = ("n", "due date", "payment", "interest", "principal", "balance")
        rows = [
            (
                str(i.n),
                i.due_date.isoformat(),
                minor_str(i.payment, c),
                minor_str(i.interest, c),
                minor_str(i.principal, c),
                minor_str(i.balance, c),
            )
            for i in plan.installments
        ]
        rows.append(
            (
                "",
                "total",
                minor_str(plan.total_paid - plan.down_payment, c),
                minor_str(plan.total_interest, c),
                minor_str(plan.financed, c),
                "",
            )
        )
        widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
        for row in [header, *rows]:
            cells = [
                cell.ljust(widths[k]) if k == 1 else cell.rjust(widths[k])
                for k, cell in enumerate(row)
            ]
            self.stdout.write("  ".join(cells).rstrip())
