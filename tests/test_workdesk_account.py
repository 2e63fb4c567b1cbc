"""The account page: one page with the debtor, contact points, documents, payments and one
timeline; in-page actions with htmx and without JavaScript; a fixed number of queries."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cartera.core.audit import Actor
from cartera.core.models import AuditEvent
from cartera.core.money import format_minor
from cartera.messaging.models import Message, MessageStatus, Template
from cartera.negotiation.models import Dispute, Promise, PromiseStatus
from cartera.negotiation.services import dispute_open, promise_create
from cartera.portfolio.models import Activity, ContactKind, ContactPoint, Debtor
from cartera.strategy.models import Action, ActionStatus
from cartera.workdesk.models import Callback, OutcomeCode
from cartera.workdesk.queries import WorklistFilters, worklist
from cartera.workdesk.services import contact_point_correct
from tests.messaging_helpers import TEMPLATE, messaging_ready
from tests.workdesk_support import AS_OF, BOGOTA, NOW

# The workdesk fixtures: clock, team, portfolio.
pytest_plugins = ["tests.workdesk_fixtures"]


@pytest.fixture
def consented(portfolio):
    """The debtors authorized calls and SMS on their mobiles (Colombia requires it)."""
    ContactPoint.objects.filter(debtor__creditor=portfolio).update(
        consent_call=True, consent_sms=True
    )
    messaging_ready()
    return portfolio


@pytest.fixture
def account(consented, team):
    """cobradora's first account on her worklist: 10 days late, a call task waiting."""
    rows = worklist(
        creditors=[consented],
        filters=WorklistFilters(collector_id=team["cobradora"].pk, reason="task"),
        as_of=AS_OF,
    ).rows
    return Debtor.objects.get(pk=rows[0].debtor_id)


def code(name):
    return OutcomeCode.objects.get(creditor__isnull=True, code=name)


def page(client, debtor, **params):
    return client.get(reverse("workdesk:account", args=[debtor.pk]), params)


def test_the_page_shows_the_debtor_and_everything_that_happened(client, account, team):
    actor = Actor.for_user(team["cobradora"])
    Activity.objects.create(
        creditor=account.creditor,
        debtor=account,
        kind="call",
        at=NOW - datetime.timedelta(days=1),
        is_contact=True,
        reached=True,
        outcome="contactado",
        note="dice que paga el viernes",
        user=team["cobradora"],
        rule_breach="Colombia: at most 1 contact per day",
    )
    Message.objects.create(
        creditor=account.creditor,
        debtor=account,
        channel="email",
        template_code="aviso_1",
        idempotency_key="k1",
        origin="aviso_1",
        status=MessageStatus.DELIVERED,
        subject="Factura vencida",
    )
    promise_create(
        creditor=account.creditor,
        debtor=account,
        amount=promise_amount(account),
        promised_date=AS_OF + datetime.timedelta(days=3),
        as_of=AS_OF,
        actor=actor,
    )
    late = account.documents.order_by("due_date").first()
    phone = account.contact_points.get()
    contact_point_correct(contact_point=phone, actor=actor, valid=False, reason="buzón ajeno")
    client.force_login(team["cobradora"])
    client.cookies["django_language"] = "en"

    content = page(client, account).content.decode()

    assert account.name in content and account.payment_reference in content
    assert phone.value in content and late.number in content
    for text in (
        "Call · Contactado, sin compromiso",
        "dice que paga el viernes",
        "rule broken",
        "Colombia: at most 1 contact per day",
        "Email message aviso_1",
        "Delivered",
        "Promise to pay",
        "Contact point corrected",
        "buzón ajeno",
        "Strategy: llamada_1",
        "Import #",
        "Became overdue",
    ):
        assert text in content, text
    # Amounts as the creditor's country writes them (es_CO: $ 1.090,00).
    assert format_minor(late.balance_minor, "COP", "es_CO") in content
    assert "," in format_minor(late.balance_minor, "COP", "es_CO")


def promise_amount(debtor):
    from decimal import Decimal

    return Decimal("100")


