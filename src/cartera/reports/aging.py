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

from cartera.core.money import minor_str
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


@dataclass
class AgingRow:
    key: dict[str, str]
    currency: str
    amounts: dict[str, int]
    credits: int = 0
    documents: int = 0

    @property
    def total(self) -> int:
        return sum(self.amounts.values())

    @property
    def net(self) -> int:
        return self.total + self.credits

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "currency": self.currency,
            "amounts": {name: minor_str(v, self.currency) for name, v in self.amounts.items()},
            "credits": minor_str(self.credits, self.currency),
            "total": minor_str(self.total, self.currency),
            "net": minor_str(self.net, self.currency),
            "documents": self.documents,
        }


@dataclass
class AgingReport:
    as_of: datetime.date
    by: By
    buckets: list[Bucket]
    rows: list[AgingRow] = field(default_factory=list)

    @property
    def totals(self) -> list[AgingRow]:
        totals: dict[str, AgingRow] = {}
        for row in self.rows:
            total = totals.setdefault(
                row.currency,
                AgingRow({}, row.currency, {b.name: 0 for b in self.buckets}),
            )
            for name, value in row.amounts.items():
                total.amounts[name] += value
            total.credits += row.credits
            total.documents += row.documents
        return [totals[currency] for currency in sorted(totals)]

    def as_json(self) -> dict[str, Any]:
        totals = []
        for total in self.totals:
            data = total.as_json()
            del data["key"]
            totals.append(data)
        return {
            "as_of": self.as_of.isoformat(),
            "by": self.by,
            "buckets": [b.name for b in self.buckets],
            "rows": [row.as_json() for row in self.rows],
            "totals": totals,
        }


def _key_sql(by: By) -> tuple[str, str, str, list[str]]:
    """(grouping ids, labels selected, joins for the labels, key names).

    Sums are grouped by ids first and labelled afterwards: grouping by names would make the
    database sort wide text keys for every document.
    """
    if by == "debtor":
        return (
            "x.creditor_id, x.debtor_id",
            "c.code, db.external_id, db.name",
            "JOIN portfolio_creditor c ON c.id = g.creditor_id "
            "JOIN portfolio_debtor db ON db.id = g.debtor_id",
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
        bucket_sums.append(f"SUM(CASE WHEN {' AND '.join(conditions)} THEN x.balance ELSE 0 END)")
    # Every sum is cast back to BIGINT: PostgreSQL sums BIGINT as `numeric`, which costs in
    # the database and arrives as `Decimal` (one conversion per value for 100,000s of rows).
    sums = ", ".join(
        f"CAST({expression} AS BIGINT) AS b{n}" for n, expression in enumerate(bucket_sums)
    )
    balances, b_params = balances_cte(creditor_ids, as_of)
    documents_sql = f"""
        WITH {balances}
        SELECT {labels}, g.* FROM (
            SELECT {group_ids}, x.currency, {sums},
                   CAST(SUM(CASE WHEN x.balance < 0 THEN x.balance ELSE 0 END) AS BIGINT)
                       AS credits,
                   SUM(CASE WHEN x.balance > 0 THEN 1 ELSE 0 END) AS documents
            FROM balances x
            WHERE x.balance <> 0
            GROUP BY {group_ids}, x.currency
        ) g {join}
        ORDER BY {_order_by(labels)}
    """
    unapplied, u_params = unapplied_cte(creditor_ids, as_of)
    credits_sql = f"""
        WITH {unapplied}
        SELECT {labels}, g.* FROM (
            SELECT {group_ids}, x.currency, CAST(SUM(x.unapplied) AS BIGINT) AS unapplied
            FROM unapplied x
            WHERE x.unapplied <> 0
            GROUP BY {group_ids}, x.currency
        ) g {join}
    """
    rows: dict[tuple[Any, ...], AgingRow] = {}
    width = len(key_names)
    ids = group_ids.count(",") + 1
    names = [b.name for b in buckets]
    first = width + ids + 1  # the first bucket's column
    credits_at = first + len(buckets)
    with connection.cursor() as cursor:
        cursor.execute(documents_sql, [*b_params, *bucket_params])
        for record in cursor.fetchall():
            key = record[:width]
            currency = record[width + ids]
            rows[(*key, currency)] = AgingRow(
                key=dict(zip(key_names, key, strict=True)),
                currency=currency,
                amounts=dict(zip(names, record[first:credits_at], strict=True)),
                credits=record[credits_at],
                documents=record[credits_at + 1],
            )
        ordered = len(rows)
        cursor.execute(credits_sql, u_params)
        for record in cursor.fetchall():
            key = tuple(record[:width])
            currency = record[width + ids]
            row = rows.setdefault(
                (*key, currency),
                AgingRow(
                    key=dict(zip(key_names, key, strict=True)),
                    currency=currency,
                    amounts=dict.fromkeys(names, 0),
                ),
            )
            row.credits -= int(record[width + ids + 1])
    # The documents arrive in the report's order; only a debtor whose sole balance is an
    # unapplied payment (rare) lands out of it and makes a sort in Python necessary.
    report.rows = list(rows.values())
    if len(rows) > ordered:
        report.rows = [rows[k] for k in sorted(rows, key=_sort_key)]
    return report


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
