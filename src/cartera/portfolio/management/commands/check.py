from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from cartera.core.commandline import print_json
from cartera.portfolio.integrity import integrity_problems


class Command(BaseCommand):
    help = (
        "Integrity: every cached balance equals its ledger and no payment is over-allocated "
        "(exit 1 with the list otherwise). Also runs Django's system checks."
    )
    requires_system_checks = "__all__"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--limit", type=int, default=1000, help="problems shown per kind")

    def handle(self, *args: Any, **options: Any) -> None:
        problems = integrity_problems(limit=options["limit"])
        if options["format"] == "json":
            print_json(
                {
                    "ok": not problems,
                    "problems": [
                        {
                            "kind": p.kind,
                            "creditor": p.creditor,
                            "object": p.object,
                            "detail": p.detail,
                        }
                        for p in problems
                    ],
                }
            )
        elif problems:
            for problem in problems:
                self.stderr.write(str(problem))
            self.stderr.write(_("%(count)s problem(s) found") % {"count": len(problems)})
        else:
            self.stdout.write(
                _("ok: every balance equals its ledger; no payment is over-allocated")
            )
        if problems:
            sys.exit(1)
