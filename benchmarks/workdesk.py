"""Workdesk benchmark: server time of the worklist and the account page on a large portfolio.

    # once: a fresh database with the benchmark portfolio, collectors, today's run
    .venv/bin/python benchmarks/workdesk.py --prepare --db postgres
    # or, much faster, from a copy of the foundation benchmark's database (portfolio imported)
    .venv/bin/python benchmarks/workdesk.py --prepare --from-template cartera_bench_base \
        --as-of 2026-11-24
    # then, as often as wanted
    .venv/bin/python benchmarks/workdesk.py --db postgres --as-of 2026-11-24

`--prepare` drops and recreates the database (PostgreSQL `cartera_bench_workdesk`, or
`benchmarks/out/workdesk.sqlite3`), migrates it, adds creditor BENCH, generates the portfolio
(`cartera generate-portfolio`, reused from `benchmarks/out/data` when the same arguments were
generated before) and imports it through the CLI, creates `--collectors` collectors sharing the
accounts through one assignment rule, runs the day (`cartera run`), and adds a working day's
traces: a contact logged today on 5% of the accounts, a callback due today on 1%, a promise due
today on 1% and a promise broken yesterday on 0.5%.

The measurement runs in this process: Django's test client (no network), logged in as the first
collector (and as the supervisor for the team's pages), each request `--repeat` times after one
untimed warm-up; the figure is the wall time of the whole request (middleware, view, queries,
template), with its number of queries and the CPU time this process spent on it (the
database server's is not included; on a busy machine it is the steadier figure). A summary
table goes to stdout and everything to `benchmarks/out/workdesk-<db>-<timestamp>.json`. The
issue's target is 300 ms per page.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
CARTERA = str(Path(sys.executable).parent / "cartera")
CREDITOR = "BENCH"
PG_URL = "postgres://postgres@127.0.0.1:5432/"
TARGET_MS = 300
PASSWORD = "bench-Password-1"


def log(message: str) -> None:
    sys.stderr.write(f"[{datetime.datetime.now():%H:%M:%S}] {message}\n")
    sys.stderr.flush()


def database_url(args: argparse.Namespace) -> str:
    if args.db == "postgres":
        return PG_URL + args.pg_name
    return f"sqlite:///{OUT / 'workdesk.sqlite3'}"


def cli(args: argparse.Namespace, *argv: str) -> float:
    """Run `cartera ARGV` against the benchmark database; its wall time in seconds."""
    env = {**os.environ, "DATABASE_URL": database_url(args), "CARTERA_HOME": str(OUT / "home")}
    start = time.perf_counter()
    result = subprocess.run([CARTERA, *argv], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode not in (0, 3):
        sys.exit(f"cartera {' '.join(argv)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds


def fresh_database(args: argparse.Namespace) -> None:
    if args.db == "postgres":
        import psycopg

        with psycopg.connect(PG_URL + "postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{args.pg_name}" WITH (FORCE)')
            if not args.from_template:
                connection.execute(f'CREATE DATABASE "{args.pg_name}"')
                return
            # PostgreSQL refuses to copy a database somebody is connected to: wait a little.
            for attempt in range(30):
                try:
                    connection.execute(
                        f'CREATE DATABASE "{args.pg_name}" TEMPLATE "{args.from_template}"'
                    )
                    return
                except psycopg.errors.ObjectInUse:
                    log(f"{args.from_template} is in use, retrying ({attempt + 1}/30)")
                    time.sleep(5)
            sys.exit(f"could not copy {args.from_template}: somebody stays connected to it")
    else:
        for suffix in ("", "-wal", "-shm"):
            path = OUT / f"workdesk.sqlite3{suffix}"
            if path.exists():
                path.unlink()


def prepare(args: argparse.Namespace, as_of: datetime.date) -> dict[str, float]:
    """Everything before the measurement; {step: seconds}."""
    timings: dict[str, float] = {}
    OUT.mkdir(parents=True, exist_ok=True)
    log(
        f"fresh database ({args.db})"
        + (f" from {args.from_template}" if args.from_template else "")
    )
    start = time.perf_counter()
    fresh_database(args)
    timings["create_database"] = time.perf_counter() - start
    timings["migrate"] = cli(args, "migrate", "--verbosity", "0")
    if args.from_template:
        from cartera.portfolio.models import Creditor

        if not Creditor.objects.filter(code=CREDITOR).exists():
            sys.exit(f"{args.from_template} has no creditor {CREDITOR}: not a foundation database")
        day_prepare(args, as_of, timings)
        return timings
    cli(
        args, "creditor", "add", CREDITOR, "--name", "Bench", "--country", "CO", "--currency", "COP"
    )
    data = OUT / "data" / f"d{args.debtors}-m{args.documents}-s{args.seed}-{as_of}"
    if not (data / "payments.csv").exists():
        log(f"generating {args.debtors:,} debtors and {args.documents:,} documents into {data}")
        timings["generate"] = cli(
            args,
            "generate-portfolio",
            "--debtors",
            str(args.debtors),
            "--documents",
            str(args.documents),
            "--seed",
            str(args.seed),
            "--as-of",
            str(as_of),
            "--out",
            str(data),
        )
    imports_run(args, as_of, data, timings)
    day_prepare(args, as_of, timings)
    return timings


def imports_run(
    args: argparse.Namespace, as_of: datetime.date, data: Path, timings: dict[str, float]
) -> None:
    for kind in ("debtors", "documents", "payments"):
        log(f"importing {kind}")
        # Other work may add migrations meanwhile; the CLI refuses a database behind them.
        cli(args, "migrate", "--verbosity", "0")
        timings[f"import_{kind}"] = cli(
            args,
            "import",
            kind,
            str(data / f"{kind}.csv"),
            "--creditor",
            CREDITOR,
            "--as-of",
            str(as_of),
            "--format",
            "json",
        )


def day_prepare(args: argparse.Namespace, as_of: datetime.date, timings: dict[str, float]) -> None:
    """What comes after the portfolio: the team, the day's run and a working day's traces."""
    log("collectors, assignment rule")
    team_create(args.collectors)
    log("daily run")
    cli(args, "migrate", "--verbosity", "0")
    timings["run"] = cli(
        args, "run", "--creditor", CREDITOR, "--as-of", str(as_of), "--format", "json"
    )
    log("a working day's traces")
    traces_add(as_of, args.seed)
    if args.db == "postgres":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def team_create(collectors: int) -> None:
    from django.contrib.auth.models import Group, User

    from cartera.core.audit import Actor
    from cartera.core.roles import roles_ensure
    from cartera.portfolio.models import Creditor, Membership
    from cartera.strategy.defaults import strategy_defaults_ensure
    from cartera.strategy.models import AssignmentRule

    roles_ensure()
    creditor = Creditor.objects.get(code=CREDITOR)
    strategy_defaults_ensure(creditor=creditor, actor=Actor.system("bench"))
    people = []
    for n in range(collectors + 1):
        role = "collector" if n < collectors else "supervisor"
        name = f"cobrador{n + 1:02d}" if n < collectors else "supervisora"
        user = User.objects.create_user(name, password=PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        Membership.objects.create(user=user, creditor=creditor)
        if role == "collector":
            people.append(user)
    rule = AssignmentRule.objects.create(creditor=creditor, order=1, name="Todos")
    rule.collectors.set(people)


def traces_add(as_of: datetime.date, seed: int) -> None:
    """Contacts today, callbacks and promises due today, broken promises: the worklist's
    reasons at the volume of a working day."""
    from django.utils import timezone

    from cartera.negotiation.models import Promise, PromiseStatus
    from cartera.portfolio.models import Activity, Creditor
    from cartera.strategy.models import Account
    from cartera.workdesk.models import Callback

    creditor = Creditor.objects.get(code=CREDITOR)
    rng = random.Random(seed)
    accounts = list(
        Account.objects.filter(creditor=creditor, overdue=True).values_list(
            "debtor_id", "collector_id", "overdue_minor"
        )
    )
    noon = timezone.make_aware(datetime.datetime.combine(as_of, datetime.time(10)))
    activities, callbacks, promises = [], [], []
    for debtor_id, collector_id, overdue in accounts:
        draw = rng.random()
        if draw < 0.05:
            activities.append(
                Activity(
                    creditor=creditor,
                    debtor_id=debtor_id,
                    kind="call",
                    at=noon,
                    is_contact=True,
                    reached=rng.random() < 0.4,
                    outcome="no_contesta",
                    user_id=collector_id,
                )
            )
        elif draw < 0.06:
            callbacks.append(
                Callback(
                    creditor=creditor,
                    debtor_id=debtor_id,
                    user_id=collector_id,
                    due_at=noon + datetime.timedelta(hours=4),
                    created_by="bench",
                )
            )
        elif draw < 0.07 and overdue > 0:
            promises.append(
                Promise(
                    creditor=creditor,
                    debtor_id=debtor_id,
                    currency="COP",
                    amount_minor=max(1, overdue // 2),
                    promised_date=as_of,
                    deadline=as_of + datetime.timedelta(days=2),
                    created_on=as_of - datetime.timedelta(days=5),
                    taken_by_id=collector_id,
                )
            )
        elif draw < 0.075 and overdue > 0:
            promises.append(
                Promise(
                    creditor=creditor,
                    debtor_id=debtor_id,
                    currency="COP",
                    amount_minor=max(1, overdue // 2),
                    promised_date=as_of - datetime.timedelta(days=4),
                    deadline=as_of - datetime.timedelta(days=2),
                    created_on=as_of - datetime.timedelta(days=9),
                    status=PromiseStatus.BROKEN,
                    decided_on=as_of - datetime.timedelta(days=1),
                    taken_by_id=collector_id,
                )
            )
    Activity.objects.bulk_create(activities, batch_size=5000)
    Callback.objects.bulk_create(callbacks, batch_size=5000)
    Promise.objects.bulk_create(promises, batch_size=5000)
    log(f"{len(activities):,} contacts, {len(callbacks):,} callbacks, {len(promises):,} promises")


def timed(client: Any, url: str, repeat: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)
    if response.status_code != 200:
        sys.exit(f"GET {url} answered {response.status_code}")
    seconds, cpu = [], []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            seconds.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        queries = len(captured.captured_queries)
    return {
        "url": url,
        "best_ms": round(min(seconds) * 1000, 1),
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        # This process only (Django, the template); the database server's time is not in it.
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
        "queries": queries,
        "bytes": len(response.content),
    }


def measure(repeat: int) -> list[dict[str, Any]]:
    from django.contrib.auth.models import User
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from cartera.portfolio.models import ContactPoint, Creditor, Document
    from cartera.strategy.models import Account
    from cartera.workdesk.queries import WorklistFilters, worklist

    creditor = Creditor.objects.get(code=CREDITOR)
    collector = User.objects.get(username="cobrador01")
    supervisor = User.objects.get(username="supervisora")
    client = Client()
    client.force_login(collector)
    results = []

    def add(label: str, url: str, who: Client = client) -> dict[str, Any]:
        row = {"page": label, **timed(who, url, repeat)}
        results.append(row)
        log(
            f"{label}: best {row['best_ms']} ms, median {row['median_ms']} ms, "
            f"cpu {row['cpu_median_ms']} ms, {row['queries']} q"
        )
        return row

    add("worklist, page 1", reverse("home"))
    listing = worklist(
        creditors=[creditor],
        filters=WorklistFilters(collector_id=collector.pk),
        as_of=timezone.localdate(),
    )
    add("worklist, page 5", reverse("workdesk:worklist") + "?page=5")
    add("worklist, reason: strategy task", reverse("workdesk:worklist") + "?reason=task")
    add("worklist, 91-180 days", reverse("workdesk:worklist") + "?bucket=91-180")
    for n, row in enumerate(listing.rows[:3], start=1):
        add(f"account page, worklist #{n}", reverse("workdesk:account", args=[row.debtor_id]))
    busiest = (
        Document.objects.filter(creditor=creditor)
        .values("debtor_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    assert busiest is not None
    client_super = Client()
    client_super.force_login(supervisor)
    add(
        f"account page, busiest debtor ({busiest['n']} documents)",
        reverse("workdesk:account", args=[busiest["debtor_id"]]),
        client_super,
    )
    sample = Account.objects.filter(collector=collector).select_related("debtor").first()
    assert sample is not None
    phone = ContactPoint.objects.filter(debtor__creditor=creditor, kind="mobile").first()
    add("search by name", reverse("workdesk:worklist") + f"?q={sample.debtor.name.split()[0]}")
    add("search by tax id", reverse("workdesk:worklist") + f"?q={sample.debtor.tax_id}")
    if phone is not None:
        add("search by phone", reverse("workdesk:worklist") + f"?q={phone.value[3:]}")
    add(
        "worklist, whole team (supervisor)",
        reverse("workdesk:worklist") + "?collector=all",
        client_super,
    )
    add("team page (supervisor)", reverse("workdesk:team"), client_super)
    results.append(
        {
            "page": "scale",
            "accounts_of_collector": Account.objects.filter(collector=collector).count(),
            "overdue_accounts": Account.objects.filter(creditor=creditor, overdue=True).count(),
            "documents": Document.objects.filter(creditor=creditor).count(),
            "worklist_rows_of_collector": listing.total,
        }
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--prepare", action="store_true", help="build the database first")
    parser.add_argument("--debtors", type=int, default=200_000)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--collectors", type=int, default=20)
    parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=datetime.date.today())
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg-name", default="cartera_bench_workdesk")
    parser.add_argument(
        "--from-template",
        metavar="NAME",
        help="with --prepare: start from a copy of PostgreSQL database NAME holding the "
        "portfolio (e.g. cartera_bench_base) instead of importing it",
    )
    args = parser.parse_args()
    if args.from_template and (args.db != "postgres" or not args.prepare):
        parser.error("--from-template goes with --prepare and --db postgres")

    os.environ["DATABASE_URL"] = database_url(args)
    os.environ.setdefault("CARTERA_HOME", str(OUT / "home"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cartera.settings")
    import django

    django.setup()
    from django.conf import settings

    # The test client talks to "testserver"; the clock is the portfolio's day.
    settings.ALLOWED_HOSTS = ["*"]
    load_before = os.getloadavg()
    timings = prepare(args, args.as_of) if args.prepare else {}
    import time_machine

    moment = datetime.datetime.combine(args.as_of, datetime.time(11), tzinfo=datetime.UTC)
    with time_machine.travel(moment, tick=True):
        results = measure(args.repeat)

    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    report = {
        "db": args.db,
        "machine": {
            "node": platform.node(),
            "cpus": os.cpu_count(),
            "python": sys.version,
            # Other work on the machine slows every figure: record how busy it was.
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "args": {k: str(v) for k, v in vars(args).items()},
        "prepare_seconds": {k: round(v, 1) for k, v in timings.items()},
        "results": results,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"workdesk-{args.db}-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nworkdesk on {args.db}, {args.debtors:,} debtors / {args.documents:,} documents")
    print(f"1/5/15-minute load average after the measurement: {os.getloadavg()}")
    print(
        f"{'page':<48} {'best ms':>8} {'median':>8} {'cpu ms':>8} {'queries':>8}"
        f"  target {TARGET_MS} ms"
    )
    for row in results:
        if "best_ms" in row:
            verdict = "ok" if row["median_ms"] <= TARGET_MS else "OVER"
            print(
                f"{row['page']:<48} {row['best_ms']:>8} {row['median_ms']:>8} "
                f"{row['cpu_median_ms']:>8} {row['queries']:>8}  {verdict}"
            )
        else:
            print(f"scale: {json.dumps({k: v for k, v in row.items() if k != 'page'})}")
    print(f"\nresult file: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
