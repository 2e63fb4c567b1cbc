"""Payments one at a time: record, apply, reverse (and a bulk path for statement imports).

The file importer (`importing/payments.py`) records payments by the thousand; cash application
and the workdesk need the same ledger rules for one payment at a time: apply it to chosen
documents or oldest due first, keep the remainder as the debtor's credit, and undo a
misapplication with reversal entries (never by deleting) so the payment can be applied again.

The rules kept here, which `cartera check` proves:
- each allocation has one ledger entry of kind `payment` for minus its amount;
- a document's cached balance and status follow its ledger;
- `Payment.unapplied_minor` is the amount minus its allocations that are not reversed (an
  allocation is reversed when a ledger entry `reverses` its entry);
- a payment dated on or before a balance snapshot first explains the prior payments the
  snapshot counted (`unmatched_prior_minor`), exactly as the file importer does.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cartera.core.audit import Actor, audit_record
from cartera.core.bulk import ids_reserve, rows_insert
from cartera.core.money import CurrencyError, format_minor, validate_currency
from cartera.portfolio.models import (
    Allocation,
    BalanceMode,
    Creditor,
    Debtor,
    Document,
    DocumentStatus,
    EntryKind,
    ImportBatch,
    LedgerEntry,
    Payment,
)
from cartera.portfolio.services import PortfolioError

__all__ = [
    "PaymentOrder",
    "payment_apply",
    "payment_debtor_change",
    "payment_record",
    "payment_reverse",
    "payments_record_bulk",
]

_ENTRY_ROW = (
    "id",
    "creditor_id",
    "document_id",
    "kind",
    "amount_minor",
    "currency",
    "effective_date",
    "payment_id",
    "reverses_id",
    "batch_id",
    "memo",
    "recorded_by",
    "recorded_at",
)
_ALLOCATION_ROW = ("payment_id", "document_id", "amount_minor", "entry_id", "created_at")
# The columns of a new payment, as both bulk paths (this and the file importer) write them.
PAYMENT_ROW = (
    "id",
    "creditor_id",
    "debtor_id",
    "external_id",
    "date",
    "currency",
    "amount_minor",
    "unapplied_minor",
    "reference",
    "method",
    "batch_id",
    "created_at",
    "applied_late_on",
)


def applied_late_on(
    date: datetime.date,
    effective: Iterable[datetime.date],
    known: datetime.date | None = None,
) -> datetime.date | None:
    """`Payment.applied_late_on` of a payment of `date` (holding `known`) once allocations
    taking effect on `effective` are added: the latest day later than `date`, or None."""
    latest = max(effective, default=date)
    if known is not None and known > latest:
        latest = known
    return latest if latest > date else None


def _refuse_erp(creditor: Creditor) -> None:
    if creditor.balance_mode == BalanceMode.ERP:
        raise PortfolioError(
            _(
                "creditor %(creditor)s keeps its balances in the ERP (balance mode 'erp'): "
                "payments are not recorded in Cartera"
            )
            % {"creditor": creditor.code}
        )


@dataclass
class _Share:
    document: Any  # a Document, or a _DocState in the bulk path
    amount: int
    effective: datetime.date
    # (id, date) of the prior-payment entry this share explains; None: lowers the balance
    prior: tuple[int, datetime.date] | None


# Ids per `IN (…)`: drivers cap the parameters of one statement (PostgreSQL at 65,535).
_CHUNK = 10_000


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def _priors(document_ids: Iterable[int]) -> dict[int, tuple[int, datetime.date]]:
    found: dict[int, tuple[int, datetime.date]] = {}
    for chunk in _chunks(document_ids):
        for document_id, pk, day in LedgerEntry.objects.filter(
            document_id__in=chunk, kind=EntryKind.PRIOR_PAYMENT
        ).values_list("document_id", "pk", "effective_date"):
            found[document_id] = (pk, day)
    return found


def _plan(
    amount: int,
    date: datetime.date,
    targets: Sequence[tuple[Document, int | None]],
    priors: dict[int, tuple[int, datetime.date]],
) -> tuple[list[_Share], int]:
    """Shares of `amount` over `targets` (document, cap or None for "what it owes"), in order.

    Prior payments a snapshot counted are explained first, then balances lowered. Documents
    are changed in memory (balance, unmatched prior, status); returns the shares and what
    is left unapplied.
    """
    unapplied = amount
    left = {doc.pk: cap for doc, cap in targets}
    shares: list[_Share] = []

    def room(doc: Document, owed: int) -> int:
        cap = left[doc.pk]
        return min(unapplied, owed, owed if cap is None else cap)

    for doc, _cap in targets:
        prior = priors.get(doc.pk)
        if unapplied == 0 or prior is None or date > prior[1]:
            continue
        share = room(doc, doc.unmatched_prior_minor)
        if share <= 0:
            continue
        shares.append(_Share(doc, share, max(date, doc.issue_date or date), prior))
        unapplied -= share
        doc.unmatched_prior_minor -= share
        doc.prior_net_minor += share  # the prior_identified entry `_write_shares` books
        if left[doc.pk] is not None:
            left[doc.pk] = (left[doc.pk] or 0) - share
    for doc, _cap in targets:
        if unapplied == 0:
            break
        share = room(doc, doc.balance_minor)
        if share <= 0:
            continue
        shares.append(_Share(doc, share, max(date, doc.issue_date or date), None))
        unapplied -= share
        doc.balance_minor -= share
        doc.status = DocumentStatus.OPEN if doc.balance_minor else DocumentStatus.CLOSED
        if left[doc.pk] is not None:
            left[doc.pk] = (left[doc.pk] or 0) - share
    return shares, unapplied


def _write_shares(
    *,
    creditor_id: int,
    shares: Sequence[tuple[int, _Share]],
    external_of: dict[int, str],
    label: str,
    batch_id: int | None,
    now: datetime.datetime,
) -> list[int]:
    """Ledger entries and allocations for (payment id, share) pairs; returns entry ids of the
    allocations, in order."""
    explained = sum(1 for _, share in shares if share.prior is not None)
    entry_ids = iter(ids_reserve(LedgerEntry, len(shares) + explained))
    entries: list[tuple[object, ...]] = []
    allocations: list[tuple[object, ...]] = []
    allocation_entries: list[int] = []
    for payment_id, share in shares:
        doc = share.document
        entry_id = next(entry_ids)
        entries.append(
            (
                entry_id,
                creditor_id,
                doc.pk,
                EntryKind.PAYMENT,
                -share.amount,
                doc.currency,
                share.effective,
                payment_id,
                None,
                batch_id,
                "",
                label,
                now,
            )
        )
        allocations.append((payment_id, doc.pk, share.amount, entry_id, now))
        allocation_entries.append(entry_id)
        if share.prior is not None:
            # The prior payment is now explained by this one: take it back on its own date,
            # so the balance after the snapshot stays what the snapshot said.
            entries.append(
                (
                    next(entry_ids),
                    creditor_id,
                    doc.pk,
                    EntryKind.PRIOR_IDENTIFIED,
                    share.amount,
                    doc.currency,
                    share.prior[1],
                    payment_id,
                    share.prior[0],
                    batch_id,
                    f"identified by payment {external_of.get(payment_id, '')}"[:200],
                    label,
                    now,
                )
            )
    rows_insert(LedgerEntry, _ENTRY_ROW, entries)
    rows_insert(Allocation, _ALLOCATION_ROW, allocations)
    return allocation_entries


def _save_documents(
    documents: Iterable[Any],
    now: datetime.datetime,
    *,
    expected: dict[int, tuple[int, int]] | None = None,
) -> int:
    """Write the documents' new balances, unmatched prior payments and statuses; returns how
    many rows changed. With `expected` ({id: (balance, unmatched prior)} as read), a row is
    written only if it still holds those values (the others changed meanwhile)."""
    rows = [
        (d.pk, d.balance_minor, d.unmatched_prior_minor, d.prior_net_minor, d.status)
        for d in documents
    ]
    if not rows:
        return 0
    was = [expected[row[0]] if expected else (0, 0) for row in rows]
    condition = (
        " AND d.balance_minor = v.was_balance AND d.unmatched_prior_minor = v.was_prior"
        if expected is not None
        else ""
    )
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            sql = (
                "UPDATE portfolio_document SET balance_minor = %s, unmatched_prior_minor = %s, "
                "prior_net_minor = %s, status = %s, updated_at = %s WHERE id = %s"
            )
            if expected is not None:
                sql += " AND balance_minor = %s AND unmatched_prior_minor = %s"
            stamp = connection.ops.adapt_datetimefield_value(now)
            cursor.executemany(
                sql,
                [
                    (
                        balance,
                        prior,
                        prior_net,
                        status,
                        stamp,
                        pk,
                        *(previous if expected is not None else ()),
                    )
                    for (pk, balance, prior, prior_net, status), previous in zip(
                        rows, was, strict=True
                    )
                ],
            )
            return int(cursor.rowcount)
        # One statement for any number of documents (a statement import may pay 100,000): the
        # values travel as arrays and are joined back by id.
        table = [(*row, *previous) for row, previous in zip(rows, was, strict=True)]
        columns = list(zip(*table, strict=True))
        literals = ["{" + ",".join(map(str, column)) + "}" for column in columns]
        cursor.execute(
            "UPDATE portfolio_document AS d SET balance_minor = v.balance, "
            "unmatched_prior_minor = v.prior, prior_net_minor = v.prior_net, status = v.status, "
            "updated_at = %s FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], "
            "%s::text[], %s::bigint[], %s::bigint[]) "
            "AS v(id, balance, prior, prior_net, status, was_balance, was_prior) "
            "WHERE d.id = v.id" + condition,
            [now, *literals],
        )
        return int(cursor.rowcount)


# ---------------------------------------------------------------------------------------------
# One payment


@transaction.atomic
def payment_record(
    *,
    creditor: Creditor,
    debtor: Debtor,
    amount_minor: int,
    currency: str,
    date: datetime.date,
    external_id: str,
    actor: Actor,
    reference: str = "",
    method: str = "",
) -> Payment:
    """Record money received from `debtor`, all of it unapplied until `payment_apply`."""
    _refuse_erp(creditor)
    if debtor.creditor_id != creditor.pk:
        raise PortfolioError(
            _("debtor %(debtor)s belongs to another creditor") % {"debtor": debtor.external_id}
        )
    if amount_minor <= 0:
        raise PortfolioError(_("a payment must be positive (money back is a reversal)"))
    try:
        currency = validate_currency(currency)
    except CurrencyError as exc:
        raise PortfolioError(str(exc)) from None
    external_id = external_id.strip()
    if not external_id or len(external_id) > 80:
        raise PortfolioError(_("a payment needs an external id of 1 to 80 characters"))
    if Payment.objects.filter(creditor=creditor, external_id=external_id).exists():
        raise PortfolioError(
            _("payment %(payment)s is already recorded") % {"payment": external_id}
        )
    payment = Payment.objects.create(
        creditor=creditor,
        debtor=debtor,
        external_id=external_id,
        date=date,
        currency=currency,
        amount_minor=amount_minor,
        unapplied_minor=amount_minor,
        reference=reference[:120],
        method=method[:40],
    )
    audit_record(
        actor=actor,
        action="payment.record",
        obj=payment,
        creditor_id=creditor.pk,
        changes={
            "debtor": debtor.external_id,
            "amount_minor": amount_minor,
            "currency": currency,
            "date": date,
            "reference": payment.reference,
        },
    )
    return payment


def _payment_locked(payment: Payment) -> Payment:
    # Lock the payment only, not its creditor's and debtor's rows.
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("creditor", "debtor")
        .get(pk=payment.pk)
    )


@transaction.atomic
def payment_apply(
    *,
    payment: Payment,
    allocations: Sequence[tuple[Document, int]] | None = None,
    actor: Actor,
) -> list[Allocation]:
    """Apply what is unapplied of `payment` to its debtor's documents.

    `allocations`: (document, amount) pairs, in that order; None applies oldest due first to
    the debtor's open documents in the payment's currency (not to documents issued after the
    payment). What is not applied stays unapplied: the debtor's credit balance.
    """
    payment = _payment_locked(payment)
    creditor = payment.creditor
    _refuse_erp(creditor)
    if payment.unapplied_minor <= 0:
        raise PortfolioError(
            _("payment %(payment)s has nothing left to apply") % {"payment": payment.external_id}
        )
    if allocations is None:
        documents = list(
            Document.objects.select_for_update()
            .filter(Q(balance_minor__gt=0) | Q(unmatched_prior_minor__gt=0))
            .filter(
                creditor=creditor,
                debtor_id=payment.debtor_id,
                currency=payment.currency,
            )
            .filter(Q(issue_date__isnull=True) | Q(issue_date__lte=payment.date))
            .order_by("due_date", "id")
        )
        targets: list[tuple[Document, int | None]] = [(doc, None) for doc in documents]
    else:
        targets = _explicit_targets(payment, allocations)
    priors = _priors(doc.pk for doc, _ in targets if doc.unmatched_prior_minor)
    shares, unapplied = _plan(payment.unapplied_minor, payment.date, targets, priors)
    if allocations is not None:
        applied: dict[int, int] = defaultdict(int)
        for share in shares:
            applied[share.document.pk] += share.amount
        for doc, amount in targets:
            if amount is not None and applied[doc.pk] < amount:
                raise PortfolioError(
                    _("document %(document)s can take only %(taken)s of %(amount)s")
                    % {
                        "document": doc.number,
                        "taken": format_minor(applied[doc.pk], doc.currency, creditor.locale),
                        "amount": format_minor(amount, doc.currency, creditor.locale),
                    }
                )
    if not shares:
        return []
    now = timezone.now()
    entry_ids = _write_shares(
        creditor_id=creditor.pk,
        shares=[(payment.pk, share) for share in shares],
        external_of={payment.pk: payment.external_id},
        label=actor.label,
        batch_id=None,
        now=now,
    )
    _save_documents({share.document.pk: share.document for share in shares}.values(), now)
    # The payment's row is locked (`_payment_locked`): what it holds is current.
    late = applied_late_on(
        payment.date, (share.effective for share in shares), payment.applied_late_on
    )
    Payment.objects.filter(pk=payment.pk).update(unapplied_minor=unapplied, applied_late_on=late)
    payment.unapplied_minor, payment.applied_late_on = unapplied, late
    created = list(
        Allocation.objects.filter(entry_id__in=entry_ids).select_related("document", "entry")
    )
    created.sort(key=lambda allocation: entry_ids.index(allocation.entry_id))
    audit_record(
        actor=actor,
        action="payment.apply",
        obj=payment,
        creditor_id=creditor.pk,
        changes={
            "allocations": [
                {"document": a.document.number, "amount_minor": a.amount_minor} for a in created
            ],
            "unapplied_minor": unapplied,
            "rule": "chosen documents" if allocations is not None else "oldest due first",
        },
    )
    return created


def _explicit_targets(
    payment: Payment, allocations: Sequence[tuple[Document, int]]
) -> list[tuple[Document, int | None]]:
    if not allocations:
        raise PortfolioError(_("no documents given to apply the payment to"))
    wanted: dict[int, int] = {}
    for document, amount in allocations:
        if amount <= 0:
            raise PortfolioError(
                _("the amount for document %(document)s must be positive")
                % {"document": document.number}
            )
        if document.pk in wanted:
            raise PortfolioError(
                _("document %(document)s is given twice") % {"document": document.number}
            )
        wanted[document.pk] = amount
    total = sum(wanted.values())
    if total > payment.unapplied_minor:
        locale = payment.creditor.locale
        raise PortfolioError(
            _(
                "the allocations add up to %(total)s but only %(unapplied)s of the payment is "
                "unapplied"
            )
            % {
                "total": format_minor(total, payment.currency, locale),
                "unapplied": format_minor(payment.unapplied_minor, payment.currency, locale),
            }
        )
    locked = {
        doc.pk: doc
        for doc in Document.objects.select_for_update().filter(pk__in=list(wanted)).order_by("pk")
    }
    targets: list[tuple[Document, int | None]] = []
    for document, amount in allocations:
        doc = locked.get(document.pk)
        if doc is None or doc.creditor_id != payment.creditor_id:
            raise PortfolioError(
                _("document %(document)s is not the creditor's") % {"document": document.number}
            )
        if doc.debtor_id != payment.debtor_id:
            raise PortfolioError(
                _("document %(document)s belongs to another debtor than the payment's")
                % {"document": doc.number}
            )
        if doc.currency != payment.currency:
            raise PortfolioError(
                _("document %(document)s is in %(currency)s, the payment in %(payment_currency)s")
                % {
                    "document": doc.number,
                    "currency": doc.currency,
                    "payment_currency": payment.currency,
                }
            )
        targets.append((doc, amount))
    return targets


@transaction.atomic
def payment_reverse(*, payment: Payment, reason: str, actor: Actor) -> Payment:
    """Undo every allocation of `payment` with reversal entries; it is then all unapplied.

    Each reversal is dated like the entry it reverses, so balances as of any past date read as
    if the misapplication had never happened; nothing is deleted. Prior payments the payment
    had explained count again. The payment can then be applied again (`payment_apply`).
    """
    reason = " ".join((reason or "").split())
    if not reason:
        raise PortfolioError(_("say why the payment is reversed"))
    payment = _payment_locked(payment)
    live = list(
        Allocation.objects.filter(payment=payment, entry__reversed_by__isnull=True)
        .select_related("entry")
        .order_by("pk")
    )
    identified = list(
        LedgerEntry.objects.filter(
            payment=payment, kind=EntryKind.PRIOR_IDENTIFIED, reversed_by__isnull=True
        ).order_by("pk")
    )
    if not live and not identified:
        raise PortfolioError(
            _("payment %(payment)s has nothing applied to reverse")
            % {"payment": payment.external_id}
        )
    document_ids = {a.document_id for a in live} | {e.document_id for e in identified}
    documents = {
        doc.pk: doc
        for doc in Document.objects.select_for_update().filter(pk__in=document_ids).order_by("pk")
    }
    now = timezone.now()
    memo = f"reversed: {reason}"[:200]
    rows: list[tuple[object, ...]] = []
    entry_ids = iter(ids_reserve(LedgerEntry, len(live) + len(identified)))
    for allocation in live:
        doc = documents[allocation.document_id]
        rows.append(
            (
                next(entry_ids),
                payment.creditor_id,
                doc.pk,
                EntryKind.REVERSAL,
                allocation.amount_minor,
                doc.currency,
                allocation.entry.effective_date,
                payment.pk,
                allocation.entry_id,
                None,
                memo,
                actor.label,
                now,
            )
        )
        doc.balance_minor += allocation.amount_minor
    for entry in identified:
        doc = documents[entry.document_id]
        rows.append(
            (
                next(entry_ids),
                payment.creditor_id,
                doc.pk,
                EntryKind.REVERSAL,
                -entry.amount_minor,
                doc.currency,
                entry.effective_date,
                payment.pk,
                entry.pk,
                None,
                memo,
                actor.label,
                now,
            )
        )
        doc.balance_minor -= entry.amount_minor
        doc.unmatched_prior_minor += entry.amount_minor
    for doc in documents.values():
        doc.status = DocumentStatus.OPEN if doc.balance_minor else DocumentStatus.CLOSED
    rows_insert(LedgerEntry, _ENTRY_ROW, rows)
    _save_documents(documents.values(), now)
    returned = sum(allocation.amount_minor for allocation in live)
    payment.unapplied_minor += returned
    Payment.objects.filter(pk=payment.pk).update(unapplied_minor=payment.unapplied_minor)
    audit_record(
        actor=actor,
        action="payment.reverse",
        obj=payment,
        creditor_id=payment.creditor_id,
        changes={
            "reason": reason,
            "allocations": [
                {"document": documents[a.document_id].number, "amount_minor": a.amount_minor}
                for a in live
            ],
            "unapplied_minor": payment.unapplied_minor,
        },
    )
    return payment


@transaction.atomic
def payment_debtor_change(*, payment: Payment, debtor: Debtor, actor: Actor) -> Payment:
    """Give a wholly unapplied payment to another debtor (it was attributed to the wrong one).

    Only a payment with nothing applied (never applied, or reversed) can move: its ledger
    entries, if any, are all reversed and stay with the documents they were on.
    """
    payment = _payment_locked(payment)
    if debtor.creditor_id != payment.creditor_id:
        raise PortfolioError(
            _("debtor %(debtor)s belongs to another creditor") % {"debtor": debtor.external_id}
        )
    if payment.debtor_id == debtor.pk:
        return payment
    if payment.unapplied_minor != payment.amount_minor:
        raise PortfolioError(
            _(
                "payment %(payment)s is applied to documents: reverse it before giving it to "
                "another debtor"
            )
            % {"payment": payment.external_id}
        )
    before = payment.debtor.external_id
    Payment.objects.filter(pk=payment.pk).update(debtor=debtor)
    payment.debtor = debtor
    audit_record(
        actor=actor,
        action="payment.debtor_change",
        obj=payment,
        creditor_id=payment.creditor_id,
        changes={"debtor": [before, debtor.external_id]},
    )
    return payment


# ---------------------------------------------------------------------------------------------
# Many payments (statement imports)


@dataclass(frozen=True)
class PaymentOrder:
    """A payment to record and apply: to `documents` in that order (each up to what it owes),
    or oldest due first when `documents` is None; the rest stays as the debtor's credit."""

    debtor_id: int
    external_id: str
    date: datetime.date
    currency: str
    amount_minor: int
    reference: str = ""
    method: str = ""
    documents: tuple[int, ...] | None = None


