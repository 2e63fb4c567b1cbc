"""ISO 20022 camt.053 (statement), camt.054 (debit/credit notification) and camt.052 (report).

Versions 02 to 08 differ in details this parser does not depend on (`<Sts>BOOK</Sts>` became
`<Sts><Cd>BOOK</Cd></Sts>`, parties moved under `<Pty>`), so elements are found by their local
names whatever the namespace.

An entry (`<Ntry>`) is the booked movement. When it carries several transaction details whose
amounts add up to it in the same currency and direction (a batch of incoming transfers), each
detail becomes its own line, so each debtor's payment can be matched; otherwise the entry is
one line with the details' texts.
"""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from cartera.cash.parsers.base import (
    LineUnreadable,
    ParsedLine,
    ParsedSection,
    ParsedStatement,
    StatementRefused,
    Unreadable,
    account_key,
    clean_text,
    currency_code,
    minor_amount,
)

_KINDS = {
    "BkToCstmrStmt": ("053", "Stmt"),
    "BkToCstmrDbtCdtNtfctn": ("054", "Ntfctn"),
    "BkToCstmrAcctRpt": ("052", "Rpt"),
}
_VERSION = re.compile(r"camt\.(05[234])\.001\.(\d{2})")
# Entries not booked yet (pending, information only) are not money received.
_NOT_BOOKED = frozenset({"PDNG", "INFO", "FUTR"})

# ElementTree keeps no line numbers; the lines where <Ntry> and <TxDtls> open are found in the
# text instead, in document order, and handed out as the tree is walked in the same order.
# (lxml would know them, but installing it changes how openpyxl writes workbooks.)
_OPENING = {
    name: re.compile(rb"<(?:[\w.-]+:)?" + name.encode() + rb"[\s/>]") for name in ("Ntry", "TxDtls")
}
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)


class _Lines:
    """Line numbers of the opening tags of entries and details, in document order."""

    def __init__(self, data: bytes):
        # comments are blanked (keeping their newlines) so a tag name inside one is not counted
        text = _COMMENT.sub(lambda m: b"\n" * m.group().count(b"\n"), data)
        self._lines = {
            name: iter([text.count(b"\n", 0, m.start()) + 1 for m in pattern.finditer(text)])
            for name, pattern in _OPENING.items()
        }
        self.of: dict[int, int] = {}

    def assign(self, element: ET.Element) -> None:
        name = _local(element)
        if name in self._lines:
            self.of[id(element)] = next(self._lines[name], 0)

    def __call__(self, element: ET.Element) -> int:
        return self.of.get(id(element), 0)


def _local(element: ET.Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    for child in element:
        if _local(child) == name:
            yield child


def _child(element: ET.Element | None, *path: str) -> ET.Element | None:
    current = element
    for name in path:
        if current is None:
            return None
        current = next(_children(current, name), None)
    return current


def _text(element: ET.Element | None, *path: str) -> str:
    found = _child(element, *path) if path else element
    if found is None or found.text is None:
        return ""
    return " ".join(found.text.split())


def _descendants(element: ET.Element, name: str) -> Iterator[ET.Element]:
    for found in element.iter():
        if _local(found) == name:
            yield found


def looks_like_camt(head: bytes) -> bool:
    return b"camt.05" in head or b"BkToCstmr" in head


def parse_camt(data: bytes, *, name: str = "") -> ParsedStatement:
    """Parse one camt XML document; `name` prefixes positions' reasons (a zip member)."""
    file = name or _("the file")
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:4096]:
        # A statement has no business declaring entities (the way XML bombs are built).
        raise StatementRefused(_("%(file)s declares a DOCTYPE or entities") % {"file": file})
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise StatementRefused(
            _("%(file)s is not well-formed XML (%(error)s)") % {"file": file, "error": exc}
        ) from None
    message = None
    for child in root if _local(root) == "Document" else [root]:
        if _local(child) in _KINDS:
            message = child
            break
    if message is None:
        raise StatementRefused(
            _("%(file)s is XML but not a camt.052/053/054 statement (its root is <%(root)s>)")
            % {"file": file, "root": _local(root)}
        )
    lines = _Lines(data)
    for element in root.iter():
        lines.assign(element)
    kind, section_tag = _KINDS[_local(message)]
    namespace = root.tag.split("}", 1)[0].lstrip("{") if "}" in root.tag else ""
    version = _VERSION.search(namespace)
    label = f"camt.{kind}.001.{version.group(2)}" if version else f"camt.{kind}"
    statement = ParsedStatement(format=label)
    prefix = f"{name}: " if name else ""
    for block in _children(message, section_tag):
        section = _section(block)
        statement.sections.append(section)
        for entry in _children(block, "Ntry"):
            try:
                section.lines.extend(_entry_lines(entry, section, lines))
            except LineUnreadable as exc:
                statement.unreadable.append(Unreadable(lines(entry), f"{prefix}{exc}"))
    if not statement.sections:
        raise StatementRefused(
            _("%(file)s has no <%(tag)s> block") % {"file": file, "tag": section_tag}
        )
    return statement


