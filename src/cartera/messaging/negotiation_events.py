"""Messages to the debtor that promises and agreements ask for (`cartera.negotiation.signals`).

Negotiation sits below messaging and never imports it; it sends signals inside its
transactions and these receivers put the messages into the outbox in the same transaction.
Each message goes on the debtor's preferred channel: the primary contact point that is valid,
not marked do-not-contact and whose consent for the channel is not refused, else the first
such point by channel (email, SMS, WhatsApp, letter). A debtor with none gets no message.
Keys make every event safe to send twice.

| event | template | key |
| --- | --- | --- |
| promise taken | `promesa_confirmacion` | `C:promise:P:confirm` |
| promise broken | `promesa_incumplida` | `C:promise:P:broken` |
| agreement approved | `acuerdo_confirmacion` | `C:agreement:A:confirm` |
| installment due soon | `cuota_recordatorio` | `C:installment:I:reminder` |
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cartera.core.audit import Actor
from cartera.messaging.models import Channel
from cartera.messaging.services import QueueRequest, messages_queue
from cartera.negotiation.models import AgreementInstallment, Promise
from cartera.negotiation.signals import (
    agreement_activated,
    installments_due,
    promise_taken,
    promises_broken,
)
from cartera.portfolio.models import ContactKind, ContactPoint

# The channel each kind of contact point carries, in order of preference.
_KIND_CHANNEL = {
    ContactKind.EMAIL: Channel.EMAIL,
    ContactKind.MOBILE: Channel.SMS,
    ContactKind.PHONE: Channel.SMS,
    ContactKind.WHATSAPP: Channel.WHATSAPP,
    ContactKind.ADDRESS: Channel.LETTER,
}
_ORDER = [Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.LETTER]
_CONSENT = {
    Channel.EMAIL: "consent_email",
    Channel.SMS: "consent_sms",
    Channel.WHATSAPP: "consent_whatsapp",
    Channel.LETTER: "consent_letter",
}


def preferred_channels(debtor_ids: Iterable[int]) -> dict[int, str]:
    """{debtor: channel} for the debtors that can be written to (one query)."""
    ids = sorted(set(debtor_ids))
    if not ids:
        return {}
    best: dict[int, tuple[int, int, str]] = {}
    for point in ContactPoint.objects.filter(
        debtor_id__in=ids, valid=True, do_not_contact=False, kind__in=list(_KIND_CHANNEL)
    ).order_by("pk"):
        channel = _KIND_CHANNEL[ContactKind(point.kind)]
        if getattr(point, _CONSENT[channel]) is False:
            continue
        rank = (0 if point.is_primary else 1, _ORDER.index(channel), channel)
        if point.debtor_id not in best or rank < best[point.debtor_id]:
            best[point.debtor_id] = rank
    return {debtor_id: rank[2] for debtor_id, rank in best.items()}


def _queue(requests: list[QueueRequest], actor: Actor) -> None:
    if requests:
        messages_queue(requests=requests, actor=actor)


def _promise_confirmation(
    sender: Any, *, promise: Promise, plan: Any, actor: Actor, **_: Any
) -> None:
    channel = preferred_channels([promise.debtor_id]).get(promise.debtor_id)
    if channel is None:
        return
    subject = f"plan:{plan.pk}" if plan is not None else f"promise:{promise.pk}"
    _queue(
        [
            QueueRequest(
                creditor_id=promise.creditor_id,
                debtor_id=promise.debtor_id,
                channel=channel,
                template_code="promesa_confirmacion",
                key=f"{promise.creditor_id}:{subject}:confirm",
                origin="promise",
                origin_ref=promise.pk,
                reason="promise to pay taken",
                document_ids=tuple(promise.documents.values_list("pk", flat=True)),
                promise_id=promise.pk,
            )
        ],
        actor,
    )


def _promises_broken(
    sender: Any, *, creditor: Any, as_of: Any, promise_ids: list[int], actor: Actor, **_: Any
) -> None:
    rows = list(
        Promise.objects.filter(pk__in=promise_ids, creditor=creditor).values_list(
            "pk", "debtor_id", "promised_date"
        )
    )
    channels = preferred_channels(debtor_id for _pk, debtor_id, _date in rows)
    _queue(
        [
            QueueRequest(
                creditor_id=creditor.pk,
                debtor_id=debtor_id,
                channel=channels[debtor_id],
                template_code="promesa_incumplida",
                key=f"{creditor.pk}:promise:{pk}:broken",
                # Not a confirmation: dropped if the debtor pays or promises again first.
                origin="promise_broken",
                origin_ref=pk,
                reason=f"promise to pay by {promised} broken on {as_of}",
                promise_id=pk,
            )
            for pk, debtor_id, promised in rows
            if debtor_id in channels
        ],
        actor,
    )


def _agreement_confirmation(sender: Any, *, agreement: Any, actor: Actor, **_: Any) -> None:
    channel = preferred_channels([agreement.debtor_id]).get(agreement.debtor_id)
    if channel is None:
        return
    documents = AgreementInstallment.objects.filter(
        agreement=agreement, document__isnull=False
    ).order_by("n")
    _queue(
        [
            QueueRequest(
                creditor_id=agreement.creditor_id,
                debtor_id=agreement.debtor_id,
                channel=channel,
                template_code="acuerdo_confirmacion",
                key=f"{agreement.creditor_id}:agreement:{agreement.pk}:confirm",
                origin="agreement",
                origin_ref=agreement.pk,
                reason=f"payment agreement {agreement.number} approved",
                document_ids=tuple(documents.values_list("document_id", flat=True)),
            )
        ],
        actor,
    )


def _installment_reminders(
    sender: Any, *, creditor: Any, as_of: Any, installments: list[Any], actor: Actor, **_: Any
) -> None:
    channels = preferred_channels(due.debtor_id for due in installments)
    _queue(
        [
            QueueRequest(
                creditor_id=creditor.pk,
                debtor_id=due.debtor_id,
                channel=channels[due.debtor_id],
                template_code="cuota_recordatorio",
                key=f"{creditor.pk}:installment:{due.installment_id}:reminder",
                origin="installment",
                origin_ref=due.installment_id,
                reason=(
                    f"installment {due.n} of {due.of} of agreement {due.agreement_number} "
                    f"falls due on {due.due_date}"
                ),
                document_ids=(due.document_id,),
            )
            for due in installments
            if due.debtor_id in channels
        ],
        actor,
    )


def connect() -> None:
    """Called once from `MessagingConfig.ready`."""
    promise_taken.connect(_promise_confirmation, dispatch_uid="cartera_promise_confirmation")
    promises_broken.connect(_promises_broken, dispatch_uid="cartera_promises_broken")
    agreement_activated.connect(
        _agreement_confirmation, dispatch_uid="cartera_agreement_confirmation"
    )
    installments_due.connect(_installment_reminders, dispatch_uid="cartera_installment_reminders")
