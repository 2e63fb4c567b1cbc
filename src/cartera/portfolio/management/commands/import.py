from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

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
                f"--map: {', '.join(unknown)} is not a {kind} field; the fields are "
                f"{', '.join(known)}"
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
            sys.stderr.write(f"\r  {rows:,} rows…")
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
        prefix = "[dry run] " if result.dry_run else ""
        name = Path(result.file).name
        if result.message and not result.landed:
            self.stderr.write(f"{prefix}{name}: refused: {result.message}")
            if result.rejected_file:
                self.stderr.write(f"rejected rows and reasons: {result.rejected_file}")
            return
        self.stdout.write(
            f"{prefix}{name} → {creditor}: {result.rows_read:,} rows: "
            f"created {result.created:,}, updated {result.updated:,}, "
            f"unchanged {result.unchanged:,}, rejected {result.rejected:,}"
        )
        if result.debtors:
            self.stdout.write(
                f"debtors from the file's debtor columns: created "
                f"{result.debtors['created']:,}, updated {result.debtors['updated']:,}"
            )
        if result.closed:
            self.stdout.write(f"closed {result.closed:,} documents missing from the snapshot")
        if result.ignored_columns:
            self.stdout.write(f"ignored columns: {', '.join(result.ignored_columns)}")
        if result.rejected_file:
            self.stdout.write(f"rejected rows and reasons: {result.rejected_file}")
