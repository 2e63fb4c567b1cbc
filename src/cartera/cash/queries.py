"""Reads for the unmatched queue (workdesk), the admin and reports."""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from cartera.cash.models import PENDING_STATUSES, StatementImport, StatementLine
from cartera.core.models import AuditEvent
from cartera.core.money import to_minor
from cartera.portfolio.models import Allocation, Creditor, Debtor, Document

__all__ = [
    "evidence_label",
    "line_allocations",
    "line_debtor_search",
    "line_history",
    "line_open_documents",
    "statement_imports",
    "statement_line_counts",
    "unmatched_lines",
    "unmatched_summary",
]


def unmatched_lines(
    *,
    creditors: QuerySet[Creditor] | list[Creditor],
    search: str = "",
    amount: Decimal | str | None = None,
    debtor: Debtor | None = None,
    bank_account_id: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    amount_min: Decimal | None = None,
    amount_max: Decimal | None = None,
    oldest_first: bool = False,
) -> QuerySet[StatementLine]:
    """The queue: credit lines waiting (or reversed and waiting again), newest first (oldest
    first with `oldest_first`, as the queue page shows them).

    `search` looks in the remittance text, the counterparty and the bank reference;
    `amount` ("1.234,56" or "1234.56") finds lines of exactly that amount, `amount_min` and
    `amount_max` lines within that range (each in the line's own currency); `debtor` finds
    lines proposed for that debtor or whose text carries its reference, tax id or name.
    """
    lines = (
        StatementLine.objects.filter(creditor__in=creditors, status__in=PENDING_STATUSES)
        .select_related("bank_account", "debtor", "creditor")
        .order_by(*(("booking_date", "id") if oldest_first else ("-booking_date", "-id")))
    )
    if bank_account_id is not None:
        lines = lines.filter(bank_account_id=bank_account_id)
    if date_from is not None:
        lines = lines.filter(booking_date__gte=date_from)
    if date_to is not None:
        lines = lines.filter(booking_date__lte=date_to)
    for word in (search or "").split():
        lines = lines.filter(
            Q(text__icontains=word)
            | Q(counterparty_name__icontains=word)
            | Q(bank_reference__icontains=word)
            | Q(counterparty_account__icontains=word.upper())
        )
    if amount is not None and amount != "":
        value = _amount(amount)
        if value is None:
            return lines.none()
        # Minor units differ by currency (COP has 2, CLP none): match each line's own.
        lines = lines.filter(_amount_condition(value, lines))
    if amount_min is not None or amount_max is not None:
        lines = lines.filter(_range_condition(amount_min, amount_max, lines))
    if debtor is not None:
        said = Q(debtor=debtor) | Q(text__icontains=debtor.payment_reference)
        if debtor.tax_id:
            said |= Q(text__icontains=debtor.tax_id)
        if len(debtor.name) >= 4:
            said |= Q(counterparty_name__icontains=debtor.name) | Q(text__icontains=debtor.name)
        lines = lines.filter(said)
    return lines


def _amount(text: Decimal | str) -> Decimal | None:
    if isinstance(text, Decimal):
        return text
    cleaned = re.sub(r"[^\d,.\-]", "", text)
    if "," in cleaned and "." in cleaned:
        # the last separator is the decimal one
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        head, _sep, tail = cleaned.rpartition(",")
        cleaned = f"{head.replace(',', '')}.{tail}" if len(tail) != 3 else cleaned.replace(",", "")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def _amount_condition(value: Decimal, lines: QuerySet[StatementLine]) -> Q:
    condition = Q(pk__in=[])
    currencies = lines.order_by().values_list("currency", flat=True).distinct()
    for currency in currencies:
        condition |= Q(currency=currency, amount_minor=to_minor(abs(value), currency))
    return condition


def _range_condition(
    low: Decimal | None, high: Decimal | None, lines: QuerySet[StatementLine]
) -> Q:
    condition = Q(pk__in=[])
    currencies = lines.order_by().values_list("currency", flat=True).distinct()
    for currency in currencies:
        part = Q(currency=currency)
        if low is not None:
            part &= Q(amount_minor__gte=to_minor(abs(low), currency))
        if high is not None:
            part &= Q(amount_minor__lte=to_minor(abs(high), currency))
        condition |= part
    return condition


def unmatched_summary(*, creditors: QuerySet[Creditor] | list[Creditor]) -> list[dict[str, Any]]:
    """Per creditor and currency: how many lines wait and their total (minor units)."""
    return list(
        StatementLine.objects.filter(creditor__in=creditors, status__in=PENDING_STATUSES)
        .values("creditor__code", "currency")
        .annotate(lines=Count("id"), total_minor=Sum("amount_minor"))
        .order_by("creditor__code", "currency")
    )


