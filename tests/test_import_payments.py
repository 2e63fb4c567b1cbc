"""Payments: applied to the document they name, by reference, or oldest-due-first."""

from __future__ import annotations

import csv
import datetime

import pytest
from django.utils import translation

from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import Allocation, BalanceMode, Document, Payment

DOCUMENTS = (
    "external_id,number,debtor_external_id,name,issue_date,due_date,amount\n"
    "D-1,FV-1,C1,Uno S.A.S.,2026-07-01,2026-08-01,1000.00\n"
    "D-2,FV-2,C1,Uno S.A.S.,2026-08-01,2026-09-01,2000.00\n"
    "D-3,FV-3,C1,Uno S.A.S.,2026-09-01,2026-10-01,3000.00\n"
    "D-4,FV-4,C2,Dos Ltda.,2026-09-01,2026-10-01,500.00\n"
)


@pytest.fixture
def portfolio(write_file, load):
    result = load("documents", write_file("documents.csv", DOCUMENTS))
    assert result.created == 4
    return result


def balances() -> dict[str, int]:
    return dict(Document.objects.values_list("external_id", "balance_minor"))


def test_payment_without_document_goes_oldest_due_first(portfolio, write_file, load):
    path = write_file(
        "payments.csv",
        'id_pago,codigo_cliente,fecha_pago,valor\nP-1,C1,2026-11-01,"2.500,00"\n',
    )

    result = load("payments", path, locale="es_CO")

    assert (result.created, result.rejected) == (1, 0)
    assert balances() == {"D-1": 0, "D-2": 50000, "D-3": 300000, "D-4": 50000}
    payment = Payment.objects.get(external_id="P-1")
    assert payment.unapplied_minor == 0
    assert list(
        payment.allocations.order_by("id").values_list("document__external_id", "amount_minor")
    ) == [
        ("D-1", 100000),
        ("D-2", 150000),
    ]
    assert integrity_problems() == []


def test_payment_naming_a_document_pays_it_and_keeps_the_excess_as_credit(
    portfolio, write_file, load
):
    path = write_file(
        "payments.csv",
        "external_id,debtor_external_id,date,amount,document_number\nP-1,C1,2026-11-01,3500,FV-3\n",
    )

    load("payments", path)

    assert balances()["D-3"] == 0
    assert balances()["D-1"] == 100000
    assert Payment.objects.get(external_id="P-1").unapplied_minor == 50000


def test_payment_found_by_the_documents_payment_reference(portfolio, write_file, load):
    reference = Document.objects.get(external_id="D-4").payment_reference
    path = write_file(
        "payments.csv",
        f"external_id,date,amount,reference,method\nP-9,2026-11-02,500,Ref {reference},PSE\n",
    )

    result = load("payments", path)

    assert result.rejected == 0
    assert balances()["D-4"] == 0
    assert Payment.objects.get(external_id="P-9").debtor.external_id == "C2"


def test_reimport_is_unchanged_and_a_changed_payment_is_rejected(portfolio, write_file, load):
    text = "external_id,debtor_external_id,date,amount\nP-1,C1,2026-11-01,100\n"
    load("payments", write_file("p.csv", text))

    again = load("payments", write_file("p.csv", text))
    changed = load("payments", write_file("p2.csv", text.replace(",100\n", ",150\n")))

    assert (again.unchanged, again.created) == (1, 0)
    assert changed.rejected == 1 and changed.exit_code == 4
    assert Allocation.objects.count() == 1
    assert Payment.objects.get().amount_minor == 10000


def test_two_identical_payments_without_id_stay_two_and_reimport_adds_none(
    portfolio, write_file, load
):
    text = "debtor_external_id,date,amount\nC1,2026-11-01,100\nC1,2026-11-01,100\n"
    first = load("payments", write_file("p.csv", text))
    second = load("payments", write_file("p.csv", text))

    assert first.created == 2
    assert (second.created, second.unchanged) == (0, 2)
    assert balances()["D-1"] == 80000


def test_unusable_payment_rows_are_rejected_with_reasons(portfolio, write_file, load):
    text = (
        "external_id,debtor_external_id,date,amount,document_number\n"
        "P-1,C1,2026-11-01,-100,\n"
        "P-2,NOPE,2026-11-01,100,\n"
        "P-3,C2,2026-11-01,100,FV-1\n"
        "P-4,,2026-11-01,100,\n"
        "P-5,C1,2026-11-01,100,\n"
    )
    result = load("payments", write_file("p.csv", text))

    assert (result.created, result.rejected, result.exit_code) == (1, 4, 3)


