"""The fixture that loads the report tests' portfolio day by day (`pytest_plugins`)."""

from __future__ import annotations

import pytest

from cartera.core.audit import Actor
from cartera.portfolio.models import Creditor, Debtor
from cartera.portfolio.payments import payment_record
from tests.reports_support import (
    FIRST_DOCUMENTS,
    PAYMENTS_HEADER,
    SECOND_DOCUMENTS,
    THIRD_DOCUMENTS,
    D,
)


@pytest.fixture
def history(creditor: Creditor, write_file, load, actor: Actor) -> Creditor:
    """The portfolio above, loaded as it would arrive: three rounds of files on three days."""
    load("documents", write_file("d1.csv", FIRST_DOCUMENTS), as_of=D(2026, 2, 20))
    load(
        "payments",
        write_file("p1.csv", PAYMENTS_HEADER + "P3,D3,2026-02-15,200.00,COP,PN-G\n"),
        as_of=D(2026, 2, 20),
    )
    load("documents", write_file("d2.csv", SECOND_DOCUMENTS), as_of=D(2026, 3, 20))
    load(
        "payments",
        write_file(
            "p2.csv",
            PAYMENTS_HEADER
            + "P1,D1,2026-03-12,700.00,COP,INV-A\n"
            + "P4,D3,2026-03-05,100.00,COP,PN-G\n",
        ),
        as_of=D(2026, 3, 20),
    )
    load("documents", write_file("d3.csv", THIRD_DOCUMENTS), as_of=D(2026, 4, 5))
    load(
        "payments",
        write_file(
            "p3.csv",
            PAYMENTS_HEADER
            + "P2,D2,2026-03-28,400.00,COP,INV-D\n"
            + "P6,D1,2026-04-05,100.00,COP,INV-B\n",
        ),
        as_of=D(2026, 4, 5),
    )
    payment_record(
        creditor=creditor,
        debtor=Debtor.objects.get(creditor=creditor, external_id="D2"),
        amount_minor=5000,
        currency="COP",
        date=D(2026, 3, 30),
        external_id="P5",
        actor=actor,
    )
    return creditor
