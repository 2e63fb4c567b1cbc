"""The `cartera` entry point: Django's management commands under one name.

`cartera generate-portfolio …` runs the `generate_portfolio` command; anything Django knows
(`cartera migrate`, `cartera createsuperuser`) passes through unchanged.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cartera.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    argv[0] = "cartera"

    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)
