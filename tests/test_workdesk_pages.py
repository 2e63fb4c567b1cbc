"""The workdesk's pages: the worklist, search, the account page, and their query counts."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from cartera.portfolio.models import Debtor
from tests.workdesk_support import NOW, person, portfolio_build


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def team(creditor):
    return {
        "cobradora": person("cobradora", "collector", creditor),
        "cobrador": person("cobrador", "collector", creditor),
        "supervisora": person("supervisora", "supervisor", creditor),
        "auditora": person("auditora", "auditor", creditor),
    }


@pytest.fixture
def portfolio(creditor, load, write_file, team, clock):
    portfolio_build(
        creditor=creditor,
        load=load,
        write_file=write_file,
        debtors=12,
        collectors=[team["cobradora"], team["cobrador"]],
    )
    return creditor


def test_smoke(client, portfolio, team):
    client.force_login(team["cobradora"])
    response = client.get("/")
    assert response.status_code == 200, response.content[:3000]
    content = response.content.decode()
    assert "Deudor D" in content
    debtor = Debtor.objects.filter(creditor=portfolio, account__collector=team["cobradora"]).first()
    response = client.get(reverse("workdesk:account", args=[debtor.pk]))
    assert response.status_code == 200
    client.force_login(team["supervisora"])
    for name in ("team", "targets", "delinquents", "runs", "waiting", "assignment", "approvals"):
        response = client.get(reverse(f"workdesk:{name}"))
        assert response.status_code == 200, (name, response.content[:3000])
