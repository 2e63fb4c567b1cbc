"""Roll rates and the provision matrix against matrices computed by hand, from the ledger,
from rebuilt snapshots and from the daily run's snapshots."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from cartera.core.audit import Actor
from cartera.portfolio.models import Creditor, Document
from cartera.reports.models import MonthBalance, RollCount
from cartera.reports.provisions import loss_rates, mean, provision_compute
from cartera.reports.rollrates import roll_accounts, rollrates_compute
from cartera.reports.snapshots import snapshots_rebuild, snapshots_write

D = datetime.date
JAN, FEB, MAR = D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31)

# Accounts, their documents (due, amount) and what happened:
#   A1  due 01-20 1,000   never paid            Jan: 1-30 (11 dpd) → Feb: 31-60 → Mar: 61-90
#   A2  due 01-10   500   paid 02-15            Jan: 1-30 → paid
#   A3  due 12-15   400   paid 02-10; new invoice issued 02-20 due 03-15 (200)
#                                               Jan: 31-60 → Feb: current (cured) → Mar: 1-30
#   A4  due 12-01   300   written off 02-15     Jan: 61-90 → written off
#   A5  due 02-15   800   never paid            Jan: current → Feb: 1-30 → Mar: 31-60
#   A6  due 02-20   600   paid 02-18            Jan: current → paid
#   A7  due 12-20   250   paid 02-05; due 01-25 150 paid 03-10
#                                               Jan: 31-60 (oldest) with 400 → Feb: 31-60 (150)
#                                               → paid
#   A8  due 2025-07-01 100  written off 02-20   Jan: 181+ → written off
#   A9  due 2025-06-01 700  never paid          181+ throughout
DOCUMENTS = (
    "external_id,debtor_external_id,name,issue_date,due_date,amount,currency\n"
    "A1,A1,Uno,2025-12-21,2026-01-20,1000.00,COP\n"
    "A2,A2,Dos,2025-12-11,2026-01-10,500.00,COP\n"
    "A3,A3,Tres,2025-11-15,2025-12-15,400.00,COP\n"
    "A3b,A3,Tres,2026-02-20,2026-03-15,200.00,COP\n"
    "A4,A4,Cuatro,2025-11-01,2025-12-01,300.00,COP\n"
    "A5,A5,Cinco,2026-01-15,2026-02-15,800.00,COP\n"
    "A6,A6,Seis,2026-01-20,2026-02-20,600.00,COP\n"
    "A7a,A7,Siete,2025-11-20,2025-12-20,250.00,COP\n"
    "A7b,A7,Siete,2025-12-26,2026-01-25,150.00,COP\n"
    "A8,A8,Ocho,2025-06-01,2025-07-01,100.00,COP\n"
    "A9,A9,Nueve,2025-05-01,2025-06-01,700.00,COP\n"
)
PAYMENTS = (
    "external_id,debtor_external_id,date,amount,currency,document_external_id\n"
    "P2,A2,2026-02-15,500.00,COP,A2\n"
    "P3,A3,2026-02-10,400.00,COP,A3\n"
    "P6,A6,2026-02-18,600.00,COP,A6\n"
    "P7a,A7,2026-02-05,250.00,COP,A7a\n"
    "P7b,A7,2026-03-10,150.00,COP,A7b\n"
)


@pytest.fixture
def portfolio(creditor: Creditor, write_file, load) -> Creditor:
    load("documents", write_file("docs.csv", DOCUMENTS), as_of=D(2026, 1, 2))
    load("payments", write_file("pay.csv", PAYMENTS), as_of=MAR)
    Document.objects.filter(external_id="A4").update(written_off_on=D(2026, 2, 15))
    Document.objects.filter(external_id="A8").update(written_off_on=D(2026, 2, 20))
    return creditor


def percent(value: Decimal | None) -> str | None:
    return None if value is None else str((value * 100).quantize(Decimal("0.01")))


def check_matrices(report) -> None:
    (cop,) = report.currencies
    assert cop.currency == "COP"
    jan, feb = cop.months
    assert (jan.start, jan.end, feb.start, feb.end) == (JAN, FEB, FEB, MAR)
    # January → February.
    current, d30, d60, d90 = jan.rows[0], jan.rows[1], jan.rows[2], jan.rows[3]
    assert (current.balance, current.accounts) == (140_000, 2)  # A5 800, A6 600
    assert percent(current.share("later")) == "57.14"  # A5: 800 / 1,400
    assert percent(current.share("paid")) == "42.86"  # A6
    assert percent(current.share("b1")) == "57.14"
    assert (d30.balance, percent(d30.share("later")), percent(d30.share("paid"))) == (
        150_000,
        "66.67",  # A1 1,000 / 1,500
        "33.33",  # A2
    )
    assert d60.balance == 80_000  # A3 400, A7 400
    assert (percent(d60.share("cured")), percent(d60.share("same"))) == ("50.00", "50.00")
    assert percent(d60.forward()) == "0.00"
    assert (d90.balance, percent(d90.share("written_off")), percent(d90.forward())) == (
        30_000,
        "100.00",
        "100.00",
    )
    assert [jan.rows[i].balance for i in (4, 5, 6)] == [0, 0, 0]
    assert jan.rows[4].share("later") is None
    last = jan.rows[7]  # A8 100 written off, A9 700 still there
    assert (last.balance, percent(last.share("written_off")), percent(last.share("same"))) == (
        80_000,
        "12.50",
        "87.50",
    )
    assert percent(last.forward()) == "12.50"
    # February → March.
    assert (feb.rows[0].balance, percent(feb.rows[0].share("later"))) == (20_000, "100.00")
    assert (feb.rows[1].balance, percent(feb.rows[1].share("later"))) == (80_000, "100.00")
    d60 = feb.rows[2]  # A1 1,000 rolls on, A7 150 paid
    assert (d60.balance, d60.accounts) == (115_000, 2)
    assert (percent(d60.share("later")), percent(d60.share("paid"))) == ("86.96", "13.04")
    assert feb.rows[3].balance == 0  # A4 is written off: out of the matrix
    assert (feb.rows[7].balance, percent(feb.rows[7].forward())) == (70_000, "0.00")


def test_roll_rates_from_the_ledger(portfolio):
    report = rollrates_compute(creditor_ids=[portfolio.pk], as_of=D(2026, 4, 10), months=2)

    check_matrices(report)
    assert not any(m.from_snapshot for m in report.currencies[0].months)
    assert not RollCount.objects.exists()


def test_roll_rates_from_rebuilt_snapshots(portfolio, actor: Actor):
    snapshots_rebuild(creditor=portfolio, first=D(2026, 1, 1), last=MAR, actor=actor)
    assert set(MonthBalance.objects.values_list("month_end", flat=True)) == {JAN, FEB, MAR}

    report = rollrates_compute(creditor_ids=[portfolio.pk], as_of=MAR, months=2)

    check_matrices(report)
    assert all(m.from_snapshot for m in report.currencies[0].months)


def test_roll_rates_from_the_daily_runs_snapshots(portfolio, actor: Actor):
    for day in (JAN, FEB, MAR):
        snapshots_write(creditor=portfolio, as_of=day, actor=actor)
    # A run in the middle of a month restates nothing of the month end before it.
    snapshots_write(creditor=portfolio, as_of=D(2026, 4, 10), actor=actor)
    assert RollCount.objects.filter(month_end=JAN).exists()

    check_matrices(rollrates_compute(creditor_ids=[portfolio.pk], as_of=MAR, months=2))


@pytest.mark.parametrize("snapshots", [False, True])
def test_drill_down_lists_the_accounts_of_a_cell(portfolio, actor, snapshots):
    if snapshots:
        snapshots_rebuild(creditor=portfolio, first=D(2026, 1, 1), last=MAR, actor=actor)

    rows, total = roll_accounts(
        creditor_ids=[portfolio.pk],
        start=JAN,
        currency="COP",
        from_bucket=2,
        state="cured",
    )
    assert total == 1
    (a3,) = rows
    assert (a3.external_id, a3.balance_start, a3.bucket_end, a3.balance_end) == (
        "A3",
        40_000,
        0,
        20_000,
    )
    rows, total = roll_accounts(
        creditor_ids=[portfolio.pk], start=FEB, currency="COP", from_bucket=2, state="later"
    )
    assert [(r.external_id, r.bucket_end) for r in rows] == [("A1", 3)]
    rows, total = roll_accounts(
        creditor_ids=[portfolio.pk],
        start=JAN,
        currency="COP",
        from_bucket=7,
        state="written_off",
    )
    assert [(r.external_id, r.bucket_end, r.balance_end) for r in rows] == [("A8", None, 0)]


def test_loss_rates_are_products_of_forward_rates_times_the_factor():
    forward = [Decimal("0.5"), Decimal("0.4"), Decimal("0.5"), Decimal("1")]
    # 0.5×0.4×0.5×1 = 0.1; 0.4×0.5×1 = 0.2; 0.5×1 = 0.5; 1; times 1.5, capped at 1.
    assert loss_rates(forward, Decimal("1.5")) == [
        Decimal("0.150"),
        Decimal("0.30"),
        Decimal("0.75"),
        Decimal("1"),
    ]
    # A bucket without history rolls at 0: everything before it has no loss.
    assert loss_rates([Decimal("0.5"), None, Decimal("1")], Decimal(1)) == [0, 0, 1]
    assert mean([Decimal(1), None, Decimal(0)]) == Decimal("0.5")
    assert mean([None]) is None


def test_provision_matrix_from_the_portfolio(portfolio):
    provision = provision_compute(
        creditor_ids=[portfolio.pk], as_of=MAR, window=2, factor=Decimal("1.2")
    )

    (cop,) = provision.currencies
    lines = cop.lines
    # Balances at 03-31 by document, written-off documents (A4, A8) left out:
    # A3b 200 (16 dpd), A5 800 (44), A1 1,000 (70), A9 700 (303).
    assert [line.balance for line in lines] == [0, 20_000, 80_000, 100_000, 0, 0, 0, 70_000]
    # Forward rates month by month (inputs) and their means.
    assert [percent(r) for r in lines[0].monthly_rates] == ["57.14", "100.00"]
    assert [percent(r) for r in lines[7].monthly_rates] == ["12.50", "0.00"]
    assert percent(lines[7].forward_rate) == "6.25"
    assert lines[4].forward_rate is None  # 91-120 never held a balance
    # 181+: 6.25 % × 1.2 = 7.5 %; 700 × 7.5 % = 52.50. The buckets before 91-120 roll through
    # buckets without history: no loss.
    assert lines[7].loss_rate == Decimal("0.0750")
    assert lines[7].expected_loss == 5_250
    assert [line.expected_loss for line in lines[:7]] == [0] * 7
    assert cop.expected_loss == 5_250
    assert provision.as_json()["currencies"][0]["expected_loss"] == "52.50"
    assert provision.months_used == [(JAN, FEB), (FEB, MAR)]


def test_the_provision_page_gives_no_zero_warning_when_write_offs_feed_it(client, portfolio):
    from django.contrib.auth.models import Group, User
    from django.urls import reverse

    from cartera.core.roles import roles_ensure
    from cartera.portfolio.models import Membership

    roles_ensure()
    user = User.objects.create_user("jefa", password="x-secret-1")
    user.groups.add(Group.objects.get(name="supervisor"))
    Membership.objects.create(user=user, creditor=portfolio)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("reports:provision") + "?as_of=2026-03-31&window=2&factor=1.2")
    text = page.content.decode()
    assert page.status_code == 200 and "52,50" in text
    assert "was written off in these" not in text
