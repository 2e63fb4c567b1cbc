"""Amounts and dates as people type them into spreadsheets.

A single cell is often ambiguous: '1.234' is one thousand two hundred thirty-four in Bogotá and
one point two three four in Mexico City, and '05/06/2026' is the 5th of June or May 6th. A
column, though, is written by one person or one system, so `ColumnFormat` looks at every value
of a column first and picks the one reading that fits them all; only what the whole column
leaves open is settled by the locale. Parsing itself never guesses.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.dates import get_date_format
from babel.numbers import get_decimal_symbol, list_currencies
from django.utils.text import get_text_list
from django.utils.translation import gettext as _

__all__ = [
    "ColumnContradiction",
    "ColumnFormat",
    "ValueFormatError",
    "date_order_for_locale",
    "decimal_separator_for_locale",
    "parse_amount",
    "parse_date",
    "parse_date_cached",
    "plain_minor",
]


class ValueFormatError(ValueError):
    """A cell that cannot be read; the message quotes it and says what was expected."""


class ColumnContradiction(ValueError):
    """Two values of one column that cannot both be read the same way."""

    def __init__(
        self,
        field: str,
        first_line: int,
        first_value: str,
        second_line: int,
        second_value: str,
        message: str,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.first_line = first_line
        self.first_value = first_value
        self.second_line = second_line
        self.second_value = second_value


# --- locales -----------------------------------------------------------------------------


@cache
def _locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown locale {locale!r}") from exc


def decimal_separator_for_locale(locale: str) -> str:
    """',' for es_CO, es_ES, es_AR...; '.' for es_MX, en_US... (from CLDR via babel)."""
    # The parser only knows '.' and ','; locales with other marks (Arabic '٫') get '.'.
    return "," if get_decimal_symbol(_locale(locale)) == "," else "."


def date_order_for_locale(locale: str) -> str:
    """'DMY', 'MDY' or 'YMD', from where d, M and y sit in the locale's short date pattern."""
    pattern = get_date_format("short", locale=_locale(locale)).pattern
    pattern = re.sub(r"'[^']*'", "", pattern)  # quoted literal text is not a field

    def position(letters: str) -> int:
        found = [pattern.find(letter) for letter in letters if letter in pattern]
        return min(found) if found else len(pattern)

    year, month, day = position("yYu"), position("ML"), position("d")
    if year < month and year < day:
        return "YMD"
    return "DMY" if day < month else "MDY"


# --- amounts -----------------------------------------------------------------------------

# Thousands may be grouped with spaces (any of the Unicode spaces Excel and babel produce) or
# apostrophes (Swiss style); those never serve as the decimal mark, unlike '.' and ','.
_SPACES = " \u00a0\u202f\u2009\u2007"
_APOSTROPHES = "'\u2019"
_MINUS_SIGNS = "-\u2212"
_CORE = re.compile(r"[0-9][0-9.," + _SPACES + _APOSTROPHES + r"]*")

_DOLLAR_CURRENCIES = frozenset(
    {"USD", "COP", "MXN", "ARS", "CLP", "UYU", "DOP", "CUP", "NIO", "CAD", "AUD", "NZD", "HKD",
     "SGD", "TWD", "BSD", "BZD", "SVC", "ECS"}
)  # fmt: skip

