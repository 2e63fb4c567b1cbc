"""Reports benchmark: every report on the 1,000,000-document portfolio with a year of history.

    .venv/bin/python benchmarks/reports.py --build     # database, portfolio, run, history
    .venv/bin/python benchmarks/reports.py --from-template cartera_bench_base   # the same, faster
    .venv/bin/python benchmarks/reports.py             # measure (the database must exist)
    .venv/bin/python benchmarks/reports.py --only aging,drill-down --explain   # some, with plans

`--build` drops and recreates the PostgreSQL database `cartera_bench_reports` (its own: never
the foundation's or the daily run's), generates the portfolio with the foundation benchmark's
generator and seed (`cartera generate-portfolio`, reused from `benchmarks/out/data/` when the
same files exist), imports it through the CLI, runs the daily cycle once for the as-of date (so
that accounts have stages, segments and collectors), then builds the history of the 15 months
before in SQL with `cartera report snapshot --from … --to … --forecasts 14` (not 15 months of
runs), and ANALYZEs. `--from-template NAME` replaces the first steps: it copies NAME (the
foundation benchmark's imported portfolio, e.g. `cartera_bench_base`; nobody may be connected to
it at that moment) into this benchmark's database, applies the migrations the copy lacks and
VACUUMs it (as autovacuum would after the imports, so that index-only scans see an up-to-date
visibility map), then does the run and the history as above; `--no-history` stops after the
copy (enough for the aging and the ledger drill-downs, which do not read snapshots).

The measurement calls each report the way its page or command does, in one process with Django
set up, `--repeat` times after one untimed call, and prints best and median seconds and the
number of SQL statements, with the CPU seconds of this process and of its PostgreSQL backend
(read from /proc: the server is local) summed over the timed calls, because on a busy machine
wall time mostly measures the others; `--explain` keeps the `EXPLAIN (ANALYZE, BUFFERS)` plan of
every statement of each report; then times the pages through Django's test client (templates and
charts included) and `cartera report kpis` as a command. Everything goes to
`benchmarks/out/reports-<timestamp>.json` too.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CARTERA = str(Path(sys.executable).parent / "cartera")
CREDITOR = "BENCH"
PG_URL = "postgres://postgres@127.0.0.1:5432/"
DEFAULT_NAME = "cartera_bench_reports"
# Other benchmarks' databases (the template is only ever read).
FORBIDDEN = {"cartera_bench", "cartera_bench_run", "cartera_bench_base"}


def log(message: str) -> None:
    sys.stderr.write(f"[{datetime.datetime.now():%H:%M:%S}] {message}\n")
    sys.stderr.flush()


def sh(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    log(" ".join(argv))
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 3):
        sys.exit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    log(f"  {seconds:.1f} s")
    return seconds, result.stdout


def psql(sql: str, database: str = "postgres") -> None:
    subprocess.run(
        ["psql", f"{PG_URL}{database}", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
    )


def copy_template(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """This benchmark's database as a copy of an imported portfolio, migrated and vacuumed."""
    timings: dict[str, Any] = {}
    psql(f'DROP DATABASE IF EXISTS "{args.name}" WITH (FORCE)')
    started = time.perf_counter()
    for attempt in range(60):
        try:
            psql(f'CREATE DATABASE "{args.name}" TEMPLATE "{args.from_template}"')
            break
        except subprocess.CalledProcessError as error:
            # Someone is connected to the template: wait, never disconnect them.
            if b"being accessed by other users" not in (error.stderr or b"") or attempt == 59:
                raise
            log("template in use, retrying in 5 s")
            time.sleep(5)
    timings["copy"] = round(time.perf_counter() - started, 1)
    timings["migrate"], _ = sh([CARTERA, "migrate", "--no-input"], env)
    started = time.perf_counter()
    psql("VACUUM ANALYZE", args.name)
    timings["vacuum_analyze"] = round(time.perf_counter() - started, 1)
    return timings


