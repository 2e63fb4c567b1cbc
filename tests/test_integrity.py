"""`cartera check` and the ledger's immutability."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import Debtor, Document, LedgerEntry, Payment
from cartera.portfolio.services import creditor_create

DOCUMENTS = "external_id,debtor_external_id,name,due_date,amount\nA,C1,Uno,2026-10-01,100\n"


@pytest.fixture
def loaded(write_file, load):
    load("documents", write_file("d.csv", DOCUMENTS))
    load("payments", write_file("p.csv", "debtor_external_id,date,amount\nC1,2026-11-01,30\n"))


def test_a_tampered_cached_balance_is_reported(loaded):
    assert integrity_problems() == []
    Document.objects.filter(external_id="A").update(balance_minor=1)

    problems = integrity_problems()

    assert [p.kind for p in problems] == ["balance"]
    assert "ledger sums to 7000" in problems[0].detail


def test_an_over_allocated_payment_is_reported(loaded):
    Payment.objects.update(unapplied_minor=2000)
    assert [p.kind for p in integrity_problems()] == ["allocation"]


def test_ledger_entries_cannot_be_changed_or_deleted(loaded):
    entry = LedgerEntry.objects.first()
    entry.amount_minor = 5
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        LedgerEntry.objects.all().update(amount_minor=1)
    with pytest.raises(TypeError):
        LedgerEntry.objects.all().delete()


def test_tampered_prior_payment_columns_are_reported(write_file, load):
    load(
        "documents",
        write_file(
            "d.csv",
            "external_id,debtor_external_id,name,due_date,amount,balance\n"
            "A,C1,Uno,2026-10-01,100,40\n",
        ),
    )
    assert integrity_problems() == []
    Document.objects.update(prior_net_minor=-5000)
    assert [p.kind for p in integrity_problems()] == ["prior_net"]
    Document.objects.update(prior_net_minor=-6000, prior_on=None)
    assert [p.kind for p in integrity_problems()] == ["prior_net"]


def test_a_payment_applied_late_that_does_not_say_so_is_reported(write_file, load):
    # Paid on Oct 1 to an invoice issued on Oct 5: the allocation takes effect on Oct 5.
    load(
        "documents",
        write_file(
            "d.csv",
            "external_id,debtor_external_id,name,issue_date,due_date,amount\n"
            "A,C1,Uno,2026-10-05,2026-11-05,100\n",
        ),
    )
    load(
        "payments",
        write_file(
            "p.csv", "debtor_external_id,date,amount,document_external_id\nC1,2026-10-01,30,A\n"
        ),
    )
    assert Payment.objects.get().applied_late_on == datetime.date(2026, 10, 5)
    assert integrity_problems() == []
    Payment.objects.update(applied_late_on=None)
    assert [p.kind for p in integrity_problems()] == ["applied_late"]
    Payment.objects.update(applied_late_on=datetime.date(2026, 10, 4))
    assert [p.kind for p in integrity_problems()] == ["applied_late"]


@pytest.mark.parametrize("table", ["document", "entry"])
def test_postgresql_refuses_rows_filed_under_another_creditor(loaded, actor, table):
    if connection.vendor != "postgresql":
        pytest.skip("composite foreign keys are PostgreSQL's (SQLite: `cartera check`)")
    other = creditor_create(code="OTRO", name="Otro", country="CO", currency="COP", actor=actor)
    document = Document.objects.get(external_id="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        if table == "document":
            # Another creditor's document for this creditor's debtor.
            Document.objects.create(
                creditor=other,
                debtor=Debtor.objects.get(external_id="C1"),
                number="X",
                external_id="X",
                due_date=document.due_date,
                currency="COP",
                amount_minor=100,
                payment_reference="0000000000",
            )
        else:
            # An entry booked under another creditor than its document's.
            LedgerEntry.objects.create(
                creditor=other,
                document=document,
                kind="adjustment",
                amount_minor=1,
                currency="COP",
                effective_date=document.due_date,
                recorded_by="tests",
            )
