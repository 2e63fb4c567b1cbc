"""Aging: open balances at the end of a day, by days past due, per currency.

Two set-based statements whatever the portfolio size: one for documents, one for unapplied
payments. A document's balance at the end of day D is its cached balance minus the ledger
entries dated after D (`cartera.reports.balances`), so a report for today reads only the
(small) set of open documents and any past date stays exact.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from cartera.core.gcpause import gc_paused
from cartera.core.money import minor_formatter
from cartera.portfolio.models import Creditor
from cartera.reports.balances import balances_cte, unapplied_cte

By = Literal["creditor", "debtor"]


@dataclass(frozen=True)
class Bucket:
    name: str
    low: int | None  # lowest dpd included (None: no lower bound)
    high: int | None  # highest dpd included (None: no upper bound)


def make_buckets(bounds: Sequence[int] | None = None) -> list[Bucket]:
    """`current` (dpd <= 0), then one bucket up to each bound, then an open last one."""
    bounds = list(settings.CARTERA_AGING_BUCKETS if bounds is None else bounds)
    if not bounds or any(b <= 0 for b in bounds) or bounds != sorted(set(bounds)):
        raise ValueError(_("bucket bounds must be increasing positive day counts, e.g. 30,60,90"))
    buckets = [Bucket("current", None, 0)]
    low = 1
    for bound in bounds:
        buckets.append(Bucket(f"{low}-{bound}", low, bound))
        low = bound + 1
    buckets.append(Bucket(f"{low}+", low, None))
    return buckets


class Layout:
    """Where a row's record keeps its parts: the key's labels, the currency, one sum per
    bucket, the documents' credits, then the count of documents with a balance."""

    __slots__ = ("credits_at", "currency_at", "key_names", "names")

    def __init__(self, key_names: Sequence[str], names: Sequence[str]):
        self.key_names = tuple(key_names)
        self.names = tuple(names)  # the buckets'
        self.currency_at = len(self.key_names)
        self.credits_at = self.currency_at + 1 + len(self.names)


class AgingRow:
    """One line of the report: a key (the creditor; or the creditor, the debtor and its
    name), a currency, the balance of each bucket, the credits (credit notes and unapplied
    payments, negative) and the number of documents with a balance.

    A by-debtor report has a line per debtor, 100,000s of them: a row keeps the database
    record it was read from and makes its dictionaries only when they are asked for."""

    __slots__ = ("_layout", "_record", "credits")

    def __init__(self, record: Sequence[Any], layout: Layout, credits: int | None = None):
        self._record = record
        self._layout = layout
        self.credits: int = record[layout.credits_at] if credits is None else credits

    @property
    def key(self) -> dict[str, str]:
        # zip stops after the labels: the record goes on with the currency and the sums.
        return dict(zip(self._layout.key_names, self._record, strict=False))

    @property
    def currency(self) -> str:
        return self._record[self._layout.currency_at]

    @property
    def values(self) -> Sequence[int]:
        """The buckets' balances, in the buckets' order."""
        layout = self._layout
        return self._record[layout.currency_at + 1 : layout.credits_at]

    @property
    def amounts(self) -> dict[str, int]:
        return dict(zip(self._layout.names, self.values, strict=True))

    @property
    def documents(self) -> int:
        return self._record[self._layout.credits_at + 1]

    @property
    def total(self) -> int:
        return sum(self.values)

    @property
    def net(self) -> int:
        return self.total + self.credits

    def as_json(self) -> dict[str, Any]:
        currency, values = self.currency, self.values
        text = minor_formatter(currency)
        total = sum(values)
        return {
            "key": self.key,
            "currency": currency,
            "amounts": dict(zip(self._layout.names, map(text, values), strict=True)),
            "credits": text(self.credits),
            "total": text(total),
            "net": text(total + self.credits),
            "documents": self.documents,
        }

    def __repr__(self) -> str:
        return f"AgingRow({self.key!r}, {self.currency!r}, {self.amounts!r}, {self.credits!r})"


@dataclass
class AgingReport:
    as_of: datetime.date
    by: By
    buckets: list[Bucket]
    rows: list[AgingRow] = field(default_factory=list)

    @property
    def totals(self) -> list[AgingRow]:
        """One row per currency (empty key), in currency order."""
        layout = Layout((), [b.name for b in self.buckets])
        sums: dict[str, list[int]] = {}
        for row in self.rows:
            currency, values = row.currency, row.values
            total = sums.get(currency)
            if total is None:
                total = sums[currency] = [0] * (len(values) + 2)
            for n, value in enumerate(values):
                total[n] += value
            total[-2] += row.credits
            total[-1] += row.documents
        return [AgingRow([currency, *sums[currency]], layout) for currency in sorted(sums)]

    def as_json(self) -> dict[str, Any]:
        totals = []
        for total in self.totals:
            data = total.as_json()
            del data["key"]
            totals.append(data)
        with gc_paused():
            rows = [row.as_json() for row in self.rows]
        return {
            "as_of": self.as_of.isoformat(),
            "by": self.by,
            "buckets": [b.name for b in self.buckets],
            "rows": rows,
            "totals": totals,
        }


