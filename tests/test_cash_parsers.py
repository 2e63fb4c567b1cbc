"""Statement formats beyond the shared samples: MT942, zipped camt, XLSX, own profiles."""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile

import openpyxl
import pytest
from django.utils import translation

from cartera.cash.parsers import (
    ProfileError,
    StatementRefused,
    profile_named,
    read_statement,
)
from cartera.cash.parsers.profiles import _configured
from tests.conftest import SHARED_DATA

STATEMENTS = SHARED_DATA / "bank_statements"


@pytest.fixture(autouse=True, scope="module")
def english():
    """The reasons are asserted as written in the code (English, the msgids); the Spanish
    the product shows by default is checked in test_import_language.py."""
    with translation.override("en"):
        yield


MT942 = """\
{1:F01INGBNL2AXXXX0000000000}{2:O9421030261102INGBNL2AXXXX00000000002611021030N}{4:
:20:MT942REF
:25:NL08INGB0000001234
:28C:00001/001
:34F:EURC0,
:13D:2611021030+0100
:61:2611021102C1500,00NTRFNONREF//BANKREF1
:86:/EREF/NOTPROVIDED/IBAN/NL20INGB0001234567/NAME/ACME KLANT/REMI/PAGO 0000000018/
:61:2611021102D25,00NMSCNONREF
:86:/REMI/COMISION/
:90D:1EUR25,00
:90C:1EUR1500,00
-}
"""


def test_an_mt942_interim_report_is_read(tmp_path):
    path = tmp_path / "intraday.942"
    path.write_text(MT942)

    statement = read_statement(path, default_currency="COP")

    assert statement.format == "mt942"
    [section] = statement.sections
    assert (section.account, section.currency) == ("NL08INGB0000001234", "EUR")
    credit, debit = section.lines
    assert (credit.amount_minor, credit.is_credit, credit.bank_reference) == (
        150000,
        True,
        "BANKREF1",
    )
    assert (credit.counterparty_name, credit.counterparty_account) == (
        "ACME KLANT",
        "NL20INGB0001234567",
    )
    assert "PAGO 0000000018" in credit.text
    assert (debit.amount_minor, debit.is_credit, debit.booking_date) == (
        2500,
        False,
        datetime.date(2026, 11, 2),
    )


