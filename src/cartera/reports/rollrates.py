"""Roll rates: for each month, where the balance of each 30-day bucket was a month later.

Per account (a debtor of a creditor) and currency: at a month end the account sits in the
bucket of its oldest overdue document (current when nothing is overdue) with what it owes
outside written-off documents. A month end later its whole balance of the first month end is
counted in one place: written off (a document of it was written off during that month), paid
(nothing owed), cured (current), better (an earlier overdue bucket), same bucket, or later
bucket. New accounts of the month are not in the matrix: it follows balances, not sales.

The month-end balances come from the snapshots the daily run writes (`MonthBalance`,
aggregated in `RollCount`); a month end without a snapshot is read from the ledger.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cartera.reports.kpis import ratio, two
from cartera.reports.models import MonthBalance, RollCount
from cartera.reports.queries import BUCKETS, LAST_BUCKET, as_date, fetch, marks
from cartera.reports.snapshots import (
    MONTH_COLUMNS,
    latest_month_end,
    month_accounts_sql,
    month_end,
    previous_month_end,
)

PAID = RollCount.PAID
WRITTEN_OFF = RollCount.WRITTEN_OFF


def bucket_label(index: int) -> str:
    return str(_("current")) if index == 0 else BUCKETS[index].name


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise


SUMMARY = (
    Column("paid", _("paid")),
    Column("cured", _("cured to current")),
    Column("better", _("earlier bucket")),
    Column("same", _("same bucket")),
    Column("later", _("later bucket")),
    Column("written_off", _("written off")),
)


def state_of(from_bucket: int, to_bucket: int) -> str:
    if to_bucket == WRITTEN_OFF:
        return "written_off"
    if to_bucket == PAID:
        return "paid"
    if to_bucket == 0:
        return "same" if from_bucket == 0 else "cured"
    if to_bucket == from_bucket:
        return "same"
    return "later" if to_bucket > from_bucket else "better"


@dataclass
class RollRow:
    index: int
    balance: int = 0
    accounts: int = 0
    # {to bucket (-1 paid, 0–7, 9 written off): (balance, accounts)}
    to: dict[int, list[int]] = field(default_factory=dict)

    @property
    def bucket(self) -> str:
        return bucket_label(self.index)

    def add(self, to_bucket: int, balance: int, accounts: int) -> None:
        cell = self.to.setdefault(to_bucket, [0, 0])
        cell[0] += balance
        cell[1] += accounts
        self.balance += balance
        self.accounts += accounts

    def amount(self, key: str) -> int:
        """Balance that went to a summary state ("paid", "later"…) or a bucket ("b3")."""
        if key.startswith("b") and key[1:].isdigit():
            return self.to.get(int(key[1:]), [0, 0])[0]
        return sum(v[0] for to, v in self.to.items() if state_of(self.index, to) == key)

    def share(self, key: str) -> Decimal | None:
        """That balance as a fraction of the bucket's balance (None for an empty bucket)."""
        return ratio(self.amount(key), self.balance)

    def forward(self) -> Decimal | None:
        """The forward roll: to a later bucket or written off; from 181+, written off."""
        if self.index == LAST_BUCKET:
            return self.share("written_off")
        value = ratio(self.amount("later") + self.amount("written_off"), self.balance)
        return value


@dataclass
class RollMonth:
    start: datetime.date
    end: datetime.date
    rows: list[RollRow]
    from_snapshot: bool

    def row(self, index: int) -> RollRow:
        return self.rows[index]


@dataclass
class CurrencyRolls:
    currency: str
    months: list[RollMonth]


