"""The balances at a past date and the drill-downs read the ledger by shortcuts (cached balance
less the later entries that do not cancel, unapplied payments read apart, pages cut before
names are joined): they must give exactly what the plain definition gives. The definition is
computed here the slow way, entry by entry, on a portfolio built day by day (a balance column
whose prior payments detailed payments later explain, payments applied late, a reversal),
and compared for every day."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

import pytest

from cartera.core.audit import Actor
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import Creditor, Debtor, Document, LedgerEntry, Payment
from cartera.portfolio.payments import (
    PaymentOrder,
    payment_apply,
    payment_record,
    payment_reverse,
    payments_record_bulk,
)
from cartera.reports.aging import aging_report, make_buckets
from cartera.reports.queries import (
    CREDIT_BUCKET,
    ledger_bucket_totals,
    open_documents,
    recovered_documents,
    sales_documents,
)
from tests.reports_support import HEADER, D

pytest_plugins = ["tests.reports_fixtures"]

DOCUMENTS = (
    "external_id,debtor_external_id,name,issue_date,due_date,amount,balance,currency\n"
    # Partly paid before the first import: the balance column books a prior payment.
    "F1,C1,Uno,2026-01-05,2026-02-04,1000.00,400.00,COP\n"
    "F2,C1,Uno,2026-01-20,2026-02-19,500.00,500.00,COP\n"
    "F3,C2,Dos,2026-02-01,2026-03-03,800.00,0.00,COP\n"
    "F4,C2,Dos,2026-02-10,2026-03-12,300.00,300.00,COP\n"
    "N1,C2,Dos,2026-02-15,2026-02-15,-120.00,-120.00,COP\n"
    "U1,C3,Tres,2026-01-15,2026-02-14,70.00,70.00,USD\n"
)
# Detailed payments arrive later: those dated before the import explain its prior payments
# (and cancel them on the import's day), the others lower the balances on their own day.
PAYMENTS = (
    "external_id,debtor_external_id,date,amount,currency,document_external_id\n"
    "P1,C1,2026-02-01,600.00,COP,F1\n"
    "P2,C2,2026-02-20,500.00,COP,F3\n"
    "P3,C2,2026-02-25,300.00,COP,F3\n"
    "P4,C1,2026-03-10,150.00,COP,F2\n"
    "P5,C2,2026-03-15,100.00,COP,F4\n"
)


def _bucket(buckets: list[Any], dpd: int) -> str:
    for bucket in buckets:
        if (bucket.low is None or dpd >= bucket.low) and (
            bucket.high is None or dpd <= bucket.high
        ):
            return str(bucket.name)
    raise AssertionError(dpd)


def by_definition(creditor: Creditor, as_of: datetime.date) -> dict[tuple[str, str], Any]:
    """{(debtor, currency): (amounts, credits, documents)} summing every entry up to `as_of`."""
    buckets = make_buckets()
    balance: dict[int, int] = defaultdict(int)
    for document_id, amount in LedgerEntry.objects.filter(
        creditor=creditor, effective_date__lte=as_of
    ).values_list("document_id", "amount_minor"):
        balance[document_id] += amount
    rows: dict[tuple[str, str], Any] = {}

    def row(debtor: Debtor, currency: str) -> Any:
        return rows.setdefault(
            (debtor.external_id, currency), [dict.fromkeys((b.name for b in buckets), 0), 0, 0]
        )

    for document in Document.objects.filter(pk__in=list(balance)).select_related("debtor"):
        amount = balance[document.pk]
        if amount > 0:
            target = row(document.debtor, document.currency)
            target[0][_bucket(buckets, (as_of - document.due_date).days)] += amount
            target[2] += 1
        elif amount < 0:
            row(document.debtor, document.currency)[1] += amount
    for payment in Payment.objects.filter(creditor=creditor, date__lte=as_of).select_related(
        "debtor"
    ):
        applied = sum(
            a.amount_minor
            for a in payment.allocations.select_related("entry")
            if a.entry.effective_date <= as_of and not a.entry.reversed_by.exists()
        )
        if payment.amount_minor - applied:
            row(payment.debtor, payment.currency)[1] -= payment.amount_minor - applied
    return {k: (v[0], v[1], v[2]) for k, v in rows.items()}


def aging_by_debtor(creditor: Creditor, as_of: datetime.date) -> dict[tuple[str, str], Any]:
    """The aging by debtor in the shape of `by_definition`."""
    report = aging_report(creditors=[creditor], as_of=as_of, by="debtor")
    return {
        (row.key["debtor"], row.currency): (row.amounts, row.credits, row.documents)
        for row in report.rows
    }


@pytest.fixture
def book(creditor: Creditor, write_file, load, actor: Actor) -> Creditor:
    load("documents", write_file("docs.csv", DOCUMENTS), as_of=D(2026, 2, 16))
    load("payments", write_file("pays.csv", PAYMENTS), as_of=D(2026, 3, 20))
    uno = Debtor.objects.get(creditor=creditor, external_id="C1")
    dos = Debtor.objects.get(creditor=creditor, external_id="C2")
    # Money received unapplied, applied later (its allocation is dated like the payment).
    late = payment_record(
        creditor=creditor,
        debtor=uno,
        amount_minor=20000,
        currency="COP",
        date=D(2026, 3, 5),
        external_id="P6",
        actor=actor,
    )
    payment_apply(payment=late, actor=actor)
    # Partly applied, the rest stays a credit.
    partial = payment_record(
        creditor=creditor,
        debtor=dos,
        amount_minor=50000,
        currency="COP",
        date=D(2026, 3, 18),
        external_id="P7",
        actor=actor,
    )
    payment_apply(
        payment=partial,
        allocations=[(Document.objects.get(creditor=creditor, external_id="F4"), 10000)],
        actor=actor,
    )
    # Misapplied, then reversed: as of any date it never happened.
    payment_reverse(payment=Payment.objects.get(external_id="P5"), reason="wrong", actor=actor)
    return creditor


def test_the_portfolio_has_what_the_shortcuts_must_get_right(book):
    kinds = set(LedgerEntry.objects.values_list("kind", flat=True))
    assert {"prior_payment", "prior_identified", "payment", "reversal"} <= kinds


@pytest.mark.parametrize("by", ["creditor", "debtor"])
def test_aging_equals_the_definition_on_every_day(book, by):
    day = D(2026, 1, 1)
    while day <= D(2026, 4, 10):
        expected = by_definition(book, day)
        if by == "debtor":
            assert aging_by_debtor(book, day) == expected, day
        else:
            report = aging_report(creditors=[book], as_of=day, by=by)
            totals: dict[str, Any] = {}
            for (_debtor, currency), (amounts, credits, documents) in expected.items():
                total = totals.setdefault(currency, [defaultdict(int), 0, 0])
                for name, value in amounts.items():
                    total[0][name] += value
                total[1] += credits
                total[2] += documents
            got = {row.currency: (row.amounts, row.credits, row.documents) for row in report.rows}
            assert got == {c: (dict(t[0]), t[1], t[2]) for c, t in totals.items()}, day
        day += datetime.timedelta(days=1)


@pytest.fixture
def applied_late(book: Creditor, write_file, load, actor: Actor) -> Creditor:
    """Payments received before the document they pay was issued: each is a credit until the
    document's issue date, when its allocation takes effect. One from a file, one applied
    by hand, one from a statement (the bulk path); one of them reversed later."""
    creditor = book
    load(
        "payments",
        write_file(
            "late.csv",
            "external_id,debtor_external_id,date,amount,currency,document_external_id\n"
            "L1,C3,2026-01-10,30.00,USD,U1\n",
        ),
        as_of=D(2026, 3, 20),
    )
    uno = Debtor.objects.get(creditor=creditor, external_id="C1")
    dos = Debtor.objects.get(creditor=creditor, external_id="C2")
    ahead = payment_record(
        creditor=creditor,
        debtor=uno,
        amount_minor=5000,
        currency="COP",
        date=D(2026, 1, 2),
        external_id="L2",
        actor=actor,
    )
    payment_apply(
        payment=ahead,
        allocations=[(Document.objects.get(creditor=creditor, external_id="F2"), 3000)],
        actor=actor,
    )
    f4 = Document.objects.get(creditor=creditor, external_id="F4")
    (statement,) = payments_record_bulk(
        creditor=creditor,
        orders=[PaymentOrder(dos.pk, "L3", D(2026, 2, 1), "COP", 4000, documents=(f4.pk,))],
        actor=actor,
    )
    payment_reverse(payment=Payment.objects.get(pk=statement[0]), reason="wrong", actor=actor)
    late = dict(
        Payment.objects.filter(external_id__startswith="L").values_list(
            "external_id", "applied_late_on"
        )
    )
    assert late == {"L1": D(2026, 1, 15), "L2": D(2026, 1, 20), "L3": D(2026, 2, 10)}
    return creditor


def test_aging_with_payments_applied_late_equals_the_definition_on_every_day(applied_late):
    assert integrity_problems() == []
    day = D(2026, 1, 1)
    while day <= D(2026, 3, 1):
        assert aging_by_debtor(applied_late, day) == by_definition(applied_late, day), day
        day += datetime.timedelta(days=1)


# Prior payments that do not cancel: one no payment ever explains (F5), one on a credit note
# (a positive prior entry, N2), and one explained by a payment that is then reversed (F1).
PRIORS_LEFT = (
    "F5,C3,Tres,2026-01-10,2026-02-09,200.00,50.00,USD\n"
    "N2,C2,Dos,2026-02-15,2026-02-15,-80.00,-30.00,COP\n"
)


@pytest.fixture
def uncancelled(creditor: Creditor, write_file, load, actor: Actor) -> Creditor:
    load("documents", write_file("docs.csv", DOCUMENTS + PRIORS_LEFT), as_of=D(2026, 2, 16))
    load("payments", write_file("pays.csv", PAYMENTS), as_of=D(2026, 3, 20))
    payment_reverse(payment=Payment.objects.get(external_id="P1"), reason="wrong", actor=actor)
    return creditor


def test_prior_payments_that_do_not_cancel_are_read_from_their_documents(uncancelled):
    nets = dict(
        Document.objects.exclude(prior_net_minor=0).values_list("number", "prior_net_minor")
    )
    # F1's prior (-600) and its identification by P1 (+600) cancel; the identification's
    # reversal is an ordinary entry. P2 and P3 came after the import: F3's prior stays.
    assert nets == {"F3": -80000, "F5": -15000, "N2": 5000}
    assert LedgerEntry.objects.filter(kind="reversal", reverses__kind="prior_identified").exists()
    assert set(Document.objects.exclude(prior_on=None).values_list("prior_on", flat=True)) == {
        D(2026, 2, 16)
    }
    assert integrity_problems() == []
    day = D(2026, 1, 1)
    while day <= D(2026, 4, 10):
        expected = by_definition(uncancelled, day)
        report = aging_report(creditors=[uncancelled], as_of=day, by="debtor")
        got = {
            (row.key["debtor"], row.currency): (row.amounts, row.credits, row.documents)
            for row in report.rows
        }
        assert got == expected, day
        day += datetime.timedelta(days=1)


def test_the_ledger_bucket_totals_and_the_open_list_equal_the_definition(book):
    for day in (D(2026, 2, 10), D(2026, 2, 16), D(2026, 3, 1), D(2026, 3, 19), D(2026, 4, 1)):
        expected = by_definition(book, day)
        totals = ledger_bucket_totals([book.pk], day)
        for currency in ("COP", "USD"):
            rows = [v for (_d, c), v in expected.items() if c == currency]
            ar = sum(sum(a.values()) + credits for a, credits, _n in rows)
            assert (totals[currency].ar if currency in totals else 0) == ar, (day, currency)
            listed, count, whole = open_documents(
                creditor_ids=[book.pk], as_of=day, currency=currency, page_size=2
            )
            everything, _count, _whole = open_documents(
                creditor_ids=[book.pk], as_of=day, currency=currency, page_size=100
            )
            documents = sum(n for _a, _c, n in rows)
            assert count == len(everything) >= documents
            # A page of the list says what the whole list adds up to.
            assert whole == sum(r.amount for r in everything)
            assert listed == everything[:2]
            assert [r.amount for r in everything] == sorted(
                (r.amount for r in everything), reverse=True
            )


def test_sales_drill_down_by_hand(history):
    rows, total, _whole = sales_documents(
        creditor_ids=[history.pk], first=D(2026, 3, 2), last=D(2026, 3, 31), currency="COP"
    )
    # INV-C, INV-D and the installment INS-F were issued in the period; not the credit note.
    assert total == 3
    assert [(r.number, r.amount, r.debtor) for r in rows] == [
        ("INV-C", 80000, "Dos"),
        ("INV-D", 40000, "Dos"),
        ("INS-F", 30000, "Tres"),
    ]
    second, total, _whole = sales_documents(
        creditor_ids=[history.pk],
        first=D(2026, 3, 2),
        last=D(2026, 3, 31),
        currency="COP",
        page=2,
        page_size=2,
    )
    assert (total, [r.number for r in second]) == (3, ["INS-F"])


def test_recovered_drill_down_by_hand(history):
    rows, total, _whole = recovered_documents(
        creditor_ids=[history.pk],
        first=D(2026, 3, 2),
        last=D(2026, 3, 31),
        due_before=D(2026, 3, 1),
        currency="COP",
    )
    # P1 700 on INV-A (due 02-09) and P4 100 on PN-G (due 02-28); P2 paid INV-D, due later.
    assert total == 2
    assert [(r.number, r.amount) for r in rows] == [("INV-A", 70000), ("PN-G", 10000)]
    everything, total, _whole = recovered_documents(
        creditor_ids=[history.pk],
        first=D(2026, 3, 2),
        last=D(2026, 3, 31),
        due_before=None,
        currency="COP",
        page=2,
        page_size=2,
    )
    # Without a due date: INV-A 700, INV-D 400, PN-G 100; the second page of two is PN-G.
    assert (total, [(r.number, r.amount) for r in everything]) == (3, [("PN-G", 10000)])


def test_a_prior_payment_and_what_explains_it_cancel_in_the_recovered_list(book):
    rows, _total, _whole = recovered_documents(
        creditor_ids=[book.pk],
        first=D(2026, 2, 16),
        last=D(2026, 2, 16),
        due_before=None,
        currency="COP",
    )
    # The import's day: F1's prior payment of 600 is all explained by P1 (dated 02-01), F3's
    # prior 800 by P2 and P3 (after the import: they explain it on their own days).
    expected: dict[str, int] = defaultdict(int)
    for number, amount in LedgerEntry.objects.filter(
        effective_date=D(2026, 2, 16),
        kind__in=["prior_payment", "prior_identified", "payment"],
    ).values_list("document__number", "amount_minor"):
        expected[number] -= amount
    assert {r.number: r.amount for r in rows} == {k: v for k, v in expected.items() if v}


def money_by_definition(creditor: Creditor, first: datetime.date, last: datetime.date) -> Any:
    """{(day, currency, due date): money collected} summing every money entry, prior payments
    and their identifications included, one by one."""
    from cartera.reports.queries import MONEY_KINDS

    moved: dict[tuple[datetime.date, str, datetime.date], int] = defaultdict(int)
    for entry in LedgerEntry.objects.filter(
        creditor=creditor, effective_date__range=(first, last)
    ).select_related("document"):
        if entry.kind in MONEY_KINDS or (entry.kind == "reversal" and entry.payment_id):
            key = (entry.effective_date, entry.currency, entry.document.due_date)
            moved[key] -= entry.amount_minor
    return {key: amount for key, amount in moved.items() if amount}


def test_money_collected_from_the_ledger_counts_the_prior_payments_left(uncancelled, actor):
    """Days without a snapshot read the ledger, whose index leaves out the prior payments:
    their net comes from the documents, and must give what the entries give one by one."""
    from cartera.reports.models import DailyFlow
    from cartera.reports.queries import collected_by_day, collected_on_due_before
    from cartera.reports.snapshots import snapshots_rebuild

    first, last = D(2026, 1, 1), D(2026, 4, 10)
    expected = money_by_definition(uncancelled, first, last)
    assert any(amount for (day, _c, _d), amount in expected.items() if day == D(2026, 2, 16))
    by_day: dict[str, dict[datetime.date, int]] = defaultdict(lambda: defaultdict(int))
    for (day, currency, _due), amount in expected.items():
        by_day[currency][day] += amount
    got = collected_by_day([uncancelled.pk], first, last)
    assert {c: {d: a for d, a in days.items() if a} for c, days in got.items()} == {
        c: {d: a for d, a in days.items() if a} for c, days in by_day.items()
    }
    due_before = D(2026, 3, 1)
    before: dict[str, int] = defaultdict(int)
    for (_day, currency, due), amount in expected.items():
        if due < due_before:
            before[currency] += amount
    got_before = collected_on_due_before([uncancelled.pk], first, last, due_before)
    assert {c: a for c, a in got_before.items() if a} == {c: a for c, a in before.items() if a}

    snapshots_rebuild(creditor=uncancelled, first=first, last=last, actor=actor)
    flows = {
        (f.day, f.currency, f.due_date): f.collected_minor
        for f in DailyFlow.objects.filter(creditor=uncancelled)
        if f.collected_minor
    }
    assert flows == expected


def test_the_credits_list_shows_the_biggest_credit_first(creditor, write_file, load):
    notes = HEADER + "".join(
        f"NC-{n},D{n},Deudor {n},nota credito,2026-03-01,2026-03-01,-{amount}.00,COP\n"
        for n, amount in enumerate((50, 700, 200))
    )
    load("documents", write_file("notes.csv", notes), as_of=D(2026, 3, 2))
    credits, count, whole = open_documents(
        creditor_ids=[creditor.pk], as_of=D(2026, 3, 2), currency="COP", buckets=[CREDIT_BUCKET]
    )
    assert [r.number for r in credits] == ["NC-1", "NC-2", "NC-0"]
    assert (count, whole) == (3, -95000)
