"""Fixtures of the agreements, promises, disputes and interest tests, loaded as a plugin by
each of those modules (`pytest_plugins`). A plugin reaches every test of the session, so none
of these fixtures is autouse: the modules ask for `in_english` and `home` with `pytestmark`.

Acme (CO, COP) is collected by Laura (collector) and Sofía (supervisor); Ana is an
administrator. Uno S.A.S. owes FV-1 (1,000,000.00, due 1 Sep 2026) and FV-2 (500,000.00, due
1 Oct); Dos Ltda. owes FV-3 (300,000.00, due 15 Oct). Uno has an email address, Dos a mobile
phone. The legal maximum rate of Colombia is entered for every month of 2026 and 2027.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import translation

from cartera.core.audit import Actor
from cartera.negotiation.models import UsuryRate
from cartera.portfolio.models import ContactPoint, Creditor, Debtor
from tests.negotiation_support import DOCUMENTS, LEGAL_MAX, person


@pytest.fixture
def in_english():
    # Messages are asserted in English; the interface default is Spanish.
    with translation.override("en"):
        yield


@pytest.fixture
def home(settings: Any, tmp_path: Path) -> Path:
    """Agreement PDFs and attachments go under a fresh CARTERA_HOME."""
    settings.CARTERA_HOME = tmp_path
    return tmp_path


@pytest.fixture
def laura(creditor: Creditor) -> User:
    return person("laura", "collector", creditor)


@pytest.fixture
def sofia(creditor: Creditor) -> User:
    return person("sofia", "supervisor", creditor)


@pytest.fixture
def ana(creditor: Creditor) -> User:
    return person("ana", "admin", creditor)


@pytest.fixture
def as_laura(laura: User) -> Actor:
    return Actor.for_user(laura)


@pytest.fixture
def as_sofia(sofia: User) -> Actor:
    return Actor.for_user(sofia)


@pytest.fixture
def book(creditor: Creditor, load: Any, write_file: Any) -> Creditor:
    result = load("documents", write_file("documents.csv", DOCUMENTS))
    assert (result.created, result.rejected) == (3, 0)
    ContactPoint.objects.create(
        debtor=Debtor.objects.get(external_id="C1"),
        kind="email",
        value="pagos@uno.example",
        is_primary=True,
    )
    ContactPoint.objects.create(
        debtor=Debtor.objects.get(external_id="C2"), kind="mobile", value="+573001234567"
    )
    return creditor


@pytest.fixture
def uno(book: Creditor) -> Debtor:
    return Debtor.objects.get(external_id="C1")


@pytest.fixture
def dos(book: Creditor) -> Debtor:
    return Debtor.objects.get(external_id="C2")


@pytest.fixture
def usury(db: Any) -> None:
    UsuryRate.objects.bulk_create(
        UsuryRate(country="CO", month=datetime.date(year, month, 1), annual_rate=LEGAL_MAX)
        for year in (2026, 2027)
        for month in range(1, 13)
    )
