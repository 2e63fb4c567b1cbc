"""Sending a batch of claimed messages: re-check, choose the address, gate, render, send, record.

For each batch the worker holds (see `outbox.outbox_claim`):

1. **Decide**, reading everything in a fixed number of queries: is the reason still there
   (`relevance`)? Which contact point carries the channel? May the debtor be contacted now
   (the compliance gate, unless a supervisor overrode it)? Render the message with today's
   figures. Messages that stop here (cancelled, blocked, rescheduled, failed) are written in
   one transaction, each with a line on the account's history.
2. **Send**, a small group at a time (`CARTERA_OUTBOX_HANDOVER_GROUP`): the content exactly as
   it will leave is committed with `handed_at` *before* the backend is called, then the results
   are committed together with the next group's content. A crash therefore leaves at most one
   group whose fate is unknown; one commit per group instead of per message is what lets one
   worker keep up with a database whose commits wait for the disk.

Errors are caught per message: one bad message never stops the batch.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import threading
import time
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from cartera.core.bulk import rows_insert, rows_update
from cartera.messaging.backends import (
    ChannelBackend,
    PermanentError,
    SendResult,
    TransientError,
    backend_for,
)
from cartera.messaging.batchsql import among
from cartera.messaging.gate import CHANNEL_POINT_KINDS, Gate, Verdict
from cartera.messaging.models import (
    Channel,
    ChannelSettings,
    GateOverride,
    Message,
    MessageStatus,
)
from cartera.messaging.outbox import (
    backoff_delay,
    lease_seconds,
    outbox_claim,
    outbox_lease_extend,
    worker_id_new,
)
from cartera.messaging.relevance import Relevance
from cartera.messaging.rendering import Rendered, Renderer, RenderError
from cartera.portfolio.models import (
    Activity,
    ActivityKind,
    ContactKind,
    ContactPoint,
    Creditor,
    Debtor,
)

log = logging.getLogger("cartera.worker")

CHUNK = 5000

# Which contact point a channel prefers, best first; the gate decides whether it may be used.
POINT_PREFERENCE: dict[str, tuple[str, ...]] = {
    Channel.EMAIL: (ContactKind.EMAIL,),
    Channel.SMS: (ContactKind.MOBILE, ContactKind.PHONE),
    Channel.WHATSAPP: (ContactKind.WHATSAPP, ContactKind.MOBILE, ContactKind.PHONE),
    Channel.LETTER: (ContactKind.ADDRESS,),
}
NO_POINT = {
    Channel.EMAIL: "No valid email address for this debtor",
    Channel.SMS: "No valid mobile number for this debtor",
    Channel.WHATSAPP: "No valid WhatsApp or mobile number for this debtor",
    Channel.LETTER: "No postal address for this debtor",
}


@dataclass
class DrainCounts:
    """What a worker did; `as_dict()` is the JSON of `cartera worker --format json`."""

    sent: int = 0
    letters: int = 0  # joined the day's print batch; sent once the batch is printed
    scheduled: int = 0
    blocked: int = 0
    failed: int = 0
    cancelled: int = 0
    retrying: int = 0  # transient failure: back in the queue after a pause
    released: int = 0  # claimed but not handed over when the worker was asked to stop
    unknown: int = 0  # leases that ran out after a hand-over (see outbox_expire_leases)
    requeued: int = 0  # leases that ran out before a hand-over, or on channels taking the key

    def add(self, other: DrainCounts) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    def total(self) -> int:
        return sum(self.as_dict().values())


class Stop(NamedTuple):
    """A message that ends this batch without being sent (or after a failed hand-over)."""

    message: Message
    status: str
    reason: str
    retry: datetime.datetime | None
    error: str
    attempts: int


@dataclass
class Ready:
    message: Message
    rendered: Rendered
    point: ContactPoint


@dataclass
class Prepared:
    """The decisions for a batch before anything is sent."""

    now: datetime.datetime
    ready: list[Ready] = field(default_factory=list)
    stopped: list[Stop] = field(default_factory=list)
    senders: dict[int, ChannelSettings] = field(default_factory=dict)


def _chunks(values: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _zone(name: str) -> zoneinfo.ZoneInfo | datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_current_timezone()


def _max_attempts() -> int:
    return int(settings.CARTERA_OUTBOX_MAX_ATTEMPTS)


def point_choose(points: Sequence[ContactPoint], channel: str) -> ContactPoint | None:
    """The best contact point for `channel`: valid ones of the preferred kinds, those without a
    refusal (do not contact, consent withdrawn) first, then primary, verified, oldest."""
    kinds = POINT_PREFERENCE.get(channel, ())
    allowed = CHANNEL_POINT_KINDS.get(channel, frozenset())
    consent_field = f"consent_{channel}"
    usable = [p for p in points if p.valid and p.kind in kinds and p.kind in allowed]
    if not usable:
        return None

    def rank(point: ContactPoint) -> tuple[Any, ...]:
        refused = point.do_not_contact or getattr(point, consent_field, None) is False
        return (
            refused,
            kinds.index(point.kind),
            not point.is_primary,
            not point.verified,
            point.pk,
        )

    return min(usable, key=rank)


def _transient(message: Message, now: datetime.datetime, error: str, attempts: int) -> Stop:
    """A failure worth retrying: back to the queue after a pause, or failed when out of tries."""
    if attempts >= _max_attempts():
        why = gettext("Gave up after %(n)s attempts: %(error)s") % {"n": attempts, "error": error}
        return Stop(message, MessageStatus.FAILED.value, why, None, error, attempts)
    return Stop(
        message,
        MessageStatus.QUEUED.value,
        gettext("Will try again: %(error)s") % {"error": error},
        now + backoff_delay(attempts),
        error,
        attempts,
    )


GATE_MARGIN = datetime.timedelta(seconds=60)
"""A batch is sent within this time of its gate decisions (a batch that takes longer gives its
remaining messages back to be decided again), so a contact must be allowed both now and at the
end of the margin: nothing goes out after a window closes."""


def _gate_verdict(
    gate: Gate, debtor: Debtor, message: Message, point: ContactPoint, now: datetime.datetime
) -> Verdict:
    documents = [int(pk) for pk in message.document_ids or []]
    verdict = gate.check(
        debtor=debtor, channel=message.channel, at=now, contact_point=point, document_ids=documents
    )
    if not verdict.allowed:
        return verdict
    return gate.check(
        debtor=debtor,
        channel=message.channel,
        at=now + GATE_MARGIN,
        contact_point=point,
        document_ids=documents,
    )


def dispatch_prepare(messages: Sequence[Message], *, now: datetime.datetime) -> Prepared:
    """Decide what happens to each claimed message, without writing or sending anything."""
    prepared = Prepared(now=now)
    if not messages:
        return prepared
    ids = sorted(m.pk for m in messages)
    debtor_ids = sorted({m.debtor_id for m in messages})
    creditors = {c.pk: c for c in Creditor.objects.filter(pk__in={m.creditor_id for m in messages})}
    debtors: dict[int, Debtor] = {}
    points: dict[int, list[ContactPoint]] = defaultdict(list)
    overridden: set[int] = set()
    for chunk in _chunks(debtor_ids):
        debtors.update(
            (d.pk, d)
            for d in Debtor.objects.filter(among("pk", chunk)).only(
                "pk", "creditor_id", "country", "kind", "timezone", "name"
            )
        )
        for point in ContactPoint.objects.filter(among("debtor_id", chunk)).order_by("pk"):
            points[point.debtor_id].append(point)
    for chunk in _chunks(ids):
        overridden.update(
            GateOverride.objects.filter(among("message_id", chunk)).values_list(
                "message_id", flat=True
            )
        )
    relevance = Relevance(messages)

    by_creditor: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        by_creditor[message.creditor_id].append(message)
    for creditor_id, group in by_creditor.items():
        creditor = creditors[creditor_id]
        today = now.astimezone(_zone(creditor.timezone)).date()
        gate = Gate(creditor=creditor, debtor_ids={m.debtor_id for m in group}, at=now)
        to_render: list[tuple[Message, ContactPoint]] = []
        for message in group:
            try:
                debtor = debtors[message.debtor_id]
                why = relevance.cancel_reason(message, today)
                if why:
                    prepared.stopped.append(
                        Stop(
                            message, MessageStatus.CANCELLED.value, why, None, "", message.attempts
                        )
                    )
                    continue
                chosen = point_choose(points.get(message.debtor_id, ()), message.channel)
                if chosen is None:
                    why = gettext(NO_POINT[Channel(message.channel)])
                    prepared.stopped.append(
                        Stop(message, MessageStatus.FAILED.value, why, None, why, message.attempts)
                    )
                    continue
                point = chosen
                # Ids, not instances: assigning related objects costs more than the decision.
                message.contact_point_id = point.pk
                message.recipient = point.value[:300]
                if message.pk not in overridden:
                    verdict = _gate_verdict(gate, debtor, message, point, now)
                    if not verdict.allowed:
                        if verdict.retry_at is None:
                            prepared.stopped.append(
                                Stop(
                                    message,
                                    MessageStatus.BLOCKED.value,
                                    verdict.reason,
                                    None,
                                    "",
                                    message.attempts,
                                )
                            )
                        else:
                            # Never due again at once: a verdict for "now" would spin the worker.
                            retry = max(verdict.retry_at, now + datetime.timedelta(seconds=1))
                            prepared.stopped.append(
                                Stop(
                                    message,
                                    MessageStatus.SCHEDULED.value,
                                    verdict.reason,
                                    retry,
                                    "",
                                    message.attempts,
                                )
                            )
                        continue
                gate.record(debtor_id=message.debtor_id, channel=message.channel, at=now)
                to_render.append((message, point))
            except Exception as exc:  # a bug or bad data in one message must not stop the rest
                log.exception("message %s: could not be prepared", message.pk)
                prepared.stopped.append(
                    _transient(
                        message, now, f"{exc.__class__.__name__}: {exc}", message.attempts + 1
                    )
                )
        if not to_render:
            continue
        renderer = Renderer(creditor=creditor, as_of=today)
        prepared.senders[creditor_id] = renderer.channel_settings
        renderer.prepare([m for m, _p in to_render])
        for message, point in to_render:
            try:
                rendered = renderer.render(message)
            except RenderError as exc:
                why = gettext("Cannot be written: %(error)s") % {"error": exc}
                prepared.stopped.append(
                    Stop(message, MessageStatus.FAILED.value, why, None, str(exc), message.attempts)
                )
                continue
            except Exception as exc:
                log.exception("message %s: could not be rendered", message.pk)
                prepared.stopped.append(
                    _transient(
                        message, now, f"{exc.__class__.__name__}: {exc}", message.attempts + 1
                    )
                )
                continue
            prepared.ready.append(Ready(message=message, rendered=rendered, point=point))
    return prepared


_OUTCOME = {
    MessageStatus.CANCELLED.value: "message_cancelled",
    MessageStatus.FAILED.value: "message_failed",
    MessageStatus.BLOCKED.value: "message_blocked",
    MessageStatus.SCHEDULED.value: "message_delayed",
    MessageStatus.QUEUED.value: "message_retry",
}
_STOPPED_COLUMNS = (
    "status",
    "status_reason",
    "next_attempt_at",
    "error",
    "attempts",
    "lease_until",
    "leased_by",
    "handed_at",
    "recipient",
    "contact_point_id",
)
_ACTIVITY_COLUMNS = (
    "creditor_id",
    "debtor_id",
    "kind",
    "at",
    "is_contact",
    "reached",
    "outcome",
    "note",
    "user_id",
    "message_id",
    "rule_breach",
    "created_at",
)


def _activity_row(
    message: Message, *, kind: str, at: datetime.datetime, contact: bool, outcome: str, note: str
) -> tuple[Any, ...]:
    return (
        message.creditor_id,
        message.debtor_id,
        kind,
        at,
        contact,
        None,
        outcome[:40],
        note,
        None,
        message.pk,
        "",
        at,
    )


def _stopped_note(status: str, reason: str, retry: datetime.datetime | None) -> str:
    if status == MessageStatus.SCHEDULED.value and retry is not None:
        return gettext("Held back by the contact rules until %(when)s: %(reason)s") % {
            "when": timezone.localtime(retry).strftime("%Y-%m-%d %H:%M %Z"),
            "reason": reason,
        }
    if status == MessageStatus.BLOCKED.value:
        return gettext("Blocked by the contact rules: %(reason)s") % {"reason": reason}
    if status == MessageStatus.CANCELLED.value:
        return gettext("Not sent, cancelled: %(reason)s") % {"reason": reason}
    if status == MessageStatus.QUEUED.value and retry is not None:
        return gettext("Not sent yet, will try again at %(when)s: %(reason)s") % {
            "when": timezone.localtime(retry).strftime("%Y-%m-%d %H:%M %Z"),
            "reason": reason,
        }
    return gettext("Not sent: %(reason)s") % {"reason": reason}


def dispatch_record_stopped(prepared: Prepared, counts: DrainCounts) -> None:
    """Write every message that stops before sending, with a line on its account's history."""
    if not prepared.stopped:
        return
    now = prepared.now
    rows = []
    activities = []
    for message, status, reason, retry, error, attempts in prepared.stopped:
        rows.append(
            (
                message.pk,
                status,
                reason[:400],
                retry or message.next_attempt_at,
                error,
                attempts,
                None,
                "",
                None,
                message.recipient,
                message.contact_point_id,
            )
        )
        activities.append(
            _activity_row(
                message,
                kind=ActivityKind.SYSTEM,
                at=now,
                contact=False,
                outcome=_OUTCOME[status],
                note=_stopped_note(status, reason, retry),
            )
        )
        if status == MessageStatus.QUEUED.value:
            counts.retrying += 1
        else:
            setattr(counts, status, getattr(counts, status) + 1)
    with transaction.atomic():
        rows_update(Message, _STOPPED_COLUMNS, rows)
        rows_insert(Activity, _ACTIVITY_COLUMNS, activities)


