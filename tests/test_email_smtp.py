"""Email through a real SMTP server on loopback (aiosmtpd): what arrives, and what a refusal does.

Acme sends from "Cobranza ACME <cobranza@acme.co>" with replies to pagos@acme.co. The test
server accepts every recipient unless told to answer one with a temporary (4xx) or permanent
(5xx) refusal, and keeps each message exactly as it received it.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core.mail import EmailMessage
from django.test import Client
from django.utils import translation

from cartera.messaging.backends.email import message_id_for
from cartera.messaging.dispatch import outbox_drain
from cartera.messaging.models import ChannelSettings, MessageStatus
from cartera.portfolio.models import Activity, ContactPoint
from tests.messaging_helpers import TUESDAY_10, accounts, messaging_ready, queue

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Inbox:
    """An aiosmtpd handler: keeps what it receives; refuses the recipients it is told to."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    sessions: set[int] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sessions.add(id(session))
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def emails(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(content, policy=email.policy.default)  # type: ignore[misc]
            for _sender, _to, content in self.received
        ]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = SMTP_BACKEND
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    yield inbox
    controller.stop()


@pytest.fixture(autouse=True)
def acme(db, creditor):
    messaging_ready()
    ChannelSettings.objects.create(
        creditor=creditor,
        email_from="Cobranza ACME <cobranza@acme.co>",
        email_reply_to="pagos@acme.co",
    )
    with translation.override("en"):
        yield


def test_the_email_arrives_with_both_parts_the_senders_and_the_opt_out_link(creditor, smtp):
    with time_machine.travel(TUESDAY_10, tick=False):
        (message,) = queue(accounts(creditor, 1))
        counts = outbox_drain()

    assert counts.sent == 1
    ((sender, to, _raw),) = smtp.received
    assert sender == "cobranza@acme.co" and to == ["c0@example.com"]
    (received,) = smtp.emails()
    assert received["From"] == "Cobranza ACME <cobranza@acme.co>"
    assert received["Reply-To"] == "pagos@acme.co"
    assert received["To"] == "c0@example.com"
    assert received["Subject"] == "Factura vencida, Deudor C0"
    assert received["Message-ID"] == message_id_for(message.idempotency_key, "cobranza@acme.co")
    assert received["Auto-Submitted"] == "auto-generated"
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "su saldo vencido es $ 1.234.567" in text
    assert "<b>$&nbsp;1.234.567</b>" in html

    # The List-Unsubscribe header and the link in both parts open the debtor's opt-out page.
    unsubscribe = received["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe in text and unsubscribe in html
    page = Client().get(urlparse(unsubscribe).path)
    assert page.status_code == 200

    # What the outbox stored is what left.
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider_id == received["Message-ID"].strip("<>")
    assert message.body_text.strip() == text.replace("\r\n", "\n").strip()
    assert Activity.objects.get(message_id=message.pk).is_contact


def test_one_connection_carries_a_whole_batch(creditor, smtp):
    with time_machine.travel(TUESDAY_10, tick=False):
        queue(accounts(creditor, 5))
        assert outbox_drain().sent == 5
    assert len(smtp.received) == 5 and len(smtp.sessions) == 1


def test_a_temporary_refusal_is_retried_later_and_then_delivered(creditor, smtp, settings):
    settings.CARTERA_OUTBOX_BACKOFF_SECONDS = 60
    smtp.refuse["c0@example.com"] = "450 4.2.1 Mailbox busy, try again later"
    with time_machine.travel(TUESDAY_10, tick=False):
        (message,) = queue(accounts(creditor, 1))
        counts = outbox_drain()
    assert counts.retrying == 1 and smtp.received == []
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and message.attempts == 1
    assert "450" in message.error and "Mailbox busy" in message.error
    assert message.next_attempt_at == TUESDAY_10 + datetime.timedelta(seconds=60)

    del smtp.refuse["c0@example.com"]
    with time_machine.travel(TUESDAY_10 + datetime.timedelta(seconds=30), tick=False):
        assert outbox_drain().total() == 0  # not yet
    with time_machine.travel(TUESDAY_10 + datetime.timedelta(seconds=60), tick=False):
        assert outbox_drain().sent == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2
    # Same message, same Message-ID: a mail program shows the retry as the same email.
    (received,) = smtp.emails()
    assert received["Message-ID"] == message_id_for(message.idempotency_key, "cobranza@acme.co")


def test_a_permanent_refusal_fails_the_message_and_the_rest_go(creditor, smtp):
    smtp.refuse["c0@example.com"] = "550 5.1.1 No such user here"
    with time_machine.travel(TUESDAY_10, tick=False):
        unknown_user, _fine = queue(accounts(creditor, 2))
        counts = outbox_drain()
    assert (counts.failed, counts.sent) == (1, 1)
    unknown_user.refresh_from_db()
    assert unknown_user.status == MessageStatus.FAILED
    assert "550" in unknown_user.status_reason and "No such user" in unknown_user.status_reason
    assert [to for _f, to, _c in smtp.received] == [["c1@example.com"]]
    # A refusal at sending time is not a bounce: the address stays valid until a bounce says so.
    assert ContactPoint.objects.get(value="c0@example.com").valid


def test_an_unreachable_server_is_a_transient_failure(creditor, settings):
    settings.EMAIL_BACKEND = SMTP_BACKEND
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nobody listens there
    settings.EMAIL_TIMEOUT = 2
    with time_machine.travel(TUESDAY_10, tick=False):
        (message,) = queue(accounts(creditor, 1))
        assert outbox_drain().retrying == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert message.error.startswith("email server unreachable")


def test_the_demo_writes_each_email_to_a_file_a_mail_program_opens(creditor, settings, tmp_path):
    settings.EMAIL_BACKEND = "cartera.messaging.backends.files.EmailFileBackend"
    settings.CARTERA_OUTBOX_DIR = tmp_path
    with time_machine.travel(TUESDAY_10, tick=False):
        (message,) = queue(accounts(creditor, 1))
        assert outbox_drain().sent == 1
    (written,) = tmp_path.glob("email/*/*.eml")
    parsed = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "c0@example.com"
    assert "Deudor C0" in parsed.get_body(preferencelist=("plain",)).get_content()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    # Written again (a retry after a crash, the same day: the folder is the day's): the same
    # Message-ID names the same file.
    from django.core.mail import get_connection

    with time_machine.travel(TUESDAY_10, tick=False):
        get_connection().send_messages(
            [
                EmailMessage(
                    "again",
                    "again",
                    to=["c0@example.com"],
                    headers={"Message-ID": parsed["Message-ID"]},
                )
            ]
        )
    assert len(list(tmp_path.glob("email/*/*.eml"))) == 1
