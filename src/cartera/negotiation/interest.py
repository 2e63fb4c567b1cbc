"""Late interest ("intereses de mora") and collection fees ("gastos de cobranza").

Both are off unless the creditor's terms (`NegotiationTerms`) turn them on, and both are
written by the daily run as ledger entries on the overdue documents, in bulk: one read of the
candidates, one insert of the entries, one update of the cached balances.

Late interest runs on the document's principal (its balance less the interest and fees it
carries: never interest on interest), from the due date plus the grace days, at the creditor's
effective annual rate but never above the legal maximum the administrator entered for the
country and month (`UsuryRate`): each day is charged at the lower of the two, with the daily
rate `(1 + R) ** (1 / 365) - 1`. Each run charges the days since the last charge in one entry
dated the as-of date, so running a day twice charges nothing twice; amounts are rounded
half-up to the minor unit and a day too small to round to one unit is charged with the next.
No legal maximum on file for a month means no interest for the days of that month until it is
entered (then the next run catches up).

A collection fee is charged once per document, only where the creditor disclosed it, only
once the document is the creditor's and the country's days late, and only after documented
collection work (an outbound contact logged on the account since the document fell due): the
creditor's percentage of the principal, capped by the country's tiers (`FeeCap`).

Not charged: documents written off, in an open dispute, credit notes, and the installments of
an active agreement (the agreement sets what is paid); creditors whose balances come from the
ERP (the ERP charges them).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from cartera.core.audit import Actor, audit_record
from cartera.core.bulk import rows_insert
from cartera.negotiation.agreements import AgreementsDecision, agreements_decide
from cartera.negotiation.models import FeeCap, NegotiationTerms, UsuryRate, terms_of
from cartera.portfolio.models import Activity, BalanceMode, Creditor, EntryKind, LedgerEntry

_ENTRY_COLUMNS = (
    "creditor_id",
    "document_id",
    "kind",
    "amount_minor",
    "currency",
    "effective_date",
    "memo",
    "recorded_by",
    "recorded_at",
)

# Open documents that may carry late interest or fees, with what they already carry.
_CANDIDATES = """
    SELECT d.id, d.debtor_id, d.currency, d.due_date, d.balance_minor,
           COALESCE(SUM(e.amount_minor), 0) AS charged,
           MAX(CASE WHEN e.kind = 'interest' THEN e.effective_date END) AS last_interest,
           SUM(CASE WHEN e.kind = 'fee' THEN 1 ELSE 0 END) AS fees
    FROM portfolio_document d
    LEFT JOIN portfolio_ledgerentry e
           ON e.document_id = d.id AND e.kind IN ('interest', 'fee')
    WHERE d.creditor_id = %s AND d.balance_minor > 0 AND d.due_date < %s
      AND d.written_off_on IS NULL AND d.kind <> 'credit_note'
      AND NOT EXISTS (SELECT 1 FROM negotiation_dispute_documents dd
                      WHERE dd.document_id = d.id AND dd.is_open)
      AND NOT EXISTS (SELECT 1 FROM negotiation_agreementinstallment ai
                      JOIN negotiation_agreement ag ON ag.id = ai.agreement_id
                      WHERE ai.document_id = d.id AND ag.status = 'active')
    GROUP BY d.id, d.debtor_id, d.currency, d.due_date, d.balance_minor
