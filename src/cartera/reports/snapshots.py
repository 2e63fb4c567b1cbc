"""Snapshots: the figures of each day, written by the daily run, so that trends stay cheap.

`snapshots_write` runs once every daily run is committed (`snapshots_after_run`, connected to
the strategy's `run_committed` signal; a failure is logged and leaves the run alone): it writes the
day's balances and flows, restates the few days before (payments often arrive a few days
late), writes the accounts' balances at the latest month end and where the accounts of the
month before went (roll rates), records who holds each account (collector spells) and stores
the day's 13-week cash forecast. Every write is an `INSERT … SELECT` or a bulk insert: the
number of statements does not depend on the size of the portfolio.

`snapshots_rebuild` builds (or rebuilds) the history of a range of days straight from the
ledger in one pass — the benchmark's year of history, or a correction after late files. For
rebuilt days the stage, segment and collector are the accounts' current ones: the past ones
were not recorded.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cartera.core.audit import Actor, audit_record
from cartera.core.bulk import rows_insert
from cartera.portfolio.models import Creditor
from cartera.reports.models import (
    DailyBalance,
    RollCount,
    SnapshotDay,
    SnapshotSource,
)
from cartera.reports.queries import (
    BUCKETS,
    CREDIT_BUCKET,
    balances_cte,
    bucket_case,
    fetch,
    ledger_flows,
    unapplied_cte,
)
from cartera.reports.sqldates import boolean, day_number, from_day_number, greatest, least

_FAR = 10_000_000  # a day number beyond any date: "no bound"


def restate_days() -> int:
    return int(getattr(settings, "CARTERA_SNAPSHOT_RESTATE_DAYS", 3))


def month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=1) - datetime.timedelta(days=1)


def latest_month_end(day: datetime.date) -> datetime.date:
    """The last month end on or before `day`."""
    return day if day == month_end(day) else previous_month_end(day)


def _execute(sql: str, params: list[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- one day ------------------------------------------------------------------------------------


def _write_balances(creditor: Creditor, day: datetime.date) -> int:
    """The day's aging by currency, bucket, written-off flag, stage, segment and collector."""
    _execute(
        "DELETE FROM reports_dailybalance WHERE creditor_id = %s AND day = %s", [creditor.pk, day]
    )
    balances, b_params = balances_cte([creditor.pk], day)
    unapplied, u_params = unapplied_cte([creditor.pk], day)
    case, case_params = bucket_case("b.due_date", day)
    sql = f"""
        WITH {balances}, {unapplied},
        x AS (
            SELECT b.debtor_id, b.currency,
                   CASE WHEN b.balance < 0 THEN {CREDIT_BUCKET} ELSE {case} END AS bucket,
                   CASE WHEN b.written_off_on IS NOT NULL AND b.written_off_on <= %s
                        THEN 1 ELSE 0 END AS wo,
                   b.balance AS amount
            FROM balances b WHERE b.balance <> 0
            UNION ALL
            SELECT u.debtor_id, u.currency, {CREDIT_BUCKET}, 0, -u.unapplied
            FROM unapplied u WHERE u.unapplied <> 0
        )
        INSERT INTO reports_dailybalance (creditor_id, day, currency, bucket, written_off,
            stage_id, segment_id, collector_id, balance_minor, documents)
        SELECT %s, %s, x.currency, x.bucket, {boolean("x.wo = 1")},
               a.stage_id, a.segment_id, a.collector_id, SUM(x.amount), COUNT(*)
        FROM x LEFT JOIN strategy_account a ON a.debtor_id = x.debtor_id
        GROUP BY x.currency, x.bucket, x.wo, a.stage_id, a.segment_id, a.collector_id
    """
    return _execute(sql, [*b_params, *u_params, *case_params, day, creditor.pk, day])


