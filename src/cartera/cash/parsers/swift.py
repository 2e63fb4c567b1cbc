"""SWIFT MT940 (statement) and MT942 (interim report), read with the `mt940` package.

A file may hold several messages, for several accounts: it is cut at every `:20:` and each
message is parsed on its own, so each movement keeps its account. A message the package cannot
read is retried one movement at a time, so one malformed `:61:` costs only that movement.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import mt940
from django.utils.translation import gettext as _

from cartera.cash.parsers.base import (
    LineUnreadable,
    ParsedLine,
    ParsedSection,
    ParsedStatement,
    Unreadable,
    account_key,
    clean_text,
    currency_code,
    minor_amount,
)

_TAG = re.compile(r"^:(\d{2}[A-Z]?):")
# End of a message: "-", "-}" (SWIFT blocks), "-XXX" (ING).
_END = re.compile(r"^-(\}.*|[A-Z]{0,4}\s*)$")
# German structured :86: separates its fields with ?NN.
_SUBFIELD = re.compile(r"\?\d{2}")
# Dutch structured :86: (ABN AMRO, ING SEPA): /IBAN/…/NAME/…/REMI/…
_SLASH_FIELD = re.compile(r"/(IBAN|NAME|REMI|EREF|BIC|CNTP)/([^/]*)")
_OPTIONS = mt940.Options(
    applicant_iban=True, reversal_sign=True, case_insensitive_marks=True, unbounded_details=True
)
_NONREF = frozenset({"", "NONREF", "NOTPROVIDED", "NONE"})


def looks_like_swift(text: str) -> bool:
    return bool(
        re.search(r"^:20:", text, re.MULTILINE)
        and re.search(r"^:25:", text, re.MULTILINE)
        and re.search(r"^:(60[FM]|34F|61):", text, re.MULTILINE)
    )


@dataclass
class _Message:
    lines: list[tuple[int, str]]  # (physical line number, text)

    @property
    def text(self) -> str:
        return "\n".join(text for _number, text in self.lines)

    def tag_lines(self, tag: str) -> list[int]:
        return [number for number, text in self.lines if text.startswith(f":{tag}:")]


def _messages(text: str) -> list[_Message]:
    messages: list[_Message] = []
    current: _Message | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if line.startswith(":20:"):
            current = _Message([])
            messages.append(current)
        if current is None:
            continue  # bank headers before the first message ("ABNANL2A", "940", "{1:…}")
        if _END.match(line.strip()):
            current = None
            continue
        current.lines.append((number, line))
    return messages


def parse_swift(text: str) -> ParsedStatement:
    messages = _messages(text)
    kind = "mt942" if re.search(r"^:34F:", text, re.MULTILINE) else "mt940"
    statement = ParsedStatement(format=kind)
    for message in messages:
        section = _section(message)
        statement.sections.append(section)
        positions = message.tag_lines("61")
        try:
            transactions = _parse(message.text)
        except Exception:
            transactions = None
        if transactions is not None and len(transactions) == len(positions):
            pairs = list(zip(positions, transactions, strict=True))
        else:
            pairs = _one_by_one(message, positions, statement)
        for position, transaction in pairs:
            try:
                section.lines.append(_line(position, transaction, section))
            except LineUnreadable as exc:
                statement.unreadable.append(Unreadable(position, str(exc)))
        if section.currency is None and section.lines:
            section.currency = section.lines[0].currency
    return statement


def _parse(text: str) -> list[Any]:
    transactions = mt940.models.Transactions(options=_OPTIONS)
    transactions.parse(text)
    return list(transactions.transactions)


def _section(message: _Message) -> ParsedSection:
    account = ""
    currency: str | None = None
    for _number, line in message.lines:
        if line.startswith(":25:"):
            account = line[4:].strip()
        match = re.match(r"^:(60[FM]|34F):[CD]?\d{0,6}([A-Z]{3})", line)
        if match and currency is None:
            currency = match.group(2)
    # Rabobank writes the currency after the number: "1291.99.348EUR".
    if currency and account.endswith(currency) and account[: -len(currency)][-1:].isdigit():
        account = account[: -len(currency)]
    return ParsedSection(account=account, currency=currency)


def _one_by_one(
    message: _Message, positions: list[int], statement: ParsedStatement
) -> list[tuple[int, Any]]:
    """Parse each :61: (with its :86:) inside the message's header, to isolate bad ones."""
    header: list[str] = []
    blocks: list[tuple[int, list[str]]] = []
    for number, line in message.lines:
        tag = _TAG.match(line)
        if tag and tag.group(1) == "61":
            blocks.append((number, [line]))
        elif tag and tag.group(1) in ("62F", "62M", "64", "65", "90D", "90C"):
            break
        elif blocks:
            blocks[-1][1].append(line)
        else:
            header.append(line)
    pairs = []
    for number, block in blocks:
        try:
            parsed = _parse("\n".join(header + block))
        except Exception as exc:
            # what the mt940 package says, in its own (English) words
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            statement.unreadable.append(
                Unreadable(number, _("movement :61: not readable: %(reason)s") % {"reason": reason})
            )
            continue
        if len(parsed) != 1:
            statement.unreadable.append(Unreadable(number, _("movement :61: not readable")))
            continue
        pairs.append((number, parsed[0]))
    return pairs


def _value(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value).strip()


def _line(position: int, transaction: Any, section: ParsedSection) -> ParsedLine:
    data = transaction.data
    amount = data.get("amount")
    if amount is None or getattr(amount, "amount", None) is None:
        raise LineUnreadable(_("movement :61: has no amount"))
    value: Decimal = amount.amount
    currency = currency_code(amount.currency or section.currency, _("movement :61:"))
    booking = data.get("entry_date") or data.get("date")
    if booking is None:
        raise LineUnreadable(_("movement :61: has no date"))
    details = _value(data, "transaction_details")
    structured = dict(_SLASH_FIELD.findall(details.replace("\n", "")))
    name = (
        _value(data, "applicant_name")
        or structured.get("NAME", "")
        or (_value(data, "extra_details") if not _value(data, "extra_details").isdigit() else "")
    )
    iban = (
        _value(data, "applicant_iban")
        or _value(data, "gvc_applicant_iban")
        or structured.get("IBAN", "")
        or structured.get("CNTP", "").split("/")[0]
    )
    customer = _value(data, "customer_reference")
    bank = _value(data, "bank_reference")
    # German structured :86: arrives split into fields (the purpose continues mid-word
    # into the additional purpose); other banks' :86: stays whole in transaction_details.
    text = clean_text(
        _value(data, "purpose") + _value(data, "additional_purpose"),
        _value(data, "end_to_end_reference"),
        _value(data, "posting_text"),
        _SUBFIELD.sub(" ", details),
        customer if customer.upper() not in _NONREF else "",
    )
    return ParsedLine(
        position=position,
        booking_date=_as_date(booking),
        value_date=_as_date(data["date"]) if data.get("date") else None,
        amount_minor=minor_amount(value, currency),
        currency=currency,
        is_credit=value > 0,
        bank_reference="" if bank.upper() in _NONREF else bank,
        text=text,
        counterparty_name=clean_text(name)[:200],
        counterparty_account=account_key(iban)[:60],
    )


def _as_date(value: Any) -> datetime.date:
    return datetime.date(value.year, value.month, value.day)