def test_the_page_reads_a_fixed_number_of_queries(client, account, team):
    """A short history (one of everything) and a long one read the same queries."""
    actor = Actor.for_user(team["cobradora"])
    documents = list(account.documents.order_by("due_date"))

    def history(n, first):
        for k in range(first, first + n):
            Activity.objects.create(
                creditor=account.creditor, debtor=account, kind="call", at=NOW, is_contact=True
            )
            Message.objects.create(
                creditor=account.creditor,
                debtor=account,
                channel="sms",
                template_code="x",
                idempotency_key=f"m{k}",
                origin="t",
            )
            ContactPoint.objects.create(debtor=account, kind="email", value=f"p{k}@x.co")
            Callback.objects.create(
                creditor=account.creditor, debtor=account, due_at=NOW, created_by="t"
            )
            promise_create(
                creditor=account.creditor,
                debtor=account,
                amount=promise_amount(account),
                promised_date=AS_OF + datetime.timedelta(days=k),
                as_of=AS_OF,
                actor=actor,
            )

    def counted():
        with CaptureQueriesContext(connection) as queries:
            assert page(client, account).status_code == 200
        return len(queries.captured_queries)

    dispute_open(
        creditor=account.creditor,
        debtor=account,
        documents=documents[1:],
        category="price",
        note="",
        as_of=AS_OF,
        actor=actor,
    )
    history(1, 0)
    client.force_login(team["cobradora"])
    page(client, account)
    short = counted()
    history(30, 1)
    assert counted() == short
    assert short <= 26


def contact_data(outcome, **extra):
    data = {
        "contact-channel": "call",
        "contact-outcome": code(outcome).pk,
        "contact-right_party": "on",
        "contact-note": "habló la titular",
    }
    data.update({f"contact-{k}": v for k, v in extra.items()})
    return data


