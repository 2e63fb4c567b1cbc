"""Promises to pay and disputes.

Laura collects for Acme. Uno S.A.S. owes FV-1 (1,000.00) and FV-2 (2,000.00); Dos Ltda. owes
FV-3 (500.00). Promises are taken on 2 November 2026 unless a story says otherwise; the
grace is the default 2 days, so a promise for 10 November may be paid up to 12 November.
"""

from __future__ import annotations

import datetime
import itertools
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from cartera.core.audit import Actor
from cartera.core.models import AuditEvent
from cartera.negotiation.models import (
    Dispute,
    DisputeDocument,
    DisputeStatus,
    Promise,
    PromisePlan,
    PromiseStatus,
)
from cartera.negotiation.queries import (
    debtors_with_pending_promise,
    disputed_document_ids,
    open_promises,
)
from cartera.negotiation.services import (
    NegotiationError,
    dispute_open,
    dispute_resolve,
    promise_create,
    promise_plan_create,
    promises_decide,
)
from cartera.portfolio.models import (
    Allocation,
    Debtor,
    Document,
    EntryKind,
    LedgerEntry,
    Membership,
)
from cartera.portfolio.services import creditor_create

DOCUMENTS = (
    "external_id,number,debtor_external_id,name,issue_date,due_date,amount\n"
    "D-1,FV-1,C1,Uno S.A.S.,2026-09-01,2026-10-01,1000.00\n"
    "D-2,FV-2,C1,Uno S.A.S.,2026-09-15,2026-10-15,2000.00\n"
    "D-3,FV-3,C2,Dos Ltda.,2026-09-01,2026-10-01,500.00\n"
)


def nov(day: int) -> datetime.date:
    return datetime.date(2026, 11, day) if day <= 30 else datetime.date(2026, 12, day - 30)


TAKEN = nov(2)


@pytest.fixture(autouse=True)
def in_english():
    # Messages are asserted in English; the interface default is Spanish.
    with translation.override("en"):
        yield


@pytest.fixture
def portfolio(write_file, load):
    assert load("documents", write_file("documents.csv", DOCUMENTS)).created == 3


@pytest.fixture
def laura(db) -> User:
    return User.objects.create_user("laura", password="x-secret-1")


@pytest.fixture
def as_laura(laura) -> Actor:
    return Actor.for_user(laura)


@pytest.fixture
def uno(portfolio) -> Debtor:
    return Debtor.objects.get(external_id="C1")


@pytest.fixture
def dos(portfolio) -> Debtor:
    return Debtor.objects.get(external_id="C2")


def doc(number: str) -> Document:
    return Document.objects.get(number=number)


@pytest.fixture
def pay(write_file, load):
    """Load payments: (debtor, date, amount, document external id or '')."""
    numbers = itertools.count(1)

    def run(*rows: tuple[str, datetime.date, str, str]) -> None:
        lines = ["external_id,debtor_external_id,date,amount,document_external_id"]
        for debtor, date, amount, document in rows:
            lines.append(f"P-{next(numbers)},{debtor},{date},{amount},{document}")
        name = f"payments-{lines[-1].split(',')[0]}.csv"
        result = load("payments", write_file(name, "\n".join(lines) + "\n"))
        assert (result.created, result.rejected) == (len(rows), 0)

    return run


@pytest.fixture
def promise(creditor, uno, as_laura):
    """A promise from Uno, taken on 2 Nov (by default 1,000.00 on FV-1 by 10 Nov)."""

    def take(
        amount: str = "1000.00",
        promised: datetime.date | None = None,
        documents: tuple[str, ...] = ("FV-1",),
        **kwargs,
    ) -> Promise:
        return promise_create(
            creditor=creditor,
            debtor=kwargs.pop("debtor", uno),
            amount=Decimal(amount),
            promised_date=promised or nov(10),
            as_of=kwargs.pop("as_of", TAKEN),
            actor=as_laura,
            documents=[doc(n) for n in documents],
            **kwargs,
        )

    return take


