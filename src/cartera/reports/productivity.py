"""Promise-kept rate, right-party-contact rate and collector productivity.

- Promise-kept rate = promises due in the period and kept ÷ promises due in the period, by
  count and by amount. A promise is due on its promised date; promises still pending (their
  grace days have not run out) and cancelled ones (replaced by another) are left out of both
  and shown apart.
- Right-party-contact rate = contacts that reached the debtor ÷ attempts (outbound contacts).
- Collector productivity, per collector and day: contacts attempted and made (somebody
  answered), right-party contacts, promises taken and their amount, promises kept and broken
  (decided that day), and the money received on the accounts the collector held on the
  payment's date. Who held an account on a date comes from the collector spells the daily
  runs record (`CollectorSpell`); for a payment dated before the first recorded spell of its
  account, the account's current collector is used.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum, Window
from django.db.models.functions import TruncDate

from cartera.negotiation.models import Promise, PromiseStatus
from cartera.portfolio.models import Activity, Creditor
from cartera.reports.kpis import ratio
from cartera.reports.queries import as_date, fetch, marks


def _bounds(
    creditors: Sequence[Creditor], first: datetime.date, last: datetime.date
) -> tuple[datetime.datetime, datetime.datetime, zoneinfo.ZoneInfo]:
    """The period as instants, in the (first) creditor's time zone."""
    tz = zoneinfo.ZoneInfo(creditors[0].timezone if creditors else "UTC")
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return start, end, tz


# --- promise-kept rate -------------------------------------------------------------------------


@dataclass
class PromiseFigures:
    currency: str
    kept: int = 0
    broken: int = 0
    kept_minor: int = 0
    broken_minor: int = 0
    pending: int = 0
    cancelled: int = 0

    @property
    def due(self) -> int:
        return self.kept + self.broken

    @property
    def due_minor(self) -> int:
        return self.kept_minor + self.broken_minor

    @property
    def rate_by_count(self) -> Decimal | None:
        return ratio(self.kept, self.due, 100)

    @property
    def rate_by_amount(self) -> Decimal | None:
        return ratio(self.kept_minor, self.due_minor, 100)


def promise_kept_rate(
    *, creditor_ids: Sequence[int], first: datetime.date, last: datetime.date
) -> list[PromiseFigures]:
    """Per currency, the promises whose promised date falls from `first` to `last`."""
    figures: dict[str, PromiseFigures] = {}
    rows = (
        Promise.objects.filter(
            creditor_id__in=creditor_ids, promised_date__gte=first, promised_date__lte=last
        )
        .values("currency", "status")
        .annotate(n=Count("id"), amount=Sum("amount_minor"))
    )
    for row in rows:
        f = figures.setdefault(row["currency"], PromiseFigures(row["currency"]))
        n, amount = row["n"], int(row["amount"] or 0)
        if row["status"] == PromiseStatus.KEPT:
            f.kept, f.kept_minor = f.kept + n, f.kept_minor + amount
        elif row["status"] == PromiseStatus.BROKEN:
            f.broken, f.broken_minor = f.broken + n, f.broken_minor + amount
        elif row["status"] == PromiseStatus.PENDING:
            f.pending += n
        else:
            f.cancelled += n
    return [figures[c] for c in sorted(figures)]


# --- right-party contacts ----------------------------------------------------------------------


@dataclass
class ContactFigures:
    kind: str
    attempts: int
    reached: int

    @property
    def rate(self) -> Decimal | None:
        return ratio(self.reached, self.attempts, 100)


