"""Documents as ERPs and Excel export them: encodings, separators, Spanish headers, errors."""

from __future__ import annotations

import csv
import datetime

import openpyxl
import pytest
from django.utils import translation

from cartera.core.models import AuditEvent
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import (
    BalanceMode,
    BatchStatus,
    ContactPoint,
    Debtor,
    Document,
    DocumentKind,
    EntryKind,
    ImportBatch,
    LedgerEntry,
)

# An ERP export as a Colombian finance team saves it from Excel: Windows-1252, ';',
# Spanish headers, thousands with '.', decimals with ',' and day/month/year dates.
ERP_EXPORT = (
    "Código Cliente;Razón Social;NIT;Correo;Teléfono;Factura;Fecha Emisión;"
    "Fecha Vencimiento;Valor;Saldo;Moneda\r\n"
    "C001;Ferretería Ñandú S.A.S.;900.123.456-8;cartera@nandu.com.co;300 123 4567;"
    "FV-1001;01/09/2026;01/10/2026;1.234.567,89;1.234.567,89;COP\r\n"
    "C001;Ferretería Ñandú S.A.S.;900.123.456-8;cartera@nandu.com.co;300 123 4567;"
    "FV-1002;15/10/2026;14/11/2026;2.000.000,00;500.000,00;COP\r\n"
    "C002;Panadería La Espiga;1020345678;;(601) 555 1234;"
    "FV-1003;20/11/2026;20/12/2026;350.000,00;350.000,00;COP\r\n"
)


def entries_of(document: Document) -> list[tuple[str, int, datetime.date]]:
    return list(
        LedgerEntry.objects.filter(document=document)
        .order_by("id")
        .values_list("kind", "amount_minor", "effective_date")
    )


def test_erp_export_in_windows_1252_with_semicolons_lands_whole(write_file, load):
    path = write_file("cartera.csv", ERP_EXPORT, "cp1252")

    result = load("documents", path)

    assert (result.created, result.updated, result.unchanged, result.rejected) == (3, 0, 0, 0)
    assert result.exit_code == 0
    first = Document.objects.get(external_id="FV-1001")
    assert first.amount_minor == 123456789
    assert first.balance_minor == 123456789
    assert first.due_date == datetime.date(2026, 10, 1)
    assert first.debtor.name == "Ferretería Ñandú S.A.S."
    assert first.debtor.tax_id == "9001234568"
    assert first.debtor.kind == "company"
    assert set(first.debtor.contact_points.values_list("kind", "value")) == {
        ("email", "cartera@nandu.com.co"),
        ("mobile", "+573001234567"),
    }
    # The balance column of a new document books the part already paid, dated --as-of.
    second = Document.objects.get(external_id="FV-1002")
    assert second.balance_minor == 50000000
    assert second.unmatched_prior_minor == 150000000
    assert entries_of(second) == [
        (EntryKind.CHARGE, 200000000, datetime.date(2026, 10, 15)),
        (EntryKind.PRIOR_PAYMENT, -150000000, datetime.date(2026, 11, 23)),
    ]
    assert Debtor.objects.count() == 2
    assert integrity_problems() == []


def test_reimporting_the_same_file_changes_nothing(write_file, load):
    path = write_file("cartera.csv", ERP_EXPORT, "cp1252")
    load("documents", path)
    entries_before = LedgerEntry.objects.count()

    again = load("documents", path)

    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 0)
    assert LedgerEntry.objects.count() == entries_before
    assert Debtor.objects.count() == 2
    assert ContactPoint.objects.count() == 3


def test_changed_amount_is_a_ledger_adjustment_not_an_overwrite(write_file, load):
    load("documents", write_file("a.csv", ERP_EXPORT, "cp1252"))
    changed = ERP_EXPORT.replace(
        "FV-1003;20/11/2026;20/12/2026;350.000,00", "FV-1003;20/11/2026;20/12/2026;400.000,00"
    )

    result = load("documents", write_file("b.csv", changed, "cp1252"))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    document = Document.objects.get(external_id="FV-1003")
    assert document.amount_minor == 40000000
    assert document.balance_minor == 40000000
    assert entries_of(document)[-1] == (EntryKind.ADJUSTMENT, 5000000, datetime.date(2026, 11, 23))
    assert integrity_problems() == []