def decide(creditor, day: int) -> dict[str, int]:
    return promises_decide(creditor=creditor, as_of=nov(day))


def state(promise: Promise) -> tuple[str, int, datetime.date | None]:
    promise.refresh_from_db()
    return promise.status, promise.paid_minor, promise.decided_on


# -- keeping and breaking ----------------------------------------------------------------------


def test_a_promise_paid_on_the_promised_date_is_kept_that_day(creditor, promise, pay, laura):
    taken = promise()
    pay(("C1", nov(10), "1000.00", "D-1"))

    assert decide(creditor, 9) == {"kept": 0, "broken": 0}  # the payment is dated tomorrow
    assert state(taken) == (PromiseStatus.PENDING, 0, None)
    assert decide(creditor, 10) == {"kept": 1, "broken": 0}
    assert state(taken) == (PromiseStatus.KEPT, 100000, nov(10))
    assert taken.taken_by == laura
    assert (taken.created_on, taken.deadline, taken.currency) == (TAKEN, nov(12), "COP")


def test_a_payment_within_the_grace_days_keeps_it_on_the_first_run_after(creditor, promise, pay):
    taken = promise()
    pay(("C1", nov(12), "1000.00", "D-1"))

    assert decide(creditor, 11) == {"kept": 0, "broken": 0}
    assert decide(creditor, 14) == {"kept": 1, "broken": 0}
    assert state(taken) == (PromiseStatus.KEPT, 100000, nov(14))


def test_a_payment_after_the_grace_days_does_not_keep_it(creditor, promise, pay):
    taken = promise()
    pay(("C1", nov(13), "1000.00", "D-1"))

    assert decide(creditor, 12) == {"kept": 0, "broken": 0}  # still within grace
    assert decide(creditor, 13) == {"kept": 0, "broken": 1}
    assert state(taken) == (PromiseStatus.BROKEN, 0, nov(13))


def test_a_part_payment_breaks_it_and_the_paid_share_is_recorded(creditor, promise, pay):
    taken = promise()
    pay(("C1", nov(5), "250.00", "D-1"), ("C1", nov(11), "150.00", "D-1"))

    assert decide(creditor, 12) == {"kept": 0, "broken": 0}
    assert decide(creditor, 13) == {"kept": 0, "broken": 1}
    assert state(taken) == (PromiseStatus.BROKEN, 40000, nov(13))


def test_a_payment_before_the_promise_was_taken_does_not_count(creditor, promise, pay):
    # Uno paid 500.00 of FV-2 on 1 Nov; on 2 Nov Laura takes a promise for the 1,500.00 left.
    pay(("C1", nov(1), "500.00", "D-2"))
    taken = promise("1500.00", documents=("FV-2",))
    # Another 1,000.00 arrives on 5 Nov: 500.00 short.
    pay(("C1", nov(5), "1000.00", "D-2"))

    assert decide(creditor, 13) == {"kept": 0, "broken": 1}
    assert state(taken) == (PromiseStatus.BROKEN, 100000, nov(13))


def test_a_payment_booked_late_but_dated_before_the_promise_does_not_count(creditor, promise, pay):
    taken = promise()
    pay(("C1", nov(1), "1000.00", "D-1"))

    decide(creditor, 13)

    assert state(taken) == (PromiseStatus.BROKEN, 0, nov(13))


def test_payments_on_other_documents_do_not_count(creditor, promise, pay):
    taken = promise()
    pay(("C1", nov(5), "1000.00", "D-2"), ("C2", nov(5), "500.00", "D-3"))

    decide(creditor, 13)

    assert state(taken) == (PromiseStatus.BROKEN, 0, nov(13))


