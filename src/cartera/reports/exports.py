"""Exports of any report: XLSX with real numbers and number formats, CSV, and PDF.

A report is first turned into `Sheet`s (a title, typed columns, rows of values); each format
writes sheets. Money cells carry their currency, so a spreadsheet shows each amount with its
currency's decimals and adds them as numbers; rates are fractions with a percent format;
text that a spreadsheet would run as a formula is written as text (CSV: `safe_cell`; XLSX:
string cells are never formulas).
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from babel.numbers import format_decimal
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from cartera.core.csvsafe import safe_cell
from cartera.core.money import exponent, format_minor, format_number, from_minor, minor_str
from cartera.reports.kpis import two

Kind = Literal["text", "money", "int", "percent", "days", "date"]
FORMATS = ("xlsx", "csv", "pdf")


@dataclass(frozen=True)
class Money:
    minor: int
    currency: str


@dataclass(frozen=True)
class Col:
    label: str
    kind: Kind = "text"


@dataclass
class Sheet:
    title: str
    columns: list[Col]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- cells -------------------------------------------------------------------------------------


def _text(value: Any, kind: Kind, locale: str | None = None) -> str:
    """A cell as text: plain decimals for CSV (locale None), people's format for PDF."""
    if value is None:
        return ""
    if kind == "money" and isinstance(value, Money):
        if locale:
            return format_minor(value.minor, value.currency, locale)
        return minor_str(value.minor, value.currency)
    if kind == "percent":
        if locale:
            return f"{format_number(Decimal(value), locale)} %"
        return str(two(Decimal(value)))
    if kind == "days":
        return format_number(Decimal(value), locale) if locale else str(two(Decimal(value)))
    if kind == "int":
        return format_decimal(int(value), locale=locale) if locale else str(int(value))
    if kind == "date" and isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


# --- CSV ---------------------------------------------------------------------------------------


