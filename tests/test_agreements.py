"""Payment agreements: proposal, the approval matrix, activation in the ledger, the PDF, the
confirmation, payments to the installments, and the daily decision (kept, broken, reminders).

The people and the book are those of `tests.negotiation_fixtures`. Uno owes 1,500,000.00 on
FV-1 and FV-2; proposals are made on 23 Nov 2026.
"""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Sum
from pypdf import PdfReader

from cartera.core.audit import Actor
from cartera.core.models import AuditEvent
from cartera.messaging.models import Message
from cartera.messaging.rendering import Renderer
from cartera.negotiation.agreements import (
    ALERT_BROKEN_AGREEMENT,
    agreement_approve,
    agreement_break,
    agreement_cancel,
    agreement_propose,
    agreement_reject,
    agreement_submit,
    agreements_decide,
)
from cartera.negotiation.models import (
    Agreement,
    AgreementDocument,
    AgreementInstallment,
    AgreementStatus,
    ApprovalLimit,
    NegotiationTerms,
    Promise,
    PromiseStatus,
    UsuryRate,
)
from cartera.negotiation.queries import (
    agreements_pending_approval,
    debtors_with_active_agreement,
    installment_documents,
)
from cartera.negotiation.services import NegotiationError, dispute_open, promise_create
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import (
    BalanceMode,
    Creditor,
    Debtor,
    Document,
    DocumentKind,
    EntryKind,
    LedgerEntry,
)
from cartera.portfolio.payments import payment_apply, payment_record
from cartera.portfolio.queries import creditors_visible_to
from tests.negotiation_support import AS_OF, doc

# A plugin's fixtures reach every test of the session, so these are asked for by name here.
pytestmark = pytest.mark.usefixtures("usury", "in_english", "home")
pytest_plugins = ["tests.negotiation_fixtures"]

OWED = 150_000_000  # 1,500,000.00 in minor units


def propose(debtor: Debtor, actor: Actor, **kwargs) -> Agreement:
    kwargs.setdefault("installments", 6)
    kwargs.setdefault("as_of", AS_OF)
    return agreement_propose(creditor=debtor.creditor, debtor=debtor, actor=actor, **kwargs)


def installments_of(agreement: Agreement) -> list[Document]:
    return list(
        Document.objects.filter(agreement_installment__agreement=agreement).order_by(
            "due_date", "pk"
        )
    )


def entries(agreement: Agreement, kind: str) -> int:
    return (
        LedgerEntry.objects.filter(kind=kind, memo=f"agreement {agreement.number}").aggregate(
            t=Sum("amount_minor")
        )["t"]
        or 0
    )


# -- within the limits ---------------------------------------------------------------------------


