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


@dataclass(slots=True)
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
        currency, total = self.currency, self.total
        return {
            "key": self.key,
            "currency": currency,
            "amounts": {name: minor_str(v, currency) for name, v in self.amounts.items()},
            "credits": minor_str(self.credits, currency),
            "total": minor_str(total, currency),
            "net": minor_str(total + self.credits, currency),
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
    with connection.cursor() as cursor:
        cursor.execute(documents_sql, [*b_params, *bucket_params])
        documents = cursor.fetchall()
        cursor.execute(credits_sql, u_params)
        credits = cursor.fetchall()
    with gc_paused():
        report.rows = _rows(key_names, [b.name for b in buckets], documents, credits)
    return report


def _rows(
    key_names: list[str],
    names: list[str],
    documents: list[tuple[Any, ...]],
    credits: list[tuple[Any, ...]],
) -> list[AgingRow]:
    """Report rows from the two statements' records: (labels…, currency, sums…, credits,
    documents) in the report's order, then (labels…, currency, unapplied) in any order.

    This runs once per debtor of a large portfolio, so it builds each row in one step."""
    width = len(key_names)
    first, credits_at = width + 1, width + 1 + len(names)
    # zip(key_names, record) stops after the labels: the record goes on with the sums.
    made = [
        AgingRow(
            dict(zip(key_names, record, strict=False)),
            record[width],
            dict(zip(names, record[first:credits_at], strict=True)),
            record[credits_at],
            record[credits_at + 1],
        )
        for record in documents
    ]
    if not credits:
        return made
    rows = {record[:first]: row for record, row in zip(documents, made, strict=True)}
    for record in credits:
        key = record[:first]  # the labels and the currency
        row = rows.get(key)
        if row is None:
            row = rows[key] = AgingRow(
                dict(zip(key_names, record, strict=False)),
                record[width],
                dict.fromkeys(names, 0),
            )
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