def test_ledger_mode_counts_the_balance_column_only_on_creation(write_file, load):
    load("documents", write_file("a.csv", ERP_EXPORT, "cp1252"))
    lower_balance = ERP_EXPORT.replace("2.000.000,00;500.000,00", "2.000.000,00;100.000,00")

    result = load("documents", write_file("b.csv", lower_balance, "cp1252"))

    assert result.unchanged == 3
    assert Document.objects.get(external_id="FV-1002").balance_minor == 50000000


def test_erp_mode_follows_the_erp_balances_and_a_full_snapshot_closes_the_rest(
    write_file, load, creditor
):
    creditor.balance_mode = BalanceMode.ERP
    creditor.save()
    load("documents", write_file("day1.csv", ERP_EXPORT, "cp1252"))
    day2 = "\r\n".join(line for line in ERP_EXPORT.split("\r\n") if "FV-1001" not in line).replace(
        "2.000.000,00;500.000,00", "2.000.000,00;100.000,00"
    )

    result = load(
        "documents",
        write_file("day2.csv", day2, "cp1252"),
        as_of=datetime.date(2026, 11, 24),
        full_snapshot=True,
    )

    assert (result.updated, result.unchanged, result.closed) == (1, 1, 1)
    paid = Document.objects.get(external_id="FV-1002")
    assert paid.balance_minor == 10000000
    assert entries_of(paid)[-1] == (
        EntryKind.EXTERNAL_PAYMENT,
        -40000000,
        datetime.date(2026, 11, 24),
    )
    gone = Document.objects.get(external_id="FV-1001")
    assert (gone.balance_minor, gone.status) == (0, "closed")
    assert integrity_problems() == []


def test_full_snapshot_is_refused_in_ledger_mode(write_file, load):
    result = load("documents", write_file("a.csv", ERP_EXPORT, "cp1252"), full_snapshot=True)

    assert result.exit_code == 4
    assert "erp" in result.message
    assert Document.objects.count() == 0


BAD_ROWS = (
    "numero,codigo_cliente,nombre,fecha_vencimiento,valor,saldo\n"
    "F-1,D1,Uno,2026-10-01,100.50,\n"
    "F-2,D1,Uno,2026-13-45,100.00,\n"
    "F-3,D1,Uno,2026-10-01,-50.00,\n"
    "F-1,D1,Uno,2026-10-01,100.50,\n"
    "F-5,D1,Uno,2026-10-01,100.00,150.00\n"
    "F-6,D1,Uno,2026-10-01,abc,\n"
    "F-7,D1,Uno,,100.00,\n"
    "F-8,D1,<script>alert(1)</script>,2026-10-01,100.00,\n"
)


def test_bad_rows_are_rejected_with_line_column_and_reason_and_good_rows_land(write_file, load):
    path = write_file("mixed.csv", BAD_ROWS)

    with translation.override("en"):
        result = load("documents", path, locale="en_US")

    assert result.exit_code == 3
    assert (result.created, result.rejected) == (3, 5)
    assert result.rejected_file == str(path) + ".rejected.csv"
    with open(result.rejected_file, encoding="utf-8-sig") as handle:
        rejected = list(csv.DictReader(handle))
    by_line = {int(row["line"]): row for row in rejected}
    assert set(by_line) == {3, 5, 6, 7, 8}
    assert by_line[3]["column"] == "due_date"
    assert by_line[5]["reason"] == "appears twice in this file (first at line 2)"
    assert by_line[6]["column"] == "balance"
    assert by_line[7]["column"] == "amount" and by_line[7]["value"] == "abc"
    assert by_line[8]["column"] == "due_date"
    # The original row travels with its reason, so the file can be fixed and re-imported.
    assert by_line[6]["numero"] == "F-5"
    # A negative amount without a kind is how ERPs write a credit note.
    credit = Document.objects.get(external_id="F-3")
    assert (credit.kind, credit.balance_minor) == (DocumentKind.CREDIT_NOTE, -5000)
    # The last row renamed the debtor; markup in a name is kept as text (templates escape it).
    assert Debtor.objects.get(external_id="D1").name == "<script>alert(1)</script>"
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert (batch.status, batch.rejected, batch.created) == (BatchStatus.PARTIAL, 5, 3)


