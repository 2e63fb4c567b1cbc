"""`cartera generate-portfolio`: synthetic debtors, documents and payments CSVs, by seed."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from cartera.demo.generator import COUNTRIES, DEFAULT_CURRENCY, generate_portfolio


class Command(BaseCommand):
    help = (
        "Write debtors.csv, documents.csv and payments.csv of a synthetic portfolio into --out. "
        "The same arguments always give byte-identical files."
    )
    # Only files are written: no database, so no checks or migrations are needed to run it.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--debtors", type=int, default=1000, help="number of debtors")
        parser.add_argument("--documents", type=int, default=5000, help="number of documents")
        parser.add_argument("--seed", type=int, default=1, help="random seed")
        parser.add_argument("--out", required=True, help="directory to write the files into")
        parser.add_argument(
            "--country",
            default="CO",
            help=f"one of {', '.join(COUNTRIES)} (default CO)",
        )
        parser.add_argument(
            "--as-of",
            dest="as_of",
            default=None,
            help="YYYY-MM-DD: payments up to this date, balances on it (default today)",
        )
        currencies = ", ".join(f"{c} {cur}" for c, cur in DEFAULT_CURRENCY.items())
        parser.add_argument(
            "--currency", default=None, help=f"ISO 4217 code (default the country's: {currencies})"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = None
        if options["as_of"]:
            try:
                as_of = datetime.date.fromisoformat(options["as_of"])
            except ValueError:
                raise CommandError(
                    _("--as-of '%(date)s' is not a date of the form YYYY-MM-DD")
                    % {"date": options["as_of"]},
                    returncode=2,
                ) from None
        out = Path(options["out"])
        try:
            counts = generate_portfolio(
                debtors=options["debtors"],
                documents=options["documents"],
                seed=options["seed"],
                out_dir=out,
                country=options["country"],
                as_of=as_of,
                currency=options["currency"],
            )
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        except OSError as exc:
            raise CommandError(
                _("cannot write into %(dir)s: %(error)s")
                % {"dir": out, "error": exc.strerror or exc}
            ) from exc
        for name, count in counts.items():
            self.stdout.write(
                _("%(file)s: %(count)s rows") % {"file": out / f"{name}.csv", "count": count}
            )
