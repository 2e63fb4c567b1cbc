"""Cash forecast, its back-test, promise-kept and right-party-contact rates and collector
productivity, against figures worked by hand."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from cartera.core.audit import Actor
from cartera.negotiation.models import Promise, PromiseStatus
from cartera.negotiation.services import promise_create
from cartera.portfolio.models import Activity, Creditor, Debtor, Document
from cartera.reports.forecast import forecast_backtest, forecast_compute, forecast_store
from cartera.reports.models import CollectorSpell, ForecastWeek
from cartera.reports.productivity import (
    collector_productivity,
    promise_kept_rate,
    right_party_rate,
)
from cartera.reports.snapshots import snapshots_write
from cartera.strategy.models import Account

D = datetime.date
AS_OF = D(2026, 3, 31)

# D1 paid 1,000 ten days late and 500 two days late: (1,000×10 + 500×2) / 1,500 = 7.33 → 7
# days; its open INV-O1 (due 04-05) is expected on 04-12, 12 days after the as-of date: week 2.
# D2 has no history: INV-O2 (due 04-01) in week 1, INV-O3 (due 03-20) is past its expected date,
# INV-O4 (due 08-01) after week 13. D3 promised 250 for 04-09 (week 2) on INV-O5 (due 03-25,
# past its date): the promise takes 250 off INV-O5. D4's INV-W is written off: not forecast.
DOCUMENTS = (
    "external_id,debtor_external_id,name,issue_date,due_date,amount,currency\n"
    "INV-P1,D1,Uno,2025-12-10,2026-01-10,1000.00,COP\n"
    "INV-P2,D1,Uno,2026-01-10,2026-02-10,500.00,COP\n"
    "INV-O1,D1,Uno,2026-03-05,2026-04-05,800.00,COP\n"
    "INV-O2,D2,Dos,2026-03-01,2026-04-01,300.00,COP\n"
    "INV-O3,D2,Dos,2026-02-20,2026-03-20,200.00,COP\n"
    "INV-O4,D2,Dos,2026-03-01,2026-08-01,100.00,COP\n"
    "INV-O5,D3,Tres,2026-02-25,2026-03-25,400.00,COP\n"
    "INV-W,D4,Cuatro,2026-03-03,2026-04-03,600.00,COP\n"
)
PAYMENTS = "external_id,debtor_external_id,date,amount,currency,document_external_id\n"


@pytest.fixture
def portfolio(creditor: Creditor, write_file, load, actor: Actor) -> Creditor:
    load("documents", write_file("docs.csv", DOCUMENTS), as_of=AS_OF)
    load(
        "payments",
        write_file(
            "pay.csv",
            PAYMENTS
            + "P1,D1,2026-01-20,1000.00,COP,INV-P1\n"
            + "P2,D1,2026-02-12,500.00,COP,INV-P2\n",
        ),
        as_of=AS_OF,
    )
    Document.objects.filter(external_id="INV-W").update(written_off_on=D(2026, 3, 15))
    promise_create(
        creditor=creditor,
        debtor=Debtor.objects.get(external_id="D3"),
        amount=Decimal("250"),
        promised_date=D(2026, 4, 9),
        as_of=D(2026, 3, 30),
        actor=actor,
    )
    return creditor


def test_forecast_by_week(portfolio):
    forecast = forecast_compute(creditor_ids=[portfolio.pk], as_of=AS_OF)

    (cop,) = forecast.currencies
    assert (cop.weeks[0].first, cop.weeks[0].last) == (D(2026, 4, 1), D(2026, 4, 7))
    assert (cop.weeks[0].documents, cop.weeks[0].promises) == (30_000, 0)
    assert (cop.weeks[1].documents, cop.weeks[1].promises) == (80_000, 25_000)
    assert all(w.total == 0 for w in cop.weeks[2:])
    assert cop.past_expected == 20_000 + 40_000 - 25_000
    assert cop.beyond == 10_000
    assert cop.promised_off_documents == 25_000
    assert cop.total == 135_000


def test_backtest_against_what_came_in(portfolio, write_file, load):
    forecast_store(creditor=portfolio, made_on=AS_OF)
    load(
        "payments",
        write_file(
            "later.csv",
            PAYMENTS
            + "P3,D2,2026-04-01,300.00,COP,INV-O2\n"
            + "P4,D1,2026-04-14,800.00,COP,INV-O1\n",
        ),
        as_of=D(2026, 4, 14),
    )

    backtest = forecast_backtest(creditor_ids=[portfolio.pk], as_of=D(2026, 4, 14), made_on=AS_OF)

    assert backtest.stored
    (cop,) = backtest.currencies
    assert [(w.number, w.forecast, w.actual) for w in cop.weeks] == [
        (1, 30_000, 30_000),
        (2, 105_000, 80_000),
    ]
    assert cop.weeks[1].difference == -25_000
    # Without the stored forecast, the ledger gives the same forecast for that day.
    ForecastWeek.objects.all().delete()
    rebuilt = forecast_backtest(creditor_ids=[portfolio.pk], as_of=D(2026, 4, 14), made_on=AS_OF)
    assert not rebuilt.stored
    assert [(w.forecast, w.actual) for w in rebuilt.currencies[0].weeks] == [
        (30_000, 30_000),
        (105_000, 80_000),
    ]


def test_the_default_backtest_is_the_forecast_of_13_weeks_before(portfolio):
    backtest = forecast_backtest(creditor_ids=[portfolio.pk], as_of=AS_OF)
    assert backtest.made_on == AS_OF - datetime.timedelta(weeks=13)
    assert not backtest.stored


# --- promises, contacts, productivity ----------------------------------------------------------


def _promise(creditor, debtor, user, amount, promised, status, taken):
    decided = None if status == PromiseStatus.PENDING else promised + datetime.timedelta(days=2)
    return Promise.objects.create(
        creditor=creditor,
        debtor=debtor,
        currency="COP",
        amount_minor=amount,
        promised_date=promised,
        status=status,
        paid_minor=amount if status == PromiseStatus.KEPT else 0,
        decided_on=decided,
        taken_by=user,
        created_on=taken,
    )


@pytest.fixture
def team(portfolio):
    ana = User.objects.create_user("ana", first_name="Ana", password="x-secret-1")
    beto = User.objects.create_user("beto", first_name="Beto", password="x-secret-1")
    d1 = Debtor.objects.get(external_id="D1")
    d2 = Debtor.objects.get(external_id="D2")
    for debtor in (d1, d2):
        Account.objects.create(creditor=portfolio, debtor=debtor, collector=ana)
    return ana, beto, d1, d2


def test_promise_kept_rate_by_count_and_amount(team, portfolio):
    ana, beto, d1, d2 = team
    Promise.objects.all().delete()
    _promise(portfolio, d1, ana, 10_000, D(2026, 3, 5), PromiseStatus.KEPT, D(2026, 3, 1))
    _promise(portfolio, d2, ana, 5_000, D(2026, 3, 6), PromiseStatus.KEPT, D(2026, 3, 1))
    _promise(portfolio, d1, beto, 20_000, D(2026, 3, 7), PromiseStatus.BROKEN, D(2026, 3, 2))
    _promise(portfolio, d2, beto, 7_000, D(2026, 3, 30), PromiseStatus.PENDING, D(2026, 3, 2))
    _promise(portfolio, d1, beto, 9_000, D(2026, 3, 8), PromiseStatus.CANCELLED, D(2026, 3, 2))
    _promise(portfolio, d1, ana, 9_000, D(2026, 4, 2), PromiseStatus.KEPT, D(2026, 3, 2))

    (cop,) = promise_kept_rate(creditor_ids=[portfolio.pk], first=D(2026, 3, 1), last=AS_OF)

    # Due in March and decided: two kept (100 + 50), one broken (200).
    assert (cop.kept, cop.due, cop.pending, cop.cancelled) == (2, 3, 1, 1)
    assert str(cop.rate_by_count.quantize(Decimal("0.01"))) == "66.67"
    assert str(cop.rate_by_amount.quantize(Decimal("0.01"))) == "42.86"  # 150 / 350


def _contact(creditor, debtor, user, day, kind, reached, outcome=""):
    at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))
    return Activity.objects.create(
        creditor=creditor,
        debtor=debtor,
        kind=kind,
        at=at,
        is_contact=True,
        reached=reached,
        outcome=outcome,
        user=user,
    )


def test_right_party_contact_rate(team, portfolio):
    ana, beto, d1, d2 = team
    _contact(portfolio, d1, ana, D(2026, 3, 5), "call", True, "contacted")
    _contact(portfolio, d1, ana, D(2026, 3, 5), "call", False, "no_contesta")
    _contact(portfolio, d2, beto, D(2026, 3, 6), "call", None)
    _contact(portfolio, d2, None, D(2026, 3, 6), "email", None)
    _contact(portfolio, d2, None, D(2026, 2, 6), "email", True)  # before the period

    total, per_kind = right_party_rate(creditors=[portfolio], first=D(2026, 3, 1), last=AS_OF)

    assert (total.attempts, total.reached, str(total.rate)) == (4, 1, "25")
    assert [(k.kind, k.attempts, k.reached) for k in per_kind] == [("call", 3, 1), ("email", 1, 0)]


def test_collector_productivity_credits_money_to_who_held_the_account(
    team, portfolio, actor, write_file, load
):
    ana, beto, d1, d2 = team
    snapshots_write(creditor=portfolio, as_of=D(2026, 3, 1), actor=actor)
    Account.objects.filter(debtor=d1).update(collector=beto)
    snapshots_write(creditor=portfolio, as_of=D(2026, 3, 10), actor=actor)
    assert list(
        CollectorSpell.objects.filter(debtor=d1)
        .order_by("since")
        .values_list("collector__username", "since", "until")
    ) == [("ana", D(2026, 3, 1), D(2026, 3, 10)), ("beto", D(2026, 3, 10), None)]
    load(
        "payments",
        write_file(
            "march.csv",
            PAYMENTS
            + "M1,D1,2026-03-05,100.00,COP,INV-O1\n"  # ana held D1
            + "M2,D1,2026-03-12,50.00,COP,INV-O1\n"  # beto held D1
            + "M3,D2,2026-03-12,30.00,COP,INV-O3\n",  # ana holds D2
        ),
        as_of=AS_OF,
    )
    _contact(portfolio, d1, ana, D(2026, 3, 5), "call", True, "contacted")
    _contact(portfolio, d1, ana, D(2026, 3, 5), "call", False, "no_contesta")
    _contact(portfolio, d2, beto, D(2026, 3, 12), "call", None, "contacted")
    Promise.objects.all().delete()
    _promise(portfolio, d1, ana, 10_000, D(2026, 3, 6), PromiseStatus.KEPT, D(2026, 3, 5))

    report = collector_productivity(creditors=[portfolio], first=D(2026, 3, 1), last=AS_OF)

    rows = {r.name: r for r in report.rows}
    a, b = rows["Ana"], rows["Beto"]
    assert (a.total.attempted, a.total.made, a.total.right_party) == (2, 1, 1)
    assert (a.total.promises, a.total.promised["COP"], a.total.kept) == (1, 10_000, 1)
    assert a.total.collected["COP"] == 10_000 + 3_000
    assert a.days[D(2026, 3, 5)].collected["COP"] == 10_000
    assert (b.total.attempted, b.total.made, b.total.right_party) == (1, 1, 0)
    assert b.total.collected["COP"] == 5_000
    assert report.team.collected["COP"] == 18_000
    # Money from before the first recorded run goes to the account's current collector.
    early = collector_productivity(creditors=[portfolio], first=D(2026, 1, 1), last=D(2026, 2, 28))
    assert {r.name: r.total.collected.get("COP") for r in early.rows} == {"Beto": 150_000}