def payments_record_bulk(
    *,
    creditor: Creditor,
    orders: Sequence[PaymentOrder],
    actor: Actor,
    batch: ImportBatch | None = None,
) -> list[tuple[int, int]]:
    """Record and apply many payments with a fixed number of queries.

    Must run inside the caller's transaction; the caller writes the audit event (one per
    import, not one per payment). Orders are applied by date, then in the order given.
    Returns (payment id, unapplied minor units) in the order given.

    Documents are read without locks (a statement may touch a hundred thousand) and written
    with a conditional update: only if their balance is still what was read. When another
    writer got there first the whole batch is planned again from fresh balances.
    """
    if not orders:
        return []
    _refuse_erp(creditor)
    for _attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                return _record_bulk_once(creditor, orders, actor, batch)
        except _Conflict:
            continue
    raise PortfolioError(_("documents kept changing while the payments were applied: run it again"))


_ATTEMPTS = 3


class _Conflict(Exception):
    """A document changed between reading and writing its balance."""


@dataclass
class _DocState:
    """What planning needs of a document, read without building a model instance."""

    pk: int
    debtor_id: int
    number: str
    currency: str
    issue_date: datetime.date | None
    balance_minor: int
    unmatched_prior_minor: int
    prior_net_minor: int
    status: str
    was: tuple[int, int] = (0, 0)  # (balance, unmatched prior) as read


