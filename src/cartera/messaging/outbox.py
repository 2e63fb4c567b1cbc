"""The outbox's state machine: claiming with a lease, retries, expired leases, people's decisions.

    queued/scheduled ──claim──▶ sending ──backend ok──▶ sent ──callback──▶ delivered
         ▲                        │  │                   │                  (or failed, bounced)
         │◀──transient, backoff───┘  │                   └─ letters wait in `sending` without a
         │                           │                      lease until their batch is printed
         │   relevance, gate, permanent errors ──▶ cancelled, scheduled, blocked, failed
         │
         └── lease expired: never handed over, or the channel accepts the key ──┐
                     otherwise ──▶ unknown (a person checks, then retries or cancels)

A worker takes messages by a conditional UPDATE: only rows still waiting change, so two workers
never hold the same message (on PostgreSQL the candidates are also locked with SKIP LOCKED so
the workers do not queue behind each other; on SQLite the IMMEDIATE transaction serializes
writers). `handed_at` is committed just before a message goes to its backend: a message whose
worker died without it never left.
"""

from __future__ import annotations

import datetime
import os
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from cartera.core.audit import Actor, audit_record
from cartera.messaging.backends import backend_accepts_key
from cartera.messaging.models import Channel, Message, MessageStatus
from cartera.portfolio.models import Activity, ActivityKind, ContactPoint


class OutboxError(ValueError):
    """A person asked for something the message's state does not allow; the text says why."""


