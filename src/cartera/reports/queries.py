"""Reads the reports share: SQL fragments over the ledger and readers of the snapshots.

Balances at the end of any day come from the ledger as the aging report rebuilds them (the
cached balance minus the entries dated later, `cartera.reports.balances`), so every figure can
be asked for a past date.
Days with a snapshot (`SnapshotDay`) are read from the snapshot tables instead, which keeps a
year of trends to a few indexed reads. Amounts stay integers of the minor unit throughout.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from cartera.portfolio.models import DocumentKind, EntryKind
from cartera.reports.aging import Bucket, make_buckets
from cartera.reports.balances import (
    balances_cte,
    marks,
    netted_entries,
    not_prior,
    unapplied_cte,
)
from cartera.reports.models import SnapshotDay

# The 30-day buckets of roll rates, provisions and snapshots: current, 1–30, …, 151–180, 181+.
BOUNDS = (30, 60, 90, 120, 150, 180)
BUCKETS: list[Bucket] = make_buckets(BOUNDS)
LAST_BUCKET = len(BUCKETS) - 1  # 181+
CREDIT_BUCKET = len(BUCKETS)  # open credit notes and unapplied payments (negative)

# Sales are the original amounts of these kinds, except the installments that refinance a
# payment agreement (linked from `negotiation.AgreementInstallment.document`): that debt was
# already sold once.
SALES_KINDS = (DocumentKind.INVOICE, DocumentKind.DEBIT_NOTE, DocumentKind.INSTALLMENT)

# Ledger entries that move money: payments applied, prior payments booked from a balance
# column (and their identification by detailed payments, which nets them), payments the ERP
# recorded, and reversals of any of these (only payments are ever reversed: `payment_reverse`
# dates a reversal like the entry it undoes, so both cancel on the same day).
MONEY_KINDS = (
    EntryKind.PAYMENT,
    EntryKind.PRIOR_PAYMENT,
    EntryKind.PRIOR_IDENTIFIED,
    EntryKind.EXTERNAL_PAYMENT,
)


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f"'{v!s}'" for v in values)


def _refinancing_installments_table() -> str | None:
    """The table linking an agreement's installments to their documents (None before the
    agreements part of `negotiation` is installed)."""
    try:
        from cartera.negotiation.models import AgreementInstallment  # type: ignore[attr-defined]
    except ImportError:
        return None
    return str(AgreementInstallment._meta.db_table)


def sales_condition(entry: str = "e", document: str = "d") -> str:
    """SQL: the entry is the issue of a document that counts as sales (its charge)."""
    condition = (
        f"{entry}.kind = '{EntryKind.CHARGE}' AND {document}.kind IN ({_quoted(SALES_KINDS)})"
    )
    table = _refinancing_installments_table()
    if table is not None:
        condition += (
            f" AND ({document}.kind <> '{DocumentKind.INSTALLMENT}' OR NOT EXISTS ("
            f"SELECT 1 FROM {table} ai WHERE ai.document_id = {document}.id))"
        )
    return f"({condition})"


def money_condition(entry: str = "e") -> str:
    """SQL: the entry moves money (its amount is negative when money comes in)."""
    return (
        f"({entry}.kind IN ({_quoted(MONEY_KINDS)}) OR "
        f"({entry}.kind = '{EntryKind.REVERSAL}' AND {entry}.payment_id IS NOT NULL))"
    )


def ledger_flows(
    creditor_id: int,
    first: datetime.date,
    last: datetime.date,
    *,
    documents_where: str = "",
    documents_params: Sequence[Any] = (),
) -> tuple[str, list[Any]]:
    """SQL of (day, currency, due_date, sales, collected) rows from one creditor's ledger,
    `first` to `last`: one per entry (a charge that counts as sales in `sales`, money in
    `collected`, positive when it comes in), except the prior payments and their
    identifications, which each document gives as one row, their net on `prior_on` (as
    `netted_entries` does). Summed per day, both give the same. Documents are `d` in
    `documents_where`."""
    sql = f"""
        SELECT e.effective_date AS day, e.currency, d.due_date,
               CASE WHEN {sales_condition()} THEN e.amount_minor ELSE 0 END AS sales,
               CASE WHEN {money_condition()} THEN -e.amount_minor ELSE 0 END AS collected
        FROM portfolio_ledgerentry e JOIN portfolio_document d ON d.id = e.document_id
        WHERE e.creditor_id = %s AND e.effective_date BETWEEN %s AND %s AND {not_prior()}
          {documents_where}
        UNION ALL
        SELECT d.prior_on, d.currency, d.due_date, 0, -d.prior_net_minor
        FROM portfolio_document d
        WHERE d.creditor_id = %s AND d.prior_on BETWEEN %s AND %s AND d.prior_net_minor <> 0
          {documents_where}
    """
    return sql, [
        creditor_id,
        first,
        last,
        *documents_params,
        creditor_id,
        first,
        last,
        *documents_params,
    ]


def bucket_case(due: str, as_of: datetime.date) -> tuple[str, list[datetime.date]]:
    """SQL giving the 30-day bucket (0 current … 7 181+) of a due date at the end of `as_of`.

    Days past due are `as_of - due_date`, so each bucket is a due-date range and the
    expression compares dates only (it works the same on SQLite and PostgreSQL).
    """
    parts, params = [], []
    for index, bucket in enumerate(BUCKETS[:-1]):
        high = bucket.high or 0
        parts.append(f"WHEN {due} >= %s THEN {index}")
        params.append(as_of - datetime.timedelta(days=high))
    return f"CASE {' '.join(parts)} ELSE {LAST_BUCKET} END", params


def as_date(value: Any) -> datetime.date:
    """A date column as a date (SQLite returns raw SQL text as strings)."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return list(cursor.fetchall())


