"""Matching: every kind of evidence, weighed into one confidence; confident lines apply."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cartera.cash.matching import (
    LineToMatch,
    Matcher,
    number_key,
    text_number_keys,
    text_references,
)
from cartera.cash.models import LineStatus, StatementLine
from cartera.cash.services import statement_import
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import Debtor, Document, Payment

# Uno owes three invoices, Dos two of the same amount, Tres one with cents.
DOCUMENTS = (
    "external_id,number,debtor_external_id,debtor_name,debtor_tax_id,issue_date,due_date,amount\n"
    "D-1,FV-000123,C1,Uno S.A.S.,900123456-8,2026-07-01,2026-08-01,1000000.00\n"
    "D-2,FV-000124,C1,Uno S.A.S.,900123456-8,2026-08-01,2026-09-01,2000000.00\n"
    "D-3,FV-000125,C1,Uno S.A.S.,900123456-8,2026-09-01,2026-10-01,500000.00\n"
    "D-4,FE-2024-0042,C2,Dos Ltda.,800765432-3,2026-08-15,2026-09-15,750000.00\n"
    "D-5,FE-2024-0043,C2,Dos Ltda.,800765432-3,2026-09-15,2026-10-15,750000.00\n"
    "D-6,A-77,C3,Tres y Cía.,,2026-09-01,2026-10-20,333333.33\n"
)


@pytest.fixture
def portfolio(write_file, load):
    result = load("documents", write_file("documents.csv", DOCUMENTS))
    assert result.created == 6


def debtor(external_id: str) -> Debtor:
    return Debtor.objects.get(external_id=external_id)


def balance(external_id: str) -> int:
    return Document.objects.get(external_id=external_id).balance_minor


@pytest.fixture
def receive(creditor, actor, write_file):
    """Import a statement of credits: (date, text, amount, paying account) rows."""
    counter = iter(range(1, 1000))

    def run(*rows: tuple[str, str, str] | tuple[str, str, str, str]):
        lines = ["fecha,concepto,importe,cuenta ordenante"]
        for row in rows:
            day, text, amount, *account = row
            lines.append(f'{day},"{text}",{amount},{account[0] if account else ""}')
        path = write_file(f"extracto-{next(counter)}.csv", "\n".join(lines) + "\n")
        result = statement_import(creditor=creditor, path=path, actor=actor, bank_account="BC")
        assert result.exit_code == 0, result.unreadable or result.message
        return result

    return run


def line(text: str) -> StatementLine:
    return StatementLine.objects.get(text__contains=text)


def kinds(found: StatementLine) -> list[str]:
    return sorted(item["kind"] for item in found.evidence)


# --- what counts as a reference or a document number -------------------------------------------


def test_document_numbers_compare_without_case_spaces_dashes_or_leading_zeros():
    assert number_key("FV-000123") == number_key("fv 123") == number_key("Fv123") == "FV123"
    assert number_key("FE-2024-0042") == "FE202442"
    assert number_key("000") == "0"
    assert "FE202442" in text_number_keys("pago fe 2024 0042 gracias")
    assert "FV123" in text_number_keys("Factura FV-000123.")


def test_a_payment_reference_needs_its_check_digit():
    assert text_references("REF 0000000018 PAGO") == {"0000000018"}
    assert text_references("ref 00000-00018") == {"0000000018"}
    assert text_references("REF 0000000019 PAGO") == set()
    # a longer run of digits is not a reference hiding inside it
    assert text_references("12340000000018") == set()


# --- evidence, one kind at a time ---------------------------------------------------------------


def test_the_debtors_reference_and_the_exact_amount_apply_automatically(portfolio, receive):
    reference = debtor("C2").payment_reference

    result = receive(("2026-11-02", f"PAGO REF {reference}", "750000.00"))

    found = line("PAGO REF")
    assert (result.applied, result.waiting) == (1, 0)
    assert found.status == LineStatus.APPLIED_AUTO
    assert kinds(found) == ["amount_document", "debtor_reference"]
    assert found.confidence == 96
    assert (balance("D-4"), balance("D-5")) == (0, 75000000)
    assert found.payment.debtor.external_id == "C2" and found.payment.unapplied_minor == 0
    assert integrity_problems() == []


def test_a_reference_with_a_wrong_check_digit_is_not_evidence(portfolio, receive):
    reference = debtor("C1").payment_reference
    wrong = reference[:-1] + str((int(reference[-1]) + 1) % 10)

    receive(("2026-11-02", f"PAGO REF {wrong}", "123456.00"))

    found = line("PAGO REF")
    assert found.status == LineStatus.WAITING
    assert found.proposals == [] and found.debtor is None
    assert Payment.objects.count() == 0


def test_the_debtors_reference_alone_applies_oldest_due_first_and_keeps_the_rest_as_credit(
    portfolio, receive
):
    reference = debtor("C1").payment_reference

    receive(("2026-11-02", f"abono cliente {reference}", "4000000.00"))

    found = line("abono cliente")
    assert found.status == LineStatus.APPLIED_AUTO
    assert kinds(found) == ["debtor_reference"]
    assert (balance("D-1"), balance("D-2"), balance("D-3")) == (0, 0, 0)
    # 4,000,000 paid for 3,500,000 owed: the overpayment is the debtor's credit
    assert found.payment.unapplied_minor == 50000000
    assert integrity_problems() == []


def test_a_document_number_with_dashes_and_zeros_plus_its_amount_applies_to_it(portfolio, receive):
    receive(("2026-11-03", "Pago factura fv 124 gracias", "2000000"))

    found = line("Pago factura")
    assert kinds(found) == ["amount_document", "document_number"]
    assert found.status == LineStatus.APPLIED_AUTO
    assert (balance("D-1"), balance("D-2")) == (100000000, 0)


def test_a_document_number_without_a_fitting_amount_waits_with_its_proposal(portfolio, receive):
    receive(("2026-11-03", "ABONO FE-2024-0043", "100000"))

    found = line("ABONO FE")
    assert found.status == LineStatus.WAITING
    assert found.confidence == 75
    [proposal] = found.proposals
    assert proposal["name"] == "Dos Ltda."
    assert [share["number"] for share in proposal["shares"]] == ["FE-2024-0043"]
    assert balance("D-5") == 75000000


def test_the_tax_id_and_the_sum_of_two_documents_make_a_proposal(portfolio, receive):
    receive(("2026-11-04", "TRANSF NIT 900.123.456-8", "1500000.00"))

    found = line("TRANSF NIT")
    # tax id 75 % and a set of documents 50 %: 1 - 0.25 x 0.5 = 87.5 %, below 90 %
    assert found.status == LineStatus.WAITING
    assert found.confidence == 88
    assert kinds(found) == ["amount_set", "tax_id"]
    [proposal] = found.proposals
    assert [s["number"] for s in proposal["shares"]] == ["FV-000123", "FV-000125"]


def test_above_a_lower_threshold_the_same_line_is_applied(portfolio, receive, settings):
    settings.CARTERA_CASH_AUTO_CONFIDENCE = 85

    receive(("2026-11-04", "TRANSF NIT 900.123.456-8", "1500000.00"))

    assert line("TRANSF NIT").status == LineStatus.APPLIED_AUTO
    assert (balance("D-1"), balance("D-2"), balance("D-3")) == (0, 200000000, 0)
    assert integrity_problems() == []


def test_a_payment_short_by_a_bank_fee_still_matches(portfolio, receive):
    reference = debtor("C3").payment_reference

    # 333,333.33 owed, 331,000.00 received: 0.7 % short, within the 1 % tolerance
    receive(("2026-11-05", f"pago {reference}", "331000.00"))

    found = line("pago ")
    assert kinds(found) == ["amount_fee", "debtor_reference"]
    assert found.status == LineStatus.APPLIED_AUTO
    assert balance("D-6") == 233333


def test_outside_the_fee_tolerance_the_amount_is_no_evidence(portfolio, receive, settings):
    settings.CARTERA_CASH_FEE_TOLERANCE_PERCENT = "0.5"
    reference = debtor("C3").payment_reference

    receive(("2026-11-05", f"pago {reference}", "331000.00"))

    assert kinds(line("pago ")) == ["debtor_reference"]


def test_contradicting_evidence_sends_the_line_to_a_person(portfolio, receive):
    reference = debtor("C1").payment_reference

    # Uno's reference, but Dos's tax id: two candidates, neither sure
    receive(("2026-11-06", f"REF {reference} NIT 800765432-3", "750000.00"))

    found = line("NIT 800765432")
    assert found.status == LineStatus.WAITING
    assert {p["name"] for p in found.proposals} == {"Uno S.A.S.", "Dos Ltda."}
    assert all(p["confidence"] < 90 for p in found.proposals)
    assert Payment.objects.count() == 0


def test_an_amount_only_one_document_has_is_a_weak_proposal(portfolio, receive):
    receive(("2026-11-07", "CONSIGNACION EFECTIVO", "333333.33"))

    found = line("CONSIGNACION")
    assert found.status == LineStatus.WAITING
    assert found.confidence == 40
    assert found.proposals[0]["name"] == "Tres y Cía."


def test_an_amount_several_documents_have_shares_its_weight(portfolio, receive):
    receive(("2026-11-07", "CONSIGNACION EFECTIVO", "750000.00"))

    found = line("CONSIGNACION")
    # both of Dos's documents have it: one proposal for Dos per document, 20 % each
    assert [p["confidence"] for p in found.proposals] == [17, 17]
    assert found.status == LineStatus.WAITING


def test_lines_of_one_statement_see_what_earlier_lines_paid(portfolio, receive):
    reference = debtor("C2").payment_reference

    receive(
        ("2026-11-02", f"PAGO {reference} uno", "750000.00"),
        ("2026-11-03", f"PAGO {reference} dos", "750000.00"),
    )

    first, second = line(" uno"), line(" dos")
    assert [s["number"] for s in first.proposals[0]["shares"]] == ["FE-2024-0042"]
    assert [s["number"] for s in second.proposals[0]["shares"]] == ["FE-2024-0043"]
    assert (balance("D-4"), balance("D-5")) == (0, 0)
    assert integrity_problems() == []


def test_matching_loads_a_statement_in_a_fixed_number_of_queries(portfolio, creditor):
    references = [d.payment_reference for d in Debtor.objects.order_by("external_id")]

    def queries_for(count: int) -> int:
        lines = [
            LineToMatch(
                key=i,
                amount_minor=100 + i,
                currency="COP",
                booking_date=datetime.date(2026, 11, 1),
                text=f"PAGO {references[i % 3]} FV-{i:06d} NIT 900.123.456-8",
                counterparty_account=f"CO{i:08d}",
            )
            for i in range(count)
        ]
        matcher = Matcher(creditor)
        with CaptureQueriesContext(connection) as captured:
            matcher.load(lines)
            for item in lines:
                matcher.propose(item)
        assert matcher.queries == len(captured.captured_queries)
        return len(captured.captured_queries)

    assert queries_for(3) == queries_for(300) <= 8


def test_an_import_runs_the_same_number_of_queries_for_many_lines(
    portfolio, creditor, actor, write_file
):
    reference = debtor("C1").payment_reference

    def queries_for(count: int) -> int:
        rows = "".join(
            f"2026-11-{1 + i % 28:02d},PAGO {reference} L{count}-{i},{1000 + i}.00,\n"
            for i in range(count)
        )
        path = write_file(f"s{count}.csv", "fecha,concepto,importe,cuenta ordenante\n" + rows)
        with CaptureQueriesContext(connection) as captured:
            result = statement_import(creditor=creditor, path=path, actor=actor, bank_account="BC")
        assert result.applied == count
        return len(captured.captured_queries)

    queries_for(2)  # the bank account is created once
    assert queries_for(3) == queries_for(60)
    assert integrity_problems() == []
