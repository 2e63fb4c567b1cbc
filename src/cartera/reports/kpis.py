"""Receivables KPIs per currency: DSO, countback DSO, best possible DSO, average days
delinquent, CEI and recovery rate (definitions in docs/reports.md, worded as in the issue).

`AR(t)` is the open balance at the end of day `t` (credit notes and unapplied payments
negative), `current(t)` its part not yet due, `sales` the original amount of invoices, debit
notes and installments issued in `(t − days, t]`. Balances come from the day's snapshot when
there is one and from the ledger otherwise; sales and collections likewise per day.

Every figure is computed with exact decimals from integer minor units and rounded half-up to
two decimals only when shown; a zero denominator gives None (`null` in JSON).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cartera.core.money import minor_str
from cartera.reports.queries import (
    BucketTotals,
    bucket_totals,
    collected_on_due_before,
    first_sale_day,
    sales_by_day,
)

CENT = Decimal("0.01")


def two(value: Decimal | None) -> str | None:
    """Two decimals, half up, as a string (None stays None)."""
    return None if value is None else str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def ratio(numerator: int, denominator: int, scale: int = 1) -> Decimal | None:
    """numerator × scale ÷ denominator, dividing last so that exact results stay exact."""
    return None if not denominator else Decimal(numerator * scale) / Decimal(denominator)


# --- the formulas, on plain numbers ------------------------------------------------------------


def dso(ar_end: int, sales: int, days: int) -> Decimal | None:
    """DSO = AR(end) ÷ sales × days."""
    return ratio(ar_end, sales, days)


def best_possible_dso(current_end: int, sales: int, days: int) -> Decimal | None:
    """Best possible DSO = current(end) ÷ sales × days."""
    return ratio(current_end, sales, days)


def cei(ar_start: int, sales: int, ar_end: int, current_end: int) -> Decimal | None:
    """CEI = (AR(start) + sales − AR(end)) ÷ (AR(start) + sales − current(end)) × 100."""
    return ratio(ar_start + sales - ar_end, ar_start + sales - current_end, 100)


def recovery_rate(collected: int, overdue_start: int) -> Decimal | None:
    """Money applied in the period to documents overdue at the start ÷ that overdue balance."""
    return ratio(collected, overdue_start, 100)


def countback_dso(ar_end: int, months: Iterable[tuple[int, int]]) -> Decimal | None:
    """Countback DSO over `months`, (sales, days) pairs from the month of `t` backwards.

    From AR(end), subtract each month's sales, adding its days, until a month's sales exceed
    what is left; then add (what is left ÷ that month's sales) × that month's days. None when
    the months run out before what is left does (the history is shorter than the
    receivables), or when what is left is negative and the month sold nothing.
    """
    left = ar_end
    total = 0
    for sales, days in months:
        if left == 0:
            # Explained to the last cent (also when the history ends here): months further
            # back, even without sales, add nothing.
            return Decimal(total)
        if sales > left:
            if sales == 0:
                return None
            return total + Decimal(left * days) / Decimal(sales)
        left -= sales
        total += days
    return Decimal(total) if left == 0 else None


def calendar_months(
    as_of: datetime.date, earliest: datetime.date
) -> Iterator[tuple[datetime.date, datetime.date, int]]:
    """(first day, last day, days counted) of each calendar month from the month of `as_of`
    (counted up to `as_of`) back to the month of `earliest`."""
    first, last = as_of.replace(day=1), as_of
    while last >= earliest.replace(day=1):
        yield first, last, (last - first).days + 1
        last = first - datetime.timedelta(days=1)
        first = last.replace(day=1)


# --- figures of one period ---------------------------------------------------------------------


@dataclass
class Kpis:
    currency: str
    as_of: datetime.date
    days: int
    ar_start: int
    ar_end: int
    current_end: int
    overdue_start: int
    sales: int
    collected_on_overdue: int
    dso: Decimal | None
    dso_countback: Decimal | None
    best_possible_dso: Decimal | None
    cei: Decimal | None
    recovery_rate: Decimal | None

    @property
    def start(self) -> datetime.date:
        return self.as_of - datetime.timedelta(days=self.days)

    @property
    def average_days_delinquent(self) -> Decimal | None:
        """ADD = DSO − best possible DSO."""
        if self.dso is None or self.best_possible_dso is None:
            return None
        return self.dso - self.best_possible_dso

    def as_json(self) -> dict[str, Any]:
        """The command-line contract of `cartera report kpis --format json`."""
        c = self.currency
        return {
            "currency": c,
            "as_of": self.as_of.isoformat(),
            "days": self.days,
            "ar_start": minor_str(self.ar_start, c),
            "ar_end": minor_str(self.ar_end, c),
            "current_end": minor_str(self.current_end, c),
            "sales": minor_str(self.sales, c),
            "dso": two(self.dso),
            "dso_countback": two(self.dso_countback),
            "best_possible_dso": two(self.best_possible_dso),
            "average_days_delinquent": two(self.average_days_delinquent),
            "cei": two(self.cei),
            "recovery_rate": two(self.recovery_rate),
        }


def kpis_compute(
    *, creditor_ids: Sequence[int], as_of: datetime.date, days: int = 90
) -> list[Kpis]:
    """The KPIs at the end of `as_of` over the `days` before it, one per currency."""
    return kpis_series(creditor_ids=creditor_ids, points=[as_of], days=days)[as_of]


def kpis_series(
    *, creditor_ids: Sequence[int], points: Sequence[datetime.date], days: int = 90
) -> dict[datetime.date, list[Kpis]]:
    """The KPIs at several dates (a trend), reading every input in a few queries."""
    if days <= 0:
        raise ValueError("the period must be at least one day")
    points = sorted(set(points))
    result: dict[datetime.date, list[Kpis]] = {p: [] for p in points}
    if not points or not creditor_ids:
        return result
    period = datetime.timedelta(days=days)
    balances = bucket_totals(creditor_ids, [*points, *(p - period for p in points)])
    earliest = first_sale_day(creditor_ids)
    # Sales per day over the periods and the months of the points; the countback reaches
    # further back month by month, and only as far as it needs (older days may have no
    # snapshot and cost a read of the ledger).
    reach = min(points[0] - period, points[0].replace(day=1))
    if earliest is not None:
        reach = max(reach, earliest)
    sales = sales_by_day(creditor_ids, reach, points[-1])
    sales_from = reach

    def sales_between(currency: str, first: datetime.date, last: datetime.date) -> int:
        nonlocal sales_from
        if first < sales_from and earliest is not None and sales_from > earliest:
            # Two months at a time: a countback rarely stops after one.
            older_from = max(earliest, (first.replace(day=1) - datetime.timedelta(days=1)))
            older_from = older_from.replace(day=1) if older_from > earliest else earliest
            older = sales_by_day(creditor_ids, older_from, sales_from - datetime.timedelta(days=1))
            for cur, by_day in older.items():
                sales.setdefault(cur, {}).update(by_day)
            sales_from = older_from
        by_day = sales.get(currency, {})
        return sum(v for d, v in by_day.items() if first <= d <= last)

    for point in points:
        start = point - period
        end_totals = balances[point]
        start_totals = balances[start]
        collected = collected_on_due_before(
            creditor_ids, start + datetime.timedelta(days=1), point, start
        )
        currencies = sorted(
            set(end_totals)
            | set(start_totals)
            | {c for c, by_day in sales.items() if any(start < d <= point for d in by_day)}
        )
        for currency in currencies:
            end = end_totals.get(currency, BucketTotals())
            begin = start_totals.get(currency, BucketTotals())
            sold = sales_between(currency, start + datetime.timedelta(days=1), point)
            months = (
                (sales_between(currency, first, last), counted)
                for first, last, counted in calendar_months(point, earliest or point)
            )
            result[point].append(
                Kpis(
                    currency=currency,
                    as_of=point,
                    days=days,
                    ar_start=begin.ar,
                    ar_end=end.ar,
                    current_end=end.current,
                    overdue_start=begin.overdue,
                    sales=sold,
                    collected_on_overdue=collected.get(currency, 0),
                    dso=dso(end.ar, sold, days),
                    dso_countback=countback_dso(end.ar, months),
                    best_possible_dso=best_possible_dso(end.current, sold, days),
                    cei=cei(begin.ar, sold, end.ar, end.current),
                    recovery_rate=recovery_rate(collected.get(currency, 0), begin.overdue),
                )
            )
    return result


def month_ends_before(as_of: datetime.date, count: int) -> list[datetime.date]:
    """`as_of` and the `count - 1` month ends before it, oldest first (trend points)."""
    points = [as_of]
    day = as_of.replace(day=1) - datetime.timedelta(days=1)
    while len(points) < count:
        points.append(day)
        day = day.replace(day=1) - datetime.timedelta(days=1)
    return sorted(points)


__all__ = [
    "Kpis",
    "best_possible_dso",
    "calendar_months",
    "cei",
    "countback_dso",
    "dso",
    "kpis_compute",
    "kpis_series",
    "month_ends_before",
    "recovery_rate",
    "two",
]