# --- balances by bucket ------------------------------------------------------------------------


@dataclass
class BucketTotals:
    """Balances of one currency at the end of a day, by 30-day bucket (index 8: credits).

    `amounts` includes written-off documents; `written_off` is their part of each bucket.
    """

    amounts: list[int] = field(default_factory=lambda: [0] * (CREDIT_BUCKET + 1))
    written_off: list[int] = field(default_factory=lambda: [0] * (CREDIT_BUCKET + 1))
    documents: int = 0

    @property
    def ar(self) -> int:
        """Everything open, credits negative."""
        return sum(self.amounts)

    @property
    def current(self) -> int:
        return self.amounts[0]

    @property
    def overdue(self) -> int:
        return sum(self.amounts[1:CREDIT_BUCKET])

    def add(self, bucket: int, amount: int, written_off: bool, documents: int) -> None:
        self.amounts[bucket] += amount
        if written_off:
            self.written_off[bucket] += amount
        self.documents += documents

    def merge(self, other: BucketTotals) -> None:
        for index in range(CREDIT_BUCKET + 1):
            self.amounts[index] += other.amounts[index]
            self.written_off[index] += other.written_off[index]
        self.documents += other.documents


def snapshot_days(
    creditor_ids: Sequence[int], first: datetime.date, last: datetime.date
) -> dict[int, set[datetime.date]]:
    """{creditor id: days between `first` and `last` that have a snapshot}."""
    found: dict[int, set[datetime.date]] = {c: set() for c in creditor_ids}
    for creditor_id, day in SnapshotDay.objects.filter(
        creditor_id__in=creditor_ids, day__gte=first, day__lte=last
    ).values_list("creditor_id", "day"):
        found[creditor_id].add(day)
    return found


