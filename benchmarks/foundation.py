"""Foundation benchmark: generate a portfolio, import it, age it and check it, per database.

    .venv/bin/python benchmarks/foundation.py [--debtors 200000] [--documents 1000000]
        [--seed 7] [--db sqlite,postgres] [--out benchmarks/out]

For each database: a fresh database, `cartera migrate`, one creditor, then the three imports
through the real CLI (each a separate process, so its wall time and peak RSS are its own), the
aging report through the CLI and in-process (`aging_report`) for today and for a past date,
bare SQL over the same tables for comparison, and `cartera check`. A summary table goes to
stdout, progress to stderr, and everything measured to a JSON file in the out directory.

The portfolio is generated once per (debtors, documents, seed, as-of) and reused by later runs.
See benchmarks/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The `cartera` script next to the Python running this file (the project's venv).
CARTERA = str(Path(sys.executable).parent / "cartera")
CREDITOR = "BENCH"
DATABASES = ("sqlite", "postgres")
IMPORT_KINDS = ("debtors", "documents", "payments")
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/"
DEFAULT_PG_NAME = "cartera_bench"

Json = dict[str, Any]


class BenchmarkError(Exception):
    """A step failed: the run stops and says which command and why."""


# --- running one command ----------------------------------------------------------------------


@dataclass
class Run:
    argv: list[str]
    seconds: float
    cpu_seconds: float  # user + system time of the process itself (not the database server)
    max_rss_kib: int
    returncode: int
    stdout: str
    stderr: str

    def as_json(self) -> Json:
        return {
            "argv": self.argv,
            "seconds": round(self.seconds, 4),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "max_rss_mib": round(self.max_rss_kib / 1024, 1),
            "returncode": self.returncode,
        }


def log(message: str) -> None:
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    sys.stderr.write(f"[{stamp}] {message}\n")
    sys.stderr.flush()


def run(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    logs: Path,
    name: str,
    timeout: float,
    ok: Sequence[int] = (0,),
) -> Run:
    """Run one command; wall time and peak RSS are measured on that process alone (wait4)."""
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / f"{name}.out", logs / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(argv), stdout=out, stderr=err, env=env, cwd=ROOT)
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    result = Run(
        argv=list(argv),
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_kib=usage.ru_maxrss,  # KiB on Linux
        returncode=process.returncode,
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
    )
    if result.returncode not in ok:
        reason = "timed out" if seconds >= timeout else f"exit status {result.returncode}"
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise BenchmarkError(f"{' '.join(argv)}: {reason} after {seconds:.1f}s\n{tail}")
    return result


def best_and_median(values: Sequence[float]) -> Json:
    return {
        "best": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "all": [round(v, 4) for v in values],
    }


# --- databases ----------------------------------------------------------------------------------


def fresh_database(kind: str, args: argparse.Namespace, out: Path) -> str:
    """Create an empty database and return its DATABASE_URL."""
    if kind == "sqlite":
        path = (out / "foundation.sqlite3").resolve()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg  # the driver Django uses; only needed for PostgreSQL runs

    base = args.pg_url.rstrip("/")
    name = args.pg_name
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def analyze(kind: str, url: str) -> float:
    """Run ANALYZE (what autovacuum would do after a bulk load); return its seconds."""
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


def database_size(kind: str, url: str) -> int:
    if kind == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        return sum(
            Path(f"{path}{suffix}").stat().st_size
            for suffix in ("", "-wal")
            if Path(f"{path}{suffix}").exists()
        )
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


# --- the portfolio files ------------------------------------------------------------------------


def package_dir(args: argparse.Namespace) -> Path:
    """Where the `cartera` package being measured lives (--src, or the installed one)."""
    if args.src:
        return Path(args.src).resolve() / "cartera"
    spec = importlib.util.find_spec("cartera")
    if spec is None or not spec.submodule_search_locations:
        raise BenchmarkError("the cartera package is not installed: run make install")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def code_identity(args: argparse.Namespace) -> Json:
    """Which code was measured: package path, git commit and uncommitted files, if a checkout."""
    where = package_dir(args)

    def git(*argv: str) -> str | None:
        done = subprocess.run(["git", *argv], cwd=where, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None

    head = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--", ".") if head else None
    return {
        "package": str(where),
        "git_head": head,
        "uncommitted": dirty.splitlines() if dirty else [],
    }


def generator_digest(args: argparse.Namespace) -> str:
    """The generator's source: files made by a different generator are not reused."""
    digest = hashlib.sha256()
    for name in ("generator.py", "names.py"):
        path = package_dir(args) / "demo" / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def portfolio(args: argparse.Namespace, out: Path, env: dict[str, str]) -> tuple[Path, Json]:
    """Generate the three files once per arguments; later runs reuse them."""
    wanted = {
        "debtors": args.debtors,
        "documents": args.documents,
        "seed": args.seed,
        "as_of": args.as_of.isoformat(),
        "country": "CO",
        "generator": generator_digest(args),
    }
    data = out / "data" / f"d{args.debtors}-m{args.documents}-s{args.seed}-{args.as_of}"
    manifest = data / "generated.json"
    if manifest.exists():
        known = json.loads(manifest.read_text())
        files_intact = all(
            (data / f"{name}.csv").exists()
            and (data / f"{name}.csv").stat().st_size == known["bytes"][name]
            for name in IMPORT_KINDS
        )
        if known.get("arguments") == wanted and files_intact:
            log(f"portfolio: reusing {data}")
            return data, {**known, "reused": True}
    log(f"portfolio: generating {args.debtors:,} debtors, {args.documents:,} documents")
    if data.exists():
        shutil.rmtree(data)
    result = run(
        [
            CARTERA,
            "generate-portfolio",
            "--debtors",
            str(args.debtors),
            "--documents",
            str(args.documents),
            "--seed",
            str(args.seed),
            "--out",
            str(data),
            "--as-of",
            args.as_of.isoformat(),
            "--country",
            "CO",
        ],
        env=env,
        logs=out / "logs",
        name="generate",
        timeout=args.timeout,
    )
    rows = {}
    for name in IMPORT_KINDS:
        with (data / f"{name}.csv").open("rb") as handle:
            rows[name] = sum(1 for _ in handle) - 1  # no value spans lines in these files
    generated = {
        "arguments": wanted,
        "seconds": round(result.seconds, 3),
        "max_rss_mib": round(result.max_rss_kib / 1024, 1),
        "rows": rows,
        "bytes": {name: (data / f"{name}.csv").stat().st_size for name in IMPORT_KINDS},
    }
    manifest.write_text(json.dumps(generated, indent=2) + "\n")
    log(f"portfolio: {rows} in {result.seconds:.1f}s")
    return data, {**generated, "reused": False}


