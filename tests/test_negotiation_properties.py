"""Property: for any payments, a promise (or each part of a plan) is kept exactly when the
payments applied within its window reach its amount (plus the earlier parts'), and records
what was paid towards it otherwise."""

from __future__ import annotations

import datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartera.core.audit import Actor
from cartera.negotiation.models import Promise, PromiseStatus
from cartera.negotiation.services import promise_create, promise_plan_create, promises_decide
from cartera.portfolio.models import Allocation, Debtor, Document
from tests.helpers import rolled_back

TAKEN = datetime.date(2026, 11, 2)
DOCUMENTS = (
    "external_id,debtor_external_id,name,issue_date,due_date,amount\n"
    "A,C1,Uno S.A.S.,2026-09-01,2026-10-01,10000.00\n"
    "B,C1,Uno S.A.S.,2026-09-01,2026-10-15,10000.00\n"
    "Z,C2,Dos Ltda.,2026-09-01,2026-10-01,10000.00\n"
)

parts_strategy = st.lists(
    # cents (three parts never add up to more than document A's 10,000.00: a promise above what
    # is open is refused), days after the last part
    st.tuples(st.integers(1, 333_333), st.integers(0, 8)),
    min_size=1,
    max_size=3,
)
payments_strategy = st.lists(
    st.tuples(
        st.integers(-5, 30),  # days after the promise was taken
        st.integers(1, 150_000),  # cents: never more than a document's balance in all
        st.sampled_from(["A", "B", "Z"]),
    ),
    max_size=6,
)


def cents(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"


class Oracle:
    """The rule, computed straight from the payments list."""

    def __init__(self, parts, payments, whole_account: bool, grace: int):
        self.covered = {"A", "B"} if whole_account else {"A"}
        self.payments = payments
        self.parts = []
        before = 0
        for amount, date in parts:
            self.parts.append((amount, date + datetime.timedelta(days=grace), before))
            before += amount
        self.state = [(PromiseStatus.PENDING, 0, None)] * len(parts)

    def paid(self, until: datetime.date) -> int:
        return sum(
            amount
            for date, amount, document in self.payments
            if document in self.covered and TAKEN <= date <= until
        )

    def run(self, as_of: datetime.date) -> None:
        for k, (amount, deadline, before) in enumerate(self.parts):
            if self.state[k][0] != PromiseStatus.PENDING or as_of < TAKEN:
                continue
            paid = self.paid(min(as_of, deadline)) - before
            if paid >= amount:
                self.state[k] = (PromiseStatus.KEPT, amount, as_of)
            elif as_of > deadline:
                self.state[k] = (PromiseStatus.BROKEN, max(0, min(paid, amount)), as_of)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    parts=parts_strategy,
    payments=payments_strategy,
    whole_account=st.booleans(),
    grace=st.integers(0, 4),
    probe=st.integers(-2, 40),
)
def test_a_promise_is_kept_iff_the_payments_in_its_window_reach_it(
    creditor, write_file, load, parts, payments, whole_account, grace, probe
):
    actor = Actor.system("tests")
    dated_parts = []
    date = TAKEN
    for amount, gap in parts:
        date += datetime.timedelta(days=gap if not dated_parts else gap + 1)
        dated_parts.append((amount, date))
    dated_payments = [
        (TAKEN + datetime.timedelta(days=offset), amount, document)
        for offset, amount, document in payments
    ]
    with rolled_back():
        load("documents", write_file("documents.csv", DOCUMENTS))
        uno = Debtor.objects.get(external_id="C1")
        documents = [] if whole_account else [Document.objects.get(external_id="A")]
        if len(dated_parts) == 1:
            taken = [
                promise_create(
                    creditor=creditor,
                    debtor=uno,
                    amount=Decimal(cents(dated_parts[0][0])),
                    promised_date=dated_parts[0][1],
                    as_of=TAKEN,
                    actor=actor,
                    documents=documents,
                    grace_days=grace,
                )
            ]
        else:
            plan = promise_plan_create(
                creditor=creditor,
                debtor=uno,
                parts=[(Decimal(cents(amount)), date) for amount, date in dated_parts],
                as_of=TAKEN,
                actor=actor,
                documents=documents,
                grace_days=grace,
            )
            taken = list(plan.parts.order_by("promised_date"))
        if dated_payments:
            lines = ["external_id,debtor_external_id,date,amount,document_external_id"]
            for n, (day, amount, document) in enumerate(dated_payments):
                debtor = "C2" if document == "Z" else "C1"
                lines.append(f"P{n},{debtor},{day},{cents(amount)},{document}")
            result = load("payments", write_file("payments.csv", "\n".join(lines) + "\n"))
            assert result.rejected == 0
            # Each payment lands whole on the document it names.
            assert Allocation.objects.count() == len(dated_payments)

        oracle = Oracle(dated_parts, dated_payments, whole_account, grace)
        last_deadline = dated_parts[-1][1] + datetime.timedelta(days=grace)
        days = [TAKEN + datetime.timedelta(days=probe)]
        days.append(max(days[0], last_deadline + datetime.timedelta(days=1)))
        for as_of in days:
            promises_decide(creditor=creditor, as_of=as_of)
            oracle.run(as_of)
            found = [
                (p.status, p.paid_minor, p.decided_on)
                for p in Promise.objects.filter(pk__in=[t.pk for t in taken]).order_by(
                    "promised_date"
                )
            ]
            assert found == oracle.state, as_of
        assert not Promise.objects.filter(status=PromiseStatus.PENDING).exists()