# Currency symbols found before or after amounts in Latin American and Spanish files, with the
# ISO codes each may stand for (to tell 'USD $100' apart from '€ 100 USD').
_SYMBOLS: dict[str, frozenset[str]] = {
    "$": _DOLLAR_CURRENCIES,
    "US$": frozenset({"USD"}),
    "U$S": frozenset({"USD"}),
    "MX$": frozenset({"MXN"}),
    "COL$": frozenset({"COP"}),
    "RD$": frozenset({"DOP"}),
    "C$": frozenset({"NIO", "CAD"}),
    "CA$": frozenset({"CAD"}),
    "R$": frozenset({"BRL"}),
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "¥": frozenset({"JPY", "CNY"}),
    "₡": frozenset({"CRC"}),
    "₲": frozenset({"PYG"}),
    "GS.": frozenset({"PYG"}),
    "GS": frozenset({"PYG"}),
    "S/.": frozenset({"PEN"}),
    "S/": frozenset({"PEN"}),
    "BS.S": frozenset({"VES"}),
    "BS.": frozenset({"BOB", "VES"}),
    "BS": frozenset({"BOB", "VES"}),
    "B/.": frozenset({"PAB"}),
    "Q": frozenset({"GTQ"}),
    "₱": frozenset({"PHP"}),
    "₹": frozenset({"INR"}),
}
# Longest first, so that 'US$' is not read as 'U' followed by '$'.
_SYMBOLS_BY_LENGTH = sorted(_SYMBOLS, key=len, reverse=True)
_CODE = re.compile(r"[A-Za-z]{3}(?![A-Za-z])")


@cache
def _currency_codes() -> frozenset[str]:
    return frozenset(list_currencies())


class _Bad(Exception):
    """Internal: why a text is not an amount or a date; becomes a ValueFormatError."""


def _split_amount(text: str) -> tuple[bool, str]:
    """(negative, numeric core) of an amount text, with signs and currency marks checked."""
    text = text.strip()
    if not text:
        raise _Bad(_("it is empty"))
    match = _CORE.search(text)
    if match is None:
        raise _Bad(_("there are no digits"))
    core = match.group().rstrip(_SPACES + _APOSTROPHES + ".,")
    prefix, suffix = text[: match.start()], text[match.start() + len(core) :]
    if any(ch.isdigit() for ch in prefix + suffix):
        raise _Bad(_("it holds more than one number"))

    signs: list[str] = []
    parens: list[str] = []
    symbols: set[str] = set()
    codes: set[str] = set()
    for affix, is_prefix in ((prefix, True), (suffix, False)):
        rest = affix
        while rest := rest.strip(_SPACES):
            head = rest[0]
            if head in "()":
                if (head == "(") != is_prefix:
                    raise _Bad(_("its parentheses are misplaced"))
                parens.append(head)
                rest = rest[1:]
                continue
            if head in _MINUS_SIGNS or head == "+":
                signs.append("-" if head in _MINUS_SIGNS else "+")
                rest = rest[1:]
                continue
            upper = rest.upper()
            symbol = next((s for s in _SYMBOLS_BY_LENGTH if upper.startswith(s)), None)
            # A symbol ending in a letter ('Q', 'BS') must end the word, or 'QUOTA' would pass
            # and 'BSD' (a code) would be misread.
            if symbol and symbol[-1].isalpha() and upper[len(symbol) : len(symbol) + 1].isalpha():
                symbol = None
            if symbol:
                symbols.add(symbol)
                rest = rest[len(symbol) :]
                continue
            code = _CODE.match(rest)
            if code and code.group().upper() in _currency_codes():
                codes.add(code.group().upper())
                rest = rest[3:]
                continue
            unexpected = rest.split()[0] if rest.split() else rest
            raise _Bad(_("unexpected %(text)s") % {"text": repr(unexpected)})

    if len(signs) > 1 or (signs and parens):
        raise _Bad(_("it has more than one sign"))
    if parens and parens != ["(", ")"]:
        raise _Bad(_("its parentheses do not match"))
    if len(symbols) > 1:
        raise _Bad(_("it has two different currency symbols"))
    if len(codes) > 1:
        raise _Bad(_("it has two different currency codes"))
    if symbols and codes and not (codes <= _SYMBOLS[next(iter(symbols))]):
        raise _Bad(_("its currency symbol and code disagree"))
    return (bool(parens) or signs == ["-"]), core