# --- one database -------------------------------------------------------------------------------


class Portfolio:
    """The files, generated by the first database's environment (so the command finds its
    database migrated and measures only the generation), then reused."""

    def __init__(self, args: argparse.Namespace, out: Path):
        self.args, self.out = args, out
        self.data: Path | None = None
        self.generated: Json = {}

    def get(self, env: dict[str, str]) -> Path:
        if self.data is None:
            self.data, self.generated = portfolio(self.args, self.out, env)
        return self.data


def bench_database(
    kind: str,
    args: argparse.Namespace,
    out: Path,
    files: Portfolio,
    base_env: dict[str, str],
) -> Json:
    logs = out / "logs" / kind
    home = out / f"home-{kind}"
    home.mkdir(parents=True, exist_ok=True)
    url = fresh_database(kind, args, out)
    env = {**base_env, "DATABASE_URL": url, "CARTERA_HOME": str(home)}
    log(f"{kind}: fresh database {url}")
    result: Json = {"database": kind, "url": url}

    def cartera(name: str, *argv: str, ok: Sequence[int] = (0,)) -> Run:
        return run([CARTERA, *argv], env=env, logs=logs, name=name, timeout=args.timeout, ok=ok)

    result["migrate"] = cartera("migrate", "migrate", "--no-input").as_json()
    result["creditor_add"] = cartera(
        "creditor-add",
        "creditor",
        "add",
        CREDITOR,
        "--name",
        "Bench",
        "--country",
        "CO",
        "--currency",
        "COP",
    ).as_json()
    # What any `cartera` command costs before it does anything: Python, Django, settings.
    startup = [cartera(f"startup-{i}", "creditor", "list", "--format", "json") for i in range(3)]
    result["cli_startup"] = {
        **best_and_median([r.seconds for r in startup]),
        "max_rss_mib": round(max(r.max_rss_kib for r in startup) / 1024, 1),
    }

    data = files.get(env)
    imports: Json = {}
    for name in IMPORT_KINDS:
        log(f"{kind}: import {name}")
        done = cartera(
            f"import-{name}",
            "import",
            name,
            str(data / f"{name}.csv"),
            "--creditor",
            CREDITOR,
            "--as-of",
            args.as_of.isoformat(),
            "--format",
            "json",
            ok=(0, 3),  # 3: some rows rejected; recorded, not fatal
        )
        summary = json.loads(done.stdout)
        imports[name] = {
            **done.as_json(),
            # 1-minute load average as the import ended: other work on the machine shows here.
            "load_after": round(os.getloadavg()[0], 2),
            "result": summary,
            "rows_per_second": round(summary["rows"] / done.seconds, 1) if done.seconds else None,
        }
        if args.analyze:
            # Not part of the import's time: reported on its own.
            imports[name]["analyze_seconds"] = round(analyze(kind, url), 3)
        log(
            f"{kind}: import {name}: {summary['rows']:,} rows in {done.seconds:.1f}s "
            f"({imports[name]['rows_per_second']:,.0f} rows/s), "
            f"peak RSS {done.max_rss_kib / 1024:.0f} MiB, rejected {summary['rejected']}"
        )
    result["imports"] = imports

    past = args.as_of - datetime.timedelta(days=args.past_days)
    aging_cli: Json = {}
    for label, as_of in (("today", args.as_of), ("past", past)):
        log(f"{kind}: aging CLI {label} ({as_of})")
        runs = [
            cartera(
                f"aging-{label}-{i}",
                "aging",
                "--creditor",
                CREDITOR,
                "--as-of",
                as_of.isoformat(),
                "--format",
                "json",
            )
            for i in range(args.repeat)
        ]
        report = json.loads(runs[0].stdout)
        aging_cli[label] = {
            "as_of": as_of.isoformat(),
            **best_and_median([r.seconds for r in runs]),
            "max_rss_mib": round(max(r.max_rss_kib for r in runs) / 1024, 1),
            "totals": report["totals"],
        }
    result["aging_cli"] = aging_cli

    log(f"{kind}: in-process aging and bare SQL ({args.repeat} runs each)")
    inprocess = run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--in-process",
            "--as-of",
            args.as_of.isoformat(),
            "--past-days",
            str(args.past_days),
            "--repeat",
            str(args.repeat),
            *([] if args.explain else ["--no-explain"]),
        ],
        env=env,
        logs=logs,
        name="in-process",
        timeout=args.timeout,
    )
    result["in_process"] = {
        **json.loads(inprocess.stdout),
        "process_seconds": round(inprocess.seconds, 3),
        "max_rss_mib": round(inprocess.max_rss_kib / 1024, 1),
    }

    log(f"{kind}: cartera check")
    checked = cartera("check", "check", "--format", "json", ok=(0, 1))
    check_report = json.loads(checked.stdout)
    result["check"] = {
        **checked.as_json(),
        "ok": check_report["ok"],
        "problems": len(check_report["problems"]),
    }
    result["database_bytes"] = database_size(kind, url)
    log(f"{kind}: done")
    return result


