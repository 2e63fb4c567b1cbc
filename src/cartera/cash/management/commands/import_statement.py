"""`cartera import statement FILE`: a bank statement's credits become payments.

Exit status: 0 every line was read (whatever was matched), 3 some lines were unreadable (the
rest landed), 4 the file was refused as a whole, 2 wrong usage.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Q
from django.utils.translation import gettext as _

from cartera.cash.models import BankAccount
from cartera.cash.parsers import FORMATS, account_key
from cartera.cash.services import CashUsageError, StatementImportResult, statement_import
from cartera.core.commandline import cli_actor, print_json, usage_error
from cartera.portfolio.models import Creditor
from cartera.portfolio.queries import CreditorNotFound, creditor_resolve


class Command(BaseCommand):
    help = f"Import a bank statement ({FORMATS}); credits become payments."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # Reached as `cartera import statement`: show that name in usage and errors.
        return super().create_parser(prog_name, "import statement", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--bank-account",
            help="the creditor's account the statement is from (name or number); created "
            "when unknown",
        )
        parser.add_argument("--creditor", help="creditor code (optional with one creditor)")
        parser.add_argument("--profile", help="CSV/XLSX column profile (default: by headers)")
        parser.add_argument("--dry-run", action="store_true", help="report without writing")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def _creditor(self, code: str | None, bank_account: str | None) -> Creditor:
        try:
            return creditor_resolve(code)
        except CreditorNotFound as exc:
            if code is None and bank_account:
                # Several creditors: the named bank account may tell whose statement it is.
                key = account_key(bank_account)
                owners = (
                    BankAccount.objects.filter(
                        Q(name=" ".join(bank_account.split()))
                        | (Q(number_key=key) & ~Q(number_key=""))
                    )
                    .values_list("creditor_id", flat=True)
                    .distinct()
                )
                found = list(owners[:2])
                if len(found) == 1:
                    return Creditor.objects.get(pk=found[0])
            raise usage_error(str(exc)) from exc

    def handle(self, *args: Any, **options: Any) -> None:
        creditor = self._creditor(options["creditor"], options["bank_account"])
        try:
            result = statement_import(
                creditor=creditor,
                path=Path(options["file"]),
                actor=cli_actor(),
                bank_account=options["bank_account"],
                profile=options["profile"],
                dry_run=options["dry_run"],
            )
        except CashUsageError as exc:
            raise usage_error(str(exc)) from exc
        if options["format"] == "json":
            print_json(result.as_json())
        else:
            self._print_text(result, creditor.code)
        if result.exit_code:
            sys.exit(result.exit_code)

    def _print_text(self, result: StatementImportResult, creditor: str) -> None:
        prefix = _("[dry run] ") if result.dry_run else ""
        name = Path(result.file).name
        if result.refused:
            self.stderr.write(
                prefix
                + _("%(file)s: refused: %(reason)s") % {"file": name, "reason": result.message}
            )
            return
        kind = result.format
        if result.profile:
            kind = _("%(format)s, profile %(profile)s") % {
                "format": result.format,
                "profile": result.profile,
            }
        self.stdout.write(f"{prefix}{name} ({kind}) → {creditor}")
        for account, number, created in result.bank_accounts:
            shown = f"{account} ({number})" if number and number != account else account
            if created:
                self.stdout.write(_("bank account %(account)s: created") % {"account": shown})
            else:
                self.stdout.write(_("bank account %(account)s: known") % {"account": shown})
        self.stdout.write(
            _(
                "lines read %(lines)s: credits %(credits)s, debits %(debits)s; applied "
                "automatically %(applied)s, waiting %(waiting)s, duplicates skipped "
                "%(duplicates)s"
            )
            % {
                "lines": f"{result.lines:,}",
                "credits": f"{result.credits:,}",
                "debits": f"{result.debits:,}",
                "applied": f"{result.applied:,}",
                "waiting": f"{result.waiting:,}",
                "duplicates": f"{result.duplicates:,}",
            }
        )
        if result.unreadable:
            self.stdout.write(
                _("unreadable lines %(count)s:") % {"count": f"{len(result.unreadable):,}"}
            )
            for item in result.unreadable:
                self.stdout.write(
                    "  "
                    + _("line %(line)s: %(reason)s")
                    % {"line": item["line"], "reason": item["reason"]}
                )
