"""The workdesk in a real browser: a collector works the first account of the day, a
supervisor reassigns ten accounts, and a user of another creditor reaches none of it."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from cartera.portfolio.models import ContactPoint, Debtor
from cartera.portfolio.services import creditor_create
from cartera.strategy.models import Account
from tests.e2e.browsing import log_in, office_build
from tests.workdesk_support import person

pytestmark = pytest.mark.slow


@pytest.fixture
def office(transactional_db, creditor, load, write_file):
    """Acme with 30 debtors shared between two collectors, today's run done."""
    team = office_build(
        creditor,
        load,
        write_file,
        debtors=30,
        collectors=("cobradora", "cobrador"),
    )
    ContactPoint.objects.filter(debtor__creditor=creditor).update(consent_call=True)
    return team


def worklist_order(page):
    return [
        int(x)
        for x in page.locator("#worklist tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.debtor)"
        )
    ]


def test_a_collector_logs_a_call_with_a_promise_and_the_list_reorders(new_page, office, shot):
    page = new_page()
    page.goto("/login/")
    shot(page, "login", full_page=False)
    log_in(page, "cobradora")
    shot(page, "worklist")
    before = worklist_order(page)
    first = before[0]
    assert page.locator("#worklist tbody tr").first.locator(".chip.task").count() == 1

    page.locator("#start-first").click()
    page.wait_for_url(re.compile(rf"/a/{first}/"))
    debtor = Debtor.objects.get(pk=first)
    assert page.locator("h1#debtor-name").inner_text().startswith(debtor.name)
    shot(page, "account")

    page.keyboard.press("l")  # the shortcut opens "log a contact" and focuses it
    assert page.evaluate("document.activeElement.id") == "id_contact-channel"
    page.select_option("#id_contact-outcome", label="Promesa de pago")
    promised = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    page.fill("#id_contact-promise_amount", "1.000")
    page.fill("#id_contact-promise_date", promised)
    page.fill("#id_contact-note", "Paga el jueves por transferencia")
    page.locator("#contact-form button[type=submit]").click()
    page.locator("#notice").wait_for()
    assert page.locator(".timeline li.k-promise").count() == 1
    assert page.locator(".timeline li.k-call").first.inner_text().count("Paga el jueves") == 1
    shot(page, "account-after-call")

    page.goto("/")
    after = worklist_order(page)
    assert after[0] != first
    assert after.index(first) > before.index(first)
    assert "worked" in page.locator(f"#worklist tr[data-debtor='{first}']").get_attribute("class")

    # "n" on an account opens the best account not just worked.
    page.goto(f"/a/{first}/")
    page.keyboard.press("n")
    page.wait_for_url(re.compile(rf"/a/{after[0]}/"))


def test_a_supervisor_reassigns_ten_accounts_and_the_collectors_list_changes(
    new_page, office, shot, creditor
):
    collector = new_page()
    log_in(collector, "cobradora")
    held = int(collector.locator("#worklist-section").get_attribute("data-total"))

    boss = new_page()
    log_in(boss, "supervisora")
    shot(boss, "team")
    boss.goto("/team/assignment/")
    boss.select_option("#id_from_collector", label="cobrador")
    boss.fill("#id_count", "10")
    boss.select_option("#id_to_collector", label="cobradora")
    boss.locator("#reassign-preview").click()
    boss.locator(".notice.info").wait_for()
    shot(boss, "assignment-preview")
    boss.locator("#reassign-confirm").click()
    boss.locator(".flash .notice.success").wait_for()
    assert (
        Account.objects.filter(collector=office["cobradora"], collector_pinned=True).count() == 10
    )

    collector.reload()
    assert int(collector.locator("#worklist-section").get_attribute("data-total")) == held + 10

    for path, name in (("/team/targets/", "targets"), ("/team/runs/", "runs")):
        boss.goto(path)
        shot(boss, name)


def test_a_user_of_another_creditor_cannot_reach_them(new_page, office, creditor, actor):
    other = creditor_create(
        code="OTRO", name="Otro S.A.", country="MX", currency="MXN", actor=actor
    )
    person("ajeno", "supervisor", other)
    acme_debtor = Account.objects.filter(creditor=creditor).first().debtor
    page = new_page()
    log_in(page, "ajeno")
    response = page.goto(f"/a/{acme_debtor.pk}/")
    assert response.status == 404
    page.goto("/worklist/?collector=all")
    assert acme_debtor.name not in page.content()
    response = page.goto(f"/team/?creditor={creditor.pk}")
    assert response.status == 404


def test_a_collector_who_switches_to_english_gets_it_on_another_browser(new_page, office, shot):
    page = new_page()
    log_in(page, "cobradora")
    assert page.locator("html").get_attribute("lang") == "es"
    # The header's selector submits itself on change (and has a button without JavaScript).
    page.select_option("#language", "en")
    page.wait_for_load_state()
    page.locator("html[lang=en]").wait_for()
    assert page.get_by_role("heading", name="My worklist").count() == 1
    shot(page, "worklist-en")

    # Another browser: no cookie of its own, Spanish until the user is known.
    other = new_page()
    other.goto("/login/")
    assert other.locator("html").get_attribute("lang") == "es"
    log_in(other, "cobradora")
    assert other.locator("html").get_attribute("lang") == "en"
    assert other.get_by_role("link", name="Worklist").count() == 1
    assert other.locator("#language").input_value() == "en"
