"""The supervisor's pages: productivity against targets, reassignment by filter, load
balancing, messages waiting for a person, runs, new delinquents and approvals."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from cartera.core.audit import Actor
from cartera.core.models import AuditEvent
from cartera.messaging.models import GateOverride, Message, MessageStatus
from cartera.negotiation.models import Promise, PromiseStatus
from cartera.portfolio.models import ContactPoint
from cartera.strategy.models import Account, Action, ActionStatus, AssignmentRule
from cartera.workdesk.models import OutcomeCode, Target, TargetMetric
from cartera.workdesk.queries import (
    WorklistFilters,
    team_productivity,
    worklist,
)
from cartera.workdesk.services import accounts_rebalance, contact_record
from tests.messaging_helpers import messaging_ready
from tests.workdesk_support import AS_OF, NOW, accounts_of

# The workdesk fixtures: clock, team, portfolio.
pytest_plugins = ["tests.workdesk_fixtures"]


def outcome(name):
    return OutcomeCode.objects.get(creditor__isnull=True, code=name)


@pytest.fixture
def worked(portfolio, team, load, write_file):
    """cobradora: a promise (right party) and an unanswered call; cobrador: a visit where a
    third party answered.
    A payment today on one of cobradora's accounts."""
    ContactPoint.objects.filter(debtor__creditor=portfolio).update(consent_call=True)
    mine = accounts_of(team["cobradora"])
    theirs = accounts_of(team["cobrador"])
    her = Actor.for_user(team["cobradora"])
    contact_record(
        debtor=mine[0].debtor,
        channel="call",
        outcome=outcome("promesa"),
        right_party=True,
        at=NOW,
        as_of=AS_OF,
        actor=her,
        promise_amount=Decimal("250"),
        promise_date=AS_OF + datetime.timedelta(days=2),
    )
    contact_record(
        debtor=mine[1].debtor,
        channel="call",
        outcome=outcome("no_contesta"),
        at=NOW,
        as_of=AS_OF,
        actor=her,
    )
    contact_record(
        debtor=theirs[0].debtor,
        channel="visit",
        outcome=outcome("tercero"),
        at=NOW,
        as_of=AS_OF,
        actor=Actor.for_user(team["cobrador"]),
    )
    external = mine[2].debtor.external_id
    load(
        "payments",
        write_file("pay.csv", f"debtor_external_id,date,amount\n{external},{AS_OF},300\n"),
    )
    return portfolio


def test_productivity_per_collector_and_day(worked, team):
    figures = team_productivity(creditor=worked, start=AS_OF, end=AS_OF)
    her = figures.cells[(team["cobradora"].pk, AS_OF)]
    him = figures.cells[(team["cobrador"].pk, AS_OF)]
    assert (her.attempted, her.made, her.right_party) == (2, 1, 1)
    assert (her.promises, her.promised_minor) == (1, 25_000)
    assert her.collected_minor == 30_000
    assert (him.attempted, him.made, him.right_party, him.promises) == (1, 1, 0, 0)
    assert figures.team.attempted == 3 and figures.team.collected_minor == 30_000


def test_kept_rate_counts_the_promises_decided_in_the_period(worked, team):
    promise = Promise.objects.get(taken_by=team["cobradora"])
    Promise.objects.filter(pk=promise.pk).update(
        status=PromiseStatus.KEPT, decided_on=AS_OF, paid_minor=promise.amount_minor
    )
    Promise.objects.create(
        creditor=worked,
        debtor=promise.debtor,
        currency="COP",
        amount_minor=100,
        promised_date=AS_OF - datetime.timedelta(days=3),
        created_on=AS_OF - datetime.timedelta(days=5),
        status=PromiseStatus.BROKEN,
        decided_on=AS_OF,
        taken_by=team["cobradora"],
    )
    figures = team_productivity(creditor=worked, start=AS_OF, end=AS_OF)
    assert figures.totals[team["cobradora"].pk].kept_rate == 50