def test_a_promise_on_the_whole_account_counts_any_of_the_debtors_documents(creditor, promise, pay):
    taken = promise("1500.00", documents=())
    # Dos's payment is someone else's money and does not count.
    pay(("C1", nov(4), "600.00", "D-2"), ("C2", nov(5), "500.00", "D-3"))
    assert decide(creditor, 8) == {"kept": 0, "broken": 0}

    pay(("C1", nov(8), "900.00", ""))  # oldest due first: all of it to FV-1

    assert decide(creditor, 8) == {"kept": 1, "broken": 0}
    assert state(taken) == (PromiseStatus.KEPT, 150000, nov(8))
    assert list(taken.documents.all()) == []


def test_a_bounced_payment_does_not_keep_it(creditor, promise, pay):
    taken = promise()
    pay(("C1", nov(9), "1000.00", "D-1"))
    entry = Allocation.objects.get().entry
    # The cheque bounced on 11 Nov: the bank's reversal takes the payment back.
    LedgerEntry.objects.create(
        creditor=creditor,
        document=entry.document,
        kind=EntryKind.REVERSAL,
        amount_minor=100000,
        currency="COP",
        effective_date=nov(11),
        payment=entry.payment,
        reverses=entry,
        recorded_by="bank",
    )

    # Not decided on 10 Nov; on 12 Nov the money is gone, so on 13 Nov it is broken.
    assert decide(creditor, 12) == {"kept": 0, "broken": 0}
    assert decide(creditor, 13) == {"kept": 0, "broken": 1}
    assert state(taken) == (PromiseStatus.BROKEN, 0, nov(13))


@override_settings(CARTERA_PROMISE_GRACE_DAYS=5)
def test_the_grace_days_come_from_the_setting_or_the_promise(creditor, promise, pay):
    default = promise()
    own = promise("500.00", documents=("FV-2",), grace_days=0)
    pay(("C1", nov(11), "1000.00", "D-1"), ("C1", nov(11), "500.00", "D-2"))

    assert decide(creditor, 11) == {"kept": 1, "broken": 1}
    assert (default.grace_days, default.deadline) == (5, nov(15))
    assert state(default)[0] == PromiseStatus.KEPT
    assert state(own) == (PromiseStatus.BROKEN, 0, nov(11))


def test_deciding_again_changes_nothing(creditor, promise, pay):
    kept = promise()
    broken = promise("2000.00", documents=("FV-2",))
    pay(("C1", nov(9), "1000.00", "D-1"))

    assert decide(creditor, 13) == {"kept": 1, "broken": 1}
    assert decide(creditor, 13) == {"kept": 0, "broken": 0}
    # A payment booked later, dated within the window, does not revive a broken promise.
    pay(("C1", nov(10), "2000.00", "D-2"))
    assert decide(creditor, 20) == {"kept": 0, "broken": 0}

    assert state(kept) == (PromiseStatus.KEPT, 100000, nov(13))
    assert state(broken) == (PromiseStatus.BROKEN, 0, nov(13))
    assert AuditEvent.objects.filter(action="promises.decide").count() == 1
    event = AuditEvent.objects.get(action="promises.decide")
    assert (event.creditor_id, event.changes["kept"], event.changes["broken"]) == (
        creditor.pk,
        1,
        1,
    )


# -- plans ---------------------------------------------------------------------------------


def plan_parts(creditor, uno, as_laura, *parts, documents=("FV-2",)) -> list[Promise]:
    plan = promise_plan_create(
        creditor=creditor,
        debtor=uno,
        parts=[(Decimal(amount), date) for amount, date in parts],
        as_of=TAKEN,
        actor=as_laura,
        documents=[doc(n) for n in documents],
        channel="whatsapp",
        note="800 now, 1200 at month end",
    )
    return list(plan.parts.order_by("promised_date"))


