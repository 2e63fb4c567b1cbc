"""The supervisor's pages read a fixed number of queries whatever the data (DESIGN §3.4): each
page is counted on a small team and portfolio, then on one twice as big (accounts, contacts,
promises, payments, messages waiting, runs, collectors and their targets), and the counts must
be the same. The runs and a run's detail are paged."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cartera.messaging.models import Message, MessageStatus
from cartera.negotiation.models import Promise, PromiseStatus
from cartera.portfolio.models import Activity, Creditor
from cartera.strategy.models import Account, Run
from cartera.workdesk import views_team
from cartera.workdesk.models import Target, TargetMetric
from tests.messaging_helpers import messaging_ready
from tests.workdesk_support import AS_OF, NOW, person, portfolio_build

# The workdesk fixtures: clock, team.
pytest_plugins = ["tests.workdesk_fixtures"]

MONTH = AS_OF.replace(day=1)


def _work(creditor: Creditor, *, prefix: str, load: Any, write_file: Any) -> None:
    """On every account whose debtor's id starts with `prefix`: a contact and a promise by its
    collector, a payment on every other one, and a message waiting for a person."""
    messaging_ready()
    accounts = list(
        Account.objects.filter(creditor=creditor, debtor__external_id__startswith=prefix)
        .select_related("debtor")
        .order_by("pk")
    )
    payments = ["debtor_external_id,date,amount"]
    for n, account in enumerate(accounts):
        Activity.objects.create(
            creditor=creditor,
            debtor=account.debtor,
            kind="call",
            at=NOW - datetime.timedelta(hours=n % 48),
            is_contact=True,
            reached=n % 2 == 0,
            outcome="contactado" if n % 2 == 0 else "no_contesta",
            user_id=account.collector_id,
        )
        decided = n % 3 != 0
        kept = decided and n % 2 == 1
        Promise.objects.create(
            creditor=creditor,
            debtor=account.debtor,
            currency=creditor.currency,
            amount_minor=10_000 + n,
            promised_date=AS_OF + datetime.timedelta(days=-1 if decided else 3),
            created_on=AS_OF - datetime.timedelta(days=1 + n % 5),
            status=(PromiseStatus.KEPT if kept else PromiseStatus.BROKEN)
            if decided
            else PromiseStatus.PENDING,
            paid_minor=10_000 + n if kept else 0,
            decided_on=AS_OF if decided else None,
            taken_by_id=account.collector_id,
        )
        if n % 2 == 0:
            day = AS_OF - datetime.timedelta(days=n % 4)
            payments.append(f"{account.debtor.external_id},{day},{100 + n}")
        Message.objects.create(
            creditor=creditor,
            debtor=account.debtor,
            channel="sms",
            template_code="aviso_1",
            idempotency_key=f"{prefix}-{n}",
            origin="aviso_1",
            status=MessageStatus.BLOCKED if n % 2 else MessageStatus.UNKNOWN,
            status_reason="Colombia: at most 1 contact per day",
        )
    result = load("payments", write_file(f"{prefix}-pay.csv", "\n".join(payments) + "\n"))
    assert result.rejected == 0, result


def _old_runs(creditor: Creditor, count: int, *, before: datetime.date) -> None:
    for k in range(count):
        Run.objects.create(
            creditor=creditor,
            as_of=before - datetime.timedelta(days=k + 1),
            started_by="tests",
            counts={"accounts_evaluated": 10 + k, "actions": {"llamada_1": k, "aviso_1": 1}},
        )


def _targets(creditor: Creditor, people: list[User]) -> None:
    for who in [None, *people]:
        for metric in (TargetMetric.CONTACTS_ATTEMPTED, TargetMetric.COLLECTED):
            Target.objects.update_or_create(
                creditor=creditor, user=who, metric=metric, month=MONTH, defaults={"value": 50}
            )


def _pages(creditor: Creditor, team: dict[str, User]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, data) of every page counted."""
    latest = Run.objects.filter(creditor=creditor).order_by("-as_of").first()
    assert latest is not None
    keep = {"creditor": creditor.pk}
    return [
        ("get", reverse("workdesk:team"), keep),
        ("get", reverse("workdesk:delinquents"), {**keep, "days": 30}),
        ("get", reverse("workdesk:runs"), keep),
        ("get", reverse("workdesk:run", args=[latest.pk]), {}),
        ("get", reverse("workdesk:waiting"), keep),
        ("get", reverse("workdesk:assignment"), keep),
        (
            "post",
            reverse("workdesk:assignment"),
            {
                **keep,
                "from_collector": "any",
                "count": "500",
                "to_collector": str(team["cobradora"].pk),
            },
        ),
        ("get", reverse("workdesk:targets"), {**keep, "month": MONTH.isoformat()}),
    ]


def _rows(context: Any) -> int:
    """How many rows the page lists (people, accounts, messages, runs, groups, a preview)."""
    if context.get("preview"):
        return int(context["preview"]["matching"])
    if "created" in context:  # a run's groups: the actions in them
        return sum(row["n"] for row in context["created"])
    for key in ("grid", "loads", "rows", "runs"):
        if key in context:
            return len(context[key]) + int(context.get("total") or 0)
    raise AssertionError("a page without rows")


