"""A worker killed in the middle of a batch loses nothing and sends nothing twice.

Real `cartera worker` processes work on a database of their own (an SQLite file here, and a
PostgreSQL database in the PostgreSQL pass), through a backend that records every hand-over
to a file the way a provider would see it (tests/outbox_scenario.py). The worker is killed
with SIGKILL while a batch is in its hands; other workers finish the job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.outbox_scenario import read_log

ROOT = Path(__file__).resolve().parents[1]
LEASE_SECONDS = 10
GROUP = 5  # messages handed over per commit: at most this many may be in flight at a kill
pytestmark = pytest.mark.slow


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


class Scenario:
    """A database, an environment for the worker processes, and the send log."""

    def __init__(self, directory: Path, database_url: str, *, accepts_key: bool) -> None:
        self.log = directory / "sends.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CARTERA_HOME": str(directory / "home"),
            "CARTERA_SMS_BACKEND": "tests.outbox_scenario.RecordingBackend",
            "CARTERA_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
            "CARTERA_OUTBOX_BATCH": "25",
            "CARTERA_OUTBOX_HANDOVER_GROUP": str(GROUP),
            "SCENARIO_LOG": str(self.log),
            "SCENARIO_ACCEPTS_KEY": "1" if accepts_key else "0",
            "SCENARIO_DELAY": "0",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        }

    def run(self, *args: str, timeout: float = 300, **env: str) -> str:
        done = subprocess.run(
            args,
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"{args} failed ({done.returncode}): {done.stderr[-3000:]}"
        return done.stdout

    def cartera(self, *args: str, **env: str) -> str:
        return self.run(sys.executable, "-m", "cartera", *args, **env)

    def start_worker(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "cartera", "worker", *args],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def seed(self, messages: int) -> None:
        self.cartera("migrate", "--verbosity", "0")
        self.run(sys.executable, "tests/outbox_scenario.py", "seed", "--messages", str(messages))

    def report(self) -> dict[str, dict[str, Any]]:
        return json.loads(self.run(sys.executable, "tests/outbox_scenario.py", "report"))

    def sends(self) -> list[tuple[int, int, str]]:
        return read_log(self.log)

    def wait_for_sends(self, count: int, worker: subprocess.Popen[str], limit: float = 120) -> None:
        deadline = time.monotonic() + limit
        while len(self.sends()) < count:
            assert worker.poll() is None, f"the worker ended early: {worker.communicate()}"
            assert time.monotonic() < deadline, "the worker sends nothing"
            time.sleep(0.02)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'worker.sqlite3'}"
        return
    server = _postgres_url()
    if server is None:
        pytest.skip("PostgreSQL variant: runs in the PostgreSQL pass (DATABASE_URL=postgres://…)")
    import psycopg

    base = os.environ.get("CARTERA_TEST_DB_NAME") or "test_cartera"
    name = f"{base}_worker_{uuid.uuid4().hex[:8]}"
    admin_url = server.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


MESSAGES = 200


def _kill_mid_batch(scenario: Scenario) -> float:
    """Kill a worker after 60 sends (20 ms each): the third batch of 25 is in its hands.
    Returns the monotonic time by which every lease it held has run out."""
    worker = scenario.start_worker("--until-empty", SCENARIO_DELAY="0.02")
    scenario.wait_for_sends(60, worker)
    worker.send_signal(signal.SIGKILL)
    leases_over = time.monotonic() + LEASE_SECONDS + 1
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    return leases_over


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(database, tmp_path):
    scenario = Scenario(tmp_path, database, accepts_key=False)
    scenario.seed(MESSAGES)
    leases_over = _kill_mid_batch(scenario)

    killed = scenario.report()
    in_hands = [pk for pk, m in killed.items() if m["status"] == "sending"]
    assert in_hands, "the worker was killed between batches; the test proves nothing"
    # Another worker starts at once: while the dead worker's leases last it leaves those
    # messages alone and sends the rest.
    second = json.loads(scenario.cartera("worker", "--until-empty", "--format", "json"))
    # (The batch was claimed less than a second before the kill; a slow machine may take
    # longer than the lease to get here, and then the check would not be fair.)
    if time.monotonic() < leases_over - 3:
        held = {m["status"] for pk, m in scenario.report().items() if pk in in_hands}
        assert held == {"sending"}
    # When the leases have run out, the next worker settles them.
    _sleep_until(leases_over)
    third = json.loads(scenario.cartera("worker", "--until-empty", "--format", "json"))

    final = scenario.report()
    assert len(final) == MESSAGES
    states = Counter(m["status"] for m in final.values())
    assert set(states) <= {"sent", "unknown"}, states
    # Only the messages on the wire when the worker died may have left unnoticed.
    unknown = [pk for pk, m in final.items() if m["status"] == "unknown"]
    assert len(unknown) <= GROUP and second["unknown"] + third["unknown"] == len(unknown)
    assert all(final[pk]["handed"] for pk in unknown)
    sends = Counter(str(pk) for _pid, pk, _key in scenario.sends())
    assert max(sends.values()) == 1, "a message was sent twice"
    assert all(sends[pk] == 1 for pk, m in final.items() if m["status"] == "sent")
    # The claimed messages that were never handed over went back to the queue and left once.
    assert all(final[pk]["status"] == "sent" for pk in in_hands if pk not in unknown)


def test_a_killed_send_is_retried_with_the_same_key_where_the_channel_accepts_it(
    database, tmp_path
):
    scenario = Scenario(tmp_path, database, accepts_key=True)
    scenario.seed(MESSAGES)
    leases_over = _kill_mid_batch(scenario)
    scenario.cartera("worker", "--until-empty")
    _sleep_until(leases_over)
    scenario.cartera("worker", "--until-empty")

    final = scenario.report()
    assert {m["status"] for m in final.values()} == {"sent"}
    sends = scenario.sends()
    delivered = {key for _pid, _pk, key in sends}
    # The provider recognizes the key: every message reached the debtor exactly once.
    assert delivered == {m["key"] for m in final.values()}
    repeated = [pk for pk, n in Counter(pk for _pid, pk, _key in sends).items() if n > 1]
    assert len(repeated) <= GROUP


def test_a_long_running_worker_stops_on_sigterm_after_the_message_in_hand(tmp_path):
    scenario = Scenario(tmp_path, f"sqlite:///{tmp_path / 'worker.sqlite3'}", accepts_key=False)
    scenario.seed(100)
    worker = scenario.start_worker("--threads", "2", SCENARIO_DELAY="0.05")
    scenario.wait_for_sends(10, worker)
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    assert worker.returncode == 0, worker.communicate()

    stopped = scenario.report()
    states = Counter(m["status"] for m in stopped.values())
    assert set(states) <= {"sent", "queued"}, states  # nothing left in a worker's hands
    assert states["sent"] == len(scenario.sends())  # every hand-over was recorded
    assert states["queued"] > 0  # it stopped early
    scenario.cartera("worker", "--until-empty")
    final = scenario.report()
    assert {m["status"] for m in final.values()} == {"sent"}
    assert Counter(pk for _pid, pk, _key in scenario.sends()).most_common(1)[0][1] == 1