def build(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    if args.from_template:
        timings = copy_template(args, env)
        if not args.no_history:
            timings.update(run_and_history(args, env))
        return timings
    timings = {}
    psql(f'DROP DATABASE IF EXISTS "{args.name}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{args.name}"')
    timings["migrate"], _ = sh([CARTERA, "migrate", "--no-input"], env)
    sh(
        [
            CARTERA,
            "creditor",
            "add",
            CREDITOR,
            "--name",
            "Bench",
            "--country",
            "CO",
            "--currency",
            "COP",
        ],
        env,
    )
    data = (
        ROOT
        / "benchmarks"
        / "out"
        / "data"
        / (f"d{args.debtors}-m{args.documents}-s{args.seed}-{args.as_of.isoformat()}")
    )
    if not (data / "payments.csv").exists():
        data.mkdir(parents=True, exist_ok=True)
        timings["generate"], _ = sh(
            [
                CARTERA,
                "generate-portfolio",
                "--debtors",
                str(args.debtors),
                "--documents",
                str(args.documents),
                "--seed",
                str(args.seed),
                "--as-of",
                args.as_of.isoformat(),
                "--out",
                str(data),
            ],
            env,
        )
    for kind in ("debtors", "documents", "payments"):
        timings[f"import_{kind}"], _ = sh(
            [
                CARTERA,
                "import",
                kind,
                str(data / f"{kind}.csv"),
                "--creditor",
                CREDITOR,
                "--as-of",
                args.as_of.isoformat(),
                "--format",
                "json",
            ],
            env,
        )
        psql("ANALYZE", args.name)
    timings.update(run_and_history(args, env))
    return timings


def run_and_history(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """The day's run, then the 15 months of history before it in SQL, then ANALYZE."""
    timings: dict[str, Any] = {}
    timings["run"], _ = sh(
        [
            CARTERA,
            "run",
            "--creditor",
            CREDITOR,
            "--as-of",
            args.as_of.isoformat(),
            "--format",
            "json",
        ],
        env,
    )
    first = (args.as_of.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    for _n in range(14):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    timings["history"], out = sh(
        [
            CARTERA,
            "report",
            "snapshot",
            "--creditor",
            CREDITOR,
            "--from",
            first.isoformat(),
            "--to",
            args.as_of.isoformat(),
            "--forecasts",
            "14",
        ],
        env,
    )
    timings["history_output"] = out.strip()
    psql("ANALYZE", args.name)
    return timings


def backend_cpu() -> float | None:
    """CPU seconds (user + system) used so far by this connection's PostgreSQL backend."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(function: Callable[[], Any], repeat: int) -> dict[str, Any]:
    from django.db import connection, reset_queries

    function()  # untimed: caches, connection
    seconds = []
    queries = 0
    cpu = 0.0
    server_before = backend_cpu()
    for _ in range(repeat):
        reset_queries()
        cpu_started = time.process_time()
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
        cpu += time.process_time() - cpu_started
        queries = len(connection.queries)
    server_after = backend_cpu()
    server = None
    if server_before is not None and server_after is not None:
        # Less the few /proc reads' own statements: negligible next to a report.
        server = round((server_after - server_before) / repeat, 3)
    return {
        "best": round(min(seconds), 3),
        "median": round(statistics.median(seconds), 3),
        "queries": queries,
        "cpu_client": round(cpu / repeat, 3),
        "cpu_server": server,
    }


def explained(function: Callable[[], Any]) -> list[str]:
    """`EXPLAIN (ANALYZE, BUFFERS)` of each SELECT the report runs (run once more for it)."""
    from django.db import connection

    plans: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not many and sql.lstrip().upper().startswith(("SELECT", "WITH")):
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        function()
    return plans


def measure(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cartera.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = True  # count the statements (connection.queries)
    settings.ALLOWED_HOSTS = ["*"]
    from django.contrib.auth import get_user_model
    from django.test import Client

    from cartera.portfolio.models import Creditor
    from cartera.reports.aging import aging_report
    from cartera.reports.forecast import forecast_backtest, forecast_compute
    from cartera.reports.kpis import kpis_compute, kpis_series, month_ends_before
    from cartera.reports.productivity import (
        collector_productivity,
        promise_kept_rate,
        right_party_rate,
    )
    from cartera.reports.provisions import provision_compute
    from cartera.reports.queries import (
        aging_by,
        ledger_bucket_totals,
        open_documents,
        recovered_documents,
        sales_documents,
    )
    from cartera.reports.rollrates import roll_accounts, rollrates_compute

    creditor = Creditor.objects.get(code=CREDITOR)
    ids = [creditor.pk]
    d = args.as_of
    past = d - datetime.timedelta(days=90)
    week = d - datetime.timedelta(days=6)
    month_start = (d.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    month_start -= datetime.timedelta(days=1)  # the month end two months back
    reports: dict[str, Callable[[], Any]] = {
        # `cartera aging` in process (issue 2): today and 90 days ago, by creditor and debtor.
        "aging (issue 2), today, by creditor": lambda: aging_report(creditors=[creditor], as_of=d),
        "aging (issue 2), today, by debtor": lambda: aging_report(
            creditors=[creditor], as_of=d, by="debtor"
        ),
        "aging (issue 2), 90 days ago, by creditor": lambda: aging_report(
            creditors=[creditor], as_of=past
        ),
        "aging (issue 2), 90 days ago, by debtor": lambda: aging_report(
            creditors=[creditor], as_of=past, by="debtor"
        ),
        "kpis, today, 90 days": lambda: kpis_compute(creditor_ids=ids, as_of=d, days=90),
        "kpis, 90 days ago": lambda: kpis_compute(creditor_ids=ids, as_of=past, days=90),
        "kpis trend, 12 month ends": lambda: kpis_series(
            creditor_ids=ids, points=month_ends_before(d, 12), days=90
        ),
        "aging by collector, today": lambda: aging_by(ids, d, "collector"),
        "aging by segment, 90 days ago": lambda: aging_by(ids, past, "segment"),
        "roll rates, 12 months": lambda: rollrates_compute(creditor_ids=ids, as_of=d, months=12),
        "provision matrix, 12 months": lambda: provision_compute(
            creditor_ids=ids, as_of=d, window=12
        ),
        "cash forecast, today": lambda: forecast_compute(creditor_ids=ids, as_of=d),
        "forecast back-test": lambda: forecast_backtest(creditor_ids=ids, as_of=d),
        "promise-kept rate, 90 days": lambda: promise_kept_rate(
            creditor_ids=ids, first=past, last=d
        ),
        "right-party rate, 90 days": lambda: right_party_rate(
            creditors=[creditor], first=past, last=d
        ),
        "productivity, 7 days": lambda: collector_productivity(
            creditors=[creditor], first=week, last=d
        ),
        "drill-down: open documents, page 1": lambda: open_documents(
            creditor_ids=ids, as_of=d, currency=creditor.currency, page=1
        ),
        "drill-down: overdue 90 days ago, page 1": lambda: open_documents(
            creditor_ids=ids, as_of=past, currency=creditor.currency, buckets=list(range(1, 8))
        ),
        "drill-down: sales of the 90 days, page 1": lambda: sales_documents(
            creditor_ids=ids,
            first=past + datetime.timedelta(days=1),
            last=d,
            currency=creditor.currency,
        ),
        "drill-down: recovered documents, page 1": lambda: recovered_documents(
            creditor_ids=ids,
            first=past + datetime.timedelta(days=1),
            last=d,
            due_before=past,
            currency=creditor.currency,
        ),
        "aging from the ledger, 90 days ago": lambda: ledger_bucket_totals(ids, past),
        "drill-down: roll-rate cell, page 1": lambda: roll_accounts(
            creditor_ids=ids,
            start=month_start,
            currency=creditor.currency,
            from_bucket=1,
            state="later",
        ),
    }
    results: dict[str, Any] = {}

    def wanted(name: str) -> bool:
        return not args.only or any(part in name for part in args.only.split(","))

    for name, function in reports.items():
        if not wanted(name):
            continue
        log(name)
        results[name] = timed(function, args.repeat)
        if args.explain:
            results[name]["plans"] = explained(function)
        log(f"  {dict((k, v) for k, v in results[name].items() if k != 'plans')}")
    user = get_user_model().objects.filter(username="bench-reports").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench-reports", password="bench-1-x")
    client = Client()
    client.force_login(user)
    query = f"?creditor={creditor.pk}&as_of={d.isoformat()}"
    pages = {
        "page: dashboard": "/reports/",
        "page: aging by collector": "/reports/aging/",
        "page: roll rates": "/reports/rollrates/",
        "page: provision": "/reports/provision/",
        "page: forecast": "/reports/forecast/",
        "page: productivity": "/reports/productivity/",
        "page: runs": "/reports/runs/",
        "page: documents (drill-down)": "/reports/documents/",
        "export: dashboard XLSX": "/reports/?export=xlsx&",
        "export: provision PDF": "/reports/provision/?export=pdf&",
    }
    for name, path in pages.items():
        if not wanted(name):
            continue
        url = path + ("&" if "?" in path else "?") + query.lstrip("?")
        url = url.replace("&&", "&").replace("?&", "?")

        def get(url: str = url) -> None:
            response = client.get(url, HTTP_HOST="127.0.0.1")
            assert response.status_code == 200, (url, response.status_code)

        log(name)
        results[name] = timed(get, args.repeat)
        log(f"  {results[name]}")
    cli = []
    for _ in range(args.repeat if wanted("cartera report kpis") else 0):
        seconds, _out = sh(
            [
                CARTERA,
                "report",
                "kpis",
                "--creditor",
                CREDITOR,
                "--as-of",
                d.isoformat(),
                "--format",
                "json",
            ],
            env,
        )
        cli.append(seconds)
    if cli:
        results["cartera report kpis (process)"] = {
            "best": round(min(cli), 3),
            "median": round(statistics.median(cli), 3),
            "queries": None,
        }
    from django.db import connection

    with connection.cursor() as cursor:
        counts = {}
        for table in (
            "portfolio_document",
            "portfolio_ledgerentry",
            "portfolio_payment",
            "strategy_account",
            "reports_snapshotday",
            "reports_dailybalance",
            "reports_dailyflow",
            "reports_monthbalance",
            "reports_rollcount",
            "reports_forecastweek",
        ):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    results["rows"] = counts
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", action="store_true", help="(re)build the database first")
    parser.add_argument("--name", default=DEFAULT_NAME, help="PostgreSQL database")
    parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=datetime.date.today())
    parser.add_argument("--debtors", type=int, default=200_000)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--from-template",
        metavar="NAME",
        help="build by copying this imported portfolio's database instead of importing",
    )
    parser.add_argument(
        "--no-history", action="store_true", help="with --from-template: no run, no history"
    )
    parser.add_argument("--only", help="measure only the reports whose name contains one of these")
    parser.add_argument("--explain", action="store_true", help="keep each statement's plan")
    args = parser.parse_args()
    if args.from_template:
        args.build = True
    if args.name in FORBIDDEN or args.name == args.from_template:
        sys.exit(f"{args.name} belongs to another benchmark: choose another --name")
    env = dict(os.environ)
    env["DATABASE_URL"] = f"{PG_URL}{args.name}"
    env["CARTERA_HOME"] = str(ROOT / "benchmarks" / "out" / "home-reports")
    record: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "machine": {
            "node": platform.node(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": os.getloadavg(),
        },
        "as_of": args.as_of.isoformat(),
        "database": args.name,
    }
    if args.build:
        record["build"] = build(args, env)
    record["measure"] = measure(args, env)
    record["machine"]["load_after"] = os.getloadavg()
    out = ROOT / "benchmarks" / "out" / f"reports-{datetime.datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, default=str))
    print(
        f"Reports on {args.name}, as of {args.as_of}; {platform.node()}, "
        f"{os.cpu_count()} CPUs, load {record['machine']['load_before'][0]:.2f} → "
        f"{record['machine']['load_after'][0]:.2f}"
    )
    print(f"{'report':45} {'best s':>8} {'median s':>9} {'queries':>8} {'CPU py':>7} {'CPU pg':>7}")
    for name, figures in record["measure"].items():
        if name == "rows":
            continue
        cpu = [figures.get("cpu_client"), figures.get("cpu_server")]
        print(
            f"{name:45} {figures['best']:8.3f} {figures['median']:9.3f} "
            f"{figures['queries'] if figures['queries'] is not None else '-':>8} "
            + " ".join(f"{c:7.3f}" if c is not None else f"{'-':>7}" for c in cpu)
        )
    print("rows:", json.dumps(record["measure"]["rows"]))
    if "build" in record:
        print("build:", json.dumps({k: v for k, v in record["build"].items()}, default=str))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
