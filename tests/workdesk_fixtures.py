"""The workdesk tests' fixtures, loaded as a plugin by each workdesk test module
(`pytest_plugins`): a frozen clock, a team of four and a small portfolio (see
`tests.workdesk_support`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from cartera.portfolio.models import Creditor
from tests.workdesk_support import NOW, person, portfolio_build


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def team(creditor: Creditor) -> dict[str, User]:
    return {
        "cobradora": person("cobradora", "collector", creditor),
        "cobrador": person("cobrador", "collector", creditor),
        "supervisora": person("supervisora", "supervisor", creditor),
        "auditora": person("auditora", "auditor", creditor),
    }


@pytest.fixture
def portfolio(
    creditor: Creditor, load: Any, write_file: Any, team: dict[str, User], clock: None
) -> Creditor:
    """Twelve debtors shared between cobradora and cobrador, run for `AS_OF`."""
    portfolio_build(
        creditor=creditor,
        load=load,
        write_file=write_file,
        debtors=12,
        collectors=[team["cobradora"], team["cobrador"]],
    )
    return creditor
