from __future__ import annotations

import datetime
import json
import sys
import zoneinfo
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from cartera.core.commandline import cli_actor, iso_date, usage_error
from cartera.portfolio.models import Creditor
from cartera.portfolio.queries import CreditorNotFound, creditor_resolve
from cartera.strategy.defaults import strategy_defaults_ensure
from cartera.strategy.run import RunRefused, RunReport, run_execute


class Command(BaseCommand):
    help = "The daily cycle: episodes, stages, promises, and the strategy steps due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=iso_date, help="default: today in the creditor's zone")
        parser.add_argument("--from", dest="date_from", type=iso_date, help="replay from this day")
        parser.add_argument("--to", dest="date_to", type=iso_date, help="replay up to this day")
        parser.add_argument("--creditor", help="creditor code (default: every creditor)")
        parser.add_argument("--dry-run", action="store_true", help="decide, report, keep nothing")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            creditors = (
                [creditor_resolve(options["creditor"])]
                if options["creditor"]
                else list(Creditor.objects.order_by("code"))
            )
        except CreditorNotFound as exc:
            raise usage_error(str(exc)) from exc
        if bool(options["date_from"]) != bool(options["date_to"]):
            raise usage_error(_("--from and --to go together"))
        if options["date_from"] and options["as_of"]:
            raise usage_error(_("use either --as-of or --from/--to"))
        if options["date_from"]:
            if options["date_to"] < options["date_from"]:
                raise usage_error(_("--to is before --from"))
            days = (options["date_to"] - options["date_from"]).days
            dates = [options["date_from"] + datetime.timedelta(days=n) for n in range(days + 1)]
        else:
            dates = [options["as_of"]] if options["as_of"] else [None]
        actor = cli_actor()
        for creditor in creditors:
            strategy_defaults_ensure(creditor=creditor, actor=actor)
        for day in dates:
            total: RunReport | None = None
            for creditor in creditors:
                as_of = (
                    day or timezone.now().astimezone(zoneinfo.ZoneInfo(creditor.timezone)).date()
                )
                try:
                    report = run_execute(
                        creditor=creditor, as_of=as_of, actor=actor, dry_run=options["dry_run"]
                    )
                except RunRefused as exc:
                    self.stderr.write(str(exc))
                    sys.exit(4)
                if total is None:
                    total = report
                    if len(creditors) > 1:
                        total.creditor = None
                else:
                    total.add(report)
            if total is None:
                self.stderr.write(_("no creditor yet: cartera creditor add CODE …"))
                sys.exit(4)
            self._print(total, options["format"], options["dry_run"])

    def _print(self, report: RunReport, fmt: str, dry_run: bool) -> None:
        if fmt == "json":
            # One object per line, so a replay (--from/--to) is a stream of JSON lines.
            sys.stdout.write(json.dumps(report.as_json(), ensure_ascii=False) + "\n")
            return
        data = report.as_json()
        prefix = _("[dry run] ") if dry_run else ""
        head = prefix + _("run %(as_of)s %(creditor)s") % {
            "as_of": data["as_of"],
            "creditor": data["creditor"] or _("all creditors"),
        }
        if data["already_ran"]:
            head += " " + _("(already ran: promises and cures re-decided, no new actions)")
        self.stdout.write(head)
        self.stdout.write(
            "  "
            + _(
                "accounts evaluated %(evaluated)s, paused %(paused)s, new delinquent "
                "%(delinquent)s, episodes opened %(opened)s, cured %(cured)s"
            )
            % {
                "evaluated": f"{data['accounts_evaluated']:,}",
                "paused": f"{data['accounts_paused']:,}",
                "delinquent": f"{data['new_delinquent']:,}",
                "opened": f"{data['episodes_opened']:,}",
                "cured": f"{data['episodes_cured']:,}",
            }
        )
        for code, count in data["actions"].items():
            self.stdout.write(f"  {code:<26} {count:>8,}")
        for code, count in data["skipped"].items():
            self.stdout.write(f"  {code:<26} {count:>8,} " + _("skipped"))