"""


def _as_date(value: Any) -> datetime.date | None:
    """A date from the database (SQLite hands back text)."""
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def _day(value: Any) -> datetime.date:
    found = _as_date(value)
    assert found is not None
    return found


def _daily_factor(annual_percent: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40
        return (1 + annual_percent / 100) ** (Decimal(1) / 365) - 1


def _months(start: datetime.date, end: datetime.date) -> list[tuple[datetime.date, int]]:
    """(first of month, days) of the days after `start` up to `end` included."""
    spans = []
    day = start + datetime.timedelta(days=1)
    while day <= end:
        month = day.replace(day=1)
        following = (month + datetime.timedelta(days=32)).replace(day=1)
        last = min(end, following - datetime.timedelta(days=1))
        spans.append((month, (last - day).days + 1))
        day = last + datetime.timedelta(days=1)
    return spans


def _add_to_balances(amounts: list[tuple[int, int]], moment: datetime.datetime) -> None:
    """Raise cached balances by (document id, amount), relative to what they are now, so a
    payment applied meanwhile is never overwritten."""
    if not amounts:
        return
    stamp = (
        moment
        if connection.vendor == "postgresql"
        else connection.ops.adapt_datetimefield_value(moment)
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE portfolio_document SET balance_minor = balance_minor + %s, "
            "updated_at = %s WHERE id = %s",
            [(amount, stamp, pk) for pk, amount in amounts],
        )


def _candidates(creditor: Creditor, due_before: datetime.date) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES, [creditor.pk, due_before])
        return cursor.fetchall()


def _rate_text(rate: Decimal) -> str:
    return f"{rate.normalize():f}"


# No savepoint of its own: the daily run calls it inside its transaction.
@transaction.atomic(savepoint=False)
def interest_accrue(
    *,
    creditor: Creditor,
    as_of: datetime.date,
    actor: Actor | None = None,
    terms: NegotiationTerms | None = None,
) -> dict[str, Any]:
    """Charge late interest on the creditor's overdue documents up to `as_of` (see the module
    docstring). Returns counts: documents charged, amount in minor units, and the months that
    have no legal maximum on file (nothing is charged for their days). `terms`: the
    creditor's, when the caller already read them."""
    terms = terms or terms_of(creditor)
    result: dict[str, Any] = {"documents": 0, "amount_minor": 0, "months_without_maximum": []}
    if not terms.interest_enabled or creditor.balance_mode == BalanceMode.ERP:
        return result
    actor = actor or Actor.system("interest")
    grace = datetime.timedelta(days=terms.interest_grace_days)
    legal = dict(
        UsuryRate.objects.filter(country=creditor.country).values_list("month", "annual_rate")
    )
    factors: dict[datetime.date, Decimal | None] = {}
    missing: set[datetime.date] = set()
    moment = timezone.now()
    entries: list[tuple[Any, ...]] = []
    raised: list[tuple[int, int]] = []
    for pk, _debtor, currency, due, balance, charged, last, _fees in _candidates(
        creditor, as_of - grace
    ):
        due = _day(due)
        start = max(due + grace, _as_date(last) or due)
        if start >= as_of:
            continue
        principal = int(balance) - max(int(charged), 0)
        if principal <= 0:
            continue
        spans = _months(start, as_of)
        for month, _days in spans:
            if month not in factors:
                maximum = legal.get(month)
                factors[month] = (
                    None if maximum is None else _daily_factor(min(terms.interest_rate, maximum))
                )
        if any(factors[month] is None for month, _days in spans):
            missing.update(month for month, _days in spans if factors[month] is None)
            continue
        with localcontext() as ctx:
            ctx.prec = 40
            exact = Decimal(principal) * sum(
                (factors[month] or Decimal(0)) * days for month, days in spans
            )
        amount = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if amount <= 0:
            continue
        rates = sorted({min(terms.interest_rate, legal[m]) for m, _d in spans})
        memo = (
            f"late interest {start + datetime.timedelta(days=1)}..{as_of} on "
            f"{principal} at {'/'.join(_rate_text(r) for r in rates)} % E.A."
        )
        entries.append(
            (
                creditor.pk,
                pk,
                EntryKind.INTEREST,
                amount,
                currency,
                as_of,
                memo[:200],
                actor.label[:150],
                moment,
            )
        )
        raised.append((pk, amount))
    rows_insert(LedgerEntry, _ENTRY_COLUMNS, entries)
    _add_to_balances(raised, moment)
    result["documents"] = len(entries)
    result["amount_minor"] = sum(amount for _pk, amount in raised)
    result["months_without_maximum"] = sorted(m.strftime("%Y-%m") for m in missing)
    if entries or missing:
        audit_record(
            actor=actor,
            action="interest.accrue",
            creditor_id=creditor.pk,
            changes={"as_of": as_of, "rate": terms.interest_rate, **result},
        )
    return result


def fee_cap_minor(cap: FeeCap, principal_minor: int) -> int:
    """The most `cap` lets a creditor charge on `principal_minor`, tier by tier."""
    total = Decimal(0)
    floor = 0
    for tier in cap.tiers.all():
        top = (
            principal_minor if tier.up_to_minor is None else min(principal_minor, tier.up_to_minor)
        )
        if top > floor:
            total += Decimal(top - floor) * tier.percent / 100
            floor = top
        if tier.up_to_minor is None or principal_minor <= tier.up_to_minor:
            break
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _worked_debtors(creditor: Creditor, as_of: datetime.date) -> dict[int, datetime.date]:
    """{debtor: the day of their latest outbound contact up to `as_of`} (one query)."""
    end = timezone.make_aware(
        datetime.datetime.combine(as_of + datetime.timedelta(days=1), datetime.time())
    )
    return {
        debtor_id: timezone.localtime(last).date()
        for debtor_id, last in Activity.objects.filter(
            creditor=creditor, is_contact=True, at__lt=end
        )
        .values("debtor_id")
        .annotate(last=Max("at"))
        .values_list("debtor_id", "last")
        .order_by()
    }