def _count(client: Any, method: str, url: str, data: dict[str, Any]) -> tuple[int, int]:
    """(queries, rows) of a page."""
    getattr(client, method)(url, data)  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, data)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries.captured_queries), _rows(response.context)


def test_the_team_pages_read_a_fixed_number_of_queries(
    client, creditor, team, clock, load, write_file
):
    her, him = team["cobradora"], team["cobrador"]
    portfolio_build(
        creditor=creditor,
        load=load,
        write_file=write_file,
        debtors=12,
        collectors=[her, him],
        prefix="D",
        as_of=AS_OF - datetime.timedelta(days=1),
    )
    _work(creditor, prefix="D", load=load, write_file=write_file)
    _old_runs(creditor, 3, before=AS_OF - datetime.timedelta(days=1))
    _targets(creditor, [her, him])
    client.force_login(team["supervisora"])
    small = {
        (method, url): _count(client, method, url, data)
        for method, url, data in _pages(creditor, team)
    }

    # Twice as much of everything, or more: accounts (the run of the day shares them with the
    # rule's collectors; its run acts on twice as many as the first), work, messages, runs,
    # collectors with targets.
    portfolio_build(
        creditor=creditor,
        load=load,
        write_file=write_file,
        debtors=24,
        collectors=[],
        prefix="E",
    )
    _work(creditor, prefix="E", load=load, write_file=write_file)
    _old_runs(creditor, 6, before=AS_OF - datetime.timedelta(days=10))
    more = [person(f"cobrador{n}", "collector", creditor) for n in range(2)]
    _targets(creditor, more)
    for n, account in enumerate(Account.objects.filter(creditor=creditor, overdue=True)):
        if n % 4 == 0:
            Account.objects.filter(pk=account.pk).update(collector=more[n % 2])
    waiting = Message.objects.filter(
        creditor=creditor, status__in=(MessageStatus.BLOCKED, MessageStatus.UNKNOWN)
    )
    assert waiting.count() == 12 + 24
    assert Run.objects.filter(creditor=creditor).count() >= 2 * 4
    big = {
        (method, url): _count(client, method, url, data)
        for method, url, data in _pages(creditor, team)
    }

    # The run detail is another run (a bigger one): compare by page, not by URL.
    few, many = list(small.values()), list(big.values())
    assert [queries for queries, _rows in many] == [queries for queries, _rows in few], (
        small,
        big,
    )
    assert max(queries for queries, _rows in few) <= 24, small
    # Every page had more to show the second time.
    grew = [
        big_rows > small_rows for (_q, small_rows), (_q2, big_rows) in zip(few, many, strict=True)
    ]
    assert all(grew), (small, big)


def test_runs_are_paged(client, creditor, team, clock, load, write_file, monkeypatch):
    portfolio_build(
        creditor=creditor,
        load=load,
        write_file=write_file,
        debtors=6,
        collectors=[team["cobradora"]],
    )
    _old_runs(creditor, 4, before=AS_OF)
    monkeypatch.setattr(views_team, "PAGE", 2)
    client.force_login(team["supervisora"])
    client.cookies["django_language"] = "en"

    first = client.get(reverse("workdesk:runs"), {"creditor": creditor.pk})
    assert [r.as_of for r in first.context["runs"]] == [AS_OF, AS_OF - datetime.timedelta(days=1)]
    assert (first.context["total"], first.context["pages"]) == (5, 3)
    text = first.content.decode()
    assert "Page 1 of 3" in text and "page=2" in text
    last = client.get(reverse("workdesk:runs"), {"creditor": creditor.pk, "page": 3})
    assert [r.as_of for r in last.context["runs"]] == [AS_OF - datetime.timedelta(days=4)]


def test_a_runs_detail_is_paged(client, creditor, team, clock, load, write_file, monkeypatch):
    portfolio_build(
        creditor=creditor,
        load=load,
        write_file=write_file,
        debtors=12,
        collectors=[team["cobradora"]],
    )
    run = Run.objects.get(creditor=creditor, as_of=AS_OF)
    groups = run.actions.values("step__code", "kind", "status").distinct().count()
    assert groups >= 2
    monkeypatch.setattr(views_team, "PAGE", 1)
    client.force_login(team["supervisora"])
    client.cookies["django_language"] = "en"
    seen = []
    for page in range(1, groups + 1):
        response = client.get(reverse("workdesk:run", args=[run.pk]), {"page": page})
        assert response.context["total"] == groups and response.context["pages"] == groups
        (row,) = response.context["created"]
        seen.append((row["step__code"], row["kind"], row["status"]))
    assert len(set(seen)) == groups
    assert (
        f"Page 1 of {groups}" in client.get(reverse("workdesk:run", args=[run.pk])).content.decode()
    )


@pytest.mark.parametrize("page", ["0", "x", "999"])
def test_a_page_out_of_range_is_an_empty_page_not_an_error(
    client, creditor, team, clock, load, write_file, page
):
    portfolio_build(creditor=creditor, load=load, write_file=write_file, debtors=3, collectors=[])
    client.force_login(team["supervisora"])
    run = Run.objects.get(creditor=creditor)
    assert client.get(reverse("workdesk:runs"), {"page": page}).status_code == 200
    assert client.get(reverse("workdesk:run", args=[run.pk]), {"page": page}).status_code == 200
