"""Cash forecast: what should come in during each of the next 13 weeks, and a back-test.

Each open document (not written off) is expected on its due date shifted by its debtor's own
habit: the average number of days between due date and payment over the debtor's payments of
the last `CARTERA_FORECAST_HISTORY_DAYS` days, weighted by amount (a debtor without payments in
that window is expected on the due date). Pending promises are expected on their promised
date, and the amount they promise is taken off the forecast of that debtor's documents
(earliest due first) so it is not counted twice. Agreement installments are documents of kind
`installment` and are forecast like any document.

Documents whose expected date has already passed are not spread over the weeks: they are shown
apart ("past the expected date"), as are those expected after the 13th week.

Week 1 is the 7 days after the as-of date, week 2 the 7 days after that, and so on.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from cartera.core.bulk import rows_insert
from cartera.portfolio.models import Creditor, EntryKind
from cartera.reports.models import ForecastWeek
from cartera.reports.queries import (
    as_date,
    balances_cte,
    collected_by_day,
    fetch,
    marks,
    not_prior,
)
from cartera.reports.sqldates import day_number, greatest, least, to_day_number

WEEKS = 13
PAST = 0  # expected before the as-of date: not forecast
BEYOND = WEEKS + 1  # expected after the last week


def history_days() -> int:
    return int(getattr(settings, "CARTERA_FORECAST_HISTORY_DAYS", 365))


@dataclass
class WeekFigures:
    number: int
    first: datetime.date
    last: datetime.date
    documents: int = 0
    promises: int = 0

    @property
    def total(self) -> int:
        return self.documents + self.promises


@dataclass
class CurrencyForecast:
    currency: str
    weeks: list[WeekFigures]
    past_expected: int = 0  # documents whose expected date has passed
    beyond: int = 0  # expected after the last week (documents and promises)
    promised_off_documents: int = 0  # taken off the documents because a promise covers it

    @property
    def total(self) -> int:
        return sum(w.total for w in self.weeks)


@dataclass
class Forecast:
    as_of: datetime.date
    history_days: int
    currencies: list[CurrencyForecast] = field(default_factory=list)


def _week_of(diff: int) -> int:
    if diff <= 0:
        return PAST
    if diff > 7 * WEEKS:
        return BEYOND
    return (diff + 6) // 7


def _empty(currency: str, as_of: datetime.date) -> CurrencyForecast:
    return CurrencyForecast(
        currency=currency,
        weeks=[
            WeekFigures(
                number=n,
                first=as_of + datetime.timedelta(days=7 * (n - 1) + 1),
                last=as_of + datetime.timedelta(days=7 * n),
            )
            for n in range(1, WEEKS + 1)
        ],
    )


def _pending_promises_sql(creditor_ids: Sequence[int]) -> str:
    """Promises pending at the end of the as-of day (decided later, or not yet)."""
    return f"""
        SELECT p.id, p.debtor_id, p.currency, p.amount_minor, p.promised_date
        FROM negotiation_promise p
        WHERE p.creditor_id IN ({marks(creditor_ids)}) AND p.created_on <= %s
          AND (p.decided_on IS NULL OR p.decided_on > %s)
    """


def forecast_compute(
    *, creditor_ids: Sequence[int], as_of: datetime.date, history: int | None = None
) -> Forecast:
    """The 13-week forecast as it would be made at the end of `as_of`, from the ledger."""
    history = history_days() if history is None else history
    forecast = Forecast(as_of=as_of, history_days=history)
    if not creditor_ids:
        return forecast
    balances, b_params = balances_cte(creditor_ids, as_of)
    habit, h_params = _expected_cte(creditor_ids, as_of, history)
    totals_sql = f"""
        WITH {balances}, {habit}
        SELECT x.currency, {WEEK_CASE} AS week, SUM(x.balance) FROM x GROUP BY x.currency, 2
    """
    by_currency: dict[str, CurrencyForecast] = {}

    def cell(currency: str) -> CurrencyForecast:
        if currency not in by_currency:
            by_currency[currency] = _empty(currency, as_of)
        return by_currency[currency]

    def add(currency: str, week: int, amount: int, *, promise: bool) -> None:
        target = cell(currency)
        if week == PAST:
            target.past_expected += amount
        elif week == BEYOND:
            target.beyond += amount
        elif promise:
            target.weeks[week - 1].promises += amount
        else:
            target.weeks[week - 1].documents += amount

    for currency, week, amount in fetch(totals_sql, [*b_params, *h_params]):
        add(currency, int(week), int(amount), promise=False)

    promises = fetch(_pending_promises_sql(creditor_ids), [*creditor_ids, as_of, as_of])
    if promises:
        promised: dict[tuple[int, str], int] = defaultdict(int)
        for _pk, debtor_id, currency, amount, promised_date in promises:
            promised[(debtor_id, currency)] += int(amount)
            diff = max((as_date(promised_date) - as_of).days, 1)
            add(currency, _week_of(diff), int(amount), promise=True)
        # The documents of those debtors, earliest due first: the promise covers them first.
        documents_sql = f"""
            WITH {balances}, {habit}
            SELECT x.debtor_id, x.currency, {WEEK_CASE} AS week, x.balance FROM x
            WHERE x.debtor_id IN (
                SELECT p.debtor_id FROM ({_pending_promises_sql(creditor_ids)}) p
            )
            ORDER BY x.debtor_id, x.due_date, x.id
        """
        params = [*b_params, *h_params, *creditor_ids, as_of, as_of]
        for debtor_id, currency, week, balance in fetch(documents_sql, params):
            left = promised.get((debtor_id, currency), 0)
            if left <= 0:
                continue
            taken = min(left, int(balance))
            promised[(debtor_id, currency)] = left - taken
            add(currency, int(week), -taken, promise=False)
            cell(currency).promised_off_documents += taken
    forecast.currencies = [by_currency[c] for c in sorted(by_currency)]
    return forecast


# SQL over `x` (see `_expected_cte`): the week an amount is expected in (PAST, 1–13, BEYOND).
WEEK_CASE = (
    f"CASE WHEN x.diff <= 0 THEN {PAST} WHEN x.diff > {7 * WEEKS} THEN {BEYOND} "
    "ELSE (x.diff + 6) / 7 END"
)


def _expected_cte(
    creditor_ids: Sequence[int], as_of: datetime.date, history: int
) -> tuple[str, list[Any]]:
    """`habit` and `x` CTEs (after `balances_cte`): each open document that is not written
    off (id, debtor_id, currency, due_date, balance) with `diff`, the days from `as_of` to the
    day it is expected (its due date moved by its debtor's average days late)."""
    day0 = to_day_number(as_of)
    # Reversals are left out of the habit: a payment reversed and applied again elsewhere
    # counts twice in an average of days, which moves it by little.
    habit = f"""
        habit AS (
            SELECT d.debtor_id,
                   CAST(ROUND(SUM(CAST(-e.amount_minor AS DOUBLE PRECISION)
                                  * ({day_number("e.effective_date")} - {day_number("d.due_date")}))
                              / SUM(CAST(-e.amount_minor AS DOUBLE PRECISION))) AS INTEGER)
                       AS shift
            FROM portfolio_ledgerentry e JOIN portfolio_document d ON d.id = e.document_id
            WHERE e.creditor_id IN ({marks(creditor_ids)}) AND e.kind = '{EntryKind.PAYMENT}'
              AND {not_prior()} AND e.effective_date > %s AND e.effective_date <= %s
            GROUP BY d.debtor_id
        ),
        x AS (
            SELECT b.id, b.debtor_id, b.currency, b.due_date, b.balance,
                   {day_number("b.due_date")} + COALESCE(h.shift, 0) - {day0} AS diff
            FROM balances b LEFT JOIN habit h ON h.debtor_id = b.debtor_id
            WHERE b.balance > 0 AND (b.written_off_on IS NULL OR b.written_off_on > %s)
        )
    """
    return habit, [*creditor_ids, as_of - datetime.timedelta(days=history), as_of, as_of]


@dataclass
class ExpectedItem:
    """A document or a pending promise behind a figure of the forecast."""

    source: str  # "document" or "promise"
    id: int
    number: str  # the document's number ("" for a promise)
    kind: str  # the document's kind ("" for a promise)
    debtor_id: int
    debtor: str
    due_date: datetime.date  # a document's due date, a promise's promised date
    expected: datetime.date
    balance: int  # a document's open balance, a promise's amount
    amount: int  # what the figure counts of it


ITEM_PARTS = ("all", "documents", "promises", "covered")


def forecast_items(
    *,
    creditor_ids: Sequence[int],
    as_of: datetime.date,
    currency: str,
    week: int | None,
    part: str = "all",
    history: int | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[ExpectedItem], int, int]:
    """(rows, count, amount): what `forecast_compute` counts in a week (PAST, 1–13, BEYOND;
    None: weeks 1 to 13), document by document and promise by promise, earliest expected
    first. `part` keeps the documents or the promises only, or (`covered`) lists the
    documents a pending promise covers, with the part taken off them.

    The same rules as `forecast_compute`, in one statement: a debtor's pending promises are
    taken off its documents earliest due first (a running sum per debtor), so the rows of a
    week add up to that week's figure."""
    if part not in ITEM_PARTS:
        raise ValueError(f"unknown part {part!r}")
    history = history_days() if history is None else history
    if not creditor_ids:
        return [], 0, 0
    balances, b_params = balances_cte(creditor_ids, as_of)
    habit, h_params = _expected_cte(creditor_ids, as_of, history)
    day0 = to_day_number(as_of)
    covered = part == "covered"
    conditions, c_params = [], []
    if covered:
        conditions.append("y.source = 'document' AND y.taken > 0")
    else:
        conditions.append("y.amount <> 0")
        if week is None:
            conditions.append("y.week BETWEEN 1 AND %s")
            c_params.append(WEEKS)
        else:
            conditions.append("y.week = %s")
            c_params.append(week)
        if part == "documents":
            conditions.append("y.source = 'document'")
        elif part == "promises":
            conditions.append("y.source = 'promise'")
    taken = least("cx.balance", greatest("pr.promised - (cx.upto - cx.balance)", "0"))
    promise_diff = greatest(f"{day_number('pp.promised_date')} - {day0}", "1")
    sql = f"""
        WITH {balances}, {habit},
        pp AS ({_pending_promises_sql(creditor_ids)}),
        pr AS (
            SELECT pp.debtor_id, CAST(SUM(pp.amount_minor) AS BIGINT) AS promised
            FROM pp WHERE pp.currency = %s GROUP BY pp.debtor_id
        ),
        cx AS (
            SELECT x.id, x.debtor_id, x.due_date, x.balance, x.diff,
                   CAST(SUM(x.balance) OVER (
                       PARTITION BY x.debtor_id ORDER BY x.due_date, x.id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS upto
            FROM x WHERE x.currency = %s
        ),
        dx AS (
            SELECT cx.id, cx.debtor_id, cx.due_date, cx.balance, cx.diff,
                   CASE WHEN pr.promised IS NULL THEN 0 ELSE {taken} END AS taken
            FROM cx LEFT JOIN pr ON pr.debtor_id = cx.debtor_id
        ),
        items AS (
            SELECT 'document' AS source, dx.id, dx.debtor_id, dx.due_date AS due, dx.diff,
                   dx.balance, dx.balance - dx.taken AS amount, dx.taken
            FROM dx
            UNION ALL
            SELECT 'promise', pp.id, pp.debtor_id, pp.promised_date, {promise_diff},
                   pp.amount_minor, pp.amount_minor, 0
            FROM pp WHERE pp.currency = %s
        ),
        y AS (SELECT x.*, {WEEK_CASE} AS week FROM items x),
        page AS (
            SELECT y.source, y.id, y.debtor_id, y.due, y.diff, y.balance,
                   y.{"taken" if covered else "amount"} AS amount,
                   COUNT(*) OVER () AS total,
                   CAST(SUM(y.{"taken" if covered else "amount"}) OVER () AS BIGINT) AS sum_all
            FROM y WHERE {" AND ".join(conditions)}
            ORDER BY y.diff, 7 DESC, y.source, y.id LIMIT %s OFFSET %s
        )
        SELECT page.source, page.id, d.number, d.kind, page.debtor_id, db.name, page.due,
               page.diff, page.balance, page.amount, page.total, page.sum_all
        FROM page LEFT JOIN portfolio_document d
          ON page.source = 'document' AND d.id = page.id
        JOIN portfolio_debtor db ON db.id = page.debtor_id
        ORDER BY page.diff, page.amount DESC, page.source, page.id
    """
    page = max(1, page)
    params = [
        *b_params,
        *h_params,
        *creditor_ids,
        as_of,
        as_of,
        currency,
        currency,
        currency,
        *c_params,
        page_size,
        (page - 1) * page_size,
    ]
    rows = fetch(sql, params)
    items = [
        ExpectedItem(
            source=str(r[0]),
            id=int(r[1]),
            number=r[2] or "",
            kind=r[3] or "",
            debtor_id=int(r[4]),
            debtor=r[5],
            due_date=as_date(r[6]),
            expected=as_of + datetime.timedelta(days=int(r[7])),
            balance=int(r[8]),
            amount=int(r[9]),
        )
        for r in rows
    ]
    return items, (int(rows[0][10]) if rows else 0), (int(rows[0][11] or 0) if rows else 0)


@transaction.atomic
def forecast_store(*, creditor: Creditor, made_on: datetime.date) -> int:
    """Keep the forecast made on `made_on` (the back-test compares it with what came in)."""
    ForecastWeek.objects.filter(creditor=creditor, made_on=made_on).delete()
    forecast = forecast_compute(creditor_ids=[creditor.pk], as_of=made_on)
    rows: list[tuple[Any, ...]] = []
    for figures in forecast.currencies:
        rows.append((creditor.pk, made_on, figures.currency, PAST, figures.past_expected, 0))
        rows.extend(
            (creditor.pk, made_on, figures.currency, w.number, w.documents, w.promises)
            for w in figures.weeks
        )
        rows.append((creditor.pk, made_on, figures.currency, BEYOND, figures.beyond, 0))
    rows_insert(
        ForecastWeek,
        ("creditor_id", "made_on", "currency", "week", "documents_minor", "promises_minor"),
        rows,
    )
    return len(rows)


def forecast_stored(*, creditor_ids: Sequence[int], made_on: datetime.date) -> Forecast | None:
    """The forecast every one of the creditors stored on `made_on`, or None."""
    stored = ForecastWeek.objects.filter(creditor_id__in=creditor_ids, made_on=made_on)
    found = set(stored.values_list("creditor_id", flat=True).distinct())
    if not creditor_ids or found != set(creditor_ids):
        return None
    forecast = Forecast(as_of=made_on, history_days=history_days())
    by_currency: dict[str, CurrencyForecast] = {}
    for currency, week, documents, promises in stored.values_list(
        "currency", "week", "documents_minor", "promises_minor"
    ):
        target = by_currency.setdefault(currency, _empty(currency, made_on))
        if week == PAST:
            target.past_expected += documents
        elif week == BEYOND:
            target.beyond += documents + promises
        else:
            target.weeks[week - 1].documents += documents
            target.weeks[week - 1].promises += promises
    forecast.currencies = [by_currency[c] for c in sorted(by_currency)]
    return forecast


def forecast_latest_stored(
    *, creditor_ids: Sequence[int], on_or_before: datetime.date
) -> datetime.date | None:
    day = (
        ForecastWeek.objects.filter(creditor_id__in=creditor_ids, made_on__lte=on_or_before)
        .order_by("-made_on")
        .values_list("made_on", flat=True)
        .first()
    )
    return day


@dataclass
class BacktestWeek:
    number: int
    first: datetime.date
    last: datetime.date
    forecast: int
    actual: int

    @property
    def difference(self) -> int:
        return self.actual - self.forecast


@dataclass
class CurrencyBacktest:
    currency: str
    weeks: list[BacktestWeek]

    @property
    def forecast(self) -> int:
        return sum(w.forecast for w in self.weeks)

    @property
    def actual(self) -> int:
        return sum(w.actual for w in self.weeks)


@dataclass
class Backtest:
    made_on: datetime.date
    as_of: datetime.date
    stored: bool  # the forecast as it was stored that day (else rebuilt from the ledger)
    currencies: list[CurrencyBacktest]


def forecast_backtest(
    *, creditor_ids: Sequence[int], as_of: datetime.date, made_on: datetime.date | None = None
) -> Backtest:
    """The forecast made on `made_on` against the money applied in each of its weeks that had
    ended by `as_of`. By default, the latest forecast stored 13 weeks or more before `as_of`
    (or, without any, the one the ledger gives for 13 weeks before `as_of`)."""
    if made_on is None:
        made_on = forecast_latest_stored(
            creditor_ids=creditor_ids, on_or_before=as_of - datetime.timedelta(days=7 * WEEKS)
        ) or as_of - datetime.timedelta(days=7 * WEEKS)
    forecast = forecast_stored(creditor_ids=creditor_ids, made_on=made_on)
    stored = forecast is not None
    if forecast is None:
        forecast = forecast_compute(creditor_ids=creditor_ids, as_of=made_on)
    last = min(as_of, made_on + datetime.timedelta(days=7 * WEEKS))
    actual = collected_by_day(creditor_ids, made_on + datetime.timedelta(days=1), last)
    currencies = sorted({c.currency for c in forecast.currencies} | set(actual))
    by_currency = {c.currency: c for c in forecast.currencies}
    result = []
    for currency in currencies:
        figures = by_currency.get(currency) or _empty(currency, made_on)
        days = actual.get(currency, {})
        weeks = [
            BacktestWeek(
                number=w.number,
                first=w.first,
                last=w.last,
                forecast=w.total,
                actual=sum(v for d, v in days.items() if w.first <= d <= w.last),
            )
            for w in figures.weeks
            if w.last <= as_of
        ]
        result.append(CurrencyBacktest(currency=currency, weeks=weeks))
    return Backtest(made_on=made_on, as_of=as_of, stored=stored, currencies=result)
