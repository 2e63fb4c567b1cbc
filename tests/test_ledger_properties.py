"""Property: for any sequence of imports and payments, `check` passes and aging adds up."""

from __future__ import annotations

import datetime
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import Allocation, Document, LedgerEntry, Payment
from cartera.reports.aging import aging_report
from tests.helpers import rolled_back

START = datetime.date(2026, 1, 1)

document_rows = st.lists(
    st.tuples(
        st.sampled_from(["D0", "D1", "D2", "D3", "D4", "D5"]),
        st.sampled_from(["C0", "C1", "C2"]),
        st.integers(0, 300),  # issue day offset
        st.integers(0, 90),  # term in days
        st.integers(1, 5_000_000),  # amount in cents
        st.booleans(),  # credit note?
        st.one_of(st.none(), st.integers(0, 100)),  # balance as % of amount
    ),
    min_size=1,
    max_size=6,
)
payment_rows = st.lists(
    st.tuples(
        st.sampled_from(["C0", "C1", "C2"]),
        st.integers(0, 330),  # date offset
        st.integers(1, 3_000_000),
        st.one_of(st.none(), st.sampled_from(["D0", "D1", "D2", "D3", "D4", "D5"])),
    ),
    max_size=5,
)
operations = st.lists(
    st.one_of(
        document_rows.map(lambda r: ("documents", r)), payment_rows.map(lambda r: ("payments", r))
    ),
    max_size=5,
)


def documents_csv(rows) -> str:
    lines = ["external_id,debtor_external_id,name,issue_date,due_date,amount,balance"]
    for doc, debtor, issue, term, cents, credit, balance_pct in rows:
        issue_date = START + datetime.timedelta(days=issue)
        due_date = issue_date + datetime.timedelta(days=term)
        amount = f"{'-' if credit else ''}{cents // 100}.{cents % 100:02d}"
        balance = (
            ""
            if balance_pct is None
            else f"{cents * balance_pct // 10000}.{cents * balance_pct // 100 % 100:02d}"
        )
        if credit and balance:
            balance = "-" + balance
        lines.append(f"{doc},{debtor},Deudor {debtor},{issue_date},{due_date},{amount},{balance}")
    return "\n".join(lines) + "\n"


def payments_csv(rows) -> str:
    lines = ["debtor_external_id,date,amount,document_external_id"]
    for debtor, offset, cents, doc in rows:
        date = START + datetime.timedelta(days=offset)
        lines.append(f"{debtor},{date},{cents // 100}.{cents % 100:02d},{doc or ''}")
    return "\n".join(lines) + "\n"


def expected_net(as_of: datetime.date) -> int:
    """Open balances minus unapplied credits at the end of `as_of`, straight from the rows."""
    owed = sum(
        LedgerEntry.objects.filter(effective_date__lte=as_of).values_list("amount_minor", flat=True)
    )
    applied_by: dict[int, int] = defaultdict(int)
    for payment_id, amount in Allocation.objects.filter(
        entry__effective_date__lte=as_of
    ).values_list("payment_id", "amount_minor"):
        applied_by[payment_id] += amount
    unapplied = sum(
        amount - applied_by[pk]
        for pk, amount in Payment.objects.filter(date__lte=as_of).values_list("pk", "amount_minor")
    )
    return owed - unapplied


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations, probe=st.integers(0, 400))
def test_check_passes_and_aging_adds_up(creditor, write_file, load, ops, probe):
    with rolled_back():
        for number, (kind, rows) in enumerate(ops):
            text = documents_csv(rows) if kind == "documents" else payments_csv(rows)
            load(
                kind,
                write_file(f"{kind}{number}.csv", text),
                as_of=START + datetime.timedelta(days=200),
            )

        assert integrity_problems() == []
        for as_of in (START + datetime.timedelta(days=probe), datetime.date(2027, 12, 31)):
            report = aging_report(creditors=[creditor], as_of=as_of)
            net = sum(row.net for row in report.rows)
            assert net == expected_net(as_of)
            open_documents = sum(row.documents for row in report.rows)
            if as_of.year == 2027:
                assert open_documents == Document.objects.filter(balance_minor__gt=0).count()
