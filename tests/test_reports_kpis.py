"""KPIs: every formula against worked examples computed by hand, on a portfolio whose history
is built day by day (documents and payments imported on different dates, then past dates
asked), from the ledger and from the snapshots."""

from __future__ import annotations

import datetime
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from cartera.core.audit import Actor
from cartera.portfolio.models import Debtor
from cartera.portfolio.payments import payment_record
from cartera.reports.kpis import (
    best_possible_dso,
    calendar_months,
    cei,
    countback_dso,
    dso,
    kpis_compute,
    kpis_series,
    recovery_rate,
    two,
)
from cartera.reports.models import SnapshotDay
from cartera.reports.snapshots import snapshots_rebuild, snapshots_write
from tests.reports_support import EXPECTED, HEADER

pytest_plugins = ["tests.reports_fixtures"]

D = datetime.date


def test_countback_the_issues_illustration_with_30_day_months():
    # AR 212,000; sales of the month of t 100,000, then 80,000, then 70,000; 30-day months.
    # 212,000 - 100,000 = 112,000 (30 days); - 80,000 = 32,000 (60 days); 70,000 > 32,000:
    # 60 + 32,000 / 70,000 x 30 = 73.714…
    value = countback_dso(212_000, [(100_000, 30), (80_000, 30), (70_000, 30)])

    assert value is not None
    assert value.quantize(Decimal("0.1")) == Decimal("73.7")
    assert two(value) == "73.71"


def test_countback_edges():
    # What is left fits in the first month: a fraction of it.
    assert countback_dso(50, [(100, 30)]) == Decimal(15)
    # A month's sales equal to what is left do not exceed it: the next month adds 0 × days.
    assert countback_dso(100, [(100, 30), (40, 31)]) == Decimal(30)
    # History runs out before the receivables are explained: undefined.
    assert countback_dso(500, [(100, 30), (100, 31)]) is None
    # Nothing owed, something sold: zero days.
    assert countback_dso(0, [(100, 30)]) == Decimal(0)
    # A credit balance and a month without sales: nothing to divide by.
    assert countback_dso(-10, [(0, 30)]) is None
    # Nothing paid since the oldest sale: the history explains all of it, to its last month.
    assert countback_dso(2_234_55, [(999_99, 24), (0, 31), (1_234_56, 30)]) == Decimal(85)
    # Explained within November: an October without sales adds no days.
    assert countback_dso(100, [(100, 24), (0, 31), (50, 30)]) == Decimal(24)


def test_calendar_months_are_real_and_the_month_of_t_counts_up_to_t():
    months = list(calendar_months(D(2026, 3, 15), D(2025, 12, 20)))

    assert months == [
        (D(2026, 3, 1), D(2026, 3, 15), 15),
        (D(2026, 2, 1), D(2026, 2, 28), 28),
        (D(2026, 1, 1), D(2026, 1, 31), 31),
        (D(2025, 12, 1), D(2025, 12, 31), 31),
    ]


def test_formulas_on_numbers():
    # DSO = 2,050 / 1,500 x 30; best possible = 1,100 / 1,500 x 30.
    assert dso(205_000, 150_000, 30) == Decimal(41)
    assert best_possible_dso(110_000, 150_000, 30) == Decimal(22)
    # CEI = (1,900 + 1,500 - 2,050) / (1,900 + 1,500 - 1,100) x 100 = 1,350 / 2,300 x 100.
    assert two(cei(190_000, 150_000, 205_000, 110_000)) == "58.70"
    assert two(recovery_rate(80_000, 130_000)) == "61.54"
    # Zero denominators are undefined, never zero.
    assert dso(1, 0, 90) is None
    assert best_possible_dso(1, 0, 90) is None
    assert cei(100, 0, 0, 100) is None
    assert recovery_rate(5, 0) is None


# The portfolio built day by day and its hand-computed figures: tests/reports_fixtures.py.


def test_kpis_of_a_past_date_from_the_ledger(history):
    (kpis,) = kpis_compute(creditor_ids=[history.pk], as_of=D(2026, 3, 31), days=30)

    assert kpis.as_json() == EXPECTED
    assert (kpis.overdue_start, kpis.collected_on_overdue) == (130_000, 80_000)
    assert not SnapshotDay.objects.exists()


