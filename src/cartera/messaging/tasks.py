"""Background jobs of messaging, run by Huey's consumer (`cartera worker`).

The truth is in the `Message` rows, never in Huey's results: a task that is lost, repeated or
run on another machine changes nothing that the rows do not allow (claims are conditional
updates, expired leases are settled once).

- `outbox_tick` (every minute, on the one consumer that runs periodic tasks) starts
  `CARTERA_WORKER_DRAINS` drains; any consumer of the queue may take them.
- `outbox_drain_task` sends what is due, then looks again every `CARTERA_OUTBOX_POLL_SECONDS`
  for most of a minute, until the next tick replaces it.
- `outbox_leases_task` (every minute) settles messages whose worker died while holding them.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from cartera.messaging.dispatch import DrainCounts, outbox_drain
from cartera.messaging.outbox import outbox_expire_leases, worker_id_new

log = logging.getLogger("cartera.worker")

STOP = threading.Event()
"""Set when the worker is asked to stop: drains finish the message in hand and return."""

DRAIN_SECONDS = 50.0
"""How long one drain keeps looking for work; the next tick (a minute apart) starts another."""


@db_task(expires=30)
def outbox_drain_task(seconds: float = DRAIN_SECONDS) -> dict[str, int]:
    """Send what is due, then poll for new messages until `seconds` have passed."""
    worker = worker_id_new()
    until = time.monotonic() + seconds
    counts = DrainCounts()
    poll = float(settings.CARTERA_OUTBOX_POLL_SECONDS)
    while not STOP.is_set() and time.monotonic() < until:
        done = outbox_drain(worker_id=worker, stop=STOP, until=until)
        counts.add(done)
        if done.total() == 0:
            STOP.wait(min(poll, max(0.0, until - time.monotonic())))
    if counts.total():
        log.info("outbox drain %s: %s", worker, counts.as_dict())
    return counts.as_dict()


@db_periodic_task(crontab(minute="*"), expires=30)
def outbox_tick() -> None:
    for _ in range(max(1, int(settings.CARTERA_WORKER_DRAINS))):
        outbox_drain_task()


@db_periodic_task(crontab(minute="*"), expires=30)
def outbox_leases_task() -> dict[str, int]:
    expired = outbox_expire_leases()
    if expired.total():
        log.warning(
            "expired leases: %s back in the queue, %s retried with their key, %s unknown",
            expired.requeued,
            expired.retried,
            expired.unknown,
        )
    return {"requeued": expired.requeued, "retried": expired.retried, "unknown": expired.unknown}
