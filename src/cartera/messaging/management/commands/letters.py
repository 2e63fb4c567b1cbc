from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cartera.core.commandline import cli_actor, iso_date, print_json, usage_error
from cartera.messaging.letters import LetterError, letter_batch_build, letter_batch_confirm_printed
from cartera.messaging.models import LetterBatch
from cartera.portfolio.queries import CreditorNotFound, creditor_resolve


def _state(batch: LetterBatch) -> str:
    if batch.printed_at:
        return "printed"
    if batch.built_at:
        return "built"
    if batch.closed_at:
        return "closed"
    return "open"


def _row(batch: LetterBatch) -> dict[str, Any]:
    return {
        "id": batch.pk,
        "creditor": batch.creditor.code,
        "day": batch.day.isoformat(),
        "state": _state(batch),
        "letters": batch.letters,
        "pages": batch.pages,
        "file": batch.file,
        "printed_at": batch.printed_at.isoformat() if batch.printed_at else None,
        "printed_by": batch.printed_by,
    }


class Command(BaseCommand):
    help = "Build the printable file of the day's letters and confirm batches printed."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        build = sub.add_parser(
            "build", help="write the PDF of each letter batch not built yet (up to --day)"
        )
        build.add_argument("--creditor", help="creditor code (default: every creditor)")
        build.add_argument(
            "--day",
            type=iso_date,
            help="only this day's batches, YYYY-MM-DD (default: up to today)",
        )
        build.add_argument("--format", choices=["text", "json"], default="text")
        printed = sub.add_parser(
            "printed", help="confirm a batch printed: its letters count as sent"
        )
        printed.add_argument("batch", type=int, help="the batch number (cartera letters list)")
        listing = sub.add_parser("list", help="list letter batches")
        listing.add_argument("--creditor", help="creditor code (default: every creditor)")
        listing.add_argument("--format", choices=["text", "json"], default="text")

    def _batches(self, options: dict[str, Any]) -> Any:
        batches = LetterBatch.objects.select_related("creditor")
        if options.get("creditor"):
            try:
                creditor = creditor_resolve(options["creditor"])
            except CreditorNotFound as exc:
                raise usage_error(str(exc)) from exc
            batches = batches.filter(creditor=creditor)
        return batches

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "printed":
            batch = (
                LetterBatch.objects.select_related("creditor").filter(pk=options["batch"]).first()
            )
            if batch is None:
                raise usage_error(
                    _("there is no letter batch %(batch)s") % {"batch": options["batch"]}
                )
            try:
                count = letter_batch_confirm_printed(batch=batch, actor=cli_actor())
            except LetterError as exc:
                raise usage_error(str(exc)) from exc
            self.stdout.write(
                _("batch %(batch)s (%(creditor)s %(day)s): %(count)s letters marked sent")
                % {
                    "batch": batch.pk,
                    "creditor": batch.creditor.code,
                    "day": batch.day,
                    "count": count,
                }
            )
            return
        batches = self._batches(options)
        if action == "list":
            rows = [_row(b) for b in batches.order_by("-day", "-pk")[:200]]
            if options["format"] == "json":
                print_json(rows)
                return
            if not rows:
                self.stdout.write(_("no letter batches yet"))
            for r in rows:
                self.stdout.write(
                    f"{r['id']:>6} {r['creditor']:<12} {r['day']} {r['state']:<8} "
                    f"{r['letters']:>6} letters {r['pages']:>6} pages  {r['file']}"
                )
            return
        pending = batches.filter(built_at__isnull=True, printed_at__isnull=True)
        if options["day"]:
            pending = pending.filter(day=options["day"])
        else:
            pending = pending.filter(Q(day__lte=timezone.localdate()))
        built = []
        for batch in pending.order_by("day", "pk"):
            try:
                letter_batch_build(batch=batch)
            except LetterError as exc:
                raise usage_error(str(exc)) from exc
            batch.refresh_from_db()
            built.append(_row(batch))
        if options["format"] == "json":
            print_json(built)
            return
        if not built:
            self.stdout.write(_("no letter batch to build"))
        for r in built:
            self.stdout.write(
                _(
                    "batch %(batch)s (%(creditor)s %(day)s): %(letters)s letters, %(pages)s "
                    "pages -> %(file)s"
                )
                % {
                    "batch": r["id"],
                    "creditor": r["creditor"],
                    "day": r["day"],
                    "letters": r["letters"],
                    "pages": r["pages"],
                    "file": r["file"] or _("(no letters)"),
                }
            )