def _core_to_decimal(core: str, decimal: str) -> Decimal:
    """Read digits grouped with anything but `decimal`, which separates the fraction."""
    for space in _SPACES[1:]:
        core = core.replace(space, " ")
    core = core.replace("\u2019", "'")
    if core.count(decimal) > 1:
        raise _Bad(
            _("'%(separator)s' cannot be the decimal separator twice") % {"separator": decimal}
        )
    whole, separator, fraction = core.partition(decimal)
    if separator and not fraction.isdigit():
        raise _Bad(_("digits after the decimal separator are grouped"))
    separators = {ch for ch in whole if not ch.isdigit()}
    if len(separators) > 1:
        raise _Bad(_("it mixes thousands separators"))
    if separators:
        groups = whole.split(separators.pop())
        if (
            not 1 <= len(groups[0]) <= 3
            or groups[0].startswith("0")
            or any(len(group) != 3 for group in groups[1:])
        ):
            raise _Bad(_("its digits are badly grouped"))
        whole = "".join(groups)
    return Decimal(f"{whole}.{fraction}" if fraction else whole)


# Whether a text reads as an amount under ',' or '.' depends on its shape, not on which
# non-zero digits it holds; a column of a million amounts has only a few dozen shapes.
_SHAPE = str.maketrans("23456789", "11111111")


def _amount_readings(text: str) -> frozenset[str]:
    """The decimal separators under which a text is a valid amount (empty: not an amount)."""
    return _shape_readings(text.translate(_SHAPE))


@lru_cache(maxsize=4096)
def _shape_readings(text: str) -> frozenset[str]:
    try:
        _, core = _split_amount(text)
    except _Bad:
        return frozenset()
    readings = set()
    for decimal in ",.":
        try:
            _core_to_decimal(core, decimal)
        except _Bad:
            continue
        readings.add(decimal)
    return frozenset(readings)


_PLAIN_AMOUNT = {
    ".": re.compile(r"-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,9})?"),
    ",": re.compile(r"-?(?:0|[1-9][0-9]{0,17})(?:,[0-9]{1,9})?"),
}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


_PLAIN_PARTS = {
    ".": re.compile(r"(-?)(0|[1-9][0-9]{0,17})(?:\.([0-9]{1,9}))?"),
    ",": re.compile(r"(-?)(0|[1-9][0-9]{0,17})(?:,([0-9]{1,9}))?"),
}


def plain_minor(raw: object, decimal: str, exponent: int) -> tuple[int, int] | None:
    """(absolute value in minor units, sign -1/0/1) of a plain number with at most `exponent`
    decimals ('-1234.5' with '.'), computed with integers; None for anything else.

    For such a cell these are `to_minor(abs(value), currency)` and the sign of
    `value = parse_amount(raw, decimal)` (no rounding is involved); other cells go that way.
    """
    if type(raw) is not str:
        return None
    match = _PLAIN_PARTS[decimal].fullmatch(raw)
    if match is None:
        return None
    sign, whole, fraction = match.groups()
    if fraction is None:
        minor = int(whole) * 10**exponent
    elif len(fraction) <= exponent:
        minor = int(whole + fraction) * 10 ** (exponent - len(fraction))
    else:
        return None
    return minor, (-1 if sign else 1) if minor else 0


