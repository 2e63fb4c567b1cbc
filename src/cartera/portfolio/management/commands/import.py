from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from cartera.core.commandline import cli_actor, iso_date, print_json, usage_error
from cartera.core.locales import validate_locale
from cartera.portfolio.importing.columns import parse_mapping
from cartera.portfolio.importing.debtors import DebtorImporter
from cartera.portfolio.importing.documents import DocumentImporter
from cartera.portfolio.importing.payments import PaymentImporter
from cartera.portfolio.importing.pipeline import ImportOptions, ImportResult, run_import
from cartera.portfolio.queries import CreditorNotFound, creditor_resolve

IMPORTERS = {"debtors": DebtorImporter, "documents": DocumentImporter, "payments": PaymentImporter}


class Command(BaseCommand):
    help = (
        "Load debtors, documents or payments from a CSV or XLSX file "
        "(bank statements: cartera import statement FILE)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="kind", required=True)
        for kind in IMPORTERS:
            each = sub.add_parser(kind, help=f"import {kind} from CSV or XLSX")
            each.add_argument("file")
            each.add_argument("--creditor", help="creditor code (optional with one creditor)")
            each.add_argument("--locale", help="settles ambiguous amounts and dates, e.g. es_CO")
            each.add_argument(
                "--as-of", type=iso_date, help="date of balance changes learnt from the file"
            )
            each.add_argument("--map", dest="mapping", help="'Header=field,Other=field'")
            each.add_argument("--dry-run", action="store_true", help="report without writing")
            each.add_argument(
                "--all-or-nothing",
                action="store_true",
                help="land nothing when any row is rejected",
            )
            each.add_argument("--format", choices=["text", "json"], default="text")
            if kind == "documents":
                each.add_argument(
                    "--full-snapshot",
                    action="store_true",
                    help="(balance mode erp) close open documents missing from the file",
                )

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["kind"]
        path = Path(options["file"])
        try:
            creditor = creditor_resolve(options["creditor"])
            mapping = parse_mapping(options["mapping"]) if options["mapping"] else None
            locale = validate_locale(options["locale"]) if options["locale"] else None
        except (CreditorNotFound, ValueError) as exc:
            raise usage_error(str(exc)) from exc
        known = IMPORTERS[kind].columns
        unknown = sorted(set((mapping or {}).values()) - set(known))
        if unknown:
            raise usage_error(
                _("--map: %(unknown)s is not a %(kind)s field; the fields are %(fields)s")
                % {"unknown": ", ".join(unknown), "kind": kind, "fields": ", ".join(known)}
            )
        import_options = ImportOptions(
            locale=locale,
            as_of=options["as_of"],
            mapping=mapping,
            dry_run=options["dry_run"],
            all_or_nothing=options["all_or_nothing"],
            full_snapshot=options.get("full_snapshot", False),
        )
        show_progress = sys.stderr.isatty() and options["format"] == "text"

        def progress(rows: int) -> None:
            sys.stderr.write("\r  " + _("%(rows)s rows…") % {"rows": f"{rows:,}"})
            sys.stderr.flush()

        result = run_import(
            IMPORTERS[kind],
            creditor=creditor,
            path=path,
            actor=cli_actor(),
            options=import_options,
            progress=progress if show_progress else None,
        )
        if show_progress:
            sys.stderr.write("\r")
        if options["format"] == "json":
            print_json(result.as_json())
        else:
            self._print_text(result, creditor.code)
        if result.exit_code:
            sys.exit(result.exit_code)

    def _print_text(self, result: ImportResult, creditor: str) -> None:
        prefix = _("[dry run] ") if result.dry_run else ""
        name = Path(result.file).name
        rejected_file = _("rejected rows and reasons: %(path)s") % {"path": result.rejected_file}
        if result.message and not result.landed:
            self.stderr.write(
                prefix
                + _("%(file)s: refused: %(reason)s") % {"file": name, "reason": result.message}
            )
            if result.rejected_file:
                self.stderr.write(rejected_file)
            return
        self.stdout.write(
            prefix
            + _(
                "%(file)s → %(creditor)s: %(rows)s rows: created %(created)s, updated "
                "%(updated)s, unchanged %(unchanged)s, rejected %(rejected)s"
            )
            % {
                "file": name,
                "creditor": creditor,
                "rows": f"{result.rows_read:,}",
                "created": f"{result.created:,}",
                "updated": f"{result.updated:,}",
                "unchanged": f"{result.unchanged:,}",
                "rejected": f"{result.rejected:,}",
            }
        )
        if result.debtors:
            self.stdout.write(
                _(
                    "debtors from the file's debtor columns: created %(created)s, "
                    "updated %(updated)s"
                )
                % {
                    "created": f"{result.debtors['created']:,}",
                    "updated": f"{result.debtors['updated']:,}",
                }
            )
        if result.closed:
            self.stdout.write(
                _("closed %(count)s documents missing from the snapshot")
                % {"count": f"{result.closed:,}"}
            )
        if result.ignored_columns:
            self.stdout.write(
                _("ignored columns: %(columns)s") % {"columns": ", ".join(result.ignored_columns)}
            )
        if result.rejected_file:
            self.stdout.write(rejected_file)
