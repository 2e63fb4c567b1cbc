"""Bank exports as CSV or XLSX, read through a column profile (see profiles.py).

The profile is chosen from the headers (the specific profiles first, the generic one last) or
forced with `--profile`. Amount and date formats are inferred over the whole column, as for the
other imports, unless the profile fixes them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from django.utils.text import get_text_list
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
from cartera.cash.parsers.profiles import Profile, profiles
from cartera.portfolio.importing.reader import ColumnsClash, FileUnreadable, Row, TabularFile
from cartera.portfolio.importing.values import (
    ColumnContradiction,
    ColumnFormat,
    ValueFormatError,
    parse_amount,
    parse_date,
)

_AMOUNT_FIELDS = ("amount", "debit", "credit")
_DATE_FIELDS = ("date", "value_date")


def _fits(profile: Profile, table: TabularFile) -> bool:
    present = set(table.fields)
    return all(present.intersection(group) for group in profile.required)


def _open(path: Path, profile: Profile) -> TabularFile | None:
    try:
        return TabularFile(path, columns=profile.columns)
    except ColumnsClash:
        return None  # this profile reads two headers as one field: not this layout


def choose_profile(path: Path, forced: Profile | None) -> tuple[Profile, TabularFile]:
    """The profile that fits the file's headers best (or the forced one), with the file."""
    try:
        if forced is not None:
            table = _open(path, forced)
            if table is None or not _fits(forced, table):
                shown = ", ".join(table.headers) if table else "?"
                # field codes, joined by "or" in the active language
                wanted = "; ".join(get_text_list(list(group)) for group in forced.required)
                raise StatementRefused(
                    _(
                        "the file's headers (%(headers)s) do not fit profile %(profile)s, "
                        "which needs %(fields)s"
                    )
                    % {"headers": shown, "profile": forced.code, "fields": wanted}
                )
            return forced, table
        best: tuple[int, Profile, TabularFile] | None = None
        headers: list[str] = []
        for profile in profiles():
            table = _open(path, profile)
            if table is None:
                continue
            headers = headers or table.headers
            if not _fits(profile, table):
                continue
            score = len(table.fields)
            if (profile.specific and (best is None or score > best[0])) or best is None:
                best = (score, profile, table)
        if best is None:
            raise StatementRefused(
                _(
                    "no column profile fits this file's headers (%(headers)s): it needs at "
                    "least a date and an amount (or debit and credit) column; pass --profile "
                    "or add a profile"
                )
                % {"headers": ", ".join(headers) or _("none")}
            )
        return best[1], best[2]
    except FileUnreadable as exc:
        raise StatementRefused(exc.reason) from None


def parse_tabular(
    path: Path, *, forced: Profile | None, default_currency: str, locale: str
) -> ParsedStatement:
    profile, table = choose_profile(path, forced)
    formats: dict[str, ColumnFormat] = {}
    for name in (*_AMOUNT_FIELDS, *_DATE_FIELDS):
        if name in table.fields:
            formats[name] = ColumnFormat(name, "amount" if name in _AMOUNT_FIELDS else "date")
    try:
        for row in table.rows():
            for name, fmt in formats.items():
                fmt.observe(row.line, row.values.get(name))
        for fmt in formats.values():
            fmt.resolve(locale)
    except ColumnContradiction as exc:
        raise StatementRefused(str(exc)) from None
    except FileUnreadable as exc:
        raise StatementRefused(exc.reason) from None
    for name, fmt in formats.items():
        if name in _AMOUNT_FIELDS and profile.decimal:
            fmt.decimal = profile.decimal
        if name in _DATE_FIELDS and profile.date_order and fmt.order != "YMD":
            fmt.order = profile.date_order
    currency = currency_code(profile.currency or default_currency, _("profile"))
    statement = ParsedStatement(format=table.format, profile=profile.code)
    section = ParsedSection(currency=currency)
    statement.sections.append(section)
    try:
        for row in table.rows():
            try:
                section.lines.append(_line(row, profile, formats, currency))
            except LineUnreadable as exc:
                statement.unreadable.append(Unreadable(row.line, str(exc)))
    except FileUnreadable as exc:
        raise StatementRefused(exc.reason) from None
    return statement


def _amount(row: Row, name: str, formats: dict[str, ColumnFormat]) -> Decimal | None:
    raw = row.values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    decimal = formats[name].decimal or "."
    try:
        return parse_amount(raw, decimal)
    except ValueFormatError as exc:
        raise LineUnreadable(f"{name}: {exc}") from None


def _line(
    row: Row, profile: Profile, formats: dict[str, ColumnFormat], default_currency: str
) -> ParsedLine:
    values = row.values
    raw_date = values.get("date")
    if raw_date is None:
        raise LineUnreadable(_("date is empty"))
    try:
        booking = parse_date(raw_date, formats["date"].order or "DMY")
        raw_value_date = values.get("value_date")
        valued = (
            parse_date(raw_value_date, formats["value_date"].order or "DMY")
            if raw_value_date is not None
            else None
        )
    except ValueFormatError as exc:
        raise LineUnreadable(f"date: {exc}") from None
    if "amount" in formats:
        signed = _amount(row, "amount", formats)
        if signed is None:
            raise LineUnreadable(_("amount is empty"))
    else:
        debit = _amount(row, "debit", formats) if "debit" in formats else None
        credit = _amount(row, "credit", formats) if "credit" in formats else None
        if debit and credit:
            raise LineUnreadable(
                _("both debit (%(debit)s) and credit (%(credit)s) are filled in")
                % {"debit": debit, "credit": credit}
            )
        if credit:
            signed = abs(credit)
        elif debit:
            signed = -abs(debit)
        else:
            raise LineUnreadable(_("neither debit nor credit has an amount"))
    if signed == 0:
        raise LineUnreadable(_("amount is zero"))
    currency = default_currency
    if values.get("currency"):
        currency = currency_code(str(values["currency"]).strip().upper(), "currency")
    reference = str(values.get("reference") or "").strip()
    bank_reference = str(values.get("bank_reference") or "").strip()
    if profile.unique_reference and not bank_reference:
        bank_reference = reference
    return ParsedLine(
        position=row.line,
        booking_date=booking,
        value_date=valued,
        amount_minor=minor_amount(signed, currency),
        currency=currency,
        is_credit=signed > 0,
        bank_reference=bank_reference[:120],
        text=clean_text(
            str(values.get("description") or ""), str(values.get("detail") or ""), reference
        ),
        counterparty_name=clean_text(str(values.get("counterparty_name") or ""))[:200],
        counterparty_account=account_key(str(values.get("counterparty_account") or ""))[:60],
    )