def _key_sql(by: By) -> tuple[str, str, str, list[str]]:
    """(grouping ids, labels selected, joins for the labels, key names).

    Sums are grouped by ids first and labelled afterwards: grouping by names would make the
    database sort wide text keys for every document. A debtor's id alone groups its
    documents (the debtor names its creditor).
    """
    if by == "debtor":
        return (
            "x.debtor_id",
            "c.code, db.external_id, db.name",
            "JOIN portfolio_debtor db ON db.id = g.debtor_id "
            "JOIN portfolio_creditor c ON c.id = db.creditor_id",
            ["creditor", "debtor", "name"],
        )
    return (
        "x.creditor_id",
        "c.code",
        "JOIN portfolio_creditor c ON c.id = g.creditor_id",
        ["creditor"],
    )


def aging_report(
    *,
    creditors: Sequence[Creditor],
    as_of: datetime.date,
    by: By = "creditor",
    bounds: Sequence[int] | None = None,
) -> AgingReport:
    buckets = make_buckets(bounds)
    report = AgingReport(as_of=as_of, by=by, buckets=buckets)
    creditor_ids = [c.pk for c in creditors]
    if not creditor_ids:
        return report
    group_ids, labels, join, key_names = _key_sql(by)
    bucket_sums, bucket_params = [], []
    for bucket in buckets:
        # dpd = as_of - due_date, so "dpd between low and high" is a due-date range.
        conditions = ["x.balance > 0"]
        if bucket.high is not None:
            conditions.append("x.due_date >= %s")
            bucket_params.append(as_of - datetime.timedelta(days=bucket.high))
        if bucket.low is not None:
            conditions.append("x.due_date <= %s")
            bucket_params.append(as_of - datetime.timedelta(days=bucket.low))
        bucket_sums.append(f"SUM(x.balance) FILTER (WHERE {' AND '.join(conditions)})")
    # Every sum is cast back to BIGINT: PostgreSQL sums BIGINT as `numeric`, which costs in
    # the database and arrives as `Decimal` (one conversion per value for 100,000s of rows).
    # FILTER rather than CASE: a document feeds one bucket's sum, not all of them.
    sums = ", ".join(
        f"CAST(COALESCE({expression}, 0) AS BIGINT) AS b{n}"
        for n, expression in enumerate(bucket_sums)
    )
    balances, b_params = balances_cte(creditor_ids, as_of)
    # The labels and the currency come first, the sums after them (`_rows` reads them so).
    documents_sql = f"""
        WITH {balances}
        SELECT {labels}, g.currency, g.b0{"".join(f", g.b{n}" for n in range(1, len(buckets)))},
               g.credits, g.documents
        FROM (
            SELECT {group_ids}, x.currency, {sums},
                   CAST(COALESCE(SUM(x.balance) FILTER (WHERE x.balance < 0), 0) AS BIGINT)
                       AS credits,
                   COUNT(*) FILTER (WHERE x.balance > 0) AS documents
            FROM balances x
            WHERE x.balance <> 0
            GROUP BY {group_ids}, x.currency
        ) g {join}
        ORDER BY {_order_by(labels)}
    """
    unapplied, u_params = unapplied_cte(creditor_ids, as_of)
    credits_sql = f"""
        WITH {unapplied}
        SELECT {labels}, g.currency, g.unapplied FROM (
            SELECT {group_ids}, x.currency, CAST(SUM(x.unapplied) AS BIGINT) AS unapplied
            FROM unapplied x
            WHERE x.unapplied <> 0
            GROUP BY {group_ids}, x.currency
        ) g {join}
    """
    layout = Layout(key_names, [b.name for b in buckets])
    with connection.cursor() as cursor, gc_paused():
        cursor.execute(documents_sql, [*b_params, *bucket_params])
        documents = cursor.fetchall()
        cursor.execute(credits_sql, u_params)
        credits = cursor.fetchall()
        report.rows = _rows(layout, documents, credits)
    return report


def _rows(
    layout: Layout, documents: list[tuple[Any, ...]], credits: list[tuple[Any, ...]]
) -> list[AgingRow]:
    """Report rows from the two statements' records: (labels…, currency, sums…, credits,
    documents) in the report's order, then (labels…, currency, unapplied) in any order."""
    made = [AgingRow(record, layout) for record in documents]
    if not credits:
        return made
    first = layout.currency_at + 1
    rows = {record[:first]: row for record, row in zip(documents, made, strict=True)}
    empty = [0] * (len(layout.names) + 2)
    for record in credits:
        key = record[:first]  # the labels and the currency
        row = rows.get(key)
        if row is None:
            row = rows[key] = AgingRow([*key, *empty], layout)
        row.credits -= int(record[first])
    # The documents arrive in the report's order; only a debtor whose sole balance is an
    # unapplied payment (rare) lands out of it and makes a sort in Python necessary.
    if len(rows) > len(made):
        return [rows[k] for k in sorted(rows, key=_sort_key)]
    return made


def _order_by(labels: str) -> str:
    """The labels and the currency in code-point order, as Python sorts them: PostgreSQL's
    database collation may sort by language rules, SQLite's default (BINARY) never does."""
    collate = ' COLLATE "C"' if connection.vendor == "postgresql" else ""
    columns = [*labels.split(", "), "g.currency"]
    return ", ".join(column + collate for column in columns)


def _sort_key(key: tuple[Any, ...]) -> tuple[str, ...]:
    # Labels are text already (codes, external ids, names, currencies): str() only guards a
    # NULL name, which sorts as before.
    return tuple(p if isinstance(p, str) else str(p) for p in key)
