from __future__ import annotations

import os
import socket
import subprocess
import zoneinfo
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from cartera.core.commandline import cli_actor, usage_error
from cartera.core.money import format_minor
from cartera.demo.messaging import (
    channel_destinations,
    log_tail,
    stopping_on_signals,
    waiting_messages,
    worker_environment,
    worker_start,
    worker_stop,
)
from cartera.demo.setup import (
    DEMO_PASSWORD,
    DEMO_USERS,
    demo_consents_ensure,
    demo_creditor,
    demo_portfolio_load,
    demo_users_ensure,
)
from cartera.portfolio.models import Creditor
from cartera.reports.aging import aging_report
from cartera.strategy.defaults import strategy_defaults_ensure
from cartera.strategy.run import RunRefused, run_execute


class Command(BaseCommand):
    help = (
        "Create the embedded database, load the demo portfolio and users, run the day, and "
        "serve the app with a worker that writes the messages to files under ./var/outbox."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="where to serve")
        parser.add_argument("--no-serve", action="store_true", help="set up, then exit")
        parser.add_argument(
            "--no-worker", action="store_true", help="serve without the worker (nothing is sent)"
        )
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
        consents = demo_consents_ensure(creditor, actor)
        if consents:
            self.stdout.write(
                f"recorded {consents:,} channel authorizations of the demo debtors (one in ten "
                "did not authorize SMS or WhatsApp)"
            )
        strategy_defaults_ensure(creditor=creditor, actor=actor)
        # The collectors and their assignment rule before the run: the run hands them the
        # accounts and its snapshot of the day (the reports by collector) records who holds what.
        new_users = demo_users_ensure(creditor)
        if new_users:
            self.stdout.write(f"demo users created: {', '.join(new_users)}")
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
        report = aging_report(creditors=[creditor], as_of=as_of)
        for total in report.totals:
            overdue = total.total - total.amounts["current"]
            self.stdout.write(
                f"aging {as_of}: {total.documents:,} open documents, "
                f"{format_minor(total.total, total.currency, creditor.locale)} open, "
                f"{format_minor(overdue, total.currency, creditor.locale)} overdue"
            )
        self._describe_messages(creditor)
        url = f"http://{options['addr']}/"
        self.stdout.write("")
        self.stdout.write(f"Cartera is ready at {url}")
        self.stdout.write(
            f"log in as {', '.join(DEMO_USERS)} with password '{DEMO_PASSWORD}' "
            f"(admin sees everything; the administration is at {url}admin/)"
        )
        worker_command = "cartera worker --until-empty"
        if getattr(settings, "CARTERA_DEMO", False):
            worker_command = f"CARTERA_DEMO=1 {worker_command}"
        if options["no_serve"]:
            self.stdout.write(f"to send the waiting messages now: {worker_command}")
            return
        if "CARTERA_PUBLIC_URL" not in os.environ:
            # Links in messages and previews (the opt-out page) point at this server.
            settings.CARTERA_PUBLIC_URL = f"http://{options['addr']}"
        if options["no_worker"]:
            self.stdout.write(f"no worker: send the waiting messages with {worker_command}")
            self._serve(options["addr"])
            return
        self._serve_with_worker(options["addr"])

    def _describe_messages(self, creditor: Creditor) -> None:
        """Where the messages go, how many wait, and when the contact rules let them out."""
        self.stdout.write("messages (each one also lands on its account's history):")
        for channel, where in channel_destinations():
            self.stdout.write(f"  {channel:<9} {where}")
        waiting = waiting_messages(creditor)
        if waiting:
            by_channel = ", ".join(f"{channel} {n:,}" for channel, n in waiting.items())
            self.stdout.write(
                f"outbox: {sum(waiting.values()):,} messages waiting for the worker ({by_channel})"
            )
        else:
            self.stdout.write("outbox: no message waiting for the worker")
        if creditor.country == "CO":
            now = timezone.now().astimezone(zoneinfo.ZoneInfo(creditor.timezone))
            self.stdout.write(
                "contact rules: the demo creditor is Colombian (Ley 2300 de 2023): messages go "
                "out Monday to Friday 07:00-19:00 and Saturday 08:00-15:00, never on Sundays or "
                "holidays, at most one contact a day per debtor, only through channels the "
                f"debtor authorized. It is {now:%A %H:%M} in {creditor.timezone} now; outside "
                "those hours the worker keeps the messages 'scheduled' and sends them by itself "
                "at the next allowed moment."
            )

    def _serve(self, addr: str) -> None:
        call_command("runserver", addr, use_reloader=False, use_threading=True)

    def _serve_with_worker(self, addr: str) -> None:
        log = Path(settings.CARTERA_HOME) / "worker.log"
        worker = worker_start(log, worker_environment(public_url=f"http://{addr}"))
        try:
            with stopping_on_signals():
                try:
                    self._announce_worker(worker, log)
                    self._serve(addr)
                except KeyboardInterrupt:
                    pass
        finally:
            code = worker_stop(worker)
            self.stdout.write(f"worker stopped (exit {code})")

    def _announce_worker(self, worker: subprocess.Popen[bytes], log: Path) -> None:
        try:
            worker.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.stdout.write(
                f"worker started (pid {worker.pid}, log {log}); Ctrl-C stops the app and the worker"
            )
            return
        self.stderr.write(
            f"the worker stopped at once (exit {worker.returncode}); the messages stay in the "
            f"outbox. The end of its log, {log}:\n{log_tail(log)}"
        )

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