def parse_amount(raw: object, decimal: str) -> Decimal:
    """The exact Decimal of a cell: text as people write it, or a number from a spreadsheet.

    `decimal` is the column's decimal separator ('.' or ','), from `ColumnFormat.resolve`.
    Floats (XLSX numeric cells) go through their shortest repr, so 0.1 stays 0.1; rounding to
    the currency's minor unit is the caller's business.
    """
    if decimal not in (",", "."):
        raise ValueError(f"decimal separator must be ',' or '.', not {decimal!r}")
    if isinstance(raw, bool):
        raise _not_an_amount(raw)
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise _not_an_amount(raw)
        return Decimal(str(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise _not_an_amount(raw)
        return raw
    if not isinstance(raw, str):
        raise _not_an_amount(raw)
    # Most cells of a machine-written file are plain numbers: read them without the full
    # grammar (same result, a fraction of the time).
    plain = _PLAIN_AMOUNT[decimal].fullmatch(raw)
    if plain is not None:
        value = Decimal(raw.replace(",", "."))
        return value if value else value.copy_abs()  # no "-0.00"
    try:
        negative, core = _split_amount(raw)
    except _Bad as exc:
        raise ValueFormatError(
            _("'%(value)s' is not an amount (%(reason)s)") % {"value": raw.strip(), "reason": exc}
        ) from None
    try:
        value = _core_to_decimal(core, decimal)
    except (_Bad, InvalidOperation) as exc:
        raise ValueFormatError(
            _(
                "'%(value)s' is not an amount (%(reason)s, reading '%(separator)s' as the "
                "decimal separator)"
            )
            % {"value": raw.strip(), "reason": exc, "separator": decimal}
        ) from None
    return -value if negative and value else value


def _not_an_amount(raw: object) -> ValueFormatError:
    return ValueFormatError(_("%(value)s is not an amount") % {"value": repr(raw)})


# --- dates -------------------------------------------------------------------------------

_ORDERS = frozenset({"DMY", "MDY", "YMD"})


def _either(items: Iterable[str]) -> str:
    """'a' or 'a or b' (a list, then the word "or" in the active language)."""
    return get_text_list(list(items))


def _order_name(order: str) -> str:
    """How a date order is written in messages, in the active language."""
    if order == "DMY":
        return _("day/month/year")
    if order == "MDY":
        return _("month/day/year")
    return _("year-month-day")


_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "ene enero jan january",
        "feb febrero february",
        "mar marzo march",
        "abr abril apr april",
        "may mayo",
        "jun junio june",
        "jul julio july",
        "ago agosto aug august",
        "sep sept set septiembre setiembre september",
        "oct octubre october",
        "nov noviembre november",
        "dic diciembre dec december",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number
del _number, _names, _name

_WEEKDAYS = frozenset(
    {"lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo",
     "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)  # fmt: skip
# Excel and databases append a time ('2026-11-23 00:00:00', '23/11/2026 10:00 a. m.').
_TIME_SUFFIX = re.compile(
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[ap]\.?\s?m\.?)?\s*"
    r"(?:z|[+-]\d{2}:?\d{2})?)$",
    re.IGNORECASE,
)
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})")
_YEAR_MONTH_DAY = re.compile(r"(\d{4})([/.\-])(\d{1,2})\2(\d{1,2})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
# Ordinal days: '23rd', '1st', and Spanish '1º' (which NFKD turns into '1o'), '1ro', '1er'.
_DAY_NUMBER = re.compile(r"(\d{1,2})(?:st|nd|rd|th|ro|er|o|°)?")


def _full_year(text: str) -> int:
    # Two-digit years pivot at 70: '26' is 2026, '85' is 1985.
    year = int(text)
    if len(text) == 2:
        return 2000 + year if year < 70 else 1900 + year
    return year


def _date_parts(text: str) -> tuple[Literal["dm", "ymd"], int, int, int]:
    """("dm", first, second, year) when day and month are two numbers whose order is open;
    ("ymd", year, month, day) when the text itself fixes the reading."""
    text = _TIME_SUFFIX.sub("", text.strip())
    if match := _DAY_MONTH_YEAR.fullmatch(text):
        return "dm", int(match[1]), int(match[3]), _full_year(match[4])
    if match := _YEAR_MONTH_DAY.fullmatch(text):
        return "ymd", int(match[1]), int(match[3]), int(match[4])
    if match := _COMPACT.fullmatch(text):
        return "ymd", int(match[1]), int(match[2]), int(match[3])

    bare = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in bare if not unicodedata.combining(ch)).casefold()
    tokens = [t for t in re.split(r"[\s/.,\-]+", bare) if t and t not in ("de", "del")]
    if len(tokens) == 4 and tokens[0] in _WEEKDAYS:
        tokens = tokens[1:]
    months = [i for i, token in enumerate(tokens) if token in _MONTHS]
    if len(tokens) != 3 or len(months) != 1:
        raise _Bad("unreadable")
    month = _MONTHS[tokens[months[0]]]
    numbers = [token for i, token in enumerate(tokens) if i != months[0]]
    if months[0] == 1 and len(numbers[0]) == 4:  # 2026-nov-23
        year_text, day_text = numbers
    elif months[0] in (0, 1):  # Nov 23, 2026 / 23-nov-2026
        day_text, year_text = numbers
    else:
        raise _Bad("unreadable")
    day = _DAY_NUMBER.fullmatch(day_text)
    if day is None or not re.fullmatch(r"\d{2}|\d{4}", year_text):
        raise _Bad("unreadable")
    return "ymd", _full_year(year_text), month, int(day[1])


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _date_readings(text: str) -> frozenset[str] | None:
    """Orders a date text admits; None when any order reads it (ISO, month names)."""
    try:
        kind, a, b, c = _date_parts(text)
    except _Bad:
        return frozenset()
    if kind == "ymd":
        return None if _valid(a, b, c) else frozenset()
    readings = set()
    if _valid(c, b, a):
        readings.add("DMY")
    if _valid(c, a, b):
        readings.add("MDY")
    return frozenset(readings)


@lru_cache(maxsize=8192)
def _parse_date_text(text: str, order: str) -> date:
    return parse_date(text, order)


def parse_date_cached(raw: object, order: str) -> date:
    """`parse_date`, remembering the texts it has read: a column of a million dates holds a
    few thousand distinct ones."""
    if type(raw) is str:
        return _parse_date_text(raw, order)
    return parse_date(raw, order)


def parse_date(raw: object, order: str) -> date:
    """The date of a cell: text in the column's `order` ('DMY', 'MDY' or 'YMD'), or a date.

    Year-first and month-name texts read the same under any order; `order` only decides which
    of two leading numbers is the day.
    """
    if order not in _ORDERS:
        raise ValueError(f"date order must be DMY, MDY or YMD, not {order!r}")
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    # An integer cell can only be a compact YYYYMMDD; Excel serial numbers are refused
    # because a bare count of days is indistinguishable from an id or an amount.
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise ValueFormatError(
            _("%(value)s is not a date (expected %(format)s)")
            % {"value": repr(raw), "format": _order_name(order)}
        )
    text = raw.strip()
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass  # the full parser below says why
    try:
        kind, a, b, c = _date_parts(text)
    except _Bad:
        raise _not_a_date(text, order) from None
    if kind == "ymd":
        result = _valid(a, b, c)
    elif order == "YMD":
        raise _not_a_date(text, order)
    else:
        result = _valid(c, b, a) if order == "DMY" else _valid(c, a, b)
    if result is None:
        how = _order_name("YMD" if kind == "ymd" else order)
        raise ValueFormatError(
            _("'%(value)s' is not a valid date (read as %(format)s)")
            % {"value": text, "format": how}
        )
    return result


def _not_a_date(text: str, order: str) -> ValueFormatError:
    return ValueFormatError(
        _("'%(value)s' is not a date (expected %(format)s)")
        % {"value": text, "format": _order_name(order)}
    )


# --- column inference --------------------------------------------------------------------


# Distinct values per column remembered by `ColumnFormat.observe` to skip repeats.
_SEEN_LIMIT = 4096


class ColumnFormat:
    """Collects evidence over a whole column, then decides one reading for it.

    Each text value admits a set of readings (decimal separators for amounts, date orders for
    dates); the column's reading must be in all of them. Memory stays constant: only the
    surviving readings and, per reading, the first value that ruled it out are kept.
    """

    def __init__(self, field: str, kind: Literal["amount", "date"]) -> None:
        if kind not in ("amount", "date"):
            raise ValueError(f"kind must be 'amount' or 'date', not {kind!r}")
        self.field = field
        self.kind = kind
        self.decimal: str | None = None
        self.order: str | None = None
        self._candidates: frozenset[str] = frozenset(",." if kind == "amount" else ("DMY", "MDY"))
        # reading -> (line, value, readings of that value) of the value that excluded it
        self._excluded_by: dict[str, tuple[int, str, frozenset[str]]] = {}
        self._contradiction: ColumnContradiction | None = None
        self._saw_year_first = False
        self._saw_day_month = False
        self._seen: set[str] = set()

    def observe(self, line: int, raw: object) -> None:
        """Take one cell into account; only text counts (spreadsheet numbers and dates are
        already unambiguous), and unreadable text is left for the parser to reject."""
        if not isinstance(raw, str) or self._contradiction is not None:
            return
        # Observing a value a second time changes nothing; a column of dates has few of them.
        seen = self._seen
        if raw in seen:
            return
        if len(seen) < _SEEN_LIMIT:
            seen.add(raw)
        text = raw.strip()
        if not text:
            return
        if self.kind == "amount":
            readings = _amount_readings(text)
        elif _ISO_DATE.fullmatch(text):
            # Year first: compatible with any order; an impossible date is the parser's to
            # reject and says nothing about the column.
            try:
                date.fromisoformat(text)
            except ValueError:
                return
            self._saw_year_first = True
            return
        else:
            date_readings = _date_readings(text)
            if date_readings is None:
                self._saw_year_first = True
                return
            readings = date_readings
        if not readings:
            return
        if self.kind == "date":
            self._saw_day_month = True
        if readings >= self._candidates:
            return  # rules nothing out
        surviving = self._candidates & readings
        if not surviving:
            first_line, first_value, first_readings = min(
                (self._excluded_by[reading] for reading in readings),
                key=lambda excluder: excluder[0],
            )
            self._contradiction = self._contradiction_error(
                first_line, first_value, first_readings, line, text, readings
            )
            return
        for reading in self._candidates - readings:
            self._excluded_by[reading] = (line, text, readings)
        self._candidates = surviving

    def _contradiction_error(
        self,
        first_line: int,
        first_value: str,
        first_readings: frozenset[str],
        second_line: int,
        second_value: str,
        second_readings: frozenset[str],
    ) -> ColumnContradiction:
        if self.kind == "amount":
            template = _(
                "column %(field)s mixes decimal separators: '%(first_value)s' (line "
                "%(first_line)s) uses %(first)s but '%(second_value)s' (line %(second_line)s) "
                "uses %(second)s"
            )
            first = _either(f"'{r}'" for r in sorted(first_readings))
            second = _either(f"'{r}'" for r in sorted(second_readings))
        else:
            template = _(
                "column %(field)s mixes date orders: '%(first_value)s' (line %(first_line)s) "
                "is %(first)s but '%(second_value)s' (line %(second_line)s) is %(second)s"
            )
            first = _either(_order_name(r) for r in sorted(first_readings))
            second = _either(_order_name(r) for r in sorted(second_readings))
        message = template % {
            "field": self.field,
            "first_value": first_value,
            "first_line": first_line,
            "first": first,
            "second_value": second_value,
            "second_line": second_line,
            "second": second,
        }
        return ColumnContradiction(
            self.field, first_line, first_value, second_line, second_value, message
        )

    def resolve(self, locale: str) -> None:
        """Decide the column's reading; the locale settles what the values left open."""
        if self._contradiction is not None:
            raise self._contradiction
        if self.kind == "amount":
            if len(self._candidates) == 1:
                self.decimal = next(iter(self._candidates))
            else:
                self.decimal = decimal_separator_for_locale(locale)
            return
        if len(self._candidates) == 1:
            self.order = next(iter(self._candidates))
        elif not self._saw_day_month:
            # Only year-first or month-name values (or none): no day/month question to settle.
            self.order = "YMD" if self._saw_year_first else date_order_for_locale(locale)
        else:
            preferred = date_order_for_locale(locale)
            # A year-first locale says nothing about day vs month; day-first is the common one.
            self.order = preferred if preferred in self._candidates else "DMY"