class _Results:
    """Outcomes of hand-overs not yet written; written with the next message's content."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self.sent: list[tuple[Message, SendResult, datetime.datetime]] = []
        self.stopped: list[Stop] = []
        self.activities: list[tuple[Any, ...]] = []

    def __bool__(self) -> bool:
        return bool(self.sent or self.stopped)

    def write(self) -> None:
        """Inside the caller's transaction."""
        table = connection.ops.quote_name(Message._meta.db_table)
        if self.sent:
            # A late result still wins over `unknown`: this worker knows it left.
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET status = 'sent', sent_at = %s, provider_id = %s, "
                    f"error = '', status_reason = '', lease_until = NULL "
                    f"WHERE id = %s AND leased_by = %s AND status IN ('sending', 'unknown')",
                    [
                        [
                            connection.ops.adapt_datetimefield_value(at),
                            result.provider_id[:200],
                            message.pk,
                            self.worker_id[:100],
                        ]
                        for message, result, at in self.sent
                    ],
                )
        if self.stopped:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET status = %s, status_reason = %s, next_attempt_at = %s, "
                    f"error = %s, lease_until = NULL, leased_by = '' "
                    f"WHERE id = %s AND leased_by = %s AND status = 'sending'",
                    [
                        [
                            status,
                            reason[:400],
                            connection.ops.adapt_datetimefield_value(
                                retry or message.next_attempt_at
                            ),
                            error,
                            message.pk,
                            self.worker_id[:100],
                        ]
                        for message, status, reason, retry, error, _attempts in self.stopped
                    ],
                )
        rows_insert(Activity, _ACTIVITY_COLUMNS, self.activities)
        self.sent, self.stopped, self.activities = [], [], []