def _section(block: ET.Element) -> ParsedSection:
    account = _child(block, "Acct")
    number = _text(account, "Id", "IBAN") or _text(account, "Id", "Othr", "Id")
    currency = _text(account, "Ccy") or None
    bank = _text(account, "Svcr", "FinInstnId", "Nm") or (
        _text(account, "Svcr", "FinInstnId", "BICFI") or _text(account, "Svcr", "FinInstnId", "BIC")
    )
    return ParsedSection(account=number, currency=currency, bank=bank)


def _amount(element: ET.Element | None, where: str) -> tuple[Decimal, str]:
    """The amount and currency of an <Amt>; `where` (in the active language) starts reasons."""
    text = (element.text or "").strip() if element is not None else ""
    if element is None or not text:
        raise LineUnreadable(_("%(where)s has no amount") % {"where": where})
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise LineUnreadable(
            _("%(where)s: amount '%(amount)s' is not a number") % {"where": where, "amount": text}
        ) from None
    if not value.is_finite() or value < 0:
        raise LineUnreadable(
            _("%(where)s: amount '%(amount)s' is not a positive number")
            % {"where": where, "amount": text}
        )
    return value, currency_code(element.get("Ccy"), where)


def _date(element: ET.Element | None, where: str, what: str) -> datetime.date | None:
    if element is None:
        return None
    text = _text(element, "Dt") or _text(element, "DtTm")
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise LineUnreadable(
            _("%(where)s: %(what)s '%(date)s' is not a date")
            % {"where": where, "what": what, "date": text}
        ) from None


def _direction(element: ET.Element | None, where: str) -> bool:
    mark = _text(element, "CdtDbtInd")
    if mark not in ("CRDT", "DBIT"):
        raise LineUnreadable(
            _("%(where)s: credit/debit indicator '%(mark)s' is neither CRDT nor DBIT")
            % {"where": where, "mark": mark}
        )
    return mark == "CRDT"


def _remittance(element: ET.Element) -> list[str]:
    """Unstructured texts, structured creditor references and additional remittance info."""
    found: list[str] = []
    info = _child(element, "RmtInf")
    if info is not None:
        found += [_text(u) for u in _children(info, "Ustrd")]
        for structured in _children(info, "Strd"):
            found += [_text(r) for r in _descendants(structured, "Ref")]
            found += [_text(r) for r in _descendants(structured, "RfrdDocInf")]
            found += [_text(r) for r in _descendants(structured, "Nb")]
            found += [_text(r) for r in _descendants(structured, "AddtlRmtInf")]
    return [text for text in found if text]


def _party(details: ET.Element, is_credit: bool) -> tuple[str, str]:
    """The other side: who paid us (credit) or whom we paid (debit)."""
    parties = _child(details, "RltdPties")
    if parties is None:
        return "", ""
    role = "Dbtr" if is_credit else "Cdtr"
    party = _child(parties, role)
    # v02..v07 put the name straight under <Dbtr>; v08 under <Dbtr><Pty>.
    name = _text(party, "Nm") or _text(party, "Pty", "Nm")
    account = _child(parties, f"{role}Acct")
    number = _text(account, "Id", "IBAN") or _text(account, "Id", "Othr", "Id")
    return name, number


