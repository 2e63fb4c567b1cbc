"""The worklist: who sees which accounts, in which order, for which reasons; filters, search and
pagination; a fixed number of queries whatever the portfolio."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from cartera.negotiation.models import Promise, PromiseStatus
from cartera.portfolio.models import (
    Activity,
    ActivityKind,
    ContactKind,
    ContactPoint,
    Debtor,
    Document,
)
from cartera.strategy.models import Action, ActionStatus, Stage
from cartera.workdesk.models import Callback, WorklistWeights
from cartera.workdesk.queries import (
    WorklistFilters,
    debtor_search,
    weights_for,
    worklist,
)
from tests.workdesk_support import AS_OF, NOW, accounts_of, portfolio_build

# The workdesk fixtures: clock, team, portfolio.
pytest_plugins = ["tests.workdesk_fixtures"]


@pytest.fixture(autouse=True)
def english():
    """Reasons are checked in English (the msgids); the pages set their language themselves."""
    with translation.override("en"):
        yield


def listing_of(creditor, user, **filters):
    return worklist(
        creditors=[creditor],
        filters=WorklistFilters(collector_id=user.pk, **filters),
        as_of=AS_OF,
        page_size=100,
    )


def promise(debtor, *, status, promised, decided=None, amount=50_000):
    return Promise.objects.create(
        creditor=debtor.creditor,
        debtor=debtor,
        currency="COP",
        amount_minor=amount,
        promised_date=promised,
        created_on=min(promised, AS_OF - datetime.timedelta(days=3)),
        status=status,
        decided_on=decided,
    )


def test_a_collector_sees_only_their_accounts_with_the_strategy_tasks(portfolio, team):
    mine = {a.debtor_id for a in accounts_of(team["cobradora"])}
    listing = listing_of(portfolio, team["cobradora"])

    assert mine and {row.debtor_id for row in listing.rows} == mine
    assert listing.total == len(mine)
    tasks = [row for row in listing.rows if row.task]
    # The 10-days-late accounts have the strategy's first call waiting (day 7).
    assert tasks and {row.task for row in tasks} == {"llamada_1"}
    assert all(("task", "strategy task: llamada_1") in row.reasons for row in tasks)
    assert all(row.new for row in tasks)  # their delinquency is news of this run


def test_broken_promise_first_then_due_today_then_callback_then_tasks(portfolio, team):
    collector = team["cobradora"]
    accounts = accounts_of(collector)
    late = [a for a in accounts if a.max_dpd == 40]
    recent = [a for a in accounts if a.max_dpd == 10]
    assert len(recent) >= 3 and late
    broken, due_today, callback = late[0], recent[0], recent[1]
    promise(
        broken.debtor,
        status=PromiseStatus.BROKEN,
        promised=AS_OF - datetime.timedelta(days=3),
        decided=AS_OF - datetime.timedelta(days=1),
    )
    promise(due_today.debtor, status=PromiseStatus.PENDING, promised=AS_OF)
    Callback.objects.create(
        creditor=portfolio,
        debtor=callback.debtor,
        user=collector,
        due_at=NOW + datetime.timedelta(hours=5),
        created_by="tests",
    )

    rows = listing_of(portfolio, collector).rows

    assert [r.debtor_id for r in rows[:3]] == [
        broken.debtor_id,
        due_today.debtor_id,
        callback.debtor_id,
    ]
    assert [code for code, _label in rows[0].reasons][:1] == ["broken"]
    assert "promise_today" in [code for code, _label in rows[1].reasons]
    assert rows[2].callback_at is not None and rows[2].reasons[0][1].startswith(
        "callback scheduled 15:00"
    )
    # Accounts with a strategy task come next, before those with nothing but a balance.
    flags = [bool(r.task) for r in rows[3:]]
    assert flags == sorted(flags, reverse=True)


def test_a_promise_not_yet_due_and_a_contact_today_push_an_account_down(portfolio, team):
    collector = team["cobradora"]
    before = listing_of(portfolio, collector).rows
    top, second = before[0], before[1]
    promise(
        Debtor.objects.get(pk=top.debtor_id),
        status=PromiseStatus.PENDING,
        promised=AS_OF + datetime.timedelta(days=5),
    )
    Activity.objects.create(
        creditor=portfolio,
        debtor_id=second.debtor_id,
        kind=ActivityKind.CALL,
        at=NOW,
        is_contact=True,
        reached=False,
    )
    after = listing_of(portfolio, collector).rows
    moved = {r.debtor_id: r for r in after}
    weights = weights_for([portfolio])[portfolio.pk]

    assert moved[top.debtor_id].score == top.score + weights.paused
    assert moved[second.debtor_id].score == second.score + weights.contacted_today
    assert moved[second.debtor_id].contacted_today
    assert after[0].debtor_id not in (top.debtor_id, second.debtor_id)


def test_weights_are_configuration(portfolio, team):
    collector = team["cobradora"]
    default = listing_of(portfolio, collector).rows
    weights = weights_for([portfolio])[portfolio.pk]
    WorklistWeights.objects.create(creditor=portfolio, strategy_task=0, new_delinquent=0)
    tuned = {r.debtor_id: r for r in listing_of(portfolio, collector).rows}
    for row in default:
        expected = (
            row.score
            - (weights.strategy_task if row.task else 0)
            - (weights.new_delinquent if row.new else 0)
        )
        assert tuned[row.debtor_id].score == expected


def test_filters_by_reason_stage_bucket_and_pages(portfolio, team):
    collector = team["cobradora"]
    everything = listing_of(portfolio, collector)
    only_tasks = listing_of(portfolio, collector, reason="task")
    assert 0 < only_tasks.total < everything.total
    assert all(r.task for r in only_tasks.rows)
    late = listing_of(portfolio, collector, bucket="31-60")
    assert late.rows and all(r.max_dpd == 40 for r in late.rows)
    stage = Stage.objects.get(creditor=portfolio, code="prejuridica")
    by_stage = listing_of(portfolio, collector, stage_id=stage.pk)
    assert {r.debtor_id for r in by_stage.rows} == {r.debtor_id for r in late.rows}

    first = worklist(
        creditors=[portfolio],
        filters=WorklistFilters(collector_id=collector.pk),
        as_of=AS_OF,
        page=1,
        page_size=2,
    )
    second = worklist(
        creditors=[portfolio],
        filters=WorklistFilters(collector_id=collector.pk),
        as_of=AS_OF,
        page=2,
        page_size=2,
    )
    assert first.total == everything.total and first.pages == -(-everything.total // 2)
    assert [r.debtor_id for r in first.rows + second.rows] == [
        r.debtor_id for r in everything.rows[:4]
    ]
    assert first.counts["task"] == only_tasks.total


def test_the_worklist_page_shows_reasons_and_filters(client, portfolio, team):
    client.force_login(team["cobradora"])
    client.cookies["django_language"] = "en"
    response = client.get(reverse("workdesk:worklist"), {"reason": "task"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "strategy task: llamada_1" in content and "new delinquent" in content
    first = listing_of(portfolio, team["cobradora"], reason="task").rows[0]
    assert reverse("workdesk:account", args=[first.debtor_id]) in content
    theirs = accounts_of(team["cobrador"])[0].debtor.name
    assert theirs not in content


def test_home_is_the_collectors_worklist_and_the_supervisors_team(client, portfolio, team):
    client.force_login(team["cobradora"])
    assert client.get("/").templates[0].name == "workdesk/worklist.html"
    client.force_login(team["supervisora"])
    assert client.get("/").templates[0].name == "workdesk/team.html"


def test_a_supervisor_opens_any_collectors_list_and_a_collector_cannot(client, portfolio, team):
    other = team["cobrador"]
    theirs = accounts_of(other)[0].debtor.name
    client.force_login(team["supervisora"])
    response = client.get(reverse("workdesk:worklist"), {"collector": other.pk})
    assert response.status_code == 200 and theirs in response.content.decode()
    unassigned = client.get(reverse("workdesk:worklist"), {"collector": "none"})
    assert unassigned.status_code == 200

    client.force_login(team["cobradora"])
    assert client.get(reverse("workdesk:worklist"), {"collector": other.pk}).status_code == 403
    assert client.get(reverse("workdesk:worklist"), {"collector": "all"}).status_code == 403


@pytest.mark.parametrize(
    "text",
    ["Deudor D 0003", "deudor d 0003", "80000003", "D3-1", "310 100 0003", "+57 3101000003"],
)
def test_search_finds_a_debtor_by_name_tax_id_document_or_phone(portfolio, text):
    found = debtor_search(creditors=[portfolio], text=text)
    assert [d.name for d in found] == ["Deudor D 0003"]


def test_search_by_email_and_no_match(portfolio):
    debtor = Document.objects.get(number="D4-1").debtor
    ContactPoint.objects.create(debtor=debtor, kind=ContactKind.EMAIL, value="pagos@d4.co")
    assert [d.pk for d in debtor_search(creditors=[portfolio], text="Pagos@D4.co")] == [debtor.pk]
    assert debtor_search(creditors=[portfolio], text="nadie así") == []


def test_search_page_lists_matches_of_any_collector(client, portfolio, team):
    client.force_login(team["cobradora"])
    theirs = accounts_of(team["cobrador"])[0].debtor
    response = client.get(reverse("workdesk:worklist"), {"q": theirs.tax_id})
    assert reverse("workdesk:account", args=[theirs.pk]) in response.content.decode()


def test_the_worklist_reads_a_fixed_number_of_queries(
    client, creditor, load, write_file, team, clock
):
    """30 accounts or 300, with promises, callbacks and contacts on many: the same queries."""
    collector = team["cobradora"]

    def enrich(prefix):
        debtors = list(
            Document.objects.filter(number__startswith=prefix, number__endswith="-1")
            .values_list("debtor_id", flat=True)
            .order_by("pk")
        )
        for n, debtor_id in enumerate(debtors):
            if n % 3 == 0:
                Activity.objects.create(
                    creditor=creditor, debtor_id=debtor_id, kind="call", at=NOW, is_contact=True
                )
            if n % 4 == 0:
                Callback.objects.create(
                    creditor=creditor, debtor_id=debtor_id, due_at=NOW, created_by="t"
                )

    def counted():
        client.force_login(collector)
        client.get(reverse("workdesk:worklist"))  # warm the session
        with CaptureQueriesContext(connection) as small:
            response = client.get(reverse("workdesk:worklist"), {"reason": "", "page": 1})
        assert response.status_code == 200
        return len(small.captured_queries), response.context["listing"].total

    portfolio_build(
        creditor=creditor, load=load, write_file=write_file, debtors=30, collectors=[collector]
    )
    enrich("D")
    few, total_few = counted()
    portfolio_build(
        creditor=creditor,
        load=load,
        write_file=write_file,
        debtors=270,
        collectors=[],
        prefix="E",
    )
    enrich("E")
    many, total_many = counted()

    assert total_many > 9 * total_few
    assert many == few
    assert few <= 12


def test_opening_the_next_account_follows_the_worklist(client, portfolio, team):
    collector = team["cobradora"]
    rows = listing_of(portfolio, collector).rows
    client.force_login(collector)
    response = client.get(reverse("workdesk:next"), {"after": rows[0].debtor_id})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("workdesk:account", args=[rows[1].debtor_id]))
    response = client.get(reverse("workdesk:next"), {"after": rows[1].debtor_id, "reason": "task"})
    tasks = listing_of(portfolio, collector, reason="task").rows
    expected = next(r for r in tasks if r.debtor_id != rows[1].debtor_id)
    assert reverse("workdesk:account", args=[expected.debtor_id]) in response["Location"]
    assert "reason%3Dtask" in response["Location"]


def test_a_done_task_is_no_longer_a_reason(portfolio, team):
    collector = team["cobradora"]
    row = listing_of(portfolio, collector, reason="task").rows[0]
    Action.objects.filter(debtor_id=row.debtor_id, status=ActionStatus.OPEN).update(
        status=ActionStatus.DONE
    )
    assert row.debtor_id not in {
        r.debtor_id for r in listing_of(portfolio, collector, reason="task").rows
    }