@dataclass
class RollRates:
    as_of: datetime.date
    columns: tuple[Column, ...]
    currencies: list[CurrencyRolls]

    def as_json(self) -> dict[str, Any]:
        def pct(value: Decimal | None) -> str | None:
            return two(value * 100) if value is not None else None

        return {
            "as_of": self.as_of.isoformat(),
            "buckets": [b.name for b in BUCKETS],
            "currencies": [
                {
                    "currency": c.currency,
                    "months": [
                        {
                            "from": m.start.isoformat(),
                            "to": m.end.isoformat(),
                            "rows": [
                                {
                                    "bucket": BUCKETS[r.index].name,
                                    "balance": r.balance,
                                    "accounts": r.accounts,
                                    "percent": {col.key: pct(r.share(col.key)) for col in SUMMARY},
                                    "to_buckets": {
                                        "paid": pct(r.share("paid")),
                                        **{
                                            b.name: pct(r.share(f"b{n}"))
                                            for n, b in enumerate(BUCKETS)
                                        },
                                        "written_off": pct(r.share("written_off")),
                                    },
                                }
                                for r in m.rows
                            ],
                        }
                        for m in c.months
                    ],
                }
                for c in self.currencies
            ],
        }


def transition_ends(as_of: datetime.date, months: int) -> list[tuple[datetime.date, datetime.date]]:
    """The last `months` (start, end) month-end pairs whose end is on or before `as_of`,
    oldest first."""
    end = latest_month_end(as_of)
    pairs = []
    for _n in range(months):
        start = previous_month_end(end)
        pairs.append((start, end))
        end = start
    return list(reversed(pairs))


AccountKey = tuple[int, str]
AccountState = tuple[int, int, bool, Any]  # bucket, balance, written off in month, segment


def month_accounts(creditor_id: int, end: datetime.date) -> dict[AccountKey, AccountState]:
    """{(debtor, currency): (bucket, balance, written off in month, segment)} at a month end,
    from the snapshot if there is one, else from the ledger."""
    names = list(MONTH_COLUMNS)
    picks = [names.index(n) for n in ("debtor_id", "currency", "bucket", "balance_minor")]
    wo, seg = names.index("written_off_in_month"), names.index("segment_id")
    if MonthBalance.objects.filter(creditor_id=creditor_id, month_end=end).exists():
        rows = fetch(
            f"SELECT {', '.join(names)} FROM reports_monthbalance "
            "WHERE creditor_id = %s AND month_end = %s",
            [creditor_id, end],
        )
    else:
        with_clause, select, params = month_accounts_sql([creditor_id], end)
        rows = fetch(with_clause + select, params)
    result = {}
    for row in rows:
        debtor, currency, bucket, balance = (row[i] for i in picks)
        result[(debtor, currency)] = (int(bucket), int(balance), bool(row[wo]), row[seg])
    return result


def transitions_from_ledger(
    creditor_id: int, start: datetime.date, end: datetime.date, segment_id: int | None = None
) -> list[tuple[str, int, int, int, int]]:
    """(currency, from bucket, to bucket, accounts, balance) computed in memory."""
    before = month_accounts(creditor_id, start)
    after = month_accounts(creditor_id, end)
    cells: dict[tuple[str, int, int], list[int]] = defaultdict(lambda: [0, 0])
    for key, (bucket, balance, _wo, segment) in before.items():
        if balance <= 0 or (segment_id is not None and segment != segment_id):
            continue
        later = after.get(key)
        if later is not None and later[2]:
            to = WRITTEN_OFF
        elif later is None or later[1] <= 0:
            to = PAID
        else:
            to = later[0]
        cell = cells[(key[1], bucket, to)]
        cell[0] += 1
        cell[1] += balance
    return [(c, f, t, n, b) for (c, f, t), (n, b) in cells.items()]


