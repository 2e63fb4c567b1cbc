"""What `cartera import` (and `cartera import statement`) tells people is in Spanish by
default, and in English when asked.

The rejection reasons are built while the file is read, in a thread of their own (see
`pipeline._read_ahead`): they must still speak the language of the command that runs them.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from cartera.cash.models import StatementImport
from cartera.portfolio.identity import InvalidPhone, InvalidTaxId, normalize_phone, validate_tax_id

DOCUMENTS = (
    "numero,codigo_cliente,fecha_vencimiento,valor\n"
    "F-1,D1,2026-10-01,\n"
    "F-2,D1,2026-10-01,abc\n"
    "F-3,NOPE,2026-10-01,100\n"
    "F-4,D1,2026-10-01,100\n"
)

SPANISH = {
    2: ("amount", "el monto está vacío"),
    3: ("amount", "'abc' no es un monto (no tiene dígitos)"),
    4: (
        "debtor_external_id",
        "no existe el deudor: importe primero los deudores o agregue la columna del nombre del "
        "deudor para que este archivo lo cree",
    ),
}
ENGLISH = {
    2: ("amount", "amount is empty"),
    3: ("amount", "'abc' is not an amount (there are no digits)"),
    4: (
        "debtor_external_id",
        "no such debtor: import the debtors first, or add the debtor's name column so this "
        "file creates it",
    ),
}


@pytest.fixture
def documents(creditor, load, write_file) -> Path:
    """A documents file with an empty amount, an amount that is not one, an unknown debtor and
    one good row, for a creditor whose debtor D1 exists."""
    load("debtors", write_file("deudores.csv", "codigo_cliente,nombre\nD1,Uno S.A.S.\n"))
    return write_file("facturas.csv", DOCUMENTS)


def run_import(*args: str) -> tuple[int, str, str]:
    """`cartera import …` as the command line runs it: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("import", *args, stdout=out, stderr=err)
    return int(exited.value.code or 0), out.getvalue(), err.getvalue()


