"""Messaging benchmark: email sending rate of one worker, and gating plus rendering at scale.

    .venv/bin/python benchmarks/messaging.py [--db sqlite,postgres] [--emails 3000]
        [--messages 100000] [--batch 1000] [--out benchmarks/out]

Per database, on a fresh database (`cartera migrate`, then one creditor, debtors each with an
overdue invoice and an authorized email address, and one queued reminder each using the shipped
template `aviso_1`):

(a) **send**: `--emails` reminders go out through one `cartera worker --until-empty` process
    to a local SMTP sink (aiosmtpd, in this process, on loopback). Rate = emails the sink
    received / the worker's own drain time (its JSON `seconds`: claiming, relevance, gate,
    rendering, storing the content, SMTP, recording); the process's wall time (startup
    included) is shown too. Target: >= 100 emails/s.
(b) **decide**: `--messages` queued reminders are claimed, checked for relevance, gated and
    rendered (`outbox_claim`, `claimed_messages` and `dispatch_prepare`, the worker's own
    steps, `--batch` at a time) in one process,
    without sending, after an ANALYZE of the freshly loaded database (timed apart). Target:
    100,000 in <= 60 s.

The debtors' country has a test contact rule that allows every hour, so every message passes
the gate and is rendered (the most work per message; a real rule would stop some earlier).
Progress goes to stderr, a summary to stdout, everything to a JSON file in --out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CARTERA = str(Path(sys.executable).parent / "cartera")
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/"
DEFAULT_PG_NAME = "cartera_bench_messaging"
COUNTRY = "ZZ"  # the benchmark's own jurisdiction: a rule allowing every hour

Json = dict[str, Any]


def log(message: str) -> None:
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    sys.stderr.write(f"[{stamp}] {message}\n")
    sys.stderr.flush()


def fresh_database(kind: str, args: argparse.Namespace, out: Path, label: str) -> str:
    if kind == "sqlite":
        path = (out / f"messaging-{label}.sqlite3").resolve()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    base = args.pg_url.rstrip("/")
    name = f"{args.pg_name}_{label}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def analyze(kind: str, url: str) -> float:
    started = time.perf_counter()
    if kind == "sqlite":
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("ANALYZE")
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")
    return time.perf_counter() - started


def run(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    seconds, _cpu, stdout = run_measured(argv, env)
    return seconds, stdout


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, the process's own user + system CPU seconds, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    # communicate() has reaped the child; its CPU time is in the children's usage.
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}):\n{stderr[-3000:]}")
    return seconds, _children_cpu(), stdout


_cpu_seen = 0.0


def _children_cpu() -> float:
    """CPU seconds of the children reaped since the previous call."""
    global _cpu_seen
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    spent, _cpu_seen = total - _cpu_seen, total
    return spent


def child(argv: list[str], env: dict[str, str]) -> Json:
    """Run this file in a child process with Django set up; it prints one JSON object."""
    _seconds, out = run([sys.executable, __file__, "--child", *argv], env)
    return json.loads(out.strip().splitlines()[-1])


# --- the child side (Django set up) -----------------------------------------------------------


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cartera.settings")
    import django

    django.setup()


def child_seed(count: int) -> Json:
    from django.db import transaction

    from cartera.core.audit import Actor
    from cartera.messaging.models import ContactRule
    from cartera.messaging.services import QueueRequest, messages_queue
    from cartera.portfolio.models import ContactKind, ContactPoint, Debtor, Document
    from cartera.portfolio.services import creditor_create, references_allocate

    started = time.perf_counter()
    actor = Actor.system("benchmark")
    ContactRule.objects.update_or_create(
        country=COUNTRY,
        debtor_kind="",
        active=True,
        defaults={
            "name": "Benchmark: always allowed",
            "source": "benchmarks/messaging.py",
            "hours": {str(day): [["00:00", "24:00"]] for day in range(1, 8)},
            "no_holidays": False,
        },
    )
    creditor = creditor_create(
        code="BENCH", name="Bench S.A.S.", country="CO", currency="COP", actor=actor
    )
    due = datetime.date.today() - datetime.timedelta(days=20)
    chunk = 5000
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        with transaction.atomic():
            references = references_allocate(creditor=creditor, count=size)
            debtors = Debtor.objects.bulk_create(
                Debtor(
                    creditor=creditor,
                    external_id=f"B{start + n}",
                    name=f"Deudor Número {start + n}",
                    country=COUNTRY,
                    payment_reference=references[n],
                )
                for n in range(size)
            )
            documents = Document.objects.bulk_create(
                Document(
                    creditor=creditor,
                    debtor=debtor,
                    number=f"FV-{debtor.external_id}",
                    external_id=f"D-{debtor.external_id}",
                    issue_date=due - datetime.timedelta(days=30),
                    due_date=due,
                    currency="COP",
                    amount_minor=123_456_700 + n,
                    balance_minor=123_456_700 + n,
                    payment_reference=debtor.payment_reference,
                )
                for n, debtor in enumerate(debtors)
            )
            ContactPoint.objects.bulk_create(
                ContactPoint(
                    debtor=debtor,
                    kind=ContactKind.EMAIL,
                    value=f"{debtor.external_id.lower()}@example.com",
                    is_primary=True,
                    consent_email=True,
                )
                for debtor in debtors
            )
            messages_queue(
                requests=[
                    QueueRequest(
                        creditor_id=creditor.pk,
                        debtor_id=debtor.pk,
                        channel="email",
                        template_code="aviso_1",
                        key=f"bench:{debtor.pk}",
                        origin="aviso_1",
                        document_ids=(document.pk,),
                    )
                    for debtor, document in zip(debtors, documents, strict=True)
                ],
                actor=actor,
            )
    return {"messages": count, "seconds": round(time.perf_counter() - started, 2)}


def child_decide(batch: int) -> Json:
    from django.utils import timezone

    from cartera.messaging.dispatch import claimed_messages, dispatch_prepare
    from cartera.messaging.outbox import outbox_claim, worker_id_new

    worker = worker_id_new()
    cpu_started = time.process_time()
    claim_s = load_s = prepare_s = 0.0
    outcome: dict[str, int] = {"ready": 0, "stopped": 0}
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        ids = outbox_claim(worker_id=worker, limit=batch)
        t1 = time.perf_counter()
        if not ids:
            break
        messages = claimed_messages(ids, worker_id=worker)  # as the worker reads them
        t2 = time.perf_counter()
        prepared = dispatch_prepare(messages, now=timezone.now())
        t3 = time.perf_counter()
        claim_s += t1 - t0
        load_s += t2 - t1
        prepare_s += t3 - t2
        outcome["ready"] += len(prepared.ready)
        outcome["stopped"] += len(prepared.stopped)
    total = time.perf_counter() - started
    done = outcome["ready"] + outcome["stopped"]
    return {
        **outcome,
        "seconds": round(total, 2),
        "per_second": round(done / total, 1) if total else None,
        "claim_seconds": round(claim_s, 2),
        "load_seconds": round(load_s, 2),
        "gate_and_render_seconds": round(prepare_s, 2),
        # This process's CPU time: the database work of SQLite is in it, PostgreSQL's is not.
        "cpu_seconds": round(time.process_time() - cpu_started, 2),
    }


def child_main(argv: Sequence[str]) -> None:
    _setup_django()
    command, value = argv[0], int(argv[1])
    result = child_seed(value) if command == "seed" else child_decide(value)
    print(json.dumps(result))


# --- the SMTP sink ------------------------------------------------------------------------------


class Sink:
    """Counts what an aiosmtpd server on loopback receives."""

    def __init__(self) -> None:
        self.received = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the parent side ------------------------------------------------------------------------------


def bench_database(kind: str, args: argparse.Namespace, out: Path) -> Json:
    from aiosmtpd.controller import Controller

    result: Json = {"database": kind}
    home = out / f"home-{kind}"
    base_env = {
        **os.environ,
        "CARTERA_HOME": str(home),
        "PYTHONPATH": str(ROOT / "src"),
        "CARTERA_OUTBOX_BATCH": str(args.send_batch),
    }

    # (a) one worker sending email to an SMTP sink
    url = fresh_database(kind, args, out, "send")
    env = {**base_env, "DATABASE_URL": url}
    log(f"{kind}: migrate (send)")
    run([CARTERA, "migrate", "--verbosity", "0"], env)
    log(f"{kind}: seed {args.emails:,} email reminders")
    result["send_seed"] = child(["seed", str(args.emails)], env)
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        send_env = {
            **env,
            "CARTERA_EMAIL_BACKEND": "smtp",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
        }
        log(f"{kind}: cartera worker --until-empty → SMTP sink on port {port}")
        _children_cpu()
        wall, cpu, stdout = run_measured(
            [CARTERA, "worker", "--until-empty", "--format", "json"], send_env
        )
        load = os.getloadavg()[0]
    finally:
        controller.stop()
    counts = json.loads(stdout)
    result["send"] = {
        "worker": counts,
        "received_by_sink": sink.received,
        "drain_seconds": counts["seconds"],
        "wall_seconds": round(wall, 2),
        "emails_per_second": round(sink.received / counts["seconds"], 1),
        "emails_per_second_wall": round(sink.received / wall, 1),
        # The worker's own CPU time (startup included): what it needs on a core of its own.
        "worker_cpu_seconds": round(cpu, 2),
        "emails_per_worker_cpu_second": round(sink.received / cpu, 1) if cpu else None,
        "load_average_after": round(load, 2),
    }
    log(f"{kind}: sent {sink.received:,} in {counts['seconds']} s")

    # (b) deciding (relevance + gate + render) for many queued messages
    url = fresh_database(kind, args, out, "decide")
    env = {**base_env, "DATABASE_URL": url}
    log(f"{kind}: migrate (decide)")
    run([CARTERA, "migrate", "--verbosity", "0"], env)
    log(f"{kind}: seed {args.messages:,} queued reminders")
    result["decide_seed"] = child(["seed", str(args.messages)], env)
    # What autovacuum (or the importers' ANALYZE) does after a bulk load: without statistics
    # PostgreSQL sorts every waiting message at each claim instead of reading the index.
    result["decide_seed"]["analyze_seconds"] = round(analyze(kind, url), 2)
    log(f"{kind}: claim, check, gate and render them, {args.batch} at a time")
    result["decide"] = child(["decide", str(args.batch)], env)
    result["decide"]["load_average_after"] = round(os.getloadavg()[0], 2)
    log(f"{kind}: {result['decide']['seconds']} s")
    return result


def machine() -> Json:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import sqlite3

    return {
        "node": platform.node(),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--child":
        child_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", default="sqlite,postgres", help="comma list: sqlite, postgres")
    parser.add_argument("--emails", type=int, default=3000, help="emails sent in (a)")
    parser.add_argument("--messages", type=int, default=100_000, help="messages decided in (b)")
    parser.add_argument("--batch", type=int, default=1000, help="messages per batch in (b)")
    parser.add_argument(
        "--send-batch", type=int, default=200, help="CARTERA_OUTBOX_BATCH of the worker in (a)"
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--pg-name", default=DEFAULT_PG_NAME, help="prefix of databases dropped")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    for kind in kinds:
        if kind not in ("sqlite", "postgres"):
            parser.error(f"--db: unknown database {kind!r} (sqlite, postgres)")
    results = [bench_database(kind, args, out) for kind in kinds]
    report = {
        "machine": machine(),
        "arguments": vars(args),
        "at": datetime.datetime.now().isoformat(timespec="seconds"),
        "results": results,
    }
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"messaging-{'-'.join(kinds)}-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"machine: {report['machine']['cpus']} cpus, {report['machine']['cpu']}")
    header = ("database", "(a) emails/s", "per CPU s", "(b) messages", "(b) s", "(b) CPU s")
    print(
        f"{header[0]:<10} {header[1]:>13} {header[2]:>10} {header[3]:>13} {header[4]:>8} "
        f"{header[5]:>10}"
    )
    for r in results:
        send, decide = r["send"], r["decide"]
        print(
            f"{r['database']:<10} {send['emails_per_second']:>13} "
            f"{send['emails_per_worker_cpu_second']:>10} "
            f"{decide['ready'] + decide['stopped']:>13,} {decide['seconds']:>8} "
            f"{decide['cpu_seconds']:>10}"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cpus)")
    print(f"details: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
