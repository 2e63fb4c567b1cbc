"""Two workers draining the same outbox on PostgreSQL send every message exactly once.

Two `cartera worker --until-empty` processes start together on a database of 2,000 queued
messages; the recording backend (tests/outbox_scenario.py) writes down every hand-over with
the process that made it.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.test_worker_crash import Scenario, _postgres_url, database  # noqa: F401

MESSAGES = 2000
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_two_workers_in_parallel_send_each_message_exactly_once(database, tmp_path):  # noqa: F811
    assert _postgres_url() is not None  # the fixture skips otherwise
    scenario = Scenario(tmp_path, database, accepts_key=False)
    scenario.seed(MESSAGES)

    # 1 ms per send, so neither worker can drain everything before the other has started.
    workers = [
        scenario.start_worker("--until-empty", "--format", "json", SCENARIO_DELAY="0.001")
        for _ in range(2)
    ]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-3000:]
        outputs.append(json.loads(out))

    final = scenario.report()
    assert {m["status"] for m in final.values()} == {"sent"} and len(final) == MESSAGES
    sends = scenario.sends()
    per_message = Counter(pk for _pid, pk, _key in sends)
    assert len(per_message) == MESSAGES and set(per_message.values()) == {1}
    per_worker = Counter(pid for pid, _pk, _key in sends)
    assert len(per_worker) == 2 and min(per_worker.values()) > 0, per_worker
    assert sorted(o["sent"] for o in outputs) == sorted(per_worker.values())
    assert sum(o["sent"] for o in outputs) == MESSAGES