def test_an_earlier_date_sees_only_what_had_happened(history):
    # End of 2026-02-28 over 28 days (start 01-31): INV-A 1,000 (overdue since 02-09),
    # INV-B 600 and PN-G 500 - 200 = 300 (due that day: current). AR(start) = INV-A 1,000.
    # Sales (01-31, 02-28]: INV-B 600 (PN-G is not sales). DSO = 1,900 / 600 × 28 = 88.67;
    # best possible 900 / 600 × 28 = 42.00; CEI (1,000 + 600 - 1,900) / (1,000 + 600 - 900)
    # = -300 / 700 = -42.86 %. Nothing was overdue at the start (INV-A fell due on 02-09):
    # the recovery rate has no base and is null.
    (kpis,) = kpis_compute(creditor_ids=[history.pk], as_of=D(2026, 2, 28), days=28)

    data = kpis.as_json()
    assert (data["ar_start"], data["ar_end"], data["current_end"], data["sales"]) == (
        "1000.00",
        "1900.00",
        "900.00",
        "600.00",
    )
    assert (data["dso"], data["best_possible_dso"], data["cei"]) == ("88.67", "42.00", "-42.86")
    assert data["recovery_rate"] is None
    # Countback: February sold 600 ≤ 1,900 → 1,300 left (28 days); January sold 1,000
    # (INV-A) ≤ 1,300 → 300 left (59 days); nothing was sold before January: undefined.
    assert data["dso_countback"] is None


def test_snapshots_give_the_same_figures_as_the_ledger(history, actor):
    # The daily run writes the days one by one (here, the days the period needs).
    for day in (D(2026, 3, 1), D(2026, 3, 31)):
        snapshots_write(creditor=history, as_of=day, actor=actor)
    assert set(SnapshotDay.objects.values_list("day", flat=True)) >= {
        D(2026, 3, 1),
        D(2026, 3, 31),
    }

    (kpis,) = kpis_compute(creditor_ids=[history.pk], as_of=D(2026, 3, 31), days=30)

    assert kpis.as_json() == EXPECTED


def test_rebuilt_history_gives_the_same_figures(history, actor):
    snapshots_rebuild(creditor=history, first=D(2026, 1, 1), last=D(2026, 4, 10), actor=actor)

    series = kpis_series(
        creditor_ids=[history.pk], points=[D(2026, 2, 28), D(2026, 3, 31)], days=30
    )

    assert series[D(2026, 3, 31)][0].as_json() == EXPECTED
    SnapshotDay.objects.all().delete()
    ledger = kpis_series(creditor_ids=[history.pk], points=[D(2026, 2, 28)], days=30)
    assert series[D(2026, 2, 28)][0].as_json() == ledger[D(2026, 2, 28)][0].as_json()


def test_a_snapshot_shows_what_was_known_on_its_day(history, actor):
    """A snapshot freezes the day; a rebuild brings in what was loaded later."""
    snapshots_write(creditor=history, as_of=D(2026, 3, 31), actor=actor)
    payment_record(
        creditor=history,
        debtor=Debtor.objects.get(creditor=history, external_id="D3"),
        amount_minor=1000,
        currency="COP",
        date=D(2026, 3, 31),
        external_id="LATE",
        actor=actor,
    )
    (frozen,) = kpis_compute(creditor_ids=[history.pk], as_of=D(2026, 3, 31), days=30)
    assert frozen.as_json()["ar_end"] == "2050.00"

    snapshots_rebuild(creditor=history, first=D(2026, 3, 31), last=D(2026, 3, 31), actor=actor)
    (rebuilt,) = kpis_compute(creditor_ids=[history.pk], as_of=D(2026, 3, 31), days=30)
    assert rebuilt.as_json()["ar_end"] == "2040.00"


