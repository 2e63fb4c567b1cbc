"""Exact money: amounts are stored as integers of the currency's minor unit.

Integers keep sums exact on SQLite too (its NUMERIC columns are floating point underneath), and
each currency's ISO 4217 exponent says where the decimal point goes. Conversions round
half-up to the minor unit, as DESIGN.md §3 asks.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    list_currencies,
)
from django.utils.translation import gettext as _


class CurrencyError(ValueError):
    pass


@cache
def known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def validate_currency(code: str) -> str:
    code = (code or "").strip().upper()
    if code not in known_currencies():
        raise CurrencyError(_("'%(code)s' is not an ISO 4217 currency code") % {"code": code})
    return code


@cache
def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit (COP 2, CLP 0, KWD 3)."""
    return get_currency_precision(currency)


def to_minor(amount: Decimal, currency: str) -> int:
    """Round an amount half-up to the currency's minor unit and return it as an integer."""
    scaled = (amount * (Decimal(10) ** exponent(currency))).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    """The exact Decimal of an amount in minor units, with exactly the currency's decimals."""
    return Decimal(int(minor)).scaleb(-exponent(currency))


def minor_str(minor: int, currency: str) -> str:
    """Decimal string with exactly the currency's ISO 4217 decimals: 123456 COP -> '1234.56'."""
    return minor_formatter(currency)(minor)


@cache
def minor_formatter(currency: str) -> Callable[[int], str]:
    """`minor_str` for one currency, looked up once: reports write hundreds of thousands of
    amounts. Integer arithmetic, not `Decimal`, for the same reason."""
    places = exponent(currency)
    if not places:
        return str
    pattern, scale = f"%d.%0{places}d", 10**places
    zero = pattern % (0, 0)  # most of a by-debtor report's cells

    def text(minor: int) -> str:
        if not minor:
            return zero
        if minor < 0:
            return "-" + pattern % divmod(-minor, scale)
        return pattern % divmod(minor, scale)

    return text


def format_minor(minor: int, currency: str, locale: str = "es_CO") -> str:
    """An amount as people of `locale` write it: $ 1.234.567,89 (es_CO), $1,234,567.89 (es_MX)."""
    return format_currency(from_minor(minor, currency), currency, locale=locale)


def format_number(value: Decimal | float | int, locale: str, places: int = 2) -> str:
    """A number (days, a rate) as people of `locale` write it, with `places` decimals rounded
    half up: 1.234,50 (es_CO), 1,234.50 (es_MX)."""
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    shown = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(shown, format=pattern, locale=locale)
