"""Reads of the outbox that the workdesk, the admin and reports share."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from cartera.messaging.models import Message, MessageStatus
from cartera.portfolio.models import Creditor, Debtor

WAITING_FOR_PERSON = (MessageStatus.UNKNOWN, MessageStatus.BLOCKED)
"""Messages nothing will move on its own: a person decides (retry, cancel, override)."""

HELD_BACK = (MessageStatus.BLOCKED, MessageStatus.SCHEDULED)
"""Messages the contact rules refused or delayed; `status_reason` says which rule and why."""


def _scoped(creditors: QuerySet[Creditor]) -> QuerySet[Message]:
    return Message.objects.filter(creditor__in=creditors)


def messages_waiting_for_person(*, creditors: QuerySet[Creditor]) -> QuerySet[Message]:
    """Unknown and blocked messages of the creditors, oldest first, with debtor and creditor."""
    return (
        _scoped(creditors)
        .filter(status__in=WAITING_FOR_PERSON)
        .select_related("creditor", "debtor")
        .order_by("created_at", "id")
    )


def messages_held_back(*, creditors: QuerySet[Creditor]) -> QuerySet[Message]:
    """Blocked or delayed by the contact rules, with the reason; delayed ones by their new time.

    A scheduled message with no reason is one queued for later (not held back by a rule).
    """
    return (
        _scoped(creditors)
        .filter(status__in=HELD_BACK)
        .exclude(status_reason="")
        .select_related("creditor", "debtor")
        .order_by("next_attempt_at", "id")
    )


def outbox_counts(*, creditors: QuerySet[Creditor]) -> dict[str, int]:
    """How many messages are in each status (every status present, zero included)."""
    counts = {status.value: 0 for status in MessageStatus}
    rows = _scoped(creditors).values("status").annotate(n=Count("id")).order_by()
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def messages_of_debtor(debtor: Debtor) -> QuerySet[Message]:
    """An account's messages, newest first (its history shows them next to its activities)."""
    return Message.objects.filter(debtor=debtor).order_by("-created_at", "-id")


def messages_search(*, creditors: QuerySet[Creditor], text: str) -> QuerySet[Message]:
    """Messages whose debtor, recipient, idempotency key or provider id matches `text`."""
    words = text.strip()
    scoped = _scoped(creditors).select_related("creditor", "debtor")
    if not words:
        return scoped
    return scoped.filter(
        Q(debtor__name__icontains=words)
        | Q(debtor__external_id=words)
        | Q(recipient__icontains=words)
        | Q(idempotency_key=words)
        | Q(provider_id=words)
    )
