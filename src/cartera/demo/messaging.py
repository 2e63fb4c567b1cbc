"""The demo's messages: where each channel writes, and the worker that sends them.

`cartera demo` sets CARTERA_DEMO=1 before the settings load (cartera.cli), so email, SMS and
WhatsApp go to the file backends under CARTERA_OUTBOX_DIR (default ./var/outbox) unless the
environment chose other backends. The worker is a child process, `cartera worker`, as in
production; it stops when the demo stops (Ctrl-C, SIGTERM, or the demo dying).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.db.models import Count

from cartera.messaging.letters import letters_dir
from cartera.messaging.models import WAITING_STATUSES, Message
from cartera.portfolio.models import Creditor

_FILE_EMAIL = "cartera.messaging.backends.files.EmailFileBackend"
STOP_SECONDS = 30.0
"""How long the worker has to finish the message in hand before it is killed."""


def channel_destinations() -> list[tuple[str, str]]:
    """Where each channel's messages go with the settings in force, in words."""
    outbox = Path(settings.CARTERA_OUTBOX_DIR)
    if settings.EMAIL_BACKEND == _FILE_EMAIL:
        email = f"written as .eml files under {outbox / 'email'}/<day>/"
    elif settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
        email = f"sent through the SMTP server {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    else:
        email = f"handed to {settings.EMAIL_BACKEND}"
    rows = [("email", email)]
    for channel in ("sms", "whatsapp"):
        choice = str(getattr(settings, f"CARTERA_{channel.upper()}_BACKEND"))
        if choice == "file":
            where = f"written as text files under {outbox / channel}/<day>/"
        elif choice == "http":
            url = getattr(settings, f"CARTERA_{channel.upper()}_HTTP")["url"]
            where = f"posted to {url}" if url else f"posted to CARTERA_{channel.upper()}_HTTP_URL"
        else:
            where = f"handed to {choice}"
        rows.append((channel, where))
    rows.append(
        (
            "letter",
            f"the day's print batch; `cartera letters build` writes its PDF under "
            f"{letters_dir()}/<creditor>/",
        )
    )
    return rows


def waiting_messages(creditor: Creditor) -> dict[str, int]:
    """Messages of the creditor waiting for the worker, by channel."""
    rows = (
        Message.objects.filter(creditor=creditor, status__in=WAITING_STATUSES)
        .values("channel")
        .annotate(n=Count("id"))
        .order_by("channel")
    )
    return {row["channel"]: row["n"] for row in rows}


def worker_environment(public_url: str | None = None) -> dict[str, str]:
    """The environment of the demo's worker: the demo's own home, database and backends."""
    env = dict(os.environ)
    env["CARTERA_HOME"] = str(settings.CARTERA_HOME)
    env["CARTERA_DEMO"] = "1" if getattr(settings, "CARTERA_DEMO", False) else "0"
    env.setdefault("CARTERA_OUTBOX_DIR", str(settings.CARTERA_OUTBOX_DIR))
    if public_url and "CARTERA_PUBLIC_URL" not in os.environ:
        env["CARTERA_PUBLIC_URL"] = public_url
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """Linux: the worker gets SIGTERM if the demo dies without stopping it (kill -9)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def worker_start(log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `cartera worker` in the background, its output going to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cartera", "worker"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )


def worker_stop(worker: subprocess.Popen[bytes], timeout: float = STOP_SECONDS) -> int:
    """Ask the worker to stop (SIGTERM: it finishes the message in hand), kill it if it hangs."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    return worker.returncode


def log_tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextmanager
def stopping_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the demo the way Ctrl-C does, so its worker is stopped too; and
    Ctrl-C does even where the shell started the demo with SIGINT ignored (a background job),
    since the worker always obeys it."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    wanted = [signal.SIGINT, signal.SIGTERM]
    if hasattr(signal, "SIGHUP"):
        wanted.append(signal.SIGHUP)
    previous: list[tuple[signal.Signals, Any]] = [
        (signum, signal.signal(signum, interrupt)) for signum in wanted
    ]
    try:
        yield
    finally:
        for signum, handler in previous:
            signal.signal(signum, handler)
