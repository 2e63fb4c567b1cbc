"""Helpers the `cartera` commands share: argument types, the CLI actor, exit codes."""

from __future__ import annotations

import argparse
import datetime
import getpass
import json
import sys
from typing import Any

from django.core.management import CommandError
from django.utils.translation import gettext as _

from cartera.core.audit import Actor
from cartera.core.models import ActorType

EXIT_USAGE = 2


def iso_date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            _("'%(text)s' is not a date as YYYY-MM-DD") % {"text": text}
        ) from exc


def cli_actor() -> Actor:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(type=ActorType.SYSTEM, label=f"cli:{who}")


def usage_error(message: str) -> CommandError:
    """Wrong usage: the command-line contract reserves exit status 2 for it."""
    return CommandError(message, returncode=EXIT_USAGE)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