@transaction.atomic(savepoint=False)
def fees_charge(
    *,
    creditor: Creditor,
    as_of: datetime.date,
    actor: Actor | None = None,
    terms: NegotiationTerms | None = None,
) -> dict[str, Any]:
    """Charge a collection fee on each overdue document that qualifies (see the module
    docstring), once. Returns counts: documents charged and amount in minor units."""
    terms = terms or terms_of(creditor)
    result: dict[str, Any] = {"documents": 0, "amount_minor": 0}
    if (
        not terms.fees_enabled
        or not terms.fees_disclosed
        or creditor.balance_mode == BalanceMode.ERP
    ):
        return result
    actor = actor or Actor.system("fees")
    cap = FeeCap.objects.filter(country=creditor.country).prefetch_related("tiers").first()
    days = max(terms.fee_after_days, cap.min_days_past_due if cap else 0)
    worked = _worked_debtors(creditor, as_of)
    moment = timezone.now()
    entries: list[tuple[Any, ...]] = []
    raised: list[tuple[int, int]] = []
    skipped_currency = 0
    for pk, debtor_id, currency, due, balance, charged, _last, fees in _candidates(
        # `days` days late or more: due on or before as_of - days.
        creditor,
        as_of - datetime.timedelta(days=days - 1),
    ):
        due = _day(due)
        contacted = worked.get(debtor_id)
        if fees or contacted is None or contacted < due:
            continue
        principal = int(balance) - max(int(charged), 0)
        if principal <= 0:
            continue
        amount = int(
            (Decimal(principal) * terms.fee_percent / 100).quantize(
                Decimal(1), rounding=ROUND_HALF_UP
            )
        )
        if cap is not None:
            if cap.currency != currency:
                skipped_currency += 1
                continue
            amount = min(amount, fee_cap_minor(cap, principal))
        if amount <= 0:
            continue
        memo = f"collection fee {_rate_text(terms.fee_percent)} % on {principal}"
        if cap is not None:
            memo += f" (cap {cap.country}{': ' + cap.source if cap.source else ''})"
        entries.append(
            (
                creditor.pk,
                pk,
                EntryKind.FEE,
                amount,
                currency,
                as_of,
                memo[:200],
                actor.label[:150],
                moment,
            )
        )
        raised.append((pk, amount))
    rows_insert(LedgerEntry, _ENTRY_COLUMNS, entries)
    _add_to_balances(raised, moment)
    result["documents"] = len(entries)
    result["amount_minor"] = sum(amount for _pk, amount in raised)
    if skipped_currency:
        result["skipped_other_currency"] = skipped_currency
    if entries:
        audit_record(
            actor=actor,
            action="fees.charge",
            creditor_id=creditor.pk,
            changes={"as_of": as_of, "percent": terms.fee_percent, **result},
        )
    return result


@dataclass
class NegotiationDay:
    """What `negotiation_daily` did; `as_json()` for the run's report."""

    agreements: AgreementsDecision
    interest: dict[str, Any]
    fees: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "agreements": self.agreements.as_json(),
            "interest": self.interest,
            "fees": self.fees,
        }


@transaction.atomic(savepoint=False)
def negotiation_daily(
    *, creditor: Creditor, as_of: datetime.date, actor: Actor | None = None
) -> NegotiationDay:
    """The daily run's part of negotiation, after the promises are decided: agreements kept
    or broken (and installment reminders), then late interest and collection fees. The
    creditor's terms are read once; a creditor without agreements, interest or fees costs two
    queries."""
    terms = terms_of(creditor)
    return NegotiationDay(
        agreements=agreements_decide(creditor=creditor, as_of=as_of, actor=actor, terms=terms),
        interest=interest_accrue(creditor=creditor, as_of=as_of, actor=actor, terms=terms),
        fees=fees_charge(creditor=creditor, as_of=as_of, actor=actor, terms=terms),
    )