def ledger_bucket_totals(
    creditor_ids: Sequence[int], as_of: datetime.date
) -> dict[str, BucketTotals]:
    """{currency: totals} at the end of `as_of`, from the ledger (two statements)."""
    if not creditor_ids:
        return {}
    balances, params = balances_cte(creditor_ids, as_of)
    case, case_params = bucket_case("b.due_date", as_of)
    documents_sql = f"""
        WITH {balances}
        SELECT b.currency,
               CASE WHEN b.balance < 0 THEN {CREDIT_BUCKET} ELSE {case} END AS bucket,
               CASE WHEN b.written_off_on IS NOT NULL AND b.written_off_on <= %s
                    THEN 1 ELSE 0 END AS wo,
               SUM(b.balance), COUNT(*)
        FROM balances b WHERE b.balance <> 0
        GROUP BY b.currency, 2, 3
    """
    unapplied, u_params = unapplied_cte(creditor_ids, as_of)
    credits_sql = f"""
        WITH {unapplied}
        SELECT u.currency, SUM(u.unapplied), COUNT(*) FROM unapplied u
        WHERE u.unapplied <> 0 GROUP BY u.currency
    """
    totals: dict[str, BucketTotals] = defaultdict(BucketTotals)
    for currency, bucket, wo, amount, count in fetch(documents_sql, [*params, *case_params, as_of]):
        totals[currency].add(int(bucket), int(amount), bool(wo), int(count))
    for currency, amount, count in fetch(credits_sql, u_params):
        totals[currency].add(CREDIT_BUCKET, -int(amount), False, int(count))
    return dict(totals)


def bucket_totals(
    creditor_ids: Sequence[int], days: Iterable[datetime.date]
) -> dict[datetime.date, dict[str, BucketTotals]]:
    """{day: {currency: totals}} for each day: from the snapshot where the creditor has one,
    from the ledger otherwise (summed over the creditors, never over currencies)."""
    wanted = sorted(set(days))
    result: dict[datetime.date, dict[str, BucketTotals]] = {
        day: defaultdict(BucketTotals) for day in wanted
    }
    if not wanted or not creditor_ids:
        return {day: dict(v) for day, v in result.items()}
    have = snapshot_days(creditor_ids, wanted[0], wanted[-1])
    from_snapshot = [(c, d) for c in creditor_ids for d in wanted if d in have[c]]
    if from_snapshot:
        pairs = " OR ".join(["(creditor_id = %s AND day = %s)"] * len(from_snapshot))
        sql = f"""
            SELECT day, currency, bucket, written_off, SUM(balance_minor), SUM(documents)
            FROM reports_dailybalance
            WHERE creditor_id IN ({marks(creditor_ids)}) AND day IN ({marks(wanted)})
              AND ({pairs})
            GROUP BY day, currency, bucket, written_off
        """
        params = [*creditor_ids, *wanted, *[v for pair in from_snapshot for v in pair]]
        for day, currency, bucket, wo, amount, count in fetch(sql, params):
            result[as_date(day)][currency].add(int(bucket), int(amount), bool(wo), int(count))
    for day in wanted:
        missing = [c for c in creditor_ids if day not in have[c]]
        if missing:
            for currency, totals in ledger_bucket_totals(missing, day).items():
                result[day][currency].merge(totals)
    return {day: dict(v) for day, v in result.items()}


# --- flows: sales and collections ---------------------------------------------------------------


