"""PostgreSQL: a documents import writes each chunk's new documents in a thread of its own
while the next chunk is prepared (`pipeline._BackgroundWriter`).

These tests commit for real (`transaction=True`): the thread has its own connection and sees
only what the import committed, which is exactly what they check — debtors created by a chunk
are there when its documents land, every document lands with its entries, and an error in the
thread stops the import with whole chunks only.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from cartera.core.audit import Actor
from cartera.portfolio.importing import documents as documents_module
from cartera.portfolio.importing.documents import DocumentImporter
from cartera.portfolio.importing.pipeline import ImportOptions, run_import
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import BatchStatus, Debtor, Document, ImportBatch, LedgerEntry
from cartera.portfolio.services import creditor_create
from tests.conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)

# Ten documents, three per chunk; debtor C1 is created by the first chunk and named again by
# the second and the fourth, whose documents must find it.
ROWS = [
    ("F01", "C1"),
    ("F02", "C2"),
    ("F03", "C1"),
    ("F04", "C1"),
    ("F05", "C3"),
    ("F06", "C2"),
    ("F07", "C4"),
    ("F08", "C3"),
    ("F09", "C5"),
    ("F10", "C1"),
]
DOCUMENTS = "external_id,debtor_external_id,name,due_date,amount,balance\n" + "".join(
    f"{doc},{debtor},Cliente {debtor},2026-10-01,100.00,60.00\n" for doc, debtor in ROWS
)


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the writer thread is used on PostgreSQL only")


@pytest.fixture
def small_chunks(settings: Any) -> None:
    settings.CARTERA_IMPORT_CHUNK = 3


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(table, thread) of every COPY the documents importer makes."""
    seen: list[tuple[str, str]] = []
    original = documents_module.copy_write

    def recording(model: Any, columns: Any, lines: Any) -> None:
        seen.append((model._meta.model_name, threading.current_thread().name))
        original(model, columns, lines)

    monkeypatch.setattr(documents_module, "copy_write", recording)
    return seen


def _import(tmp_path: Any, **options: Any) -> Any:
    creditor = creditor_create(
        code="ACME", name="Acme", country="CO", currency="COP", actor=Actor.system("tests")
    )
    path = tmp_path / "docs.csv"
    path.write_text(DOCUMENTS, encoding="utf-8")
    return run_import(
        DocumentImporter,
        creditor=creditor,
        path=path,
        actor=Actor.system("tests"),
        options=ImportOptions(as_of=AS_OF, **options),
    )


def test_new_documents_land_from_the_writer_thread_with_their_debtors_and_entries(
    postgres, small_chunks, copies, tmp_path
):
    result = _import(tmp_path)
    assert (result.created, result.rejected, result.debtors["created"]) == (10, 0, 5)
    assert Document.objects.count() == 10 and Debtor.objects.count() == 5
    assert LedgerEntry.objects.filter(kind="charge").count() == 10
    assert LedgerEntry.objects.filter(kind="prior_payment").count() == 10
    assert set(Document.objects.values_list("balance_minor", flat=True)) == {6000}
    # Four chunks, each COPYing its documents, then their entries, in a writer thread.
    assert sorted(copies) == sorted(
        [("document", "cartera-import-writer"), ("ledgerentry", "cartera-import-writer")] * 4
    )
    assert integrity_problems() == []
    assert ImportBatch.objects.get(pk=result.batch_id).status == BatchStatus.DONE
    assert not [t for t in threading.enumerate() if t.name == "cartera-import-writer"]


@pytest.mark.parametrize("option", ["all_or_nothing", "dry_run"])
def test_a_file_in_one_transaction_is_written_in_the_import_itself(
    postgres, small_chunks, copies, tmp_path, option
):
    result = _import(tmp_path, **{option: True})
    assert result.created == 10
    assert copies and {thread for _table, thread in copies} == {threading.current_thread().name}


def test_an_error_in_the_writer_stops_the_import_after_whole_chunks(
    postgres, small_chunks, monkeypatch, tmp_path
):
    original = documents_module.copy_write
    calls = {"document": 0}

    def failing(model: Any, columns: Any, lines: Any) -> None:
        name = model._meta.model_name
        if name == "document":
            calls[name] += 1
            if calls[name] == 2:
                raise RuntimeError("the disk is full")
        original(model, columns, lines)

    monkeypatch.setattr(documents_module, "copy_write", failing)
    with pytest.raises(RuntimeError, match="the disk is full"):
        _import(tmp_path)
    # Chunks land whole or not at all: the one that failed never did; the first did, and so
    # may those the other threads were already writing (with three writers, up to all the
    # others: which ones depends on timing).
    chunks = [{doc for doc, _debtor in ROWS[n : n + 3]} for n in range(0, len(ROWS), 3)]
    landed = set(Document.objects.values_list("external_id", flat=True))
    whole = [chunk for chunk in chunks if chunk <= landed]
    assert landed == set().union(*whole)
    assert 1 <= len(whole) < len(chunks)
    assert LedgerEntry.objects.count() == 2 * len(landed)
    assert integrity_problems() == []
    assert ImportBatch.objects.get().status == BatchStatus.FAILED
    assert not [t for t in threading.enumerate() if t.name == "cartera-import-writer"]
    assert calls["document"] <= len(chunks)
