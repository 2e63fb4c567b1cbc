"""Writes of messaging that other parts call: putting messages into the outbox.

Queuing only stores the request (who, which template, on which channel, why); the worker
renders and gates it just before sending, so the debtor reads that day's figures.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from cartera.core.audit import Actor, audit_record
from cartera.core.bulk import rows_insert
from cartera.messaging.models import Channel, Message, MessageStatus
from cartera.portfolio.models import Debtor


@dataclass(frozen=True)
class QueueRequest:
    """One message to put in the outbox; `key` makes asking twice harmless."""

    creditor_id: int
    debtor_id: int
    channel: str
    template_code: str
    key: str
    origin: str
    reason: str = ""
    origin_ref: int | None = None
    document_ids: Sequence[int] = field(default_factory=tuple)
    promise_id: int | None = None
    not_before: datetime.datetime | None = None


_COLUMNS = (
    "creditor_id",
    "debtor_id",
    "channel",
    "template_code",
    "language",
    "idempotency_key",
    "origin",
    "origin_ref",
    "reason",
    "document_ids",
    "promise_id",
    "status",
    "status_reason",
    "next_attempt_at",
    "attempts",
    "recipient",
    "subject",
    "body_text",
    "body_html",
    "payload",
    "provider_id",
    "error",
    "leased_by",
    "created_at",
    "created_by",
)


def messages_queue(*, requests: Sequence[QueueRequest], actor: Actor) -> int:
    """Store the requests as queued messages in one bulk write; keys already queued are skipped.

    Returns how many requests were handed in (the outbox ignores repeated keys). Runs inside the
    caller's transaction, so a rolled-back run queues nothing.
    """
    known = {choice.value for choice in Channel}
    for request in requests:
        if request.channel not in known:
            raise ValueError(f"unknown channel {request.channel!r} for {request.key}")
    moment = timezone.now()
    rows = [
        (
            r.creditor_id,
            r.debtor_id,
            r.channel,
            r.template_code,
            "",
            r.key[:200],
            r.origin[:60],
            r.origin_ref,
            r.reason[:400],
            json.dumps(list(r.document_ids)),
            r.promise_id,
            MessageStatus.QUEUED,
            "",
            r.not_before or moment,
            0,
            "",
            "",
            "",
            "",
            "{}",
            "",
            "",
            "",
            moment,
            actor.label[:150],
        )
        for r in requests
    ]
    rows_insert(Message, _COLUMNS, rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def message_queue(
    *,
    debtor: Debtor,
    channel: str,
    template_code: str,
    actor: Actor,
    key: str,
    origin: str = "manual",
    reason: str = "",
    document_ids: Sequence[int] = (),
    promise_id: int | None = None,
) -> Message:
    """Queue one message (a collector's "send now", a promise confirmation…) and audit it.

    Asking again with the same key returns the message already queued.
    """
    existing = Message.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    messages_queue(
        requests=[
            QueueRequest(
                creditor_id=debtor.creditor_id,
                debtor_id=debtor.pk,
                channel=channel,
                template_code=template_code,
                key=key,
                origin=origin,
                reason=reason,
                document_ids=tuple(document_ids),
                promise_id=promise_id,
            )
        ],
        actor=actor,
    )
    message = Message.objects.get(idempotency_key=key)
    audit_record(
        actor=actor,
        action="message.queue",
        obj=message,
        creditor_id=debtor.creditor_id,
        changes={"channel": channel, "template": template_code, "origin": origin},
    )
    return message
