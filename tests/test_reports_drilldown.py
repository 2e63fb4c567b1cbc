"""Drill-down of the cash forecast and of collector productivity: the documents, promises,
contacts and payments behind every figure add up to it, pages stay scoped to the user's
creditors, and each list reads a fixed number of queries whatever the data."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cartera.core.roles import roles_ensure
from cartera.negotiation.models import Promise, PromiseStatus
from cartera.negotiation.services import promise_create
from cartera.portfolio.models import Activity, Creditor, Debtor, Membership
from cartera.portfolio.services import creditor_create
from cartera.reports.forecast import BEYOND, PAST, forecast_compute, forecast_items
from cartera.reports.productivity import (
    EVERYONE,
    collector_productivity,
    contacts_behind,
    payments_behind,
    promises_behind,
)
from cartera.reports.snapshots import snapshots_write
from cartera.strategy.models import Account

D = datetime.date
AS_OF = D(2026, 3, 31)
QUERY = "?as_of=2026-03-31&days=31"

# D1 paid INV-P1 ten days late: its open INV-O1 (due 04-05) is expected on 04-15, week 3.
# D2 has no history: INV-O2 (due 04-01) and the installment CUO-2 (04-03) in week 1, INV-O3
# (due 03-20) past its expected date, INV-O4 (08-01) after week 13. D3 promised 450 for 04-09
# (week 2): the promise covers INV-O5 (due 03-25, 400) and 50 of INV-O6 (due 04-10, 100), so
# week 2 expects 50 of INV-O6 and the 450 of the promise.
DOCUMENTS = (
    "external_id,debtor_external_id,name,kind,issue_date,due_date,amount,currency\n"
    "INV-P1,D1,Uno,invoice,2025-12-10,2026-01-10,1000.00,COP\n"
    "INV-O1,D1,Uno,invoice,2026-03-05,2026-04-05,800.00,COP\n"
    "INV-O2,D2,Dos,invoice,2026-03-01,2026-04-01,300.00,COP\n"
    "CUO-2,D2,Dos,cuota,2026-03-01,2026-04-03,150.00,COP\n"
    "INV-O3,D2,Dos,invoice,2026-02-20,2026-03-20,200.00,COP\n"
    "INV-O4,D2,Dos,invoice,2026-03-01,2026-08-01,100.00,COP\n"
    "INV-O5,D3,Tres,invoice,2026-02-25,2026-03-25,400.00,COP\n"
    "INV-O6,D3,Tres,invoice,2026-03-10,2026-04-10,100.00,COP\n"
)
PAYMENTS = "external_id,debtor_external_id,date,amount,currency,document_external_id\n"


@pytest.fixture
def book(creditor: Creditor, write_file, load, actor) -> Creditor:
    load("documents", write_file("docs.csv", DOCUMENTS), as_of=AS_OF)
    load(
        "payments",
        write_file("pay.csv", PAYMENTS + "P1,D1,2026-01-20,1000.00,COP,INV-P1\n"),
        as_of=AS_OF,
    )
    promise_create(
        creditor=creditor,
        debtor=Debtor.objects.get(external_id="D3"),
        amount=Decimal("450"),
        promised_date=D(2026, 4, 9),
        as_of=D(2026, 3, 30),
        actor=actor,
    )
    return creditor


@pytest.fixture
def reader(book) -> User:
    """An auditor of ACME: reads every report."""
    roles_ensure()
    user = User.objects.create_user("auditora", password="x-secret-1")
    user.groups.add(Group.objects.get(name="auditor"))
    Membership.objects.create(user=user, creditor=book)
    return user


def _items(creditor, week, part="all", as_of=AS_OF):
    rows, count, amount = forecast_items(
        creditor_ids=[creditor.pk], as_of=as_of, currency="COP", week=week, part=part
    )
    assert count == len(rows)
    assert amount == sum(r.amount for r in rows)
    return rows, amount


def test_forecast_items_add_up_to_every_figure(book):
    (cop,) = forecast_compute(creditor_ids=[book.pk], as_of=AS_OF).currencies
    for week in cop.weeks:
        _rows, documents = _items(book, week.number, "documents")
        _rows, promises = _items(book, week.number, "promises")
        _rows, total = _items(book, week.number)
        assert (documents, promises, total) == (week.documents, week.promises, week.total)
    assert _items(book, PAST)[1] == cop.past_expected
    assert _items(book, BEYOND)[1] == cop.beyond
    assert _items(book, None)[1] == cop.total
    assert _items(book, None, "covered")[1] == cop.promised_off_documents


def test_forecast_items_by_hand(book):
    week1, amount = _items(book, 1)
    assert {(r.number, r.kind, r.amount) for r in week1} == {
        ("INV-O2", "invoice", 30_000),
        ("CUO-2", "installment", 15_000),
    }
    assert amount == 45_000
    week2, amount = _items(book, 2)
    assert [(r.source, r.number, r.amount, r.balance) for r in week2] == [
        ("promise", "", 45_000, 45_000),  # expected 04-09
        ("document", "INV-O6", 5_000, 10_000),  # 50 of its 100 left after the promise
    ]
    (o1,), _amount = _items(book, 3)
    assert (o1.number, o1.due_date, o1.expected) == ("INV-O1", D(2026, 4, 5), D(2026, 4, 15))
    past, amount = _items(book, PAST)
    assert [r.number for r in past] == ["INV-O3"] and amount == 20_000  # INV-O5 all promised
    covered, amount = _items(book, None, "covered")
    assert {(r.number, r.amount) for r in covered} == {("INV-O5", 40_000), ("INV-O6", 5_000)}
    assert amount == 45_000


def test_the_forecast_page_links_every_amount_to_its_items(client, reader, book):
    client.force_login(reader)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("reports:forecast") + QUERY).content.decode()
    items = reverse("reports:forecast_items")
    for link in ("week=1&amp;part=documents", "week=2&amp;part=promises", "week=3", "week=all"):
        assert link in page, link
    for link in ("week=past", "week=beyond", "part=covered"):
        assert link in page, link
    assert page.count(items) >= 7

    week2 = client.get(items + QUERY + "&week=2")
    text = week2.content.decode()
    assert week2.status_code == 200
    assert "INV-O6" in text and "Tres" in text and "Promise" in text
    assert "500,00" in text  # 450 + 50, the week's figure
    covered = client.get(items + QUERY + "&part=covered").content.decode()
    assert "INV-O5" in covered and "INV-O2" not in covered
    export = client.get(items + QUERY + "&week=1&export=csv")
    assert export.status_code == 200 and "CUO-2" in export.content.decode("utf-8-sig")
    assert client.get(items + QUERY + "&week=14").status_code == 404
    assert client.get(items + QUERY + "&part=nope").status_code == 404


def test_the_backtest_links_to_the_money_applied_in_its_weeks(
    client, reader, book, write_file, load
):
    load(
        "payments",
        write_file("april.csv", PAYMENTS + "P2,D2,2026-04-02,300.00,COP,INV-O2\n"),
        as_of=D(2026, 4, 14),
    )
    client.force_login(reader)
    url = reverse("reports:documents") + (
        "?as_of=2026-07-01&figure=applied&from=2026-04-01&to=2026-04-07"
    )
    text = client.get(url).content.decode()
    assert "INV-O2" in text and "300,00" in text and "INV-P1" not in text


def _counted(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries.captured_queries)


def test_forecast_items_read_a_fixed_number_of_queries(client, reader, book, write_file, load):
    client.force_login(reader)
    url = reverse("reports:forecast_items") + QUERY + "&week=1"
    few = _counted(client, url)
    more = (
        "external_id,debtor_external_id,name,kind,issue_date,due_date,amount,currency\n"
        + "".join(
            f"X{n},DX{n},Deudor {n},invoice,2026-03-01,2026-04-0{n % 7 + 1},{n}.00,COP\n"
            for n in range(1, 120)
        )
    )
    load("documents", write_file("more.csv", more), as_of=AS_OF)
    many = _counted(client, url + "&page=2")
    assert many == few <= 10


# --- productivity ------------------------------------------------------------------------------


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


def _promise(creditor, debtor, user, amount, promised, status):
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
        created_on=promised - datetime.timedelta(days=3),
    )


@pytest.fixture
def worked(book, actor, write_file, load):
    """Ana held D1 and D2; from 03-10 Beto holds D1. Payments before and after; contacts and
    promises of both."""
    ana = User.objects.create_user("ana", first_name="Ana", password="x-secret-1")
    beto = User.objects.create_user("beto", first_name="Beto", password="x-secret-1")
    d1, d2 = (Debtor.objects.get(external_id=e) for e in ("D1", "D2"))
    for debtor in (d1, d2):
        Account.objects.create(creditor=book, debtor=debtor, collector=ana)
    snapshots_write(creditor=book, as_of=D(2026, 3, 1), actor=actor)
    Account.objects.filter(debtor=d1).update(collector=beto)
    snapshots_write(creditor=book, as_of=D(2026, 3, 10), actor=actor)
    load(
        "payments",
        write_file(
            "march.csv",
            PAYMENTS
            + "M1,D1,2026-03-05,100.00,COP,INV-O1\n"  # Ana held D1
            + "M2,D1,2026-03-12,50.00,COP,INV-O1\n"  # Beto held D1
            + "M3,D2,2026-03-12,30.00,COP,INV-O3\n",  # Ana holds D2
        ),
        as_of=AS_OF,
    )
    _contact(book, d1, ana, D(2026, 3, 5), "call", True, "contactado")
    _contact(book, d1, ana, D(2026, 3, 5), "call", False, "no_contesta")
    _contact(book, d2, beto, D(2026, 3, 12), "visit", False, "tercero")
    _promise(book, d1, ana, 10_000, D(2026, 3, 6), PromiseStatus.KEPT)
    _promise(book, d2, ana, 30_000, D(2026, 3, 7), PromiseStatus.BROKEN)
    _promise(book, d1, beto, 5_000, D(2026, 3, 20), PromiseStatus.KEPT)
    return ana, beto


def test_kept_rate_by_count_and_by_amount_per_collector(worked, book):
    ana, beto = worked
    report = collector_productivity(creditors=[book], first=D(2026, 3, 1), last=AS_OF)
    rows = {r.collector_id: r for r in report.rows}
    a = rows[ana.pk].total
    assert (a.kept, a.broken, str(a.kept_rate)) == (1, 1, "50")
    assert (a.kept_amount["COP"], a.broken_amount["COP"]) == (10_000, 30_000)
    assert str(a.kept_rate_by_amount("COP")) == "25"
    assert str(rows[beto.pk].total.kept_rate_by_amount("COP")) == "100"
    assert a.kept_rate_by_amount("USD") is None


def test_the_lists_behind_each_collectors_figures_add_up(worked, book):
    ana, _beto = worked
    first = D(2026, 3, 1)
    report = collector_productivity(creditors=[book], first=first, last=AS_OF)
    ids = [book.pk]
    for row in report.rows:
        t = row.total
        who = row.collector_id
        if who is not None:
            for figure in ("attempted", "made", "right_party"):
                _rows, count = contacts_behind(
                    creditors=[book], first=first, last=AS_OF, figure=figure, collector=who
                )
                assert count == getattr(t, figure), (row.name, figure)
            taken, count = promises_behind(
                creditor_ids=ids, first=first, last=AS_OF, figure="promises", collector=who
            )
            assert count == t.promises
            assert sum(p.amount_minor for p in taken) == t.promised.get("COP", 0)
            decided, count = promises_behind(
                creditor_ids=ids, first=first, last=AS_OF, figure="decided", collector=who
            )
            assert count == t.kept + t.broken
            kept = sum(p.amount_minor for p in decided if p.status == PromiseStatus.KEPT)
            assert kept == t.kept_amount.get("COP", 0)
        payments, count, amount = payments_behind(
            creditor_ids=ids, first=first, last=AS_OF, currency="COP", collector=who
        )
        assert amount == t.collected.get("COP", 0) == sum(p.amount for p in payments)
    mine, _count, amount = payments_behind(
        creditor_ids=ids, first=first, last=AS_OF, currency="COP", collector=ana.pk
    )
    assert {p.external_id for p in mine} == {"M1", "M3"} and amount == 13_000
    assert {p.holder for p in mine} == {"Ana"}
    _all, count, amount = payments_behind(
        creditor_ids=ids, first=first, last=AS_OF, currency="COP", collector=EVERYONE
    )
    assert (count, amount) == (3, report.team.collected["COP"])


def visible(response) -> str:
    """The page's text without its tags: the random CSRF token in an attribute may hold "M2"."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_the_productivity_page_links_every_figure(client, reader, worked, book):
    ana, beto = worked
    client.force_login(reader)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("reports:productivity") + QUERY)
    text = response.content.decode()
    assert "Kept rate (by amount)" in text and "25,00 %" in text and "50,00 %" in text
    for figure in ("attempted", "made", "right_party", "promises", "decided", "collected"):
        assert f"figure={figure}&amp;collector={ana.pk}" in text, figure
    assert "figure=due&amp;collector=all" in text

    items = reverse("reports:productivity_items") + QUERY
    collected = visible(client.get(items + f"&figure=collected&collector={ana.pk}"))
    assert "M1" in collected and "M3" in collected and "M2" not in collected
    assert "130,00" in collected  # 100 + 30
    made = client.get(items + f"&figure=made&collector={ana.pk}").content.decode()
    assert "Uno" in made and "1 contact" in made
    decided = client.get(items + f"&figure=decided&collector={ana.pk}").content.decode()
    assert "Kept" in decided and "Broken" in decided and "2 promises" in decided
    export = client.get(items + f"&figure=decided&collector={ana.pk}&export=csv")
    assert export.status_code == 200
    assert client.get(items + "&figure=nope").status_code == 404
    assert client.get(items + "&figure=made&collector=x").status_code == 404
    # A list with nothing in it still names a collector of this creditor.
    Membership.objects.create(user=beto, creditor=book)
    empty = client.get(items + f"&figure=promises&collector={beto.pk}&as_of=2026-01-31")
    assert "Beto" in empty.content.decode()