def _ranges(days: Sequence[datetime.date]) -> list[tuple[datetime.date, datetime.date]]:
    """Contiguous (first, last) runs of the sorted days."""
    runs: list[tuple[datetime.date, datetime.date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + datetime.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _missing_ranges(
    creditor_ids: Sequence[int], first: datetime.date, last: datetime.date
) -> dict[int, list[tuple[datetime.date, datetime.date]]]:
    have = snapshot_days(creditor_ids, first, last)
    every = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    return {c: _ranges([d for d in every if d not in have[c]]) for c in creditor_ids}


def _covered_condition(
    creditor_ids: Sequence[int], missing: dict[int, list[tuple[datetime.date, datetime.date]]]
) -> tuple[str, list[Any]]:
    """SQL over reports_dailyflow (alias f): rows of days that are NOT in a missing range."""
    parts, params = [], []
    for creditor_id in creditor_ids:
        for first, last in missing[creditor_id]:
            parts.append("(f.creditor_id = %s AND f.day BETWEEN %s AND %s)")
            params.extend([creditor_id, first, last])
    if not parts:
        return "1 = 1", []
    return f"NOT ({' OR '.join(parts)})", params


def sales_by_day(
    creditor_ids: Sequence[int], first: datetime.date, last: datetime.date
) -> dict[str, dict[datetime.date, int]]:
    """{currency: {day: sales}} from `first` to `last`, both included."""
    result: dict[str, dict[datetime.date, int]] = defaultdict(lambda: defaultdict(int))
    if not creditor_ids or last < first:
        return {}
    missing = _missing_ranges(creditor_ids, first, last)
    covered, c_params = _covered_condition(creditor_ids, missing)
    sql = f"""
        SELECT f.day, f.currency, SUM(f.sales_minor) FROM reports_dailyflow f
        WHERE f.creditor_id IN ({marks(creditor_ids)}) AND f.day BETWEEN %s AND %s
          AND f.sales_minor <> 0 AND {covered}
        GROUP BY f.day, f.currency
    """
    for day, currency, amount in fetch(sql, [*creditor_ids, first, last, *c_params]):
        result[currency][as_date(day)] += int(amount)
    ledger_sql = f"""
        SELECT e.effective_date, e.currency, SUM(e.amount_minor)
        FROM portfolio_ledgerentry e JOIN portfolio_document d ON d.id = e.document_id
        WHERE e.creditor_id = %s AND e.effective_date BETWEEN %s AND %s
          AND {not_prior()} AND {sales_condition()}
        GROUP BY e.effective_date, e.currency
    """
    for creditor_id, runs in missing.items():
        for run_first, run_last in runs:
            for day, currency, amount in fetch(ledger_sql, [creditor_id, run_first, run_last]):
                result[currency][as_date(day)] += int(amount)
    return {currency: dict(days) for currency, days in result.items()}


def collected_on_due_before(
    creditor_ids: Sequence[int],
    first: datetime.date,
    last: datetime.date,
    due_before: datetime.date,
) -> dict[str, int]:
    """{currency: money applied from `first` to `last` (both included) to documents due before
    `due_before`}: the numerator of the recovery rate."""
    result: dict[str, int] = defaultdict(int)
    if not creditor_ids or last < first:
        return {}
    missing = _missing_ranges(creditor_ids, first, last)
    covered, c_params = _covered_condition(creditor_ids, missing)
    sql = f"""
        SELECT f.currency, SUM(f.collected_minor) FROM reports_dailyflow f
        WHERE f.creditor_id IN ({marks(creditor_ids)}) AND f.day BETWEEN %s AND %s
          AND f.due_date < %s AND {covered}
        GROUP BY f.currency
    """
    for currency, amount in fetch(sql, [*creditor_ids, first, last, due_before, *c_params]):
        result[currency] += int(amount or 0)
    for creditor_id, runs in missing.items():
        for run_first, run_last in runs:
            flows, f_params = ledger_flows(
                creditor_id,
                run_first,
                run_last,
                documents_where="AND d.due_date < %s",
                documents_params=[due_before],
            )
            ledger_sql = f"SELECT f.currency, SUM(f.collected) FROM ({flows}) f GROUP BY f.currency"
            for currency, amount in fetch(ledger_sql, f_params):
                result[currency] += int(amount or 0)
    return dict(result)


def collected_by_day(
    creditor_ids: Sequence[int], first: datetime.date, last: datetime.date
) -> dict[str, dict[datetime.date, int]]:
    """{currency: {day: money applied}} from `first` to `last`."""
    result: dict[str, dict[datetime.date, int]] = defaultdict(lambda: defaultdict(int))
    if not creditor_ids or last < first:
        return {}
    missing = _missing_ranges(creditor_ids, first, last)
    covered, c_params = _covered_condition(creditor_ids, missing)
    sql = f"""
        SELECT f.day, f.currency, SUM(f.collected_minor) FROM reports_dailyflow f
        WHERE f.creditor_id IN ({marks(creditor_ids)}) AND f.day BETWEEN %s AND %s
          AND f.collected_minor <> 0 AND {covered}
        GROUP BY f.day, f.currency
    """
    for day, currency, amount in fetch(sql, [*creditor_ids, first, last, *c_params]):
        result[currency][as_date(day)] += int(amount)
    for creditor_id, runs in missing.items():
        for run_first, run_last in runs:
            flows, f_params = ledger_flows(creditor_id, run_first, run_last)
            ledger_sql = f"""
                SELECT f.day, f.currency, SUM(f.collected) FROM ({flows}) f
                GROUP BY f.day, f.currency HAVING SUM(f.collected) <> 0
            """
            for day, currency, amount in fetch(ledger_sql, f_params):
                result[currency][as_date(day)] += int(amount)
    return {currency: dict(days) for currency, days in result.items()}


def first_sale_day(creditor_ids: Sequence[int]) -> datetime.date | None:
    """The earliest day anything was issued: countback stops there."""
    if not creditor_ids:
        return None
    rows = fetch(
        f"""SELECT MIN(effective_date) FROM portfolio_ledgerentry
            WHERE creditor_id IN ({marks(creditor_ids)}) AND kind = '{EntryKind.CHARGE}'
              AND {not_prior("portfolio_ledgerentry")}""",
        list(creditor_ids),
    )
    return as_date(rows[0][0]) if rows and rows[0][0] is not None else None


# --- aging by dimension and drill-down ----------------------------------------------------------

DIMENSIONS = ("creditor", "collector", "segment", "stage")


@dataclass
class AgingLine:
    key: int | None  # creditor, collector, segment or stage id (None: none)
    currency: str
    amounts: list[int] = field(default_factory=lambda: [0] * (CREDIT_BUCKET + 1))
    documents: int = 0

    @property
    def total(self) -> int:
        """Positive balances (the buckets, credits apart)."""
        return sum(self.amounts[:CREDIT_BUCKET])

    @property
    def net(self) -> int:
        return sum(self.amounts)


def aging_by(
    creditor_ids: Sequence[int], as_of: datetime.date, by: str
) -> tuple[list[AgingLine], bool]:
    """(lines, from snapshots): balances at the end of `as_of` by 30-day bucket, per currency
    and per creditor, collector, segment or stage (of the account today, or on the snapshot's
    day). From the day's snapshots when every creditor has one, else from the ledger."""
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}")
    lines: dict[tuple[Any, str], AgingLine] = {}
    if not creditor_ids:
        return [], False
    have = snapshot_days(creditor_ids, as_of, as_of)
    from_snapshot = all(as_of in have[c] for c in creditor_ids)
    if from_snapshot:
        column = f"{by}_id"
        rows = fetch(
            f"""SELECT {column}, currency, bucket, SUM(balance_minor), SUM(documents)
                FROM reports_dailybalance
                WHERE creditor_id IN ({marks(creditor_ids)}) AND day = %s
                GROUP BY {column}, currency, bucket""",
            [*creditor_ids, as_of],
        )
    else:
        column = "b.creditor_id" if by == "creditor" else f"a.{by}_id"
        u_column = "u.creditor_id" if by == "creditor" else f"a.{by}_id"
        balances, params = balances_cte(creditor_ids, as_of)
        unapplied, u_params = unapplied_cte(creditor_ids, as_of)
        case, case_params = bucket_case("b.due_date", as_of)
        rows = fetch(
            f"""WITH {balances}, {unapplied},
                x AS (
                    SELECT {column} AS k, b.currency,
                           CASE WHEN b.balance < 0 THEN {CREDIT_BUCKET} ELSE {case} END AS bucket,
                           b.balance AS amount
                    FROM balances b LEFT JOIN strategy_account a ON a.debtor_id = b.debtor_id
                    WHERE b.balance <> 0
                    UNION ALL
                    SELECT {u_column}, u.currency, {CREDIT_BUCKET}, -u.unapplied
                    FROM unapplied u LEFT JOIN strategy_account a ON a.debtor_id = u.debtor_id
                    WHERE u.unapplied <> 0
                )
                SELECT x.k, x.currency, x.bucket, SUM(x.amount), COUNT(*) FROM x
                GROUP BY x.k, x.currency, x.bucket""",
            [*params, *u_params, *case_params],
        )
    for key, currency, bucket, amount, count in rows:
        line = lines.setdefault((key, currency), AgingLine(key=key, currency=currency))
        line.amounts[int(bucket)] += int(amount)
        if int(bucket) < CREDIT_BUCKET:
            line.documents += int(count)
    ordered = sorted(lines.values(), key=lambda v: (v.currency, v.key is None, v.key or 0))
    return ordered, from_snapshot


@dataclass
class DocumentRow:
    id: int
    number: str
    kind: str
    debtor_id: int
    debtor: str
    due_date: datetime.date
    amount: int  # the open balance, the sale or the money applied, by the list
    currency: str
    days_past_due: int | None = None


def _dimension_filter(by: str | None, key: int | None, alias: str = "a") -> tuple[str, list[Any]]:
    if not by:
        return "", []
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}")
    column = "b.creditor_id" if by == "creditor" else f"{alias}.{by}_id"
    if key is None:
        return f"AND {column} IS NULL", []
    return f"AND {column} = %s", [key]