# --- in-process timings (run in a child process with DATABASE_URL set) --------------------------


def _timed(repeat: int, call: Callable[[], object]) -> Json:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return best_and_median(times)


def in_process(args: argparse.Namespace) -> Json:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cartera.settings")
    import django

    django.setup()
    from django.db import connection

    from cartera.portfolio.models import Creditor
    from cartera.reports.aging import aging_report

    creditor = Creditor.objects.get(code=CREDITOR)
    today = args.as_of
    past = today - datetime.timedelta(days=args.past_days)
    import cartera

    found: Json = {
        "package": str(Path(cartera.__file__ or "").parent),
        "as_of": today.isoformat(),
        "past": past.isoformat(),
        "vendor": connection.vendor,
    }

    with connection.cursor() as cursor:
        tables = (
            "portfolio_debtor",
            "portfolio_contactpoint",
            "portfolio_document",
            "portfolio_ledgerentry",
            "portfolio_payment",
            "portfolio_allocation",
        )
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table.removeprefix("portfolio_")] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT COUNT(*) FROM portfolio_document WHERE creditor_id = %s AND balance_minor <> 0",
            [creditor.pk],
        )
        counts["open_documents"] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT COUNT(*) FROM portfolio_ledgerentry WHERE creditor_id = %s "
            "AND effective_date > %s",
            [creditor.pk, past],
        )
        counts["entries_after_past"] = cursor.fetchone()[0]
        found["rows"] = counts
        if connection.vendor == "postgresql":
            cursor.execute("SELECT version()")
            settings = {"version": cursor.fetchone()[0]}
            for name in ("shared_buffers", "work_mem", "effective_cache_size", "jit", "autovacuum"):
                cursor.execute(f"SHOW {name}")
                settings[name] = cursor.fetchone()[0]
            cursor.execute(
                "SELECT relname, n_live_tup, last_analyze, last_autoanalyze "
                "FROM pg_stat_user_tables WHERE relname IN "
                "('portfolio_document', 'portfolio_ledgerentry') ORDER BY relname"
            )
            settings["statistics"] = [
                {"table": r[0], "live": r[1], "analyzed": str(r[2]), "autoanalyzed": str(r[3])}
                for r in cursor.fetchall()
            ]
        else:
            cursor.execute("SELECT sqlite_version()")
            settings = {"version": cursor.fetchone()[0]}
            cursor.execute("PRAGMA cache_size")
            settings["cache_size"] = cursor.fetchone()[0]
        found["server"] = settings

    def bare(sql: str, params: list[Any]) -> Callable[[], object]:
        def call() -> object:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()

        return call

    def aging(as_of: datetime.date, by: str) -> Callable[[], object]:
        return lambda: aging_report(creditors=[creditor], as_of=as_of, by=by)  # type: ignore[arg-type]

    aging_times: Json = {}
    for label, as_of in (("today", today), ("past", past)):
        for by in ("creditor", "debtor"):
            report = aging_report(creditors=[creditor], as_of=as_of, by=by)  # type: ignore[arg-type]
            aging_times[f"{by}_{label}"] = {
                **_timed(args.repeat, aging(as_of, by)),
                "report_rows": len(report.rows),
                "documents": sum(row.documents for row in report.rows),
            }
    found["aging"] = aging_times

    pk = creditor.pk
    queries: dict[str, tuple[str, list[Any]]] = {
        # What aging by creditor reads for today, without our CTEs, buckets or Python.
        "open_by_currency": (
            "SELECT currency, SUM(balance_minor), COUNT(*) FROM portfolio_document "
            "WHERE creditor_id = %s AND balance_minor <> 0 GROUP BY currency",
            [pk],
        ),
        # The same for aging by debtor: one row per debtor and currency, fetched.
        "open_by_debtor": (
            "SELECT debtor_id, currency, SUM(balance_minor), COUNT(*) FROM portfolio_document "
            "WHERE creditor_id = %s AND balance_minor <> 0 GROUP BY debtor_id, currency",
            [pk],
        ),
        # Every document's balance rebuilt from the whole ledger (aggregated in the database,
        # so the transfer of a million rows is not counted).
        "ledger_by_document_all": (
            "SELECT COUNT(*), SUM(total) FROM (SELECT document_id, SUM(amount_minor) AS total "
            "FROM portfolio_ledgerentry GROUP BY document_id) s",
            [],
        ),
        # The part of the ledger a past as-of date must undo (the aging report's `late` CTE).
        "ledger_after_past": (
            "SELECT COUNT(*), SUM(total) FROM (SELECT document_id, SUM(amount_minor) AS total "
            "FROM portfolio_ledgerentry WHERE creditor_id = %s AND effective_date > %s "
            "GROUP BY document_id) s",
            [pk, past],
        ),
    }
    bare_times: Json = {}
    for name, (sql, params) in queries.items():
        bare(sql, params)()  # warm-up, as the aging report was warmed by its first call
        bare_times[name] = {"sql": sql, **_timed(args.repeat, bare(sql, params))}
    found["bare_sql"] = bare_times

    if args.explain:
        found["plans"] = explain_aging(creditor, today, past)
    return found