def test_currencies_are_never_summed(creditor, write_file, load):
    load(
        "documents",
        write_file(
            "docs.csv",
            HEADER
            + "U1,D1,Uno,invoice,2026-03-10,2026-04-09,100.00,USD\n"
            + "C1,D1,Uno,invoice,2026-03-10,2026-04-09,100000,COP\n",
        ),
        as_of=D(2026, 3, 31),
    )

    figures = kpis_compute(creditor_ids=[creditor.pk], as_of=D(2026, 3, 31), days=30)

    assert [(k.currency, k.ar_end, k.sales) for k in figures] == [
        ("COP", 10_000_000, 10_000_000),
        ("USD", 10_000, 10_000),
    ]
    # Everything sold in the period is still open and not yet due.
    assert all(k.as_json()["dso"] == "30.00" for k in figures)
    assert all(k.as_json()["average_days_delinquent"] == "0.00" for k in figures)


def test_cli_json_contract(history, capsys):
    call_command("report", "kpis", "--as-of", "2026-03-31", "--days", "30", "--format", "json")

    assert json.loads(capsys.readouterr().out) == [EXPECTED]


def test_cli_table(history):
    args = ("report", "kpis", "--as-of", "2026-03-31", "--days", "30", "--creditor", "acme")
    out = io.StringIO()
    with translation.override("en"):
        call_command(*args, stdout=out)

    text = out.getvalue()
    assert "KPIs as of 2026-03-31 over 30 days (from 2026-03-01)" in text
    assert "countback DSO (days)" in text
    # es_CO writes amounts, days and rates alike, whatever the language.
    assert "2.050,00" in text and "56,67" in text and "61,54 %" in text

    spanish = io.StringIO()
    call_command(*args, stdout=spanish)  # Spanish, the installation's language by default
    text = spanish.getvalue()
    assert "Indicadores al 2026-03-31 en 30 días (desde el 2026-03-01)" in text
    assert "DSO por agotamiento (días)" in text and "tasa de recuperación" in text
    assert "56,67" in text and "61,54 %" in text


def test_cli_wrong_numbers_are_explained_in_spanish(creditor):
    with pytest.raises(CommandError) as wrong:
        call_command("report", "kpis", "--days", "x", stdout=io.StringIO())
    assert "'x' no es un número entero" in str(wrong.value)
    with pytest.raises(CommandError) as negative:
        call_command("report", "provision", "--factor", "-1", stdout=io.StringIO())
    assert "'-1': el factor no puede ser negativo" in str(negative.value)


def test_cli_nothing_open_nor_issued_is_an_empty_list(creditor, capsys):
    call_command("report", "kpis", "--as-of", "2026-03-31", "--format", "json")

    assert json.loads(capsys.readouterr().out) == []


def test_cli_wrong_usage_exits_2(creditor):
    with pytest.raises(CommandError) as unknown, translation.override("en"):
        call_command("report", "kpis", "--creditor", "NOPE", stdout=io.StringIO())
    assert unknown.value.returncode == 2
    assert "no creditor with code 'NOPE'" in str(unknown.value)


def test_installments_that_refinance_an_agreement_are_not_sales(creditor, write_file, load, actor):
    from django.contrib.auth.models import User

    agreements = pytest.importorskip("cartera.negotiation.agreements")
    agreement_approve, agreement_propose = (
        agreements.agreement_approve,
        agreements.agreement_propose,
    )

    load(
        "documents",
        write_file(
            "docs.csv",
            HEADER
            + "A,D1,Uno,invoice,2026-01-10,2026-02-09,1000.00,COP\n"
            + "Q,D2,Dos,cuota,2026-03-02,2026-04-02,50.00,COP\n",
        ),
        as_of=D(2026, 3, 1),
    )
    agreement = agreement_propose(
        creditor=creditor,
        debtor=Debtor.objects.get(external_id="D1"),
        installments=2,
        as_of=D(2026, 3, 3),
        actor=actor,
        annual_rate=Decimal(0),
    )
    boss = User.objects.create_superuser("jefa", password="x-secret-1")
    agreement_approve(agreement=agreement, as_of=D(2026, 3, 3), actor=Actor.for_user(boss))
    from cartera.portfolio.models import Document

    assert Document.objects.filter(kind="installment", agreement_installment__isnull=False).count()

    (kpis,) = kpis_compute(creditor_ids=[creditor.pk], as_of=D(2026, 3, 31), days=30)

    # Only the installment Q, loaded from a file, is sales; the agreement's are not.
    assert kpis.sales == 5_000
    # What is owed did not change: 1,000 refinanced into installments, and Q.
    assert kpis.ar_end == 105_000