def test_within_the_collectors_limits_it_is_active_at_once(creditor, uno, laura, as_laura, home):
    promise = promise_create(
        creditor=creditor,
        debtor=uno,
        amount=Decimal("100000.00"),
        promised_date=AS_OF + datetime.timedelta(days=5),
        as_of=AS_OF,
        actor=as_laura,
    )

    agreement = propose(uno, as_laura, down_payment=Decimal("300000.00"), annual_rate=Decimal(0))

    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ACTIVE
    assert (agreement.decided_by, agreement.decided_on) == (laura, AS_OF)
    assert agreement.whole_account and agreement.number == f"AC-{agreement.pk:06d}"
    assert (agreement.owed_minor, agreement.principal_minor) == (OWED, OWED)
    # The bundled invoices are closed by refinance entries for what they owed.
    for number, owed in (("FV-1", 100_000_000), ("FV-2", 50_000_000)):
        invoice = doc(number)
        assert (invoice.balance_minor, invoice.status) == (0, "closed")
        assert invoice.entries.get(kind=EntryKind.REFINANCE).amount_minor == -owed
    # The down payment (due today) and six installments are documents of kind installment.
    documents = installments_of(agreement)
    assert [d.kind for d in documents] == [DocumentKind.INSTALLMENT] * 7
    assert documents[0].due_date == AS_OF and documents[0].amount_minor == 30_000_000
    assert [d.due_date for d in documents[1:]] == [
        datetime.date(2026, 12, 23),
        datetime.date(2027, 1, 23),
        datetime.date(2027, 2, 23),
        datetime.date(2027, 3, 23),
        datetime.date(2027, 4, 23),
        datetime.date(2027, 5, 23),
    ]
    assert sum(d.balance_minor for d in documents) == OWED
    assert entries(agreement, EntryKind.REFINANCE) == 0  # moved, not created
    assert set(installment_documents(creditor)) == set(documents)
    assert list(debtors_with_active_agreement(creditor, AS_OF)) == [uno.pk]
    assert integrity_problems() == []
    # The agreement replaces the promise on the account.
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.CANCELLED

    # A PDF in Spanish is kept under CARTERA_HOME/agreements.
    path = home / "agreements" / creditor.code / f"{agreement.number}.pdf"
    assert agreement.pdf.path == str(path)
    text = PdfReader(io.BytesIO(path.read_bytes())).pages[0].extract_text()
    assert f"Acuerdo de pago {agreement.number}" in text
    assert "Uno S.A.S." in text and "Cuota inicial" in text and "FV-1" in text
    assert "1.500.000,00" in text

    # The debtor is sent one confirmation on their preferred channel.
    message = Message.objects.get(template_code="acuerdo_confirmacion")
    assert (message.debtor_id, message.channel, message.origin) == (uno.pk, "email", "agreement")
    assert message.idempotency_key == f"{creditor.pk}:agreement:{agreement.pk}:confirm"
    assert sorted(message.document_ids) == sorted(d.pk for d in documents)
    assert AuditEvent.objects.filter(action="agreement.approve", object_id=str(agreement.pk))


def test_chosen_documents_a_waiver_and_interest(creditor, uno, ana):
    LedgerEntry.objects.create(
        creditor=creditor,
        document=doc("FV-1"),
        kind=EntryKind.INTEREST,
        amount_minor=2_000_000,
        currency="COP",
        effective_date=AS_OF,
        recorded_by="tests",
    )
    Document.objects.filter(number="FV-1").update(balance_minor=102_000_000)

    agreement = propose(
        uno,
        Actor.for_user(ana),
        documents=[doc("FV-1")],
        installments=12,
        annual_rate=Decimal("18"),
        waive=Decimal("20000.00"),
        discount=Decimal("50000.00"),
    )

    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ACTIVE  # an administrator has no limits
    assert not agreement.whole_account
    assert (agreement.owed_minor, agreement.waived_minor, agreement.discount_minor) == (
        102_000_000,
        2_000_000,
        5_000_000,
    )
    assert agreement.principal_minor == 95_000_000
    invoice = doc("FV-1")
    assert invoice.entries.get(kind=EntryKind.DISCOUNT).amount_minor == -7_000_000
    assert invoice.entries.get(kind=EntryKind.REFINANCE).amount_minor == -95_000_000
    assert doc("FV-2").balance_minor == 50_000_000  # not bundled
    schedule = list(AgreementInstallment.objects.filter(agreement=agreement).order_by("n"))
    assert [row.n for row in schedule] == list(range(1, 13))
    assert sum(row.principal_minor for row in schedule) == 95_000_000
    assert agreement.total_interest_minor == sum(row.interest_minor for row in schedule) > 0
    documents = installments_of(agreement)
    assert sum(d.amount_minor for d in documents) == 95_000_000 + agreement.total_interest_minor
    assert entries(agreement, EntryKind.INTEREST) == agreement.total_interest_minor
    assert integrity_problems() == []


# -- the approval matrix -----------------------------------------------------------------------