def right_party_rate(
    *, creditors: Sequence[Creditor], first: datetime.date, last: datetime.date
) -> tuple[ContactFigures, list[ContactFigures]]:
    """(all channels, per channel) for the outbound contacts of the period."""
    start, end, _tz = _bounds(creditors, first, last)
    rows = (
        Activity.objects.filter(creditor__in=creditors, is_contact=True, at__gte=start, at__lt=end)
        .values("kind")
        .annotate(n=Count("id"), reached=Count("id", filter=Q(reached=True)))
        .order_by("kind")
    )
    per_kind = [ContactFigures(r["kind"], r["n"], r["reached"]) for r in rows]
    total = ContactFigures("", sum(f.attempts for f in per_kind), sum(f.reached for f in per_kind))
    return total, per_kind


# --- who held the account on a payment's date -----------------------------------------------

# SQL over a payment `p`: the collector who held its account on the payment's date (the
# collector spell the daily runs recorded), or the account's current collector for a payment
# from before the first recorded spell. `HOLDER_JOINS` brings in `s` and `a`.
HOLDER = "CASE WHEN s.id IS NOT NULL THEN s.collector_id ELSE a.collector_id END"
HOLDER_JOINS = """
    LEFT JOIN reports_collectorspell s
      ON s.debtor_id = p.debtor_id AND s.since <= p.date
     AND (s.until IS NULL OR s.until > p.date)
    LEFT JOIN strategy_account a ON a.debtor_id = p.debtor_id
"""


def collected_by_holder(
    *,
    creditor_ids: Sequence[int],
    first: datetime.date,
    last: datetime.date,
    currency: str | None = None,
    collector_id: int | None = None,
) -> list[tuple[int | None, datetime.date, str, int]]:
    """(holder, day, currency, amount): the money received from `first` to `last` on the
    accounts each collector held on the payment's date (holder None: nobody), in one grouped
    query. Only `currency` when given; only `collector_id`'s payments when given.

    The report's productivity page and the workdesk's team page both read this, so they
    credit every payment to the same collector."""
    if not creditor_ids or last < first:
        return []
    conditions, params = "", [*creditor_ids, first, last]
    if currency is not None:
        conditions += " AND p.currency = %s"
        params.append(currency)
    if collector_id is not None:
        conditions += f" AND {HOLDER} = %s"
        params.append(collector_id)
    sql = f"""
        SELECT {HOLDER} AS holder, p.date, p.currency, SUM(p.amount_minor)
        FROM portfolio_payment p {HOLDER_JOINS}
        WHERE p.creditor_id IN ({marks(creditor_ids)}) AND p.date BETWEEN %s AND %s
          {conditions}
        GROUP BY {HOLDER}, p.date, p.currency
    """
    return [
        (holder, as_date(day), str(cur), int(amount or 0))
        for holder, day, cur, amount in fetch(sql, params)
    ]


# --- collector productivity --------------------------------------------------------------------


@dataclass
class DayFigures:
    attempted: int = 0
    made: int = 0
    right_party: int = 0
    promises: int = 0
    promised: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    kept: int = 0
    broken: int = 0
    collected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # What the promises kept and broken (decided that day) promised, per currency.
    kept_amount: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    broken_amount: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def kept_rate(self) -> Decimal | None:
        """Kept ÷ decided, by count (every currency)."""
        return ratio(self.kept, self.kept + self.broken, 100)

    def kept_rate_by_amount(self, currency: str) -> Decimal | None:
        """Kept ÷ decided, by the amounts promised in `currency`."""
        kept = self.kept_amount.get(currency, 0)
        return ratio(kept, kept + self.broken_amount.get(currency, 0), 100)

    @property
    def right_party_rate(self) -> Decimal | None:
        return ratio(self.right_party, self.attempted, 100)

    def add(self, other: DayFigures) -> None:
        self.attempted += other.attempted
        self.made += other.made
        self.right_party += other.right_party
        self.promises += other.promises
        self.kept += other.kept
        self.broken += other.broken
        for currency, amount in other.promised.items():
            self.promised[currency] += amount
        for currency, amount in other.collected.items():
            self.collected[currency] += amount
        for currency, amount in other.kept_amount.items():
            self.kept_amount[currency] += amount
        for currency, amount in other.broken_amount.items():
            self.broken_amount[currency] += amount