def test_payment_dated_before_an_invoice_is_not_applied_to_it(portfolio, write_file, load):
    text = "external_id,debtor_external_id,date,amount\nP-1,C1,2026-07-15,5000\n"
    load("payments", write_file("p.csv", text))

    # Only D-1 existed on 15 July; the rest stays as the debtor's credit.
    assert balances()["D-1"] == 0
    assert balances()["D-2"] == 200000
    assert Payment.objects.get().unapplied_minor == 400000
    assert integrity_problems() == []


def test_payments_are_refused_when_the_erp_keeps_the_balances(
    portfolio, write_file, load, creditor
):
    creditor.balance_mode = BalanceMode.ERP
    creditor.save()

    result = load(
        "payments", write_file("p.csv", "debtor_external_id,date,amount\nC1,2026-11-01,1\n")
    )

    assert result.exit_code == 4
    assert "erp" in result.message
    assert Payment.objects.count() == 0


def test_allocation_entries_carry_the_payment_date(portfolio, write_file, load):
    load("payments", write_file("p.csv", "debtor_external_id,date,amount\nC1,2026-11-05,10\n"))
    allocation = Allocation.objects.get()
    assert allocation.entry.effective_date == datetime.date(2026, 11, 5)
    assert allocation.entry.amount_minor == -1000


SNAPSHOT = (
    "external_id,debtor_external_id,name,issue_date,due_date,amount,balance\n"
    "S-1,C9,Nueve S.A.S.,2026-07-01,2026-08-01,1000.00,0\n"
    "S-2,C9,Nueve S.A.S.,2026-08-01,2026-09-01,2000.00,500.00\n"
    "S-3,C9,Nueve S.A.S.,2026-09-01,2026-10-01,3000.00,3000.00\n"
)


def test_payments_already_counted_by_the_balance_column_are_not_counted_twice(write_file, load):
    """Documents with balances as of 23 Nov, then the detailed payments behind them."""
    load("documents", write_file("snapshot.csv", SNAPSHOT))
    history = (
        "external_id,debtor_external_id,date,amount,document_external_id\n"
        "H-1,C9,2026-08-01,1000,S-1\n"
        "H-2,C9,2026-09-10,1500,S-2\n"
        # after the snapshot: new money that lowers what is owed
        "H-3,C9,2026-11-30,700,S-3\n"
    )

    result = load("payments", write_file("history.csv", history))

    assert (result.created, result.rejected) == (3, 0)
    assert balances() == {"S-1": 0, "S-2": 50000, "S-3": 230000}
    assert Payment.objects.get(external_id="H-1").unapplied_minor == 0
    assert Document.objects.get(external_id="S-2").unmatched_prior_minor == 0
    assert integrity_problems() == []
    # The history is now in the ledger: on 15 Sep, S-2 owed 500 after the 1500 payment.
    from cartera.reports.aging import aging_report

    creditor = Document.objects.get(external_id="S-2").creditor
    on_sep_15 = aging_report(creditors=[creditor], as_of=datetime.date(2026, 9, 15), by="debtor")
    assert on_sep_15.rows[0].amounts["1-30"] == 50000
    assert on_sep_15.rows[0].credits == 0


def test_oldest_first_payment_explains_prior_payments_before_lowering_balances(write_file, load):
    load("documents", write_file("snapshot.csv", SNAPSHOT))

    load("payments", write_file("p.csv", "debtor_external_id,date,amount\nC9,2026-10-15,1800\n"))

    # 1000 explains S-1, 800 of S-2's 1500 prior payment; nothing owed changes.
    assert balances() == {"S-1": 0, "S-2": 50000, "S-3": 300000}
    assert Document.objects.get(external_id="S-2").unmatched_prior_minor == 70000
    assert Payment.objects.get().unapplied_minor == 0
    assert integrity_problems() == []


def test_a_real_bank_export_loaded_as_payments_is_refused_row_by_row_with_reasons(
    creditor, load, tmp_path
):
    """A bank's CSV is not a payments file (statements come with cash application), but
    loading one by mistake must explain every row and crash nothing."""
    import shutil

    from tests.conftest import SHARED_DATA

    source = SHARED_DATA / "bank_statements/csv/avanta-mx__sample_santander_october_2025.csv"
    path = tmp_path / source.name
    shutil.copy(source, path)

    with translation.override("en"):
        result = load(
            "payments",
            path,
            mapping={"Reference Number": "external_id", "Description": "reference"},
        )

    assert result.exit_code == 4
    assert result.created == 0 and result.rejected == result.rows_read > 0
    with open(result.rejected_file, encoding="utf-8-sig") as handle:
        reasons = [row["reason"] for row in csv.DictReader(handle)]
    assert any("must be positive" in reason for reason in reasons)
    assert any("cannot tell whose payment" in reason for reason in reasons)
