"""Times the daily run on an already loaded portfolio (e.g. the foundation benchmark's).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cartera_bench \\
        .venv/bin/python benchmarks/daily_run.py --creditor BENCH --as-of 2026-11-24 --replay 30

Runs `cartera run` as a user would (a subprocess per command, so peak memory is the run's own),
first for --as-of, then --replay days after it one by one with `--from/--to`. It changes the
database (runs are recorded): point it at a copy you can throw away.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str]) -> tuple[float, float, str]:
    """(seconds, peak MiB of the child, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}): {result.stderr[-2000:]}")
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    return seconds, peak, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--creditor", required=True)
    parser.add_argument("--as-of", type=datetime.date.fromisoformat, required=True)
    parser.add_argument("--replay", type=int, default=30, help="days replayed after --as-of")
    args = parser.parse_args()
    cartera = [sys.executable, "-m", "cartera"]
    url = os.environ.get("DATABASE_URL", "sqlite (default)")
    print(f"database {url.split('@')[-1]}, {platform.node()}, {os.cpu_count()} cores")

    seconds, peak, out = timed(
        [
            *cartera,
            "run",
            "--creditor",
            args.creditor,
            "--as-of",
            str(args.as_of),
            "--format",
            "json",
        ]
    )
    report = json.loads(out)
    print(
        f"run {args.as_of}: {seconds:.1f} s, peak {peak:.0f} MiB, "
        f"{report['accounts_evaluated']:,} accounts, {sum(report['actions'].values()):,} "
        f"actions, {report['episodes_opened']:,} episodes opened"
    )
    if args.replay:
        first = args.as_of + datetime.timedelta(days=1)
        last = args.as_of + datetime.timedelta(days=args.replay)
        seconds, peak, out = timed(
            [
                *cartera,
                "run",
                "--creditor",
                args.creditor,
                "--from",
                str(first),
                "--to",
                str(last),
                "--format",
                "json",
            ]
        )
        days = [json.loads(line) for line in out.splitlines()]
        actions = sum(sum(day["actions"].values()) for day in days)
        print(
            f"replay {first}..{last} ({len(days)} days): {seconds:.1f} s "
            f"({seconds / len(days):.1f} s a day), peak {peak:.0f} MiB, {actions:,} actions"
        )


if __name__ == "__main__":
    main()