def rollrates_compute(
    *,
    creditor_ids: Sequence[int],
    as_of: datetime.date,
    months: int = 12,
    segment_id: int | None = None,
) -> RollRates:
    """The roll-rate matrices of the last `months` months whose end is on or before `as_of`."""
    pairs = transition_ends(as_of, months)
    report = RollRates(as_of=as_of, columns=SUMMARY, currencies=[])
    if not creditor_ids or not pairs:
        return report
    starts = [start for start, _end in pairs]
    segment_filter = "" if segment_id is None else "AND segment_id = %s"
    rows = fetch(
        f"""SELECT creditor_id, month_end, currency, from_bucket, to_bucket, SUM(accounts),
                   SUM(balance_minor)
            FROM reports_rollcount
            WHERE creditor_id IN ({marks(creditor_ids)}) AND month_end IN ({marks(starts)})
              {segment_filter}
            GROUP BY creditor_id, month_end, currency, from_bucket, to_bucket""",
        [*creditor_ids, *starts, *([segment_id] if segment_id is not None else [])],
    )
    stored = {
        (c, as_date(m))
        for c, m in RollCount.objects.filter(
            creditor_id__in=creditor_ids, month_end__in=starts
        ).values_list("creditor_id", "month_end")
    }
    cells: dict[tuple[datetime.date, str], dict[int, RollRow]] = {}
    snapshot_months: dict[datetime.date, bool] = {start: True for start in starts}

    def add(start: datetime.date, currency: str, f: int, t: int, n: int, b: int) -> None:
        block = cells.setdefault((start, currency), {i: RollRow(i) for i in range(len(BUCKETS))})
        block[int(f)].add(int(t), int(b), int(n))

    for _creditor, month, currency, f, t, n, b in rows:
        add(as_date(month), currency, f, t, n, b)
    for creditor_id in creditor_ids:
        for start, end in pairs:
            if (creditor_id, start) in stored:
                continue
            # No roll counts: only when neither month end has accounts is there nothing to do.
            for currency, f, t, n, b in transitions_from_ledger(
                creditor_id, start, end, segment_id
            ):
                add(start, currency, f, t, n, b)
            snapshot_months[start] = False
    currencies = sorted({currency for _start, currency in cells})
    for currency in currencies:
        months_list = []
        for start, end in pairs:
            block = cells.get((start, currency)) or {i: RollRow(i) for i in range(len(BUCKETS))}
            months_list.append(
                RollMonth(
                    start=start,
                    end=end,
                    rows=[block[i] for i in range(len(BUCKETS))],
                    from_snapshot=snapshot_months[start],
                )
            )
        report.currencies.append(CurrencyRolls(currency=currency, months=months_list))
    return report


@dataclass
class RollAccount:
    debtor_id: int
    name: str
    external_id: str
    balance_start: int
    bucket_end: int | None
    balance_end: int


def roll_accounts(
    *,
    creditor_ids: Sequence[int],
    start: datetime.date,
    currency: str,
    from_bucket: int,
    state: str,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[RollAccount], int]:
    """The accounts behind one cell of a month's matrix (drill-down), biggest first."""
    end = month_end(start + datetime.timedelta(days=1))
    page = max(1, page)
    snapshots = set(
        MonthBalance.objects.filter(creditor_id__in=creditor_ids, month_end__in=[start, end])
        .values_list("creditor_id", "month_end")
        .distinct()
    )
    if creditor_ids and all((c, d) in snapshots for c in creditor_ids for d in (start, end)):
        return _roll_accounts_sql(
            creditor_ids, start, end, currency, from_bucket, state, page, page_size
        )
    accounts: list[tuple[int, int, int | None, int]] = []  # debtor, balance, to bucket, after
    for creditor_id in creditor_ids:
        before = month_accounts(creditor_id, start)
        after = month_accounts(creditor_id, end)
        for (debtor, cur), (bucket, balance, _wo, _segment) in before.items():
            if cur != currency or bucket != from_bucket or balance <= 0:
                continue
            later = after.get((debtor, cur))
            if later is not None and later[2]:
                to = WRITTEN_OFF
            elif later is None or later[1] <= 0:
                to = PAID
            else:
                to = later[0]
            wanted = state == f"b{to}" if state.startswith("b") else state_of(bucket, to) == state
            if wanted:
                accounts.append((debtor, balance, to, later[1] if later else 0))
    accounts.sort(key=lambda a: (-a[1], a[0]))
    total = len(accounts)
    chosen = accounts[(page - 1) * page_size : page * page_size]
    names = (
        {
            pk: (name, external_id)
            for pk, name, external_id in fetch(
                f"SELECT id, name, external_id FROM portfolio_debtor WHERE id IN ({marks(chosen)})",
                [a[0] for a in chosen],
            )
        }
        if chosen
        else {}
    )
    return (
        [
            RollAccount(
                debtor_id=debtor,
                name=names.get(debtor, ("", ""))[0],
                external_id=names.get(debtor, ("", ""))[1],
                balance_start=balance,
                bucket_end=to if to not in (PAID, WRITTEN_OFF) else None,
                balance_end=after,
            )
            for debtor, balance, to, after in chosen
        ],
        total,
    )