@dataclass
class CollectorRow:
    collector_id: int | None
    name: str
    total: DayFigures
    days: dict[datetime.date, DayFigures]


@dataclass
class Productivity:
    first: datetime.date
    last: datetime.date
    rows: list[CollectorRow]
    team: DayFigures
    currencies: list[str]

    @property
    def days(self) -> list[datetime.date]:
        count = (self.last - self.first).days + 1
        return [self.first + datetime.timedelta(days=n) for n in range(count)]


def _not_reached_codes(creditor_ids: Sequence[int]) -> list[str]:
    from cartera.workdesk.models import NOT_REACHED_CATEGORIES, OutcomeCode

    return list(
        OutcomeCode.objects.filter(category__in=NOT_REACHED_CATEGORIES)
        .filter(Q(creditor__isnull=True) | Q(creditor_id__in=creditor_ids))
        .values_list("code", flat=True)
        .distinct()
    )


def collector_productivity(
    *,
    creditors: Sequence[Creditor],
    first: datetime.date,
    last: datetime.date,
    collector_id: int | None = None,
) -> Productivity:
    """Per collector and day from `first` to `last`, in five grouped queries."""
    ids = [c.pk for c in creditors]
    start, end, tz = _bounds(creditors, first, last)
    cells: dict[tuple[int | None, datetime.date], DayFigures] = defaultdict(DayFigures)
    unreached = _not_reached_codes(ids)
    activities = Activity.objects.filter(
        creditor_id__in=ids, is_contact=True, user__isnull=False, at__gte=start, at__lt=end
    )
    if collector_id is not None:
        activities = activities.filter(user_id=collector_id)
    for row in (
        activities.annotate(day=TruncDate("at", tzinfo=tz))
        .values("user_id", "day")
        .annotate(
            attempted=Count("id"),
            made=Count("id", filter=_made(unreached)),
            right_party=Count("id", filter=Q(reached=True)),
        )
    ):
        cell = cells[(row["user_id"], row["day"])]
        cell.attempted, cell.made, cell.right_party = (
            row["attempted"],
            row["made"],
            row["right_party"],
        )
    taken = Promise.objects.filter(
        creditor_id__in=ids, created_on__gte=first, created_on__lte=last, taken_by__isnull=False
    )
    decided = Promise.objects.filter(
        creditor_id__in=ids,
        decided_on__gte=first,
        decided_on__lte=last,
        status__in=(PromiseStatus.KEPT, PromiseStatus.BROKEN),
        taken_by__isnull=False,
    )
    if collector_id is not None:
        taken = taken.filter(taken_by_id=collector_id)
        decided = decided.filter(taken_by_id=collector_id)
    for row in taken.values("taken_by_id", "created_on", "currency").annotate(
        n=Count("id"), amount=Sum("amount_minor")
    ):
        cell = cells[(row["taken_by_id"], row["created_on"])]
        cell.promises += row["n"]
        cell.promised[row["currency"]] += int(row["amount"] or 0)
    for row in decided.values("taken_by_id", "decided_on", "currency").annotate(
        kept=Count("id", filter=Q(status=PromiseStatus.KEPT)),
        broken=Count("id", filter=Q(status=PromiseStatus.BROKEN)),
        kept_amount=Sum("amount_minor", filter=Q(status=PromiseStatus.KEPT)),
        broken_amount=Sum("amount_minor", filter=Q(status=PromiseStatus.BROKEN)),
    ):
        cell = cells[(row["taken_by_id"], row["decided_on"])]
        cell.kept += row["kept"]
        cell.broken += row["broken"]
        cell.kept_amount[row["currency"]] += int(row["kept_amount"] or 0)
        cell.broken_amount[row["currency"]] += int(row["broken_amount"] or 0)
    # Money received, credited to whoever held the account on the payment's date.
    currencies: set[str] = set()
    for holder_id, day, currency, amount in collected_by_holder(
        creditor_ids=ids, first=first, last=last, collector_id=collector_id
    ):
        cells[(holder_id, day)].collected[currency] += amount
        currencies.add(currency)
    for cell in cells.values():
        currencies.update(cell.promised)
    users = {
        u.pk: (u.get_full_name() or u.get_username())
        for u in get_user_model().objects.filter(pk__in={k[0] for k in cells if k[0]})
    }
    rows: dict[int | None, CollectorRow] = {}
    team = DayFigures()
    for (user_id, day), cell in cells.items():
        collector_row = rows.setdefault(
            user_id,
            CollectorRow(
                collector_id=user_id,
                name=users.get(user_id, "") if user_id else "",
                total=DayFigures(),
                days={},
            ),
        )
        collector_row.days[day] = cell
        collector_row.total.add(cell)
        team.add(cell)
    ordered = sorted(rows.values(), key=lambda r: (r.collector_id is None, r.name.lower()))
    return Productivity(
        first=first, last=last, rows=ordered, team=team, currencies=sorted(currencies)
    )


