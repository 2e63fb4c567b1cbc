"""Snapshots: written by the daily run after it commits, equal to the ledger day by day, built
for a range of days in one pass, in a fixed number of statements."""

from __future__ import annotations

import datetime
import io
from collections import defaultdict

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from cartera.reports.models import (
    CollectorSpell,
    DailyBalance,
    DailyFlow,
    ForecastWeek,
    MonthBalance,
    SnapshotDay,
    SnapshotSource,
)
from cartera.reports.queries import ledger_bucket_totals
from cartera.reports.snapshots import snapshots_rebuild, snapshots_write
from cartera.strategy.defaults import strategy_defaults_ensure
from cartera.strategy.run import run_execute
from tests.reports_support import HEADER

pytest_plugins = ["tests.reports_fixtures"]

D = datetime.date


def balances_by_day() -> dict[datetime.date, dict[tuple, tuple[int, int]]]:
    found: dict[datetime.date, dict[tuple, tuple[int, int]]] = defaultdict(dict)
    for row in DailyBalance.objects.values_list(
        "day", "currency", "bucket", "written_off", "balance_minor", "documents"
    ):
        day, currency, bucket, wo, amount, count = row
        key = (currency, bucket, wo)
        before = found[day].get(key, (0, 0))
        found[day][key] = (before[0] + amount, before[1] + count)
    return {day: {k: v for k, v in cells.items() if v != (0, 0)} for day, cells in found.items()}


def test_the_daily_run_writes_the_snapshots_once_committed(
    history, actor, django_capture_on_commit_callbacks
):
    strategy_defaults_ensure(creditor=history, actor=actor)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run_execute(creditor=history, as_of=D(2026, 3, 31), actor=actor)
    assert not SnapshotDay.objects.exists()  # nothing before the run commits
    for callback in callbacks:
        callback()

    day = SnapshotDay.objects.get()
    assert (day.day, day.source) == (D(2026, 3, 31), SnapshotSource.RUN)
    totals = ledger_bucket_totals([history.pk], D(2026, 3, 31))["COP"]
    assert sum(DailyBalance.objects.values_list("balance_minor", flat=True)) == totals.ar == 205_000
    assert MonthBalance.objects.filter(month_end=D(2026, 3, 31)).exists()
    assert ForecastWeek.objects.filter(made_on=D(2026, 3, 31)).count() == 15
    assert CollectorSpell.objects.count() == 3  # one per account the run evaluated


def test_a_dry_run_writes_no_snapshot(history, actor, django_capture_on_commit_callbacks):
    strategy_defaults_ensure(creditor=history, actor=actor)
    with django_capture_on_commit_callbacks(execute=True):
        run_execute(creditor=history, as_of=D(2026, 3, 31), actor=actor, dry_run=True)
    assert not SnapshotDay.objects.exists() and not DailyBalance.objects.exists()


def test_the_runs_snapshots_and_the_rebuild_agree_day_by_day(history, actor):
    first, last = D(2026, 2, 14), D(2026, 4, 6)
    day = first
    while day <= last:
        snapshots_write(creditor=history, as_of=day, actor=actor)
        day += datetime.timedelta(days=1)
    written = balances_by_day()
    flows = sorted(
        DailyFlow.objects.values_list(
            "day", "currency", "due_date", "sales_minor", "collected_minor"
        )
    )

    snapshots_rebuild(creditor=history, first=first, last=last, actor=actor)

    assert balances_by_day() == written
    assert (
        sorted(
            DailyFlow.objects.values_list(
                "day", "currency", "due_date", "sales_minor", "collected_minor"
            )
        )
        == flows
    )
    assert set(SnapshotDay.objects.values_list("source", flat=True)) == {SnapshotSource.REBUILD}
    # And both are the ledger's figures of each day.
    for day, cells in written.items():
        ledger = ledger_bucket_totals([history.pk], day).get("COP")
        amounts = [0] * 9
        for (_currency, bucket, _wo), (amount, _count) in cells.items():
            amounts[bucket] += amount
        assert amounts == (ledger.amounts if ledger else [0] * 9), day


def test_writing_a_snapshot_takes_the_same_statements_whatever_the_size(
    creditor, actor, write_file, load, django_assert_max_num_queries
):
    def documents(prefix: str, size: int) -> str:
        return HEADER + "".join(
            f"{prefix}{n},{prefix}D{n},Deudor {n},invoice,2026-0{1 + n % 3}-10,"
            f"2026-0{2 + n % 3}-10,{100 + n}.00,COP\n"
            for n in range(size)
        )

    load("documents", write_file("small.csv", documents("S", 3)), as_of=D(2026, 4, 30))
    with django_assert_max_num_queries(60) as small:
        snapshots_write(creditor=creditor, as_of=D(2026, 4, 30), actor=actor)
    load("documents", write_file("big.csv", documents("B", 150)), as_of=D(2026, 4, 30))
    with django_assert_max_num_queries(len(small.captured_queries)):
        snapshots_write(creditor=creditor, as_of=D(2026, 4, 30), actor=actor)


def test_cli_rebuilds_a_range(history, capsys):
    out = io.StringIO()
    with translation.override("en"):
        call_command(
            "report",
            "snapshot",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "--forecasts",
            "2",
            stdout=out,
        )

    assert "ACME: 90 days rebuilt" in out.getvalue()
    assert "2026-01-31, 2026-02-28, 2026-03-31" in out.getvalue()
    assert SnapshotDay.objects.count() == 90
    assert set(ForecastWeek.objects.values_list("made_on", flat=True)) == {
        D(2026, 3, 31),
        D(2026, 3, 24),
    }
    with pytest.raises(CommandError) as wrong:
        call_command("report", "snapshot", "--from", "2026-03-31", "--to", "2026-01-01")
    assert wrong.value.returncode == 2
    assert "--to es anterior a --from" in str(wrong.value)  # Spanish by default