def test_html_in_a_name_is_stored_as_plain_text(write_file, load):
    path = write_file(
        "html.csv",
        "numero,codigo_cliente,nombre,fecha_vencimiento,valor\n"
        "F-1,D9,<b>Acme</b> & Cía,2026-10-01,100\n",
    )
    load("documents", path)
    assert Debtor.objects.get(external_id="D9").name == "<b>Acme</b> & Cía"


def test_all_or_nothing_lands_nothing_when_a_row_is_rejected(write_file, load):
    with translation.override("en"):
        result = load("documents", write_file("mixed.csv", BAD_ROWS), all_or_nothing=True)

    assert result.exit_code == 4
    assert (result.created, result.updated, result.unchanged, result.rejected) == (0, 0, 0, 5)
    assert "nothing landed" in result.message
    assert Document.objects.count() == 0
    assert Debtor.objects.count() == 0
    assert ImportBatch.objects.get(pk=result.batch_id).status == BatchStatus.REFUSED


def test_dry_run_reports_and_writes_nothing(write_file, load):
    result = load("documents", write_file("a.csv", ERP_EXPORT, "cp1252"), dry_run=True)

    assert (result.created, result.rejected) == (3, 0)
    assert Document.objects.count() == 0
    assert ImportBatch.objects.count() == 0


def test_a_column_mixing_decimal_separators_refuses_the_file(write_file, load):
    path = write_file(
        "mixed_decimals.csv",
        "numero;codigo_cliente;nombre;fecha_vencimiento;valor\n"
        "F-1;D1;Uno;2026-10-01;1.234,56\n"
        "F-2;D1;Uno;2026-10-01;1,234.56\n",
    )

    with translation.override("en"):
        result = load("documents", path)

    assert result.exit_code == 4
    assert "line 2" in result.message and "line 3" in result.message
    assert Document.objects.count() == 0


def test_ambiguous_amounts_follow_the_locale(write_file, load):
    text = 'numero,codigo_cliente,nombre,fecha_vencimiento,valor\nF-1,D1,Uno,05/06/2026,"1.234"\n'
    load("documents", write_file("co.csv", text), locale="es_CO")
    colombian = Document.objects.get(external_id="F-1")
    assert colombian.amount_minor == 123400
    assert colombian.due_date == datetime.date(2026, 6, 5)


def test_dates_written_month_first_are_read_when_the_column_says_so(write_file, load):
    text = (
        "numero,codigo_cliente,nombre,fecha_vencimiento,valor\n"
        'F-1,D1,Uno,11/23/2026,"$1,234,567.89"\n'
        "F-2,D1,Uno,05/06/2026,(400.00)\n"
    )
    result = load("documents", write_file("us.csv", text))
    assert result.rejected == 0
    assert Document.objects.get(external_id="F-1").due_date == datetime.date(2026, 11, 23)
    assert Document.objects.get(external_id="F-2").due_date == datetime.date(2026, 5, 6)
    assert Document.objects.get(external_id="F-2").balance_minor == -40000


@pytest.mark.parametrize("content", ["", "   \n\n"])
def test_an_empty_file_is_refused_with_one_clear_line(write_file, load, content):
    result = load("documents", write_file("empty.csv", content))
    assert result.exit_code == 4
    assert "empty" in result.message


def test_missing_required_column_names_it(write_file, load):
    result = load("documents", write_file("nodue.csv", "numero,codigo_cliente,valor\nF-1,D1,10\n"))
    assert result.exit_code == 4
    assert "due_date" in result.message


def test_unknown_debtor_without_name_is_rejected(write_file, load):
    path = write_file(
        "orphan.csv", "numero,codigo_cliente,fecha_vencimiento,valor\nF-1,NOPE,2026-10-01,10\n"
    )
    result = load("documents", path)
    assert result.exit_code == 4
    assert result.rejected == 1
    assert Document.objects.count() == 0


def test_xlsx_with_real_dates_and_numbers(tmp_path, load):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Folio", "Cliente", "RFC", "Fecha de vencimiento", "Importe", "Moneda"])
    sheet.append(
        [
            "A-1",
            "Comercial del Norte S.A. de C.V.",
            "",
            datetime.datetime(2026, 9, 30),
            15000.5,
            "COP",
        ]
    )
    sheet.append(
        [
            "A-2",
            "Comercial del Norte S.A. de C.V.",
            "",
            datetime.datetime(2026, 12, 31),
            2500,
            "COP",
        ]
    )
    path = tmp_path / "folios.xlsx"
    book.save(path)

    result = load("documents", path, mapping={"Cliente": "debtor_external_id"})

    # The mapping points "Cliente" at the debtor id; there is no name column, so the debtor
    # must exist: both rows are rejected with that reason.
    assert result.rejected == 2
    assert result.exit_code == 4


