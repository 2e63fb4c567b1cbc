"""The workdesk's team page and the productivity report credit money collected by one rule:
to the collector who held the account on the payment's date (docs/workdesk.md §5)."""

from __future__ import annotations

import datetime

from django.urls import reverse

from cartera.core.audit import Actor
from cartera.reports.models import CollectorSpell
from cartera.strategy.models import Account
from cartera.strategy.run import run_execute
from cartera.workdesk.queries import team_productivity
from cartera.workdesk.services import accounts_reassign
from tests.workdesk_support import AS_OF, portfolio_build

# The workdesk fixtures: clock, team.
pytest_plugins = ["tests.workdesk_fixtures"]

FIRST = AS_OF - datetime.timedelta(days=6)  # the first daily run


def _day(n: int) -> datetime.date:
    return FIRST + datetime.timedelta(days=n)


def _pay(load, write_file, name, day, *payments):
    lines = "".join(f"{external},{day},{amount}\n" for external, amount in payments)
    result = load(
        "payments", write_file(name, "debtor_external_id,date,amount\n" + lines), as_of=day
    )
    assert result.rejected == 0, result


def test_both_pages_credit_a_reassigned_accounts_payments_alike(
    client, creditor, team, clock, load, write_file, django_capture_on_commit_callbacks
):
    her, him = team["cobradora"], team["cobrador"]
    actor = Actor.system("tests")
    # The runs commit their snapshots (who holds each account) after they commit.
    with django_capture_on_commit_callbacks(execute=True):
        portfolio_build(
            creditor=creditor,
            load=load,
            write_file=write_file,
            debtors=6,
            collectors=[her, him],
            as_of=FIRST,
        )
    moved = Account.objects.filter(collector=her, overdue=True).select_related("debtor").first()
    kept = Account.objects.filter(collector=him, overdue=True).select_related("debtor").first()
    assert moved is not None and kept is not None

    # Day 1: she holds the account when its first payment arrives.
    _pay(
        load,
        write_file,
        "p1.csv",
        _day(1),
        (moved.debtor.external_id, 300),
        (kept.debtor.external_id, 20),
    )
    # Day 2: a supervisor gives it to him, and that day's run records it.
    accounts_reassign(creditor=creditor, account_ids=[moved.pk], to_user=him, actor=actor)
    with django_capture_on_commit_callbacks(execute=True):
        run_execute(creditor=creditor, as_of=_day(2), actor=actor)
    assert list(
        CollectorSpell.objects.filter(debtor=moved.debtor)
        .order_by("since")
        .values_list("collector_id", "since", "until")
    ) == [(her.pk, FIRST, _day(2)), (him.pk, _day(2), None)]
    # Day 3: the second payment, now his.
    _pay(load, write_file, "p2.csv", _day(3), (moved.debtor.external_id, 500))

    client.force_login(team["supervisora"])
    team_page = client.get(
        reverse("workdesk:team"),
        {"creditor": creditor.pk, "start": FIRST.isoformat(), "end": AS_OF.isoformat()},
    )
    assert team_page.status_code == 200
    on_team_page = {
        (row["person"].pk if row["person"] else None): row["period"].collected_minor
        for row in team_page.context["rows"]
        if row["period"].collected_minor
    }
    report = client.get(
        reverse("reports:productivity"),
        {"creditor": creditor.pk, "as_of": AS_OF.isoformat(), "days": 7},
    )
    assert report.status_code == 200
    on_report = {
        row.collector_id: row.total.collected.get(creditor.currency, 0)
        for row in report.context["report"].rows
        if row.total.collected.get(creditor.currency)
    }

    assert on_team_page == on_report == {her.pk: 30_000, him.pk: 2_000 + 50_000}
    # Day by day too: her payment on day 1, his on day 3.
    figures = team_productivity(creditor=creditor, start=FIRST, end=AS_OF)
    assert figures.cells[(her.pk, _day(1))].collected_minor == 30_000
    assert figures.cells[(him.pk, _day(3))].collected_minor == 50_000
    # The team page's amounts open the report's list of those payments.
    drill = f"figure=collected&amp;collector={her.pk}"
    assert drill in team_page.content.decode()
