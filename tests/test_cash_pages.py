"""The cash application pages: statements, the unmatched queue and a line's page, where a
person finds the debtor, applies the line (oldest due first or split across documents),
ignores it, or reverses it; who may do each, tenancy, CSRF and query counts."""

from __future__ import annotations

import datetime
import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cartera.cash.models import LineStatus, StatementLine
from cartera.cash.services import statement_import
from cartera.core.models import AuditEvent
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import Debtor, Document, Payment
from cartera.portfolio.services import creditor_create
from tests.conftest import SHARED_DATA
from tests.workdesk_support import person

BBVA = SHARED_DATA / "bank_statements" / "csv" / "avanta-mx__sample_bbva_october_2025.csv"

# Ferretería owes three invoices, Andina one; amounts in pesos (COP, two decimals).
DOCUMENTS = (
    "external_id,number,debtor_external_id,debtor_name,debtor_tax_id,issue_date,due_date,amount\n"
    "F-1,FV-1001,C1,Ferretería El Tornillo S.A.S.,900123456-8,2026-08-01,2026-09-01,1500000.00\n"
    "F-2,FV-1002,C1,Ferretería El Tornillo S.A.S.,900123456-8,2026-09-01,2026-10-01,2000000.00\n"
    "F-3,FV-1003,C1,Ferretería El Tornillo S.A.S.,900123456-8,2026-10-01,2026-11-01,800000.00\n"
    "F-4,FE-2001,C2,Distribuidora Andina Ltda.,800765432-3,2026-09-15,2026-10-15,950000.00\n"
)
# Nothing in the first three lines names a debtor; the fourth names Andina's invoice but pays
# less than it owes (75 %: below the 90 % that applies on its own).
STATEMENT = (
    "fecha,concepto,importe,cuenta ordenante\n"
    '2026-11-02,"CONSIGNACION SUCURSAL CENTRO",2500000.00,CO55BANCO000999\n'
    '2026-11-03,"TRASLADO DESDE CUENTA DE AHORROS",5000000.00,\n'
    '2026-11-04,"ABONO NOMINA",300000.00,\n'
    '2026-11-05,"PAGO FE-2001 DISTRIBUIDORA",900000.00,\n'
)


@pytest.fixture
def team(creditor):
    return {
        "cobradora": person("cobradora", "collector", creditor),
        "supervisora": person("supervisora", "supervisor", creditor),
        "auditora": person("auditora", "auditor", creditor),
    }


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def acme(creditor, load, write_file, actor):
    """Acme's documents and one statement with four credit lines, all waiting."""
    assert load("documents", write_file("documents.csv", DOCUMENTS)).created == 4
    result = statement_import(
        creditor=creditor,
        path=write_file("extracto.csv", STATEMENT),
        actor=actor,
        bank_account="Bancolombia 123",
    )
    assert (result.exit_code, result.credits, result.waiting) == (0, 4, 4)
    return creditor


def line(text: str) -> StatementLine:
    return StatementLine.objects.get(text__contains=text)


def debtor(external_id: str) -> Debtor:
    return Debtor.objects.get(external_id=external_id)


def balances(*numbers: str) -> list[int]:
    found = dict(Document.objects.values_list("number", "balance_minor"))
    return [found[number] for number in numbers]


