"""Payment-agreement schedules: the rate conversion, the dates, the rounding and the CLI."""

from __future__ import annotations

import datetime
import itertools
import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from cartera.negotiation.plans import (
    Frequency,
    Method,
    PlanError,
    default_first_date,
    due_dates,
    period_rate,
    plan_build,
)

D = datetime.date


def test_the_effective_annual_rate_becomes_the_period_rate_unrounded():
    # (1 + 0.24) ** (1/12) - 1 = 0.018087582483510674…
    assert str(period_rate(Decimal(24), Frequency.MONTHLY))[:14] == "0.018087582483"
    assert period_rate(Decimal(0), Frequency.WEEKLY) == 0
    # Compounding the period rate k times gives back the annual rate.
    for frequency, k in [("semimonthly", 24), ("biweekly", 26), ("weekly", 52)]:
        rate = period_rate(Decimal("12.5"), Frequency(frequency))
        assert abs((1 + rate) ** k - Decimal("1.125")) < Decimal("1e-20")


def test_monthly_dates_keep_the_day_or_the_months_last_day():
    assert due_dates(D(2026, 1, 31), 4, Frequency.MONTHLY) == [
        D(2026, 1, 31),
        D(2026, 2, 28),
        D(2026, 3, 31),
        D(2026, 4, 30),
    ]


def test_semimonthly_dates_fall_on_the_15th_and_the_months_end():
    assert due_dates(D(2026, 2, 16), 4, Frequency.SEMIMONTHLY) == [
        D(2026, 2, 28),
        D(2026, 3, 15),
        D(2026, 3, 31),
        D(2026, 4, 15),
    ]
    assert due_dates(D(2026, 2, 15), 2, Frequency.SEMIMONTHLY) == [D(2026, 2, 15), D(2026, 2, 28)]


def test_biweekly_and_weekly_dates_and_the_default_first_date():
    assert due_dates(D(2026, 12, 24), 3, Frequency.BIWEEKLY)[-1] == D(2027, 1, 21)
    assert due_dates(D(2026, 12, 24), 3, Frequency.WEEKLY)[-1] == D(2027, 1, 7)
    today = D(2026, 11, 24)
    assert default_first_date(today, Frequency.MONTHLY) == D(2026, 12, 24)
    assert default_first_date(today, Frequency.SEMIMONTHLY) == D(2026, 11, 30)
    assert default_first_date(today, Frequency.BIWEEKLY) == D(2026, 12, 8)


def test_a_french_plan_worked_by_hand():
    """1,000.00 USD at 12.682503 % E.A. (1 % a month), 3 monthly payments.

    Payment = 1000 × 0.01 / (1 − 1.01⁻³) = 340.0221… → 340.02.
    1: interest 10.00, principal 330.02, balance 669.98
    2: interest 6.70 (6.6998), principal 333.32, balance 336.66
    3: interest 3.37 (3.3666), principal 336.66 (the rest), payment 340.03.
    """
    rate = (Decimal("1.01") ** 12 - 1) * 100
    plan = plan_build(
        principal=Decimal(1000),
        installments=3,
        currency="USD",
        first_date=D(2026, 12, 1),
        annual_rate_percent=rate,
    )
    rows = [(i.payment, i.interest, i.principal, i.balance) for i in plan.installments]
    assert rows == [
        (34002, 1000, 33002, 66998),
        (34002, 670, 33332, 33666),
        (34003, 337, 33666, 0),
    ]
    assert plan.as_json()["period_rate"] == "0.0100000000"
    assert plan.as_json()["total_interest"] == "20.07"
    assert plan.as_json()["total_paid"] == "1020.07"


def test_a_german_plan_with_a_down_payment():
    """900.00 financed (1,000 − 100) in 4 parts of 225.00 at 1 % a month."""
    plan = plan_build(
        principal=Decimal(1000),
        down_payment=Decimal(100),
        installments=4,
        currency="USD",
        first_date=D(2026, 12, 1),
        annual_rate_percent=(Decimal("1.01") ** 12 - 1) * 100,
        method=Method.GERMAN,
    )
    assert [i.principal for i in plan.installments] == [22500] * 4
    assert [i.interest for i in plan.installments] == [900, 675, 450, 225]
    data = plan.as_json()
    assert (data["principal"], data["down_payment"], data["financed"]) == (
        "1000.00",
        "100.00",
        "900.00",
    )
    assert data["total_paid"] == "1022.50"