def _write_flows(creditor: Creditor, first: datetime.date, last: datetime.date) -> int:
    """Sales and money applied per day from `first` to `last`, by currency and due date."""
    _execute(
        "DELETE FROM reports_dailyflow WHERE creditor_id = %s AND day BETWEEN %s AND %s",
        [creditor.pk, first, last],
    )
    flows, f_params = ledger_flows(creditor.pk, first, last)
    sql = f"""
        INSERT INTO reports_dailyflow (creditor_id, day, currency, due_date, sales_minor,
            collected_minor)
        SELECT %s, g.day, g.currency, g.due_date, g.sales, g.collected FROM (
            SELECT f.day, f.currency, f.due_date, SUM(f.sales) AS sales,
                   SUM(f.collected) AS collected
            FROM ({flows}) f
            GROUP BY f.day, f.currency, f.due_date
        ) g
        WHERE g.sales <> 0 OR g.collected <> 0
    """
    return _execute(sql, [creditor.pk, *f_params])


def _mark_days(creditor: Creditor, days: list[datetime.date], source: str) -> None:
    SnapshotDay.objects.filter(creditor=creditor, day__in=days).delete()
    now = timezone.now()
    SnapshotDay.objects.bulk_create(
        [SnapshotDay(creditor=creditor, day=d, source=source, written_at=now) for d in days]
    )


# --- month ends and roll rates ------------------------------------------------------------------


MONTH_COLUMNS = (
    "debtor_id",
    "currency",
    "bucket",
    "balance_minor",
    "written_off_minor",
    "written_off_in_month",
    *(f"b{n}_minor" for n in range(len(BUCKETS))),
    "stage_id",
    "segment_id",
    "collector_id",
)


def month_accounts_sql(creditor_ids: list[int], end: datetime.date) -> tuple[str, str, list[Any]]:
    """(WITH clause, SELECT, parameters): each account's positive balances by bucket at the end
    of `end`, in `MONTH_COLUMNS` order (the snapshot writes it, a report without one reads it).
    """
    balances, b_params = balances_cte(creditor_ids, end)
    case, case_params = bucket_case("b.due_date", end)
    sums = ", ".join(
        f"SUM(CASE WHEN x.wo = 0 AND x.bucket = {n} THEN x.amount ELSE 0 END)"
        for n in range(len(BUCKETS))
    )
    with_clause = f"""
        WITH {balances},
        x AS (
            SELECT b.debtor_id, b.currency, {case} AS bucket,
                   CASE WHEN b.written_off_on IS NOT NULL AND b.written_off_on <= %s
                        THEN 1 ELSE 0 END AS wo,
                   CASE WHEN b.written_off_on > %s AND b.written_off_on <= %s
                        THEN 1 ELSE 0 END AS wo_month,
                   b.balance AS amount
            FROM balances b WHERE b.balance > 0
        )
    """
    select = f"""
        SELECT x.debtor_id, x.currency,
               COALESCE(MAX(CASE WHEN x.wo = 0 THEN x.bucket END), 0),
               SUM(CASE WHEN x.wo = 0 THEN x.amount ELSE 0 END),
               SUM(CASE WHEN x.wo = 1 THEN x.amount ELSE 0 END),
               {boolean("MAX(x.wo_month) = 1")},
               {sums},
               a.stage_id, a.segment_id, a.collector_id
        FROM x LEFT JOIN strategy_account a ON a.debtor_id = x.debtor_id
        GROUP BY x.debtor_id, x.currency, a.stage_id, a.segment_id, a.collector_id
    """
    params = [*b_params, *case_params, end, previous_month_end(end), end]
    return with_clause, select, params


def _write_month(creditor: Creditor, end: datetime.date) -> int:
    """Each account's positive balances by bucket at the month end `end`."""
    _execute(
        "DELETE FROM reports_monthbalance WHERE creditor_id = %s AND month_end = %s",
        [creditor.pk, end],
    )
    with_clause, select, params = month_accounts_sql([creditor.pk], end)
    # The SELECT's columns, with the creditor and the month end in front.
    select = select.replace("SELECT x.debtor_id", "SELECT %s, %s, x.debtor_id", 1)
    sql = f"""
        {with_clause}
        INSERT INTO reports_monthbalance (creditor_id, month_end, {", ".join(MONTH_COLUMNS)})
        {select}
    """
    return _execute(sql, [*params, creditor.pk, end])