class _Capture:
    """A database execute wrapper that keeps each statement and its parameters."""

    def __init__(self, into: list[tuple[str, Any]]):
        self.into = into

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.into.append((sql, params))
        return execute(sql, params, many, context)


def explain_aging(creditor: Any, today: datetime.date, past: datetime.date) -> Json:
    """The plans of the statements aging_report runs, captured as it runs them."""
    from django.db import connection

    from cartera.reports.aging import aging_report

    plans: Json = {}
    for label, as_of in (("today", today), ("past", past)):
        captured: list[tuple[str, Any]] = []
        with connection.execute_wrapper(_Capture(captured)):
            aging_report(creditors=[creditor], as_of=as_of, by="creditor")
        for index, (sql, params) in enumerate(captured):
            statement = "documents" if index == 0 else "credits"
            if connection.vendor == "postgresql":
                prefix = "EXPLAIN (ANALYZE, BUFFERS)"
            else:
                prefix = "EXPLAIN QUERY PLAN"
            with connection.cursor() as cursor:
                cursor.execute(f"{prefix} {sql}", params)
                lines = [" | ".join(str(c) for c in row) for row in cursor.fetchall()]
            plans[f"{statement}_{label}"] = lines
    return plans


# --- summary ------------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _best_median(entry: Json) -> str:
    return f"{_s(entry['best'])}/{_s(entry['median'])}"


