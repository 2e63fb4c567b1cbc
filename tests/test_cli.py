"""The command-line contract, run as a user runs it: exit codes, JSON shapes, messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DOCUMENTS = (
    "numero;codigo_cliente;nombre;fecha_vencimiento;valor\n"
    "F-1;C1;Uno S.A.S.;01/10/2026;1.500.000,00\n"
    "F-2;C1;Uno S.A.S.;01/12/2026;250.000,50\n"
)


@pytest.fixture(scope="module")
def cartera(tmp_path_factory):
    """Runs `cartera …` against its own SQLite database, as a user's shell would."""
    home = tmp_path_factory.mktemp("home")
    env = {
        **os.environ,
        "CARTERA_HOME": str(home),
        "DATABASE_URL": f"sqlite:///{home / 'cli.sqlite3'}",
    }

    def run(*args: str, language: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cartera", *args],
            env={**env, "CARTERA_LANGUAGE": language} if language else env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=home,
        )

    assert run("migrate", "--verbosity", "0").returncode == 0
    return run


def test_import_before_any_creditor_says_how_to_create_one(cartera, tmp_path):
    path = tmp_path / "docs.csv"
    path.write_text(DOCUMENTS)
    result = cartera("import", "documents", str(path))
    assert result.returncode == 2
    assert "cartera creditor add" in result.stderr


def test_the_daily_commands_from_creditor_to_aging(cartera, tmp_path: Path):
    created = cartera(
        "creditor", "add", "ACME", "--name", "Acme S.A.S.", "--country", "CO", "--currency", "COP"
    )
    assert created.returncode == 0, created.stderr
    assert "es_CO" in created.stdout and "America/Bogota" in created.stdout

    path = tmp_path / "docs.csv"
    path.write_text(DOCUMENTS, encoding="cp1252")
    first = cartera("import", "documents", str(path), "--format", "json", "--as-of", "2026-11-23")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert {
        k: data[k] for k in ("created", "updated", "unchanged", "rejected", "rejected_file")
    } == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "rejected_file": None,
    }

    again = json.loads(cartera("import", "documents", str(path), "--format", "json").stdout)
    assert (again["created"], again["unchanged"]) == (0, 2)

    aging = cartera("aging", "--as-of", "2026-11-23", "--format", "json")
    assert aging.returncode == 0, aging.stderr
    report = json.loads(aging.stdout)
    assert report["rows"][0]["amounts"]["31-60"] == "1500000.00"
    assert report["rows"][0]["amounts"]["current"] == "250000.50"
    assert report["totals"][0]["total"] == "1750000.50"

    table = cartera("aging", "--as-of", "2026-11-23")
    assert "1.500.000,00" in table.stdout  # the creditor writes numbers the Colombian way
    title, header = table.stdout.splitlines()[:2]
    assert title == "Edad de cartera al 2026-11-23 por acreedor"  # Spanish by default
    assert header.split()[:4] == ["acreedor", "moneda", "al", "día"]
    english = cartera("aging", "--as-of", "2026-11-23", language="en")
    title, header = english.stdout.splitlines()[:2]
    assert title == "Aging as of 2026-11-23 by creditor"
    assert header.split()[:3] == ["creditor", "currency", "current"]
    assert "1.500.000,00" in english.stdout  # the language leaves the number format alone

    as_csv = cartera("aging", "--as-of", "2026-11-23", "--by", "debtor", "--format", "csv")
    assert as_csv.stdout.splitlines()[0].startswith("creditor,debtor,name,currency,current")

    # A date that has not come is said on stderr; the JSON stays that of the date asked for.
    future = cartera("aging", "--as-of", "2099-01-01", "--format", "json")
    assert future.returncode == 0 and json.loads(future.stdout)["as_of"] == "2099-01-01"
    assert "2099-01-01 aún no llega" in future.stderr
    kpis = cartera("report", "kpis", "--as-of", "2099-01-01", "--format", "json", language="en")
    assert "2099-01-01 has not come yet" in kpis.stderr and json.loads(kpis.stdout)
    assert cartera("aging", "--as-of", "2026-11-23").stderr == ""

    assert cartera("check").returncode == 0