def test_over_the_collectors_limits_it_waits_for_a_supervisor(
    creditor, uno, laura, sofia, as_laura, as_sofia
):
    agreement = propose(uno, as_laura, installments=12, discount=Decimal("150000.00"))

    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.PENDING_APPROVAL
    assert agreement.approval_reasons == [
        "12 installments (at most 6)",
        "a discount of 10.00 % of the debt (at most 0.00 %)",
    ]
    # Nothing moved in the ledger yet.
    assert doc("FV-1").balance_minor == 100_000_000
    assert not installments_of(agreement)
    assert list(agreements_pending_approval(creditors_visible_to(sofia))) == [agreement]

    with pytest.raises(NegotiationError, match="only a supervisor or an administrator"):
        agreement_approve(agreement=agreement, as_of=AS_OF, actor=as_laura)

    approved = agreement_approve(
        agreement=agreement,
        as_of=AS_OF + datetime.timedelta(days=1),
        actor=as_sofia,
        note="Good payer until this year",
    )

    approved.refresh_from_db()
    assert approved.status == AgreementStatus.ACTIVE
    assert (approved.decided_by, approved.decision_note) == (sofia, "Good payer until this year")
    assert approved.proposed_by == laura
    assert len(installments_of(approved)) == 12
    assert doc("FV-1").balance_minor == 0
    assert list(agreements_pending_approval(creditors_visible_to(sofia))) == []
    event = AuditEvent.objects.get(action="agreement.approve")
    assert (event.actor_label, event.changes["note"]) == ("sofia", "Good payer until this year")
    assert integrity_problems() == []


def test_beyond_a_supervisors_limits_only_an_administrator_approves(
    creditor, uno, as_laura, as_sofia, ana
):
    agreement = propose(uno, as_laura, installments=48)
    assert agreement.status == AgreementStatus.PENDING_APPROVAL

    with pytest.raises(NegotiationError, match=r"beyond your approval limits: 48 installments"):
        agreement_approve(agreement=agreement, as_of=AS_OF, actor=as_sofia)

    agreement_approve(agreement=agreement, as_of=AS_OF, actor=Actor.for_user(ana))
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ACTIVE


def test_a_creditors_own_limits_win_over_the_general_ones(creditor, uno, as_laura):
    ApprovalLimit.objects.create(
        creditor=creditor,
        role="collector",
        max_installments=24,
        max_discount_percent=Decimal("5"),
        max_waived_minor=0,
        max_rate_below_list=Decimal("6"),
    )
    NegotiationTerms.objects.create(creditor=creditor, agreement_list_rate=Decimal("24"))

    within = propose(
        uno,
        as_laura,
        documents=[doc("FV-1")],
        installments=24,
        annual_rate=Decimal("18"),
        discount=Decimal("50000.00"),
    )
    beyond = propose(
        uno, as_laura, documents=[doc("FV-2")], installments=6, annual_rate=Decimal("17.5")
    )

    assert within.status == AgreementStatus.ACTIVE
    assert beyond.status == AgreementStatus.PENDING_APPROVAL
    assert beyond.approval_reasons == [
        "a rate of 17.5 % E.A., 6.5 points below the list rate of 24 % (at most 6)"
    ]


def test_a_user_without_limits_and_a_waiver_beyond_them(creditor, uno, as_laura, sofia):
    nobody = User.objects.create_user("nadie")
    agreement = propose(uno, Actor.for_user(nobody), documents=[doc("FV-2")])
    assert agreement.approval_reasons == ["no approval limits for this user's roles"]

    LedgerEntry.objects.create(
        creditor=creditor,
        document=doc("FV-1"),
        kind=EntryKind.FEE,
        amount_minor=1_000_000,
        currency="COP",
        effective_date=AS_OF,
        recorded_by="tests",
    )
    Document.objects.filter(number="FV-1").update(balance_minor=101_000_000)
    with pytest.raises(NegotiationError, match="the documents carry only"):
        propose(uno, as_laura, documents=[doc("FV-1")], waive=Decimal("10000.01"))
    waived = propose(uno, as_laura, documents=[doc("FV-1")], waive=Decimal("10000.00"))
    assert waived.approval_reasons == ["$10.000,00 of interest and fees waived (at most $0,00)"]