def test_xlsx_lands_with_debtor_columns(tmp_path, load):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Folio", "Codigo Cliente", "Razon Social", "Fecha de vencimiento", "Importe"])
    sheet.append(
        ["A-1", "N1", "Comercial del Norte S.A.S.", datetime.datetime(2026, 9, 30), 15000.5]
    )
    sheet.append(["A-2", "N1", "Comercial del Norte S.A.S.", datetime.date(2026, 12, 31), 2500])
    path = tmp_path / "folios.xlsx"
    book.save(path)

    result = load("documents", path)

    assert (result.created, result.rejected) == (2, 0)
    assert Document.objects.get(external_id="A-1").amount_minor == 1500050
    assert Document.objects.get(external_id="A-2").due_date == datetime.date(2026, 12, 31)


def test_each_import_is_audited_once_with_counts_and_hash(write_file, load):
    result = load("documents", write_file("a.csv", ERP_EXPORT, "cp1252"))

    events = AuditEvent.objects.filter(action="import.documents")
    assert events.count() == 1
    event = events.get()
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert event.changes["sha256"] == batch.file_sha256 and len(batch.file_sha256) == 64
    assert event.changes["created"] == 3
    assert event.object_id == str(batch.pk)


def test_a_nit_written_without_its_check_digit_finds_the_same_debtor(write_file, load):
    load("debtors", write_file("d.csv", "NIT;Razón Social\n900.123.456-8;Uno SAS\n"))
    result = load(
        "documents",
        write_file(
            "x.csv", "Factura;NIT;Fecha Vencimiento;Valor\nB-1;900123456;01/12/2026;1.000,00\n"
        ),
    )
    assert (result.created, result.rejected) == (1, 0)
    assert Document.objects.get().debtor.name == "Uno SAS"
    assert Debtor.objects.count() == 1


def test_debtors_created_or_renamed_by_a_documents_file_are_counted(write_file, load):
    first = load("documents", write_file("a.csv", ERP_EXPORT, "cp1252"))
    renamed = ERP_EXPORT.replace("Panadería La Espiga", "Panadería La Espiga S.A.S.")
    second = load("documents", write_file("b.csv", renamed, "cp1252"))

    assert first.debtors == {"created": 2}
    assert first.as_json()["debtors"] == {"created": 2}
    assert second.debtors == {"updated": 1}
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)


def test_a_large_import_refreshes_the_planner_statistics(
    write_file, load, settings, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.CARTERA_ANALYZE_AFTER_ROWS = 2
    with CaptureQueriesContext(connection) as queries:
        load("documents", write_file("a.csv", ERP_EXPORT, "cp1252"))
    assert any(q["sql"].startswith("ANALYZE") for q in queries.captured_queries)


def test_an_import_keeps_no_traceback_of_its_rejected_rows(write_file, load, monkeypatch):
    """A kept traceback would hold its frames, and they the error: a cycle per rejected row,
    which the import's rare collections (`gc_relaxed`) would leave for a long time."""
    import gc

    from cartera.portfolio.importing import pipeline

    kept = []
    real = pipeline.RejectedWriter.write
    monkeypatch.setattr(
        pipeline.RejectedWriter,
        "write",
        lambda self, row, error: (kept.append(error), real(self, row, error))[1],
    )
    thresholds = gc.get_threshold()
    path = write_file(
        "malos.csv",
        "external_id,debtor_external_id,debtor_name,kind,due_date,amount\n"
        "F1,C1,Uno,invoice,2026-12-01,-100\n"  # raised while the rows are read
        "F2,C1,Uno,invoice,2026-12-01,0\n"
        "F3,C1,Uno,invoice,2026-12-01,100\n",
    )

    result = load("documents", path)

    assert (result.created, result.rejected) == (1, 2)
    assert len(kept) == 2
    assert all(error.__traceback__ is None for error in kept)
    assert gc.get_threshold() == thresholds