def _content(ready: Ready) -> tuple[str, dict[str, Any]]:
    rendered = ready.rendered
    payload: dict[str, Any] = {}
    if rendered.sms is not None:
        payload["sms"] = dataclasses.asdict(rendered.sms)
    if rendered.whatsapp_template:
        payload["whatsapp"] = {
            "template": rendered.whatsapp_template,
            "params": list(rendered.whatsapp_params),
            "language": rendered.language,
        }
    return json.dumps(payload), payload


def _hand_over(ready: Ready, worker_id: str, now: datetime.datetime) -> bool:
    """Commit exactly what is about to leave, and that it is about to; False if the message is
    no longer this worker's."""
    message = ready.message
    rendered = ready.rendered
    payload_json, payload = _content(ready)
    table = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET recipient = %s, contact_point_id = %s, subject = %s, "
            f"body_text = %s, body_html = %s, payload = %s, language = %s, handed_at = %s, "
            f"attempts = attempts + 1 "
            f"WHERE id = %s AND leased_by = %s AND status = 'sending' AND lease_until IS NOT NULL",
            [
                message.recipient,
                ready.point.pk,
                rendered.subject[:300],
                rendered.text,
                rendered.html,
                payload_json,
                rendered.language[:10],
                connection.ops.adapt_datetimefield_value(now),
                message.pk,
                worker_id[:100],
            ],
        )
        if cursor.rowcount != 1:
            return False
    message.subject = rendered.subject[:300]
    message.body_text = rendered.text
    message.body_html = rendered.html
    message.payload = payload
    message.language = rendered.language[:10]
    message.handed_at = now
    message.attempts += 1
    return True