# --- drill-down: the contacts, promises and payments behind a figure ---------------------------

# `collector` of the drill-downs: a user id, None for nobody (unassigned accounts), or EVERYONE
# for the whole team (the tiles above the table).
EVERYONE = "all"
CONTACT_FIGURES = ("attempted", "made", "right_party")
PROMISE_FIGURES = ("promises", "decided", "due")


def _made(unreached: Sequence[str]) -> Q:
    """Somebody answered: not an outcome in which nobody was spoken to (without an outcome,
    the collector said the debtor was reached)."""
    return (~Q(outcome__in=unreached) & ~Q(outcome="")) | Q(outcome="", reached=True)


def contacts_behind(
    *,
    creditors: Sequence[Creditor],
    first: datetime.date,
    last: datetime.date,
    figure: str,
    collector: int | str | None,
    kind: str = "",
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[Activity], int]:
    """The contacts counted in a figure (attempted, made, right party) of a collector (or of
    everyone, as the right-party tile counts them), newest first: one query for the page and
    its count (and one for the outcome codes of "made")."""
    if figure not in CONTACT_FIGURES:
        raise ValueError(f"unknown contact figure {figure!r}")
    ids = [c.pk for c in creditors]
    start, end, _tz = _bounds(creditors, first, last)
    contacts = Activity.objects.filter(
        creditor_id__in=ids, is_contact=True, at__gte=start, at__lt=end
    )
    if collector is None:
        return [], 0  # the figures count the contacts a person logged: nobody has none
    if isinstance(collector, int):
        contacts = contacts.filter(user_id=collector)
    if kind:
        contacts = contacts.filter(kind=kind)
    if figure == "made":
        contacts = contacts.filter(_made(_not_reached_codes(ids)))
    elif figure == "right_party":
        contacts = contacts.filter(reached=True)
    page = max(1, page)
    rows: list[Any] = list(
        contacts.select_related("debtor", "user")
        .annotate(total=Window(Count("id")))
        .order_by("-at", "-id")[(page - 1) * page_size : page * page_size]
    )
    return rows, (int(rows[0].total) if rows else 0)


