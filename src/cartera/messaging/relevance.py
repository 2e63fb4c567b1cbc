"""Does the reason for a message still hold just before it is sent?

A reminder queued this morning must not reach a debtor who paid at noon. Before sending, the
worker asks `Relevance.cancel_reason(message)` and cancels the message with that reason when
there is one:

- paid: the documents it is about have no balance left (a message about no document in
  particular: nothing of the account is overdue any more);
- disputed: every one of those documents is in an open dispute;
- a promise since: for messages the strategy queued, the debtor promised to pay (on those
  documents, or on the whole account) after the message was queued.

Confirmations (of a payment, a promise, an agreement) are about something that happened and
are never cancelled here. Whether the contact is allowed now is the compliance gate's
question, not this one's.

Everything is read for a whole batch in a fixed number of queries.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator, Sequence

from django.utils import timezone
from django.utils.translation import gettext

from cartera.messaging.batchsql import among
from cartera.messaging.models import Message
from cartera.negotiation.models import DisputeDocument, Promise, PromiseStatus
from cartera.portfolio.models import Document

CHUNK = 5000

CONFIRMATION_ORIGINS = frozenset({"receipt", "payment", "promise", "agreement"})
"""Origins of messages that confirm something that happened: never cancelled as irrelevant."""

NON_STRATEGY_ORIGINS = CONFIRMATION_ORIGINS | frozenset({"manual", "installment", "preview"})
"""Origins that are not a strategy step: a promise made since does not cancel them (a
collector who sends a message after the promise means it)."""


def from_strategy(origin: str) -> bool:
    """Strategy messages carry their step's code as origin; the others use the names above.

    The broken-promise notice ("promise_broken") counts as a reminder here: a new promise made
    after it was queued makes it pointless, as it does a strategy step's reminder.
    """
    return origin not in NON_STRATEGY_ORIGINS


def _chunks(values: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class Relevance:
    """Loads, for a batch of messages, what decides whether each still makes sense."""

    def __init__(self, messages: Sequence[Message]) -> None:
        self._documents: dict[int, tuple[int, int, datetime.date]] = {}  # id: debtor, balance, due
        self._open_by_debtor: dict[int, list[tuple[int, int, datetime.date]]] = defaultdict(
            list
        )  # debtor: [(id, balance, due)] with balance > 0
        self._disputed: set[int] = set()
        self._promises: dict[int, list[tuple[datetime.datetime, set[int]]]] = defaultdict(list)
        checked = [m for m in messages if m.origin not in CONFIRMATION_ORIGINS]
        if checked:
            self._load(checked)

    def _load(self, messages: Sequence[Message]) -> None:
        named = sorted({int(pk) for m in messages for pk in (m.document_ids or [])})
        whole = sorted({m.debtor_id for m in messages if not m.document_ids})
        for chunk in _chunks(named):
            for pk, debtor_id, balance, due in Document.objects.filter(
                among("pk", chunk)
            ).values_list("pk", "debtor_id", "balance_minor", "due_date"):
                self._documents[pk] = (debtor_id, balance, due)
        for chunk in _chunks(whole):
            rows = Document.objects.filter(
                among("debtor_id", chunk), balance_minor__gt=0
            ).values_list("pk", "debtor_id", "balance_minor", "due_date")
            for pk, debtor_id, balance, due in rows.order_by():
                self._open_by_debtor[debtor_id].append((pk, balance, due))
        candidates = sorted(
            {pk for pk, (_d, balance, _due) in self._documents.items() if balance > 0}
            | {row[0] for rows in self._open_by_debtor.values() for row in rows}
        )
        for chunk in _chunks(candidates):
            self._disputed.update(
                DisputeDocument.objects.filter(
                    among("document_id", chunk), is_open=True
                ).values_list("document_id", flat=True)
            )
        strategy = [m for m in messages if from_strategy(m.origin)]
        if not strategy:
            return
        since = min(m.created_at for m in strategy)
        debtors = sorted({m.debtor_id for m in strategy})
        promise_ids: list[int] = []
        by_id: dict[int, tuple[int, datetime.datetime, set[int]]] = {}
        for chunk in _chunks(debtors):
            promises = Promise.objects.filter(
                among("debtor_id", chunk),
                status__in=(PromiseStatus.PENDING, PromiseStatus.KEPT),
                created_at__gt=since,
            ).values_list("pk", "debtor_id", "created_at")
            for pk, debtor_id, created in promises.order_by():
                by_id[pk] = (debtor_id, created, set())
                promise_ids.append(pk)
        through = Promise.documents.through
        for chunk in _chunks(sorted(promise_ids)):
            for promise_id, document_id in through.objects.filter(
                among("promise_id", chunk)
            ).values_list("promise_id", "document_id"):
                by_id[promise_id][2].add(document_id)
        for debtor_id, created, documents in by_id.values():
            self._promises[debtor_id].append((created, documents))

    def cancel_reason(self, message: Message, today: datetime.date) -> str:
        """Why `message` no longer makes sense on `today` (the creditor's date), or ""."""
        if message.origin in CONFIRMATION_ORIGINS:
            return ""
        named = [int(pk) for pk in (message.document_ids or [])]
        if named:
            rows = [(pk, self._documents.get(pk)) for pk in named]
            open_ids = [pk for pk, row in rows if row is not None and row[1] > 0]
            if not open_ids:
                return gettext("Paid: the documents it is about have no balance left")
            if all(pk in self._disputed for pk in open_ids):
                return gettext("Every document it is about is in an open dispute")
        else:
            overdue = [
                pk
                for pk, _balance, due in self._open_by_debtor.get(message.debtor_id, ())
                if due < today
            ]
            if not overdue:
                return gettext("Paid: nothing of the account is overdue any more")
            if all(pk in self._disputed for pk in overdue):
                return gettext("Every overdue document of the account is in an open dispute")
        if from_strategy(message.origin):
            for created, documents in self._promises.get(message.debtor_id, ()):
                if created <= message.created_at:
                    continue
                if not documents or not named or documents.intersection(named):
                    local = timezone.localtime(created)
                    return gettext(
                        "The debtor promised to pay (on %(day)s) after this message was queued"
                    ) % {"day": local.date().isoformat()}
        return ""