def claimed_messages(ids: Sequence[int], *, worker_id: str) -> list[Message]:
    """The messages `ids` that `worker_id` still holds, oldest due first, ready to prepare."""
    # Read by id alone, and the lease checked here: with the lease in the WHERE clause,
    # PostgreSQL may scan every `sending` row through that partial index when its statistics
    # are old (measured: 2.5 s a batch once 100,000 rows were `sending`), not the 1,000 ids.
    rows = [
        m
        for chunk in _chunks(sorted(ids))
        # Rewritten before the hand-over: not worth reading.
        for m in Message.objects.filter(among("pk", chunk)).defer(
            "subject", "body_text", "body_html", "payload"
        )
    ]
    held = [m for m in rows if m.status == MessageStatus.SENDING and m.leased_by == worker_id]
    return sorted(held, key=lambda m: (m.next_attempt_at, m.pk))


def dispatch_batch(
    ids: Sequence[int],
    *,
    worker_id: str,
    backends: dict[str, ChannelBackend],
    stop: threading.Event | None = None,
    clock: Callable[[], datetime.datetime] = timezone.now,
) -> DrainCounts:
    """Process the messages `ids` that `worker_id` has just claimed."""
    counts = DrainCounts()
    messages = claimed_messages(ids, worker_id=worker_id)
    now = clock()
    prepared = dispatch_prepare(messages, now=now)
    for channel in {r.message.channel for r in prepared.ready} - backends.keys():
        try:
            backends[channel] = backend_for(channel)
        except Exception as exc:  # a setting that names no usable backend
            log.exception("no backend for %s", channel)
            error = f"the {channel} backend cannot be used: {exc}"
            prepared.stopped.extend(
                _transient(r.message, now, error, r.message.attempts + 1)
                for r in prepared.ready
                if r.message.channel == channel
            )
            prepared.ready = [r for r in prepared.ready if r.message.channel != channel]
    dispatch_record_stopped(prepared, counts)
    if not prepared.ready:
        return counts
    channels = {r.message.channel for r in prepared.ready}
    for channel in channels:
        backends[channel].open(senders=prepared.senders)
    results = _Results(worker_id)
    held = {r.message.pk for r in prepared.ready}
    renew_every = max(1.0, lease_seconds() / 3)
    renewed = time.monotonic()
    pending = list(prepared.ready)
    handed = 0
    group_size = max(1, int(settings.CARTERA_OUTBOX_HANDOVER_GROUP))
    try:
        while pending:
            if stop is not None and stop.is_set():
                break
            if handed and clock() - now > GATE_MARGIN:
                break  # the gate's decisions are getting old: decide the rest again
            if time.monotonic() - renewed > renew_every:
                held = outbox_lease_extend(
                    ids=[r.message.pk for r in pending], worker_id=worker_id, now=clock()
                )
                renewed = time.monotonic()
            group: list[Ready] = []
            while pending and len(group) < group_size:
                ready = pending.pop(0)
                if ready.message.pk in held:  # else its lease ran out: someone else settles it
                    group.append(ready)
            moment = clock()
            # One commit records the previous group's results and this group's content and
            # hand-over: a crash from here on leaves at most this group unknown.
            with transaction.atomic():
                results.write()
                group = [ready for ready in group if _hand_over(ready, worker_id, moment)]
            for ready in group:  # handed over: they are sent even if a stop was asked for
                handed += 1
                _send_one(ready, backends[ready.message.channel], results, counts, clock)
    finally:
        with transaction.atomic():
            results.write()
        for channel in channels:
            backends[channel].close()
    if pending:
        counts.released += _release([r.message.pk for r in pending], worker_id)
    return counts