def _listing(
    rows: list[tuple[Any, ...]], currency: str, as_of: datetime.date | None = None
) -> tuple[list[DocumentRow], int, int]:
    """A drill-down's page from its records (id, number, kind, debtor id, debtor, due date,
    amount, count of the whole list, its sum): the rows, the count and the sum. Past the last
    page the count is unknown: the page says "nothing here" either way. With `as_of`, each
    row's days past due at that date."""
    total, whole = (int(rows[0][7]), int(rows[0][8])) if rows else (0, 0)
    listed = [
        DocumentRow(
            id=r[0],
            number=r[1],
            kind=r[2],
            debtor_id=r[3],
            debtor=r[4],
            due_date=as_date(r[5]),
            amount=int(r[6]),
            currency=currency,
            days_past_due=None if as_of is None else (as_of - as_date(r[5])).days,
        )
        for r in rows
    ]
    return listed, total, whole


def open_documents(
    *,
    creditor_ids: Sequence[int],
    as_of: datetime.date,
    currency: str,
    buckets: Sequence[int] | None = None,
    by: str | None = None,
    key: int | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[DocumentRow], int, int]:
    """The documents open at the end of `as_of` (in the given buckets), biggest first, with
    how many they are and what they add up to: one query (the count and the sum ride along as
    window functions)."""
    if not creditor_ids:
        return [], 0, 0
    balances, params = balances_cte(creditor_ids, as_of)
    case, case_params = bucket_case("b.due_date", as_of)
    wanted = list(buckets) if buckets is not None else list(range(CREDIT_BUCKET + 1))
    dimension, d_params = _dimension_filter(by, key)
    # The account's stage, segment or collector only when the list is filtered by one.
    account_join = (
        "LEFT JOIN strategy_account a ON a.debtor_id = b.debtor_id"
        if by and by != "creditor"
        else ""
    )
    # Biggest first; for credits alone, the biggest credit (the most negative) first.
    direction = "ASC" if wanted == [CREDIT_BUCKET] else "DESC"
    # Counted, sorted and cut to the page first; only the page's rows get their names.
    sql = f"""
        WITH {balances},
        x AS (
            SELECT b.id, b.debtor_id, b.due_date, b.balance,
                   CASE WHEN b.balance < 0 THEN {CREDIT_BUCKET} ELSE {case} END AS bucket
            FROM balances b {account_join}
            WHERE b.balance <> 0 AND b.currency = %s {dimension}
        ),
        page AS (
            SELECT x.id, x.debtor_id, x.due_date, x.balance, COUNT(*) OVER () AS total,
                   SUM(x.balance) OVER () AS whole
            FROM x WHERE x.bucket IN ({marks(wanted)})
            ORDER BY x.balance {direction}, x.id LIMIT %s OFFSET %s
        )
        SELECT page.id, d.number, d.kind, page.debtor_id, db.name, page.due_date, page.balance,
               page.total, page.whole
        FROM page JOIN portfolio_document d ON d.id = page.id
        JOIN portfolio_debtor db ON db.id = page.debtor_id
        ORDER BY page.balance {direction}, page.id
    """
    page = max(1, page)
    rows = fetch(
        sql,
        [*params, *case_params, currency, *d_params, *wanted, page_size, (page - 1) * page_size],
    )
    return _listing(rows, currency, as_of)