def test_plan_parts_are_decided_on_their_own_dates_counting_payments_cumulatively(
    creditor, uno, as_laura, pay
):
    first, second = plan_parts(creditor, uno, as_laura, ("800.00", nov(10)), ("1200.00", nov(30)))
    # 1,000.00 on 9 Nov covers the first part and 200.00 of the second.
    pay(("C1", nov(9), "1000.00", "D-2"))
    assert decide(creditor, 10) == {"kept": 1, "broken": 0}
    assert state(first) == (PromiseStatus.KEPT, 80000, nov(10))
    assert state(second)[0] == PromiseStatus.PENDING

    # 900.00 more by 25 Nov makes 1,900.00: 100.00 short of both parts.
    pay(("C1", nov(25), "900.00", "D-2"))
    assert decide(creditor, 26) == {"kept": 0, "broken": 0}
    # The last 100.00 on 2 Dec, the last day of grace.
    pay(("C1", nov(32), "100.00", "D-2"))
    assert decide(creditor, 32) == {"kept": 1, "broken": 0}
    assert state(second) == (PromiseStatus.KEPT, 120000, nov(32))


def test_the_first_part_is_covered_first(creditor, uno, as_laura, pay):
    first, second = plan_parts(creditor, uno, as_laura, ("800.00", nov(10)), ("1200.00", nov(30)))
    pay(("C1", nov(8), "500.00", "D-2"), ("C1", nov(25), "1200.00", "D-2"))

    assert decide(creditor, 13) == {"kept": 0, "broken": 1}
    assert state(first) == (PromiseStatus.BROKEN, 50000, nov(13))
    # 1,700.00 paid in all: 800.00 go to the first part, 900.00 to the second.
    assert decide(creditor, 33) == {"kept": 0, "broken": 1}
    assert state(second) == (PromiseStatus.BROKEN, 90000, nov(33))


def test_a_plan_paid_in_full_up_front_is_kept_at_once(creditor, uno, as_laura, pay):
    parts = plan_parts(
        creditor,
        uno,
        as_laura,
        ("500.00", nov(10)),
        ("500.00", nov(20)),
        ("1000.00", nov(30)),
    )
    pay(("C1", nov(3), "2000.00", "D-2"))

    assert decide(creditor, 3) == {"kept": 3, "broken": 0}
    assert [state(p) for p in parts] == [
        (PromiseStatus.KEPT, 50000, nov(3)),
        (PromiseStatus.KEPT, 50000, nov(3)),
        (PromiseStatus.KEPT, 100000, nov(3)),
    ]
    plan = parts[0].plan
    assert plan is not None and plan.taken_by is not None
    assert {p.channel for p in parts} == {"whatsapp"}
    assert [list(p.documents.values_list("number", flat=True)) for p in parts] == [["FV-2"]] * 3


def test_plan_refusals(creditor, uno, as_laura):
    def create(*parts):
        return plan_parts(creditor, uno, as_laura, *parts)

    with pytest.raises(NegotiationError, match=re.escape("more than the 2000.00 COP open")):
        create(("1500.00", nov(10)), ("600.00", nov(20)))
    with pytest.raises(NegotiationError, match="strictly increasing"):
        create(("500.00", nov(20)), ("500.00", nov(20)))
    with pytest.raises(NegotiationError, match="strictly increasing"):
        create(("500.00", nov(20)), ("500.00", nov(10)))
    with pytest.raises(NegotiationError, match="already past"):
        create(("500.00", nov(1)), ("500.00", nov(10)))
    with pytest.raises(NegotiationError, match="at least two parts"):
        create(("500.00", nov(10)))
    with pytest.raises(NegotiationError, match="more than zero"):
        create(("0", nov(10)), ("500.00", nov(20)))
    assert PromisePlan.objects.count() == 0
    assert Promise.objects.count() == 0


# -- taking a promise: refusals and replacements -----------------------------------------------