def test_a_zip_of_camt_files_is_read_whole(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("iso20022js__ing_example_camt.xml", "genkgo__camt053.v8.xml"):
            archive.write(STATEMENTS / "camt" / name, arcname=name)
    path = tmp_path / "statements.zip"
    path.write_bytes(buffer.getvalue())

    statement = read_statement(path, default_currency="EUR")

    assert statement.format == "camt.053.001.08 (zip)"
    assert [section.account for section in statement.sections] == [
        "NL26VAYB8060476890",
        "NL08INGB0000001234",
    ]
    assert statement.line_count == 10


def test_a_zip_with_something_else_inside_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    path = tmp_path / "statements.zip"
    path.write_bytes(buffer.getvalue())

    with pytest.raises(StatementRefused, match=r"notes\.txt in the zip is not a camt statement"):
        read_statement(path, default_currency="EUR")


def test_an_xlsx_export_is_read_with_the_profile_of_its_headers(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Fecha", "Descripcion", "Cargo", "Abono", "Saldo", "Referencia"])
    sheet.append([datetime.datetime(2025, 10, 1), "SPEI RECIBIDA", 0, 25000.5, 100, "REF001"])
    sheet.append([datetime.datetime(2025, 10, 2), "PAGO CFE", -850.5, 0, 99, "REF002"])
    path = tmp_path / "bbva.xlsx"
    workbook.save(path)

    statement = read_statement(path, default_currency="COP")

    assert (statement.format, statement.profile) == ("xlsx", "bbva-mx")
    credit, debit = statement.sections[0].lines
    assert (credit.amount_minor, credit.currency, credit.is_credit) == (2500050, "MXN", True)
    assert (debit.amount_minor, debit.is_credit) == (85050, False)
    assert credit.text == "SPEI RECIBIDA REF001"


def test_a_camt_entry_not_yet_booked_is_reported_not_read(tmp_path):
    source = (STATEMENTS / "camt" / "genkgo__camt053.v8.xml").read_text()
    pending = source.replace("<Cd>BOOK</Cd>", "<Cd>PDNG</Cd>", 1)
    path = tmp_path / "pending.xml"
    path.write_text(pending)

    statement = read_statement(path, default_currency="EUR")

    assert statement.line_count == 0
    [unreadable] = statement.unreadable
    assert "not booked yet (status PDNG)" in unreadable.reason


def test_a_camt_entry_without_an_amount_is_unreadable_and_says_where(tmp_path):
    source = (STATEMENTS / "camt" / "iso20022js__ing_example_camt.xml").read_text()
    broken = source.replace('<Amt Ccy="EUR">350.00</Amt>', '<Amt Ccy="EUR">tres</Amt>', 1)
    assert broken != source
    path = tmp_path / "broken.xml"
    path.write_text(broken)

    statement = read_statement(path, default_currency="EUR")

    assert statement.line_count == 8
    [unreadable] = statement.unreadable
    assert "'tres' is not a number" in unreadable.reason
    assert unreadable.position == 106  # the <Ntry> of that entry


def test_own_column_profiles_come_from_a_json_file(tmp_path, settings):
    profiles = tmp_path / "profiles.json"
    profiles.write_text(
        json.dumps(
            [
                {
                    "code": "bancolombia",
                    "name": "Bancolombia",
                    "columns": {
                        "date": ["FECHA"],
                        "description": ["DESCRIPCIÓN"],
                        "amount": ["VALOR"],
                        "counterparty_account": ["CUENTA ORIGEN"],
                    },
                    "required": [["date"], ["amount"], ["counterparty_account"]],
                    "date_order": "DMY",
                    "decimal": ",",
                    "currency": "COP",
                }
            ]
        )
    )
    settings.CARTERA_CASH_PROFILES_FILE = str(profiles)
    path = tmp_path / "extracto.csv"
    path.write_text(
        "FECHA;DESCRIPCIÓN;VALOR;CUENTA ORIGEN\n"
        "02/11/2026;PAGO PSE 0000000018;1.500.000,50;123-456789-01\n"
    )

    try:
        statement = read_statement(path, default_currency="USD")
        assert profile_named("bancolombia").name == "Bancolombia"
    finally:
        _configured.cache_clear()

    assert statement.profile == "bancolombia"
    [line] = statement.sections[0].lines
    assert (line.booking_date, line.amount_minor, line.currency) == (
        datetime.date(2026, 11, 2),
        150000050,
        "COP",
    )
    assert line.counterparty_account == "12345678901"


def test_a_broken_profiles_file_says_what_is_wrong(tmp_path, settings):
    profiles = tmp_path / "profiles.json"
    profiles.write_text(json.dumps([{"code": "x", "columns": {"fecha": ["F"]}}]))
    settings.CARTERA_CASH_PROFILES_FILE = str(profiles)

    try:
        with pytest.raises(ProfileError, match="unknown fields fecha"):
            profile_named("x")
    finally:
        _configured.cache_clear()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"currency": "PESOS"}, "'PESOS' is not an ISO 4217 currency code"),
        ({"date_order": "DD/MM/AAAA"}, "'date_order' is DMY, MDY or YMD"),
        ({"decimal": ";"}, "'decimal' is"),
        ({"required": [["fecha"]]}, "'required' is a list of lists of fields"),
    ],
)
def test_a_profile_with_wrong_settings_is_refused_before_any_statement_is_read(
    tmp_path, settings, setting, message
):
    profile = {"code": "banco", "columns": {"date": ["FECHA"], "amount": ["VALOR"]}, **setting}
    profiles = tmp_path / "profiles.json"
    profiles.write_text(json.dumps([profile]))
    settings.CARTERA_CASH_PROFILES_FILE = str(profiles)
    path = tmp_path / "extracto.csv"
    path.write_text("FECHA;VALOR\n02/11/2026;1.500.000,50\n")

    try:
        with pytest.raises(ProfileError, match=f"profile banco: {re.escape(message)}"):
            read_statement(path, default_currency="COP")
    finally:
        _configured.cache_clear()


def test_a_record_norma_43_does_not_know_is_reported_and_the_rest_read(tmp_path):
    source = (STATEMENTS / "n43" / "sequra__example1.n43").read_bytes()
    lines = source.split(b"\r\n")
    path = tmp_path / "odd.n43"
    path.write_bytes(b"\r\n".join([*lines[:3], b"99 SOMETHING ELSE", *lines[3:]]))

    statement = read_statement(path, default_currency="EUR")

    assert statement.format == "norma43"
    assert statement.line_count == 4
    [unreadable] = statement.unreadable
    assert (unreadable.position, unreadable.reason) == (4, "not a Norma 43 record (b'99')")


def test_the_movements_of_an_unreadable_account_header_are_not_given_to_another(tmp_path):
    first = (STATEMENTS / "n43" / "sequra__example1.n43").read_bytes().split(b"\r\n")
    second = (STATEMENTS / "n43" / "sergief__movements.n43").read_bytes().split(b"\r\n")
    # the second account's header gets letters in its start date
    second[0] = second[0][:20] + b"2002XX" + second[0][26:]
    path = tmp_path / "two.n43"
    path.write_bytes(b"\r\n".join([*first[:-1], *second]))

    statement = read_statement(path, default_currency="EUR")

    assert [len(section.lines) for section in statement.sections] == [4]
    reasons = [u.reason for u in statement.unreadable]
    assert reasons[0].startswith("account header unreadable")
    assert len(reasons) == 1 + 16
    assert all("unreadable account on line" in reason for reason in reasons[1:])
