from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "Production web server (gunicorn): collects static files, migrates, then serves."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("CARTERA_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("CARTERA_WEB_WORKERS", "3"))
        )
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.SECRET_KEY == settings.INSECURE_DEV_KEY:
            raise CommandError(
                _(
                    "CARTERA_SECRET_KEY is not set: a production server needs its own secret "
                    "key (see docs/deployment.md)"
                )
            )
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=1)
        call_command("collectstatic", interactive=False, verbosity=0)
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "cartera.wsgi:application",
            "--bind",
            options["bind"],
            "--workers",
            str(options["workers"]),
            "--access-logfile",
            "-",
        ]
        os.execv(sys.executable, argv)