def _send_one(
    ready: Ready,
    backend: ChannelBackend,
    results: _Results,
    counts: DrainCounts,
    clock: Callable[[], datetime.datetime],
) -> None:
    message = ready.message
    try:
        result = backend.send(message, ready.rendered)
    except PermanentError as exc:
        moment = clock()
        error = str(exc)
        results.stopped.append(
            Stop(message, MessageStatus.FAILED.value, error, None, error, message.attempts)
        )
        results.activities.append(
            _activity_row(
                message,
                kind=ActivityKind.SYSTEM,
                at=moment,
                contact=False,
                outcome="message_failed",
                note=_stopped_note(MessageStatus.FAILED.value, error, None),
            )
        )
        counts.failed += 1
        return
    except Exception as exc:  # TransientError, or anything a backend did not foresee
        moment = clock()
        error = str(exc) if isinstance(exc, TransientError) else f"{exc.__class__.__name__}: {exc}"
        if not isinstance(exc, TransientError):
            log.exception("message %s: the %s backend failed", message.pk, message.channel)
        stopped = _transient(message, moment, error, message.attempts)
        results.stopped.append(stopped)
        results.activities.append(
            _activity_row(
                message,
                kind=ActivityKind.SYSTEM,
                at=moment,
                contact=False,
                outcome=_OUTCOME[stopped.status],
                note=_stopped_note(stopped.status, stopped.reason, stopped.retry),
            )
        )
        if stopped.status == MessageStatus.FAILED.value:
            counts.failed += 1
        else:
            counts.retrying += 1
        return
    if result.handed_over:
        # A letter in the day's print batch: it becomes sent (and a contact) once printed.
        counts.letters += 1
        return
    moment = clock()
    results.sent.append((message, result, moment))
    results.activities.append(
        _activity_row(
            message,
            kind=message.channel,
            at=moment,
            contact=True,
            outcome="sent",
            note=message.subject or message.template_code,
        )
    )
    counts.sent += 1