def sales_documents(
    *,
    creditor_ids: Sequence[int],
    first: datetime.date,
    last: datetime.date,
    currency: str,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[DocumentRow], int, int]:
    """The documents whose issue counts as sales from `first` to `last` (both included)."""
    if not creditor_ids:
        return [], 0, 0
    page = max(1, page)
    # Counted, sorted and cut to the page first (the entries come from the ledger's covering
    # index); only the page's rows get their numbers and names.
    rows = fetch(
        f"""WITH s AS (
                SELECT e.document_id AS id, e.amount_minor AS amount
                FROM portfolio_ledgerentry e JOIN portfolio_document d ON d.id = e.document_id
                WHERE e.creditor_id IN ({marks(creditor_ids)})
                  AND e.effective_date BETWEEN %s AND %s
                  AND e.currency = %s AND {not_prior()} AND {sales_condition()}
            ),
            page AS (
                SELECT s.id, s.amount, COUNT(*) OVER () AS total, SUM(s.amount) OVER () AS whole
                FROM s
                ORDER BY s.amount DESC, s.id LIMIT %s OFFSET %s
            )
            SELECT d.id, d.number, d.kind, d.debtor_id, db.name, d.due_date, page.amount,
                   page.total, page.whole
            FROM page JOIN portfolio_document d ON d.id = page.id
            JOIN portfolio_debtor db ON db.id = d.debtor_id
            ORDER BY page.amount DESC, page.id""",
        [*creditor_ids, first, last, currency, page_size, (page - 1) * page_size],
    )
    return _listing(rows, currency)


