"""The report pages in a real browser, on a laptop's screen: a supervisor reads the KPIs,
drills from a figure to its documents and exports it; a collector reaches none of it."""

from __future__ import annotations

import re

import pytest

from tests.e2e.browsing import log_in, office_build

pytestmark = pytest.mark.slow


@pytest.fixture
def office(transactional_db, creditor, load, write_file):
    """Acme with 30 debtors of one collector, today's run done."""
    return office_build(creditor, load, write_file, debtors=30)


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_supervisor_reads_drills_down_and_exports_on_a_laptop(new_page, office, shot):
    page = new_page()
    page.set_viewport_size({"width": 1024, "height": 800})
    log_in(page, "supervisora")

    page.goto("/reports/")
    assert _fits_the_screen(page)  # tiles, charts and the aging table stay in their cards
    tile = page.locator(".kpi-tiles a.tile").first
    amount = tile.locator(".value").inner_text()
    assert re.fullmatch(r"-?\$[\d.]+,\d\d", amount)  # es_CO, whole on one line
    box = tile.locator(".value").bounding_box()
    assert box is not None and box["height"] < 40
    # Only the section the user is in is marked as current in the menu.
    assert page.locator("nav.primary [aria-current=page]").count() == 1
    shot(page, "reports-dashboard-1024")

    tile.click()
    page.wait_for_url(re.compile(r"/reports/documents/"))
    assert page.locator("table tbody tr").count() > 0
    with page.expect_download() as download:
        page.get_by_role("link", name="XLSX").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    page.goto("/reports/aging/?by=collector")
    assert _fits_the_screen(page)
    first = page.locator("table.wrap-head tbody tr th").first
    before = first.bounding_box()
    page.evaluate("document.querySelector('table.wrap-head').parentElement.scrollLeft = 2000")
    after = first.bounding_box()
    assert before and after and after["x"] == before["x"]  # the row's name stays in view


def test_a_collector_gets_no_report(new_page, office):
    page = new_page()
    log_in(page, "cobradora")
    assert page.get_by_role("link", name=re.compile("^(Informes|Reports)$")).count() == 0
    response = page.goto("/reports/productivity/")
    assert response is not None and response.status == 403


def test_switching_creditor_shows_its_own_currency(new_page, office, actor):
    from cartera.portfolio.models import Membership
    from cartera.portfolio.services import creditor_create

    other = creditor_create(
        code="MXA", name="Mexicana S.A.", country="MX", currency="MXN", actor=actor
    )
    Membership.objects.create(user=office["supervisora"], creditor=other)
    page = new_page()
    log_in(page, "supervisora")
    page.goto("/reports/")
    page.locator("#r-creditor").select_option(str(other.pk))
    assert page.locator("#r-currency").is_disabled()  # its currencies come with its page
    page.locator("form.report-filters button[type=submit]").click()
    page.wait_for_load_state()
    assert "Mexicana S.A. · MXN" in page.locator(".page-head").inner_text()
    assert page.locator(".notice").count() == 0  # no currency it lacks was asked for