def _import_cell(entry: Json) -> str:
    cpu = entry.get("cpu_seconds")
    return (
        f"{entry['rows_per_second']:,.0f}, {_s(entry['seconds'])}, "
        f"{_s(cpu) if cpu is not None else '-'}, {entry['max_rss_mib']:.0f}"
    )


def _ratio(r: Json, aging_key: str, bare_key: str) -> str:
    bare = r["in_process"]["bare_sql"][bare_key]["best"]
    return f"{r['in_process']['aging'][aging_key]['best'] / bare:.1f}x" if bare else "-"


def summary_lines(generated: Json, results: list[Json]) -> list[str]:
    reused = " (reused)" if generated["reused"] else ""
    rows: list[tuple[str, list[str]]] = [
        (
            f"generate (s, peak MiB){reused}",
            [f"{_s(generated['seconds'])}, {generated['max_rss_mib']:.0f}" for _ in results],
        ),
        ("cli startup (s, best)", [_s(r["cli_startup"]["best"]) for r in results]),
    ]
    for name in IMPORT_KINDS:
        rows.append(
            (
                f"import {name} (rows/s, s, cpu s, peak MiB)",
                [_import_cell(r["imports"][name]) for r in results],
            )
        )
    if any("analyze_seconds" in r["imports"][IMPORT_KINDS[0]] for r in results):
        rows.append(
            (
                "ANALYZE after each import (s)",
                [
                    "/".join(_s(r["imports"][n].get("analyze_seconds")) for n in IMPORT_KINDS)
                    for r in results
                ],
            )
        )
    rows.append(
        (
            "rejected (debtors/documents/payments)",
            [
                "/".join(str(r["imports"][n]["result"]["rejected"]) for n in IMPORT_KINDS)
                for r in results
            ],
        )
    )
    for label in ("today", "past"):
        rows.append(
            (
                f"aging CLI {label} (s best/median, MiB)",
                [
                    f"{_best_median(r['aging_cli'][label])}, "
                    f"{r['aging_cli'][label]['max_rss_mib']:.0f}"
                    for r in results
                ],
            )
        )
    for key in ("creditor_today", "debtor_today", "creditor_past", "debtor_past"):
        rows.append(
            (
                f"aging_report {key} (s best/median)",
                [_best_median(r["in_process"]["aging"][key]) for r in results],
            )
        )
    for key in (
        "open_by_currency",
        "open_by_debtor",
        "ledger_by_document_all",
        "ledger_after_past",
    ):
        rows.append(
            (
                f"bare SQL {key} (s best/median)",
                [_best_median(r["in_process"]["bare_sql"][key]) for r in results],
            )
        )
    rows += [
        (
            "aging/bare, by creditor today",
            [_ratio(r, "creditor_today", "open_by_currency") for r in results],
        ),
        (
            "aging/bare, by debtor today",
            [_ratio(r, "debtor_today", "open_by_debtor") for r in results],
        ),
        (
            "check (s, peak MiB, problems)",
            [
                f"{_s(r['check']['seconds'])}, {r['check']['max_rss_mib']:.0f}, "
                f"{r['check']['problems']}"
                for r in results
            ],
        ),
        ("open documents", [f"{r['in_process']['rows']['open_documents']:,}" for r in results]),
        ("ledger entries", [f"{r['in_process']['rows']['ledgerentry']:,}" for r in results]),
        ("database size (MiB)", [f"{r['database_bytes'] / 2**20:,.0f}" for r in results]),
    ]
    header = ["", *[r["database"] for r in results]]
    table = [header, *[[label, *cells] for label, cells in rows]]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        )
        for line in table
    ]


