"""A payment agreement in a real browser: a collector calculates and proposes one beyond her
limits, the supervisor approves it in the approvals queue, the account page shows the first
installment, and once a payment arrives it shows it paid."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cartera.core.audit import Actor
from cartera.negotiation.models import (
    Agreement,
    AgreementInstallment,
    AgreementStatus,
)
from cartera.portfolio.models import ContactPoint
from cartera.portfolio.payments import payment_apply, payment_record
from tests.e2e.browsing import log_in, office_build
from tests.workdesk_support import accounts_of

pytestmark = pytest.mark.slow


@pytest.fixture
def office(transactional_db, creditor, load, write_file, settings, tmp_path):
    """Acme with six debtors shared between two collectors, today's run done."""
    settings.CARTERA_HOME = tmp_path
    team = office_build(
        creditor,
        load,
        write_file,
        debtors=6,
        collectors=("cobradora", "cobrador"),
    )
    ContactPoint.objects.filter(debtor__creditor=creditor).update(consent_call=True)
    return team


def installment_states(page):
    return page.locator("#agreements table.installments tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.n, r.dataset.state])"
    )


def test_an_agreement_over_the_limit_is_approved_and_its_first_installment_paid(
    new_page, office, shot
):
    debtor = accounts_of(office["cobradora"])[0].debtor

    # The collector calculates twelve monthly installments (her limit is six) and proposes.
    collector = new_page()
    log_in(collector, "cobradora")
    collector.goto(f"/a/{debtor.pk}/")
    collector.locator("#panel-agreement > summary").click()
    collector.locator("#agreement-form").wait_for()
    collector.fill("#id_agreement-installments", "12")
    collector.select_option("#id_agreement-frequency", "monthly")
    collector.fill("#id_agreement-note", "Paga el 5 de cada mes")
    collector.locator("#agreement-calculate").click()
    collector.locator("#agreement-schedule").wait_for()
    assert collector.locator("#agreement-verdict").get_attribute("data-approval") == "needed"
    assert collector.locator("#agreement-schedule table.agreement-schedule tbody tr").count() == 12
    shot(collector, "agreement-calculated")
    collector.locator("#agreement-propose").click()
    collector.locator("#notice").wait_for()
    agreement = Agreement.objects.get(debtor=debtor)
    assert agreement.status == AgreementStatus.PENDING_APPROVAL
    assert collector.locator(f"#agreement-{agreement.pk}").get_attribute("data-status") == (
        "pending_approval"
    )
    assert {state for _n, state in installment_states(collector)} == {"planned"}

    # The supervisor finds it in the approvals queue and approves it.
    boss = new_page()
    log_in(boss, "supervisora")
    boss.goto("/team/approvals/")
    row = boss.locator(f"#pending-{agreement.pk}")
    assert debtor.name in row.inner_text()
    shot(boss, "approvals")
    row.locator("textarea[name=note]").fill("Aprobado: buen historial")
    row.locator(f"#approve-{agreement.pk}").click()
    boss.locator(".flash .notice.success").wait_for()
    assert boss.locator(f"#pending-{agreement.pk}").count() == 0
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ACTIVE

    # The account page shows the installments, the first one due on its date.
    collector.reload()
    states = installment_states(collector)
    assert len(states) == 12 and states[0] == ["1", "due"]
    first = AgreementInstallment.objects.select_related("document").get(agreement=agreement, n=1)
    first_row = collector.locator("#agreements table.installments tbody tr").first
    assert first.document.number.startswith(agreement.number)
    assert first_row.get_attribute("data-state") == "due"
    shot(collector, "account-agreement-active")

    # A payment of the first installment arrives; the page shows it paid.
    system = Actor.system("tests")
    payment = payment_record(
        creditor=debtor.creditor,
        debtor=debtor,
        amount_minor=first.payment_minor,
        currency=agreement.currency,
        date=timezone.localdate(),
        external_id="TRF-0001",
        actor=system,
    )
    payment_apply(payment=payment, actor=system)
    collector.reload()
    states = installment_states(collector)
    assert states[0] == ["1", "paid"] and states[1] == ["2", "due"]
    assert collector.locator(".timeline li.k-agreement").count() >= 2
    shot(collector, "account-installment-paid")
