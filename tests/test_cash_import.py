"""Statement imports: every real file lands or is refused with a reason; nothing lands twice."""

from __future__ import annotations

import datetime
import shutil

import pytest
from django.utils import translation

from cartera.cash.models import (
    BankAccount,
    ImportStatus,
    LineStatus,
    StatementImport,
    StatementLine,
)
from cartera.cash.parsers import read_statement
from cartera.cash.services import CashUsageError, statement_import
from cartera.core.models import AuditEvent
from cartera.portfolio.integrity import integrity_problems
from tests.conftest import SHARED_DATA

STATEMENTS = SHARED_DATA / "bank_statements"
FILES = sorted(p for p in STATEMENTS.rglob("*") if p.is_file())
# What each real file holds: (format, lines, credits), or the reason it is refused.
EXPECTED: dict[str, tuple[str, int, int] | str] = {
    "genkgo__camt053.v8.xml": ("camt.053.001.08", 1, 1),
    # one debit entry whose three details do not add up to it: one line
    "genkgo__camt054.v8.xml": ("camt.054.001.08", 1, 0),
    "iso20022js__abn_amro_example_camt.xml": ("camt.053.001.02", 29, 22),
    "iso20022js__ing_example_camt.xml": ("camt.053.001.02", 9, 5),
    "avanta-mx__sample_bbva_october_2025.csv": ("csv", 15, 6),
    "avanta-mx__sample_santander_october_2025.csv": ("csv", 15, 6),
    "wolph-mt940__betterplace_sepa_mt9401.sta": ("mt940", 97, 41),
    "wolph-mt940__jejik_abnamro.sta": ("mt940", 10, 0),
    "wolph-mt940__jejik_ing.sta": ("mt940", 7, 2),
    "wolph-mt940__jejik_postfinance.sta": ("mt940", 4, 3),
    "wolph-mt940__jejik_rabobank.sta": ("mt940", 5, 0),
    "sequra__example1.n43": ("norma43", 4, 4),
    "sergief__movements.n43": ("norma43", 16, 1),
    "sequra__cuaderno_43_-_junio_2012_SPEC.pdf": "a PDF document",
}


@pytest.fixture(autouse=True, scope="module")
def english():
    """The reasons are asserted as written in the code (English, the msgids); the Spanish
    the product shows by default is checked in test_import_language.py."""
    with translation.override("en"):
        yield