def to_csv(sheets: Sequence[Sheet]) -> bytes:
    """One CSV with each sheet after the other (a title line, a header line, the rows)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for n, sheet in enumerate(sheets):
        if n:
            writer.writerow([])
        if len(sheets) > 1:
            writer.writerow([safe_cell(sheet.title)])
        writer.writerow([safe_cell(c.label) for c in sheet.columns])
        for row in sheet.rows:
            writer.writerow(
                [
                    safe_cell(_text(v, c.kind)) if c.kind == "text" else _text(v, c.kind)
                    for v, c in zip(row, sheet.columns, strict=False)
                ]
            )
    # A byte-order mark so that Excel opens UTF-8 (accents in names) correctly.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- XLSX --------------------------------------------------------------------------------------


def _money_format(currency: str) -> str:
    places = exponent(currency)
    return "#,##0" + ("." + "0" * places if places else "") + f' "{currency}"'


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for sheet in sheets:
        # Sheet titles: at most 31 characters, none of []:*?/\ and unique in the book.
        title = "".join(ch for ch in sheet.title if ch not in "[]:*?/\\")[:31] or "Sheet"
        base, n = title, 2
        while title in used:
            title = f"{base[:28]}-{n}"
            n += 1
        used.add(title)
        ws = book.create_sheet(title)
        ws.append([c.label for c in sheet.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for row in sheet.rows:
            values: list[Any] = []
            formats: list[str | None] = []
            for value, col in zip(row, sheet.columns, strict=False):
                if value is None:
                    values.append(None)
                    formats.append(None)
                elif col.kind == "money" and isinstance(value, Money):
                    values.append(from_minor(value.minor, value.currency))
                    formats.append(_money_format(value.currency))
                elif col.kind == "percent":
                    values.append(Decimal(value) / 100)
                    formats.append("0.00%")
                elif col.kind == "days":
                    values.append(Decimal(value))
                    formats.append("0.00")
                elif col.kind == "int":
                    values.append(int(value))
                    formats.append("#,##0")
                elif col.kind == "date":
                    values.append(value)
                    formats.append("yyyy-mm-dd")
                else:
                    # Text stays text: openpyxl would make a formula of a leading "=".
                    values.append(str(value))
                    formats.append("@")
            ws.append(values)
            for cell, number_format in zip(ws[ws.max_row], formats, strict=False):
                if number_format:
                    cell.number_format = number_format
                if number_format == "@":
                    cell.data_type = "s"
        for index, col in enumerate(sheet.columns, start=1):
            width = max(
                [len(col.label)]
                + [
                    len(_text(r[index - 1], col.kind))
                    for r in sheet.rows[:200]
                    if index - 1 < len(r)
                ]
            )
            ws.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 48)
        if sheet.notes:
            ws.append([])
            for note in sheet.notes:
                ws.append([note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- PDF ---------------------------------------------------------------------------------------


# A PDF is for reading: past this many rows a sheet says to use XLSX or CSV for the rest.
PDF_ROWS = 2_000


def to_pdf(sheets: Sequence[Sheet], *, title: str, subtitle: str, locale: str) -> bytes:
    from django.utils.translation import gettext as _
    from weasyprint import HTML

    tables = []
    for s in sheets:
        notes = list(s.notes)
        if len(s.rows) > PDF_ROWS:
            notes.insert(
                0,
                _("The first %(shown)s of %(total)s rows: export to XLSX or CSV for all of them.")
                % {"shown": f"{PDF_ROWS:,}", "total": f"{len(s.rows):,}"},
            )
        tables.append(
            {
                "title": s.title,
                "columns": s.columns,
                "rows": [
                    [
                        (_text(v, c.kind, locale), c.kind != "text")
                        for v, c in zip(row, s.columns, strict=False)
                    ]
                    for row in s.rows[:PDF_ROWS]
                ],
                "notes": notes,
            }
        )
    html = render_to_string(
        "reports/export.html",
        {"title": title, "subtitle": subtitle, "tables": tables, "generated": timezone.now()},
    )
    return HTML(string=html).write_pdf()


def respond(
    sheets: Sequence[Sheet], *, fmt: str, name: str, title: str, subtitle: str, locale: str
) -> HttpResponse:
    """The download of `sheets` in `fmt`."""
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        body, content_type = to_csv(sheets), "text/csv; charset=utf-8"
    elif fmt == "pdf":
        body = to_pdf(sheets, title=title, subtitle=subtitle, locale=locale)
        content_type = "application/pdf"
    else:
        fmt = "xlsx"
        body = to_xlsx(sheets)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    return response


# --- the forecast as JSON (command line) -------------------------------------------------------


def forecast_json(forecast: Any, backtest: Any) -> dict[str, Any]:
    return {
        "as_of": forecast.as_of.isoformat(),
        "history_days": forecast.history_days,
        "currencies": [
            {
                "currency": c.currency,
                "weeks": [
                    {
                        "week": w.number,
                        "from": w.first.isoformat(),
                        "to": w.last.isoformat(),
                        "documents": minor_str(w.documents, c.currency),
                        "promises": minor_str(w.promises, c.currency),
                        "total": minor_str(w.total, c.currency),
                    }
                    for w in c.weeks
                ],
                "total": minor_str(c.total, c.currency),
                "past_expected_date": minor_str(c.past_expected, c.currency),
                "after_last_week": minor_str(c.beyond, c.currency),
            }
            for c in forecast.currencies
        ],
        "backtest": {
            "made_on": backtest.made_on.isoformat(),
            "stored": backtest.stored,
            "currencies": [
                {
                    "currency": b.currency,
                    "weeks": [
                        {
                            "week": w.number,
                            "from": w.first.isoformat(),
                            "to": w.last.isoformat(),
                            "forecast": minor_str(w.forecast, b.currency),
                            "actual": minor_str(w.actual, b.currency),
                        }
                        for w in b.weeks
                    ],
                }
                for b in backtest.currencies
            ],
        },
    }