def _write_rolls(creditor: Creditor, start: datetime.date) -> int:
    """Where the accounts of each bucket at the month end `start` were a month later.

    Per account, its whole balance at `start` goes to one place: written off (a document of
    it was written off during the next month), paid (nothing owed a month later), or the
    bucket it is in a month later.
    """
    end = month_end(start + datetime.timedelta(days=1))
    _execute(
        "DELETE FROM reports_rollcount WHERE creditor_id = %s AND month_end = %s",
        [creditor.pk, start],
    )
    sql = f"""
        INSERT INTO reports_rollcount (creditor_id, month_end, currency, segment_id, from_bucket,
            to_bucket, accounts, balance_minor)
        SELECT %s, %s, g.currency, g.segment_id, g.from_bucket, g.to_bucket, COUNT(*),
               SUM(g.balance)
        FROM (
            SELECT f.currency, f.segment_id, f.bucket AS from_bucket, f.balance_minor AS balance,
                   CASE WHEN t.written_off_in_month THEN {RollCount.WRITTEN_OFF}
                        WHEN t.id IS NULL OR t.balance_minor <= 0 THEN {RollCount.PAID}
                        ELSE t.bucket END AS to_bucket
            FROM reports_monthbalance f
            LEFT JOIN reports_monthbalance t
              ON t.month_end = %s AND t.debtor_id = f.debtor_id AND t.currency = f.currency
             AND t.creditor_id = f.creditor_id
            WHERE f.creditor_id = %s AND f.month_end = %s AND f.balance_minor > 0
        ) g
        GROUP BY g.currency, g.segment_id, g.from_bucket, g.to_bucket
    """
    return _execute(sql, [creditor.pk, start, end, creditor.pk, start])


def _month_and_rolls(creditor: Creditor, end: datetime.date) -> None:
    from cartera.reports.models import MonthBalance

    _write_month(creditor, end)
    before = previous_month_end(end)
    if MonthBalance.objects.filter(creditor=creditor, month_end=before).exists():
        _write_rolls(creditor, before)
    after = month_end(end + datetime.timedelta(days=1))
    if MonthBalance.objects.filter(creditor=creditor, month_end=after).exists():
        _write_rolls(creditor, end)


# --- collector spells ---------------------------------------------------------------------------


def _write_spells(creditor: Creditor, day: datetime.date) -> None:
    """Close the spells of accounts whose collector changed and open the new ones."""
    same = (
        "(a.collector_id = s.collector_id OR (a.collector_id IS NULL AND s.collector_id IS NULL))"
    )
    changed = f"""
        SELECT 1 FROM strategy_account a
        WHERE a.debtor_id = s.debtor_id AND NOT {same}
    """
    # A spell opened today and changed again today never held the account for a whole day.
    _execute(
        f"""DELETE FROM reports_collectorspell WHERE id IN (
              SELECT s.id FROM reports_collectorspell s
              WHERE s.creditor_id = %s AND s.until IS NULL AND s.since >= %s
                AND EXISTS ({changed}))""",
        [creditor.pk, day],
    )
    _execute(
        f"""UPDATE reports_collectorspell SET until = %s WHERE id IN (
              SELECT s.id FROM reports_collectorspell s
              WHERE s.creditor_id = %s AND s.until IS NULL AND EXISTS ({changed}))""",
        [day, creditor.pk],
    )
    with _hashed_anti_join():
        _execute(
            """INSERT INTO reports_collectorspell (creditor_id, debtor_id, collector_id, since)
           SELECT %s, a.debtor_id, a.collector_id, %s FROM strategy_account a
           WHERE a.creditor_id = %s AND NOT EXISTS (
               SELECT 1 FROM reports_collectorspell s
               WHERE s.creditor_id = a.creditor_id AND s.debtor_id = a.debtor_id
                 AND s.until IS NULL)""",
            [creditor.pk, day, creditor.pk],
        )


