"""Just before sending: does the reason still hold, may the debtor be contacted, what is sent.

Acme (Colombia) reminds its debtors of an overdue invoice by email. The worker runs on Tuesday
24 November 2026 at 10:00 in Bogotá unless a story says otherwise. Emails go to Django's
in-memory outbox here; the real SMTP server is in test_email_smtp.py.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from cartera.core.audit import Actor
from cartera.messaging.backends import ChannelBackend, SendResult
from cartera.messaging.dispatch import DrainCounts, dispatch_prepare, outbox_drain
from cartera.messaging.models import GateOverride, LetterBatch, Message, MessageStatus
from cartera.messaging.outbox import outbox_claim, outbox_expire_leases, worker_id_new
from cartera.messaging.queries import messages_held_back, messages_waiting_for_person
from cartera.negotiation.services import dispute_open, promise_create
from cartera.portfolio.models import Activity, ActivityKind, ContactPoint, Creditor, Document
from tests.messaging_helpers import (
    BOGOTA,
    TUESDAY_10,
    accounts,
    local,
    messaging_ready,
    queue,
    statuses,
)

MEMORY = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def setup(db, settings):
    settings.EMAIL_BACKEND = MEMORY
    settings.CARTERA_SMS_BACKEND = "file"
    settings.CARTERA_WHATSAPP_BACKEND = "file"
    messaging_ready()
    with translation.override("en"), time_machine.travel(TUESDAY_10, tick=False):
        yield


def drain() -> DrainCounts:
    return outbox_drain()


def history(message: Message) -> list[tuple[str, str, bool]]:
    return list(
        Activity.objects.filter(message_id=message.pk)
        .order_by("id")
        .values_list("kind", "outcome", "is_contact")
    )


# -- sending ------------------------------------------------------------------------------


def test_a_reminder_is_rendered_with_todays_figures_stored_as_sent_and_on_the_history(creditor):
    (uno,) = accounts(creditor, 1)
    (message,) = queue([uno])

    counts = drain()

    assert counts.sent == 1 and counts.total() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.recipient == "c0@example.com"
    assert message.subject == "Factura vencida, Deudor C0"
    assert "$ 1.234.567" in message.body_text
    assert "<b>$&nbsp;1.234.567</b>" in message.body_html
    assert message.attempts == 1 and message.handed_at is not None
    assert message.sent_at == TUESDAY_10 and message.lease_until is None
    assert message.provider_id and message.contact_point.value == "c0@example.com"
    (email,) = mail.outbox
    assert email.to == ["c0@example.com"] and email.body == message.body_text
    assert email.alternatives[0][0] == message.body_html
    assert history(message) == [(ActivityKind.EMAIL, "sent", True)]


def test_the_amount_is_the_balance_on_the_day_of_sending_not_of_queuing(creditor):
    (uno,) = accounts(creditor, 1)
    (message,) = queue([uno])
    Document.objects.filter(debtor=uno).update(balance_minor=50_000_000)

    drain()

    message.refresh_from_db()
    assert "$ 500.000" in message.body_text


def test_sms_and_whatsapp_go_through_their_backends(creditor, settings, tmp_path):
    settings.CARTERA_OUTBOX_DIR = tmp_path
    uno, dos = accounts(creditor, 2)
    (sms,) = queue([uno], "sms")
    (whatsapp,) = queue([dos], "whatsapp")

    assert drain().sent == 2

    sms.refresh_from_db()
    whatsapp.refresh_from_db()
    assert sms.recipient.startswith("+5730012") and sms.payload["sms"]["segments"] == 1
    assert whatsapp.payload["whatsapp"] == {
        "template": "recordatorio_pago",
        "params": ["Deudor C1", "$ 1.234.567"],
        "language": "es",
    }
    assert len(list(tmp_path.glob("sms/*/*.txt"))) == 1
    assert len(list(tmp_path.glob("whatsapp/*/*.txt"))) == 1


# -- the reason must still hold --------------------------------------------------------------


def test_a_reminder_for_an_invoice_paid_since_it_was_queued_is_cancelled(
    creditor, write_file, load
):
    (uno,) = accounts(creditor, 1)
    (message,) = queue([uno])
    payment = "external_id,debtor_external_id,date,amount,document_number\nP-1,C0,2026-11-23,1234567.00,FV-C0\n"
    assert load("payments", write_file("payments.csv", payment)).created == 1

    counts = drain()

    assert counts.cancelled == 1 and counts.sent == 0 and mail.outbox == []
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED
    assert message.status_reason == "Paid: the documents it is about have no balance left"
    assert history(message) == [(ActivityKind.SYSTEM, "message_cancelled", False)]


def test_an_account_reminder_is_cancelled_when_nothing_is_overdue_any_more(creditor):
    (uno,) = accounts(creditor, 1)
    (message,) = queue([uno], with_documents=False)
    Document.objects.filter(debtor=uno).update(due_date=datetime.date(2026, 12, 31))

    assert drain().cancelled == 1
    message.refresh_from_db()
    assert message.status_reason == "Paid: nothing of the account is overdue any more"


def test_a_reminder_about_disputed_invoices_is_cancelled(creditor, actor):
    (uno,) = accounts(creditor, 1)
    (message,) = queue([uno])
    dispute_open(
        creditor=creditor,
        debtor=uno,
        documents=list(Document.objects.filter(debtor=uno)),
        category="price",
        note="the price was 10% less",
        as_of=datetime.date(2026, 11, 24),
        actor=actor,
    )

    assert drain().cancelled == 1
    message.refresh_from_db()
    assert message.status_reason == "Every document it is about is in an open dispute"


def test_a_promise_made_after_a_strategy_reminder_was_queued_cancels_it(creditor, actor):
    uno, dos = accounts(creditor, 2)
    strategy = queue([uno, dos], origin="aviso_1")
    manual = queue([uno, dos], "sms", origin="manual")
    with time_machine.travel(TUESDAY_10 + datetime.timedelta(minutes=1), tick=False):
        for debtor in (uno, dos):
            promise_create(
                creditor=creditor,
                debtor=debtor,
                amount=Decimal("1000000"),
                promised_date=datetime.date(2026, 11, 30),
                as_of=datetime.date(2026, 11, 24),
                actor=actor,
            )
        drain()

    assert statuses(strategy) == [MessageStatus.CANCELLED, MessageStatus.CANCELLED]
    strategy[0].refresh_from_db()
    assert strategy[0].status_reason.startswith("The debtor promised to pay (on 2026-11-24)")
    # A collector's own message is not the strategy's: the promise does not cancel it.
    assert statuses(manual) == [MessageStatus.SENT, MessageStatus.SENT]


def test_a_promise_made_before_the_reminder_was_queued_does_not_cancel_it(creditor, actor):
    (uno,) = accounts(creditor, 1)
    friday = datetime.datetime(2026, 11, 20, 10, 0, tzinfo=BOGOTA)
    with time_machine.travel(friday, tick=False):
        promise_create(
            creditor=creditor,
            debtor=uno,
            amount=Decimal("1000000"),
            promised_date=datetime.date(2026, 11, 30),
            as_of=datetime.date(2026, 11, 20),
            actor=actor,
        )
        # The promise's own confirmation goes out that day.
        assert drain().sent == 1
    (message,) = queue([uno])
    drain()
    assert statuses([message]) == [MessageStatus.SENT]


def test_a_payment_receipt_is_sent_although_the_account_is_paid(creditor):
    (uno,) = accounts(creditor, 1)
    Document.objects.filter(debtor=uno).update(balance_minor=0)
    (message,) = queue([uno], origin="receipt", with_documents=False)

    assert drain().sent == 1
    assert statuses([message]) == [MessageStatus.SENT]


def test_no_usable_address_fails_with_the_reason(creditor):
    (uno,) = accounts(creditor, 1, email=False)
    (dos,) = accounts(creditor, 1, prefix="B")
    ContactPoint.objects.filter(debtor=dos, kind="email").update(valid=False)
    messages = queue([uno, dos])

    assert drain().failed == 2
    for message in messages:
        message.refresh_from_db()
        assert message.status == MessageStatus.FAILED
        assert message.status_reason == "No valid email address for this debtor"


def test_a_template_that_cannot_be_rendered_fails_the_message_not_the_batch(creditor):
    uno, dos = accounts(creditor, 2)
    (broken,) = queue([uno], template="no_such_template")
    queue([dos])

    counts = drain()

    assert (counts.failed, counts.sent) == (1, 1)
    broken.refresh_from_db()
    assert broken.status == MessageStatus.FAILED
    assert broken.status_reason.startswith("Cannot be written:")


# -- the compliance gate ---------------------------------------------------------------------


def test_a_reminder_due_on_saturday_evening_waits_for_monday_morning_then_goes(creditor):
    saturday_16 = datetime.datetime(2026, 11, 28, 16, 0, tzinfo=BOGOTA)
    with time_machine.travel(saturday_16, tick=False):
        (uno,) = accounts(creditor, 1)
        (message,) = queue([uno])
        counts = drain()
    assert counts.scheduled == 1 and mail.outbox == []
    message.refresh_from_db()
    assert message.status == MessageStatus.SCHEDULED
    assert local(message.next_attempt_at) == datetime.datetime(2026, 11, 30, 7, 0, tzinfo=BOGOTA)
    assert "Saturdays" in message.status_reason, message.status_reason
    assert list(messages_held_back(creditors=Creditor.objects.all())) == [message]
    assert history(message) == [(ActivityKind.SYSTEM, "message_delayed", False)]

    with time_machine.travel(datetime.datetime(2026, 11, 30, 6, 59, tzinfo=BOGOTA), tick=False):
        assert drain().total() == 0  # not due yet
    with time_machine.travel(datetime.datetime(2026, 11, 30, 7, 0, tzinfo=BOGOTA), tick=False):
        assert drain().sent == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert local(message.sent_at) == datetime.datetime(2026, 11, 30, 7, 0, tzinfo=BOGOTA)


def test_one_contact_a_day_second_channel_waits(creditor):
    (uno,) = accounts(creditor, 1)
    (email,) = queue([uno], "email")
    (sms,) = queue([uno], "sms")

    counts = drain()

    assert (counts.sent, counts.scheduled) == (1, 1)
    assert sorted(statuses([email, sms])) == [MessageStatus.SCHEDULED, MessageStatus.SENT]


def test_a_debtor_who_opted_out_blocks_the_message_until_a_person_decides(creditor):
    (uno,) = accounts(creditor, 1)
    ContactPoint.objects.filter(debtor=uno, kind="email").update(consent_email=False)
    (message,) = queue([uno])

    assert drain().blocked == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.BLOCKED
    assert "opted out" in message.status_reason
    assert list(messages_waiting_for_person(creditors=Creditor.objects.all())) == [message]
    # Blocked messages are not due: the worker leaves them alone.
    assert drain().total() == 0


def test_a_supervisors_override_sends_the_message_the_gate_refused(creditor, django_user_model):
    (uno,) = accounts(creditor, 1)
    ContactPoint.objects.filter(debtor=uno, kind="email").update(consent_email=None)
    (message,) = queue([uno])
    assert drain().blocked == 1
    message.refresh_from_db()
    boss = django_user_model.objects.create_user("sofia")
    GateOverride.objects.create(
        message=message,
        refused_because=message.status_reason,
        justification="court order",
        user=boss,
    )
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.QUEUED)

    assert drain().sent == 1


# -- failures and robustness -------------------------------------------------------------------


class Flaky(ChannelBackend):
    """Raises what the test asks for the messages it names; sends the others."""

    channel = "email"

    def __init__(self, failures: dict[int, BaseException]) -> None:
        super().__init__()
        self.failures = failures
        self.sent: list[int] = []

    def send(self, message, rendered):  # type: ignore[no-untyped-def]
        if message.pk in self.failures:
            raise self.failures[message.pk]
        self.sent.append(message.pk)
        return SendResult(provider_id=f"flaky-{message.pk}")


def test_a_backend_crash_on_one_message_does_not_stop_the_others(creditor, settings):
    settings.CARTERA_OUTBOX_BACKOFF_SECONDS = 60
    messages = queue(accounts(creditor, 3))
    backend = Flaky({messages[1].pk: RuntimeError("boom")})

    counts = outbox_drain(backends={"email": backend})

    assert (counts.sent, counts.retrying) == (2, 1)
    assert backend.sent == [messages[0].pk, messages[2].pk]
    broken = Message.objects.get(pk=messages[1].pk)
    assert broken.status == MessageStatus.QUEUED and broken.error == "RuntimeError: boom"
    assert broken.next_attempt_at == TUESDAY_10 + datetime.timedelta(seconds=60)


def test_transient_failures_back_off_then_give_up(creditor, settings):
    from cartera.messaging.backends import TransientError

    settings.CARTERA_OUTBOX_MAX_ATTEMPTS = 3
    settings.CARTERA_OUTBOX_BACKOFF_SECONDS = 60
    (message,) = queue(accounts(creditor, 1))
    backend = Flaky({message.pk: TransientError("421 try later")})
    waits = []
    moment = TUESDAY_10
    for _attempt in range(3):
        with time_machine.travel(moment, tick=False):
            outbox_drain(backends={"email": backend})
        message.refresh_from_db()
        waits.append(message.next_attempt_at - moment)
        moment = message.next_attempt_at
    assert message.status == MessageStatus.FAILED and message.attempts == 3
    assert message.status_reason == "Gave up after 3 attempts: 421 try later"
    assert waits[:2] == [datetime.timedelta(seconds=60), datetime.timedelta(seconds=120)]


def test_a_letter_joins_the_print_batch_and_waits_there_without_a_lease(
    creditor, settings, tmp_path
):
    settings.CARTERA_HOME = tmp_path
    (uno,) = accounts(creditor, 1, address=True)
    (letter,) = queue([uno], "letter")

    counts = drain()

    assert counts.letters == 1 and counts.sent == 0
    letter.refresh_from_db()
    assert letter.status == MessageStatus.SENDING and letter.lease_until is None
    assert letter.letter_batch == LetterBatch.objects.get(creditor=creditor)
    assert "Deudor C0" in letter.body_html
    with time_machine.travel(TUESDAY_10 + datetime.timedelta(days=2), tick=False):
        assert outbox_expire_leases().total() == 0
    assert statuses([letter]) == [MessageStatus.SENDING]


def test_deciding_a_batch_takes_the_same_queries_for_5_or_50_messages(creditor):
    def prepare_queries(count: int, prefix: str) -> int:
        queue(accounts(creditor, count, prefix=prefix), key_prefix=prefix)
        worker = worker_id_new()
        ids = outbox_claim(worker_id=worker, limit=1000)
        claimed = list(Message.objects.filter(pk__in=ids))
        with CaptureQueriesContext(connection) as queries:
            prepared = dispatch_prepare(claimed, now=TUESDAY_10)
        assert len(prepared.ready) == count
        Message.objects.filter(pk__in=ids).update(status=MessageStatus.CANCELLED)
        return len(queries)

    assert prepare_queries(5, "A") == prepare_queries(50, "B")


def test_the_worker_command_prints_its_counts_as_json(creditor, capsys):
    import json

    from django.core.management import call_command

    queue(accounts(creditor, 2))
    call_command("worker", "--until-empty", "--format", "json")
    out = json.loads(capsys.readouterr().out)
    assert out["sent"] == 2 and out["failed"] == 0 and out["worker"].count(":") == 2


def test_a_cancelled_message_is_never_sent(creditor):
    """Cancelled messages stay cancelled: nothing the worker does revives them."""
    from cartera.messaging.outbox import message_cancel

    (message,) = queue(accounts(creditor, 1))
    message_cancel(message=message, actor=Actor.system("tests"), reason="duplicate")
    assert drain().total() == 0
    assert statuses([message]) == [MessageStatus.CANCELLED]


def test_nothing_starts_going_out_in_the_last_minute_of_a_window(creditor):
    almost_closed = datetime.datetime(2026, 11, 24, 18, 59, 30, tzinfo=BOGOTA)
    with time_machine.travel(almost_closed, tick=False):
        (message,) = queue(accounts(creditor, 1))
        assert drain().scheduled == 1
    message.refresh_from_db()
    assert local(message.next_attempt_at) == datetime.datetime(2026, 11, 25, 7, 0, tzinfo=BOGOTA)


def test_a_batch_slower_than_the_gate_margin_gives_the_rest_back_to_be_decided_again(
    creditor, settings
):
    from cartera.messaging.dispatch import GATE_MARGIN, dispatch_batch

    settings.CARTERA_OUTBOX_HANDOVER_GROUP = 1

    messages = queue(accounts(creditor, 3))
    clock_now = [TUESDAY_10]

    class Slow(ChannelBackend):
        channel = "email"

        def send(self, message, rendered):  # type: ignore[no-untyped-def]
            clock_now[0] += GATE_MARGIN  # each send takes a whole margin
            return SendResult(provider_id=str(message.pk))

    worker = worker_id_new()
    ids = outbox_claim(worker_id=worker, limit=10)
    counts = dispatch_batch(
        ids, worker_id=worker, backends={"email": Slow()}, clock=lambda: clock_now[0]
    )
    assert (counts.sent, counts.released) == (2, 1)
    assert statuses(messages) == [MessageStatus.SENT, MessageStatus.SENT, MessageStatus.QUEUED]


def test_a_misconfigured_backend_is_explained_on_each_message_and_retried(creditor, settings):
    settings.CARTERA_SMS_BACKEND = "no.such.Backend"
    (message,) = queue(accounts(creditor, 1), "sms")

    assert drain().retrying == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert "CARTERA_SMS_BACKEND='no.such.Backend'" in message.error