# --- main ---------------------------------------------------------------------------------------


def machine() -> Json:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        memory = meminfo.read_text().splitlines()[0].split(":", 1)[1].strip()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--debtors", type=int, default=200_000)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", default="sqlite,postgres", help="comma list: sqlite, postgres")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    parser.add_argument(
        "--as-of",
        type=datetime.date.fromisoformat,
        default=datetime.date.today(),
        help="the portfolio's today (default: today); imports and aging use it too",
    )
    parser.add_argument("--past-days", type=int, default=90, help="past as-of = as-of - N days")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timed query")
    parser.add_argument(
        "--timeout", type=float, default=3600, help="seconds any one command may take"
    )
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server URL")
    parser.add_argument("--pg-name", default=DEFAULT_PG_NAME, help="database to drop/create")
    parser.add_argument(
        "--no-explain", dest="explain", action="store_false", help="skip the aging query plans"
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE after each import (timed apart), as autovacuum would on a server "
        "where it is on; off by default: the database is measured as the imports leave it",
    )
    parser.add_argument(
        "--src",
        help="measure the cartera package under DIR/cartera (e.g. a `git archive` snapshot) "
        "instead of the installed one; every command gets PYTHONPATH=DIR",
    )
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.in_process:
        sys.stdout.write(json.dumps(in_process(args), default=str) + "\n")
        return 0
    databases = [name.strip() for name in args.db.split(",") if name.strip()]
    unknown = sorted(set(databases) - set(DATABASES))
    if unknown:
        sys.stderr.write(f"--db: unknown database(s) {', '.join(unknown)}\n")
        return 2
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    base_env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CARTERA_HOME", "DJANGO_SETTINGS_MODULE")
    }
    if args.src:
        src = str(Path(args.src).resolve())
        base_env["PYTHONPATH"] = os.pathsep.join(
            [src, *([base_env["PYTHONPATH"]] if base_env.get("PYTHONPATH") else [])]
        )
    started = datetime.datetime.now()
    files = Portfolio(args, out)
    try:
        code = code_identity(args)
        log(f"measuring {code['package']} (commit {code['git_head']})")
        results = [bench_database(kind, args, out, files, base_env) for kind in databases]
    except BenchmarkError as exc:
        sys.stderr.write(f"benchmark failed: {exc}\n")
        return 1
    document = {
        "benchmark": "foundation",
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": [Path(sys.executable).name, *sys.argv],
        "arguments": {
            "debtors": args.debtors,
            "documents": args.documents,
            "seed": args.seed,
            "as_of": args.as_of.isoformat(),
            "past_days": args.past_days,
            "repeat": args.repeat,
            "databases": databases,
            "analyze": args.analyze,
        },
        "machine": machine(),
        "code": code,
        "generated": files.generated,
        "results": results,
    }
    stamp = started.strftime("%Y%m%dT%H%M%S")
    variant = "-analyze" if args.analyze else ""
    name = f"foundation-{args.debtors}x{args.documents}-{'+'.join(databases)}{variant}-{stamp}"
    path = out / f"{name}.json"
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    lines = summary_lines(files.generated, results)
    print(f"foundation: {args.debtors:,} debtors, {args.documents:,} documents, seed {args.seed}")
    print("\n".join(lines))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