def test_refusals_when_taking_a_promise(creditor, promise, dos, as_laura, actor):
    with pytest.raises(
        NegotiationError, match=re.escape("1000.01 COP is more than the 1000.00 COP open")
    ):
        promise("1000.01")
    with pytest.raises(NegotiationError, match=re.escape("more than the 3000.00 COP open")):
        promise("3000.01", documents=())
    with pytest.raises(NegotiationError, match="already past"):
        promise(promised=nov(1))
    with pytest.raises(NegotiationError, match=re.escape("FV-3: not a document of Uno S.A.S.")):
        promise(documents=("FV-1", "FV-3"))
    with pytest.raises(NegotiationError, match="more than zero"):
        promise("-5")
    with pytest.raises(NegotiationError, match="more decimals than COP allows"):
        promise("10.005")
    with pytest.raises(NegotiationError, match="unknown channel"):
        promise(channel="pigeon")

    other = creditor_create(code="OTRO", name="Otro", country="MX", currency="MXN", actor=actor)
    with pytest.raises(NegotiationError, match="is not a debtor of Otro"):
        promise_create(
            creditor=other,
            debtor=dos,
            amount=Decimal("1"),
            promised_date=nov(10),
            as_of=TAKEN,
            actor=as_laura,
        )
    assert Promise.objects.count() == 0


def test_a_settled_document_cannot_be_promised(creditor, promise, pay):
    pay(("C1", nov(1), "1000.00", "D-1"))
    with pytest.raises(NegotiationError, match="FV-1: nothing is owed on it"):
        promise("1.00")


def test_a_disputed_document_cannot_be_promised_and_the_account_excludes_it(
    creditor, uno, promise, as_laura
):
    dispute_open(
        creditor=creditor,
        debtor=uno,
        documents=[doc("FV-2")],
        category="price",
        note="",
        as_of=TAKEN,
        actor=as_laura,
    )

    with pytest.raises(NegotiationError, match="FV-2: in an open dispute"):
        promise("100.00", documents=("FV-1", "FV-2"))
    with pytest.raises(NegotiationError, match=re.escape("more than the 1000.00 COP open")):
        promise("1500.00", documents=())
    assert promise("1000.00", documents=()).amount_minor == 100000


def test_a_new_promise_on_the_same_documents_cancels_the_pending_one(
    creditor, promise, dos, as_laura
):
    on_fv1 = promise("400.00")
    on_fv2 = promise("400.00", documents=("FV-2",))
    of_dos = promise("100.00", documents=("FV-3",), debtor=dos)
    assert (state(on_fv1)[0], state(on_fv2)[0]) == (PromiseStatus.PENDING,) * 2

    wider = promise("1500.00", promised=nov(15), documents=("FV-1", "FV-2"), as_of=nov(4))

    assert state(on_fv1) == (PromiseStatus.CANCELLED, 0, nov(4))
    assert state(on_fv2) == (PromiseStatus.CANCELLED, 0, nov(4))
    assert state(of_dos)[0] == PromiseStatus.PENDING
    event = AuditEvent.objects.get(action="promise.create", object_id=str(wider.pk))
    assert event.changes["cancelled_promises"] == [on_fv1.pk, on_fv2.pk]
    assert event.changes["documents"] == ["FV-1", "FV-2"]
    assert AuditEvent.objects.filter(action="promise.cancel").count() == 2

    # A promise on the whole account overlaps every document, and the other way round.
    account = promise("100.00", documents=(), as_of=nov(5))
    assert state(wider)[0] == PromiseStatus.CANCELLED
    promise("100.00", documents=("FV-2",), as_of=nov(6))
    assert state(account)[0] == PromiseStatus.CANCELLED


def test_a_new_plan_cancels_a_pending_promise_and_a_new_promise_the_pending_parts(
    creditor, uno, promise, as_laura, pay
):
    single = promise("300.00", documents=("FV-2",))
    first, second = plan_parts(creditor, uno, as_laura, ("800.00", nov(10)), ("1200.00", nov(30)))
    assert state(single)[0] == PromiseStatus.CANCELLED

    pay(("C1", nov(9), "800.00", "D-2"))
    decide(creditor, 10)
    promise("1200.00", promised=nov(20), documents=("FV-2",), as_of=nov(11))

    assert state(first)[0] == PromiseStatus.KEPT
    assert state(second) == (PromiseStatus.CANCELLED, 0, nov(11))


# -- queries -------------------------------------------------------------------------------


