"""Fixtures named after the domain: a creditor, its files, and an import helper."""

from __future__ import annotations

import datetime
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cartera.core.audit import Actor
from cartera.portfolio.importing.debtors import DebtorImporter
from cartera.portfolio.importing.documents import DocumentImporter
from cartera.portfolio.importing.payments import PaymentImporter
from cartera.portfolio.importing.pipeline import ImportOptions, ImportResult, run_import
from cartera.portfolio.models import Creditor
from cartera.portfolio.services import creditor_create

AS_OF = datetime.date(2026, 11, 23)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
IMPORTERS = {"debtors": DebtorImporter, "documents": DocumentImporter, "payments": PaymentImporter}


# What the data migrations write (module, function): a migrated database holds it.
MIGRATION_DATA = [
    ("cartera.negotiation.migrations.0002_agreements_terms_disputes", "default_limits")
]
_tables_emptied = False


@pytest.fixture(autouse=True)
def _migration_data(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[None]:
    """Write again what the data migrations wrote once a transactional test emptied the tables.

    Browser tests need a transactional database (the live server reads what they write) and
    Django empties every table after each of them, the default approval matrix included; the
    tests that follow in the same process expect a migrated database, as users have. Autouse
    fixtures are set up before the database fixtures, so the rows are written outside the
    `db` fixture's rollback.
    """
    global _tables_emptied
    uses_db = {"db", "transactional_db"} & set(request.fixturenames)
    if _tables_emptied and uses_db:
        from django.apps import apps

        with django_db_blocker.unblock():
            for module, function in MIGRATION_DATA:
                getattr(importlib.import_module(module), function)(apps, None)
        _tables_emptied = False
    if "transactional_db" in request.fixturenames:
        _tables_emptied = True
    yield


@pytest.fixture(autouse=True)
def _language_kept() -> Iterator[None]:
    """Each test leaves the language as it found it.

    A request through the test client activates the user's or the browser's language in the
    thread (the locale middlewares) and nothing turns it off afterwards, so without this a
    test that asserts the Spanish default would read English after an English page in the same
    worker. Captured after the module's own fixtures (some switch a whole module to English).
    """
    from django.utils import translation

    language = translation.get_language()
    yield
    if language:
        translation.activate(language)
    else:
        translation.deactivate_all()


@pytest.fixture
def actor() -> Actor:
    return Actor.system("tests")


@pytest.fixture
def creditor(db: Any, actor: Actor) -> Creditor:
    return creditor_create(
        code="ACME", name="Acme Colombia S.A.S.", country="CO", currency="COP", actor=actor
    )


@pytest.fixture
def write_file(tmp_path: Path):
    """Write `text` to a file in `encoding`, as Excel or an ERP would have."""

    def write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write


@pytest.fixture
def load(creditor: Creditor, actor: Actor):
    """Import a file of a kind for the creditor, with the given options."""

    def run(
        kind: str, path: Path, *, target: Creditor | None = None, **options: Any
    ) -> ImportResult:
        options.setdefault("as_of", AS_OF)
        return run_import(
            IMPORTERS[kind],
            creditor=target or creditor,
            path=path,
            actor=actor,
            options=ImportOptions(**options),
        )

    return run