def test_the_lists_read_a_fixed_number_of_queries(client, reader, worked, book, write_file, load):
    ana, _beto = worked
    client.force_login(reader)
    base = reverse("reports:productivity_items") + QUERY
    urls = [
        base + f"&figure=attempted&collector={ana.pk}",
        base + f"&figure=made&collector={ana.pk}",
        base + f"&figure=decided&collector={ana.pk}",
        base + "&figure=due&collector=all",
        base + f"&figure=collected&collector={ana.pk}",
        reverse("reports:productivity") + QUERY,
    ]
    few = [_counted(client, url) for url in urls]
    d1 = Debtor.objects.get(external_id="D1")
    for n in range(60):
        day = D(2026, 3, 1 + n % 28)
        _contact(book, d1, ana, day, "call", n % 2 == 0, "contactado" if n % 2 else "")
        _promise(book, d1, ana, 100 + n, day, PromiseStatus.KEPT)
    load(
        "payments",
        write_file(
            "more.csv",
            PAYMENTS
            + "".join(f"N{n},D2,2026-03-{1 + n % 28:02d},1.00,COP,INV-O2\n" for n in range(60)),
        ),
        as_of=AS_OF,
    )
    many = [_counted(client, url + "&page=2") for url in urls[:-1]]
    many.append(_counted(client, urls[-1]))
    assert many == few
    # Two of them check the role (the user's groups and permissions), one names the collector.
    assert max(few[:-1]) <= 11 and few[-1] <= 18


def test_another_creditors_user_sees_none_of_it(client, worked, actor):
    ana, _beto = worked
    roles_ensure()
    other = creditor_create(code="OTRO", name="Otro", country="MX", currency="MXN", actor=actor)
    outsider = User.objects.create_user("ajeno", password="x-secret-1")
    outsider.groups.add(Group.objects.get(name="supervisor"))
    Membership.objects.create(user=outsider, creditor=other)
    client.force_login(outsider)
    acme = Creditor.objects.get(code="ACME")
    for name in ("reports:forecast_items", "reports:productivity_items"):
        assert client.get(reverse(name) + f"?creditor={acme.pk}").status_code == 404
    # Their own creditor's lists never show ACME's payments, whoever the collector asked for.
    own = client.get(
        reverse("reports:productivity_items") + f"?figure=collected&collector={ana.pk}&days=90"
    )
    text = visible(own)
    assert own.status_code == 200 and "M1" not in text and "Ana" not in text
