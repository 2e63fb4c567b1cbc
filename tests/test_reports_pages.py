"""The report pages: who may see what, drill-down with a fixed number of queries, and exports
(XLSX with numbers and formats, formula-safe CSV, PDF)."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from cartera.core.roles import roles_ensure
from cartera.portfolio.models import Debtor, Membership
from cartera.portfolio.services import creditor_create
from cartera.reports.snapshots import snapshots_rebuild
from tests.reports_support import HEADER

pytest_plugins = ["tests.reports_fixtures"]

D = datetime.date
QUERY = "?as_of=2026-03-31&days=30"


@pytest.fixture
def auditor(history):
    """An auditor of ACME: reads every report, changes nothing."""
    roles_ensure()
    user = User.objects.create_user("auditora", password="x-secret-1")
    user.groups.add(Group.objects.get(name="auditor"))
    Membership.objects.create(user=user, creditor=history)
    return user


@pytest.fixture
def outsider(db, actor, write_file, load):
    """A supervisor of another creditor only."""
    roles_ensure()
    other = creditor_create(
        code="OTRO", name="Otro S.A.", country="MX", currency="MXN", actor=actor
    )
    user = User.objects.create_user("ajeno", password="x-secret-1")
    user.groups.add(Group.objects.get(name="supervisor"))
    Membership.objects.create(user=user, creditor=other)
    return user


PAGES = ("dashboard", "aging", "rollrates", "provision", "forecast", "productivity", "runs")


def test_every_page_answers_for_a_member(client, auditor, history):
    client.force_login(auditor)
    for name in PAGES:
        response = client.get(reverse(f"reports:{name}") + QUERY)
        assert response.status_code == 200, name
        assert b"<svg" in response.content or name in ("runs", "provision"), name
    dashboard = client.get(reverse("reports:dashboard") + QUERY).content.decode()
    # es_CO writes 2.050,00 and 41,00 days; the figures are the hand-computed ones of the KPI
    # tests.
    assert "2.050,00" in dashboard and "41,00" in dashboard and "58,70 %" in dashboard


def test_anonymous_users_are_sent_to_log_in(client, history):
    response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_another_creditors_reports_answer_404(client, outsider, history):
    client.force_login(outsider)
    for name in PAGES:
        response = client.get(reverse(f"reports:{name}") + f"?creditor={history.pk}")
        assert response.status_code == 404, name
    # Their own creditor's pages work and never show ACME.
    response = client.get(reverse("reports:aging"))
    assert response.status_code == 200 and b"Acme" not in response.content


def test_a_user_without_creditors_gets_404(client, db):
    roles_ensure()
    user = User.objects.create_user("nadie", password="x-secret-1")
    user.groups.add(Group.objects.get(name="supervisor"))
    client.force_login(user)
    assert client.get(reverse("reports:dashboard")).status_code == 404


def test_collectors_see_no_report_nor_its_exports(client, history):
    """The portfolio's figures and every collector's productivity are for supervisors,
    administrators and auditors: a collector of the same creditor gets 403, exports too."""
    roles_ensure()
    user = User.objects.create_user("cobrador", password="x-secret-1")
    user.groups.add(Group.objects.get(name="collector"))
    Membership.objects.create(user=user, creditor=history)
    client.force_login(user)
    for name in (*PAGES, "documents", "roll_accounts", "forecast_items", "productivity_items"):
        url = reverse(f"reports:{name}") + QUERY
        assert client.get(url).status_code == 403, name
        assert client.get(url + "&export=xlsx").status_code == 403, name
    worklist = client.get(reverse("workdesk:worklist")).content.decode()
    assert reverse("reports:dashboard") not in worklist
    # The aging of the creditors they work stays theirs to see.
    assert client.get(reverse("aging")).status_code == 200


def test_the_menu_marks_the_report_pages_alone_as_current(client, auditor):
    client.force_login(auditor)
    page = client.get(reverse("reports:aging") + QUERY).content.decode()
    menu = page[page.index('class="primary"') : page.index("</nav>")]
    assert menu.count('aria-current="page"') == 1
    assert f'href="{reverse("reports:dashboard")}" aria-current="page"' in menu


def test_drill_down_from_a_figure_lists_its_documents(client, auditor, history):
    client.force_login(auditor)
    base = reverse("reports:documents") + QUERY

    page = client.get(base + "&figure=ar_end").content.decode()
    for number in ("INV-A", "INV-B", "INV-C", "CN-E", "INS-F", "PN-G"):
        assert number in page
    assert "INV-D" not in page and "INV-H" not in page
    current = client.get(base + "&figure=current_end").content.decode()
    assert "INV-C" in current and "INS-F" in current and "INV-A" not in current
    sales = client.get(base + "&figure=sales").content.decode()
    assert all(n in sales for n in ("INV-C", "INV-D", "INS-F")) and "PN-G" not in sales
    recovered = client.get(base + "&figure=recovered").content.decode()
    assert "INV-A" in recovered and "PN-G" in recovered and "INV-D" not in recovered
    assert "700,00" in recovered
    # Its export has the page's columns: no days past due for money recovered in a period.
    sheet = load_workbook(io.BytesIO(client.get(base + "&figure=recovered&export=xlsx").content))
    rows = list(sheet.active.iter_rows(values_only=True))
    assert rows and not any(
        "Días de mora" in str(v) or "Days past due" in str(v) for r in rows for v in r
    )
    opened = load_workbook(io.BytesIO(client.get(base + "&figure=ar_end&export=xlsx").content))
    assert any(
        "Días de mora" in str(v) or "Days past due" in str(v)
        for r in opened.active.iter_rows(values_only=True)
        for v in r
    )


def test_drill_down_has_a_fixed_number_of_queries(
    client, auditor, history, write_file, load, django_assert_max_num_queries
):
    client.force_login(auditor)
    url = reverse("reports:documents") + QUERY + "&figure=ar_end"
    with django_assert_max_num_queries(12) as small:
        client.get(url)
    many = HEADER + "".join(
        f"X{n},DX{n},Deudor {n},invoice,2026-03-0{n % 9 + 1},2026-03-2{n % 9},{n}.00,COP\n"
        for n in range(1, 120)
    )
    load("documents", write_file("many.csv", many), as_of=D(2026, 3, 31))
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url + "&page=2")
    assert response.status_code == 200
    assert (
        "Page 2 of 3" in response.content.decode() or "Página 2 de 3" in response.content.decode()
    )


def test_aging_by_collector_segment_stage_and_creditor(client, auditor, history, actor):
    client.force_login(auditor)
    for by in ("creditor", "collector", "segment", "stage"):
        response = client.get(reverse("reports:aging") + QUERY + f"&by={by}")
        assert response.status_code == 200, by
        # Net AR of the hand-computed example.
        assert "2.050,00" in response.content.decode(), by
    snapshots_rebuild(creditor=history, first=D(2026, 3, 31), last=D(2026, 3, 31), actor=actor)
    response = client.get(reverse("reports:aging") + QUERY + "&by=collector")
    assert "2.050,00" in response.content.decode()


def test_xlsx_export_holds_numbers_with_formats(client, auditor, history, settings):
    client.force_login(auditor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # English column labels
    response = client.get(reverse("reports:dashboard") + QUERY + "&export=xlsx")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    last = [c for c in sheet[sheet.max_row - 2]]  # the notes follow the rows
    row = dict(zip(header, last, strict=False))
    ar = next(v for k, v in row.items() if k and "AR" in k and ("end" in k or "final" in k))
    assert ar.value == Decimal("2050.00") or ar.value == 2050
    assert ar.number_format.startswith("#,##0.00") and "COP" in ar.number_format
    cei = row[next(k for k in header if k == "CEI")]
    assert abs(float(cei.value) - 0.5869565) < 1e-6 and cei.number_format == "0.00%"
    dso = row[next(k for k in header if k == "DSO")]
    assert float(dso.value) == 41 and dso.number_format == "0.00"


def test_csv_export_is_formula_safe(client, auditor, history):
    Debtor.objects.filter(external_id="D1").update(name='=HYPERLINK("http://x")')
    client.force_login(auditor)
    response = client.get(reverse("reports:documents") + QUERY + "&figure=ar_end&export=csv")

    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] in ("Document", "Documento")
    names = {r[2] for r in rows[1:]}
    assert '\'=HYPERLINK("http://x")' in names
    amounts = {r[0]: r[5] for r in rows[1:]}
    assert amounts["INV-A"] == "300.00" and amounts["CN-E"] == "-100.00"


def test_pdf_export(client, auditor, history):
    client.force_login(auditor)
    response = client.get(reverse("reports:aging") + QUERY + "&export=pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "2.050,00" in text


@pytest.mark.parametrize("name", PAGES)
def test_every_page_exports(client, auditor, history, name):
    client.force_login(auditor)
    for fmt in ("xlsx", "csv"):
        response = client.get(reverse(f"reports:{name}") + QUERY + f"&export={fmt}")
        assert response.status_code == 200, (name, fmt)
        assert "attachment" in response["Content-Disposition"]


def test_roll_rate_cells_drill_down_to_accounts(client, auditor, history, actor):
    client.force_login(auditor)
    response = client.get(
        reverse("reports:roll_accounts") + QUERY + "&month=2026-02-28&from=0&state=later"
    )
    assert response.status_code == 200
    # D3 owed only PN-G on 02-28, due that day (current); on 03-31 it was 31 days late.
    text = response.content.decode()
    assert "Tres" in text and "Uno" not in text
    assert client.get(reverse("reports:roll_accounts") + QUERY + "&month=x").status_code == 404
    assert (
        client.get(
            reverse("reports:roll_accounts") + QUERY + "&month=2026-02-28&state=nope"
        ).status_code
        == 404
    )


def test_bad_input_gets_a_message_not_an_error(client, auditor, history, settings):
    client.force_login(auditor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("reports:provision") + "?as_of=yesterday&factor=abc")
    assert response.status_code == 200
    text = response.content.decode()
    assert "YYYY-MM-DD" in text and ("factor" in text.lower())


def test_a_provision_without_write_offs_says_why_it_is_zero(client, auditor):
    client.force_login(auditor)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("reports:provision") + QUERY + "&window=3").content.decode()
    assert "No balance of the last bucket was written off in these 3 months" in page


def test_an_unknown_creditor_answers_a_page_of_the_app_in_its_language(client, auditor):
    client.force_login(auditor)
    for query in ("?creditor=999999", "?creditor=abc"):
        response = client.get(reverse("reports:dashboard") + query)
        page = response.content.decode()
        assert response.status_code == 404
        assert "No encontrado" in page and "Cerrar sesión" in page  # Spanish, with the menu
    client.cookies["django_language"] = "en"
    assert "Not found" in client.get(reverse("reports:aging") + "?creditor=999999").content.decode()


def test_a_future_date_or_a_currency_the_creditor_lacks_is_said_not_silently_replaced(
    client, auditor
):
    client.force_login(auditor)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("reports:dashboard") + "?as_of=2099-01-01").content.decode()
    assert "2099-01-01 has not come yet for this creditor: showing today" in page
    page = client.get(reverse("reports:dashboard") + "?currency=JPY").content.decode()
    assert "has nothing in JPY: showing COP" in page


def test_the_aging_export_ends_with_the_pages_total_line(client, auditor, history):
    client.force_login(auditor)
    response = client.get(reverse("reports:aging") + QUERY + "&export=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body, last = rows[0], rows[1:-1], rows[-1]
    assert last[0] == "Total" and body
    for column in range(1, len(header)):
        assert Decimal(last[column]) == sum(Decimal(r[column] or 0) for r in body), header[column]


@pytest.mark.parametrize(
    ("page", "query", "said"),
    [
        ("dashboard", "days=0", "“0” is not a number of days from 1 to 3650: showing 1."),
        ("dashboard", "days=abc", "“abc” is not a number of days from 1 to 3650: showing 90."),
        ("provision", "window=0", "“0” is not a number of months from 1 to 36: showing 1."),
        ("rollrates", "months=99", "“99” is not a number of months from 1 to 36: showing 36."),
    ],
)
def test_a_number_out_of_range_is_said_not_silently_replaced(client, auditor, page, query, said):
    client.force_login(auditor)
    client.cookies["django_language"] = "en"
    text = client.get(reverse(f"reports:{page}") + f"?{query}").content.decode()
    assert said.replace("“", "&ldquo;").replace("”", "&rdquo;") in text or said in text


def test_tomorrow_is_today_somewhere_and_gets_no_note(client, auditor, history):
    """A date carried over from a creditor in another time zone may be one day ahead."""
    from cartera.reports.views import _creditor_today

    client.force_login(auditor)
    client.cookies["django_language"] = "en"
    tomorrow = _creditor_today(history) + datetime.timedelta(days=1)
    page = client.get(reverse("reports:dashboard") + f"?as_of={tomorrow}").content.decode()
    assert "has not come yet" not in page
    after = tomorrow + datetime.timedelta(days=1)
    page = client.get(reverse("reports:dashboard") + f"?as_of={after}").content.decode()
    assert "has not come yet" in page