def rejected_rows(path: Path) -> dict[int, tuple[str, str]]:
    with open(f"{path}.rejected.csv", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    # The rejected file's own columns keep their names whatever the language.
    assert list(rows[0])[:4] == ["line", "column", "value", "reason"]
    return {int(row["line"]): (row["column"], row["reason"]) for row in rows}


def test_import_speaks_spanish_by_default(documents: Path):
    translation.deactivate()  # no language chosen: the product's default, Spanish

    status, out, err = run_import("documents", str(documents), "--as-of", "2026-11-23")

    assert status == 3
    assert err == ""
    assert "facturas.csv → ACME: 4 filas: creadas 1, actualizadas 0, sin cambios 0, " in out
    assert "rechazadas 3" in out
    assert f"filas rechazadas y motivos: {documents}.rejected.csv" in out
    assert rejected_rows(documents) == SPANISH


def test_import_speaks_english_when_asked(documents: Path):
    with translation.override("en"):
        status, out, err = run_import("documents", str(documents), "--as-of", "2026-11-23")

    assert status == 3
    assert err == ""
    assert "facturas.csv → ACME: 4 rows: created 1, updated 0, unchanged 0, rejected 3" in out
    assert f"rejected rows and reasons: {documents}.rejected.csv" in out
    assert rejected_rows(documents) == ENGLISH


def test_a_refused_file_is_explained_in_the_language_of_the_command(creditor, write_file):
    empty = write_file("vacio.csv", "")
    translation.deactivate()
    status, _out, err = run_import("documents", str(empty))
    assert status == 4
    assert f"vacio.csv: rechazado: {empty}: el archivo está vacío" in err

    with translation.override("en"):
        status, _out, err = run_import("documents", str(empty))
    assert status == 4
    assert f"vacio.csv: refused: {empty}: the file is empty" in err


def test_all_or_nothing_says_so_in_spanish(documents: Path):
    translation.deactivate()
    status, _out, err = run_import("documents", str(documents), "--all-or-nothing")
    assert status == 4
    assert "no se cargó nada: 3 fila(s) rechazada(s) y se indicó --all-or-nothing" in err


def test_tax_ids_and_phones_are_refused_in_the_active_language():
    translation.deactivate()
    with pytest.raises(InvalidTaxId, match=r"NIT 900123456-1: dígito de verificación incorrecto"):
        validate_tax_id("900123456-1", "CO")
    with pytest.raises(InvalidPhone, match="no es un teléfono válido de CO"):
        normalize_phone("300 123 45", "CO")
    with translation.override("en"):
        with pytest.raises(InvalidTaxId, match=r"NIT 900123456-1: wrong check digit"):
            validate_tax_id("900123456-1", "CO")
        with pytest.raises(InvalidPhone, match="is not a valid CO phone number"):
            normalize_phone("300 123 45", "CO")


# --- bank statements: `cartera import statement` --------------------------------------------

STATEMENT = (
    "Fecha,Descripcion,Cargo,Abono,Saldo,Referencia\n"
    "01/10/2025,SPEI RECIBIDA,0,25000.00,1,R1\n"
    "31/02/2025,SPEI RECIBIDA,0,100.00,1,R2\n"
    "02/10/2025,SPEI RECIBIDA,0,,1,R3\n"
)


def run_statement(*args: str) -> tuple[int, str, str]:
    """`cartera import statement …` as the command line runs it: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("import_statement", *args, stdout=out, stderr=err)
    return int(exited.value.code or 0), out.getvalue(), err.getvalue()


def test_a_statement_import_speaks_spanish_by_default(creditor, write_file):
    path = write_file("bbva.csv", STATEMENT)
    translation.deactivate()

    status, out, err = run_statement(str(path), "--bank-account", "BBVA", "--dry-run")

    assert status == 3
    assert err == ""
    assert out.splitlines() == [
        "[simulación] bbva.csv (csv, perfil bbva-mx) → ACME",
        "cuenta bancaria BBVA: creada",
        "líneas leídas 1: créditos 1, débitos 0; aplicadas automáticamente 0, en espera 1, "
        "duplicadas omitidas 0",
        "líneas ilegibles 2:",
        "  línea 3: date: '31/02/2025' no es una fecha válida (leída como día/mes/año)",
        "  línea 4: ni el débito ni el crédito tienen monto",
    ]
    # The statement's page shows the reasons as they were stored: in the import's language.
    run_statement(str(path), "--bank-account", "BBVA")
    [record] = StatementImport.objects.all()
    assert record.unreadable[1] == {"line": 4, "reason": "ni el débito ni el crédito tienen monto"}


def test_a_statement_import_speaks_english_when_asked(creditor, write_file):
    path = write_file("bbva.csv", STATEMENT)

    with translation.override("en"):
        status, out, err = run_statement(str(path), "--bank-account", "BBVA")

    assert status == 3
    assert err == ""
    assert out.splitlines() == [
        "bbva.csv (csv, profile bbva-mx) → ACME",
        "bank account BBVA: created",
        "lines read 1: credits 1, debits 0; applied automatically 0, waiting 1, "
        "duplicates skipped 0",
        "unreadable lines 2:",
        "  line 3: date: '31/02/2025' is not a valid date (read as day/month/year)",
        "  line 4: neither debit nor credit has an amount",
    ]


def test_a_refused_statement_is_explained_in_the_language_of_the_command(creditor, write_file):
    pdf = write_file("extracto.pdf", "%PDF-1.4\n")
    translation.deactivate()
    status, _out, err = run_statement(str(pdf), "--bank-account", "BBVA")
    assert status == 4
    assert err.startswith(
        "extracto.pdf: rechazado: un documento PDF: pida al banco el extracto en un formato de "
        "archivo (exportaciones bancarias en CSV o XLSX, "
    )

    with translation.override("en"):
        status, _out, err = run_statement(str(pdf), "--bank-account", "BBVA")
    assert status == 4
    assert err.startswith(
        "extracto.pdf: refused: a PDF document: ask the bank for the statement in a file "
        "format (CSV or XLSX bank exports, "
    )
