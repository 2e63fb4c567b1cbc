"""What every statement parser returns: sections (one per account) of movements."""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from cartera.core.money import CurrencyError, to_minor, validate_currency


class StatementRefused(Exception):
    """The file as a whole cannot be read; str() says why, in one line (in the active
    language)."""


class LineUnreadable(Exception):
    """One movement cannot be read; the rest of the file still can. str() says why (in the
    active language)."""


@dataclass(frozen=True)
class ParsedLine:
    position: int
    booking_date: datetime.date
    value_date: datetime.date | None
    amount_minor: int  # always positive; `is_credit` says which way the money went
    currency: str
    is_credit: bool
    # The bank's own reference for this movement, only where the format has a unique one.
    bank_reference: str = ""
    text: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""


@dataclass(frozen=True)
class Unreadable:
    position: int
    reason: str


@dataclass
class ParsedSection:
    """The movements of one account (a camt <Stmt>, an MT940 message, a Norma 43 account)."""

    account: str = ""  # as the file writes it; "" when the file does not say (CSV)
    currency: str | None = None
    bank: str = ""
    lines: list[ParsedLine] = field(default_factory=list)


@dataclass
class ParsedStatement:
    format: str
    sections: list[ParsedSection] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    profile: str = ""

    @property
    def line_count(self) -> int:
        return sum(len(section.lines) for section in self.sections)


def account_key(text: str) -> str:
    """An account number as compared: capitals, no spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return re.sub(r"[^0-9A-Z]", "", decomposed.upper())


def clean_text(*parts: str | None) -> str:
    """Parts joined by single spaces, without control characters or repeated blanks."""
    joined = " ".join(part for part in parts if part)
    # Soft hyphens and other invisible characters turn up in bank texts (ING's MT940 has them).
    visible = "".join(
        " " if unicodedata.category(ch)[0] in ("C", "Z") else ch for ch in joined if ch != "\xad"
    )
    return " ".join(visible.split())


def currency_code(code: str | None, where: str) -> str:
    """`code` checked as a currency; `where` (a column code, or words in the active language)
    starts the reason when it is not one."""
    try:
        return validate_currency(code or "")
    except CurrencyError as exc:
        raise LineUnreadable(f"{where}: {exc}") from None


def minor_amount(amount: Decimal, currency: str) -> int:
    """Positive minor units of an amount, refusing what does not fit the currency."""
    magnitude = abs(amount)
    minor = to_minor(magnitude, currency)
    if minor == 0:
        raise LineUnreadable(_("amount %(amount)s is zero") % {"amount": amount})
    if Decimal(minor) != magnitude.scaleb(_exponent(currency)):
        raise LineUnreadable(
            _("amount %(amount)s has more decimals than %(currency)s has")
            % {"amount": amount, "currency": currency}
        )
    if minor >= 10**17:
        raise LineUnreadable(_("amount %(amount)s is too large") % {"amount": amount})
    return minor


def _exponent(currency: str) -> int:
    from cartera.core.money import exponent

    return exponent(currency)
