"""Provision matrix (IFRS 9 simplified approach for trade receivables).

The loss rate of each 30-day bucket is the product of the average forward roll rates from
that bucket to write-off over a history window of months, times a forward-looking factor set
by the user (capped at 100 %); the expected loss is Σ balance × loss rate.

- Forward roll rate of a bucket, for one month: the share of its balance at a month end that
  a month later is in a later bucket or written off; for the last bucket (181+), the share
  written off. Its average is the plain mean of the months of the window in which the bucket
  held a balance.
- Balances: the open balances at the as-of date by the days past due of each document,
  without written-off documents (already out of the books) and without credits.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cartera.core.money import minor_str
from cartera.reports.kpis import ratio, two
from cartera.reports.queries import BUCKETS, CREDIT_BUCKET, bucket_totals
from cartera.reports.rollrates import RollRates, bucket_label, rollrates_compute

ONE = Decimal(1)


@dataclass
class ProvisionLine:
    index: int
    balance: int
    monthly_rates: list[Decimal | None]  # forward roll of each month of the window
    forward_rate: Decimal | None  # their average (None: the bucket never held a balance)
    loss_rate: Decimal
    expected_loss: int

    @property
    def bucket(self) -> str:
        return bucket_label(self.index)


@dataclass
class CurrencyProvision:
    currency: str
    lines: list[ProvisionLine] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return sum(line.balance for line in self.lines)

    @property
    def expected_loss(self) -> int:
        return sum(line.expected_loss for line in self.lines)

    @property
    def loss_rate(self) -> Decimal | None:
        return ratio(self.expected_loss, self.balance)


@dataclass
class Provision:
    as_of: datetime.date
    window: int
    factor: Decimal
    months_used: list[tuple[datetime.date, datetime.date]]
    currencies: list[CurrencyProvision]
    rolls: RollRates

    def as_json(self) -> dict[str, Any]:
        def pct(value: Decimal | None) -> str | None:
            return None if value is None else two(value * 100)

        return {
            "as_of": self.as_of.isoformat(),
            "window_months": self.window,
            "forward_looking_factor": str(self.factor),
            "months": [[s.isoformat(), e.isoformat()] for s, e in self.months_used],
            "currencies": [
                {
                    "currency": c.currency,
                    "lines": [
                        {
                            "bucket": BUCKETS[line.index].name,
                            "balance": minor_str(line.balance, c.currency),
                            "monthly_forward_rates": [pct(r) for r in line.monthly_rates],
                            "average_forward_rate": pct(line.forward_rate),
                            "loss_rate": pct(line.loss_rate),
                            "expected_loss": minor_str(line.expected_loss, c.currency),
                        }
                        for line in c.lines
                    ],
                    "balance": minor_str(c.balance, c.currency),
                    "expected_loss": minor_str(c.expected_loss, c.currency),
                    "loss_rate": pct(c.loss_rate),
                }
                for c in self.currencies
            ],
        }


def mean(values: Sequence[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) / len(present) if present else None


def loss_rates(forward: Sequence[Decimal | None], factor: Decimal) -> list[Decimal]:
    """Loss rate of each bucket: the product of the forward rates from it to the last bucket,
    times the factor, at most 1. A bucket that never held a balance rolls at rate 0."""
    rates = []
    for index in range(len(forward)):
        product = ONE
        for value in forward[index:]:
            product *= value if value is not None else Decimal(0)
        rates.append(min(ONE, product * factor))
    return rates


def provision_compute(
    *,
    creditor_ids: Sequence[int],
    as_of: datetime.date,
    window: int = 12,
    factor: Decimal = ONE,
    segment_id: int | None = None,
) -> Provision:
    if window <= 0:
        raise ValueError("the window must be at least one month")
    if factor < 0:
        raise ValueError("the forward-looking factor cannot be negative")
    rolls = rollrates_compute(
        creditor_ids=creditor_ids, as_of=as_of, months=window, segment_id=segment_id
    )
    totals = bucket_totals(creditor_ids, [as_of])[as_of]
    currencies = sorted(set(totals) | {c.currency for c in rolls.currencies})
    by_currency = {c.currency: c for c in rolls.currencies}
    months_used: list[tuple[datetime.date, datetime.date]] = []
    result = []
    for currency in currencies:
        block = by_currency.get(currency)
        monthly: list[list[Decimal | None]] = [[] for _ in BUCKETS]
        if block is not None:
            months_used = [(m.start, m.end) for m in block.months]
            for month in block.months:
                for index in range(len(BUCKETS)):
                    monthly[index].append(month.rows[index].forward())
        forward = [mean(values) for values in monthly]
        rates = loss_rates(forward, factor)
        here = totals.get(currency)
        provision = CurrencyProvision(currency=currency)
        for index in range(len(BUCKETS)):
            balance = 0
            if here is not None and index < CREDIT_BUCKET:
                balance = here.amounts[index] - here.written_off[index]
            expected = int((Decimal(balance) * rates[index]).quantize(ONE, rounding=ROUND_HALF_UP))
            provision.lines.append(
                ProvisionLine(
                    index=index,
                    balance=balance,
                    monthly_rates=monthly[index],
                    forward_rate=forward[index],
                    loss_rate=rates[index],
                    expected_loss=expected,
                )
            )
        result.append(provision)
    return Provision(
        as_of=as_of,
        window=window,
        factor=factor,
        months_used=months_used,
        currencies=result,
        rolls=rolls,
    )