def test_exit_codes_for_partial_refused_and_wrong_usage(cartera, tmp_path: Path):
    cartera("creditor", "add", "EXIT", "--name", "Exit", "--country", "MX", "--currency", "MXN")
    partial = tmp_path / "partial.csv"
    partial.write_text(
        "folio,codigo_cliente,nombre,fecha_vencimiento,importe\n"
        "A-1,X,Equis,2026-10-01,100\n"
        "A-2,X,Equis,no es fecha,100\n"
    )
    some = cartera("import", "documents", str(partial), "--creditor", "EXIT")
    assert some.returncode == 3
    assert "rechazadas 1" in some.stdout  # Spanish, the product's language by default
    assert Path(str(partial) + ".rejected.csv").exists()

    english = cartera("import", "documents", str(partial), "--creditor", "EXIT", language="en")
    assert english.returncode == 3
    assert "rejected 1" in english.stdout  # CARTERA_LANGUAGE=en: the installation speaks English

    nothing = cartera("import", "documents", str(partial), "--creditor", "EXIT", "--all-or-nothing")
    assert nothing.returncode == 4
    assert "no se cargó nada" in nothing.stderr

    missing = cartera("import", "documents", str(tmp_path / "nope.csv"), "--creditor", "EXIT")
    assert missing.returncode == 4

    # Two creditors at least (whatever other tests made): the file must name which one.
    cartera("creditor", "add", "EXIT2", "--name", "Exit 2", "--country", "MX", "--currency", "MXN")
    several = cartera("import", "documents", str(partial))
    assert several.returncode == 2
    assert "--creditor" in several.stderr

    assert cartera("import", "facturas", str(partial)).returncode == 2
    assert cartera("aging", "--buckets", "90,30").returncode == 2
    assert cartera("aging", "--as-of", "23/11/2026").returncode == 2


def test_usage_errors_speak_the_installations_language(cartera):
    cartera("creditor", "add", "ZETA", "--name", "Zeta", "--country", "CO", "--currency", "COP")

    spanish = cartera("aging", "--creditor", "NOPE")
    assert spanish.returncode == 2
    assert "no existe un acreedor con el código 'NOPE' (conocidos: " in spanish.stderr
    assert "ZETA" in spanish.stderr
    english = cartera("aging", "--creditor", "NOPE", language="en")
    assert english.returncode == 2
    assert "no creditor with code 'NOPE' (known: " in english.stderr

    buckets = cartera("aging", "--buckets", "90,30")
    assert buckets.returncode == 2
    assert "los límites de las franjas deben ser cantidades de días positivas" in buckets.stderr
    buckets = cartera("aging", "--buckets", "90,30", language="en")
    assert "bucket bounds must be increasing positive day counts" in buckets.stderr

    bad_date = cartera("aging", "--as-of", "23/11/2026")
    assert "'23/11/2026' no es una fecha con la forma AAAA-MM-DD" in bad_date.stderr
    bad_locale = cartera("aging", "--creditor", "ZETA", "--locale", "xx_nope", language="en")
    assert "'xx_nope' is not a known locale" in bad_locale.stderr


def test_the_embedded_database_is_prepared_by_the_first_command(tmp_path):
    """README: `make install`, then `cartera creditor add …` straight away."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CARTERA_LANGUAGE")}
    env["CARTERA_HOME"] = str(tmp_path / "fresh" / "var")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cartera",
            "creditor",
            "add",
            "NEW",
            "--name",
            "Nueva",
            "--country",
            "CO",
            "--currency",
            "COP",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "preparando la base de datos" in result.stderr  # Spanish, the default language
    assert (tmp_path / "fresh" / "var" / "cartera.sqlite3").exists()


def test_a_configured_database_is_never_migrated_silently(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "-m", "cartera", "aging"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "cartera migrate" in result.stderr


def test_the_daily_run_from_the_command_line(cartera):
    first = cartera("run", "--creditor", "ACME", "--as-of", "2026-11-23", "--format", "json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert set(data) == {
        "as_of",
        "creditor",
        "accounts_evaluated",
        "accounts_paused",
        "new_delinquent",
        "episodes_opened",
        "episodes_cured",
        "actions",
        "skipped",
        "already_ran",
    }
    assert (data["creditor"], data["already_ran"], data["episodes_opened"]) == ("ACME", False, 1)

    again = json.loads(
        cartera("run", "--creditor", "ACME", "--as-of", "2026-11-23", "--format", "json").stdout
    )
    assert again["already_ran"] is True and again["actions"] == {}

    replay = cartera(
        "run",
        "--creditor",
        "ACME",
        "--from",
        "2026-11-24",
        "--to",
        "2026-11-26",
        "--format",
        "json",
    )
    lines = [json.loads(line) for line in replay.stdout.splitlines()]
    assert [line["as_of"] for line in lines] == ["2026-11-24", "2026-11-25", "2026-11-26"]

    earlier = cartera("run", "--creditor", "ACME", "--as-of", "2026-11-01", language="en")
    assert earlier.returncode == 4
    assert "earlier date" in earlier.stderr
    assert cartera("run", "--from", "2026-11-24").returncode == 2

    every = json.loads(cartera("run", "--as-of", "2026-11-27", "--format", "json").stdout)
    assert every["creditor"] is None