def test_the_team_page_shows_figures_against_targets(client, worked, team):
    month = AS_OF.replace(day=1)
    Target.objects.create(
        creditor=worked, user=None, metric=TargetMetric.CONTACTS_ATTEMPTED, month=month, value=12
    )
    Target.objects.create(
        creditor=worked,
        user=team["cobradora"],
        metric=TargetMetric.COLLECTED,
        month=month,
        value=60_000,
    )
    client.force_login(team["supervisora"])
    client.cookies["django_language"] = "en"
    response = client.get(reverse("workdesk:team"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "cobradora" in content and "cobrador" in content
    tile = next(t for t in response.context["tiles"] if t["label"] == "Contacts attempted")
    assert (tile["shown"], tile["percent"], tile["done"]) == ("3", 25, False)
    row = next(r for r in response.context["rows"] if r["person"] == team["cobradora"])
    assert row["targets"]["collected_amount"] == 60_000 and row["month"].collected_minor == 30_000
    assert 'style="width:50%"' in content
    assert "held the account on the payment" in content


def test_targets_are_set_by_a_supervisor_in_the_currency(client, portfolio, team):
    client.force_login(team["supervisora"])
    month = AS_OF.replace(day=1)
    field = f"t_{team['cobradora'].pk}_collected_amount"
    response = client.post(
        reverse("workdesk:targets"),
        {
            "creditor": portfolio.pk,
            "month": month.isoformat(),
            field: "1.250.000,50",
            "t_team_promise_kept_rate": "80",
        },
    )
    assert response.status_code == 302
    targets = {(t.user_id, t.metric): t.value for t in Target.objects.all()}
    assert targets == {
        (team["cobradora"].pk, "collected_amount"): 125_000_050,
        (None, "promise_kept_rate"): 80,
    }
    shown = client.get(reverse("workdesk:targets"), {"month": month.isoformat()})
    assert "1.250.000,50" in shown.content.decode()
    too_high = client.post(
        reverse("workdesk:targets"),
        {"creditor": portfolio.pk, "month": month.isoformat(), "t_team_promise_kept_rate": "120"},
    )
    assert too_high.status_code == 422
    cleared = client.post(
        reverse("workdesk:targets"), {"creditor": portfolio.pk, "month": month.isoformat()}
    )
    assert cleared.status_code == 302 and not Target.objects.exists()
    assert AuditEvent.objects.filter(action="target.set").count() == 4


def test_a_supervisor_reassigns_accounts_by_filter(client, portfolio, team):
    her, him = team["cobradora"], team["cobrador"]
    theirs = accounts_of(him)
    client.force_login(team["supervisora"])
    data = {
        "creditor": portfolio.pk,
        "from_collector": str(him.pk),
        "bucket": "1-30",
        "count": "3",
        "to_collector": str(her.pk),
    }
    preview = client.post(reverse("workdesk:assignment"), data)
    assert preview.status_code == 200
    recent = [a for a in theirs if a.max_dpd == 10]
    assert preview.context["preview"]["matching"] == len(recent)
    assert preview.context["preview"]["moving"] == 3
    assert Account.objects.filter(collector=him).count() == len(theirs)  # nothing moved yet

    done = client.post(reverse("workdesk:assignment"), {**data, "confirm": "1"})
    assert done.status_code == 302
    biggest = sorted(recent, key=lambda a: -a.overdue_minor)[:3]
    moved = Account.objects.filter(pk__in=[a.pk for a in biggest])
    assert all(a.collector_id == her.pk and a.collector_pinned for a in moved)
    tasks = Action.objects.filter(
        debtor_id__in=[a.debtor_id for a in biggest], status=ActionStatus.OPEN
    )
    assert tasks and all(t.assigned_to_id == her.pk for t in tasks)
    event = AuditEvent.objects.get(action="account.reassign")
    assert event.changes["count"] == 3 and event.changes["to"] == "cobradora"
    listing = worklist(
        creditors=[portfolio], filters=WorklistFilters(collector_id=her.pk), as_of=AS_OF
    )
    assert {a.debtor_id for a in biggest} <= {r.debtor_id for r in listing.rows}


def test_load_balancing_applies_the_rules_and_evens_out(client, portfolio, team):
    her, him = team["cobradora"], team["cobrador"]
    Account.objects.filter(creditor=portfolio, overdue=True).update(collector=None)
    report = accounts_rebalance(creditor=portfolio, actor=Actor.system("t"))
    total = Account.objects.filter(creditor=portfolio, overdue=True).count()
    assert report.assigned == total
    assert abs(report.loads[her.pk] - report.loads[him.pk]) <= 1

    Account.objects.filter(creditor=portfolio, overdue=True).update(collector=her)
    pinned = Account.objects.filter(creditor=portfolio, overdue=True).first()
    Account.objects.filter(pk=pinned.pk).update(collector_pinned=True)
    client.force_login(team["supervisora"])
    response = client.post(
        reverse("workdesk:rebalance"), {"creditor": portfolio.pk, "even_out": "1"}
    )
    assert response.status_code == 302
    loads = {
        user: Account.objects.filter(creditor=portfolio, overdue=True, collector=user).count()
        for user in (her, him)
    }
    assert abs(loads[her] - loads[him]) <= 1
    assert Account.objects.get(pk=pinned.pk).collector == her  # a hand assignment stays
    assert Action.objects.filter(status=ActionStatus.OPEN, assigned_to=him).exists()


def test_even_out_by_overdue_amount(portfolio, team):
    rule = AssignmentRule.objects.get(creditor=portfolio)
    rule.balance_by = "overdue"
    rule.save()
    Account.objects.filter(creditor=portfolio, overdue=True).update(collector=team["cobradora"])
    accounts_rebalance(creditor=portfolio, actor=Actor.system("t"), even_out=True)
    loads = {
        user.pk: sum(
            Account.objects.filter(creditor=portfolio, collector=user).values_list(
                "overdue_minor", flat=True
            )
        )
        for user in (team["cobradora"], team["cobrador"])
    }
    biggest = max(
        Account.objects.filter(creditor=portfolio, overdue=True).values_list(
            "overdue_minor", flat=True
        )
    )
    assert abs(loads[team["cobradora"].pk] - loads[team["cobrador"].pk]) <= biggest


@pytest.fixture
def waiting_messages(portfolio):
    messaging_ready()
    debtors = [a.debtor for a in Account.objects.filter(creditor=portfolio)[:2]]
    blocked = Message.objects.create(
        creditor=portfolio,
        debtor=debtors[0],
        channel="sms",
        template_code="aviso_1",
        idempotency_key="b1",
        origin="aviso_1",
        status=MessageStatus.BLOCKED,
        status_reason="Colombia: at most 1 contact per day",
    )
    unknown = Message.objects.create(
        creditor=portfolio,
        debtor=debtors[1],
        channel="email",
        template_code="aviso_1",
        idempotency_key="u1",
        origin="aviso_1",
        status=MessageStatus.UNKNOWN,
        status_reason="the worker stopped while sending",
    )
    return blocked, unknown


def test_messages_waiting_for_a_person_and_the_decisions(client, waiting_messages, team):
    blocked, unknown = waiting_messages
    client.force_login(team["supervisora"])
    listing = client.get(reverse("workdesk:waiting"))
    content = listing.content.decode()
    assert blocked.debtor.name in content and unknown.debtor.name in content
    assert "at most 1 contact per day" in content

    client.post(
        reverse("workdesk:override", args=[blocked.pk]),
        {"justification": "el deudor pidió el mensaje por teléfono"},
    )
    assert GateOverride.objects.get(message=blocked).user == team["supervisora"]
    blocked.refresh_from_db()
    assert blocked.status == MessageStatus.QUEUED

    refused = client.post(reverse("workdesk:decide", args=[unknown.pk]), {"decision": "retry"})
    assert refused.status_code == 302
    unknown.refresh_from_db()
    assert unknown.status == MessageStatus.UNKNOWN  # not checked: refused with a message
    client.post(
        reverse("workdesk:decide", args=[unknown.pk]), {"decision": "sent", "note": "en el log"}
    )
    unknown.refresh_from_db()
    assert unknown.status == MessageStatus.SENT


def test_runs_new_delinquents_and_approvals(client, portfolio, team):
    client.force_login(team["supervisora"])
    client.cookies["django_language"] = "en"
    runs = client.get(reverse("workdesk:runs"))
    run = runs.context["runs"][0]
    assert run.as_of == AS_OF and "llamada_1" in runs.content.decode()
    detail = client.get(reverse("workdesk:run", args=[run.pk]))
    assert {row["step__code"] for row in detail.context["created"]} >= {"llamada_1"}
    delinquents = client.get(reverse("workdesk:delinquents"), {"days": 7})
    recent = Account.objects.filter(creditor=portfolio, max_dpd=10).count()
    assert delinquents.context["total"] == recent
    approvals = client.get(reverse("workdesk:approvals"))
    assert approvals.status_code == 200
    assert "Nothing waits for your approval." in approvals.content.decode()
