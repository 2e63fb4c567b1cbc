"""Turning raw cells into clean values, each failure a `RowError` naming the column."""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache

from babel import Locale
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from cartera.core.money import CurrencyError, exponent, to_minor, validate_currency
from cartera.portfolio.importing.columns import normalize_header
from cartera.portfolio.importing.pipeline import ImportContext, RowError
from cartera.portfolio.importing.values import (
    ValueFormatError,
    parse_amount,
    parse_date_cached,
    plain_minor,
)
from cartera.portfolio.models import DebtorKind, DocumentKind

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


def text(values: dict[str, object], name: str, *, max_length: int = 200) -> str | None:
    """A cell as clean text (control characters dropped, spaces folded), or None when empty."""
    raw = values.get(name)
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # an id typed as a number in Excel: 1234.0 means "1234"
    if isinstance(raw, str) and raw.isprintable() and "  " not in raw:
        cleaned = raw.strip()  # the common case, without the two substitutions
    else:
        cleaned = _SPACES.sub(" ", _CONTROL.sub("", str(raw))).strip()
    if not cleaned:
        return None
    if len(cleaned) > max_length:
        raise RowError(name, raw, _("longer than %(count)s characters") % {"count": max_length})
    return cleaned


def required_text(values: dict[str, object], name: str, *, max_length: int = 200) -> str:
    value = text(values, name, max_length=max_length)
    if value is None:
        raise RowError(name, None, _("%(column)s is empty") % {"column": name})
    return value


def amount(ctx: ImportContext, values: dict[str, object], name: str) -> Decimal | None:
    raw = values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    fmt = ctx.formats.get(name)
    try:
        return parse_amount(raw, fmt.decimal if fmt and fmt.decimal else ".")
    except (ValueFormatError, InvalidOperation) as exc:
        raise RowError(name, raw, str(exc)) from exc


def amount_minor(
    ctx: ImportContext, values: dict[str, object], name: str, currency: str
) -> tuple[int, int] | None:
    """(absolute amount in the currency's minor units, sign -1/0/1 of the amount as written),
    or None when empty: what `amount` then `to_minor(abs(...))` give, without a Decimal for
    plain numbers."""
    raw = values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    fmt = ctx.formats.get(name)
    decimal = fmt.decimal if fmt and fmt.decimal else "."
    try:
        plain = plain_minor(raw, decimal, exponent(currency))
        if plain is not None:
            return plain
        value = parse_amount(raw, decimal)
    except (ValueFormatError, InvalidOperation) as exc:
        raise RowError(name, raw, str(exc)) from exc
    return to_minor(abs(value), currency), (value > 0) - (value < 0)


def minor(ctx: ImportContext, values: dict[str, object], name: str, currency: str) -> int | None:
    value = amount(ctx, values, name)
    return None if value is None else to_minor(value, currency)


def date(ctx: ImportContext, values: dict[str, object], name: str) -> datetime.date | None:
    raw = values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    fmt = ctx.formats.get(name)
    try:
        return parse_date_cached(raw, fmt.order if fmt and fmt.order else "YMD")
    except ValueFormatError as exc:
        raise RowError(name, raw, str(exc)) from exc


def currency(values: dict[str, object], name: str, default: str) -> str:
    raw = text(values, name, max_length=10)
    if raw is None:
        return default
    try:
        return validate_currency(_CURRENCY_SYMBOLS.get(raw, raw))
    except CurrencyError as exc:
        raise RowError(name, raw, str(exc)) from exc


# People type a symbol where a code belongs; only unambiguous ones are accepted.
_CURRENCY_SYMBOLS = {"€": "EUR", "US$": "USD", "USD$": "USD", "S/": "PEN", "S/.": "PEN"}

_DEBTOR_KINDS: dict[str, set[str]] = {
    DebtorKind.PERSON: {
        "person",
        "persona",
        "natural",
        "personanatural",
        "pn",
        "pf",
        "personafisica",
        "fisica",
        "individual",
        "individuo",
    },
    DebtorKind.COMPANY: {
        "company",
        "empresa",
        "juridica",
        "personajuridica",
        "pj",
        "pm",
        "personamoral",
        "moral",
        "sociedad",
        "business",
        "organization",
    },
}
_DOCUMENT_KINDS: dict[str, set[str]] = {
    DocumentKind.INVOICE: {
        "invoice",
        "factura",
        "fac",
        "fv",
        "fe",
        "facturaelectronica",
        "facturaventa",
    },
    DocumentKind.DEBIT_NOTE: {"debitnote", "notadebito", "nd", "notacargo", "cargo"},
    DocumentKind.CREDIT_NOTE: {"creditnote", "notacredito", "nc", "abono"},
    DocumentKind.PROMISSORY_NOTE: {"promissorynote", "pagare", "letra", "letracambio"},
    DocumentKind.INSTALLMENT: {"installment", "cuota", "instalment"},
}


# A file repeats a handful of kinds a million times: normalize each spelling once.
_normalized_word = lru_cache(maxsize=1024)(normalize_header)


def _choice(values: dict[str, object], name: str, table: Mapping[str, set[str]]) -> str | None:
    raw = text(values, name, max_length=60)
    if raw is None:
        return None
    key = _normalized_word(raw)
    for choice, words in table.items():
        if key in words:
            return str(choice)
    accepted = ", ".join(str(choice) for choice in table)
    if table is _DEBTOR_KINDS:
        reason = _("unknown debtor kind (accepted: %(accepted)s)")
    else:
        reason = _("unknown document kind (accepted: %(accepted)s)")
    raise RowError(name, raw, reason % {"accepted": accepted})


def debtor_kind(values: dict[str, object], name: str) -> str | None:
    return _choice(values, name, _DEBTOR_KINDS)


def document_kind(values: dict[str, object], name: str) -> str | None:
    return _choice(values, name, _DOCUMENT_KINDS)


@cache
def _country_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for language in ("en", "es"):
        for code, name in Locale(language).territories.items():
            if len(code) == 2 and code.isalpha():
                names[normalize_header(name)] = code
                names[code.lower()] = code
    return names


def country(values: dict[str, object], name: str, default: str) -> str:
    raw = text(values, name, max_length=60)
    if raw is None:
        return default
    code = _country_names().get(normalize_header(raw))
    if code is None:
        raise RowError(name, raw, _("unknown country (use an ISO code such as CO, MX, ES)"))
    return code


def emails(values: dict[str, object], name: str) -> list[str]:
    raw = text(values, name, max_length=300)
    if raw is None:
        return []
    found = []
    for part in re.split(r"[;,\s]+", raw):
        if not part:
            continue
        address = unicodedata.normalize("NFC", part).lower()
        try:
            validate_email(address)
        except ValidationError as exc:
            raise RowError(
                name, raw, _("'%(value)s' is not a valid email address") % {"value": part}
            ) from exc
        found.append(address)
    return found
