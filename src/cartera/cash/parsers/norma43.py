"""Spanish Norma 43 (AEB/CSB cuaderno 43), read with the `csb43` package.

Banks write these files loosely: lines shorter than the standard 80 characters (trailing blanks
cut), CRLF or LF, a last line without its newline, no end-of-file record. `csb43` in lenient
mode pads and accepts all of that. What it cannot read (a date with letters, a record of an
unknown kind) it raises for; records are therefore handed to it one by one, so a bad movement
is reported with its line and the rest of the file still lands.
"""

from __future__ import annotations

import re
from typing import Any

from csb43.aeb43 import Batch
from csb43.aeb43.record.context import Aeb43Context, BatchContext
from django.utils.translation import gettext as _

from cartera.cash.parsers.base import (
    LineUnreadable,
    ParsedLine,
    ParsedSection,
    ParsedStatement,
    Unreadable,
    clean_text,
    minor_amount,
)

_RECORD = re.compile(rb"^(11|22|23|24|33|88)")
# References banks fill with zeros or blanks when there is none.
_EMPTY_REFERENCE = re.compile(r"^[0\s]*$")


# The account header: bank, branch, account (digits), start and end dates, debit/credit key.
_HEADER = re.compile(rb"^11[0-9]{4}[0-9]{4}[0-9]{10}[0-9]{6}[0-9]{6}[12]")


def looks_like_norma43(data: bytes) -> bool:
    for line in data.splitlines():
        if line.strip():
            return bool(_HEADER.match(line))
    return False


def _reason(exc: Exception) -> str:
    """What csb43 says (in English: the package's own words)."""
    text = " ".join(str(exc).split())
    # "[0001] Bad format: ..." → the package's own line counter is not ours.
    return re.sub(r"^\[\d+\]\s*", "", text)[:240] or type(exc).__name__


def parse_norma43(data: bytes) -> ParsedStatement:
    statement = ParsedStatement(format="norma43")
    context = Aeb43Context(strict=False, silent=True)
    batch = Batch(context=context)
    # (account, line numbers of its movements in the order csb43 keeps them)
    accounts: list[tuple[Any, list[int]]] = []
    skipping = False  # the 23/24 records that follow an unreadable 22 belong to it
    orphaned: int | None = None  # line of an unreadable account header, until the next one
    with BatchContext().scope() as batch_context:
        for index, raw in enumerate(data.splitlines()):
            number = index + 1
            record = raw.rstrip(b"\r\n")
            if not record.strip():
                continue
            code = record[:2]
            if skipping and code in (b"23", b"24"):
                continue
            skipping = False
            batch_context.line = index
            if not _RECORD.match(record):
                # csb43 would skip it silently; a person should know a line was not read
                statement.unreadable.append(
                    Unreadable(number, _("not a Norma 43 record (%(code)s)") % {"code": repr(code)})
                )
                continue
            if code != b"11" and orphaned is not None:
                # the account these records belong to could not be read
                if code == b"22":
                    statement.unreadable.append(
                        Unreadable(
                            number,
                            _("movement of the unreadable account on line %(line)s")
                            % {"line": orphaned},
                        )
                    )
                continue
            if code == b"22" and not accounts:
                statement.unreadable.append(
                    Unreadable(number, _("movement before any account header (record 11)"))
                )
                skipping = True
                continue
            try:
                batch.append(record)
            except Exception as exc:
                if code == b"22":
                    statement.unreadable.append(Unreadable(number, _reason(exc)))
                    skipping = True
                elif code in (b"23", b"24"):
                    statement.unreadable.append(
                        Unreadable(
                            number, _("extra concept record: %(reason)s") % {"reason": _reason(exc)}
                        )
                    )
                elif code == b"11":
                    statement.unreadable.append(
                        Unreadable(
                            number,
                            _("account header unreadable: %(reason)s") % {"reason": _reason(exc)},
                        )
                    )
                    orphaned = number
                elif code in (b"33", b"88"):
                    pass  # totals only: the movements themselves were read
                continue
            if code == b"11":
                orphaned = None
                assert batch.accounts is not None
                accounts.append((batch.accounts[-1], []))
            elif code == b"22":
                accounts[-1][1].append(number)
    for account, positions in accounts:
        currency = account.currency.alpha_3 if account.currency is not None else None
        section = ParsedSection(
            account=f"{account.bank_code}{account.branch_code}{account.account_number}",
            currency=currency,
            bank=str(account.bank_code or ""),
        )
        statement.sections.append(section)
        for position, transaction in zip(positions, account.transactions, strict=False):
            try:
                section.lines.append(_line(position, transaction, currency))
            except LineUnreadable as exc:
                statement.unreadable.append(Unreadable(position, str(exc)))
    return statement


def _line(position: int, transaction: Any, currency: str | None) -> ParsedLine:
    if currency is None:
        raise LineUnreadable(_("the account header names no known currency"))
    amount = transaction.amount
    if amount is None:
        raise LineUnreadable(_("movement has no amount"))
    texts = []
    for reference in (transaction.reference1, transaction.reference2, transaction.document_number):
        text = str(reference or "").strip()
        if not _EMPTY_REFERENCE.match(text):
            texts.append(text)
    name = ""
    sepa = transaction.sepa_transfer
    if sepa is not None:
        name = str(getattr(sepa, "originator_name", "") or "")
    for item in transaction.optional_items:
        first, second = str(item.item1 or ""), str(item.item2 or "")
        # Each concept is 38 characters; a full first one continues into the second mid-word.
        texts.append(first + second if len(first) >= 38 else f"{first} {second}")
    return ParsedLine(
        position=position,
        booking_date=transaction.transaction_date,
        value_date=transaction.value_date,
        amount_minor=minor_amount(amount, currency),
        currency=currency,
        is_credit=amount > 0,
        text=clean_text(*texts),
        counterparty_name=clean_text(name)[:200],
    )