def recovered_documents(
    *,
    creditor_ids: Sequence[int],
    first: datetime.date,
    last: datetime.date,
    due_before: datetime.date | None,
    currency: str,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[DocumentRow], int, int]:
    """Documents due before `due_before` and the money applied to each from `first` to
    `last`: the recovery rate's numerator, document by document. Without `due_before`, every
    document that received money: what came in (the back-test's "actual")."""
    if not creditor_ids:
        return [], 0, 0
    page = max(1, page)
    due, due_params = ("AND d.due_date < %s", [due_before]) if due_before else ("", [])
    # The money is netted per document: entries from the ledger's covering index, a balance
    # column's prior payments (and what takes them back) as their net on the document. The
    # documents are joined only for the nets left, and named for the page.
    money, money_params = netted_entries(
        creditor_ids,
        "{date} BETWEEN %s AND %s",
        [first, last],
        entries_where=f"AND e.currency = %s AND {money_condition()}",
        entries_params=[currency],
        documents_where="AND d.currency = %s",
        documents_params=[currency],
    )
    rows = fetch(
        f"""WITH g AS (
                SELECT document_id AS id, CAST(-SUM(amount) AS BIGINT) AS applied
                FROM ({money}) money
                GROUP BY document_id
                HAVING SUM(amount) <> 0
            ),
            page AS (
                SELECT g.id, g.applied, COUNT(*) OVER () AS total, SUM(g.applied) OVER () AS whole
                FROM g JOIN portfolio_document d ON d.id = g.id
                WHERE 1 = 1 {due}
                ORDER BY g.applied DESC, g.id LIMIT %s OFFSET %s
            )
            SELECT d.id, d.number, d.kind, d.debtor_id, db.name, d.due_date, page.applied,
                   page.total, page.whole
            FROM page JOIN portfolio_document d ON d.id = page.id
            JOIN portfolio_debtor db ON db.id = d.debtor_id
            ORDER BY page.applied DESC, page.id""",
        [*money_params, *due_params, page_size, (page - 1) * page_size],
    )
    return _listing(rows, currency)


def dimension_labels(by: str, keys: Iterable[int | None]) -> dict[int | None, str]:
    """Names of creditors, collectors, segments or stages by id (one query)."""
    from django.contrib.auth import get_user_model

    from cartera.portfolio.models import Creditor
    from cartera.strategy.models import Segment, Stage

    ids = [k for k in keys if k is not None]
    labels: dict[int | None, str] = {}
    if by == "creditor":
        labels.update(Creditor.objects.filter(pk__in=ids).values_list("pk", "name"))
    elif by == "collector":
        for user in get_user_model().objects.filter(pk__in=ids):
            labels[user.pk] = user.get_full_name() or user.get_username()
    elif by == "segment":
        labels.update(Segment.objects.filter(pk__in=ids).values_list("pk", "name"))
    elif by == "stage":
        labels.update(Stage.objects.filter(pk__in=ids).values_list("pk", "name"))
    return labels
