"""`cartera check` and the ledger's immutability."""

from __future__ import annotations

import pytest

from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import Document, LedgerEntry, Payment

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