def _state_sql(state: str) -> tuple[str, list[Any]]:
    """SQL over g.from_bucket / g.to_bucket for a summary state or a bucket ("b3")."""
    if state.startswith("b") and state[1:].isdigit():
        return "g.to_bucket = %s", [int(state[1:])]
    conditions = {
        "written_off": f"g.to_bucket = {WRITTEN_OFF}",
        "paid": f"g.to_bucket = {PAID}",
        "cured": "g.to_bucket = 0 AND g.from_bucket > 0",
        "same": "g.to_bucket = g.from_bucket",
        "later": f"g.to_bucket > g.from_bucket AND g.to_bucket <> {WRITTEN_OFF}",
        "better": "g.to_bucket > 0 AND g.to_bucket < g.from_bucket",
    }
    if state not in conditions:
        raise ValueError(f"unknown roll state {state!r}")
    return conditions[state], []


def _roll_accounts_sql(
    creditor_ids: Sequence[int],
    start: datetime.date,
    end: datetime.date,
    currency: str,
    from_bucket: int,
    state: str,
    page: int,
    page_size: int,
) -> tuple[list[RollAccount], int]:
    condition, c_params = _state_sql(state)
    inner = f"""
        SELECT f.debtor_id, f.bucket AS from_bucket, f.balance_minor AS balance,
               COALESCE(t.balance_minor, 0) AS after,
               CASE WHEN t.written_off_in_month THEN {WRITTEN_OFF}
                    WHEN t.id IS NULL OR t.balance_minor <= 0 THEN {PAID}
                    ELSE t.bucket END AS to_bucket
        FROM reports_monthbalance f
        LEFT JOIN reports_monthbalance t
          ON t.month_end = %s AND t.debtor_id = f.debtor_id AND t.currency = f.currency
         AND t.creditor_id = f.creditor_id
        WHERE f.creditor_id IN ({marks(creditor_ids)}) AND f.month_end = %s
          AND f.currency = %s AND f.bucket = %s AND f.balance_minor > 0
    """
    params = [end, *creditor_ids, start, currency, from_bucket]
    total = fetch(f"SELECT COUNT(*) FROM ({inner}) g WHERE {condition}", [*params, *c_params])
    rows = fetch(
        f"""SELECT g.debtor_id, db.name, db.external_id, g.balance, g.to_bucket, g.after
            FROM ({inner}) g JOIN portfolio_debtor db ON db.id = g.debtor_id
            WHERE {condition}
            ORDER BY g.balance DESC, g.debtor_id LIMIT %s OFFSET %s""",
        [*params, *c_params, page_size, (page - 1) * page_size],
    )
    return (
        [
            RollAccount(
                debtor_id=debtor,
                name=name,
                external_id=external_id,
                balance_start=int(balance),
                bucket_end=int(to) if int(to) not in (PAID, WRITTEN_OFF) else None,
                balance_end=int(after),
            )
            for debtor, name, external_id, balance, to, after in rows
        ],
        int(total[0][0]),
    )
