"""Profile the (b) path of benchmarks/messaging.py: cProfile of claim + dispatch_prepare.

    .venv/bin/python benchmarks/messaging_profile.py [--db postgres] [--messages 10000]
        [--batch 1000] [--reuse] [--out benchmarks/out]

Seeds a fresh database (prefix `cartera_bench_messaging_profile`, unless --reuse), runs the
benchmark's `decide` child under cProfile and prints the top functions by cumulative and own
time, with the number of SQL queries per batch.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import messaging  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description="profile (b) of benchmarks/messaging.py")
    parser.add_argument("--db", default="postgres")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--reuse", action="store_true", help="requeue instead of reseeding")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    parser.add_argument("--pg-url", default=messaging.DEFAULT_PG_URL)
    parser.add_argument("--pg-name", default=messaging.DEFAULT_PG_NAME + "_profile")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CARTERA_HOME": str(out / "home-profile"), "PYTHONPATH": str(ROOT / "src")}
    if args.db == "sqlite":
        url = f"sqlite:///{(out / 'messaging-profile.sqlite3').resolve()}"
    else:
        url = f"{args.pg_url.rstrip('/')}/{args.pg_name}_decide"
    env["DATABASE_URL"] = url
    if not args.reuse:
        url = messaging.fresh_database(args.db, args, out, "decide")
        env["DATABASE_URL"] = url
        messaging.run([messaging.CARTERA, "migrate", "--verbosity", "0"], env)
        print(messaging.child(["seed", str(args.messages)], env))
        messaging.analyze(args.db, url)
    else:
        # Back to the queue as seeded (dispatch_prepare writes nothing, claiming does).
        requeue = (
            "from cartera.messaging.models import Message;"
            "print(Message.objects.update(status='queued', leased_by='', lease_until=None,"
            " handed_at=None, attempts=0))"
        )
        subprocess.run(
            [sys.executable, "-c", "import django;django.setup();" + requeue],
            env={**env, "DJANGO_SETTINGS_MODULE": "cartera.settings"},
            check=True,
            cwd=ROOT,
        )
    stats = out / "messaging-profile.pstats"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(stats),
            str(ROOT / "benchmarks" / "messaging.py"),
            "--child",
            "decide",
            str(args.batch),
        ],
        env=env,
        check=True,
        cwd=ROOT,
    )
    import pstats

    report = pstats.Stats(str(stats))
    report.sort_stats("cumulative").print_stats(45)
    report.sort_stats("tottime").print_stats(35)
    return 0


if __name__ == "__main__":
    sys.exit(main())
