"""A database of queued messages for worker processes, and a backend that records each send.

Used by the crash and parallel-worker tests, which run real `cartera worker` processes:

    python tests/outbox_scenario.py seed --messages 200 --channel sms
    python tests/outbox_scenario.py report            # JSON: every message's state

`RecordingBackend` (CARTERA_SMS_BACKEND=tests.outbox_scenario.RecordingBackend) plays the
provider: every hand-over appends "pid message-id key" to $SCENARIO_LOG (flushed and synced
before the backend returns, so a killed worker cannot lose a line), then waits
$SCENARIO_DELAY seconds, the time a provider takes to answer. With SCENARIO_ACCEPTS_KEY=1 it
declares that it recognizes idempotency keys, like a provider that documents it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cartera.settings")
    import django

    django.setup()

from cartera.messaging.backends.base import ChannelBackend, SendResult  # noqa: E402

PERMISSIVE_COUNTRY = "ZZ"
"""The scenario's debtors live where a test rule allows contacts at any hour, as often as
needed: the gate lets everything through whatever the real clock says."""


class RecordingBackend(ChannelBackend):
    def __init__(self, channel: str) -> None:
        super().__init__()
        self.channel = channel  # type: ignore[misc]
        self.accepts_idempotency_key = os.environ.get("SCENARIO_ACCEPTS_KEY") == "1"
        self.log = Path(os.environ["SCENARIO_LOG"])
        self.delay = float(os.environ.get("SCENARIO_DELAY", "0"))

    def send(self, message: Any, rendered: Any) -> SendResult:
        line = f"{os.getpid()} {message.pk} {message.idempotency_key}\n"
        with self.log.open("a") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())
        if self.delay:
            time.sleep(self.delay)
        return SendResult(provider_id=f"rec-{message.pk}")


def read_log(path: Path) -> list[tuple[int, int, str]]:
    """(pid, message id, key) per recorded send; a torn last line is not a send."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            rows.append((int(parts[0]), int(parts[1]), parts[2]))
    return rows


def seed(messages: int, channel: str) -> None:
    from cartera.core.audit import Actor
    from cartera.messaging.models import ContactRule
    from cartera.portfolio.services import creditor_create
    from tests.messaging_helpers import accounts, messaging_ready, queue

    messaging_ready()
    ContactRule.objects.update_or_create(
        country=PERMISSIVE_COUNTRY,
        debtor_kind="",
        active=True,
        defaults={
            "name": "Worker tests: always allowed",
            "source": "tests/outbox_scenario.py",
            "hours": {str(day): [["00:00", "24:00"]] for day in range(1, 8)},
            "no_holidays": False,
        },
    )
    creditor = creditor_create(
        code="CRASH", name="Crash Test", country="CO", currency="COP", actor=Actor.system("seed")
    )
    debtors = accounts(creditor, messages, country=PERMISSIVE_COUNTRY, prefix="W")
    queue(debtors, channel, key_prefix="scenario")


def report() -> dict[str, Any]:
    from cartera.messaging.models import Message

    rows = Message.objects.order_by("pk").values_list(
        "pk", "status", "attempts", "handed_at", "idempotency_key"
    )
    return {
        str(pk): {
            "status": status,
            "attempts": attempts,
            "handed": handed is not None,
            "key": key,
        }
        for pk, status, attempts, handed, key in rows
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    seeding = commands.add_parser("seed")
    seeding.add_argument("--messages", type=int, required=True)
    seeding.add_argument("--channel", default="sms")
    commands.add_parser("report")
    args = parser.parse_args()
    if args.command == "seed":
        seed(args.messages, args.channel)
    else:
        print(json.dumps(report()))


if __name__ == "__main__":
    main()
