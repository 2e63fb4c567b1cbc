"""`cartera import statement`, run as a user runs it: exit codes, JSON keys, messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import SHARED_DATA

STATEMENTS = SHARED_DATA / "bank_statements"
BBVA = STATEMENTS / "csv" / "avanta-mx__sample_bbva_october_2025.csv"
SANTANDER = STATEMENTS / "csv" / "avanta-mx__sample_santander_october_2025.csv"


@pytest.fixture(scope="module")
def cartera(tmp_path_factory):
    """`cartera …` in a shell of its own, on its own SQLite database with one creditor."""
    home = tmp_path_factory.mktemp("cash-cli")
    env = {
        **os.environ,
        "CARTERA_HOME": str(home),
        "DATABASE_URL": f"sqlite:///{home / 'cli.sqlite3'}",
        # The messages are asserted in English (the msgids); the Spanish the installation
        # speaks by default is checked in test_import_language.py.
        "CARTERA_LANGUAGE": "en",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cartera", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            cwd=home,
        )

    assert run("migrate", "--verbosity", "0").returncode == 0
    created = run(
        "creditor", "add", "ACME", "--name", "Acme S.A.S.", "--country", "MX", "--currency", "MXN"
    )
    assert created.returncode == 0, created.stderr
    return run


def test_json_output_has_the_contract_keys(cartera):
    result = cartera(
        "import", "statement", str(SANTANDER), "--bank-account", "Santander", "--format", "json"
    )

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    contract = ("format", "lines", "credits", "debits", "applied", "waiting", "duplicates")
    assert {key: data[key] for key in contract} == {
        "format": "csv",
        "lines": 15,
        "credits": 6,
        "debits": 9,
        "applied": 0,
        "waiting": 6,
        "duplicates": 0,
    }
    assert (data["unreadable"], data["dry_run"]) == ([], False)
    assert data["file"] == str(SANTANDER)
    assert data["bank_accounts"] == [{"name": "Santander", "number": "", "created": True}]

    again = cartera(
        "import", "statement", str(SANTANDER), "--bank-account", "Santander", "--format", "json"
    )
    data = json.loads(again.stdout)
    assert (again.returncode, data["duplicates"], data["waiting"]) == (0, 15, 0)


def test_text_output_reports_every_count(cartera):
    result = cartera("import", "statement", str(STATEMENTS / "n43" / "sequra__example1.n43"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "sequra__example1.n43 (norma43) → ACME",
        "bank account 999911110123456789: created",
        "lines read 4: credits 4, debits 0; applied automatically 0, waiting 4, "
        "duplicates skipped 0",
    ]


def test_unreadable_lines_exit_3_and_are_listed(cartera, tmp_path):
    path = tmp_path / "bbva.csv"
    path.write_text(
        "Fecha,Descripcion,Cargo,Abono,Saldo,Referencia\n"
        "01/10/2025,SPEI RECIBIDA,0,25000.00,1,R1\n"
        "02/10/2025,SPEI RECIBIDA,0,,1,R2\n"
    )

    result = cartera("import", "statement", str(path), "--bank-account", "BBVA")

    assert result.returncode == 3
    assert "lines read 1: credits 1" in result.stdout
    assert "  line 3: neither debit nor credit has an amount" in result.stdout


def test_a_refused_file_exits_4(cartera):
    pdf = STATEMENTS / "n43" / "sequra__cuaderno_43_-_junio_2012_SPEC.pdf"

    result = cartera("import", "statement", str(pdf), "--format", "json")

    assert result.returncode == 4
    data = json.loads(result.stdout)
    assert data["message"].startswith("a PDF document")
    assert (data["lines"], data["format"]) == (0, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "nope"], "no column profile 'nope'"),
        (["--creditor", "NOPE"], "no creditor with code 'NOPE'"),
        (["--format", "xml"], "invalid choice"),
        ([], "the following arguments are required: file"),
    ],
)
def test_wrong_usage_exits_2(cartera, args, message):
    files = [str(BBVA)] if args else []

    result = cartera("import", "statement", *files, *args)

    assert result.returncode == 2
    assert message in result.stderr


def test_a_forced_profile_must_fit_the_headers(cartera):
    wrong = cartera(
        "import", "statement", str(BBVA), "--profile", "santander-mx", "--bank-account", "B2"
    )
    assert wrong.returncode == 4
    assert "do not fit profile santander-mx" in wrong.stderr

    generic = cartera(
        "import", "statement", str(BBVA), "--profile", "generic", "--bank-account", "B2"
    )
    assert generic.returncode == 0, generic.stderr
    assert "(csv, profile generic)" in generic.stdout


def test_a_dry_run_says_so_and_leaves_nothing(cartera):
    path = STATEMENTS / "camt" / "genkgo__camt053.v8.xml"

    dry = cartera("import", "statement", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("[dry run] genkgo__camt053.v8.xml (camt.053.001.08) → ACME")

    real = cartera("import", "statement", str(path), "--format", "json")
    assert json.loads(real.stdout)["duplicates"] == 0


def test_import_help_points_to_statements(cartera):
    result = cartera("import", "--help")

    assert "cartera import statement FILE" in " ".join(result.stdout.split())


def test_a_statement_pays_documents_and_cartera_check_stays_clean(cartera, tmp_path):
    documents = tmp_path / "documents.csv"
    documents.write_text(
        "external_id,number,debtor_external_id,name,issue_date,due_date,amount,currency\n"
        "D-1,FV-000123,C1,Uno S.A. de C.V.,2025-09-01,2025-10-01,25000.00,MXN\n"
        "D-2,FV-000124,C1,Uno S.A. de C.V.,2025-09-15,2025-10-15,18500.00,MXN\n"
    )
    assert cartera("import", "documents", str(documents)).returncode == 0
    statement = tmp_path / "bbva-octubre.csv"
    statement.write_text(
        "Fecha,Descripcion,Cargo,Abono,Saldo,Referencia\n"
        "01/10/2025,SPEI RECIBIDA FACTURA FV 123,0,25000.00,125000.00,REF001\n"
        "02/10/2025,PAGO SERVICIOS CFE,-850.50,0,124149.50,REF002\n"
        "10/10/2025,SPEI RECIBIDA fv-124,0,18500.00,142649.50,REF003\n"
    )

    result = cartera(
        "import", "statement", str(statement), "--bank-account", "BBVA 0123", "--format", "json"
    )

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["credits"], data["debits"], data["applied"], data["waiting"]) == (2, 1, 2, 0)
    check = cartera("check")
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("ok:")
