"""Accounts, templates and queued messages for the outbox and worker tests.

Acme (the `creditor` fixture, Colombia) collects from debtors with one overdue invoice each and
an email address and a mobile number they authorized. Colombia's contact rule allows one
contact a day, Monday to Friday 07:00–19:00 and Saturday 08:00–15:00 (Bogotá time).
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from cartera.core.audit import Actor
from cartera.messaging.jurisdictions import contact_rules_ensure
from cartera.messaging.models import Message, Template
from cartera.messaging.services import QueueRequest, messages_queue
from cartera.portfolio.models import (
    ContactKind,
    ContactPoint,
    Creditor,
    Debtor,
    Document,
)
from cartera.portfolio.services import references_allocate

BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
# Tuesday 24 November 2026, 10:00 in Bogotá: a working day inside Colombia's hours.
TUESDAY_10 = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)
TEMPLATE = "aviso_prueba"

TEMPLATES: dict[str, dict[str, Any]] = {
    "email": {
        "subject": "Factura vencida, {{ debtor.name }}",
        "body_text": "Hola {{ debtor.name }}: su saldo vencido es {{ overdue_total }}.",
        "body_html": "<p>Hola {{ debtor.name }}: su saldo vencido es <b>{{ overdue_total }}</b>.</p>",
    },
    "sms": {"body_text": "ACME: {{ debtor.name }}, su saldo vencido es {{ overdue_total }}."},
    "whatsapp": {
        "whatsapp_template": "recordatorio_pago",
        "whatsapp_params": ["{{ debtor.name }}", "{{ overdue_total }}"],
        "body_text": "Hola {{1}}, su saldo vencido es {{2}}.",
    },
    "letter": {
        "subject": "Requerimiento de pago",
        "body_html": "<p>{{ debtor.name }}: adeuda {{ overdue_total }}.</p>",
        "body_text": "{{ debtor.name }}: adeuda {{ overdue_total }}.",
    },
}


def messaging_ready() -> None:
    """The shipped contact rules (a transactional test elsewhere may have flushed them) and
    this file's templates, in Spanish, for every channel."""
    contact_rules_ensure()
    for channel, fields in TEMPLATES.items():
        Template.objects.update_or_create(
            creditor=None, code=TEMPLATE, channel=channel, language="es", defaults=fields
        )


def accounts(
    creditor: Creditor,
    count: int,
    *,
    balance_minor: int = 123_456_700,
    due: datetime.date = datetime.date(2026, 10, 1),
    email: bool = True,
    mobile: bool = True,
    address: bool = False,
    consent: bool | None = True,
    country: str = "CO",
    prefix: str = "C",
) -> list[Debtor]:
    """`count` debtors, each with one open invoice and the contact points asked for."""
    references = references_allocate(creditor=creditor, count=count)
    debtors = Debtor.objects.bulk_create(
        Debtor(
            creditor=creditor,
            external_id=f"{prefix}{n}",
            name=f"Deudor {prefix}{n}",
            country=country,
            payment_reference=references[n],
        )
        for n in range(count)
    )
    Document.objects.bulk_create(
        Document(
            creditor=creditor,
            debtor=debtor,
            number=f"FV-{debtor.external_id}",
            external_id=f"D-{debtor.external_id}",
            issue_date=due - datetime.timedelta(days=30),
            due_date=due,
            currency=creditor.currency,
            amount_minor=balance_minor,
            balance_minor=balance_minor,
            payment_reference=debtor.payment_reference,
        )
        for debtor in debtors
    )
    points = []
    for debtor in debtors:
        if email:
            points.append(
                ContactPoint(
                    debtor=debtor,
                    kind=ContactKind.EMAIL,
                    value=f"{debtor.external_id.lower()}@example.com",
                    is_primary=True,
                    consent_email=consent,
                )
            )
        if mobile:
            points.append(
                ContactPoint(
                    debtor=debtor,
                    kind=ContactKind.MOBILE,
                    value=f"+5730012{debtor.pk:05d}",
                    consent_sms=consent,
                    consent_whatsapp=consent,
                )
            )
        if address:
            points.append(
                ContactPoint(
                    debtor=debtor,
                    kind=ContactKind.ADDRESS,
                    value=f"Calle {debtor.pk} # 1-23, Bogotá",
                    consent_letter=consent,
                )
            )
    ContactPoint.objects.bulk_create(points)
    return debtors


def queue(
    debtors: Sequence[Debtor],
    channel: str = "email",
    *,
    origin: str = "aviso_1",
    template: str = TEMPLATE,
    with_documents: bool = True,
    key_prefix: str = "test",
    not_before: datetime.datetime | None = None,
) -> list[Message]:
    """Queue one message per debtor (about its invoice) and return them."""
    documents = dict(Document.objects.filter(debtor__in=debtors).values_list("debtor_id", "pk"))
    keys = [f"{key_prefix}:{channel}:{debtor.pk}" for debtor in debtors]
    messages_queue(
        requests=[
            QueueRequest(
                creditor_id=debtor.creditor_id,
                debtor_id=debtor.pk,
                channel=channel,
                template_code=template,
                key=key,
                origin=origin,
                reason="test",
                document_ids=(documents[debtor.pk],) if with_documents else (),
                not_before=not_before,
            )
            for debtor, key in zip(debtors, keys, strict=True)
        ],
        actor=Actor.system("tests"),
    )
    found = {m.idempotency_key: m for m in Message.objects.filter(idempotency_key__in=keys)}
    return [found[key] for key in keys]


def statuses(messages: Sequence[Message]) -> list[str]:
    ids = [m.pk for m in messages]
    by_id = dict(Message.objects.filter(pk__in=ids).values_list("pk", "status"))
    return [by_id[pk] for pk in ids]


def local(moment: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(moment, BOGOTA)