def test_rejecting_needs_a_reason_and_frees_the_documents(creditor, uno, as_laura, sofia, as_sofia):
    agreement = propose(uno, as_laura, installments=10)
    with pytest.raises(NegotiationError, match="say why"):
        agreement_reject(agreement=agreement, as_of=AS_OF, actor=as_sofia, note="  ")
    with pytest.raises(NegotiationError, match="already in agreement"):
        propose(uno, as_laura, documents=[doc("FV-1")])

    agreement_reject(agreement=agreement, as_of=AS_OF, actor=as_sofia, note="Too long")

    agreement.refresh_from_db()
    assert (agreement.status, agreement.decided_by, agreement.decision_note) == (
        AgreementStatus.REJECTED,
        sofia,
        "Too long",
    )
    assert not AgreementDocument.objects.filter(is_live=True).exists()
    again = propose(uno, as_laura, installments=6)
    assert again.status == AgreementStatus.ACTIVE
    with pytest.raises(NegotiationError, match="rejected: that cannot be done now"):
        agreement_approve(agreement=agreement, as_of=AS_OF, actor=as_sofia)


def test_drafts_are_submitted_or_cancelled(creditor, uno, dos, as_laura):
    draft = propose(uno, as_laura, submit=False)
    assert draft.status == AgreementStatus.DRAFT
    assert doc("FV-1").balance_minor == 100_000_000
    agreement_submit(agreement=draft, as_of=AS_OF, actor=as_laura)
    draft.refresh_from_db()
    assert draft.status == AgreementStatus.ACTIVE

    withdrawn = propose(dos, as_laura, installments=12)
    agreement_cancel(agreement=withdrawn, as_of=AS_OF, actor=as_laura, note="changed their mind")
    withdrawn.refresh_from_db()
    assert (withdrawn.status, withdrawn.closed_reason) == (
        AgreementStatus.CANCELLED,
        "changed their mind",
    )
    assert doc("FV-3").balance_minor == 30_000_000


# -- refusals --------------------------------------------------------------------------------


def test_the_rate_never_exceeds_the_legal_maximum(creditor, uno, as_laura):
    with pytest.raises(NegotiationError, match=r"25.6 % E.A. is above the legal maximum of 25.5"):
        propose(uno, as_laura, annual_rate=Decimal("25.6"))
    UsuryRate.objects.filter(month=datetime.date(2026, 11, 1)).delete()
    with pytest.raises(NegotiationError, match="legal maximum rate of CO for 2026-11 is not"):
        propose(uno, as_laura, annual_rate=Decimal("12"))
    # At 0 % no legal maximum is needed.
    assert propose(uno, as_laura, annual_rate=Decimal(0)).status == AgreementStatus.ACTIVE


def test_refusals_when_proposing(creditor, uno, dos, as_laura):
    dispute_open(
        creditor=creditor,
        debtor=uno,
        documents=[doc("FV-2")],
        category="price",
        note="",
        as_of=AS_OF,
        actor=as_laura,
    )
    with pytest.raises(NegotiationError, match="FV-2: in an open dispute"):
        propose(uno, as_laura, documents=[doc("FV-2")])
    with pytest.raises(NegotiationError, match="FV-3: not a document of Uno"):
        propose(uno, as_laura, documents=[doc("FV-3")])
    with pytest.raises(NegotiationError, match="nothing is left to finance"):
        propose(uno, as_laura, down_payment=Decimal("1000000.00"), documents=[doc("FV-1")])
    with pytest.raises(NegotiationError, match="already past"):
        propose(uno, as_laura, first_date=AS_OF - datetime.timedelta(days=1))
    with pytest.raises(NegotiationError, match="unknown frequency 'yearly'"):
        propose(uno, as_laura, frequency="yearly")
    with pytest.raises(NegotiationError, match="at least one installment"):
        propose(uno, as_laura, installments=0)
    # The whole account leaves the disputed invoice out.
    agreement = propose(uno, as_laura)
    assert list(agreement.bundled.values_list("document__number", flat=True)) == ["FV-1"]