@contextlib.contextmanager
def _hashed_anti_join() -> Iterator[None]:
    """Keep PostgreSQL from checking each account against the spells with a nested loop.

    The spells table is empty or small when the planner last looked at it (no statistics
    after a first run, autovacuum may be off), so it picks a loop that scans the table once
    per account, and that table grows with the very rows being inserted: 80 s for 100,000
    accounts instead of well under one. Transaction-local, and restored at once.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_nestloop')")
        (previous,) = cursor.fetchone()
        cursor.execute("SELECT set_config('enable_nestloop', 'off', true)")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('enable_nestloop', %s, true)", [previous])


# --- the service the daily run calls ----------------------------------------------------------


@dataclass
class SnapshotReport:
    days: list[datetime.date]
    month_end: datetime.date | None
    balance_rows: int = 0
    flow_rows: int = 0


@transaction.atomic
def snapshots_after_run(
    sender: object, *, creditor: Creditor, as_of: datetime.date, actor: Actor, **kwargs: object
) -> None:
    """Receiver of `cartera.strategy.signals.run_committed`."""
    snapshots_write(creditor=creditor, as_of=as_of, actor=actor)


def snapshots_write(*, creditor: Creditor, as_of: datetime.date, actor: Actor) -> SnapshotReport:
    """Write the snapshots of `as_of` (and restate the few days before it)."""
    from cartera.reports.forecast import forecast_store

    first = as_of - datetime.timedelta(days=restate_days())
    earliest = (
        SnapshotDay.objects.filter(creditor=creditor).order_by("day").values_list("day", flat=True)
    ).first()
    # The days before are restated (late payments land in them) from the first snapshot on:
    # the first run writes only its own day, and earlier days are read from the ledger.
    days = [
        first + datetime.timedelta(days=n)
        for n in range((as_of - first).days + 1)
        if earliest is not None and first + datetime.timedelta(days=n) >= earliest
    ]
    if as_of not in days:
        days.append(as_of)
    report = SnapshotReport(days=days, month_end=None)
    for day in days:
        report.balance_rows += _write_balances(creditor, day)
    report.flow_rows = _write_flows(creditor, days[0], days[-1])
    _mark_days(creditor, days, SnapshotSource.RUN)
    from cartera.reports.models import MonthBalance

    end = latest_month_end(as_of)
    if end >= days[0] or not MonthBalance.objects.filter(creditor=creditor, month_end=end).exists():
        _month_and_rolls(creditor, end)
        report.month_end = end
    _write_spells(creditor, as_of)
    forecast_store(creditor=creditor, made_on=as_of)
    audit_record(
        actor=actor,
        action="snapshot.write",
        obj=creditor,
        creditor_id=creditor.pk,
        changes={
            "as_of": as_of,
            "days": [d.isoformat() for d in days],
            "month_end": end if report.month_end else None,
        },
    )
    return report


# --- history from the ledger in one pass ------------------------------------------------------


def _balance_events(
    creditor: Creditor, first: datetime.date, last: datetime.date
) -> list[tuple[Any, ...]]:
    """(day number, currency, bucket, written off, stage, segment, collector, Δ balance,
    Δ documents) for every change of the daily aging from `first` to `last`.

    Each document's balance is a step function of the day (running sum of its ledger entries
    per day); each step is cut where the document changes bucket or is written off, and each
    piece adds its balance on the day it starts and takes it back the day after it ends.
    Pieces that start before `first` are counted from `first`.
    """
    f, l_ = _day(first), _day(last)
    buckets = []
    for index, bucket in enumerate(BUCKETS):
        low = -_FAR if bucket.low is None or index == 0 else bucket.low
        high = _FAR if bucket.high is None else bucket.high + 1
        buckets.append(f"SELECT {index} AS bucket, {low} AS lo, {high} AS hi")
    buckets.append(f"SELECT {CREDIT_BUCKET}, {-2 * _FAR}, {2 * _FAR}")
    k_table = " UNION ALL ".join(buckets)
    pieces_lo = greatest("i.lo", "i.due + k.lo", "CASE WHEN w.flag = 1 THEN i.wo ELSE i.lo END")
    pieces_hi = least("i.hi", "i.due + k.hi", "CASE WHEN w.flag = 0 THEN i.wo ELSE i.hi END")
    sql = f"""
        WITH e AS (
            SELECT document_id, effective_date AS day, CAST(SUM(amount_minor) AS BIGINT) AS amount
            FROM portfolio_ledgerentry
            WHERE creditor_id = %s AND effective_date <= %s
            GROUP BY document_id, effective_date
        ),
        s AS (
            SELECT document_id, {day_number("day")} AS lo,
                   SUM(amount) OVER (PARTITION BY document_id ORDER BY day
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS balance,
                   LEAD({day_number("day")}) OVER (PARTITION BY document_id ORDER BY day) AS hi
            FROM e
        ),
        i AS (
            SELECT s.lo, COALESCE(s.hi, {l_ + 1}) AS hi, s.balance, d.currency, d.debtor_id,
                   {day_number("d.due_date")} AS due,
                   COALESCE({day_number("d.written_off_on")}, {_FAR}) AS wo
            FROM s JOIN portfolio_document d ON d.id = s.document_id
            WHERE s.balance <> 0 AND (s.hi IS NULL OR s.hi > {f})
        ),
        k AS ({k_table}),
        w AS (SELECT 0 AS flag UNION ALL SELECT 1),
        p AS (
            SELECT i.currency, i.debtor_id, k.bucket, w.flag, i.balance,
                   {pieces_lo} AS a, {pieces_hi} AS b
            FROM i CROSS JOIN k CROSS JOIN w
            WHERE (i.balance < 0 AND k.bucket = {CREDIT_BUCKET})
               OR (i.balance > 0 AND k.bucket < {CREDIT_BUCKET})
        ),
        ev AS (
            SELECT {greatest("p.a", str(f))} AS day, p.currency, p.debtor_id, p.bucket, p.flag,
                   p.balance AS delta, 1 AS n
            FROM p WHERE p.a < p.b AND p.b > {f}
            UNION ALL
            SELECT p.b, p.currency, p.debtor_id, p.bucket, p.flag, -p.balance, -1
            FROM p WHERE p.a < p.b AND p.b > {f} AND p.b <= {l_}
        )
        SELECT ev.day, ev.currency, ev.bucket, ev.flag, a.stage_id, a.segment_id,
               a.collector_id, SUM(ev.delta), SUM(ev.n)
        FROM ev LEFT JOIN strategy_account a ON a.debtor_id = ev.debtor_id
        GROUP BY ev.day, ev.currency, ev.bucket, ev.flag, a.stage_id, a.segment_id,
                 a.collector_id
    """
    rows = fetch(sql, [creditor.pk, last])
    # Unapplied payments: the credit is the payment's amount less its live allocations.
    credits_sql = f"""
        WITH pe AS (
            SELECT p.id AS item, p.date AS day, -p.amount_minor AS amount
            FROM portfolio_payment p WHERE p.creditor_id = %s AND p.date <= %s
            UNION ALL
            SELECT al.payment_id, e.effective_date, al.amount_minor
            FROM portfolio_allocation al JOIN portfolio_ledgerentry e ON e.id = al.entry_id
            WHERE e.creditor_id = %s AND e.effective_date <= %s
              AND NOT EXISTS (SELECT 1 FROM portfolio_ledgerentry r WHERE r.reverses_id = e.id)
        ),
        pg AS (SELECT item, day, CAST(SUM(amount) AS BIGINT) AS amount FROM pe GROUP BY item, day),
        ps AS (
            SELECT item, {day_number("day")} AS lo,
                   SUM(amount) OVER (PARTITION BY item ORDER BY day
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS balance,
                   LEAD({day_number("day")}) OVER (PARTITION BY item ORDER BY day) AS hi
            FROM pg
        ),
        i AS (
            SELECT ps.lo, COALESCE(ps.hi, {l_ + 1}) AS hi, ps.balance, p.currency, p.debtor_id
            FROM ps JOIN portfolio_payment p ON p.id = ps.item
            WHERE ps.balance <> 0 AND (ps.hi IS NULL OR ps.hi > {f})
        ),
        ev AS (
            SELECT {greatest("i.lo", str(f))} AS day, i.currency, i.debtor_id, i.balance AS delta,
                   1 AS n
            FROM i
            UNION ALL
            SELECT i.hi, i.currency, i.debtor_id, -i.balance, -1 FROM i WHERE i.hi <= {l_}
        )
        SELECT ev.day, ev.currency, {CREDIT_BUCKET}, 0, a.stage_id, a.segment_id,
               a.collector_id, SUM(ev.delta), SUM(ev.n)
        FROM ev LEFT JOIN strategy_account a ON a.debtor_id = ev.debtor_id
        GROUP BY ev.day, ev.currency, a.stage_id, a.segment_id, a.collector_id
    """
    rows.extend(fetch(credits_sql, [creditor.pk, last, creditor.pk, last]))
    return rows


def _day(day: datetime.date) -> int:
    from cartera.reports.sqldates import to_day_number

    return to_day_number(day)


def _rebuild_balances(creditor: Creditor, first: datetime.date, last: datetime.date) -> int:
    """Daily balances of every day from `first` to `last` in one pass over the ledger."""
    _execute(
        "DELETE FROM reports_dailybalance WHERE creditor_id = %s AND day BETWEEN %s AND %s",
        [creditor.pk, first, last],
    )
    by_day: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for day, *rest in _balance_events(creditor, first, last):
        by_day[int(day)].append(tuple(rest))
    state: dict[tuple[Any, ...], list[int]] = {}
    rows: list[tuple[Any, ...]] = []
    written = 0
    for number in range(_day(first), _day(last) + 1):
        for currency, bucket, flag, stage, segment, collector, delta, n in by_day.get(number, ()):
            key = (currency, int(bucket), int(flag), stage, segment, collector)
            cell = state.setdefault(key, [0, 0])
            cell[0] += int(delta)
            cell[1] += int(n)
        day = from_day_number(number)
        for key, (amount, count) in state.items():
            if amount or count:
                currency, bucket, flag, stage, segment, collector = key
                rows.append(
                    (
                        creditor.pk,
                        day,
                        currency,
                        bucket,
                        bool(flag),
                        stage,
                        segment,
                        collector,
                        amount,
                        count,
                    )
                )
        if len(rows) >= 20_000:
            written += _insert_balances(rows)
            rows = []
    return written + _insert_balances(rows)


def _insert_balances(rows: list[tuple[Any, ...]]) -> int:
    rows_insert(
        DailyBalance,
        (
            "creditor_id",
            "day",
            "currency",
            "bucket",
            "written_off",
            "stage_id",
            "segment_id",
            "collector_id",
            "balance_minor",
            "documents",
        ),
        rows,
    )
    return len(rows)


@dataclass
class RebuildReport:
    first: datetime.date
    last: datetime.date
    days: int
    balance_rows: int
    flow_rows: int
    month_ends: list[datetime.date]
    forecasts: list[datetime.date]


@transaction.atomic
def snapshots_rebuild(
    *,
    creditor: Creditor,
    first: datetime.date,
    last: datetime.date,
    actor: Actor,
    forecasts: int = 0,
) -> RebuildReport:
    """Rebuild every snapshot of the days from `first` to `last` from the ledger.

    Month ends in the range get their account balances and roll rates; with `forecasts`, that
    many weekly forecasts (made on `last`, `last` − 7 days, …) are stored for the back-test.
    """
    from cartera.reports.forecast import forecast_store

    if last < first:
        raise ValueError("the last day is before the first")
    days = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    balance_rows = _rebuild_balances(creditor, first, last)
    flow_rows = _write_flows(creditor, first, last)
    _mark_days(creditor, days, SnapshotSource.REBUILD)
    ends = sorted({month_end(d) for d in days if month_end(d) <= last})
    for end in ends:
        _write_month(creditor, end)
    from cartera.reports.models import MonthBalance

    for end in ends:
        before = previous_month_end(end)
        if MonthBalance.objects.filter(creditor=creditor, month_end=before).exists():
            _write_rolls(creditor, before)
    made = [last - datetime.timedelta(days=7 * n) for n in range(forecasts)]
    made = [d for d in made if d >= first]
    for day in made:
        forecast_store(creditor=creditor, made_on=day)
    audit_record(
        actor=actor,
        action="snapshot.rebuild",
        obj=creditor,
        creditor_id=creditor.pk,
        changes={"first": first, "last": last, "month_ends": [e.isoformat() for e in ends]},
    )
    return RebuildReport(
        first=first,
        last=last,
        days=len(days),
        balance_rows=balance_rows,
        flow_rows=flow_rows,
        month_ends=ends,
        forecasts=made,
    )