def test_queries_for_the_daily_run(creditor, promise, uno, dos, as_laura):
    assert list(debtors_with_pending_promise(creditor)) == []
    early = promise("100.00")
    later = promise("100.00", documents=("FV-3",), debtor=dos, as_of=nov(6), promised=nov(7))
    dispute = dispute_open(
        creditor=creditor,
        debtor=uno,
        documents=[doc("FV-2")],
        category="quality",
        note="",
        as_of=TAKEN,
        actor=as_laura,
    )

    assert list(open_promises(creditor, nov(5))) == [early]
    assert list(open_promises(creditor, nov(6))) == [later, early]
    assert sorted(debtors_with_pending_promise(creditor)) == sorted([uno.pk, dos.pk])
    assert list(debtors_with_pending_promise(creditor, as_of=nov(5))) == [uno.pk]
    assert list(disputed_document_ids(creditor)) == [doc("FV-2").pk]
    assert Document.objects.filter(pk__in=disputed_document_ids(creditor)).count() == 1

    dispute_resolve(dispute=dispute, resolution="rejected", note="", as_of=nov(6), actor=as_laura)
    assert list(disputed_document_ids(creditor)) == []


# -- disputes ------------------------------------------------------------------------------


def test_a_dispute_is_opened_and_resolved(creditor, uno, dos, as_laura, laura):
    dispute = dispute_open(
        creditor=creditor,
        debtor=uno,
        documents=[doc("FV-1"), doc("FV-2")],
        category="not_received",
        note="Uno says the goods never arrived",
        as_of=TAKEN,
        actor=as_laura,
    )

    assert (dispute.status, dispute.resolution, dispute.opened_by) == ("open", "", laura)
    assert (dispute.opened_on, dispute.sla_due_on) == (TAKEN, nov(17))
    assert sorted(dispute.documents.values_list("number", flat=True)) == ["FV-1", "FV-2"]
    opened = AuditEvent.objects.get(action="dispute.open")
    assert (opened.creditor_id, opened.changes["documents"]) == (creditor.pk, ["FV-1", "FV-2"])

    resolved = dispute_resolve(
        dispute=dispute,
        resolution="partially_valid",
        note="Half the goods were delivered",
        as_of=nov(9),
        actor=as_laura,
        credit=Decimal("500.00"),
    )

    resolved.refresh_from_db()
    assert (resolved.status, resolved.resolution) == (DisputeStatus.RESOLVED, "partially_valid")
    assert (resolved.resolved_by, resolved.resolved_on) == (laura, nov(9))
    assert resolved.resolved_at is not None
    assert resolved.resolution_note == "Half the goods were delivered"
    assert not DisputeDocument.objects.filter(dispute=dispute, is_open=True).exists()
    assert AuditEvent.objects.get(action="dispute.resolve").creditor_id == creditor.pk
    # The credit note goes through the ledger, oldest due document first.
    assert (doc("FV-1").balance_minor, doc("FV-2").balance_minor) == (50000, 200000)
    assert resolved.credited_minor == 50000

    with pytest.raises(NegotiationError, match="not open"):
        dispute_resolve(dispute=dispute, resolution="valid", note="", as_of=nov(10), actor=as_laura)
    # Once resolved, a document may be disputed again.
    again = dispute_open(
        creditor=creditor,
        debtor=uno,
        documents=[doc("FV-1")],
        category="price",
        note="",
        as_of=nov(10),
        actor=as_laura,
    )
    assert again.status == DisputeStatus.OPEN