def worker_id_new() -> str:
    """hostname:pid:random — unique across machines, restarts and threads of one process."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def lease_seconds() -> int:
    return int(settings.CARTERA_OUTBOX_LEASE_SECONDS)


def backoff_delay(attempts: int) -> datetime.timedelta:
    """How long to wait after the `attempts`-th failed hand-over: base, 2×base, 4×base… capped."""
    base = int(settings.CARTERA_OUTBOX_BACKOFF_SECONDS)
    cap = int(settings.CARTERA_OUTBOX_BACKOFF_CAP_SECONDS)
    exponent = max(0, attempts - 1)
    seconds = cap if exponent >= 32 else min(cap, base * (2**exponent))
    return datetime.timedelta(seconds=seconds)


def _table() -> str:
    return connection.ops.quote_name(Message._meta.db_table)


def _adapt(moment: datetime.datetime) -> Any:
    # SQLite keeps datetimes as text in Django's format; PostgreSQL takes them as they are.
    return connection.ops.adapt_datetimefield_value(moment)


# The statuses are literals (not parameters) so that PostgreSQL can use the partial index on
# waiting messages (`message_waiting_idx`).
_WAITING_SQL = "status IN ('queued', 'scheduled')"


def outbox_claim(*, worker_id: str, limit: int, now: datetime.datetime | None = None) -> list[int]:
    """Take up to `limit` due messages for `worker_id`; returns the ids now leased to it.

    One statement: the UPDATE changes only rows that are still waiting, so a row another
    worker took in the meantime is not returned here.
    """
    moment = now or timezone.now()
    lease = moment + datetime.timedelta(seconds=lease_seconds())
    table = _table()
    # Oldest due first, in the order of the partial index on waiting messages: a tie-break on
    # id would make the database sort every due row before it can stop at the limit.
    pick = (
        f"SELECT id FROM {table} WHERE {_WAITING_SQL} AND next_attempt_at <= %s "
        f"ORDER BY next_attempt_at LIMIT %s"
    )
    take = "status = 'sending', lease_until = %s, leased_by = %s, handed_at = NULL"
    if connection.vendor == "postgresql":
        # The candidates are picked (and locked) once, in a materialized CTE: an IN-subquery
        # with LIMIT may be evaluated more than once and return more rows than asked for.
        sql = (
            f"WITH picked AS MATERIALIZED ({pick} FOR UPDATE SKIP LOCKED) "
            f"UPDATE {table} AS m SET {take} FROM picked "
            f"WHERE m.id = picked.id AND m.{_WAITING_SQL} AND m.next_attempt_at <= %s "
            f"RETURNING m.id"
        )
        params = [_adapt(moment), int(limit), _adapt(lease), worker_id[:100], _adapt(moment)]
    else:
        # SQLite: the IMMEDIATE transaction holds the write lock, so nobody changes the rows
        # between the pick and the update.
        sql = (
            f"UPDATE {table} SET {take} WHERE id IN ({pick}) "
            f"AND {_WAITING_SQL} AND next_attempt_at <= %s RETURNING id"
        )
        params = [_adapt(lease), worker_id[:100], _adapt(moment), int(limit), _adapt(moment)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = sorted(row[0] for row in cursor.fetchall())
    return ids


def outbox_lease_extend(
    *, ids: Sequence[int], worker_id: str, now: datetime.datetime | None = None
) -> set[int]:
    """Renew the lease of the messages `worker_id` still holds; returns those ids.

    A message missing from the answer is no longer this worker's (its lease ran out and it
    was expired): the worker must not send it.
    """
    if not ids:
        return set()
    moment = now or timezone.now()
    lease = moment + datetime.timedelta(seconds=lease_seconds())
    held: set[int] = set()
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE {_table()} SET lease_until = %s WHERE id IN ({marks}) "
                f"AND status = 'sending' AND leased_by = %s AND lease_until IS NOT NULL "
                f"RETURNING id",
                [_adapt(lease), *chunk, worker_id[:100]],
            )
            held.update(row[0] for row in cursor.fetchall())
    return held


@dataclass
class ExpiredLeases:
    requeued: int = 0
    retried: int = 0
    unknown: int = 0

    def total(self) -> int:
        return self.requeued + self.retried + self.unknown


def outbox_expire_leases(*, now: datetime.datetime | None = None) -> ExpiredLeases:
    """Settle the messages whose worker stopped holding them (it died or hung).

    Never handed to its backend: back to the queue, nothing left. Handed over on a channel
    that accepts the idempotency key: back to the queue, the retry carries the same key.
    Otherwise `unknown`: it may or may not have left, and a person decides. Letters waiting in
    a print batch have no lease and are left alone.
    """
    moment = now or timezone.now()
    result = ExpiredLeases()
    with transaction.atomic():
        rows = Message.objects.filter(
            status=MessageStatus.SENDING, lease_until__isnull=False, lease_until__lt=moment
        )
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(skip_locked=True)
        found = list(
            rows.order_by().values_list("id", "channel", "creditor_id", "debtor_id", "handed_at")
        )
        if not found:
            return result
        accepts = {channel: backend_accepts_key(channel) for channel in {r[1] for r in found}}
        never = [r[0] for r in found if r[4] is None]
        retried = [r[0] for r in found if r[4] is not None and accepts[r[1]]]
        unknown = [r for r in found if r[4] is not None and not accepts[r[1]]]
        expired = Message.objects.filter(
            status=MessageStatus.SENDING, lease_until__isnull=False, lease_until__lt=moment
        )
        common = {"lease_until": None, "leased_by": "", "handed_at": None}
        if never:
            result.requeued = expired.filter(pk__in=never).update(
                status=MessageStatus.QUEUED, next_attempt_at=moment, **common
            )
        if retried:
            result.retried = expired.filter(pk__in=retried).update(
                status=MessageStatus.QUEUED,
                next_attempt_at=moment,
                status_reason=gettext(
                    "The worker stopped while sending it; sent again with the same key, which "
                    "the channel recognizes"
                )[:400],
                **common,
            )
        if unknown:
            reason = gettext(
                "The worker stopped while sending it: nobody knows whether it left. Check with "
                "the provider or the debtor, then retry it or cancel it."
            )
            result.unknown = expired.filter(pk__in=[r[0] for r in unknown]).update(
                status=MessageStatus.UNKNOWN,
                status_reason=reason[:400],
                # `leased_by` stays: if that worker was only slow, its late result still lands.
                lease_until=None,
            )
            Activity.objects.bulk_create(
                Activity(
                    creditor_id=creditor_id,
                    debtor_id=debtor_id,
                    kind=ActivityKind.SYSTEM,
                    at=moment,
                    is_contact=False,
                    outcome="message_unknown",
                    note=reason,
                    message_id=message_id,
                )
                for message_id, _channel, creditor_id, debtor_id, _handed in unknown
            )
        audit_record(
            actor=Actor.system("worker"),
            action="message.lease_expired",
            changes={
                "requeued": never,
                "retried": retried,
                "unknown": [r[0] for r in unknown],
            },
        )
    return result


# -- a person's decisions ------------------------------------------------------------------


def _locked(message: Message) -> Message:
    return Message.objects.select_for_update().get(pk=message.pk)


def _note(
    message: Message, outcome: str, note: str, actor: Actor, moment: datetime.datetime
) -> None:
    user = actor.user if actor.user is not None and actor.user.pk else None
    Activity.objects.create(
        creditor_id=message.creditor_id,
        debtor_id=message.debtor_id,
        kind=ActivityKind.SYSTEM,
        at=moment,
        is_contact=False,
        outcome=outcome,
        note=note,
        user=user,
        message_id=message.pk,
    )


RETRYABLE = (MessageStatus.FAILED, MessageStatus.UNKNOWN)
CANCELLABLE = (
    MessageStatus.QUEUED,
    MessageStatus.SCHEDULED,
    MessageStatus.BLOCKED,
    MessageStatus.UNKNOWN,
)


@transaction.atomic
def message_retry(*, message: Message, actor: Actor, checked_unknown: bool = False) -> Message:
    """Put a failed or unknown message back in the queue, now, with a fresh count of attempts.

    An `unknown` message may already have reached the debtor: retrying it needs the person's
    word that they checked (`checked_unknown=True`), which the audit log keeps.
    """
    locked = _locked(message)
    if locked.status not in RETRYABLE:
        raise OutboxError(
            gettext("Only a failed or unknown message can be retried; this one is %(status)s")
            % {"status": locked.get_status_display()}
        )
    if locked.status == MessageStatus.UNKNOWN and not checked_unknown:
        raise OutboxError(
            gettext(
                "This message may already have reached the debtor. Check with the provider or "
                "the debtor first, and confirm that it did not arrive."
            )
        )
    moment = timezone.now()
    before = locked.status
    note = gettext("Sent again at the request of %(who)s") % {"who": actor.label}
    Message.objects.filter(pk=locked.pk).update(
        status=MessageStatus.QUEUED,
        status_reason=note[:400],
        next_attempt_at=moment,
        attempts=0,
        lease_until=None,
        leased_by="",
        handed_at=None,
    )
    _note(locked, "message_retry", note, actor, moment)
    audit_record(
        actor=actor,
        action="message.retry",
        obj=locked,
        creditor_id=locked.creditor_id,
        changes={
            "status": [before, MessageStatus.QUEUED.value],
            "checked_unknown": checked_unknown,
            "last_error": locked.error,
        },
    )
    locked.refresh_from_db()
    return locked


@transaction.atomic
def message_cancel(*, message: Message, actor: Actor, reason: str) -> Message:
    """Stop a message that has not left (queued, scheduled, blocked) or whose fate is unknown."""
    text = (reason or "").strip()
    if not text:
        raise OutboxError(gettext("Say why the message is cancelled"))
    locked = _locked(message)
    if locked.status not in CANCELLABLE:
        if locked.status == MessageStatus.SENDING:
            raise OutboxError(
                gettext("The message is being sent right now; look again in a minute")
            )
        raise OutboxError(
            gettext("A message that is %(status)s cannot be cancelled")
            % {"status": locked.get_status_display()}
        )
    moment = timezone.now()
    before = locked.status
    note = gettext("Cancelled by %(who)s: %(why)s") % {"who": actor.label, "why": text}
    Message.objects.filter(pk=locked.pk).update(
        status=MessageStatus.CANCELLED,
        status_reason=note[:400],
        lease_until=None,
        leased_by="",
    )
    _note(locked, "message_cancelled", note, actor, moment)
    audit_record(
        actor=actor,
        action="message.cancel",
        obj=locked,
        creditor_id=locked.creditor_id,
        changes={"status": [before, MessageStatus.CANCELLED.value], "reason": text},
    )
    locked.refresh_from_db()
    return locked


@transaction.atomic
def message_mark_sent(*, message: Message, actor: Actor, note: str = "") -> Message:
    """An unknown message a person found did leave (in the provider's log, or the debtor has
    it): it becomes sent and counts as a contact from the moment it was handed over."""
    locked = _locked(message)
    if locked.status != MessageStatus.UNKNOWN:
        raise OutboxError(
            gettext("Only a message whose fate is unknown can be marked sent by hand")
        )
    moment = timezone.now()
    at = locked.handed_at or moment
    text = gettext("Confirmed sent by %(who)s") % {"who": actor.label}
    if note.strip():
        text = f"{text}: {note.strip()}"
    Message.objects.filter(pk=locked.pk).update(
        status=MessageStatus.SENT, status_reason=text[:400], sent_at=at
    )
    Activity.objects.create(
        creditor_id=locked.creditor_id,
        debtor_id=locked.debtor_id,
        kind=locked.channel,
        at=at,
        is_contact=True,
        outcome="sent",
        note=text,
        message_id=locked.pk,
    )
    audit_record(
        actor=actor,
        action="message.mark_sent",
        obj=locked,
        creditor_id=locked.creditor_id,
        changes={"status": [MessageStatus.UNKNOWN.value, MessageStatus.SENT.value], "note": note},
    )
    locked.refresh_from_db()
    return locked


# -- what providers tell us afterwards -----------------------------------------------------


class Delivery:
    """The outcomes a provider reports after a message left."""

    DELIVERED = "delivered"
    FAILED = "failed"
    BOUNCED = "bounced"  # a hard bounce: the address does not exist


# From which statuses each report moves a message. A report that arrives out of order (a
# "failed" after "delivered") or twice changes nothing.
_DELIVERY_FROM = {
    Delivery.DELIVERED: (MessageStatus.SENT, MessageStatus.UNKNOWN),
    Delivery.FAILED: (MessageStatus.SENT, MessageStatus.UNKNOWN),
    # Mail servers accept a message and bounce it later, so a bounce may follow "delivered".
    Delivery.BOUNCED: (MessageStatus.SENT, MessageStatus.UNKNOWN, MessageStatus.DELIVERED),
}
_DELIVERY_STATUS = {
    Delivery.DELIVERED: MessageStatus.DELIVERED,
    Delivery.FAILED: MessageStatus.FAILED,
    Delivery.BOUNCED: MessageStatus.BOUNCED,
}


class StillSending(Exception):
    """The report is for a message whose worker has not recorded the hand-over yet."""


@transaction.atomic
def message_delivery_record(
    *,
    message: Message,
    outcome: str,
    at: datetime.datetime | None = None,
    detail: str = "",
    actor: Actor,
) -> bool:
    """Apply a provider's delivery report; True if it changed the message.

    Delivered: the contact reached the debtor (`reached` on its activity). Failed or bounced:
    it did not; a hard bounce of an email also marks the address invalid (audited), so the
    next email is not sent to it. Raises `StillSending` while the worker still holds it.
    """
    if outcome not in _DELIVERY_STATUS:
        raise ValueError(f"unknown delivery outcome {outcome!r}")
    locked = _locked(message)
    if locked.status == MessageStatus.SENDING and locked.lease_until is not None:
        raise StillSending(locked.pk)
    if locked.status not in _DELIVERY_FROM[outcome]:
        return False
    moment = at or timezone.now()
    before = locked.status
    new_status = _DELIVERY_STATUS[outcome]
    changes: dict[str, object] = {"status": [before, new_status.value]}
    update: dict[str, object] = {"status": new_status}
    if outcome == Delivery.DELIVERED:
        update["delivered_at"] = moment
        update["status_reason"] = ""
    else:
        why = detail or gettext("The provider reports it was not delivered")
        update["error"] = why
        update["status_reason"] = why[:400]
        changes["detail"] = why
    Message.objects.filter(pk=locked.pk).update(**update)
    reached = outcome == Delivery.DELIVERED
    contacts = Activity.objects.filter(message_id=locked.pk, is_contact=True)
    if before == MessageStatus.UNKNOWN and reached and not contacts.exists():
        # The provider settles an unknown message: it did leave, and it is a contact.
        Activity.objects.create(
            creditor_id=locked.creditor_id,
            debtor_id=locked.debtor_id,
            kind=locked.channel,
            at=locked.handed_at or moment,
            is_contact=True,
            reached=True,
            outcome="delivered",
            message_id=locked.pk,
        )
    else:
        contacts.update(reached=reached, outcome=outcome)
    if (
        outcome == Delivery.BOUNCED
        and locked.channel == Channel.EMAIL
        and locked.contact_point_id is not None
    ):
        point = ContactPoint.objects.select_for_update().filter(pk=locked.contact_point_id).first()
        if point is not None and point.valid:
            point.valid = False
            point.save(update_fields=["valid"])
            audit_record(
                actor=actor,
                action="contactpoint.invalidate",
                obj=point,
                creditor_id=locked.creditor_id,
                changes={"valid": [True, False], "message": locked.pk, "bounce": detail},
            )
            _note(
                locked,
                "email_bounced",
                gettext("%(address)s bounced and is marked invalid: %(detail)s")
                % {"address": point.value, "detail": detail or "-"},
                actor,
                moment,
            )
    audit_record(
        actor=actor,
        action=f"message.{outcome}",
        obj=locked,
        creditor_id=locked.creditor_id,
        changes=changes,
    )
    return True


def messages_by_provider_id(channel: str, provider_ids: Iterable[str]) -> dict[str, Message]:
    """The messages a provider names by its own ids (one query)."""
    wanted = [p for p in set(provider_ids) if p]
    found: dict[str, Message] = {}
    for message in Message.objects.filter(channel=channel, provider_id__in=wanted):
        found[message.provider_id] = message
    return found
