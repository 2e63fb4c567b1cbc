"""Delivery reports: the SMS provider's signed callbacks, and email bounces through anymail.

Acme's SMS to Deudor C0 left with the provider id "prov-1"; the provider reports what became
of it, signing each report with the secret both sides share. An outsider who does not know
the secret is refused.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from typing import Any

import pytest
import time_machine
from anymail.signals import AnymailTrackingEvent, tracking
from django.test import Client
from django.utils import translation

from cartera.core.models import AuditEvent
from cartera.messaging.dispatch import outbox_drain
from cartera.messaging.models import Message, MessageStatus
from cartera.messaging.views import callbacks  # noqa: F401  (connects anymail's signal)
from cartera.portfolio.models import Activity, ContactPoint
from tests.messaging_helpers import TUESDAY_10, accounts, messaging_ready, queue

SECRET = "shared-secret"
URL = "/m/callbacks/sms/"


def signed(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(client: Client, payload: Any, *, signature: str | None = None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"HTTP_X_SIGNATURE": signature if signature is not None else signed(body)}
    return client.post(URL, data=body, content_type="application/json", **headers)


@pytest.fixture(autouse=True)
def setup(db, settings):
    from cartera.settings import _http_channel

    messaging_ready()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CARTERA_SMS_BACKEND = "file"
    config = _http_channel("SMS")
    config["callback_secret"] = SECRET
    settings.CARTERA_SMS_HTTP = config
    with translation.override("en"), time_machine.travel(TUESDAY_10, tick=False):
        yield


@pytest.fixture
def sms(creditor, settings, tmp_path) -> Message:
    settings.CARTERA_OUTBOX_DIR = tmp_path
    (message,) = queue(accounts(creditor, 1), "sms")
    assert outbox_drain().sent == 1
    Message.objects.filter(pk=message.pk).update(provider_id="prov-1")
    message.refresh_from_db()
    return message


def test_a_signed_delivery_report_marks_the_message_delivered_and_the_contact_reached(sms):
    client = Client()
    report = {"id": "prov-1", "status": "delivered", "timestamp": "2026-11-24T15:01:00Z"}

    answer = post(client, report)

    assert answer.status_code == 200 and answer.json()["updated"] == 1
    sms.refresh_from_db()
    assert sms.status == MessageStatus.DELIVERED
    assert sms.delivered_at == datetime.datetime(2026, 11, 24, 15, 1, tzinfo=datetime.UTC)
    contact = Activity.objects.get(message_id=sms.pk, is_contact=True)
    assert contact.reached is True
    # The provider repeats itself: nothing changes twice.
    again = post(client, report)
    assert again.status_code == 200 and again.json()["unchanged"] == 1
    assert AuditEvent.objects.filter(action="message.delivered").count() == 1


def test_a_failure_report_fails_the_message_with_the_providers_words(sms):
    answer = post(
        Client(), [{"id": "prov-1", "status": "undelivered", "error": "handset unreachable"}]
    )
    assert answer.status_code == 200
    sms.refresh_from_db()
    assert sms.status == MessageStatus.FAILED and sms.status_reason == "handset unreachable"
    assert Activity.objects.get(message_id=sms.pk, is_contact=True).reached is False


def test_a_report_can_name_the_message_by_its_idempotency_key(sms):
    answer = post(Client(), {"idempotency_key": sms.idempotency_key, "status": "delivered"})
    assert answer.status_code == 200
    assert Message.objects.get(pk=sms.pk).status == MessageStatus.DELIVERED


def test_an_outsider_without_the_secret_is_refused(sms):
    client = Client()
    report = json.dumps({"id": "prov-1", "status": "failed"}).encode()

    assert post(client, None, raw=report, signature=signed(report, "guess")).status_code == 403
    assert post(client, None, raw=report, signature="").status_code == 403
    assert post(client, None, raw=report + b" ", signature=signed(report)).status_code == 403
    assert Message.objects.get(pk=sms.pk).status == MessageStatus.SENT


def test_the_signature_may_carry_a_sha256_prefix(sms):
    report = json.dumps({"id": "prov-1", "status": "delivered"}).encode()
    assert post(Client(), None, raw=report, signature=f"sha256={signed(report)}").status_code == 200


def test_a_signed_body_that_is_not_json_is_a_bad_request(sms):
    answer = post(Client(), None, raw=b"status=delivered")
    assert answer.status_code == 400 and "not JSON" in answer.json()["error"]


def test_callbacks_are_refused_while_no_secret_is_configured(sms, settings):
    settings.CARTERA_SMS_HTTP = {**settings.CARTERA_SMS_HTTP, "callback_secret": ""}
    answer = post(Client(), {"id": "prov-1", "status": "delivered"})
    assert answer.status_code == 403 and "CALLBACK_SECRET" in answer.json()["error"]


def test_an_unknown_message_is_not_found_and_other_statuses_are_ignored(sms):
    client = Client()
    assert post(client, {"id": "nope", "status": "delivered"}).status_code == 404
    answer = post(client, {"id": "prov-1", "status": "accepted"})
    assert answer.status_code == 200 and answer.json()["ignored"] == 1


def test_a_report_for_a_message_still_in_its_workers_hands_asks_to_come_back(sms):
    Message.objects.filter(pk=sms.pk).update(
        status=MessageStatus.SENDING, lease_until=TUESDAY_10 + datetime.timedelta(minutes=5)
    )
    assert post(Client(), {"id": "prov-1", "status": "delivered"}).status_code == 409


def test_a_delivery_report_settles_an_unknown_message(sms):
    Activity.objects.filter(message_id=sms.pk).delete()
    Message.objects.filter(pk=sms.pk).update(status=MessageStatus.UNKNOWN)
    assert post(Client(), {"id": "prov-1", "status": "delivered"}).status_code == 200
    assert Message.objects.get(pk=sms.pk).status == MessageStatus.DELIVERED
    assert Activity.objects.get(message_id=sms.pk).is_contact


# -- email bounces through django-anymail ---------------------------------------------------


@pytest.fixture
def email_sent(creditor) -> Message:
    (message,) = queue(accounts(creditor, 1), "email")
    assert outbox_drain().sent == 1
    message.refresh_from_db()
    return message


def test_a_hard_bounce_marks_the_email_invalid_and_the_next_email_is_not_sent(email_sent, creditor):
    tracking.send(
        sender=object,
        event=AnymailTrackingEvent(
            event_type="bounced",
            message_id=email_sent.provider_id,
            recipient="c0@example.com",
            description="550 5.1.1 user unknown",
        ),
        esp_name="Postmark",
    )

    email_sent.refresh_from_db()
    assert email_sent.status == MessageStatus.BOUNCED
    point = ContactPoint.objects.get(value="c0@example.com")
    assert point.valid is False
    event = AuditEvent.objects.get(action="contactpoint.invalidate")
    assert (
        event.changes["valid"] == [True, False] and event.actor_label == "email provider Postmark"
    )
    with time_machine.travel(TUESDAY_10 + datetime.timedelta(days=1), tick=False):
        (next_one,) = queue([email_sent.debtor], "email", key_prefix="next")
        assert outbox_drain().failed == 1
    next_one.refresh_from_db()
    assert next_one.status_reason == "No valid email address for this debtor"


def test_a_postmark_bounce_webhook_reaches_the_message(email_sent, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "postmark:hook-secret"}
    bounce = {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "TypeCode": 1,
        "MessageID": email_sent.provider_id,
        "Email": "c0@example.com",
        "BouncedAt": "2026-11-24T15:05:00Z",
        "Description": "The server was unable to deliver your message",
        "Details": "smtp;550 5.1.1 user unknown",
    }
    client = Client()
    refused = client.post("/m/anymail/postmark/tracking/", bounce, content_type="application/json")
    assert refused.status_code in (400, 403)
    import base64

    auth = "Basic " + base64.b64encode(b"postmark:hook-secret").decode()
    answer = client.post(
        "/m/anymail/postmark/tracking/",
        bounce,
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert answer.status_code == 200
    email_sent.refresh_from_db()
    assert email_sent.status == MessageStatus.BOUNCED
    assert not ContactPoint.objects.get(value="c0@example.com").valid


def test_an_email_unsubscribe_reported_by_the_provider_withdraws_consent(email_sent):
    tracking.send(
        sender=object,
        event=AnymailTrackingEvent(event_type="unsubscribed", message_id=email_sent.provider_id),
        esp_name="Mailgun",
    )
    assert ContactPoint.objects.get(value="c0@example.com").consent_email is False