def promises_behind(
    *,
    creditor_ids: Sequence[int],
    first: datetime.date,
    last: datetime.date,
    figure: str,
    collector: int | str | None,
    currency: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[Promise], int]:
    """The promises behind a figure: taken in the period (`promises`), decided in it as kept
    or broken (`decided`, the kept rate of the collectors), or due in it (`due`, the
    promise-kept rate of the team, every status). One query for the page and its count."""
    if figure not in PROMISE_FIGURES:
        raise ValueError(f"unknown promise figure {figure!r}")
    if collector is None:
        return [], 0  # promises are counted for who took them: nobody took none
    promises = Promise.objects.filter(creditor_id__in=creditor_ids)
    order: tuple[str, ...]
    if figure == "promises":
        promises = promises.filter(created_on__gte=first, created_on__lte=last)
        order = ("-created_on", "-id")
    elif figure == "decided":
        promises = promises.filter(
            decided_on__gte=first,
            decided_on__lte=last,
            status__in=(PromiseStatus.KEPT, PromiseStatus.BROKEN),
        )
        order = ("-decided_on", "-id")
    else:
        promises = promises.filter(promised_date__gte=first, promised_date__lte=last)
        order = ("promised_date", "id")
    if isinstance(collector, int):
        promises = promises.filter(taken_by_id=collector)
    elif figure != "due":
        promises = promises.filter(taken_by__isnull=False)
    if currency:
        promises = promises.filter(currency=currency)
    page = max(1, page)
    rows: list[Any] = list(
        promises.select_related("debtor", "taken_by")
        .annotate(total=Window(Count("id")))
        .order_by(*order)[(page - 1) * page_size : page * page_size]
    )
    return rows, (int(rows[0].total) if rows else 0)


@dataclass
class PaymentRow:
    id: int
    debtor_id: int
    debtor: str
    date: datetime.date
    amount: int
    currency: str
    external_id: str
    reference: str
    holder_id: int | None
    holder: str


def payments_behind(
    *,
    creditor_ids: Sequence[int],
    first: datetime.date,
    last: datetime.date,
    currency: str,
    collector: int | str | None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[PaymentRow], int, int]:
    """(rows, count, amount): the payments in `currency` from `first` to `last` credited to a
    collector (None: nobody; EVERYONE: all), by the rule of `collected_by_holder`, newest
    first. One query for the page, the count and the total amount."""
    if not creditor_ids:
        return [], 0, 0
    holder_filter, h_params = "", []
    if collector is None:
        holder_filter = "WHERE x.holder IS NULL"
    elif collector != EVERYONE:
        holder_filter, h_params = "WHERE x.holder = %s", [collector]
    users = get_user_model()._meta.db_table
    page = max(1, page)
    sql = f"""
        WITH x AS (
            SELECT p.id, p.debtor_id, p.date, p.amount_minor, p.external_id, p.reference,
                   {HOLDER} AS holder
            FROM portfolio_payment p {HOLDER_JOINS}
            WHERE p.creditor_id IN ({marks(creditor_ids)}) AND p.date BETWEEN %s AND %s
              AND p.currency = %s
        ),
        page AS (
            SELECT x.*, COUNT(*) OVER () AS total,
                   CAST(SUM(x.amount_minor) OVER () AS BIGINT) AS amount_total
            FROM x {holder_filter}
            ORDER BY x.date DESC, x.id DESC LIMIT %s OFFSET %s
        )
        SELECT page.id, page.debtor_id, db.name, page.date, page.amount_minor,
               page.external_id, page.reference, page.holder,
               u.username, u.first_name, u.last_name, page.total, page.amount_total
        FROM page JOIN portfolio_debtor db ON db.id = page.debtor_id
        LEFT JOIN {users} u ON u.id = page.holder
        ORDER BY page.date DESC, page.id DESC
    """
    params = [*creditor_ids, first, last, currency, *h_params, page_size, (page - 1) * page_size]
    rows = fetch(sql, params)
    result = [
        PaymentRow(
            id=r[0],
            debtor_id=r[1],
            debtor=r[2],
            date=as_date(r[3]),
            amount=int(r[4]),
            currency=currency,
            external_id=r[5],
            reference=r[6],
            holder_id=r[7],
            holder=(f"{r[9]} {r[10]}".strip() or r[8]) if r[7] is not None else "",
        )
        for r in rows
    ]
    return result, (int(rows[0][11]) if rows else 0), (int(rows[0][12] or 0) if rows else 0)
