"""Whatever the amounts, rate, frequency and method, an approved agreement moves exactly the
principal from the bundled documents onto its installments (hypothesis)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartera.core.audit import Actor
from cartera.core.money import from_minor
from cartera.negotiation.agreements import agreement_propose
from cartera.negotiation.models import AgreementInstallment, AgreementStatus, UsuryRate
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import Debtor, Document, EntryKind, LedgerEntry
from tests.helpers import rolled_back

pytest_plugins = ["tests.negotiation_fixtures"]
# A plugin's fixtures reach every test of the session, so these are asked for by name here.
pytestmark = pytest.mark.usefixtures("in_english", "home")

AS_OF = datetime.date(2026, 11, 23)


@pytest.fixture
def boss(db) -> User:
    return User.objects.create_superuser("jefa", password="x-secret-1")


@pytest.fixture
def debtor(creditor) -> Debtor:
    UsuryRate.objects.create(country="CO", month=AS_OF.replace(day=1), annual_rate=Decimal("30"))
    return Debtor.objects.create(
        creditor=creditor, external_id="C1", name="Uno S.A.S.", country="CO", payment_reference="9"
    )


def _owe(debtor: Debtor, amounts: list[int]) -> None:
    for n, amount in enumerate(amounts):
        document = Document.objects.create(
            creditor=debtor.creditor,
            debtor=debtor,
            number=f"FV-{n}",
            external_id=f"D-{n}",
            due_date=AS_OF - datetime.timedelta(days=30 * (n + 1)),
            currency="COP",
            amount_minor=amount,
            balance_minor=amount,
            payment_reference=f"1{n}",
        )
        LedgerEntry.objects.create(
            creditor=debtor.creditor,
            document=document,
            kind=EntryKind.CHARGE,
            amount_minor=amount,
            currency="COP",
            effective_date=document.due_date,
            recorded_by="tests",
        )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    amounts=st.lists(st.integers(10_000, 5_000_000_000), min_size=1, max_size=3),
    installments=st.integers(1, 48),
    rate=st.decimals(0, 30, places=2),
    down_share=st.integers(0, 60),
    discount_share=st.integers(0, 30),
    frequency=st.sampled_from(["monthly", "semimonthly", "biweekly", "weekly"]),
    method=st.sampled_from(["french", "german"]),
)
def test_principal_parts_and_installment_documents_add_up(
    debtor, boss, amounts, installments, rate, down_share, discount_share, frequency, method
):
    with rolled_back():
        _owe(debtor, amounts)
        owed = sum(amounts)
        discount = owed * discount_share // 100
        down = (owed - discount) * down_share // 100
        agreement = agreement_propose(
            creditor=debtor.creditor,
            debtor=debtor,
            installments=installments,
            as_of=AS_OF,
            actor=Actor.for_user(boss),
            frequency=frequency,
            method=method,
            annual_rate=rate,
            down_payment=from_minor(down, "COP"),
            discount=from_minor(discount, "COP"),
        )

        assert agreement.status == AgreementStatus.ACTIVE
        principal = owed - discount
        schedule = list(AgreementInstallment.objects.filter(agreement=agreement).order_by("n"))
        # Principal parts (down payment included) sum exactly to the principal; the balance
        # ends at zero; each installment is its principal plus its interest.
        assert sum(row.principal_minor for row in schedule) == principal
        assert schedule[-1].balance_minor == 0
        assert all(
            row.payment_minor == row.principal_minor + row.interest_minor for row in schedule
        )
        assert len(schedule) == installments + (1 if down else 0)
        # The installments' documents owe the principal plus the interest, no more, no less.
        documents = Document.objects.filter(agreement_installment__agreement=agreement)
        assert documents.aggregate(t=Sum("balance_minor"))["t"] == (
            principal + agreement.total_interest_minor
        )
        refinanced = LedgerEntry.objects.filter(
            kind=EntryKind.REFINANCE, memo=f"agreement {agreement.number}"
        )
        assert refinanced.filter(amount_minor__gt=0).aggregate(t=Sum("amount_minor"))["t"] == (
            principal
        )
        assert refinanced.aggregate(t=Sum("amount_minor"))["t"] == 0
        assert not Document.objects.filter(number__startswith="FV-", balance_minor__gt=0).exists()
        assert integrity_problems() == []
