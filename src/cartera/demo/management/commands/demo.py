from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from cartera.core.commandline import cli_actor, usage_error
from cartera.core.money import format_minor
from cartera.demo.setup import (
    DEMO_PASSWORD,
    DEMO_USERS,
    demo_creditor,
    demo_portfolio_load,
    demo_users_ensure,
)
from cartera.reports.aging import aging_report
from cartera.strategy.defaults import strategy_defaults_ensure
from cartera.strategy.run import RunRefused, run_execute


class Command(BaseCommand):
    help = "Create the embedded database, load the demo portfolio and users, and serve the app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="where to serve")
        parser.add_argument("--no-serve", action="store_true", help="set up, then exit")
        parser.add_argument("--debtors", type=int, default=2500)
        parser.add_argument("--documents", type=int, default=12000)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_serve"]:
            self._check_port_free(options["addr"])
        settings.CARTERA_HOME.mkdir(parents=True, exist_ok=True)
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"database: {settings.DATABASES['default']['NAME']}")
        call_command("migrate", interactive=False, verbosity=0)
        actor = cli_actor()
        creditor = demo_creditor(actor)
        as_of = timezone.localdate()
        loaded = demo_portfolio_load(
            creditor=creditor,
            actor=actor,
            debtors=options["debtors"],
            documents=options["documents"],
            seed=options["seed"],
            as_of=as_of,
            say=self.stdout.write,
        )
        if loaded is None:
            self.stdout.write(f"demo portfolio already loaded for {creditor.code}: reusing it")
        strategy_defaults_ensure(creditor=creditor, actor=actor)
        try:
            run = run_execute(creditor=creditor, as_of=as_of, actor=actor)
        except RunRefused as exc:
            self.stdout.write(f"daily run skipped: {exc}")
        else:
            actions = ", ".join(f"{code} {n:,}" for code, n in sorted(run.actions.items()))
            self.stdout.write(
                f"daily run {as_of}: {run.accounts_evaluated:,} accounts evaluated, "
                f"{run.accounts_paused:,} paused, {run.new_delinquent:,} new delinquent"
                + (" (already ran today)" if run.already_ran else "")
                + (f"; actions: {actions}" if actions else "")
            )
        new_users = demo_users_ensure(creditor)
        if new_users:
            self.stdout.write(f"demo users created: {', '.join(new_users)}")
        report = aging_report(creditors=[creditor], as_of=as_of)
        for total in report.totals:
            overdue = total.total - total.amounts["current"]
            self.stdout.write(
                f"aging {as_of}: {total.documents:,} open documents, "
                f"{format_minor(total.total, total.currency, creditor.locale)} open, "
                f"{format_minor(overdue, total.currency, creditor.locale)} overdue"
            )
        url = f"http://{options['addr']}/"
        self.stdout.write("")
        self.stdout.write(f"Cartera is ready at {url}")
        self.stdout.write(
            f"log in as {', '.join(DEMO_USERS)} with password '{DEMO_PASSWORD}' "
            f"(admin sees everything; the administration is at {url}admin/)"
        )
        if options["no_serve"]:
            return
        call_command("runserver", options["addr"], use_reloader=False, use_threading=True)

    @staticmethod
    def _check_port_free(addr: str) -> None:
        """Say so before loading anything when another program already listens there."""
        host, _, port = addr.rpartition(":")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host or "127.0.0.1", int(port)))
            except (OSError, ValueError) as exc:
                raise usage_error(
                    f"cannot serve on {addr} ({exc}); choose another address, e.g. "
                    "cartera demo --addr 127.0.0.1:8001 (or make demo ADDR=127.0.0.1:8001)"
                ) from exc