def test_a_currency_without_decimals_rounds_to_whole_units():
    plan = plan_build(
        principal=Decimal(1000), installments=3, currency="CLP", first_date=D(2026, 12, 1)
    )
    assert [i.principal for i in plan.installments] == [333, 333, 334]
    assert plan.as_json()["installments"][2]["payment"] == "334"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"installments": 0}, "at least one installment"),
        ({"down_payment": Decimal(1000)}, "less than the principal"),
        ({"principal": Decimal(0)}, "more than zero"),
        ({"annual_rate_percent": Decimal(-1)}, "cannot be negative"),
        ({"principal": Decimal("0.02"), "installments": 4}, "too little to split"),
    ],
)
def test_impossible_plans_are_refused_with_the_reason(kwargs, message):
    values = {
        "principal": Decimal(1000),
        "installments": 3,
        "currency": "USD",
        "first_date": D(2026, 12, 1),
    }
    values.update(kwargs)
    with translation.override("en"), pytest.raises(PlanError, match=message):
        plan_build(**values)


def test_refusals_speak_the_users_language():
    """The account page shows these reasons to collectors, in Spanish by default."""
    with translation.override("es"), pytest.raises(PlanError, match="al menos una cuota"):
        plan_build(
            principal=Decimal(1000), installments=0, currency="COP", first_date=D(2026, 12, 1)
        )
    with translation.override("es"), pytest.raises(PlanError, match="muy poco para dividir en 4"):
        plan_build(
            principal=Decimal("0.02"), installments=4, currency="USD", first_date=D(2026, 12, 1)
        )


@settings(max_examples=300, deadline=None)
@given(
    principal=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e10"), places=2),
    installments=st.integers(min_value=1, max_value=120),
    rate=st.decimals(min_value=0, max_value=200, places=4),
    frequency=st.sampled_from(list(Frequency)),
    method=st.sampled_from(list(Method)),
    currency=st.sampled_from(["COP", "USD", "CLP", "KWD"]),
    share=st.integers(min_value=0, max_value=99),
)
def test_principal_parts_always_sum_to_the_financed_amount(
    principal, installments, rate, frequency, method, currency, share
):
    down = (principal * share / 100).quantize(Decimal("0.01"))
    try:
        plan = plan_build(
            principal=principal,
            installments=installments,
            currency=currency,
            first_date=D(2026, 1, 31),
            annual_rate_percent=rate,
            frequency=frequency,
            down_payment=down,
            method=method,
        )
    except PlanError:
        return  # rounding made the principal or the down payment impossible in this currency
    parts = plan.installments
    assert sum(i.principal for i in parts) == plan.financed
    assert parts[-1].balance == 0
    assert all(i.principal >= 0 and i.interest >= 0 for i in parts)
    assert all(i.payment == i.principal + i.interest for i in parts)
    balances = [plan.financed] + [i.balance for i in parts]
    assert all(a >= b for a, b in itertools.pairwise(balances))
    dates = [i.due_date for i in parts]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    if method == Method.FRENCH and installments > 1:
        # Equal payments but the last, which carries the remainder.
        assert len({i.payment for i in parts[:-1]}) == 1


def cartera(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, on its own embedded database under CARTERA_HOME."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "cartera", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_the_plan_command_prints_the_json_contract(tmp_path, monkeypatch):
    monkeypatch.setenv("CARTERA_HOME", str(tmp_path))
    result = cartera(
        "plan",
        "--principal",
        "1000000",
        "--installments",
        "12",
        "--annual-rate",
        "24",
        "--first-date",
        "2027-01-31",
        "--currency",
        "COP",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == [
        "principal",
        "down_payment",
        "financed",
        "period_rate",
        "installments",
        "total_interest",
        "total_paid",
    ]
    assert data["period_rate"] == "0.0180875825"
    assert list(data["installments"][0]) == [
        "n",
        "due_date",
        "payment",
        "interest",
        "principal",
        "balance",
    ]
    assert data["installments"][1]["due_date"] == "2027-02-28"
    assert data["installments"][-1]["balance"] == "0.00"
    table = cartera("plan", "--principal", "1000", "--installments", "2", "--currency", "USD")
    assert table.returncode == 0 and "total" in table.stdout


def test_the_plan_command_refuses_wrong_usage_with_status_2(tmp_path, monkeypatch):
    monkeypatch.setenv("CARTERA_HOME", str(tmp_path))
    assert cartera("plan", "--principal", "1.000,50", "--installments", "2").returncode == 2
    bad = cartera("plan", "--principal", "100", "--installments", "2", "--currency", "XXY")
    assert bad.returncode == 2 and "XXY" in bad.stderr
    none = cartera("plan", "--principal", "100", "--installments", "2")
    assert none.returncode == 2 and "--currency" in none.stderr
