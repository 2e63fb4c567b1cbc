"""The dispute workflow: configurable categories and deadlines, an owner, attachments, the
resolution with its credit note through the ledger, the overdue list, and collection resuming
once resolved."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from cartera.core.models import AuditEvent
from cartera.negotiation.models import Dispute, DisputeCategoryOption
from cartera.negotiation.queries import dispute_categories, open_disputes, overdue_disputes
from cartera.negotiation.services import (
    NegotiationError,
    dispute_assign,
    dispute_attach,
    dispute_open,
    dispute_resolve,
)
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import BalanceMode, Creditor, EntryKind
from cartera.strategy.defaults import strategy_defaults_ensure
from cartera.strategy.models import Account
from cartera.strategy.run import run_execute
from tests.negotiation_support import AS_OF, doc

pytest_plugins = ["tests.negotiation_fixtures"]
# A plugin's fixtures reach every test of the session, so these are asked for by name here.
pytestmark = pytest.mark.usefixtures("in_english", "home")

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def day(n: int) -> datetime.date:
    return AS_OF + datetime.timedelta(days=n)


def dispute(debtor, actor, *numbers, category="not_received", **kwargs) -> Dispute:
    return dispute_open(
        creditor=debtor.creditor,
        debtor=debtor,
        documents=[doc(n) for n in numbers],
        category=category,
        note=kwargs.pop("note", ""),
        as_of=kwargs.pop("as_of", AS_OF),
        actor=actor,
        **kwargs,
    )


# -- resolutions and credit notes --------------------------------------------------------------


def test_a_valid_dispute_credits_its_documents_through_the_ledger(
    creditor, uno, as_laura, sofia, as_sofia
):
    opened = dispute(uno, as_laura, "FV-1", "FV-2", owner=sofia)

    resolved = dispute_resolve(
        dispute=opened, resolution="valid", note="Never delivered", as_of=day(3), actor=as_sofia
    )

    assert resolved.credited_minor == 150_000_000
    for number, owed in (("FV-1", 100_000_000), ("FV-2", 50_000_000)):
        invoice = doc(number)
        assert (invoice.balance_minor, invoice.status) == (0, "closed")
        credit = invoice.entries.get(kind=EntryKind.CREDIT)
        assert (credit.amount_minor, credit.effective_date) == (-owed, day(3))
        assert credit.memo == f"credit note, dispute #{opened.pk}"
    event = AuditEvent.objects.get(action="dispute.resolve")
    assert event.changes["credits"] == {"FV-1": 100_000_000, "FV-2": 50_000_000}
    assert integrity_problems() == []


def test_a_disputed_amount_and_a_partial_resolution(creditor, uno, dos, as_laura):
    part = dispute(uno, as_laura, "FV-1", "FV-2", category="price", amount=Decimal("200000.00"))
    with pytest.raises(NegotiationError, match="say how much a partially valid dispute credits"):
        dispute_resolve(
            dispute=part, resolution="partially_valid", note="", as_of=day(1), actor=as_laura
        )
    with pytest.raises(NegotiationError, match="credits less than what was disputed"):
        dispute_resolve(
            dispute=part,
            resolution="partially_valid",
            note="",
            as_of=day(1),
            actor=as_laura,
            credit=Decimal("200000.00"),
        )
    with pytest.raises(NegotiationError, match="a rejected dispute credits nothing"):
        dispute_resolve(
            dispute=part,
            resolution="rejected",
            note="",
            as_of=day(1),
            actor=as_laura,
            credit=Decimal("1.00"),
        )

    dispute_resolve(
        dispute=part,
        resolution="partially_valid",
        note="Agreed half",
        as_of=day(1),
        actor=as_laura,
        credit=Decimal("100000.00"),
    )
    assert (doc("FV-1").balance_minor, doc("FV-2").balance_minor) == (90_000_000, 50_000_000)

    # Valid with an amount disputed: that amount is credited, no more.
    whole = dispute(dos, as_laura, "FV-3", amount=Decimal("1000.50"))
    dispute_resolve(dispute=whole, resolution="valid", note="", as_of=day(2), actor=as_laura)
    whole.refresh_from_db()
    assert whole.credited_minor == 100_050
    assert doc("FV-3").balance_minor == 30_000_000 - 100_050
    with pytest.raises(NegotiationError, match="more than the"):
        dispute(dos, as_laura, "FV-3", amount=Decimal("400000.00"))
    assert integrity_problems() == []


def test_a_rejected_dispute_credits_nothing_and_an_erp_creditor_credits_in_its_erp(
    creditor, uno, as_laura
):
    rejected = dispute(uno, as_laura, "FV-1")
    dispute_resolve(dispute=rejected, resolution="rejected", note="", as_of=day(1), actor=as_laura)
    assert doc("FV-1").balance_minor == 100_000_000

    Creditor.objects.filter(pk=creditor.pk).update(balance_mode=BalanceMode.ERP)
    valid = dispute(uno, as_laura, "FV-2")
    dispute_resolve(dispute=valid, resolution="valid", note="", as_of=day(1), actor=as_laura)
    valid.refresh_from_db()
    assert (valid.resolution, valid.credited_minor) == ("valid", 0)
    assert doc("FV-2").balance_minor == 50_000_000


# -- categories, deadlines, owners -----------------------------------------------------------------


def test_categories_are_configurable_with_their_own_deadlines(
    creditor, uno, dos, as_laura, settings, admin_client
):
    settings.CARTERA_DISPUTE_SLA_DAYS = 15
    DisputeCategoryOption.objects.create(code="wrong_customer", label="Wrong customer", sla_days=5)
    DisputeCategoryOption.objects.create(
        creditor=creditor, code="price", label="Price", active=False
    )
    DisputeCategoryOption.objects.create(
        creditor=creditor, code="quality", label="Calidad", sla_days=30
    )

    codes = {option.code: option for option in dispute_categories(creditor)}
    assert "price" not in codes and codes["wrong_customer"].sla_days == 5
    assert (codes["quality"].label, codes["other"].sla_days) == ("Calidad", 15)

    wrong = dispute(uno, as_laura, "FV-1", category="wrong_customer")
    assert wrong.sla_due_on == day(5)
    assert dispute(uno, as_laura, "FV-2", category="quality").sla_due_on == day(30)
    # The administrator's names, not the codes, wherever a dispute is named (audit, admin).
    with translation.override("en"):
        assert str(wrong) == f"Dispute #{wrong.pk} (Wrong customer)"
    assert Dispute.objects.get(category="quality").category_label == "Calidad"
    with pytest.raises(NegotiationError, match="unknown dispute category 'price'"):
        dispute(dos, as_laura, "FV-3", category="price")
    listing = admin_client.get(reverse("admin:negotiation_dispute_changelist")).content.decode()
    assert "Wrong customer" in listing and "Calidad" in listing
    assert ">wrong_customer<" not in listing


def test_an_owner_works_for_the_creditor(creditor, uno, as_laura, laura, sofia, as_sofia):
    opened = dispute(uno, as_laura, "FV-1")
    assert opened.owner is None
    outsider = User.objects.create_user("outsider")
    with pytest.raises(NegotiationError, match="outsider does not work for ACME"):
        dispute_assign(dispute=opened, owner=outsider, actor=as_sofia)
    dispute_assign(dispute=opened, owner=laura, actor=as_sofia)
    opened.refresh_from_db()
    assert opened.owner == laura
    assert AuditEvent.objects.get(action="dispute.assign").changes["owner"] == [None, "laura"]


def test_overdue_disputes_for_the_supervisor(creditor, uno, dos, as_laura):
    old = dispute(uno, as_laura, "FV-1", as_of=day(-20))
    fresh = dispute(dos, as_laura, "FV-3")
    resolved = dispute(uno, as_laura, "FV-2", as_of=day(-30))
    dispute_resolve(dispute=resolved, resolution="rejected", note="", as_of=AS_OF, actor=as_laura)

    everyone = Creditor.objects.all()
    assert list(overdue_disputes(everyone, AS_OF)) == [old]
    assert list(overdue_disputes(everyone, day(16))) == [old, fresh]
    assert list(open_disputes(everyone)) == [old, fresh]
    assert list(overdue_disputes(Creditor.objects.none(), day(16))) == []


# -- attachments -------------------------------------------------------------------------------


def test_attachments_are_kept_under_cartera_home(creditor, uno, as_laura, laura, home, settings):
    opened = dispute(uno, as_laura, "FV-1")
    attachment = dispute_attach(
        dispute=opened, name="../remisión firmada.pdf", content=PDF, actor=as_laura
    )

    assert attachment.name == "remisión_firmada.pdf"
    assert (attachment.content_type, attachment.size, attachment.uploaded_by) == (
        "application/pdf",
        len(PDF),
        laura,
    )
    path = attachment.file.path
    assert path.startswith(str(home / "attachments" / "disputes"))
    with open(path, "rb") as stored:
        assert stored.read() == PDF

    with pytest.raises(NegotiationError, match="not a PDF file"):
        dispute_attach(dispute=opened, name="factura.pdf", content=b"MZ\x90\x00", actor=as_laura)
    with pytest.raises(NegotiationError, match="files of this type are not accepted"):
        dispute_attach(dispute=opened, name="setup.exe", content=b"MZ", actor=as_laura)
    with pytest.raises(NegotiationError, match="is empty"):
        dispute_attach(dispute=opened, name="nota.txt", content=b"", actor=as_laura)
    settings.CARTERA_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(NegotiationError, match="the most accepted is 10"):
        dispute_attach(dispute=opened, name="nota.txt", content=b"x" * 11, actor=as_laura)
    assert opened.attachments.count() == 1

    dispute_resolve(dispute=opened, resolution="rejected", note="", as_of=AS_OF, actor=as_laura)
    with pytest.raises(NegotiationError, match="not open"):
        dispute_attach(dispute=opened, name="tarde.txt", content=b"late", actor=as_laura)


# -- collection pauses and resumes ---------------------------------------------------------------


def test_a_resolved_dispute_resumes_collection(creditor, dos, as_laura, actor):
    strategy_defaults_ensure(creditor=creditor, actor=actor)
    opened = dispute(dos, as_laura, "FV-3")
    run_execute(creditor=creditor, as_of=AS_OF, actor=actor)
    account = Account.objects.get(debtor=dos)
    with translation.override("es"):  # the run writes in the creditor's language
        held = gettext("every overdue document is disputed or paused")
    assert account.paused_reason == held

    dispute_resolve(dispute=opened, resolution="rejected", note="", as_of=day(1), actor=as_laura)
    run_execute(creditor=creditor, as_of=day(1), actor=actor)
    account.refresh_from_db()
    assert account.paused_reason == ""
