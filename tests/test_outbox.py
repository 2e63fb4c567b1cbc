"""The outbox's states: claiming with a lease, expired leases, and a person's decisions.

Acme's messages are claimed by workers named after their machine; Laura (a collector) and
Sofía (a supervisor) look after the messages nothing moves on its own.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import translation

from cartera.core.audit import Actor
from cartera.core.models import AuditEvent
from cartera.messaging.backends import SendResult
from cartera.messaging.dispatch import _Results, outbox_drain
from cartera.messaging.models import Message, MessageStatus
from cartera.messaging.outbox import (
    OutboxError,
    backoff_delay,
    message_cancel,
    message_mark_sent,
    message_retry,
    outbox_claim,
    outbox_expire_leases,
    outbox_lease_extend,
    worker_id_new,
)
from cartera.messaging.queries import messages_waiting_for_person, outbox_counts
from cartera.portfolio.models import Activity, Creditor, Membership
from cartera.portfolio.services import creditor_create
from tests.messaging_helpers import TUESDAY_10, accounts, messaging_ready, queue, statuses

LEASE = datetime.timedelta(seconds=300)


@pytest.fixture(autouse=True)
def setup(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CARTERA_SMS_BACKEND = "file"
    settings.CARTERA_OUTBOX_LEASE_SECONDS = 300
    messaging_ready()
    with translation.override("en"), time_machine.travel(TUESDAY_10, tick=False):
        yield


def sending(message: Message, *, handed: bool, worker: str = "host:1:dead") -> None:
    """The message as a worker that died left it: leased, maybe handed to its backend."""
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING,
        lease_until=TUESDAY_10 + LEASE,
        leased_by=worker,
        handed_at=TUESDAY_10 if handed else None,
        attempts=1 if handed else 0,
    )


# -- claiming -------------------------------------------------------------------------------


def test_a_worker_claims_due_messages_with_a_lease_and_no_one_else_gets_them(creditor):
    messages = queue(accounts(creditor, 5))
    later = queue(
        accounts(creditor, 1, prefix="L"), not_before=TUESDAY_10 + datetime.timedelta(hours=1)
    )

    first = outbox_claim(worker_id="a:1:x", limit=3)
    second = outbox_claim(worker_id="b:2:y", limit=10)

    assert len(first) == 3 and len(second) == 2
    assert set(first) | set(second) == {m.pk for m in messages}
    assert outbox_claim(worker_id="c:3:z", limit=10) == []
    claimed = Message.objects.get(pk=first[0])
    assert claimed.status == MessageStatus.SENDING and claimed.leased_by == "a:1:x"
    assert claimed.lease_until == TUESDAY_10 + LEASE and claimed.handed_at is None
    assert statuses(later) == [MessageStatus.QUEUED]


def test_only_waiting_statuses_are_claimed(creditor):
    messages = queue(accounts(creditor, 4))
    for message, status in zip(
        messages,
        [
            MessageStatus.BLOCKED,
            MessageStatus.UNKNOWN,
            MessageStatus.CANCELLED,
            MessageStatus.SCHEDULED,
        ],
        strict=True,
    ):
        Message.objects.filter(pk=message.pk).update(status=status)
    assert outbox_claim(worker_id="a:1:x", limit=10) == [messages[3].pk]


def test_a_lease_is_renewed_only_by_the_worker_that_holds_it(creditor):
    messages = queue(accounts(creditor, 2))
    ids = outbox_claim(worker_id="a:1:x", limit=10)
    later = TUESDAY_10 + datetime.timedelta(seconds=100)
    assert outbox_lease_extend(ids=ids, worker_id="b:2:y", now=later) == set()
    assert outbox_lease_extend(ids=ids, worker_id="a:1:x", now=later) == set(ids)
    assert Message.objects.get(pk=messages[0].pk).lease_until == later + LEASE


def test_backoff_doubles_up_to_the_cap(settings):
    settings.CARTERA_OUTBOX_BACKOFF_SECONDS = 60
    settings.CARTERA_OUTBOX_BACKOFF_CAP_SECONDS = 3600
    assert [backoff_delay(n).total_seconds() for n in (1, 2, 3, 6, 7, 100)] == [
        60,
        120,
        240,
        1920,
        3600,
        3600,
    ]


def test_worker_ids_name_the_machine_and_the_process():
    import os
    import socket

    first, second = worker_id_new(), worker_id_new()
    host, pid, _random = first.split(":")
    assert host == socket.gethostname()[:60] and pid == str(os.getpid()) and first != second


# -- expired leases -------------------------------------------------------------------------


def test_expired_leases_settle_each_message_by_what_is_known(creditor):
    uno, dos, tres = accounts(creditor, 3)
    (never,) = queue([uno])
    (handed,) = queue([dos])
    (sms,) = queue([tres], "sms")
    sending(never, handed=False)
    sending(handed, handed=True)
    sending(sms, handed=True)

    with time_machine.travel(TUESDAY_10 + LEASE - datetime.timedelta(seconds=1), tick=False):
        assert outbox_expire_leases().total() == 0
    with time_machine.travel(TUESDAY_10 + LEASE + datetime.timedelta(seconds=1), tick=False):
        expired = outbox_expire_leases()

    assert (expired.requeued, expired.retried, expired.unknown) == (1, 1, 1)
    # Never handed over: it did not leave; back in the queue.
    assert statuses([never, handed, sms]) == [
        MessageStatus.QUEUED,
        MessageStatus.UNKNOWN,  # email over SMTP: nobody knows whether it left
        MessageStatus.QUEUED,  # the file backend takes the key: sending again is harmless
    ]
    handed.refresh_from_db()
    assert "nobody knows whether it left" in handed.status_reason
    assert Activity.objects.filter(message_id=handed.pk, outcome="message_unknown").count() == 1
    assert list(messages_waiting_for_person(creditors=Creditor.objects.all())) == [handed]
    assert AuditEvent.objects.filter(action="message.lease_expired").count() == 1


def test_a_slow_worker_that_sent_after_its_lease_ran_out_still_records_it(creditor):
    (message,) = queue(accounts(creditor, 1))
    sending(message, handed=True, worker="slow:1:a")
    with time_machine.travel(TUESDAY_10 + LEASE * 2, tick=False):
        outbox_expire_leases()
    assert statuses([message]) == [MessageStatus.UNKNOWN]

    results = _Results("slow:1:a")
    message.refresh_from_db()
    results.sent.append((message, SendResult(provider_id="p-1"), TUESDAY_10))
    results.write()

    assert statuses([message]) == [MessageStatus.SENT]


# -- a person's decisions -------------------------------------------------------------------


def test_retrying_an_unknown_message_needs_the_persons_word(creditor):
    (message,) = queue(accounts(creditor, 1))
    sending(message, handed=True)
    with time_machine.travel(TUESDAY_10 + LEASE * 2, tick=False):
        outbox_expire_leases()
    laura = Actor.system("laura")

    with pytest.raises(OutboxError, match="may already have reached the debtor"):
        message_retry(message=message, actor=laura)
    message_retry(message=message, actor=laura, checked_unknown=True)

    message.refresh_from_db()
    assert (message.status, message.attempts, message.handed_at) == (MessageStatus.QUEUED, 0, None)
    event = AuditEvent.objects.get(action="message.retry")
    assert event.changes["checked_unknown"] is True and event.actor_label == "laura"
    assert outbox_drain().sent == 1


def test_only_failed_or_unknown_messages_are_retried(creditor):
    (message,) = queue(accounts(creditor, 1))
    with pytest.raises(OutboxError, match="Only a failed or unknown message"):
        message_retry(message=message, actor=Actor.system("laura"))


def test_cancelling_needs_a_reason_and_a_message_that_has_not_left(creditor):
    waiting, busy = queue(accounts(creditor, 2))
    sending(busy, handed=True)
    laura = Actor.system("laura")

    with pytest.raises(OutboxError, match="Say why"):
        message_cancel(message=waiting, actor=laura, reason="  ")
    with pytest.raises(OutboxError, match="being sent right now"):
        message_cancel(message=busy, actor=laura, reason="duplicate")
    message_cancel(message=waiting, actor=laura, reason="the debtor called")

    waiting.refresh_from_db()
    assert waiting.status == MessageStatus.CANCELLED
    assert waiting.status_reason == "Cancelled by laura: the debtor called"
    assert AuditEvent.objects.filter(action="message.cancel").count() == 1


def test_an_unknown_message_found_in_the_providers_log_is_marked_sent(creditor):
    (message,) = queue(accounts(creditor, 1))
    sending(message, handed=True)
    with time_machine.travel(TUESDAY_10 + LEASE * 2, tick=False):
        outbox_expire_leases()
        message_mark_sent(message=message, actor=Actor.system("laura"), note="in Mailgun's log")

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.sent_at == TUESDAY_10
    contact = Activity.objects.get(message_id=message.pk, is_contact=True)
    assert contact.at == TUESDAY_10 and contact.kind == "email"


def test_outbox_counts_name_every_status(creditor):
    queue(accounts(creditor, 2))
    counts = outbox_counts(creditors=Creditor.objects.all())
    assert counts["queued"] == 2 and counts["unknown"] == 0 and len(counts) == len(MessageStatus)


# -- the admin --------------------------------------------------------------------------------


def english(user: User) -> Client:
    """A browser logged in as `user` that chose English (the interface starts in Spanish)."""
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


@pytest.fixture
def sofia(creditor) -> User:
    user = User.objects.create_user("sofia", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="supervisor"))
    Membership.objects.create(user=user, creditor=creditor)
    return user


def test_the_admin_lists_only_the_users_creditors_messages_and_filters_waiting_ones(
    creditor, sofia, actor
):
    other = creditor_create(code="OTRA", name="Otra", country="CO", currency="COP", actor=actor)
    mine = queue(accounts(creditor, 2))
    queue(accounts(other, 1, prefix="O"), key_prefix="other")
    Message.objects.filter(pk=mine[0].pk).update(
        status=MessageStatus.UNKNOWN, status_reason="the worker stopped"
    )
    client = english(sofia)

    page = client.get("/admin/messaging/message/")
    assert page.status_code == 200
    assert page.context["cl"].result_count == 2
    waiting = client.get("/admin/messaging/message/", {"waiting": "yes"})
    assert [m.pk for m in waiting.context["cl"].result_list] == [mine[0].pk]
    detail = client.get(f"/admin/messaging/message/{mine[0].pk}/change/")
    assert detail.status_code == 200 and b"the worker stopped" in detail.content


def test_the_admin_retries_an_unknown_message_only_after_the_check_is_confirmed(creditor, sofia):
    (message,) = queue(accounts(creditor, 1))
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.UNKNOWN)
    client = english(sofia)
    url = "/admin/messaging/message/"
    chosen = {"action": "retry_messages", "_selected_action": [message.pk]}

    ask = client.post(url, chosen)
    assert ask.status_code == 200 and b"may already have reached the debtor" in ask.content
    refused = client.post(url, {**chosen, "apply": "1"})
    assert b"Confirm that you checked" in refused.content
    assert statuses([message]) == [MessageStatus.UNKNOWN]
    done = client.post(url, {**chosen, "apply": "1", "checked": "on"})
    assert done.status_code == 302
    assert statuses([message]) == [MessageStatus.QUEUED]
    assert AuditEvent.objects.get(action="message.retry").actor_label == "sofia"


def test_the_admin_cancels_with_a_reason(creditor, sofia):
    (message,) = queue(accounts(creditor, 1))
    client = english(sofia)
    chosen = {"action": "cancel_messages", "_selected_action": [message.pk], "apply": "1"}

    without = client.post("/admin/messaging/message/", chosen)
    assert b"Say why the messages are cancelled" in without.content
    done = client.post("/admin/messaging/message/", {**chosen, "reason": "sent by hand"})
    assert done.status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED and "sent by hand" in message.status_reason


def test_the_admin_records_an_unknown_message_as_sent(creditor, sofia):
    (message,) = queue(accounts(creditor, 1))
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.UNKNOWN)
    client = english(sofia)
    chosen = {"action": "mark_sent_messages", "_selected_action": [message.pk], "apply": "1"}

    done = client.post("/admin/messaging/message/", {**chosen, "reason": "in the provider's log"})

    assert done.status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.status_reason == "Confirmed sent by sofia: in the provider's log"


# -- the background tasks and the lease while a batch takes long -------------------------------


def test_the_periodic_tasks_drain_the_outbox_and_settle_leases(creditor, settings):
    from cartera.messaging.tasks import outbox_drain_task, outbox_leases_task

    settings.CARTERA_OUTBOX_POLL_SECONDS = 0.05
    waiting, stuck = queue(accounts(creditor, 2))
    sending(stuck, handed=False)

    assert outbox_drain_task.call_local(seconds=0.2)["sent"] == 1
    with time_machine.travel(TUESDAY_10 + LEASE * 2, tick=False):
        assert outbox_leases_task.call_local() == {"requeued": 1, "retried": 0, "unknown": 0}
    assert statuses([waiting, stuck]) == [MessageStatus.SENT, MessageStatus.QUEUED]


def test_a_long_batch_renews_its_lease_so_no_one_takes_its_messages(creditor, settings):
    import time

    from cartera.messaging.backends import ChannelBackend
    from cartera.messaging.models import ContactRule

    ContactRule.objects.create(
        country="ZZ",
        name="tests: always",
        source="tests",
        hours={str(day): [["00:00", "24:00"]] for day in range(1, 8)},
        no_holidays=False,
    )
    settings.CARTERA_OUTBOX_LEASE_SECONDS = 3  # renewed every second
    settings.CARTERA_OUTBOX_HANDOVER_GROUP = 1  # (leases are renewed between groups)
    seen: list[object] = []

    class Slow(ChannelBackend):
        channel = "email"

        def send(self, message, rendered):  # type: ignore[no-untyped-def]
            time.sleep(0.4)
            seen.append(Message.objects.get(pk=message.pk).lease_until)
            return SendResult(provider_id=str(message.pk))

    queue(accounts(creditor, 9, country="ZZ"))
    with time_machine.travel(TUESDAY_10, tick=True):
        assert outbox_drain(backends={"email": Slow()}).sent == 9
    # 9 x 0.4 s outlast the 3 s lease taken at the claim: the last ones went out under a lease
    # renewed on the way.
    assert (seen[-1] - seen[0]).total_seconds() >= 2  # type: ignore[operator]
