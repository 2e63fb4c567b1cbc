"""A dispute in a real browser: a collector opens one on an overdue invoice from the account
page, with its reason, the disputed amount and the debtor's letter attached; the invoice shows
as disputed; the supervisor finds it on the team's disputes, resolves it valid, and the invoice
is credited in the books."""

from __future__ import annotations

import pytest

from cartera.negotiation.models import Dispute, DisputeStatus
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import Document
from tests.e2e.browsing import log_in, office_build
from tests.workdesk_support import accounts_of

pytestmark = pytest.mark.slow


@pytest.fixture
def office(transactional_db, creditor, load, write_file, settings, tmp_path):
    """Acme with four debtors of one collector, today's run done; files under a fresh home."""
    settings.CARTERA_HOME = tmp_path
    team = office_build(creditor, load, write_file, debtors=4, collectors=("cobradora",))
    return team


def test_a_dispute_is_opened_with_a_file_and_resolved_valid(new_page, office, shot):
    debtor = accounts_of(office["cobradora"])[0].debtor
    invoice = (
        Document.objects.filter(debtor=debtor, balance_minor__gt=0)
        .order_by("due_date", "id")
        .first()
    )
    owed = invoice.balance_minor

    # The collector opens the dispute on the invoice, with the debtor's letter.
    collector = new_page()
    log_in(collector, "cobradora")
    collector.goto(f"/a/{debtor.pk}/")
    collector.locator("#panel-dispute > summary").click()
    form = collector.locator("#dispute-form")
    form.wait_for()
    form.locator(f"input[name='dispute-documents'][value='{invoice.pk}']").check()
    form.locator("select[name='dispute-category']").select_option("quality")
    form.locator("textarea[name='dispute-note']").fill("La mercancía llegó dañada")
    form.locator("input[type=file]").set_input_files(
        {"name": "carta.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 carta\n%%EOF\n"}
    )
    shot(collector, "dispute-opening")
    form.locator("button[type=submit]").click()
    collector.locator("#notice").wait_for()
    dispute = Dispute.objects.get(debtor=debtor)
    assert dispute.status == DisputeStatus.OPEN and dispute.category == "quality"
    assert list(dispute.documents.all()) == [invoice]
    assert dispute.attachments.count() == 1
    assert collector.locator(f"a[href='/disputes/{dispute.pk}/']").count() >= 1

    # The supervisor opens it from the team's disputes and resolves it valid.
    boss = new_page()
    log_in(boss, "supervisora")
    boss.goto("/team/disputes/")
    boss.locator(f"a[href='/disputes/{dispute.pk}/']").first.click()
    boss.locator("#resolve-form").wait_for()
    assert "carta.pdf" in boss.locator("#files").inner_text()
    boss.locator("#resolve-form input[value='valid']").check()
    boss.locator("#resolve-form textarea").fill("Se comprobó el daño con la transportadora")
    shot(boss, "dispute-resolving")
    boss.locator("#resolve-form button[type=submit]").click()
    boss.locator(".flash .notice.success").wait_for()
    assert boss.locator("#resolve-form").count() == 0
    shot(boss, "dispute-resolved")

    dispute.refresh_from_db()
    invoice.refresh_from_db()
    assert (dispute.status, dispute.resolution, dispute.credited_minor) == (
        "resolved",
        "valid",
        owed,
    )
    assert invoice.balance_minor == 0
    assert integrity_problems() == []