def _details_amount(details: ET.Element, entry_currency: str) -> tuple[Decimal, str] | None:
    for path in (("Amt",), ("AmtDtls", "TxAmt", "Amt"), ("AmtDtls", "InstdAmt", "Amt")):
        found = _child(details, *path)
        if found is not None and (found.text or "").strip():
            try:
                return _amount(found, "transaction details")  # the reason is never shown
            except LineUnreadable:
                return None
    return None


def _entry_lines(entry: ET.Element, section: ParsedSection, line_of: _Lines) -> list[ParsedLine]:
    where = _("entry at line %(line)s") % {"line": line_of(entry)}
    status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
    if status in _NOT_BOOKED:
        raise LineUnreadable(
            _("%(where)s is not booked yet (status %(status)s): import it once booked")
            % {"where": where, "status": status}
        )
    amount, currency = _amount(_child(entry, "Amt"), where)
    is_credit = _direction(entry, where)
    booked = _date(_child(entry, "BookgDt"), where, _("booking date"))
    valued = _date(_child(entry, "ValDt"), where, _("value date"))
    booking_date = booked or valued
    if booking_date is None:
        raise LineUnreadable(
            _("%(where)s has neither a booking nor a value date") % {"where": where}
        )
    reference = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
    if reference in ("NONREF", "NOTPROVIDED"):
        reference = ""
    entry_info = _text(entry, "AddtlNtryInf")
    details = [d for block in _children(entry, "NtryDtls") for d in _children(block, "TxDtls")]

    split = _split_details(details, amount, currency, is_credit)
    if split:
        lines = []
        for index, (detail, detail_amount) in enumerate(split, start=1):
            name, account = _party(detail, is_credit)
            own = _text(detail, "Refs", "AcctSvcrRef")
            detail_reference = (
                own if own and own != reference else (f"{reference}/{index}" if reference else "")
            )
            lines.append(
                ParsedLine(
                    position=line_of(detail) or line_of(entry),
                    booking_date=booking_date,
                    value_date=valued,
                    amount_minor=minor_amount(detail_amount, currency),
                    currency=currency,
                    is_credit=is_credit,
                    bank_reference=detail_reference,
                    text=clean_text(
                        *_remittance(detail),
                        _text(detail, "Refs", "EndToEndId").replace("NOTPROVIDED", ""),
                        _text(detail, "AddtlTxInf"),
                    ),
                    counterparty_name=name[:200],
                    counterparty_account=account_key(account)[:60],
                )
            )
        return lines

    texts: list[str] = []
    name = account = ""
    for detail in details:
        texts += _remittance(detail)
        end_to_end = _text(detail, "Refs", "EndToEndId")
        if end_to_end and end_to_end != "NOTPROVIDED":
            texts.append(end_to_end)
        texts.append(_text(detail, "AddtlTxInf"))
        if not name and not account:
            name, account = _party(detail, is_credit)
    texts.append(entry_info)
    return [
        ParsedLine(
            position=line_of(entry),
            booking_date=booking_date,
            value_date=valued,
            amount_minor=minor_amount(amount, currency),
            currency=currency,
            is_credit=is_credit,
            bank_reference=reference,
            text=clean_text(*texts),
            counterparty_name=name[:200],
            counterparty_account=account_key(account)[:60],
        )
    ]


def _split_details(
    details: list[ET.Element], amount: Decimal, currency: str, is_credit: bool
) -> list[tuple[ET.Element, Decimal]]:
    """The details as separate movements, or [] when they do not add up to the entry."""
    if len(details) < 2:
        return []
    found: list[tuple[ET.Element, Decimal]] = []
    for detail in details:
        value = _details_amount(detail, currency)
        if value is None or value[1] != currency or value[0] <= 0:
            return []
        mark = _text(detail, "CdtDbtInd")
        if mark and (mark == "CRDT") != is_credit:
            return []
        found.append((detail, value[0]))
    if sum(value for _detail, value in found) != amount:
        return []
    return found