def test_logging_a_call_with_a_promise_without_javascript(client, account, team):
    client.force_login(team["cobradora"])
    promised = AS_OF + datetime.timedelta(days=4)
    task = Action.objects.get(debtor=account, status=ActionStatus.OPEN)

    response = client.post(
        reverse("workdesk:contact", args=[account.pk]),
        contact_data("promesa", promise_amount="1.500,00", promise_date=promised.isoformat()),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("workdesk:account", args=[account.pk])
    activity = Activity.objects.get(debtor=account, kind="call")
    assert (activity.outcome, activity.reached, activity.user) == (
        "promesa",
        True,
        team["cobradora"],
    )
    assert activity.rule_breach == ""
    promise = Promise.objects.get(debtor=account)
    assert (promise.amount_minor, promise.promised_date, promise.taken_by) == (
        150_000,
        promised,
        team["cobradora"],
    )
    task.refresh_from_db()
    assert task.status == ActionStatus.DONE
    event = AuditEvent.objects.get(action="contact.record")
    assert event.changes["tasks_done"] == [task.pk] and event.changes["promise"] == promise.pk
    followed = client.get(response["Location"])
    assert "Promise recorded" in followed.content.decode() or followed.status_code == 200


def test_logging_with_htmx_answers_the_account_section(client, account, team):
    client.force_login(team["cobradora"])
    client.cookies["django_language"] = "en"
    response = client.post(
        reverse("workdesk:contact", args=[account.pk]),
        contact_data("no_contesta"),
        HTTP_HX_REQUEST="true",
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<div id="account-main"')
    assert "<html" not in content
    assert "Contact logged: No contesta." in content
    activity = Activity.objects.get(debtor=account, kind="call")
    # Nobody answered: never a right-party contact, whatever the box said.
    assert activity.reached is False


def test_a_wrong_form_records_nothing_and_says_why(client, account, team):
    client.force_login(team["cobradora"])
    client.cookies["django_language"] = "en"
    response = client.post(reverse("workdesk:contact", args=[account.pk]), contact_data("promesa"))
    assert response.status_code == 422
    assert "A promise to pay needs the amount and the date" in response.content.decode()
    assert not Activity.objects.filter(debtor=account).exists()
    too_much = client.post(
        reverse("workdesk:contact", args=[account.pk]),
        contact_data(
            "promesa",
            promise_amount="99.999.999",
            promise_date=(AS_OF + datetime.timedelta(days=1)).isoformat(),
        ),
        HTTP_HX_REQUEST="true",
    )
    assert too_much.status_code == 422 and "is more than the" in too_much.content.decode()
    assert not Activity.objects.filter(debtor=account).exists()  # all or nothing


def test_a_call_outside_the_hours_is_logged_and_flagged(client, account, team):
    client.cookies["django_language"] = "en"
    with time_machine.travel(datetime.datetime(2026, 11, 24, 22, 30, tzinfo=BOGOTA), tick=False):
        client.force_login(team["cobradora"])
        response = client.post(
            reverse("workdesk:contact", args=[account.pk]),
            contact_data("no_contesta"),
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200, response.content.decode()[:3000]
    activity = Activity.objects.get(debtor=account)
    assert activity.rule_breach
    content = response.content.decode()
    assert "broke a contact rule" in content and "rule broken" in content


def test_wrong_number_marks_the_phone_not_valid(client, account, team):
    client.force_login(team["cobradora"])
    phone = account.contact_points.get()
    client.post(
        reverse("workdesk:contact", args=[account.pk]),
        {**contact_data("numero_errado"), "contact-contact_point": phone.pk},
    )
    phone.refresh_from_db()
    assert not phone.valid
    assert AuditEvent.objects.filter(action="contact_point.correct", object_id=str(phone.pk))


def test_a_callback_is_scheduled_then_done(client, account, team):
    client.force_login(team["cobradora"])
    response = client.post(
        reverse("workdesk:callback", args=[account.pk]),
        {"callback-due_at": "2026-11-25T15:30", "callback-note": "después del almuerzo"},
    )
    assert response.status_code == 302
    callback = Callback.objects.get(debtor=account)
    assert callback.due_at == datetime.datetime(2026, 11, 25, 15, 30, tzinfo=BOGOTA)
    assert callback.user == team["cobradora"]
    past = client.post(
        reverse("workdesk:callback", args=[account.pk]), {"callback-due_at": "2026-11-20T09:00"}
    )
    assert past.status_code == 422
    client.post(reverse("workdesk:callback_done", args=[account.pk, callback.pk]))
    callback.refresh_from_db()
    assert callback.done_at is not None and callback.done_by == "cobradora"


def template_id(channel):
    return Template.objects.get(creditor__isnull=True, code=TEMPLATE, channel=channel).pk


def test_send_a_message_preview_first_then_queue_once(client, account, team):
    client.force_login(team["cobradora"])
    client.cookies["django_language"] = "en"
    data = {"message-template": template_id("sms"), "message-nonce": "n0nce-1"}

    preview = client.post(reverse("workdesk:message_preview", args=[account.pk]), data)
    content = preview.content.decode()
    assert preview.status_code == 200
    assert f"ACME: {account.name}, su saldo vencido es" in content
    assert "The contact rules allow this message now." in content
    assert not Message.objects.filter(debtor=account, origin="manual").exists()

    for _ in range(2):  # a double click queues one message
        sent = client.post(reverse("workdesk:message_send", args=[account.pk]), data)
        assert sent.status_code == 302
    message = Message.objects.get(debtor=account, origin="manual")
    assert (message.channel, message.template_code, message.status) == (
        "sms",
        TEMPLATE,
        MessageStatus.QUEUED,
    )
    assert message.created_by == "cobradora"


def test_the_gate_refusal_is_explained_and_nothing_is_queued(client, account, team):
    account.contact_points.update(consent_sms=False)
    client.force_login(team["cobradora"])
    client.cookies["django_language"] = "en"
    data = {"message-template": template_id("sms"), "message-nonce": "n0nce-2"}
    preview = client.post(reverse("workdesk:message_preview", args=[account.pk]), data)
    assert "The contact rules do not allow it now" in preview.content.decode()
    assert "Send now" not in preview.content.decode()
    sent = client.post(reverse("workdesk:message_send", args=[account.pk]), data)
    assert sent.status_code == 422
    assert "The contact rules do not allow it now" in sent.content.decode()
    assert not Message.objects.filter(debtor=account, origin="manual").exists()


def test_a_dispute_and_a_promise_from_their_panels(client, account, team):
    client.force_login(team["cobradora"])
    documents = list(account.documents.order_by("due_date"))
    response = client.post(
        reverse("workdesk:dispute", args=[account.pk]),
        {
            "dispute-documents": [documents[0].pk],
            "dispute-category": "quality",
            "dispute-note": "x",
        },
    )
    assert response.status_code == 302
    dispute = Dispute.objects.get(debtor=account)
    assert list(dispute.documents.all()) == [documents[0]]
    refused = client.post(
        reverse("workdesk:promise", args=[account.pk]),
        {
            "promise-amount": "100",
            "promise-promised_date": AS_OF.isoformat(),
            "promise-documents": [documents[0].pk],
            "promise-channel": "call",
        },
    )
    assert refused.status_code == 422  # the document is in dispute
    plan = client.post(
        reverse("workdesk:promise", args=[account.pk]),
        {
            "promise-amount": "100",
            "promise-promised_date": AS_OF.isoformat(),
            "promise-amount_2": "200",
            "promise-date_2": (AS_OF + datetime.timedelta(days=30)).isoformat(),
            "promise-channel": "whatsapp",
        },
    )
    assert plan.status_code == 302
    parts = list(Promise.objects.filter(debtor=account, status=PromiseStatus.PENDING))
    assert [p.amount_minor for p in parts] == [10_000, 20_000]
    assert parts[0].plan_id == parts[1].plan_id is not None


def test_contact_points_are_added_normalized_and_corrected_with_an_audit(client, account, team):
    client.force_login(team["cobradora"])
    response = client.post(
        reverse("workdesk:contact_point_add", args=[account.pk]),
        {"point-kind": "phone", "point-value": "(601) 555 1234", "point-consent_call": "yes"},
    )
    assert response.status_code == 302
    point = ContactPoint.objects.get(debtor=account, value="+576015551234")
    assert (point.kind, point.consent_call, point.consent_sms) == (
        ContactKind.LANDLINE,
        True,
        None,
    )
    duplicate = client.post(
        reverse("workdesk:contact_point_add", args=[account.pk]),
        {"point-kind": "landline", "point-value": "6015551234"},
    )
    assert duplicate.status_code == 422
    bad = client.post(
        reverse("workdesk:contact_point_add", args=[account.pk]),
        {"point-kind": "email", "point-value": "no es correo"},
    )
    assert bad.status_code == 422

    prefix = f"cp{point.pk}"
    response = client.post(
        reverse("workdesk:contact_point_correct", args=[account.pk, point.pk]),
        {
            f"{prefix}-value": "601 555 9999",
            f"{prefix}-valid": "on",
            f"{prefix}-do_not_contact": "on",
            f"{prefix}-consent_call": "no",
            f"{prefix}-reason": "el deudor lo pidió",
        },
    )
    assert response.status_code == 302
    point.refresh_from_db()
    assert (point.value, point.do_not_contact, point.consent_call) == ("+576015559999", True, False)
    event = AuditEvent.objects.get(action="contact_point.correct")
    assert event.user == team["cobradora"]
    assert event.changes["value"] == ["+576015551234", "+576015559999"]
    assert event.changes["reason"] == "el deudor lo pidió"
    client.cookies["django_language"] = "en"
    assert "Contact point corrected" in page(client, account).content.decode()


def test_an_account_nobody_holds_opens_and_says_so(client, account, team):
    from cartera.strategy.models import Account

    Account.objects.filter(debtor=account).update(collector=None)
    client.force_login(team["supervisora"])
    client.cookies["django_language"] = "en"
    response = page(client, account)
    assert response.status_code == 200
    assert "Collector <strong>nobody</strong>" in response.content.decode()