def test_dispute_refusals(creditor, uno, as_laura):
    def open_on(*numbers, **kwargs):
        return dispute_open(
            creditor=creditor,
            debtor=uno,
            documents=[doc(n) for n in numbers],
            category=kwargs.get("category", "price"),
            note="",
            as_of=TAKEN,
            actor=as_laura,
        )

    first = open_on("FV-1")
    with pytest.raises(NegotiationError, match=rf"FV-1 \(#{first.pk}\): already in an open"):
        open_on("FV-2", "FV-1")
    with pytest.raises(NegotiationError, match="FV-3: not a document of Uno"):
        open_on("FV-2", "FV-3")
    with pytest.raises(NegotiationError, match="at least one document"):
        open_on()
    with pytest.raises(NegotiationError, match="unknown dispute category"):
        open_on("FV-2", category="mood")
    with pytest.raises(NegotiationError, match="unknown resolution"):
        dispute_resolve(dispute=first, resolution="maybe", note="", as_of=nov(5), actor=as_laura)
    with pytest.raises(NegotiationError, match="cannot be resolved on"):
        dispute_resolve(dispute=first, resolution="valid", note="", as_of=nov(1), actor=as_laura)
    assert Dispute.objects.count() == 1


def test_the_database_refuses_a_document_in_two_open_disputes(creditor, uno, as_laura):
    first = dispute_open(
        creditor=creditor,
        debtor=uno,
        documents=[doc("FV-1")],
        category="price",
        note="",
        as_of=TAKEN,
        actor=as_laura,
    )
    second = Dispute.objects.create(
        creditor=creditor, debtor=uno, category="price", opened_on=TAKEN, sla_due_on=TAKEN
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DisputeDocument.objects.create(dispute=second, document=doc("FV-1"))
    assert first.links.count() == 1


@override_settings(CARTERA_DISPUTE_SLA_DAYS=30)
def test_the_dispute_sla_comes_from_the_setting(creditor, uno, as_laura):
    dispute = dispute_open(
        creditor=creditor,
        debtor=uno,
        documents=[doc("FV-1")],
        category="duplicate",
        note="",
        as_of=TAKEN,
        actor=as_laura,
    )
    assert dispute.sla_due_on == nov(32)


# -- scale ---------------------------------------------------------------------------------


@pytest.mark.parametrize("debtors", [2, 40])
def test_deciding_takes_the_same_queries_however_many_promises(
    creditor, write_file, load, actor, debtors, django_assert_max_num_queries
):
    lines = ["external_id,debtor_external_id,name,issue_date,due_date,amount"]
    payments = ["external_id,debtor_external_id,date,amount,document_external_id"]
    for n in range(debtors):
        lines.append(f"X{n},K{n},Cliente {n},2026-09-01,2026-10-01,100.00")
        lines.append(f"Y{n},K{n},Cliente {n},2026-09-01,2026-10-15,100.00")
    load("documents", write_file("many.csv", "\n".join(lines) + "\n"))
    documents = {d.external_id: d for d in Document.objects.all()}
    for n, debtor in enumerate(Debtor.objects.order_by("external_id")):
        number = int(debtor.external_id[1:])
        if n % 2:
            promise_plan_create(
                creditor=creditor,
                debtor=debtor,
                parts=[(Decimal("50.00"), nov(10)), (Decimal("50.00"), nov(20))],
                as_of=TAKEN,
                actor=actor,
                documents=[documents[f"X{number}"]],
            )
        else:
            promise_create(
                creditor=creditor,
                debtor=debtor,
                amount=Decimal("150.00"),
                promised_date=nov(10),
                as_of=TAKEN,
                actor=actor,
            )
        payments.append(f"Q{number},K{number},2026-11-05,{60 + number % 3 * 20}.00,")
    load("payments", write_file("pay.csv", "\n".join(payments) + "\n"))

    # 5 to decide, then 4 to queue the broken promises' messages (list them, their debtors'
    # contact points, the outbox insert), whatever their number.
    with django_assert_max_num_queries(9):
        first = promises_decide(creditor=creditor, as_of=nov(13))
    with django_assert_max_num_queries(9):
        later = promises_decide(creditor=creditor, as_of=nov(23))

    # Half the debtors promised 150.00 on the account, half a plan of 50.00 + 50.00 on X;
    # 60.00, 80.00 or 100.00 arrived on 5 Nov.
    assert first["kept"] > 0 and first["broken"] > 0
    assert sum(first.values()) + sum(later.values()) == Promise.objects.count() == debtors * 3 // 2
    assert not Promise.objects.filter(status=PromiseStatus.PENDING).exists()


# -- admin and tenancy -----------------------------------------------------------------------

OTHER_DOCUMENTS = (
    "external_id,debtor_external_id,name,due_date,amount\nO-1,OC,Deudor OTRO,2026-10-01,100\n"
)


@pytest.fixture
def two_creditors(creditor, uno, actor, write_file, load, as_laura):
    other = creditor_create(
        code="OTRO", name="Otro S.A.", country="MX", currency="MXN", actor=actor
    )
    load("documents", write_file("otro.csv", OTHER_DOCUMENTS), target=other)
    otro_debtor = Debtor.objects.get(creditor=other)
    for target, debtor, number in ((creditor, uno, "FV-1"), (other, otro_debtor, "O-1")):
        promise_create(
            creditor=target,
            debtor=debtor,
            amount=Decimal("10"),
            promised_date=nov(10),
            as_of=TAKEN,
            actor=as_laura,
        )
        promise_plan_create(
            creditor=target,
            debtor=debtor,
            parts=[(Decimal("5"), nov(10)), (Decimal("5"), nov(20))],
            as_of=nov(3),
            actor=as_laura,
        )
        dispute_open(
            creditor=target,
            debtor=debtor,
            documents=[Document.objects.get(creditor=target, number=number)],
            category="price",
            note=f"note of {target.code}",
            as_of=TAKEN,
            actor=as_laura,
        )
    return creditor, other


@pytest.fixture
def supervisor_of_acme(two_creditors):
    """Sofía supervises ACME's negotiations and belongs to ACME only."""
    user = User.objects.create_user("sofia", password="x-secret-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="negotiation").exclude(
            codename__startswith="delete_"
        )
    )
    Membership.objects.create(user=user, creditor=two_creditors[0])
    return user