def test_approval_is_refused_when_the_balances_moved(creditor, uno, as_laura, as_sofia, actor):
    agreement = propose(uno, as_laura, installments=12)
    payment = payment_record(
        creditor=creditor,
        debtor=uno,
        amount_minor=10_000_000,
        currency="COP",
        date=AS_OF,
        external_id="PAY-1",
        actor=actor,
    )
    payment_apply(payment=payment, actor=actor)

    with pytest.raises(NegotiationError, match="FV-1: the balance changed since"):
        agreement_approve(agreement=agreement, as_of=AS_OF, actor=as_sofia)
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.PENDING_APPROVAL


def test_an_erp_creditor_records_agreements_in_its_erp(creditor, uno, as_laura):
    Creditor.objects.filter(pk=creditor.pk).update(balance_mode=BalanceMode.ERP)
    creditor.refresh_from_db()
    uno.refresh_from_db()
    with pytest.raises(NegotiationError, match="keeps its balances in the ERP"):
        propose(uno, as_laura)


def test_the_database_refuses_a_document_in_two_live_agreements(creditor, uno, as_laura):
    first = propose(uno, as_laura, documents=[doc("FV-1")], installments=12)
    second = Agreement.objects.create(
        creditor=creditor,
        debtor=uno,
        currency="COP",
        owed_minor=100,
        principal_minor=100,
        annual_rate=0,
        installments_count=1,
        first_date=AS_OF,
        proposed_on=AS_OF,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        AgreementDocument.objects.create(agreement=second, document=doc("FV-1"), balance_minor=1)
    assert first.bundled.count() == 1


# -- payments, kept, broken, reminders ------------------------------------------------------------


def pay(creditor, debtor, amount_minor: int, on: datetime.date, ref: str) -> None:
    payment = payment_record(
        creditor=creditor,
        debtor=debtor,
        amount_minor=amount_minor,
        currency="COP",
        date=on,
        external_id=ref,
        actor=Actor.system("tests"),
    )
    payment_apply(payment=payment, actor=Actor.system("tests"))


def test_payments_reach_the_installments_in_order_and_a_paid_agreement_is_kept(
    creditor, uno, as_laura
):
    agreement = propose(uno, as_laura, installments=3, annual_rate=Decimal(0))
    first, second, third = installments_of(agreement)
    assert [d.amount_minor for d in (first, second, third)] == [50_000_000] * 3

    pay(creditor, uno, 70_000_000, datetime.date(2026, 12, 20), "P-1")
    assert [doc(d.number).balance_minor for d in (first, second, third)] == [
        0,
        30_000_000,
        50_000_000,
    ]
    assert agreements_decide(creditor=creditor, as_of=datetime.date(2026, 12, 24)).kept == 0

    pay(creditor, uno, 80_000_000, datetime.date(2027, 1, 20), "P-2")
    decision = agreements_decide(creditor=creditor, as_of=datetime.date(2027, 1, 21))

    agreement.refresh_from_db()
    assert (decision.kept, decision.broken) == (1, 0)
    assert (agreement.status, agreement.closed_on) == (
        AgreementStatus.KEPT,
        datetime.date(2027, 1, 21),
    )
    assert not AgreementDocument.objects.filter(is_live=True).exists()
    assert list(debtors_with_active_agreement(creditor)) == []
    assert integrity_problems() == []


def test_an_installment_too_late_breaks_the_agreement(creditor, uno, as_laura):
    NegotiationTerms.objects.create(creditor=creditor, agreement_break_days=10)
    agreement = propose(uno, as_laura, installments=3, annual_rate=Decimal(0))
    first = installments_of(agreement)[0]
    assert first.due_date == datetime.date(2026, 12, 23)

    ten_days_late = agreements_decide(creditor=creditor, as_of=datetime.date(2027, 1, 2))
    assert (ten_days_late.kept, ten_days_late.broken) == (0, 0)

    decision = agreements_decide(creditor=creditor, as_of=datetime.date(2027, 1, 3))

    agreement.refresh_from_db()
    assert (decision.broken, agreement.status) == (1, AgreementStatus.BROKEN)
    assert agreement.closed_reason == "an installment more than 10 days late"
    assert [(a.debtor_id, a.kind) for a in decision.alerts] == [(uno.pk, ALERT_BROKEN_AGREEMENT)]
    assert agreement.number in decision.alerts[0].message
    # The installments stay as they were: collection resumes on them.
    assert [d.balance_minor for d in installments_of(agreement)] == [50_000_000] * 3
    assert doc("FV-1").balance_minor == 0
    again = agreements_decide(creditor=creditor, as_of=datetime.date(2027, 1, 3))
    assert (again.broken, again.alerts) == (0, [])


def test_a_payment_booked_after_the_as_of_date_does_not_keep_it(creditor, uno, as_laura):
    agreement = propose(uno, as_laura, installments=1, annual_rate=Decimal(0))
    pay(creditor, uno, OWED, datetime.date(2026, 12, 30), "P-1")

    assert agreements_decide(creditor=creditor, as_of=datetime.date(2026, 12, 29)).kept == 0
    assert agreements_decide(creditor=creditor, as_of=datetime.date(2026, 12, 30)).kept == 1
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.KEPT


def test_installments_are_reminded_once_before_they_fall_due(creditor, uno, dos, as_laura):
    agreement = propose(uno, as_laura, installments=2, annual_rate=Decimal(0))
    first, second = installments_of(agreement)

    assert agreements_decide(creditor=creditor, as_of=datetime.date(2026, 12, 19)).reminders == 0
    assert agreements_decide(creditor=creditor, as_of=datetime.date(2026, 12, 20)).reminders == 1
    assert agreements_decide(creditor=creditor, as_of=datetime.date(2026, 12, 21)).reminders == 1

    reminders = Message.objects.filter(template_code="cuota_recordatorio")
    assert reminders.count() == 1
    message = reminders.get()
    assert (message.debtor_id, message.channel, message.origin) == (uno.pk, "email", "installment")
    assert message.document_ids == [first.pk]
    assert message.idempotency_key.endswith(":reminder")
    # An installment paid ahead is not reminded.
    pay(creditor, uno, OWED, datetime.date(2027, 1, 2), "P-1")
    assert doc(second.number).balance_minor == 0
    assert agreements_decide(creditor=creditor, as_of=datetime.date(2027, 1, 20)).reminders == 0
    assert reminders.count() == 1


def test_breaking_by_hand(creditor, uno, as_laura):
    agreement = propose(uno, as_laura, installments=2)
    with pytest.raises(NegotiationError, match="say why"):
        agreement_break(agreement=agreement, as_of=AS_OF, actor=as_laura, note="")
    agreement_break(agreement=agreement, as_of=AS_OF, actor=as_laura, note="Will not pay")
    agreement.refresh_from_db()
    assert (agreement.status, agreement.closed_reason) == (AgreementStatus.BROKEN, "Will not pay")
    assert Promise.objects.count() == 0


def test_the_confirmation_and_the_reminder_name_the_agreement(creditor, uno, as_laura):
    agreement = propose(
        uno, as_laura, installments=2, annual_rate=Decimal(0), down_payment=Decimal("500000.00")
    )
    agreements_decide(creditor=creditor, as_of=datetime.date(2026, 12, 20))
    renderer = Renderer(creditor=creditor, as_of=datetime.date(2026, 12, 20))
    confirmation = Message.objects.get(template_code="acuerdo_confirmacion")
    reminder = Message.objects.get(template_code="cuota_recordatorio")
    renderer.prepare([confirmation, reminder])

    text = renderer.render(confirmation).text
    assert f"acuerdo de pago número {agreement.number}: 2 cuotas" in text
    assert "$ 1.500.000" in text and "23 de noviembre de 2026" in text
    reminded = renderer.render(reminder).text
    assert "la cuota 1 de 2 de su acuerdo de pago, por $ 500.000" in reminded
    assert "23 de diciembre de 2026" in reminded