def test_every_shared_statement_file_is_known_to_this_test():
    assert {path.name for path in FILES} == set(EXPECTED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_real_statement_imports_or_is_refused_with_a_reason(path, creditor, actor):
    expected = EXPECTED[path.name]

    # CSV exports do not name their account; the other formats do (and create it).
    named = "Main" if path.suffix == ".csv" else None
    result = statement_import(creditor=creditor, path=path, actor=actor, bank_account=named)

    if isinstance(expected, str):
        assert result.exit_code == 4
        assert expected in result.message
        refused = StatementImport.objects.get(pk=result.import_id)
        assert refused.status == ImportStatus.REFUSED
        assert StatementLine.objects.count() == 0
        return
    fmt, lines, credits = expected
    assert (result.message, result.unreadable) == ("", [])
    assert result.exit_code == 0
    assert result.format.startswith(fmt)
    assert (result.lines, result.credits, result.debits) == (lines, credits, lines - credits)
    assert result.duplicates == 0
    assert result.applied + result.waiting == credits
    assert StatementLine.objects.count() == lines
    assert StatementLine.objects.filter(status=LineStatus.DEBIT).count() == lines - credits
    assert integrity_problems() == []


def test_the_abn_amro_batches_become_one_line_per_payer():
    statement = read_statement(
        STATEMENTS / "camt" / "iso20022js__abn_amro_example_camt.xml", default_currency="EUR"
    )

    lines = statement.sections[0].lines
    # 13 entries; the batches of 10, 2 and 7 transfers add up to their entries and split
    # (the salary batch of 2 has no details: it stays one line)
    assert len(lines) == 13 - 3 + 10 + 2 + 7
    assert statement.sections[0].account == "NL77ABNA0574908765"
    by_reference = [line.bank_reference for line in lines]
    assert len(set(by_reference)) == len(by_reference)


def test_norma_43_reads_uneven_lines_and_the_last_line_without_newline():
    statement = read_statement(
        STATEMENTS / "n43" / "sergief__movements.n43", default_currency="EUR"
    )

    lines = statement.sections[0].lines
    assert statement.sections[0].currency == "EUR"
    assert [(line.booking_date, line.amount_minor, line.is_credit) for line in lines[:2]] == [
        (datetime.date(2020, 2, 3), 2399, False),
        (datetime.date(2020, 2, 3), 7029, False),
    ]
    # two concept records of 38 characters continue one another mid-word
    assert "SHOP TO BUY SEVERAL THINGS" in lines[0].text
    payroll = [line for line in lines if line.is_credit]
    assert [(line.amount_minor, line.text) for line in payroll] == [(50000, "PAYROLL")]


def test_mt940_keeps_each_message_with_its_own_account():
    statement = read_statement(
        STATEMENTS / "mt940" / "wolph-mt940__betterplace_sepa_mt9401.sta", default_currency="EUR"
    )

    accounts = {section.account for section in statement.sections}
    assert "50880050/0194774600888" in accounts and len(accounts) > 1
    payer = next(line for s in statement.sections for line in s.lines if line.counterparty_account)
    assert payer.counterparty_account == "DE42100100100043921105"
    assert payer.counterparty_name.startswith("Richter Renate")


def test_a_statement_creates_its_bank_account_from_the_file_and_says_so(creditor, actor):
    path = STATEMENTS / "camt" / "iso20022js__ing_example_camt.xml"

    result = statement_import(creditor=creditor, path=path, actor=actor)

    assert result.bank_accounts == [("NL08INGB0000001234", "NL08INGB0000001234", True)]
    account = BankAccount.objects.get()
    assert (account.number_key, account.currency, account.bank) == (
        "NL08INGB0000001234",
        "EUR",
        "INGBNL2A",
    )
    again = statement_import(creditor=creditor, path=path, actor=actor)
    assert again.bank_accounts == [("NL08INGB0000001234", "NL08INGB0000001234", False)]


def test_bank_account_named_by_option_must_be_the_files_account(creditor, actor):
    first = statement_import(
        creditor=creditor,
        path=STATEMENTS / "camt" / "iso20022js__ing_example_camt.xml",
        actor=actor,
        bank_account="ING",
    )
    assert first.bank_accounts == [("ING", "NL08INGB0000001234", True)]

    other = statement_import(
        creditor=creditor,
        path=STATEMENTS / "camt" / "iso20022js__abn_amro_example_camt.xml",
        actor=actor,
        bank_account="ING",
    )

    assert other.exit_code == 4
    assert "NL77ABNA0574908765" in other.message and "NL08INGB0000001234" in other.message
    assert StatementLine.objects.filter(bank_account__name="ING").count() == 9


def test_a_csv_without_account_needs_the_option_when_there_are_several(creditor, actor):
    csv = STATEMENTS / "csv" / "avanta-mx__sample_bbva_october_2025.csv"
    for name in ("BBVA", "Santander"):
        BankAccount.objects.create(creditor=creditor, name=name, currency="MXN")

    with pytest.raises(CashUsageError, match="--bank-account"):
        statement_import(creditor=creditor, path=csv, actor=actor)

    result = statement_import(creditor=creditor, path=csv, actor=actor, bank_account="BBVA")
    assert (result.lines, result.profile) == (15, "bbva-mx")


# --- duplicates ---------------------------------------------------------------------------------


def test_importing_the_same_file_again_creates_nothing(creditor, actor):
    path = STATEMENTS / "mt940" / "wolph-mt940__betterplace_sepa_mt9401.sta"
    first = statement_import(creditor=creditor, path=path, actor=actor)
    lines = StatementLine.objects.count()

    again = statement_import(creditor=creditor, path=path, actor=actor)

    assert (again.lines, again.duplicates, again.applied, again.waiting) == (97, 97, 0, 0)
    assert StatementLine.objects.count() == lines == first.lines
    assert again.exit_code == 0


def test_two_identical_genuine_lines_stay_two_and_are_found_again(creditor, actor):
    path = STATEMENTS / "n43" / "sergief__movements.n43"

    statement_import(creditor=creditor, path=path, actor=actor)

    school = StatementLine.objects.filter(text__contains="SCHOOL OF ENGLISH")
    assert school.count() == 2
    assert sorted(key.rsplit(":", 1)[1] for key in school.values_list("dedupe_key", flat=True)) == [
        "1",
        "2",
    ]
    again = statement_import(creditor=creditor, path=path, actor=actor)
    assert again.duplicates == 16 and StatementLine.objects.count() == 16


def _n43(*movements: str) -> str:
    """A Norma 43 file of account 9999-1111-0123456789 in EUR, January 2020."""
    header = (
        "11" + "9999" + "1111" + "0123456789" + "200101" + "200131" + "2" + "0" * 14
        + "978" + "3" + "ACME TEST".ljust(26) + "   "
    )  # fmt: skip
    return "\r\n".join([header, *movements, ""])


def _movement(day: int, cents: int, text: str) -> str:
    """A credit movement (record 22) and its concept (record 23)."""
    date = f"2001{day:02d}"
    record = (
        "22" + "    " + "0000" + date + date + "02" + "002" + "2" + f"{cents:014d}"
        + "0" * 10 + "0" * 12 + " " * 16
    )  # fmt: skip
    assert len(record) == 80
    return f"{record}\r\n23{'01'}{text.ljust(76)}"


def test_an_overlapping_file_lands_only_its_new_lines(creditor, actor, tmp_path):
    january = tmp_path / "january.n43"
    january.write_text(
        _n43(_movement(10, 5000, "PAGO CLIENTE A"), _movement(12, 7000, "PAGO CLIENTE B")),
        encoding="latin-1",
    )
    overlap = tmp_path / "overlap.n43"
    overlap.write_text(
        _n43(
            _movement(12, 7000, "PAGO CLIENTE B"),
            _movement(12, 7000, "PAGO CLIENTE B"),
            _movement(15, 9000, "PAGO CLIENTE C"),
        ),
        encoding="latin-1",
    )

    first = statement_import(creditor=creditor, path=january, actor=actor)
    second = statement_import(creditor=creditor, path=overlap, actor=actor)

    assert (first.lines, first.duplicates) == (2, 0)
    # the 12th's payment was already there; its identical twin and the 15th are new
    assert (second.lines, second.duplicates, second.credits) == (3, 1, 3)
    assert sorted(StatementLine.objects.values_list("amount_minor", flat=True)) == [
        5000,
        7000,
        7000,
        9000,
    ]


def test_lines_with_the_banks_own_reference_are_keyed_by_it(creditor, actor):
    path = STATEMENTS / "camt" / "iso20022js__ing_example_camt.xml"

    statement_import(creditor=creditor, path=path, actor=actor)

    keys = set(StatementLine.objects.values_list("dedupe_key", flat=True))
    assert "ref:59999208N9" in keys
    assert all(key.startswith("ref:") for key in keys)


# --- unreadable lines and refused files ---------------------------------------------------------


def test_unreadable_csv_rows_are_reported_and_the_rest_lands(creditor, actor, write_file):
    path = write_file(
        "bbva.csv",
        "Fecha,Descripcion,Cargo,Abono,Saldo,Referencia\n"
        "01/10/2025,SPEI RECIBIDA,0,25000.00,1,R1\n"
        "31/02/2025,SPEI RECIBIDA,0,100.00,1,R2\n"
        "03/10/2025,SPEI RECIBIDA,0,abc,1,R3\n"
        "04/10/2025,COMISION,-10.00,5.00,1,R4\n"
        "05/10/2025,SPEI RECIBIDA,0,300.00,1,R5\n",
    )

    result = statement_import(creditor=creditor, path=path, actor=actor, bank_account="BBVA")

    assert result.exit_code == 3
    assert (result.lines, result.credits) == (2, 2)
    assert [item["line"] for item in result.unreadable] == [3, 4, 5]
    assert "not a valid date" in result.unreadable[0]["reason"]
    assert "abc" in result.unreadable[1]["reason"]
    assert "both debit" in result.unreadable[2]["reason"]
    assert StatementImport.objects.get(pk=result.import_id).status == ImportStatus.PARTIAL


def test_an_unreadable_norma_43_movement_costs_only_itself(creditor, actor, tmp_path):
    good = _movement(10, 5000, "PAGO CLIENTE A")
    bad = _movement(11, 6000, "PAGO CLIENTE X").replace("200111200111", "20X111200111", 1)
    path = tmp_path / "bad.n43"
    path.write_text(_n43(good, bad, _movement(12, 7000, "PAGO CLIENTE B")), encoding="latin-1")

    result = statement_import(creditor=creditor, path=path, actor=actor)

    assert result.exit_code == 3
    assert result.lines == 2
    assert [item["line"] for item in result.unreadable] == [4]


def test_an_unreadable_mt940_movement_costs_only_itself(creditor, actor, tmp_path):
    source = (STATEMENTS / "mt940" / "wolph-mt940__jejik_postfinance.sta").read_text()
    broken = source.replace(":61:1312091209C149,5FMSC01916//NONREF", ":61:13120X1209C149,5FMSC")
    path = tmp_path / "broken.sta"
    path.write_text(broken)

    result = statement_import(creditor=creditor, path=path, actor=actor)

    assert result.exit_code == 3
    assert result.lines == 3
    assert [item["line"] for item in result.unreadable] == [9]
    assert ":61:" in result.unreadable[0]["reason"]


def test_format_is_told_by_content_not_by_extension(creditor, actor, tmp_path):
    path = tmp_path / "statement.txt"
    shutil.copy(STATEMENTS / "camt" / "iso20022js__ing_example_camt.xml", path)

    result = statement_import(creditor=creditor, path=path, actor=actor)

    assert result.format == "camt.053.001.02" and result.lines == 9


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"<html><body>hello</body></html>", "not an ISO 20022 camt"),
        (b"<Document><BkToCstmrStmt><Stmt>", "not well-formed XML"),
        (b"\x00\x01\x02binary", "binary file"),
        (b"PK\x03\x04garbage", "damaged zip"),
        (b"name,city\nAna,Cali\n", "no column profile fits"),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Document>camt.053</Document>',
            "declares a DOCTYPE",
        ),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(creditor, actor, tmp_path, content, reason):
    path = tmp_path / "statement.dat"
    path.write_bytes(content)

    result = statement_import(creditor=creditor, path=path, actor=actor, bank_account="Main")

    assert result.exit_code == 4
    assert reason in result.message
    assert AuditEvent.objects.filter(action="statement.import.refused").count() == 1


def test_an_import_is_audited_once_with_its_counts_and_checksum(creditor, actor):
    path = STATEMENTS / "camt" / "iso20022js__ing_example_camt.xml"

    result = statement_import(creditor=creditor, path=path, actor=actor)

    event = AuditEvent.objects.get(action="statement.import")
    record = StatementImport.objects.get(pk=result.import_id)
    assert event.changes["sha256"] == record.file_sha256 and len(record.file_sha256) == 64
    assert (event.changes["lines"], event.changes["credits"]) == (9, 5)
    assert AuditEvent.objects.filter(action__startswith="payment.").count() == 0


def test_a_dry_run_reports_and_writes_nothing(creditor, actor):
    path = STATEMENTS / "camt" / "iso20022js__ing_example_camt.xml"

    result = statement_import(creditor=creditor, path=path, actor=actor, dry_run=True)

    assert (result.lines, result.credits, result.dry_run) == (9, 5, True)
    assert StatementLine.objects.count() == 0
    assert BankAccount.objects.count() == 0
    assert StatementImport.objects.count() == 0