MODELS = {"promise": Promise, "promiseplan": PromisePlan, "dispute": Dispute}


def test_the_admin_shows_only_the_users_creditors(client, supervisor_of_acme, two_creditors):
    acme, other = two_creditors
    client.force_login(supervisor_of_acme)
    for name, model in MODELS.items():
        response = client.get(reverse(f"admin:negotiation_{name}_changelist"))
        assert response.status_code == 200, name
        assert b"OTRO" not in response.content, name
        assert "Uno S.A.S." in response.content.decode(), name

        foreign = model.objects.filter(creditor=other).first()
        response = client.get(reverse(f"admin:negotiation_{name}_change", args=[foreign.pk]))
        assert response.status_code in (302, 404), name
        own = model.objects.filter(creditor=acme).first()
        response = client.get(reverse(f"admin:negotiation_{name}_change", args=[own.pk]))
        assert response.status_code == 200, name


def test_in_the_admin_only_the_note_changes_and_the_change_is_audited(
    client, supervisor_of_acme, two_creditors
):
    client.force_login(supervisor_of_acme)
    # (The plan taken on 3 Nov cancelled this promise on the whole account.)
    taken = Promise.objects.filter(creditor=two_creditors[0], plan=None).get()
    assert taken.status == PromiseStatus.CANCELLED
    url = reverse("admin:negotiation_promise_change", args=[taken.pk])
    response = client.post(
        url,
        {
            "note": "Will pay from the new contract",
            "amount_minor": "1",
            "status": "kept",
            "auditevent-TOTAL_FORMS": "0",
            "auditevent-INITIAL_FORMS": "0",
            "core-auditevent-content_type-object_id-TOTAL_FORMS": "0",
            "core-auditevent-content_type-object_id-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content[:3000]
    taken.refresh_from_db()
    assert taken.note == "Will pay from the new contract"
    assert (taken.amount_minor, taken.status) == (1000, PromiseStatus.CANCELLED)
    assert AuditEvent.objects.filter(action="promise.change.admin").exists()
    assert client.get(reverse("admin:negotiation_promise_add")).status_code == 403
