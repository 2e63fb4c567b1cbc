"""One payment at a time: record, apply, reverse, apply again; `cartera check` stays clean."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from cartera.core.models import AuditEvent
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import (
    Allocation,
    BalanceMode,
    Debtor,
    Document,
    DocumentStatus,
    EntryKind,
    LedgerEntry,
    Payment,
)
from cartera.portfolio.payments import (
    PaymentOrder,
    payment_apply,
    payment_debtor_change,
    payment_record,
    payment_reverse,
    payments_record_bulk,
)
from cartera.portfolio.services import PortfolioError


@pytest.fixture(autouse=True, scope="module")
def english():
    """The refusals are asserted as written in the code (English, the msgids); the Spanish the
    product shows by default is checked in test_cash_pages.py."""
    with translation.override("en"):
        yield


DOCUMENTS = (
    "external_id,number,debtor_external_id,name,issue_date,due_date,amount\n"
    "D-1,FV-1,C1,Uno S.A.S.,2026-07-01,2026-08-01,1000.00\n"
    "D-2,FV-2,C1,Uno S.A.S.,2026-08-01,2026-09-01,2000.00\n"
    "D-3,FV-3,C1,Uno S.A.S.,2026-12-01,2027-01-01,3000.00\n"
    "D-4,FV-4,C2,Dos Ltda.,2026-09-01,2026-10-01,500.00\n"
)
NOV = datetime.date(2026, 11, 2)


@pytest.fixture
def portfolio(write_file, load):
    assert load("documents", write_file("documents.csv", DOCUMENTS)).created == 4


def doc(external_id: str) -> Document:
    return Document.objects.get(external_id=external_id)


def balances() -> dict[str, int]:
    return dict(
        Document.objects.order_by("external_id").values_list("external_id", "balance_minor")
    )


@pytest.fixture
def record(creditor, actor, portfolio):
    def run(amount: int, debtor: str = "C1", external_id: str = "P-1") -> Payment:
        return payment_record(
            creditor=creditor,
            debtor=Debtor.objects.get(external_id=debtor),
            amount_minor=amount,
            currency="COP",
            date=NOV,
            external_id=external_id,
            actor=actor,
        )

    return run


def test_a_recorded_payment_is_all_unapplied_until_applied(record):
    payment = record(150000)

    assert (payment.amount_minor, payment.unapplied_minor) == (150000, 150000)
    assert LedgerEntry.objects.filter(payment=payment).count() == 0
    assert AuditEvent.objects.filter(action="payment.record").count() == 1
    assert integrity_problems() == []


def test_applying_goes_oldest_due_first_and_skips_documents_issued_later(record, actor):
    payment = record(500000)

    allocations = payment_apply(payment=payment, actor=actor)

    # D-3 is issued in December, after the payment: it cannot be what the payment paid
    assert [(a.document.number, a.amount_minor) for a in allocations] == [
        ("FV-1", 100000),
        ("FV-2", 200000),
    ]
    payment.refresh_from_db()
    assert payment.unapplied_minor == 200000  # the overpayment is the debtor's credit
    assert balances() == {"D-1": 0, "D-2": 0, "D-3": 300000, "D-4": 50000}
    assert doc("D-1").status == DocumentStatus.CLOSED
    assert integrity_problems() == []


def test_applying_to_chosen_documents(record, actor):
    payment = record(150000)

    payment_apply(
        payment=payment, allocations=[(doc("D-2"), 120000), (doc("D-1"), 30000)], actor=actor
    )

    assert balances()["D-1"] == 70000 and balances()["D-2"] == 80000
    payment.refresh_from_db()
    assert payment.unapplied_minor == 0
    assert integrity_problems() == []


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("D-1", 100001)], "can take only"),
        ([("D-4", 100)], "another debtor"),
        ([("D-1", 100000), ("D-2", 100000)], "add up to"),
        ([("D-1", 0)], "must be positive"),
        ([], "no documents given"),
    ],
)
def test_wrong_allocations_are_refused_and_nothing_changes(record, actor, pairs, message):
    payment = record(150000)
    before = balances()

    with pytest.raises(PortfolioError, match=message):
        payment_apply(
            payment=payment, allocations=[(doc(d), amount) for d, amount in pairs], actor=actor
        )

    assert balances() == before
    assert Allocation.objects.count() == 0


def test_reversal_restores_the_documents_and_the_payment_can_be_applied_again(record, actor):
    payment = record(250000)
    payment_apply(payment=payment, actor=actor)
    assert balances()["D-2"] == 50000

    payment_reverse(payment=payment, reason="applied to the wrong invoices", actor=actor)

    payment.refresh_from_db()
    assert payment.unapplied_minor == 250000
    assert balances() == {"D-1": 100000, "D-2": 200000, "D-3": 300000, "D-4": 50000}
    reversals = LedgerEntry.objects.filter(kind=EntryKind.REVERSAL, payment=payment)
    assert sorted(reversals.values_list("amount_minor", flat=True)) == [100000, 150000]
    # dated like what they reverse: as of any past date, the misapplication never happened
    assert {e.effective_date for e in reversals} == {NOV}
    assert Allocation.objects.filter(payment=payment).count() == 2  # nothing deleted
    assert integrity_problems() == []

    payment_apply(payment=payment, allocations=[(doc("D-2"), 200000)], actor=actor)

    payment.refresh_from_db()
    assert payment.unapplied_minor == 50000
    assert balances()["D-2"] == 0 and balances()["D-1"] == 100000
    assert integrity_problems() == []
    with pytest.raises(PortfolioError, match="say why"):
        payment_reverse(payment=payment, reason="  ", actor=actor)
    payment_reverse(payment=payment, reason="again", actor=actor)
    payment.refresh_from_db()
    assert payment.unapplied_minor == 250000
    assert integrity_problems() == []


def test_a_payment_with_nothing_applied_cannot_be_reversed(record, actor):
    payment = record(1000)

    with pytest.raises(PortfolioError, match="nothing applied"):
        payment_reverse(payment=payment, reason="x", actor=actor)


def test_an_unapplied_payment_may_move_to_another_debtor_an_applied_one_may_not(record, actor):
    payment = record(50000)
    dos = Debtor.objects.get(external_id="C2")

    payment_debtor_change(payment=payment, debtor=dos, actor=actor)
    payment_apply(payment=payment, actor=actor)

    assert balances()["D-4"] == 0
    with pytest.raises(PortfolioError, match="reverse it"):
        payment_debtor_change(
            payment=payment, debtor=Debtor.objects.get(external_id="C1"), actor=actor
        )
    assert integrity_problems() == []


def test_a_payment_before_a_balance_snapshot_explains_the_prior_payment_and_reverses_cleanly(
    creditor, actor, write_file, load
):
    # The ERP's file says FV-9 for 1,000 has 400 left on 2026-11-10: 600 were paid before.
    snapshot = (
        "external_id,number,debtor_external_id,name,issue_date,due_date,amount,balance\n"
        "D-9,FV-9,C9,Nueve,2026-09-01,2026-10-01,1000.00,400.00\n"
    )
    assert load(
        "documents", write_file("s.csv", snapshot), as_of=datetime.date(2026, 11, 10)
    ).created
    nine = Document.objects.get(external_id="D-9")
    assert (nine.balance_minor, nine.unmatched_prior_minor) == (40000, 60000)
    payment = payment_record(
        creditor=creditor,
        debtor=nine.debtor,
        amount_minor=60000,
        currency="COP",
        date=datetime.date(2026, 11, 1),
        external_id="P-9",
        actor=actor,
    )

    payment_apply(payment=payment, actor=actor)

    nine.refresh_from_db()
    # the payment is the one the snapshot already counted: the balance stays 400
    assert (nine.balance_minor, nine.unmatched_prior_minor) == (40000, 0)
    assert integrity_problems() == []

    payment_reverse(payment=payment, reason="not this debtor's", actor=actor)

    nine.refresh_from_db()
    assert (nine.balance_minor, nine.unmatched_prior_minor) == (40000, 60000)
    assert integrity_problems() == []


def test_bulk_orders_apply_like_single_payments(creditor, actor, portfolio):
    uno, dos = (Debtor.objects.get(external_id=c).pk for c in ("C1", "C2"))

    results = payments_record_bulk(
        creditor=creditor,
        orders=[
            PaymentOrder(uno, "B-1", NOV, "COP", 150000),
            PaymentOrder(dos, "B-2", NOV, "COP", 60000, documents=(doc("D-4").pk,)),
            PaymentOrder(uno, "B-3", NOV, "COP", 100000, documents=(doc("D-2").pk,)),
        ],
        actor=actor,
    )

    assert [unapplied for _, unapplied in results] == [0, 10000, 0]
    assert balances() == {"D-1": 0, "D-2": 50000, "D-3": 300000, "D-4": 0}
    assert list(Payment.objects.order_by("external_id").values_list("pk", flat=True)) == [
        pk for pk, _ in results
    ]
    assert integrity_problems() == []


def test_no_payments_for_a_creditor_whose_erp_keeps_the_balances(creditor, record):
    creditor.balance_mode = BalanceMode.ERP
    creditor.save()

    with pytest.raises(PortfolioError, match="ERP"):
        record(1000)


def test_bulk_application_plans_again_when_a_document_changed_under_it(
    creditor, actor, portfolio, monkeypatch
):
    import cartera.portfolio.payments as payments

    real = payments._states
    calls = []

    def stale_first(query):
        states = real(query)
        calls.append(len(states))
        if len(calls) == 1:
            # as if another writer had paid 1 cent of each document since this read
            for state in states:
                state.was = (state.was[0] - 1, state.was[1])
        return states

    monkeypatch.setattr(payments, "_states", stale_first)
    uno = Debtor.objects.get(external_id="C1").pk

    [(payment_id, unapplied)] = payments_record_bulk(
        creditor=creditor,
        orders=[PaymentOrder(uno, "B-1", NOV, "COP", 150000)],
        actor=actor,
    )

    assert len(calls) == 2
    assert Payment.objects.get().pk == payment_id and unapplied == 0
    assert balances()["D-1"] == 0 and balances()["D-2"] == 150000
    assert integrity_problems() == []
