"""The `cartera` entry point: Django's management commands under one name.

`cartera generate-portfolio …` runs the `generate_portfolio` command; anything Django knows
(`cartera migrate`, `cartera createsuperuser`) passes through unchanged.

The embedded installation needs no set-up step: with the default SQLite database, the
database file and its tables are created (or brought up to date) before the first command.
A configured database (PostgreSQL) is never migrated behind the operator's back: the command
stops and says to run `cartera migrate`.
"""

import os
import signal
import sys

# Commands that must run on a database as it is.
_NO_AUTO_MIGRATE = {
    "migrate",
    "makemigrations",
    "sqlmigrate",
    "showmigrations",
    "help",
    "version",
    "shell",
    "dbshell",
    "squashmigrations",
}


def _ensure_database(command: str) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor
    from django.utils.translation import gettext as _

    if command in _NO_AUTO_MIGRATE:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "sqlite":
        settings.CARTERA_HOME.mkdir(parents=True, exist_ok=True)
    executor = MigrationExecutor(connection)
    if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return
    if connection.vendor == "sqlite" and "DATABASE_URL" not in os.environ:
        name = connection.settings_dict["NAME"]
        sys.stderr.write(_("preparing the database %(name)s…") % {"name": name} + "\n")
        call_command("migrate", interactive=False, verbosity=0)
        return
    sys.stderr.write(_("the database needs its migrations first: run `cartera migrate`") + "\n")
    sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    if hasattr(signal, "SIGPIPE"):
        # `cartera aging | head` ends quietly, as Unix tools do, instead of a traceback.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cartera.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    # Bank statements are not tabular imports: `cartera import statement` has its own command.
    if argv[1:3] == ["import", "statement"]:
        argv[1:3] = ["import_statement"]
    argv[0] = "cartera"
    if argv[1:2] == ["demo"]:
        # Before the settings load: the demo writes its messages to files (settings.py).
        os.environ.setdefault("CARTERA_DEMO", "1")

    import django
    from django.core.management import execute_from_command_line

    django.setup()
    if len(argv) > 1 and not argv[1].startswith("-"):
        _ensure_database(argv[1])
    execute_from_command_line(argv)