def _release(ids: Sequence[int], worker_id: str) -> int:
    """Give back claimed messages that were never handed over (the worker is stopping)."""
    with transaction.atomic():
        return Message.objects.filter(
            pk__in=list(ids),
            status=MessageStatus.SENDING,
            leased_by=worker_id,
            handed_at__isnull=True,
        ).update(status=MessageStatus.QUEUED, lease_until=None, leased_by="")


def outbox_drain(
    *,
    worker_id: str | None = None,
    batch: int | None = None,
    stop: threading.Event | None = None,
    until: float | None = None,
    backends: Mapping[str, ChannelBackend] | None = None,
    clock: Callable[[], datetime.datetime] = timezone.now,
) -> DrainCounts:
    """Send everything due now, batch after batch, until nothing is due (or `stop` is set, or
    the monotonic clock passes `until`). Returns the counts."""
    worker = worker_id or worker_id_new()
    size = int(batch or settings.CARTERA_OUTBOX_BATCH)
    cache: dict[str, ChannelBackend] = dict(backends or {})
    counts = DrainCounts()
    while not (stop is not None and stop.is_set()):
        if until is not None and time.monotonic() >= until:
            break
        ids = outbox_claim(worker_id=worker, limit=size, now=clock())
        if not ids:
            break
        counts.add(dispatch_batch(ids, worker_id=worker, backends=cache, stop=stop, clock=clock))
    return counts
