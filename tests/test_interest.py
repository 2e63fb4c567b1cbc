"""Late interest and collection fees: off by default, charged by the daily run as ledger
entries, once a day at most, never above the legal maximum of the month, fees only after
documented collection work and within the country's caps."""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartera.negotiation.interest import fee_cap_minor, fees_charge, interest_accrue
from cartera.negotiation.models import FeeCap, FeeCapTier, NegotiationTerms, UsuryRate
from cartera.negotiation.services import dispute_open
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import (
    Activity,
    BalanceMode,
    Creditor,
    Debtor,
    Document,
    EntryKind,
    LedgerEntry,
)
from cartera.strategy.run import run_execute
from tests.helpers import rolled_back
from tests.negotiation_support import AS_OF, doc

pytest_plugins = ["tests.negotiation_fixtures"]
# A plugin's fixtures reach every test of the session, so these are asked for by name here.
pytestmark = pytest.mark.usefixtures("in_english", "home")

SEP, OCT, NOV, DEC = (datetime.date(2026, m, 1) for m in (9, 10, 11, 12))


def factor(percent: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40
        return (1 + Decimal(percent) / 100) ** (Decimal(1) / 365) - 1


def rounded(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def interest_on(number: str) -> list[tuple[datetime.date, int]]:
    return list(
        doc(number)
        .entries.filter(kind=EntryKind.INTEREST)
        .order_by("effective_date", "pk")
        .values_list("effective_date", "amount_minor")
    )


@pytest.fixture
def legal(db) -> None:
    for month, rate in ((SEP, "25.5"), (OCT, "25.5"), (NOV, "24"), (DEC, "24")):
        UsuryRate.objects.create(country="CO", month=month, annual_rate=Decimal(rate))


@pytest.fixture
def terms(creditor, legal) -> NegotiationTerms:
    return NegotiationTerms.objects.create(
        creditor=creditor, interest_enabled=True, interest_rate=Decimal("24")
    )


# -- late interest -----------------------------------------------------------------------------


def test_off_by_default(creditor, book, legal):
    assert interest_accrue(creditor=creditor, as_of=AS_OF)["documents"] == 0
    assert fees_charge(creditor=creditor, as_of=AS_OF)["documents"] == 0
    assert not LedgerEntry.objects.filter(kind__in=[EntryKind.INTEREST, EntryKind.FEE]).exists()


def test_interest_runs_from_the_due_date_at_the_creditors_rate(creditor, book, terms):
    result = interest_accrue(creditor=creditor, as_of=AS_OF)

    assert result["documents"] == 3
    # FV-3: 300,000.00 due 15 Oct, 39 days to 23 Nov at 24 % E.A. (below the maximum).
    expected = rounded(Decimal(30_000_000) * factor("24") * 39)
    assert expected == 689_738  # 6,897.38 pesos
    assert interest_on("FV-3") == [(AS_OF, expected)]
    assert doc("FV-3").balance_minor == 30_000_000 + expected
    entry = doc("FV-3").entries.get(kind=EntryKind.INTEREST)
    assert entry.memo == "late interest 2026-10-16..2026-11-23 on 30000000 at 24 % E.A."
    assert result["amount_minor"] == sum(
        amount for number in ("FV-1", "FV-2", "FV-3") for _day, amount in interest_on(number)
    )
    assert integrity_problems() == []


def test_running_a_day_twice_charges_nothing_twice(creditor, book, terms):
    interest_accrue(creditor=creditor, as_of=AS_OF)
    assert interest_accrue(creditor=creditor, as_of=AS_OF)["documents"] == 0
    interest_accrue(creditor=creditor, as_of=AS_OF + datetime.timedelta(days=1))

    charged = interest_on("FV-3")
    assert len(charged) == 2
    # The second day is charged on the principal only: never interest on interest.
    assert charged[1] == (AS_OF + datetime.timedelta(days=1), rounded(30_000_000 * factor("24")))
    assert integrity_problems() == []


def test_never_above_the_legal_maximum_of_each_month(creditor, book, terms):
    NegotiationTerms.objects.filter(creditor=creditor).update(interest_rate=Decimal("40"))

    interest_accrue(creditor=creditor, as_of=AS_OF)

    # October's 16 days at its maximum of 25.5 %, November's 23 days at 24 %.
    expected = rounded(Decimal(30_000_000) * (factor("25.5") * 16 + factor("24") * 23))
    assert interest_on("FV-3") == [(AS_OF, expected)]
    assert doc("FV-3").entries.get(kind=EntryKind.INTEREST).memo.endswith("at 24/25.5 % E.A.")


def test_a_month_without_a_legal_maximum_waits_for_it(creditor, book, terms):
    UsuryRate.objects.filter(month=OCT).delete()

    result = interest_accrue(creditor=creditor, as_of=AS_OF)
    assert result["documents"] == 0
    assert "2026-10" in result["months_without_maximum"]

    UsuryRate.objects.create(country="CO", month=OCT, annual_rate=Decimal("25.5"))
    assert (
        interest_accrue(creditor=creditor, as_of=AS_OF + datetime.timedelta(days=1))["documents"]
        == 3
    )
    assert interest_on("FV-3") == [
        (AS_OF + datetime.timedelta(days=1), rounded(Decimal(30_000_000) * factor("24") * 40))
    ]


def test_grace_days_and_documents_that_carry_no_interest(creditor, book, terms, as_laura, uno):
    NegotiationTerms.objects.filter(creditor=creditor).update(interest_grace_days=50)
    Document.objects.filter(number="FV-2").update(written_off_on=AS_OF)
    dispute_open(
        creditor=creditor,
        debtor=uno,
        documents=[doc("FV-1")],
        category="price",
        note="",
        as_of=AS_OF,
        actor=as_laura,
    )

    # FV-1 is disputed, FV-2 written off, FV-3 only 39 days late (grace 50).
    assert interest_accrue(creditor=creditor, as_of=AS_OF)["documents"] == 0
    NegotiationTerms.objects.filter(creditor=creditor).update(interest_grace_days=30)
    interest_accrue(creditor=creditor, as_of=AS_OF)
    assert interest_on("FV-3") == [(AS_OF, rounded(Decimal(30_000_000) * factor("24") * 9))]
    assert interest_on("FV-1") == interest_on("FV-2") == []


def test_an_erp_creditor_charges_in_its_erp(creditor, book, terms):
    Creditor.objects.filter(pk=creditor.pk).update(balance_mode=BalanceMode.ERP)
    creditor.refresh_from_db()
    assert interest_accrue(creditor=creditor, as_of=AS_OF)["documents"] == 0


def test_the_database_refuses_interest_without_a_rate_and_fees_undisclosed(creditor):
    with pytest.raises(IntegrityError), transaction.atomic():
        NegotiationTerms.objects.create(creditor=creditor, interest_enabled=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        NegotiationTerms.objects.create(
            creditor=creditor, fees_enabled=True, fee_percent=Decimal("10")
        )


@pytest.mark.parametrize("debtors", [3, 40])
def test_accrual_takes_the_same_queries_however_many_documents(
    creditor, terms, write_file, load, debtors, django_assert_max_num_queries
):
    lines = ["external_id,debtor_external_id,name,due_date,amount"]
    lines += [f"X{n},K{n},Cliente {n},2026-10-01,{1000 + n}.00" for n in range(debtors)]
    load("documents", write_file("many.csv", "\n".join(lines) + "\n"))

    with django_assert_max_num_queries(10):
        result = interest_accrue(creditor=creditor, as_of=AS_OF)

    assert result["documents"] == debtors
    assert integrity_problems() == []


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rate=st.decimals(1, 60, places=2),
    legal_max=st.decimals(1, 40, places=2),
    runs=st.lists(st.integers(1, 20), min_size=1, max_size=6),
    balance=st.integers(1, 10_000_000_000),
)
def test_charged_interest_never_exceeds_the_legal_maximum(
    creditor, terms, rate, legal_max, runs, balance
):
    with rolled_back():
        NegotiationTerms.objects.filter(creditor=creditor).update(interest_rate=rate)
        UsuryRate.objects.all().delete()
        for month in range(1, 13):
            UsuryRate.objects.create(
                country="CO", month=datetime.date(2027, month, 1), annual_rate=legal_max
            )
        debtor = Debtor.objects.create(
            creditor=creditor, external_id="H", name="H", country="CO", payment_reference="7"
        )
        due = datetime.date(2027, 1, 10)
        document = Document.objects.create(
            creditor=creditor,
            debtor=debtor,
            number="H-1",
            external_id="H-1",
            due_date=due,
            currency="COP",
            amount_minor=balance,
            balance_minor=balance,
            payment_reference="71",
        )
        LedgerEntry.objects.create(
            creditor=creditor,
            document=document,
            kind=EntryKind.CHARGE,
            amount_minor=balance,
            currency="COP",
            effective_date=due,
            recorded_by="tests",
        )
        day = due
        for step in runs:
            day += datetime.timedelta(days=step)
            interest_accrue(creditor=creditor, as_of=day)
            interest_accrue(creditor=creditor, as_of=day)  # twice the same day: no effect
        charged = (
            document.entries.filter(kind=EntryKind.INTEREST).aggregate(t=Sum("amount_minor"))["t"]
            or 0
        )
        days = (day - due).days
        ceiling = Decimal(balance) * factor(str(min(rate, legal_max))) * days
        # Each run rounds its own share half-up: at most half a unit above per run.
        assert charged <= ceiling + Decimal(len(runs)) / 2
        assert charged >= ceiling - Decimal(len(runs)) / 2
        assert document.entries.filter(kind=EntryKind.INTEREST).count() <= len(runs)
        assert integrity_problems() == []


# -- collection fees ---------------------------------------------------------------------------


@pytest.fixture
def fees(creditor) -> NegotiationTerms:
    return NegotiationTerms.objects.update_or_create(
        creditor=creditor,
        defaults={
            "fees_enabled": True,
            "fees_disclosed": True,
            "fee_percent": Decimal("15"),
            "fee_after_days": 20,
        },
    )[0]


def contact(debtor: Debtor, on: datetime.date) -> None:
    Activity.objects.create(
        creditor=debtor.creditor,
        debtor=debtor,
        kind="call",
        is_contact=True,
        at=timezone.make_aware(datetime.datetime.combine(on, datetime.time(10))),
    )


def fee_on(number: str) -> list[int]:
    return list(
        doc(number).entries.filter(kind=EntryKind.FEE).values_list("amount_minor", flat=True)
    )


def test_a_fee_needs_documented_work_after_the_document_fell_due(creditor, book, fees, uno, dos):
    contact(uno, datetime.date(2026, 8, 15))  # before FV-1 fell due: not work on it
    contact(dos, datetime.date(2026, 11, 20))

    result = fees_charge(creditor=creditor, as_of=AS_OF)

    assert result == {"documents": 1, "amount_minor": 4_500_000}
    assert fee_on("FV-3") == [4_500_000]  # 15 % of 300,000.00
    assert fee_on("FV-1") == fee_on("FV-2") == []
    # Once per document.
    contact(uno, datetime.date(2026, 11, 22))
    assert fees_charge(creditor=creditor, as_of=AS_OF)["documents"] == 2
    assert (
        fees_charge(creditor=creditor, as_of=AS_OF + datetime.timedelta(days=9))["documents"] == 0
    )
    assert fee_on("FV-3") == [4_500_000]
    assert integrity_problems() == []


def test_the_countrys_caps_and_days(creditor, book, fees, uno, dos):
    cap = FeeCap.objects.create(country="CO", currency="COP", min_days_past_due=40, source="test")
    FeeCapTier.objects.create(cap=cap, up_to_minor=10_000_000, percent=Decimal("9"))
    FeeCapTier.objects.create(cap=cap, up_to_minor=50_000_000, percent=Decimal("6"))
    FeeCapTier.objects.create(cap=cap, up_to_minor=None, percent=Decimal("3"))
    assert fee_cap_minor(cap, 100_000_000) == 900_000 + 2_400_000 + 1_500_000
    assert fee_cap_minor(cap, 30_000_000) == 900_000 + 1_200_000
    assert fee_cap_minor(cap, 5_000_000) == 450_000
    contact(uno, datetime.date(2026, 11, 20))
    contact(dos, datetime.date(2026, 11, 20))

    fees_charge(creditor=creditor, as_of=AS_OF)

    # FV-3 is 39 days late (the country waits 40); FV-1 and FV-2 are capped.
    assert fee_on("FV-1") == [4_800_000]
    assert fee_on("FV-2") == [900_000 + 2_400_000]
    assert fee_on("FV-3") == []
    fees_charge(creditor=creditor, as_of=AS_OF + datetime.timedelta(days=1))
    assert fee_on("FV-3") == [2_100_000]
    assert "cap CO: test" in doc("FV-3").entries.get(kind=EntryKind.FEE).memo


def test_interest_and_fees_in_the_daily_run(creditor, book, terms, fees, dos, actor):
    contact(dos, datetime.date(2026, 11, 20))
    report = run_execute(creditor=creditor, as_of=AS_OF, actor=actor)
    again = run_execute(creditor=creditor, as_of=AS_OF, actor=actor)

    assert report.negotiation["interest"]["documents"] == 3
    assert report.negotiation["fees"]["documents"] == 1
    assert again.negotiation["interest"]["documents"] == again.negotiation["fees"]["documents"] == 0
    # Fees never carry interest: the next day's interest is on the principal alone.
    run_execute(creditor=creditor, as_of=AS_OF + datetime.timedelta(days=1), actor=actor)
    assert interest_on("FV-3")[-1][1] == rounded(30_000_000 * factor("24"))
    assert integrity_problems() == []