def line_open_documents(*, line: StatementLine, debtor: Debtor) -> QuerySet[Document]:
    """What a person may apply the line to: the debtor's open documents in its currency,
    oldest due first (the order automatic application follows)."""
    if debtor.creditor_id != line.creditor_id:
        return Document.objects.none()
    return Document.objects.filter(
        creditor_id=line.creditor_id, debtor=debtor, currency=line.currency, balance_minor__gt=0
    ).order_by("due_date", "id")


def statement_imports(
    *, creditors: QuerySet[Creditor] | list[Creditor]
) -> QuerySet[StatementImport]:
    return StatementImport.objects.filter(creditor__in=creditors).order_by("-started_at", "-id")


def statement_line_counts(*, import_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per statement import: how many of its lines are in each status now (one query)."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in import_ids}
    rows = (
        StatementLine.objects.filter(statement_import_id__in=list(import_ids))
        .values_list("statement_import_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for import_id, status, n in rows:
        counts.setdefault(import_id, {})[status] = n
    return counts


_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


def line_debtor_search(*, line: StatementLine, text: str, limit: int = 20) -> list[Debtor]:
    """Debtors of the line's creditor found by part of the name, tax id (with or without its
    check digit), customer code, payment reference or document number, each annotated with
    `open_minor` and `open_documents`: what it owes in the line's currency.

    Each kind of match is its own query on its index; at most four queries.
    """
    text = " ".join((text or "").split())
    if not text:
        return []
    debtors = Debtor.objects.filter(creditor_id=line.creditor_id)
    compact = _NOT_ALNUM.sub("", text).upper()
    codes = Q(external_id__in={text, text.upper()})
    if compact:
        tax_ids = {compact}
        if compact.isdigit() and len(compact) > 4:
            # a NIT or RUT written without its check digit
            tax_ids |= {f"{compact}{digit}" for digit in "0123456789K"}
        codes |= Q(tax_id__in=tax_ids) | Q(payment_reference=compact)
    found: set[int] = set(debtors.filter(codes).values_list("pk", flat=True)[:limit])
    found.update(
        Document.objects.filter(
            creditor_id=line.creditor_id, number__in={text, text.upper()}
        ).values_list("debtor_id", flat=True)[:limit]
    )
    if len(text) >= 2 and any(ch.isalpha() for ch in text):
        found.update(debtors.filter(name__icontains=text).values_list("pk", flat=True)[:limit])
    if not found:
        return []
    owed = Q(documents__currency=line.currency, documents__balance_minor__gt=0)
    return list(
        debtors.filter(pk__in=sorted(found))
        .annotate(
            open_minor=Coalesce(Sum("documents__balance_minor", filter=owed), 0),
            open_documents=Count("documents", filter=owed),
        )
        .order_by("name", "pk")[:limit]
    )


def line_allocations(*, line: StatementLine) -> QuerySet[Allocation]:
    """What the line's payment pays now: its allocations not reversed, in the order made."""
    if line.payment_id is None:
        return Allocation.objects.none()
    return (
        Allocation.objects.filter(payment_id=line.payment_id, entry__reversed_by__isnull=True)
        .select_related("document")
        .order_by("pk")
    )


def line_history(*, line: StatementLine) -> QuerySet[AuditEvent]:
    """What people did with the line (applied, ignored, reversed), newest first."""
    return AuditEvent.objects.filter(
        action__startswith="statement_line.",
        content_type__app_label="cash",
        content_type__model="statementline",
        object_id=str(line.pk),
    ).order_by("-at", "-id")


_EVIDENCE_LABELS = {
    "document_reference": lambda v: _("document payment reference %(value)s") % {"value": v},
    "debtor_reference": lambda v: _("debtor's payment reference %(value)s") % {"value": v},
    "known_account": lambda v: (
        _("paid from account %(value)s, known for this debtor") % {"value": v}
    ),
    "document_number": lambda v: _("document number %(value)s in the text") % {"value": v},
    "tax_id": lambda v: _("tax id %(value)s in the text") % {"value": v},
    "amount_document": lambda v: _("amount equals an open document"),
    "amount_set": lambda v: _("amount equals the sum of open documents"),
    "amount_fee": lambda v: _("amount short of the documents by a bank fee"),
    "amount_only": lambda v: _("only the amount fits (document %(value)s)") % {"value": v},
}


def evidence_label(item: dict[str, Any]) -> str:
    """A stored evidence item ({kind, value, weight}) as a person reads it, in their language."""
    label = _EVIDENCE_LABELS.get(item.get("kind", ""))
    text = label(item.get("value", "")) if label else str(item.get("kind", ""))
    return f"{text} ({item.get('weight', 0)} %)"
