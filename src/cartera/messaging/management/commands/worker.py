"""`cartera worker`: send the outbox and run the background jobs.

    cartera worker --until-empty [--format json]   send what is due now, print counts, exit 0
    cartera worker                                  run until stopped (Huey's consumer)

A stop signal (SIGTERM, or Ctrl-C) lets the message in hand finish and be recorded; messages
claimed but not yet handed over go back to the queue.
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _

from cartera.core.commandline import print_json, usage_error
from cartera.messaging.dispatch import DrainCounts, outbox_drain
from cartera.messaging.outbox import outbox_expire_leases, worker_id_new


def _stop_on_signals() -> None:
    from cartera.messaging.tasks import STOP

    def stop(signum: int, frame: FrameType | None) -> None:
        STOP.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


class Command(BaseCommand):
    help = (
        "Send the outbox through the compliance gate and the channel backends. With "
        "--until-empty: send what is due now and exit; without: run until stopped, with the "
        "periodic jobs (Huey)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--until-empty",
            action="store_true",
            help="send what is due now, print the counts and exit",
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--batch", type=int, default=None, help="messages claimed at a time (default: settings)"
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="Huey worker threads of this process (default CARTERA_WORKER_THREADS)",
        )
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="do not run the periodic jobs here (every machine but one, see the docs)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch = options["batch"]
        if batch is not None and batch < 1:
            raise usage_error(_("--batch must be at least 1"))
        if options["until_empty"]:
            self._until_empty(batch, options["format"])
            return
        self._consume(options)

    def _until_empty(self, batch: int | None, output: str) -> None:
        from cartera.messaging.tasks import STOP

        _stop_on_signals()
        worker = worker_id_new()
        started = time.perf_counter()
        expired = outbox_expire_leases()
        counts = outbox_drain(worker_id=worker, batch=batch, stop=STOP)
        counts.add(
            DrainCounts(unknown=expired.unknown, requeued=expired.requeued + expired.retried)
        )
        seconds = round(time.perf_counter() - started, 3)
        if output == "json":
            print_json({"worker": worker, **counts.as_dict(), "seconds": seconds})
            return
        self.stdout.write(
            _(
                "sent %(sent)s, letters to print %(letters)s, scheduled %(scheduled)s, "
                "blocked %(blocked)s, failed %(failed)s, cancelled %(cancelled)s, "
                "retrying %(retrying)s, unknown %(unknown)s"
            )
            % counts.as_dict()
        )

    def _consume(self, options: dict[str, Any]) -> None:
        import logging

        from huey.consumer import Consumer
        from huey.consumer_options import ConsumerConfig
        from huey.contrib.djhuey import HUEY

        from cartera.messaging.tasks import STOP, outbox_drain_task

        class GracefulConsumer(Consumer):
            """Huey's consumer, but SIGTERM also lets the message in hand finish."""

            def _set_signal_handlers(self) -> None:
                super()._set_signal_handlers()
                signal.signal(signal.SIGTERM, self._stop_gracefully)
                signal.signal(signal.SIGINT, self._stop_gracefully)

            def _stop_gracefully(self, signum: int, frame: FrameType | None) -> None:
                STOP.set()
                self._received_signal = True
                self._restart = False
                self._graceful = True

        autodiscover_modules("tasks")
        consumer_options = dict(settings.HUEY.get("consumer", {}))  # type: ignore[call-overload]
        if options["threads"]:
            consumer_options["workers"] = options["threads"]
        if options["no_periodic"]:
            consumer_options["periodic"] = False
        config = ConsumerConfig(**consumer_options)
        config.validate()
        logger = logging.getLogger("huey")
        if not logger.handlers:
            config.setup_logger(logger)
        consumer = GracefulConsumer(HUEY, **config.values)
        # Start sending at once rather than at the next minute's tick.
        outbox_drain_task()
        self.stderr.write(
            _("cartera worker: %(threads)s thread(s), periodic jobs %(periodic)s; stop with Ctrl-C")
            % {
                "threads": config.workers,
                "periodic": _("on") if config.periodic else _("off"),
            }
        )
        sys.stderr.flush()
        consumer.run()
