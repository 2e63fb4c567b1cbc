"""The admin of agreements and of the negotiation tables: approvals as actions with a note,
the PDF and attachments behind permission checks, and tenancy."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.urls import reverse

from cartera.core.models import AuditEvent
from cartera.negotiation.agreements import agreement_propose
from cartera.negotiation.models import (
    Agreement,
    AgreementStatus,
    ApprovalLimit,
    DisputeCategoryOption,
    NegotiationTerms,
    UsuryRate,
)
from cartera.negotiation.services import dispute_attach, dispute_open
from cartera.portfolio.services import creditor_create
from tests.negotiation_support import AS_OF, doc, person

# A plugin's fixtures reach every test of the session, so these are asked for by name here.
pytestmark = pytest.mark.usefixtures("usury", "in_english", "home")
pytest_plugins = ["tests.negotiation_fixtures"]


def staff(user: User) -> User:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def waiting(creditor, uno, as_laura) -> Agreement:
    agreement = agreement_propose(
        creditor=creditor, debtor=uno, installments=12, as_of=AS_OF, actor=as_laura
    )
    assert agreement.status == AgreementStatus.PENDING_APPROVAL
    return agreement


def act(client, action: str, agreement: Agreement, **extra):
    return client.post(
        reverse("admin:negotiation_agreement_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [agreement.pk], **extra},
    )


def test_a_supervisor_approves_with_a_note_from_the_admin(client, waiting, sofia):
    client.force_login(staff(sofia))

    page = act(client, "approve_selected", waiting)
    assert page.status_code == 200
    assert (
        waiting.number.encode() in page.content and b"12 installments (at most 6)" in page.content
    )

    done = act(client, "approve_selected", waiting, decide="1", note="Checked with the client")
    assert done.status_code == 302
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by, waiting.decision_note) == (
        AgreementStatus.ACTIVE,
        sofia,
        "Checked with the client",
    )

    pdf = client.get(reverse("admin:negotiation_agreement_pdf", args=[waiting.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    change = client.get(reverse("admin:negotiation_agreement_change", args=[waiting.pk]))
    assert change.status_code == 200 and f"{waiting.number}.pdf".encode() in change.content


def test_a_rejection_without_a_note_is_refused_and_shown(client, waiting, sofia):
    client.force_login(staff(sofia))
    act(client, "reject_selected", waiting, decide="1", note="")
    waiting.refresh_from_db()
    assert waiting.status == AgreementStatus.PENDING_APPROVAL
    act(client, "reject_selected", waiting, decide="1", note="Income too low")
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decision_note) == (AgreementStatus.REJECTED, "Income too low")


def test_a_collector_has_no_approval_actions(client, waiting, laura):
    client.force_login(staff(laura))
    page = client.get(reverse("admin:negotiation_agreement_changelist"))
    assert page.status_code == 200
    assert b"approve_selected" not in page.content
    act(client, "approve_selected", waiting, decide="1", note="")
    waiting.refresh_from_db()
    assert waiting.status == AgreementStatus.PENDING_APPROVAL


def test_other_creditors_agreements_and_files_are_out_of_reach(
    client, creditor, uno, waiting, as_laura, actor
):
    other = creditor_create(code="OTRO", name="Otro", country="CO", currency="COP", actor=actor)
    outsider = staff(person("outsider", "supervisor", other))
    dispute = dispute_open(
        creditor=creditor,
        debtor=uno,
        documents=[doc("FV-1")],
        category="price",
        note="",
        as_of=AS_OF,
        actor=as_laura,
    )
    attachment = dispute_attach(dispute=dispute, name="nota.txt", content=b"hola", actor=as_laura)
    client.force_login(outsider)

    listing = client.get(reverse("admin:negotiation_agreement_changelist"))
    assert waiting.number.encode() not in listing.content
    assert (
        client.get(reverse("admin:negotiation_agreement_pdf", args=[waiting.pk])).status_code == 404
    )
    url = reverse("admin:negotiation_dispute_attachment", args=[dispute.pk, attachment.pk])
    assert client.get(url).status_code == 404
    act(client, "approve_selected", waiting, decide="1", note="")
    waiting.refresh_from_db()
    assert waiting.status == AgreementStatus.PENDING_APPROVAL

    client.force_login(staff(person("insider", "collector", creditor)))
    download = client.get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"hola"


def test_the_negotiation_tables_in_the_admin(client, creditor, ana, actor):
    client.force_login(staff(ana))
    for name in (
        "negotiationterms",
        "usuryrate",
        "feecap",
        "approvallimit",
        "disputecategoryoption",
    ):
        assert client.get(reverse(f"admin:negotiation_{name}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:negotiation_{name}_add")).status_code == 200

    added = client.post(
        reverse("admin:negotiation_negotiationterms_add"),
        {
            "creditor": creditor.pk,
            "promise_break_limit": 2,
            "promise_break_window_days": 60,
            "agreement_list_rate": "21.5",
            "agreement_break_days": 20,
            "installment_reminder_days": 2,
            "interest_rate": "0",
            "interest_grace_days": 0,
            "fee_percent": "0",
            "fee_after_days": 20,
        },
    )
    assert added.status_code == 302
    assert NegotiationTerms.objects.get(creditor=creditor).agreement_list_rate == Decimal("21.5")
    # The general approval limits are the superusers' to change.
    general = ApprovalLimit.objects.get(creditor__isnull=True, role="collector")
    page = client.get(reverse("admin:negotiation_approvallimit_change", args=[general.pk]))
    assert b'name="max_installments"' not in page.content
    # Country tables are audited.
    client.post(
        reverse("admin:negotiation_usuryrate_add"),
        {"country": "CO", "month": "2028-01-01", "annual_rate": "26.1", "source": "SFC"},
    )
    assert UsuryRate.objects.filter(month="2028-01-01").exists()
    assert AuditEvent.objects.filter(action="usuryrate.create.admin").exists()
    assert not DisputeCategoryOption.objects.exists()
