"""The synthetic portfolio: deterministic, valid for the importers, and realistic in shape."""

from __future__ import annotations

import csv
import datetime
import re
import tracemalloc
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from stdnum.mx import rfc as mx_rfc

from cartera.demo.generator import (
    DEBTOR_HEADER,
    DOCUMENT_HEADER,
    PAYMENT_HEADER,
    generate_portfolio,
)
from cartera.portfolio.identity import (
    guess_is_company,
    is_valid_payment_reference,
    normalize_phone,
    validate_tax_id,
)

AS_OF = datetime.date(2025, 6, 30)
FILES = ("debtors.csv", "documents.csv", "payments.csv")
DECIMALS = {"COP": 2, "MXN": 2, "EUR": 2, "CLP": 0, "PEN": 2}
CURRENCY = {"CO": "COP", "MX": "MXN", "ES": "EUR", "CL": "CLP", "PE": "PEN"}


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def header(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def generate(out: Path, **kwargs: object) -> dict[str, int]:
    arguments: dict[str, object] = {
        "debtors": 300,
        "documents": 1500,
        "seed": 7,
        "out_dir": out,
        "as_of": AS_OF,
    }
    arguments.update(kwargs)
    return generate_portfolio(**arguments)  # type: ignore[arg-type]


@dataclass
class Portfolio:
    country: str
    counts: dict[str, int]
    debtors: list[dict[str, str]]
    documents: list[dict[str, str]]
    payments: list[dict[str, str]]
    paid: dict[str, Decimal] = field(default_factory=dict)


@pytest.fixture(scope="module", params=["CO", "MX", "ES", "CL", "PE"])
def portfolio(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Portfolio:
    country = request.param
    out = tmp_path_factory.mktemp(f"portfolio_{country}")
    counts = generate(out, country=country)
    result = Portfolio(
        country,
        counts,
        read(out / "debtors.csv"),
        read(out / "documents.csv"),
        read(out / "payments.csv"),
    )
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for payment in result.payments:
        paid[payment["document_external_id"]] += Decimal(payment["amount"])
    result.paid = paid
    return result


# --- determinism --------------------------------------------------------------------------


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    generate(tmp_path / "a")
    generate(tmp_path / "b")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_another_seed_gives_other_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", seed=1)
    generate(tmp_path / "b", seed=2)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes()


def test_global_random_state_is_not_touched(tmp_path: Path) -> None:
    import random

    random.seed(123)
    expected = random.random()
    random.seed(123)
    generate(tmp_path, debtors=20, documents=50)
    assert random.random() == expected


# --- formats ------------------------------------------------------------------------------


def test_headers_are_exact(tmp_path: Path) -> None:
    generate(tmp_path, debtors=5, documents=10)
    assert header(tmp_path / "debtors.csv") == [
        "external_id", "tax_id", "tax_id_type", "name", "kind", "email", "phone", "mobile",
        "address", "city", "country",
    ]  # fmt: skip
    assert header(tmp_path / "documents.csv") == [
        "external_id", "number", "debtor_external_id", "kind", "issue_date", "due_date",
        "amount", "currency", "balance",
    ]  # fmt: skip
    assert header(tmp_path / "payments.csv") == [
        "external_id", "debtor_external_id", "date", "amount", "currency",
        "document_external_id", "reference", "method",
    ]  # fmt: skip
    assert list(DEBTOR_HEADER) == header(tmp_path / "debtors.csv")
    assert list(DOCUMENT_HEADER) == header(tmp_path / "documents.csv")
    assert list(PAYMENT_HEADER) == header(tmp_path / "payments.csv")


def test_counts_match_the_rows(portfolio: Portfolio) -> None:
    assert portfolio.counts == {
        "debtors": len(portfolio.debtors),
        "documents": len(portfolio.documents),
        "payments": len(portfolio.payments),
    }
    assert len(portfolio.debtors) == 300
    assert len(portfolio.documents) == 1500


def test_ids_and_numbers_are_unique(portfolio: Portfolio) -> None:
    for rows, key in (
        (portfolio.debtors, "external_id"),
        (portfolio.debtors, "tax_id"),
        (portfolio.documents, "external_id"),
        (portfolio.documents, "number"),
        (portfolio.payments, "external_id"),
    ):
        values = [row[key] for row in rows]
        assert len(set(values)) == len(values), key


def test_amounts_have_the_currency_decimals(portfolio: Portfolio) -> None:
    currency = CURRENCY[portfolio.country]
    decimals = DECIMALS[currency]
    pattern = re.compile(rf"[0-9]+\.[0-9]{{{decimals}}}" if decimals else r"[0-9]+")
    for row in portfolio.documents:
        assert row["currency"] == currency
        assert pattern.fullmatch(row["amount"]), row["amount"]
        assert pattern.fullmatch(row["balance"]), row["balance"]
    for row in portfolio.payments:
        assert row["currency"] == currency
        assert pattern.fullmatch(row["amount"]), row["amount"]


def test_dates_are_iso_and_in_the_window(portfolio: Portfolio) -> None:
    earliest = AS_OF - datetime.timedelta(days=550)
    upcoming = 0
    for row in portfolio.documents:
        issue = datetime.date.fromisoformat(row["issue_date"])
        due = datetime.date.fromisoformat(row["due_date"])
        assert earliest <= issue <= AS_OF
        assert due > issue
        upcoming += due > AS_OF
    # a few documents are not due yet
    assert 0.03 < upcoming / len(portfolio.documents) < 0.3


def test_document_kinds(portfolio: Portfolio) -> None:
    kinds = [row["kind"] for row in portfolio.documents]
    assert set(kinds) <= {"invoice", "debit_note", "credit_note", "promissory_note"}
    assert kinds.count("invoice") / len(kinds) > 0.8
    assert "credit_note" in kinds
    for row in portfolio.documents:
        assert Decimal(row["amount"]) > 0


# --- debtors ------------------------------------------------------------------------------


def test_every_tax_id_validates(portfolio: Portfolio) -> None:
    for row in portfolio.debtors:
        tax = validate_tax_id(row["tax_id"], portfolio.country, row["tax_id_type"])
        assert tax.type == row["tax_id_type"]
        # the column type is a convenience: the number alone reads the same way
        assert validate_tax_id(row["tax_id"], portfolio.country) == tax
        if tax.is_company is not None:
            assert tax.is_company == (row["kind"] == "company"), row
        if row["tax_id_type"] == "RFC":
            assert mx_rfc.is_valid(row["tax_id"], validate_check_digits=True), row["tax_id"]
            assert len(row["tax_id"]) == (12 if row["kind"] == "company" else 13)


def test_colombian_companies_write_their_nit_with_check_digit(tmp_path: Path) -> None:
    generate(tmp_path, debtors=200, documents=200, country="CO")
    for row in read(tmp_path / "debtors.csv"):
        if row["kind"] == "company":
            assert re.fullmatch(r"[89][0-9]{8}-[0-9]", row["tax_id"]), row["tax_id"]
            assert row["tax_id_type"] == "NIT"
        else:
            assert row["tax_id_type"] == "CC"


def test_phones_normalize(portfolio: Portfolio) -> None:
    landline_kinds = {"CO": "landline", "ES": "landline", "PE": "landline", "MX": "mobile"}
    for row in portfolio.debtors:
        if row["mobile"]:
            assert normalize_phone(row["mobile"], portfolio.country)[1] == "mobile"
        if row["phone"]:
            _e164, kind = normalize_phone(row["phone"], portfolio.country)
            assert kind == landline_kinds.get(portfolio.country, "other")
    with_phone = sum(1 for row in portfolio.debtors if row["phone"] or row["mobile"])
    assert 0.7 < with_phone / len(portfolio.debtors) < 1


def test_names_emails_and_kinds(portfolio: Portfolio) -> None:
    companies = [row for row in portfolio.debtors if row["kind"] == "company"]
    assert 0.5 < len(companies) / len(portfolio.debtors) < 0.7
    for row in portfolio.debtors:
        assert row["kind"] in ("company", "person")
        assert row["country"] == portfolio.country
        assert row["city"] and row["address"]
        expected = True if row["kind"] == "company" else None
        assert guess_is_company(row["name"]) is expected, row["name"]
        if row["kind"] == "person":
            assert len(row["name"].split()) >= 3  # given name and two surnames
        if row["email"]:
            assert re.fullmatch(r"[a-z0-9.]+@[a-z0-9.]+\.[a-z]{2,}", row["email"]), row["email"]
    without_email = sum(1 for row in portfolio.debtors if not row["email"])
    assert 0 < without_email < len(portfolio.debtors) * 0.25


# --- payments and balances ----------------------------------------------------------------


def test_every_payment_names_an_existing_document_and_its_debtor(portfolio: Portfolio) -> None:
    debtor_ids = {row["external_id"] for row in portfolio.debtors}
    owner = {row["external_id"]: row["debtor_external_id"] for row in portfolio.documents}
    assert set(owner.values()) <= debtor_ids
    for payment in portfolio.payments:
        assert payment["document_external_id"] in owner
        assert payment["debtor_external_id"] == owner[payment["document_external_id"]]


def test_payments_are_dated_up_to_as_of_and_after_issue(portfolio: Portfolio) -> None:
    issued = {row["external_id"]: row["issue_date"] for row in portfolio.documents}
    for payment in portfolio.payments:
        assert issued[payment["document_external_id"]] <= payment["date"] <= AS_OF.isoformat()
        assert Decimal(payment["amount"]) > 0


def test_balance_is_amount_minus_payments_and_never_negative(portfolio: Portfolio) -> None:
    for row in portfolio.documents:
        paid = portfolio.paid.get(row["external_id"], Decimal(0))
        assert Decimal(row["balance"]) == Decimal(row["amount"]) - paid
        assert Decimal(row["balance"]) >= 0
        if row["kind"] == "credit_note":
            assert paid == 0


def test_methods_and_references(portfolio: Portfolio) -> None:
    methods = {row["method"] for row in portfolio.payments}
    allowed = {"transferencia", "consignacion", "efectivo", "tarjeta"}
    allowed |= {"CO": {"pse"}, "MX": {"spei"}}.get(portfolio.country, set())
    assert methods <= allowed
    assert "transferencia" in methods
    for payment in portfolio.payments:
        assert payment["reference"]
        # a bank's reference must never be mistaken for one of ours
        assert not is_valid_payment_reference(payment["reference"])


def test_payment_behaviour_shares(tmp_path: Path) -> None:
    generate(tmp_path, debtors=3000, documents=12000, seed=3)
    documents = read(tmp_path / "documents.csv")
    paid: dict[str, Decimal] = defaultdict(Decimal)
    last_paid: dict[str, str] = {}
    payers: set[str] = set()
    for payment in read(tmp_path / "payments.csv"):
        paid[payment["document_external_id"]] += Decimal(payment["amount"])
        last_paid[payment["document_external_id"]] = max(
            payment["date"], last_paid.get(payment["document_external_id"], "")
        )
        payers.add(payment["debtor_external_id"])
    long_due = (AS_OF - datetime.timedelta(days=200)).isoformat()
    very_long_due = (AS_OF - datetime.timedelta(days=450)).isoformat()
    with_old_documents: set[str] = set()
    with_very_old_documents: set[str] = set()
    partial: set[str] = set()
    on_time = settled = 0
    for row in documents:
        if row["kind"] == "credit_note":
            continue
        debtor = row["debtor_external_id"]
        if row["due_date"] <= long_due:
            with_old_documents.add(debtor)
        if row["due_date"] <= very_long_due:
            with_very_old_documents.add(debtor)
            # by now late payers have finished; only partial payers leave a remainder
            if 0 < paid[row["external_id"]] < Decimal(row["amount"]):
                partial.add(debtor)
        if Decimal(row["balance"]) == 0:
            settled += 1
            due_plus_grace = datetime.date.fromisoformat(row["due_date"]) + datetime.timedelta(5)
            on_time += last_paid[row["external_id"]] <= due_plus_grace.isoformat()
    never = with_old_documents - payers
    assert 0.05 < len(never) / len(with_old_documents) < 0.12  # designed: 8 %
    assert 0.07 < len(partial) / len(with_very_old_documents) < 0.18  # designed: 12 %
    assert on_time / settled > 0.6  # most pay on time


def test_amounts_are_log_normal(tmp_path: Path) -> None:
    generate(tmp_path, debtors=1000, documents=6000, seed=5, country="CO")
    amounts = sorted(
        Decimal(row["amount"])
        for row in read(tmp_path / "documents.csv")
        if row["kind"] == "invoice"
    )
    median = amounts[len(amounts) // 2]
    assert Decimal(800_000) < median < Decimal(3_000_000)
    assert amounts[-1] > 40 * median  # a long tail of large invoices
    assert amounts[-1] > Decimal(50_000_000)


def test_currency_override_keeps_the_country(tmp_path: Path) -> None:
    generate(tmp_path, debtors=20, documents=60, country="CO", currency="usd")
    documents = read(tmp_path / "documents.csv")
    assert {row["currency"] for row in documents} == {"USD"}
    assert all(re.fullmatch(r"[0-9]+\.[0-9]{2}", row["amount"]) for row in documents)
    assert {row["country"] for row in read(tmp_path / "debtors.csv")} == {"CO"}


def test_fewer_documents_than_debtors(tmp_path: Path) -> None:
    counts = generate(tmp_path, debtors=50, documents=10)
    assert counts["documents"] == 10
    assert counts["debtors"] == 50


def test_empty_portfolio(tmp_path: Path) -> None:
    assert generate(tmp_path, debtors=0, documents=0) == {
        "debtors": 0,
        "documents": 0,
        "payments": 0,
    }
    assert (tmp_path / "documents.csv").read_text(encoding="utf-8").count("\n") == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"country": "AR"}, "country must be one of"),
        ({"debtors": -1}, "debtors cannot be negative"),
        ({"documents": -5}, "documents cannot be negative"),
        ({"debtors": 0, "documents": 5}, "at least one debtor"),
        ({"currency": "XXQ"}, "ISO 4217"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(tmp_path, **kwargs)


@pytest.mark.slow
def test_generating_streams_in_bounded_memory(tmp_path: Path) -> None:
    """Ten times the documents take about the same memory: rows are written as they are made.
    (Speed is measured by the benchmark, never asserted here.)"""

    def peak(documents: int) -> int:
        tracemalloc.start()
        try:
            generate(tmp_path / str(documents), debtors=documents // 5, documents=documents, seed=1)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(4_000), peak(40_000)
    assert large < small * 2, (small, large)


# --- the command --------------------------------------------------------------------------


def test_command_writes_the_files_and_prints_counts(tmp_path: Path) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "generate_portfolio",
        "--debtors=10",
        "--documents=40",
        "--seed=4",
        f"--out={tmp_path}",
        "--country=PE",
        "--as-of=2025-06-30",
        stdout=out,
    )
    lines = out.getvalue().splitlines()
    # Spanish, the installation's language by default
    assert lines[0] == f"{tmp_path / 'debtors.csv'}: 10 filas"
    assert lines[1] == f"{tmp_path / 'documents.csv'}: 40 filas"
    assert lines[2].startswith(f"{tmp_path / 'payments.csv'}: ")
    direct = tmp_path / "direct"
    generate(direct, debtors=10, documents=40, seed=4, country="PE")
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (direct / name).read_bytes()


@pytest.mark.parametrize(
    "argument", ["--as-of=2025-13-01", "--country=AR", "--debtors=-1", "--currency=XXQ"]
)
def test_command_bad_arguments_exit_2(tmp_path: Path, argument: str) -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as info:
        call_command("generate_portfolio", f"--out={tmp_path}", argument)
    assert info.value.returncode == 2