def page_text(response) -> str:
    """The page's visible text, tags removed and spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def amount_field(document_number: str) -> str:
    return f"amount-{Document.objects.get(number=document_number).pk}"


# --- the whole path: import, queue, search, split, reverse, apply again, ignore ----------------


def test_a_line_is_found_applied_split_reversed_applied_again_and_another_ignored(
    client, english, acme, team
):
    client.force_login(team["cobradora"])

    # The queue, oldest first, with the matcher's candidate and its evidence.
    queue = client.get(reverse("cash:unmatched"))
    assert queue.status_code == 200
    assert [row[0].text for row in queue.context["rows"]] == [
        "CONSIGNACION SUCURSAL CENTRO",
        "TRASLADO DESDE CUENTA DE AHORROS",
        "ABONO NOMINA",
        "PAGO FE-2001 DISTRIBUIDORA",
    ]
    shown = page_text(queue)
    assert "4 bank lines wait for a person" in shown
    assert "Distribuidora Andina Ltda." in shown
    assert "document number FE-2001 in the text (75 %)" in shown
    assert "$2.500.000,00" in shown  # the creditor's way of writing amounts

    # Find the debtor by NIT without its check digit, by document number, by reference, by name.
    payment_line = line("CONSIGNACION")
    url = reverse("cash:line", args=[payment_line.pk])
    uno = debtor("C1")
    for text in ("900123456", "900.123.456-8", "FV-1002", uno.payment_reference, "tornillo"):
        found = client.get(url, {"q": text})
        assert found.status_code == 200
        assert [d.pk for d in found.context["results"]] == [uno.pk], text
    assert client.get(url, {"q": "nadie se llama así"}).context["results"] == []

    chosen = client.get(url, {"q": "tornillo", "debtor": uno.pk})
    assert [d.number for d in chosen.context["apply_form"].documents] == [
        "FV-1001",
        "FV-1002",
        "FV-1003",
    ]
    assert "Apply the amounts written" in page_text(chosen)

    # Split across two documents, typed the Colombian way; the rest is Ferretería's credit.
    applied = client.post(
        reverse("cash:apply", args=[payment_line.pk]),
        {
            "debtor": uno.pk,
            "mode": "chosen",
            amount_field("FV-1001"): "1.000.000",
            amount_field("FV-1002"): "$ 1.234.567,89",
        },
    )
    assert applied.status_code == 302 and applied["Location"] == url
    payment_line.refresh_from_db()
    assert payment_line.status == LineStatus.APPLIED_MANUAL
    assert payment_line.decided_by == "cobradora"
    assert balances("FV-1001", "FV-1002", "FV-1003") == [50000000, 76543211, 80000000]
    assert payment_line.payment.unapplied_minor == 26543211
    assert integrity_problems() == []
    after = client.get(url)
    shown = page_text(after)
    assert (
        "Applied to Ferretería El Tornillo S.A.S.: $2.234.567,89 to documents, $265.432,11 left as the debtor's credit."
        in (shown)
    )
    assert [a.document.number for a in after.context["allocations"]] == ["FV-1001", "FV-1002"]
    assert not after.context["can_reverse"]  # a collector does not reverse
    assert payment_line not in [
        row[0] for row in client.get(reverse("cash:unmatched")).context["rows"]
    ]

    # A supervisor reverses it: the documents owe again, the line is back in the queue.
    client.force_login(team["supervisora"])
    assert client.get(url).context["can_reverse"]
    reversed_ = client.post(
        reverse("cash:reverse", args=[payment_line.pk]),
        {"reverse-reason": "Ferretería paid for its branch, another customer"},
    )
    assert reversed_.status_code == 302
    payment_line.refresh_from_db()
    assert payment_line.status == LineStatus.REVERSED and payment_line.reversals == 1
    assert balances("FV-1001", "FV-1002", "FV-1003") == [150000000, 200000000, 80000000]
    assert integrity_problems() == []
    queue = client.get(reverse("cash:unmatched"))
    assert payment_line in [row[0] for row in queue.context["rows"]]
    assert "Reversed, waiting again" in page_text(queue)

    # It can be applied again, this time oldest due first; it cannot be ignored (its payment
    # is recorded).
    client.force_login(team["cobradora"])
    page = client.get(url)
    assert page.context["can_apply"] and not page.context["can_ignore"]
    refused = client.post(
        reverse("cash:ignore", args=[payment_line.pk]), {"ignore-reason": "own_transfer"}
    )
    assert refused.status_code == 422
    assert "apply it to the right debtor instead" in page_text(refused)
    again = client.post(
        reverse("cash:apply", args=[payment_line.pk]), {"debtor": uno.pk, "mode": "oldest"}
    )
    assert again.status_code == 302
    payment_line.refresh_from_db()
    assert payment_line.status == LineStatus.APPLIED_MANUAL
    assert balances("FV-1001", "FV-1002", "FV-1003") == [0, 100000000, 80000000]
    assert Payment.objects.count() == 1
    assert integrity_problems() == []
    history = client.get(url).context["history"]
    assert [event.action for event in history] == [
        "statement_line.apply",
        "statement_line.reverse",
        "statement_line.apply",
    ]

    # The transfer from our own savings account is not a customer's payment.
    transfer = line("TRASLADO")
    ignored = client.post(
        reverse("cash:ignore", args=[transfer.pk]),
        {"ignore-reason": "own_transfer", "ignore-detail": "ahorros 4455"},
    )
    assert ignored.status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == LineStatus.IGNORED
    assert transfer.note == "Transfer between our own accounts: ahorros 4455"
    assert transfer.payment is None
    queue = client.get(reverse("cash:unmatched"))
    assert [row[0].text for row in queue.context["rows"]] == [
        "ABONO NOMINA",
        "PAGO FE-2001 DISTRIBUIDORA",
    ]

    # The statements page counts what became of each line.
    statements = client.get(reverse("cash:statements"))
    assert statements.status_code == 200
    ((record, counts),) = statements.context["rows"]
    assert record.file_name == "extracto.csv"
    assert (counts.lines, counts.applied_auto, counts.applied_manual) == (4, 0, 1)
    assert (counts.pending, counts.ignored, counts.debits) == (2, 1, 0)
    lines_page = client.get(reverse("cash:statement", args=[record.pk]), {"status": "pending"})
    assert [found.text for found in lines_page.context["page"].object_list] == [
        "ABONO NOMINA",
        "PAGO FE-2001 DISTRIBUIDORA",
    ]


def test_a_proposal_fills_in_its_amounts_and_is_applied_as_proposed(client, acme, team):
    client.force_login(team["cobradora"])
    andina = line("PAGO FE-2001")
    url = reverse("cash:line", args=[andina.pk])

    page = client.get(url, {"debtor": debtor("C2").pk, "proposal": 0})

    form = page.context["apply_form"]
    assert form.initial[amount_field("FE-2001")] == "900.000,00"
    response = client.post(
        reverse("cash:apply", args=[andina.pk]),
        {"debtor": debtor("C2").pk, "mode": "chosen", amount_field("FE-2001"): "900.000,00"},
    )
    assert response.status_code == 302
    assert balances("FE-2001") == [5000000]
    assert integrity_problems() == []


def test_wrong_amounts_are_refused_and_nothing_is_applied(client, english, acme, team):
    client.force_login(team["cobradora"])
    target = line("CONSIGNACION")
    apply_url = reverse("cash:apply", args=[target.pk])
    uno = debtor("C1").pk

    cases = [
        ({amount_field("FV-1003"): "900.000"}, "FV-1003 owes only 800.000,00"),
        (
            {amount_field("FV-1001"): "1.500.000", amount_field("FV-1002"): "1.500.000"},
            "The amounts add up to 3.000.000,00, more than the line's 2.500.000,00",
        ),
        ({amount_field("FV-1001"): "mil pesos"}, "mil pesos is not an amount"),
        ({amount_field("FV-1001"): "100,555"}, "COP amounts have at most 2 decimals"),
        ({}, "Write an amount for at least one document"),
        # a document that is not (or no longer) one of the debtor's open ones
        (
            {amount_field("FV-1001"): "1.000", amount_field("FE-2001"): "1.000"},
            "Some documents no longer owe anything: check the amounts again.",
        ),
    ]
    for amounts, message in cases:
        response = client.post(apply_url, {"debtor": uno, "mode": "chosen", **amounts})
        assert response.status_code == 422, message
        assert message in page_text(response), message
    target.refresh_from_db()
    assert target.status == LineStatus.WAITING
    assert not Payment.objects.exists()
    assert (
        client.post(
            reverse("cash:ignore", args=[target.pk]), {"ignore-reason": "other"}
        ).status_code
        == 422
    )
    assert line("CONSIGNACION").status == LineStatus.WAITING


def test_oldest_due_first_and_a_debtor_without_open_documents(
    client, english, acme, team, load, write_file
):
    client.force_login(team["cobradora"])
    nomina = line("ABONO NOMINA")

    response = client.post(
        reverse("cash:apply", args=[nomina.pk]), {"debtor": debtor("C2").pk, "mode": "oldest"}
    )

    assert response.status_code == 302
    assert balances("FE-2001") == [95000000 - 30000000]
    nomina.refresh_from_db()
    assert nomina.payment.unapplied_minor == 0

    load("debtors", write_file("nuevo.csv", "external_id,name\nC9,Cliente Nuevo\n"))
    nuevo = debtor("C9")
    transfer = line("TRASLADO")
    page = client.get(reverse("cash:line", args=[transfer.pk]), {"debtor": nuevo.pk})
    assert "This debtor has no open document in COP" in page_text(page)
    response = client.post(
        reverse("cash:apply", args=[transfer.pk]), {"debtor": nuevo.pk, "mode": "oldest"}
    )
    assert response.status_code == 302
    transfer.refresh_from_db()
    assert transfer.payment.unapplied_minor == transfer.amount_minor == 500000000
    assert integrity_problems() == []


# --- the real BBVA export: a Mexican creditor, amounts written the Mexican way ----------------


@pytest.fixture
def norte(db, actor, load, write_file):
    creditor = creditor_create(
        code="NORTE", name="Comercial del Norte", country="MX", currency="MXN", actor=actor
    )
    documents = (
        "external_id,number,debtor_external_id,debtor_name,debtor_tax_id,issue_date,due_date,"
        "amount\n"
        "N-1,A-501,M1,Abarrotes La Esperanza,,2025-08-01,2025-09-01,12000.00\n"
        "N-2,A-502,M1,Abarrotes La Esperanza,,2025-08-15,2025-09-15,9000.00\n"
    )
    result = load(
        "documents",
        write_file("norte.csv", documents),
        target=creditor,
        as_of=datetime.date(2025, 9, 30),
    )
    assert result.rejected == 0
    imported = statement_import(creditor=creditor, path=BBVA, actor=actor, bank_account="BBVA")
    assert (imported.lines, imported.credits, imported.waiting) == (15, 6, 6)
    return creditor


def test_the_real_bbva_statement_is_listed_filtered_and_applied(client, english, norte):
    user = person("gestor", "collector", norte)
    client.force_login(user)

    statements = client.get(reverse("cash:statements"))
    ((record, counts),) = statements.context["rows"]
    assert record.file_name == BBVA.name
    assert (counts.lines, counts.debits, counts.pending) == (15, 9, 6)
    assert "Waiting for a person" in page_text(statements)

    queue = reverse("cash:unmatched")

    def amounts(**filters) -> list[str]:
        response = client.get(queue, filters)
        assert response.status_code == 200
        return [str(row[0].amount) for row in response.context["rows"]]

    assert amounts() == ["25000.00", "5000.00", "18500.00", "32000.00", "3500.00", "28000.00"]
    assert amounts(amount_min="20,000", amount_max="30,000.00") == ["25000.00", "28000.00"]
    assert amounts(q="deposito") == ["5000.00", "3500.00"]
    assert amounts(date_from="2025-10-10", date_to="2025-10-20") == ["18500.00", "32000.00"]
    assert amounts(amount_min="50,000") == []
    account = norte.bank_accounts.get()
    assert len(amounts(bank_account=account.pk)) == 6
    bad = client.get(queue, {"amount_min": "veinte"})
    assert "veinte is not an amount" in page_text(bad)

    first = StatementLine.objects.get(creditor=norte, amount_minor=2500000)
    url = reverse("cash:line", args=[first.pk])
    esperanza = Debtor.objects.get(creditor=norte, external_id="M1")
    assert [d.pk for d in client.get(url, {"q": "A-502"}).context["results"]] == [esperanza.pk]
    response = client.post(
        reverse("cash:apply", args=[first.pk]),
        {
            "debtor": esperanza.pk,
            "mode": "chosen",
            amount_field("A-501"): "12,000.00",
            amount_field("A-502"): "8,999.50",
        },
    )
    assert response.status_code == 302
    assert balances("A-501", "A-502") == [0, 50]
    first.refresh_from_db()
    assert first.payment.unapplied_minor == 400050
    assert integrity_problems() == []


# --- who may do what ---------------------------------------------------------------------------


def test_an_auditor_reads_every_page_and_every_post_answers_403(client, acme, team, actor):
    waiting = line("CONSIGNACION")
    applied = line("ABONO NOMINA")
    client.force_login(team["supervisora"])
    assert (
        client.post(
            reverse("cash:apply", args=[applied.pk]), {"debtor": debtor("C2").pk, "mode": "oldest"}
        ).status_code
        == 302
    )
    client.force_login(team["auditora"])

    for url in (
        reverse("cash:statements"),
        reverse("cash:unmatched"),
        reverse("cash:statement", args=[waiting.statement_import_id]),
        reverse("cash:line", args=[waiting.pk]),
        reverse("cash:line", args=[applied.pk]),
    ):
        assert client.get(url).status_code == 200, url
    page = client.get(reverse("cash:line", args=[waiting.pk]), {"debtor": debtor("C1").pk})
    assert not page.context["can_apply"] and page.context["apply_form"] is None
    assert 'id="apply-form"' not in page.content.decode()
    assert 'id="ignore-form"' not in page.content.decode()
    assert (
        'id="reverse-form"'
        not in client.get(reverse("cash:line", args=[applied.pk])).content.decode()
    )

    posts = [
        (reverse("cash:apply", args=[waiting.pk]), {"debtor": debtor("C1").pk, "mode": "oldest"}),
        (reverse("cash:ignore", args=[waiting.pk]), {"ignore-reason": "own_transfer"}),
        (reverse("cash:reverse", args=[applied.pk]), {"reverse-reason": "x"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert line("CONSIGNACION").status == LineStatus.WAITING
    assert line("ABONO NOMINA").status == LineStatus.APPLIED_MANUAL


def test_a_collector_applies_and_ignores_but_does_not_reverse(client, acme, team):
    client.force_login(team["cobradora"])
    target = line("ABONO NOMINA")
    assert (
        client.post(
            reverse("cash:apply", args=[target.pk]), {"debtor": debtor("C2").pk, "mode": "oldest"}
        ).status_code
        == 302
    )

    refused = client.post(reverse("cash:reverse", args=[target.pk]), {"reverse-reason": "x"})

    assert refused.status_code == 403
    assert line("ABONO NOMINA").status == LineStatus.APPLIED_MANUAL
    assert AuditEvent.objects.filter(action="statement_line.reverse").count() == 0


def test_another_creditors_lines_statements_and_debtors_are_not_found(
    client, acme, actor, write_file, load
):
    other = creditor_create(
        code="OTRA", name="Otra S.A.S.", country="CO", currency="COP", actor=actor
    )
    load(
        "documents",
        write_file(
            "otra.csv",
            "external_id,number,debtor_external_id,debtor_name,due_date,amount\n"
            "O-1,X-1,O1,Cliente de Otra,2026-10-01,2500000.00\n",
        ),
        target=other,
    )
    outsider = person("ajena", "supervisor", other)
    client.force_login(outsider)
    acme_line = line("CONSIGNACION")

    assert client.get(reverse("cash:line", args=[acme_line.pk])).status_code == 404
    assert (
        client.get(reverse("cash:statement", args=[acme_line.statement_import_id])).status_code
        == 404
    )
    for name, data in (
        ("cash:apply", {"debtor": debtor("O1").pk, "mode": "oldest"}),
        ("cash:ignore", {"ignore-reason": "own_transfer"}),
        ("cash:reverse", {"reverse-reason": "x"}),
    ):
        assert client.post(reverse(name, args=[acme_line.pk]), data).status_code == 404, name
    assert client.get(reverse("cash:unmatched")).context["rows"] == []
    assert client.get(reverse("cash:statements")).context["rows"] == []
    assert client.get(reverse("cash:unmatched"), {"creditor": acme.pk}).status_code == 404
    assert client.get(reverse("cash:statements"), {"creditor": acme.pk}).status_code == 404

    # Acme's collector cannot apply Acme's line to Otra's debtor, nor see it in the search.
    insider = person("propia", "collector", acme)
    client.force_login(insider)
    url = reverse("cash:line", args=[acme_line.pk])
    assert client.get(url, {"q": "Cliente de Otra"}).context["results"] == []
    assert client.get(url, {"debtor": debtor("O1").pk}).status_code == 404
    response = client.post(
        reverse("cash:apply", args=[acme_line.pk]), {"debtor": debtor("O1").pk, "mode": "oldest"}
    )
    assert response.status_code == 404
    assert line("CONSIGNACION").status == LineStatus.WAITING


def test_without_a_session_or_a_role_the_pages_are_refused(client, acme, team):
    url = reverse("cash:line", args=[line("CONSIGNACION").pk])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/?next=")
    assert client.post(reverse("cash:ignore", args=[line("CONSIGNACION").pk])).status_code == 302
    htmx = client.get(
        url, {"q": "x"}, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{url}"
    )
    assert htmx["HX-Redirect"].startswith("/login/?next=")

    nobody = person("sin_rol", "collector", acme)
    nobody.groups.clear()
    client.force_login(nobody)
    assert client.get(reverse("cash:unmatched")).status_code == 403


def test_posts_need_the_csrf_token(acme, team):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(team["cobradora"])
    target = line("TRASLADO")
    url = reverse("cash:ignore", args=[target.pk])

    assert browser.post(url, {"ignore-reason": "own_transfer"}).status_code == 403
    page = browser.get(reverse("cash:line", args=[target.pk]))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    answer = browser.post(url, {"ignore-reason": "own_transfer", "csrfmiddlewaretoken": token})

    assert answer.status_code == 302
    assert line("TRASLADO").status == LineStatus.IGNORED


def test_the_navigation_links_to_the_cash_pages(client, acme, team):
    client.force_login(team["cobradora"])

    page = client.get(reverse("cash:unmatched")).content.decode()

    assert f'<a href="{reverse("cash:statements")}" aria-current="page">' in page
    assert f'href="{reverse("cash:statements")}"' in client.get(reverse("aging")).content.decode()


# --- a fixed number of queries, whatever the size ----------------------------------------------


def _queries(client, url, data=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, data or {}).status_code == 200
    return len(captured.captured_queries)


def test_every_page_reads_a_fixed_number_of_queries(client, acme, team, actor, write_file, load):
    client.force_login(team["cobradora"])
    target = line("CONSIGNACION")
    uno = debtor("C1")
    pages = [
        (reverse("cash:statements"), None),
        (reverse("cash:unmatched"), {"amount_min": "1.000", "q": "a"}),
        (reverse("cash:statement", args=[target.statement_import_id]), None),
        (reverse("cash:line", args=[target.pk]), {"q": "tornillo", "debtor": uno.pk}),
    ]
    client.get(pages[0][0])  # sessions, permissions and content types warm up
    small = [_queries(client, url, data) for url, data in pages]

    # Ten more statements of forty lines each, and ten more documents for the debtor.
    rows = ["fecha,concepto,importe"]
    for n in range(10):
        for k in range(40):
            rows.append(f"2026-11-{10 + k % 15:02d},ABONO VARIOS {n}-{k},{1000 + n * 100 + k}.00")
        statement_import(
            creditor=acme,
            path=write_file(f"otro-{n}.csv", "\n".join([rows[0], *rows[1 + 40 * n :]]) + "\n"),
            actor=actor,
            bank_account="Bancolombia 123",
        )
    more = "\n".join(
        f"G-{n},FV-9{n:03d},C1,Ferretería El Tornillo S.A.S.,900123456-8,2026-10-01,"
        f"2026-11-{n + 1:02d},{1000 + n}.00"
        for n in range(10)
    )
    load("documents", write_file("more.csv", DOCUMENTS.splitlines()[0] + "\n" + more + "\n"))
    assert StatementLine.objects.count() > 400
    large = [_queries(client, url, data) for url, data in pages]

    assert large == small
    assert max(small) <= 16, small


def test_the_line_page_of_an_applied_line_reads_a_fixed_number_of_queries(client, acme, team):
    client.force_login(team["supervisora"])
    target = line("CONSIGNACION")
    uno = debtor("C1")
    client.post(
        reverse("cash:apply", args=[target.pk]),
        {"debtor": uno.pk, "mode": "chosen", amount_field("FV-1001"): "100"},
    )
    url = reverse("cash:line", args=[target.pk])
    one = _queries(client, url)
    client.post(reverse("cash:reverse", args=[target.pk]), {"reverse-reason": "x"})
    client.post(reverse("cash:apply", args=[target.pk]), {"debtor": uno.pk, "mode": "oldest"})
    assert len(client.get(url).context["allocations"]) == 2

    assert _queries(client, url) == one
    assert one <= 16


def test_without_statements_the_pages_say_so(client, english, creditor, team):
    client.force_login(team["cobradora"])

    queue = client.get(reverse("cash:unmatched"))
    statements = client.get(reverse("cash:statements"))

    assert queue.context["rows"] == [] and statements.context["rows"] == []
    assert "Nothing waits: every credit line is applied or set aside." in page_text(queue)
    assert "No statement imported yet." in page_text(statements)


def test_the_queues_refusals_speak_spanish_by_default(client, acme, team):
    """No language chosen: the installation's (Spanish) words, also for the service's refusals."""
    client.force_login(team["supervisora"])
    target = line("CONSIGNACION")
    spanish = {"HTTP_ACCEPT_LANGUAGE": "es"}

    waiting = client.post(
        reverse("cash:reverse", args=[target.pk]), {"reverse-reason": "error"}, **spanish
    )
    assert waiting.status_code == 422
    assert "esta línea está en espera, no aplicada" in page_text(waiting)

    applied = client.post(
        reverse("cash:apply", args=[target.pk]), {"debtor": debtor("C1").pk, "mode": "oldest"}
    )
    assert applied.status_code == 302
    reversed_ = client.post(
        reverse("cash:reverse", args=[target.pk]), {"reverse-reason": "otro cliente"}
    )
    assert reversed_.status_code == 302
    refused = client.post(
        reverse("cash:ignore", args=[target.pk]),
        {"ignore-reason": "other", "ignore-detail": "x"},
        **spanish,
    )
    assert refused.status_code == 422
    assert "ya está registrado (se aplicó antes): aplíquelo al deudor correcto" in page_text(
        refused
    )

    client.cookies["django_language"] = "en"
    english = client.post(
        reverse("cash:ignore", args=[target.pk]), {"ignore-reason": "other", "ignore-detail": "x"}
    )
    assert "apply it to the right debtor instead" in page_text(english)
