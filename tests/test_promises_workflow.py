"""The promise workflow around the core: the debtor's confirmation, the message when a promise
is broken, the limit on broken promises (and the escalation), the kept rate per collector, and
promises on disputed documents."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext

from cartera.core.audit import Actor
from cartera.messaging.models import Message
from cartera.negotiation.models import NegotiationTerms, Promise, PromiseStatus
from cartera.negotiation.queries import (
    ALERT_PROMISE_LIMIT,
    accounts_over_promise_limit,
    broken_promise_count,
    broken_promises,
    promise_kept_rates,
)
from cartera.negotiation.services import (
    NegotiationError,
    dispute_open,
    dispute_resolve,
    promise_create,
    promise_plan_create,
    promises_decide,
)
from cartera.negotiation.signals import promise_taken
from cartera.portfolio.models import ContactPoint, Creditor
from cartera.portfolio.payments import payment_apply, payment_record
from cartera.strategy.models import Alert
from cartera.strategy.run import run_execute
from tests.negotiation_support import AS_OF, doc

pytest_plugins = ["tests.negotiation_fixtures"]
# A plugin's fixtures reach every test of the session, so these are asked for by name here.
pytestmark = pytest.mark.usefixtures("in_english", "home")


def day(n: int) -> datetime.date:
    return AS_OF + datetime.timedelta(days=n)


def promise(debtor, actor, amount="100000.00", on=5, taken=0, **kwargs) -> Promise:
    return promise_create(
        creditor=debtor.creditor,
        debtor=debtor,
        amount=Decimal(amount),
        promised_date=day(on),
        as_of=day(taken),
        actor=actor,
        **kwargs,
    )


def pay(debtor, amount_minor: int, on: datetime.date, ref: str) -> None:
    system = Actor.system("tests")
    payment = payment_record(
        creditor=debtor.creditor,
        debtor=debtor,
        amount_minor=amount_minor,
        currency="COP",
        date=on,
        external_id=ref,
        actor=system,
    )
    payment_apply(payment=payment, actor=system)


# -- confirmation ------------------------------------------------------------------------------


def test_a_promise_is_confirmed_to_the_debtor_once(creditor, uno, as_laura):
    taken = promise(uno, as_laura, documents=[doc("FV-1")])

    message = Message.objects.get(template_code="promesa_confirmacion")
    assert (message.debtor_id, message.channel, message.promise_id) == (uno.pk, "email", taken.pk)
    assert message.idempotency_key == f"{creditor.pk}:promise:{taken.pk}:confirm"
    assert (message.origin, message.document_ids) == ("promise", [doc("FV-1").pk])
    assert message.status == "queued"
    # Announcing the same promise again queues nothing more.
    promise_taken.send(sender=Promise, promise=taken, plan=None, actor=as_laura)
    assert Message.objects.filter(template_code="promesa_confirmacion").count() == 1


def test_a_plan_is_confirmed_once_naming_its_first_part(creditor, uno, as_laura):
    plan = promise_plan_create(
        creditor=creditor,
        debtor=uno,
        parts=[(Decimal("50000.00"), day(5)), (Decimal("50000.00"), day(20))],
        as_of=AS_OF,
        actor=as_laura,
    )

    message = Message.objects.get(template_code="promesa_confirmacion")
    first = plan.parts.order_by("promised_date").first()
    assert message.promise_id == first.pk
    assert message.idempotency_key == f"{creditor.pk}:plan:{plan.pk}:confirm"


def test_the_confirmation_takes_the_preferred_reachable_channel(creditor, uno, dos, as_laura):
    # Dos has only a mobile phone: SMS.
    promise(dos, as_laura, amount="1000.00")
    assert Message.objects.get(debtor=dos).channel == "sms"
    # Uno's email refuses email: the primary point is skipped, another one is used.
    ContactPoint.objects.filter(debtor=uno).update(consent_email=False)
    ContactPoint.objects.create(debtor=uno, kind="whatsapp", value="+573009998877")
    promise(uno, as_laura, documents=[doc("FV-1")])
    assert Message.objects.get(debtor=uno).channel == "whatsapp"
    # Nobody to write to, or told not to: nothing is queued, the promise stands.
    ContactPoint.objects.filter(debtor=uno).update(valid=False)
    quiet = promise(uno, as_laura, documents=[doc("FV-2")])
    assert Message.objects.filter(promise_id=quiet.pk).count() == 0
    # A caller may also choose not to confirm.
    ContactPoint.objects.filter(debtor=uno).update(valid=True)
    unconfirmed = promise(uno, as_laura, documents=[doc("FV-2")], confirm=False)
    assert not Message.objects.filter(promise_id=unconfirmed.pk).exists()


# -- broken promises ---------------------------------------------------------------------------


def test_a_broken_promise_is_told_to_the_debtor_once(creditor, uno, as_laura):
    broken = promise(uno, as_laura, documents=[doc("FV-1")])
    promises_decide(creditor=creditor, as_of=day(7))  # 5 + 2 grace days: still in time
    assert not Message.objects.filter(template_code="promesa_incumplida").exists()

    assert promises_decide(creditor=creditor, as_of=day(8)) == {"kept": 0, "broken": 1}
    promises_decide(creditor=creditor, as_of=day(8))

    message = Message.objects.get(template_code="promesa_incumplida")
    assert (message.promise_id, message.origin) == (broken.pk, "promise_broken")
    assert message.idempotency_key == f"{creditor.pk}:promise:{broken.pk}:broken"
    assert list(broken_promises(Creditor.objects.all(), since=day(8), until=day(8))) == [broken]
    assert list(broken_promises(Creditor.objects.all(), since=day(9), until=day(30))) == []


def test_a_promise_on_a_disputed_document_is_not_broken_while_disputed(creditor, uno, as_laura):
    on_fv1 = promise(uno, as_laura, documents=[doc("FV-1")])
    on_fv2 = promise(uno, as_laura, documents=[doc("FV-2")])
    disputes = [
        dispute_open(
            creditor=creditor,
            debtor=uno,
            documents=[doc(number)],
            category="quality",
            note="",
            as_of=day(1),
            actor=as_laura,
        )
        for number in ("FV-1", "FV-2")
    ]

    assert promises_decide(creditor=creditor, as_of=day(20)) == {"kept": 0, "broken": 0}

    # Rejected: the promise is decided as usual (broken: its date passed unpaid).
    dispute_resolve(
        dispute=disputes[0], resolution="rejected", note="", as_of=day(21), actor=as_laura
    )
    # Valid: the credit changed the debt, so the promise is cancelled.
    dispute_resolve(dispute=disputes[1], resolution="valid", note="", as_of=day(21), actor=as_laura)
    assert promises_decide(creditor=creditor, as_of=day(22)) == {"kept": 0, "broken": 1}
    on_fv1.refresh_from_db()
    on_fv2.refresh_from_db()
    assert (on_fv1.status, on_fv2.status) == (PromiseStatus.BROKEN, PromiseStatus.CANCELLED)


# -- the limit on broken promises --------------------------------------------------------------


def break_one(uno, actor, taken: int) -> Promise:
    made = promise(uno, actor, amount="1000.00", on=taken + 1, taken=taken, confirm=False)
    promises_decide(creditor=uno.creditor, as_of=day(taken + 4))
    made.refresh_from_db()
    assert made.status == PromiseStatus.BROKEN
    return made


def test_after_three_broken_promises_only_a_supervisor_takes_the_next(
    creditor, uno, as_laura, as_sofia
):
    for taken in (0, 10, 20):
        break_one(uno, as_laura, taken)
    assert broken_promise_count(uno, day(30), 90) == 3

    with pytest.raises(NegotiationError, match="broke 3 promises in the last 90 days"):
        promise(uno, as_laura, taken=30, on=35)
    with pytest.raises(NegotiationError, match="a supervisor must take the next one"):
        promise_plan_create(
            creditor=creditor,
            debtor=uno,
            parts=[(Decimal("10.00"), day(31)), (Decimal("10.00"), day(32))],
            as_of=day(30),
            actor=as_laura,
        )
    taken = promise(uno, as_sofia, taken=30, on=35)
    assert taken.status == PromiseStatus.PENDING
    # Outside the window the old ones no longer count.
    assert broken_promise_count(uno, day(100), 90) == 2
    assert accounts_over_promise_limit(creditor, day(24), [Promise.objects.first().pk]) == [
        (uno.pk, 3)
    ]


def test_the_limit_is_the_creditors_and_a_plan_counts_once(creditor, uno, as_laura):
    NegotiationTerms.objects.create(
        creditor=creditor, promise_break_limit=2, promise_break_window_days=30
    )
    plan = promise_plan_create(
        creditor=creditor,
        debtor=uno,
        parts=[(Decimal("10.00"), day(1)), (Decimal("10.00"), day(2))],
        as_of=AS_OF,
        actor=as_laura,
    )
    promises_decide(creditor=creditor, as_of=day(10))
    assert plan.parts.filter(status=PromiseStatus.BROKEN).count() == 2
    assert broken_promise_count(uno, day(10), 30) == 1
    promise(uno, as_laura, taken=10, on=11)  # still allowed: one commitment broken

    NegotiationTerms.objects.filter(creditor=creditor).update(promise_break_limit=0)
    for taken in (20, 30, 40):
        break_one(uno, as_laura, taken)
    assert promise(uno, as_laura, taken=50, on=51).status == PromiseStatus.PENDING


def test_the_run_escalates_an_account_that_reaches_the_limit(creditor, uno, as_laura, actor):
    for taken in (0, 10):
        break_one(uno, as_laura, taken)
    promise(uno, as_laura, amount="1000.00", taken=20, on=21, confirm=False)
    run_execute(creditor=creditor, as_of=day(24), actor=actor)
    run_execute(creditor=creditor, as_of=day(24), actor=actor)

    alert = Alert.objects.get(kind=ALERT_PROMISE_LIMIT)
    assert (alert.debtor_id, alert.created_on) == (uno.pk, day(24))
    with translation.override("es"):  # the run writes in the creditor's language
        expected = gettext(
            "%(count)s broken promises lately: the next promise needs a supervisor"
        ) % {"count": 3}
    assert alert.message == expected
    assert Alert.objects.filter(kind="broken_promise").count() == 1


# -- the kept rate -----------------------------------------------------------------------------


def test_kept_rate_by_count_and_amount_per_collector(
    creditor, uno, dos, laura, sofia, as_laura, as_sofia
):
    kept = promise(uno, as_laura, amount="300000.00", documents=[doc("FV-1")], confirm=False)
    promise(uno, as_laura, amount="100000.00", documents=[doc("FV-2")], confirm=False)
    promise(dos, as_sofia, amount="50000.00", confirm=False)
    pay(uno, 30_000_000, day(2), "P-1")  # keeps Laura's first promise
    pay(dos, 2_000_000, day(2), "P-2")  # a part of Sofía's
    promises_decide(creditor=creditor, as_of=day(10))
    kept.refresh_from_db()
    assert kept.status == PromiseStatus.KEPT

    rates = {
        r.username: r
        for r in promise_kept_rates(Creditor.objects.all(), since=day(0), until=day(10))
    }

    assert (rates["laura"].decided, rates["laura"].kept) == (2, 1)
    assert rates["laura"].rate_by_count == Decimal("50.0")
    assert (rates["laura"].promised_minor, rates["laura"].kept_minor) == (40_000_000, 30_000_000)
    assert rates["laura"].rate_by_amount == Decimal("75.0")
    assert (rates["sofia"].decided, rates["sofia"].kept, rates["sofia"].paid_minor) == (
        1,
        0,
        2_000_000,
    )
    assert rates["sofia"].rate_by_amount == Decimal("0.0")
    assert promise_kept_rates(Creditor.objects.all(), since=day(11), until=day(20)) == []
