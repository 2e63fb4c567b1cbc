"""Workers on several machines share their task queue through Redis (CARTERA_REDIS_URL).

A `cartera worker --no-periodic` process (a second machine, which does not schedule) takes
the drain task that another process puts on the Redis queue, and sends the outbox; the
messages are the rows of a database both processes use. Runs against the Redis server on
127.0.0.1:6379 (skipped where there is none).
"""

from __future__ import annotations

import signal
import socket
import sys
import time
import uuid
from collections import Counter

import pytest

from tests.test_worker_crash import Scenario

REDIS = ("127.0.0.1", 6379)
MESSAGES = 60
pytestmark = pytest.mark.slow


def _redis_listens() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_listens(), reason="no Redis server on 127.0.0.1:6379")
def test_a_worker_on_another_machine_takes_the_drain_from_redis(tmp_path):
    scenario = Scenario(tmp_path, f"sqlite:///{tmp_path / 'worker.sqlite3'}", accepts_key=False)
    queue = {
        "CARTERA_REDIS_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0",
        # A queue of the test's own: nothing else on this Redis takes or sees its tasks.
        "CARTERA_HUEY_NAME": f"cartera-test-{uuid.uuid4().hex[:8]}",
    }
    scenario.env.update(queue)
    scenario.seed(MESSAGES)
    worker = scenario.start_worker("--no-periodic", "--threads", "1")
    try:
        # Another machine asks for a drain: the task travels through Redis only.
        scenario.run(
            sys.executable,
            "-c",
            "import django; django.setup();"
            "from cartera.messaging.tasks import outbox_drain_task;"
            "outbox_drain_task(3)",
            DJANGO_SETTINGS_MODULE="cartera.settings",
        )
        deadline = time.monotonic() + 120
        while len(scenario.sends()) < MESSAGES:
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "the worker took nothing from Redis"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    assert worker.returncode == 0, worker.communicate()
    final = scenario.report()
    assert {m["status"] for m in final.values()} == {"sent"} and len(final) == MESSAGES
    sends = scenario.sends()
    assert set(Counter(pk for _pid, pk, _key in sends).values()) == {1}
    # Every message left from the --no-periodic worker, not from the process that asked.
    assert {pid for pid, _pk, _key in sends} == {worker.pid}