# `_DocState`'s fields, in its order.
_STATE_FIELDS = (
    "id",
    "debtor_id",
    "number",
    "currency",
    "issue_date",
    "balance_minor",
    "unmatched_prior_minor",
    "prior_net_minor",
    "status",
)


def _states(query: Any) -> list[_DocState]:
    states = [_DocState(*row) for row in query.values_list(*_STATE_FIELDS)]
    for state in states:
        state.was = (state.balance_minor, state.unmatched_prior_minor)
    return states


def _record_bulk_once(
    creditor: Creditor,
    orders: Sequence[PaymentOrder],
    actor: Actor,
    batch: ImportBatch | None,
) -> list[tuple[int, int]]:
    explicit_ids = {pk for order in orders if order.documents for pk in order.documents}
    oldest_first = {order.debtor_id for order in orders if order.documents is None}
    documents: dict[int, _DocState] = {}
    for chunk in _chunks(explicit_ids):
        for state in _states(Document.objects.filter(creditor=creditor, pk__in=chunk)):
            documents[state.pk] = state
    open_by_debtor: dict[int, list[_DocState]] = defaultdict(list)
    for chunk in _chunks(oldest_first):
        query = (
            Document.objects.filter(Q(balance_minor__gt=0) | Q(unmatched_prior_minor__gt=0))
            .filter(creditor=creditor, debtor_id__in=chunk)
            .order_by("debtor_id", "due_date", "id")
        )
        for state in _states(query):
            state = documents.setdefault(state.pk, state)
            open_by_debtor[state.debtor_id].append(state)
    priors = _priors(pk for pk, doc in documents.items() if doc.unmatched_prior_minor)
    payment_ids = ids_reserve(Payment, len(orders))
    now = timezone.now()
    rows: list[list[object]] = [[] for _ in orders]
    shares: list[tuple[int, _Share]] = []
    touched: dict[int, _DocState] = {}
    external_of: dict[int, str] = {}
    result: list[tuple[int, int]] = [(0, 0)] * len(orders)
    ordered = sorted(range(len(orders)), key=lambda i: (orders[i].date, i))
    for index in ordered:
        order = orders[index]
        payment_id = payment_ids[index]
        external_of[payment_id] = order.external_id
        if order.documents is None:
            targets: list[tuple[Any, int | None]] = [
                (doc, None)
                for doc in open_by_debtor.get(order.debtor_id, [])
                if doc.currency == order.currency
                and (doc.issue_date is None or doc.issue_date <= order.date)
            ]
        else:
            targets = [
                (documents[pk], None)
                for pk in order.documents
                if pk in documents
                and documents[pk].debtor_id == order.debtor_id
                and documents[pk].currency == order.currency
            ]
        planned, unapplied = _plan(order.amount_minor, order.date, targets, priors)
        for share in planned:
            shares.append((payment_id, share))
            touched[share.document.pk] = share.document
        rows[index] = [
            payment_id,
            creditor.pk,
            order.debtor_id,
            order.external_id,
            order.date,
            order.currency,
            order.amount_minor,
            unapplied,
            order.reference[:120],
            order.method[:40],
            batch.pk if batch is not None else None,
            now,
            applied_late_on(order.date, (share.effective for share in planned)),
        ]
        result[index] = (payment_id, unapplied)
    rows_insert(Payment, PAYMENT_ROW, rows)
    _write_shares(
        creditor_id=creditor.pk,
        shares=shares,
        external_of=external_of,
        label=actor.label,
        batch_id=batch.pk if batch is not None else None,
        now=now,
    )
    changed = _save_documents(
        touched.values(), now, expected={pk: doc.was for pk, doc in touched.items()}
    )
    if changed != len(touched):
        raise _Conflict
    return result
