"""Amounts and dates as people write them, and per-column inference of their format."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from babel.numbers import format_decimal
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from cartera.portfolio.importing.values import (
    ColumnContradiction,
    ColumnFormat,
    ValueFormatError,
    date_order_for_locale,
    decimal_separator_for_locale,
    parse_amount,
    parse_date,
)


@pytest.fixture(autouse=True, scope="module")
def english():
    """The reasons are asserted as written in the code (English, the msgids); the Spanish
    the product shows by default is checked in test_import_language.py."""
    with translation.override("en"):
        yield


# --- parse_amount --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234.567,89", "1234567.89"),
        ("1234567,89", "1234567.89"),
        ("$ 1.234.567", "1234567"),
        ("$1.234.567", "1234567"),
        ("COP 1.234.567", "1234567"),
        ("COP$ 1.234.567", "1234567"),
        ("1.234.567 €", "1234567"),
        ("€1.234,50", "1234.50"),
        ("-400,00", "-400.00"),
        ("(400,00)", "-400.00"),
        ("($ 400,00)", "-400.00"),
        ("400-", "-400"),
        ("400,00 -", "-400.00"),
        ("-$ 400", "-400"),
        ("$ -400", "-400"),
        ("\u2212400,5", "-400.5"),
        ("+12", "12"),
        ("12", "12"),
        ("0,5", "0.5"),
        ("1 234 567,89", "1234567.89"),
        ("1\u00a0234\u00a0567,89", "1234567.89"),
        ("1\u202f234\u202f567,89", "1234567.89"),
        ("1'234'567,89", "1234567.89"),
        ("  7,25  ", "7.25"),
        ("1.234", "1234"),
        ("1,2345", "1.2345"),
        ("cop 1.000", "1000"),
    ],
)
def test_amounts_with_decimal_comma(text: str, expected: str) -> None:
    assert parse_amount(text, ",") == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234,567.89", "1234567.89"),
        ("(400.00)", "-400.00"),
        ("$1,234.50", "1234.50"),
        ("US$ 1,234.50", "1234.50"),
        ("USD $1,234.50", "1234.50"),
        ("1234.5", "1234.5"),
        ("1'234.50", "1234.50"),
        ("1\u2019234.50", "1234.50"),
        ("1 234.50", "1234.50"),
        ("S/. 1,234.50", "1234.50"),
        ("MXN 99.9", "99.9"),
        ("400.00-", "-400.00"),
        ("1,234", "1234"),
        ("0.001", "0.001"),
    ],
)
def test_amounts_with_decimal_point(text: str, expected: str) -> None:
    assert parse_amount(text, ".") == Decimal(expected)


def test_amount_keeps_the_written_decimals() -> None:
    # Decimal('400.00') == Decimal('400') but rounding is the importer's job, so the text's
    # precision must survive.
    assert str(parse_amount("400,00", ",")) == "400.00"
    assert str(parse_amount("-0,00", ",")) == "0.00"


@pytest.mark.parametrize(
    ("text", "decimal", "reason"),
    [
        ("", ",", "empty"),
        ("   ", ",", "empty"),
        ("abc", ",", "no digits"),
        ("12 pesos", ",", "unexpected 'pesos'"),
        ("12abc", ",", "unexpected"),
        ("QUOTA 5", ",", "unexpected"),
        ("$ 100 €", ",", "two different currency symbols"),
        ("USD 100 EUR", ".", "two different currency codes"),
        ("€ 100 USD", ".", "disagree"),
        ("1.23.4,5", ",", "badly grouped"),
        ("12.34.567", ",", "badly grouped"),
        ("0.500", ",", "badly grouped"),
        ("1,2,3", ",", "decimal separator twice"),
        ("1.234.567", ".", "decimal separator twice"),
        ("1,234.56", ",", "grouped"),
        ("1.234 567,89", ",", "mixes thousands separators"),
        ("12 USD 34", ",", "more than one number"),
        ("(400", ",", "parentheses"),
        ("400)", ",", "parentheses"),
        ("-(400)", ",", "more than one sign"),
        ("--400", ",", "more than one sign"),
        ("-400-", ",", "more than one sign"),
        ("1.234,56.", ",", "unexpected '.'"),
        ("12%", ",", "unexpected"),
    ],
)
def test_rejected_amounts(text: str, decimal: str, reason: str) -> None:
    with pytest.raises(ValueFormatError) as caught:
        parse_amount(text, decimal)
    message = str(caught.value)
    assert "is not an amount" in message
    assert reason in message
    assert text.strip() in message


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (1234, Decimal("1234")),
        (0.1, Decimal("0.1")),  # through repr, not the binary expansion 0.1000000000000000055...
        (1234567.89, Decimal("1234567.89")),
        (-400.5, Decimal("-400.5")),
        (Decimal("12.345"), Decimal("12.345")),
    ],
)
def test_spreadsheet_numbers_are_taken_exactly(cell: object, expected: Decimal) -> None:
    result = parse_amount(cell, ",")
    assert isinstance(result, Decimal)
    assert result == expected
    assert str(result) == str(expected)


@pytest.mark.parametrize(
    "cell", [True, float("nan"), float("inf"), Decimal("NaN"), None, date(2026, 1, 1)]
)
def test_non_amount_cells_are_rejected(cell: object) -> None:
    with pytest.raises(ValueFormatError):
        parse_amount(cell, ".")


def test_decimal_argument_is_checked() -> None:
    with pytest.raises(ValueError, match="decimal separator"):
        parse_amount("1", " ")


# --- parse_date ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("23/11/2026", "DMY", date(2026, 11, 23)),
        ("23-11-2026", "DMY", date(2026, 11, 23)),
        ("23.11.2026", "DMY", date(2026, 11, 23)),
        ("3/1/2026", "DMY", date(2026, 1, 3)),
        ("3/1/2026", "MDY", date(2026, 3, 1)),
        ("11/23/2026", "MDY", date(2026, 11, 23)),
        ("05/06/2026", "DMY", date(2026, 6, 5)),
        ("05/06/2026", "MDY", date(2026, 5, 6)),
        ("23/11/26", "DMY", date(2026, 11, 23)),
        ("23/11/69", "DMY", date(2069, 11, 23)),
        ("23/11/70", "DMY", date(1970, 11, 23)),
        ("23/11/99", "DMY", date(1999, 11, 23)),
        ("2026-11-23", "DMY", date(2026, 11, 23)),
        ("2026-11-23", "MDY", date(2026, 11, 23)),
        ("2026-11-23", "YMD", date(2026, 11, 23)),
        ("2026/11/23", "DMY", date(2026, 11, 23)),
        ("2026.11.23", "MDY", date(2026, 11, 23)),
        ("2026-11-23 00:00:00", "DMY", date(2026, 11, 23)),
        ("2026-11-23T10:00:00", "DMY", date(2026, 11, 23)),
        ("2026-11-23T10:00:00Z", "DMY", date(2026, 11, 23)),
        ("2026-11-23 10:00:00.123-05:00", "DMY", date(2026, 11, 23)),
        ("23/11/2026 10:30", "DMY", date(2026, 11, 23)),
        ("23/11/2026 10:30 a. m.", "DMY", date(2026, 11, 23)),
        ("11/23/2026 4:05 PM", "MDY", date(2026, 11, 23)),
        ("20261123", "DMY", date(2026, 11, 23)),
        ("23-nov-2026", "MDY", date(2026, 11, 23)),
        ("23-Nov-26", "DMY", date(2026, 11, 23)),
        ("23 nov. 2026", "DMY", date(2026, 11, 23)),
        ("23 de noviembre de 2026", "MDY", date(2026, 11, 23)),
        ("23 de noviembre del 2026", "DMY", date(2026, 11, 23)),
        ("Nov 23, 2026", "DMY", date(2026, 11, 23)),
        ("November 23rd, 2026", "DMY", date(2026, 11, 23)),
        ("Monday, November 23, 2026", "DMY", date(2026, 11, 23)),
        ("lunes, 23 de noviembre de 2026", "DMY", date(2026, 11, 23)),
        ("23-Sept-2026", "DMY", date(2026, 9, 23)),
        ("23-sep-2026", "DMY", date(2026, 9, 23)),
        ("1 de setiembre de 2026", "DMY", date(2026, 9, 1)),
        ("1º de enero de 2026", "DMY", date(2026, 1, 1)),
        ("15-ene-2026", "DMY", date(2026, 1, 15)),
        ("15-ENE-2026", "DMY", date(2026, 1, 15)),
        ("15 feb 2026", "DMY", date(2026, 2, 15)),
        ("1-abr-2026", "DMY", date(2026, 4, 1)),
        ("1-ago-2026", "DMY", date(2026, 8, 1)),
        ("31-dic-2026", "DMY", date(2026, 12, 31)),
        ("31 diciembre 2026", "DMY", date(2026, 12, 31)),
        ("2 de marzo de 2026", "DMY", date(2026, 3, 2)),
        ("2026-nov-23", "DMY", date(2026, 11, 23)),
        ("  23/11/2026 ", "DMY", date(2026, 11, 23)),
        ("29/02/2028", "DMY", date(2028, 2, 29)),
    ],
)
def test_dates_as_written(text: str, order: str, expected: date) -> None:
    assert parse_date(text, order) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (datetime(2026, 11, 23, 10, 0), date(2026, 11, 23)),
        (date(2026, 11, 23), date(2026, 11, 23)),
        (20261123, date(2026, 11, 23)),
    ],
)
def test_date_cells_from_spreadsheets(cell: object, expected: date) -> None:
    result = parse_date(cell, "DMY")
    assert type(result) is date
    assert result == expected


@pytest.mark.parametrize(
    ("text", "order", "message"),
    [
        ("12/31/2026x", "MDY", "'12/31/2026x' is not a date (expected month/day/year)"),
        ("12/31/2026x", "DMY", "'12/31/2026x' is not a date (expected day/month/year)"),
        ("31/02/2026", "DMY", "'31/02/2026' is not a valid date"),
        ("29/02/2026", "DMY", "is not a valid date"),
        ("11/23/2026", "DMY", "is not a valid date (read as day/month/year)"),
        ("23/11/2026", "MDY", "is not a valid date (read as month/day/year)"),
        ("2026-13-01", "DMY", "is not a valid date"),
        ("20261323", "DMY", "is not a valid date"),
        ("05/06/2026", "YMD", "expected year-month-day"),
        ("46349", "DMY", "is not a date"),  # an Excel serial number typed as text
        ("2026", "DMY", "is not a date"),
        ("nov 2026", "DMY", "is not a date"),
        ("23 de noviembre", "DMY", "is not a date"),
        ("23/11-2026", "DMY", "is not a date"),
        ("23/11/202", "DMY", "is not a date"),
        ("mañana", "DMY", "is not a date"),
        ("", "DMY", "is not a date"),
        ("32-nov-2026", "DMY", "is not a valid date"),
    ],
)
def test_rejected_dates(text: str, order: str, message: str) -> None:
    with pytest.raises(ValueFormatError, match=re.escape(message)):
        parse_date(text, order)


@pytest.mark.parametrize("cell", [46349, 46349.0, True, None, Decimal("20261123")])
def test_numbers_are_not_dates(cell: object) -> None:
    # Bare integers could be ids or Excel serials; only the 8-digit YYYYMMDD is a date.
    with pytest.raises(ValueFormatError):
        parse_date(cell, "DMY")


def test_date_order_argument_is_checked() -> None:
    with pytest.raises(ValueError, match="DMY, MDY or YMD"):
        parse_date("2026-01-01", "DYM")


# --- locales -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "separator"),
    [
        ("es_CO", ","),
        ("es_ES", ","),
        ("es_AR", ","),
        ("es_CL", ","),
        ("es-CO", ","),
        ("es_MX", "."),
        ("en_US", "."),
        ("es_PE", "."),
    ],
)
def test_decimal_separator_for_locale(locale: str, separator: str) -> None:
    assert decimal_separator_for_locale(locale) == separator


@pytest.mark.parametrize(
    ("locale", "order"),
    [("es_CO", "DMY"), ("es_MX", "DMY"), ("es_ES", "DMY"), ("en_GB", "DMY"),
     ("en_US", "MDY"), ("zh", "YMD"), ("fr_CA", "YMD")],
)  # fmt: skip
def test_date_order_for_locale(locale: str, order: str) -> None:
    assert date_order_for_locale(locale) == order


def test_unknown_locale() -> None:
    with pytest.raises(ValueError, match="unknown locale"):
        decimal_separator_for_locale("xx_YY")


# --- ColumnFormat: amounts -----------------------------------------------------------------


def _amount_column(*values: object, locale: str = "es_CO") -> ColumnFormat:
    column = ColumnFormat("amount", "amount")
    for line, value in enumerate(values, start=2):
        column.observe(line, value)
    column.resolve(locale)
    return column


def test_all_ambiguous_amount_column_is_settled_by_locale() -> None:
    values = ["1.234", "5.000", "12", None, ""]
    colombia = _amount_column(*values, locale="es_CO")
    usa = _amount_column(*values, locale="en_US")
    assert colombia.decimal == ","
    assert usa.decimal == "."
    assert parse_amount("1.234", colombia.decimal) == Decimal("1234")
    assert parse_amount("1.234", usa.decimal) == Decimal("1.234")


@pytest.mark.parametrize(
    ("values", "decimal"),
    [
        (["1.234", "1.234,56"], ","),  # both marks: the last is the decimal
        (["1.234", "1,234.56"], "."),
        (["1.234", "1.234.567"], ","),  # a repeated mark groups thousands
        (["1,234", "1,234,567"], "."),
        (["1.234", "12,5"], ","),  # one or two digits after a single mark: decimal
        (["1,234", "12.50"], "."),
        (["1.234", "1.2345"], "."),  # four or more digits: decimal as well
        (["$ 1.234", "(1.234,00)"], ","),
        (["1 234", "1 234,5"], ","),
    ],
)
def test_one_clear_value_decides_the_column(values: list[str], decimal: str) -> None:
    # Locale chosen against the evidence, so a pass proves the evidence won.
    locale = "en_US" if decimal == "," else "es_CO"
    assert _amount_column(*values, locale=locale).decimal == decimal


def test_amount_column_contradiction_names_both_lines() -> None:
    column = ColumnFormat("amount", "amount")
    column.observe(2, "1.234,56")
    for line in range(3, 9):
        column.observe(line, "1.000")
    column.observe(9, "1,234.56")
    column.observe(10, "9,99")
    with pytest.raises(ColumnContradiction) as caught:
        column.resolve("es_CO")
    error = caught.value
    assert str(error) == (
        "column amount mixes decimal separators: '1.234,56' (line 2) uses ',' "
        "but '1,234.56' (line 9) uses '.'"
    )
    assert (error.field, error.first_line, error.first_value) == ("amount", 2, "1.234,56")
    assert (error.second_line, error.second_value) == (9, "1,234.56")
    assert isinstance(error, ValueError)


def test_amount_column_ignores_numbers_and_unreadable_text() -> None:
    # XLSX numbers carry no separator and bad cells are the parser's to reject per row.
    column = _amount_column(1234.5, Decimal("3.5"), 7, "abc", "1.23.4", "1.234,5", locale="en_US")
    assert column.decimal == ","


def test_empty_amount_column_uses_locale() -> None:
    assert _amount_column(locale="es_CO").decimal == ","
    assert _amount_column(None, "", "  ", locale="es_MX").decimal == "."


# --- ColumnFormat: dates -------------------------------------------------------------------


def _date_column(*values: object, locale: str = "es_CO") -> ColumnFormat:
    column = ColumnFormat("due_date", "date")
    for line, value in enumerate(values, start=2):
        column.observe(line, value)
    column.resolve(locale)
    return column


def test_day_first_and_month_first_columns() -> None:
    assert _date_column("05/06/2026", "23/11/2026", locale="en_US").order == "DMY"
    assert _date_column("05/06/2026", "11/23/2026", locale="es_CO").order == "MDY"


def test_ambiguous_date_column_is_settled_by_locale() -> None:
    values = ["05/06/2026", "01/02/2026", "2026-03-04", "4-nov-2026"]
    assert _date_column(*values, locale="es_CO").order == "DMY"
    assert _date_column(*values, locale="en_US").order == "MDY"
    # A year-first locale cannot tell day from month; day-first is the common reading.
    assert _date_column(*values, locale="zh").order == "DMY"


def test_iso_and_month_names_fit_any_order() -> None:
    assert _date_column("2026-11-23", "23-nov-2026", "11/23/2026", locale="es_CO").order == "MDY"
    assert _date_column("2026-11-23", "Nov 23, 2026", "23/11/2026", locale="en_US").order == "DMY"


def test_year_first_only_column() -> None:
    assert _date_column("2026-11-23", "2026-01-02 00:00:00", locale="en_US").order == "YMD"
    assert _date_column(locale="en_US").order == "MDY"  # nothing seen: the locale's


def test_date_column_ignores_spreadsheet_dates_and_impossible_text() -> None:
    column = _date_column(datetime(2026, 5, 6), date(2026, 1, 2), "31/02/2026", "junk",
                          "05/06/2026", locale="es_CO")  # fmt: skip
    assert column.order == "DMY"


def test_date_column_contradiction_names_both_lines() -> None:
    column = ColumnFormat("due_date", "date")
    column.observe(2, "05/06/2026")
    column.observe(3, "23/11/2026")
    column.observe(4, "2026-01-01")
    column.observe(7, "11/23/2026")
    with pytest.raises(ColumnContradiction) as caught:
        column.resolve("es_CO")
    error = caught.value
    assert (error.first_line, error.first_value) == (3, "23/11/2026")
    assert (error.second_line, error.second_value) == (7, "11/23/2026")
    assert "day/month/year" in str(error) and "month/day/year" in str(error)
    assert "column due_date" in str(error)


def test_column_format_kind_is_checked() -> None:
    with pytest.raises(ValueError):
        ColumnFormat("x", "number")  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------

_two_places = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False
)


@given(_two_places)
def test_babel_formatted_amounts_round_trip(amount: Decimal) -> None:
    for locale in ("es_CO", "en_US", "es_ES", "es_MX", "es_AR"):
        text = format_decimal(amount, format="#,##0.00", locale=locale)
        assert parse_amount(text, decimal_separator_for_locale(locale)) == amount


@given(st.lists(_two_places, min_size=1, max_size=20), st.sampled_from(["es_CO", "en_US"]))
def test_a_formatted_column_is_read_whatever_the_import_locale(
    amounts: list[Decimal], locale: str
) -> None:
    # Values always carry two decimals, so the column reveals its own separator and the
    # import locale (here the opposite one, half the time) must not matter.
    texts = [format_decimal(a, format="#,##0.00", locale=locale) for a in amounts]
    column = ColumnFormat("amount", "amount")
    for line, text in enumerate(texts, start=2):
        column.observe(line, text)
    column.resolve("en_US" if locale == "es_CO" else "es_CO")
    assert column.decimal == decimal_separator_for_locale(locale)
    assert [parse_amount(t, column.decimal) for t in texts] == amounts


@given(st.dates(min_value=date(1970, 1, 1), max_value=date(2069, 12, 31)))
def test_dates_round_trip_in_every_written_form(day: date) -> None:
    forms = {
        "DMY": [day.strftime("%d/%m/%Y"), day.strftime("%d-%m-%y"), day.strftime("%d.%m.%Y")],
        "MDY": [day.strftime("%m/%d/%Y"), day.strftime("%m/%d/%y")],
    }
    for order, texts in forms.items():
        for text in texts:
            assert parse_date(text, order) == day
    for text in (day.isoformat(), day.strftime("%Y%m%d"), day.strftime("%d %b %Y")):
        assert parse_date(text, "MDY") == day
