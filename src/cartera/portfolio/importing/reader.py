"""Rows out of the CSV and XLSX files people export from their ERP or keep by hand.

Opening a file only works out its shape (format, encoding, delimiter, which header means which
field); `TabularFile.rows()` then streams the records, so a file of any size is read in
constant memory, once per pass the importer needs.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from cartera.portfolio.importing.columns import alias_index, normalize_header

__all__ = ["EXTRA", "ColumnsClash", "FileUnreadable", "Row", "TabularFile", "clean_cell"]

# Key in Row.values for non-empty cells beyond the last header: usually a delimiter inside an
# unquoted value, which shifts every later cell, so the importer rejects the row.
EXTRA = "__extra__"

_BINARY_PROBE = 8192
_CHUNK = 1 << 16
# Listed in tie-breaking order: Excel with Spanish regional settings saves CSV with ';'.
_DELIMITERS = (";", ",", "\t", "|")
# Bytes cp1252 leaves undefined; text containing them can only be ISO-8859-1.
_NOT_CP1252 = re.compile(b"[\x81\x8d\x8f\x90\x9d]")
_ZIP_MAGIC = b"PK\x03\x04"
_XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})


class FileUnreadable(Exception):
    """The file cannot be imported at all; str() is one line naming the file and the reason
    (in the active language)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = " ".join(reason.split())
        super().__init__(f"{path}: {self.reason}")


class ColumnsClash(FileUnreadable):
    """Two columns of the file mean the same field (a layout that does not fit the aliases)."""


class Row:
    """One record: where it starts in the file, its cells by field, and as they were written.

    `raw` (header -> cell as written) is only needed for the rows that are rejected, so a row
    read from a file builds it on first use from the record's cells.
    """

    __slots__ = ("_cells", "_headers", "_raw", "line", "values")

    def __init__(
        self,
        line: int,
        values: dict[str, object],
        raw: dict[str, object] | None = None,
        *,
        cells: Sequence[object] = (),
        headers: Sequence[tuple[int, str]] = (),
    ) -> None:
        self.line = line
        self.values = values
        self._raw = raw
        self._cells = cells
        self._headers = headers

    @property
    def raw(self) -> dict[str, object]:
        if self._raw is None:
            cells, count = self._cells, len(self._cells)
            self._raw = {
                header: cells[index] if index < count else None for index, header in self._headers
            }
        return self._raw

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Row):
            return NotImplemented
        return (self.line, self.values, self.raw) == (other.line, other.values, other.raw)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaced

    def __repr__(self) -> str:
        return f"Row(line={self.line!r}, values={self.values!r}, raw={self.raw!r})"


@dataclass(frozen=True)
class _Column:
    index: int  # 0-based position in the record
    header: str  # key in Row.raw and entry of TabularFile.headers
    field: str | None  # canonical field, None when ignored


class _EncodingSniffer(io.RawIOBase):
    """Passes bytes through while checking them against UTF-8 and cp1252.

    The CSV is first parsed as ISO-8859-1 (which maps every byte to one character, so the
    structure comes out right whatever the real encoding); this watches the same bytes go by,
    so one read of the file settles both its shape and its encoding.
    """

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self._raw = raw
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self.is_utf8 = True
        self.is_cp1252 = True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)
        if count:
            self._feed(bytes(memoryview(buffer)[:count]))
        return count or 0

    def _feed(self, data: bytes) -> None:
        if self.is_utf8:
            try:
                self._utf8.decode(data)
            except UnicodeDecodeError:
                self.is_utf8 = False
        if self.is_cp1252 and _NOT_CP1252.search(data):
            self.is_cp1252 = False

    def drain(self) -> None:
        """Check the rest of the file without parsing it."""
        while (self.is_utf8 or self.is_cp1252) and (chunk := self._raw.read(_CHUNK)):
            self._feed(chunk)

    def encoding(self, bom: bool) -> str:
        if self.is_utf8:
            try:
                self._utf8.decode(b"", final=True)  # a sequence cut off at the end of the file
            except UnicodeDecodeError:
                self.is_utf8 = False
        if self.is_utf8:
            return "utf-8-sig" if bom else "utf-8"
        return "cp1252" if self.is_cp1252 else "latin-1"


def _sniff_delimiter(line: str) -> str:
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equals
    return best if counts[best] else ","


def _csv_records(
    lines: Iterable[str], delimiter: str, lines_before: int
) -> Iterator[tuple[int, int, list[str]]]:
    """(first line, last line, cells) of each record; lines are physical, so a quoted value
    running over several lines counts them all."""
    reader = csv.reader(lines, delimiter=delimiter)
    consumed = 0
    for cells in reader:
        yield lines_before + consumed + 1, lines_before + reader.line_num, cells
        consumed = reader.line_num


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _clean(value: object) -> object:
    if isinstance(value, str):
        return value.strip() or None
    return value


clean_cell = _clean  # what Row.values holds for a cell


def _header_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    return str(value).strip()


class TabularFile:
    """A CSV or XLSX file whose header has been matched against `columns`.

    `columns` maps canonical fields to their accepted header aliases (see columns.py);
    `mapping` (header text -> canonical field, e.g. from --map) overrides the aliases.
    """

    path: Path
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    headers: list[str]
    fields: dict[str, str]
    ignored_headers: list[str]

    def __init__(
        self,
        path: str | Path,
        *,
        columns: Mapping[str, Sequence[str]],
        mapping: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.encoding = self.delimiter = self.sheet = None
        self._header_line = 0  # last physical line (CSV) or row (XLSX) of the header
        self._width = 0  # cells a record may have before the rest count as EXTRA
        self._reset_dimensions = False

        if not self.path.exists():
            raise FileUnreadable(path, _("no such file"))
        if self.path.is_dir():
            raise FileUnreadable(path, _("is a directory, not a file"))
        try:
            with self.path.open("rb") as raw:
                probe = raw.read(_BINARY_PROBE)
        except OSError as exc:
            raise FileUnreadable(path, exc.strerror or str(exc)) from None
        if not probe:
            raise FileUnreadable(path, _("the file is empty"))

        if self.path.suffix.lower() in _XLSX_SUFFIXES or probe.startswith(_ZIP_MAGIC):
            self.format = "xlsx"
            header_cells = self._open_xlsx()
        else:
            self.format = "csv"
            header_cells = self._open_csv(probe)
        self._map_columns(header_cells, columns, mapping or {})

    # --- opening -------------------------------------------------------------------------

    def _open_csv(self, probe: bytes) -> list[tuple[int, str | None]]:
        if probe.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise FileUnreadable(
                self.path, _("is UTF-16 text; save it again as 'CSV UTF-8' or as .xlsx")
            )
        if b"\0" in probe:
            raise FileUnreadable(
                self.path,
                _(
                    "looks like a binary file, not CSV text (an old .xls renamed?); "
                    "save it as .xlsx or CSV"
                ),
            )
        bom = probe.startswith(codecs.BOM_UTF8)
        try:
            with self.path.open("rb") as raw:
                raw.seek(len(codecs.BOM_UTF8) if bom else 0)
                sniffer = _EncodingSniffer(raw)
                text = io.TextIOWrapper(io.BufferedReader(sniffer), encoding="latin-1", newline="")
                header, used_blanks = self._scan_csv(text)
                sniffer.drain()
                encoding = sniffer.encoding(bom)
        except csv.Error as exc:
            raise FileUnreadable(
                self.path, _("is not valid CSV (%(error)s)") % {"error": exc}
            ) from None
        except OSError as exc:
            raise FileUnreadable(self.path, exc.strerror or str(exc)) from None
        self.encoding = encoding
        self._width = len(header)
        # The header was parsed as ISO-8859-1; its bytes are now decoded as what they are.
        cells = [cell.encode("latin-1").decode(encoding).strip() for cell in header]
        return [(i, cell or None) for i, cell in enumerate(cells) if cell or i in used_blanks]

    def _scan_csv(self, text: io.TextIOWrapper) -> tuple[list[str], set[int]]:
        """Find the header (setting delimiter and header line) and which unnamed columns hold
        data; reads the text up to the end only when there are unnamed columns to check."""
        lines_before = 0
        for line in text:
            # Lines of nothing but separators (';;;;' under an Excel title) are blank rows too,
            # and must not decide the delimiter.
            if line.strip(" \t\r\n\"'" + "".join(_DELIMITERS)):
                break
            lines_before += 1
        else:
            raise FileUnreadable(self.path, _("the file is empty"))
        self.delimiter = _sniff_delimiter(line)
        records = _csv_records(itertools.chain([line], text), self.delimiter, lines_before)
        header: list[str] | None = None
        for _start, end, cells in records:
            if not all(_blank(cell) for cell in cells):
                header = cells
                self._header_line = end
                break
        if header is None:
            raise FileUnreadable(self.path, _("the file is empty"))

        blanks = {i for i, cell in enumerate(header) if _blank(cell)}
        used: set[int] = set()
        if blanks:
            for _start, _end, cells in records:
                used.update(i for i in blanks - used if i < len(cells) and not _blank(cells[i]))
                if used == blanks:
                    break
        return header, used

    @contextmanager
    def _workbook(self) -> Iterator[Any]:
        # Opened as a file object: openpyxl refuses paths whose suffix is not .xlsx, and a
        # workbook saved as 'export.csv' is still a workbook. Imported here: a tenth of a
        # second at every command's start-up, for the files that are workbooks.
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        with self.path.open("rb") as handle:
            try:
                workbook = openpyxl.load_workbook(
                    handle, read_only=True, data_only=True, keep_links=False
                )
            except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
                reason = str(exc) or type(exc).__name__
                raise FileUnreadable(
                    self.path,
                    _("is not a readable Excel workbook (%(reason)s)") % {"reason": reason},
                ) from None
            try:
                yield workbook
            finally:
                workbook.close()

    def _open_xlsx(self) -> list[tuple[int, str | None]]:
        try:
            with self._workbook() as workbook:
                for sheet in workbook.worksheets:
                    if not hasattr(sheet, "iter_rows"):
                        continue  # a chart sheet
                    found = self._scan_sheet(sheet)
                    if found is not None:
                        self.sheet = sheet.title
                        return found
        except OSError as exc:
            raise FileUnreadable(self.path, exc.strerror or str(exc)) from None
        raise FileUnreadable(self.path, _("the file is empty (no sheet has any data)"))

    def _scan_sheet(self, sheet: Any) -> list[tuple[int, str | None]] | None:
        # Read-only mode trusts the size the file declares; some writers declare 'A1' or
        # nothing, which would hide every other cell, so those sheets are read unbounded.
        self._reset_dimensions = sheet.max_row in (None, 1) or sheet.max_column is None
        if self._reset_dimensions:
            sheet.reset_dimensions()
        rows = enumerate(sheet.iter_rows(min_row=1, min_col=1, values_only=True), start=1)
        for number, cells in rows:
            if not all(_blank(cell) for cell in cells):
                self._header_line = number
                header = [_header_text(cell) for cell in cells]
                break
        else:
            return None

        self._width = len(header)
        blanks = {i for i, cell in enumerate(header) if not cell}
        used: set[int] = set()
        # Cells past the header are columns nobody named, not a shifted record as in CSV; with
        # an unbounded sheet they can appear anywhere, so the whole sheet is checked then.
        if blanks or self._reset_dimensions:
            for _number, cells in rows:
                for i, cell in enumerate(cells):
                    if (i >= len(header) or i in blanks) and not _blank(cell):
                        used.add(i)
            self._width = max([len(header), *(i + 1 for i in used)])
        found: list[tuple[int, str | None]] = [(i, cell) for i, cell in enumerate(header) if cell]
        found += [(i, None) for i in used]
        return sorted(found, key=lambda column: column[0])

    def _map_columns(
        self,
        header_cells: list[tuple[int, str | None]],
        columns: Mapping[str, Sequence[str]],
        mapping: Mapping[str, str],
    ) -> None:
        """Decide which field each column holds; None headers are unnamed columns with data."""
        aliases = alias_index(columns)
        fields_by_key = {normalize_header(name): name for name in columns}
        # Unnamed columns are called 'column N', a name --map may also use.
        named = [(index, header or f"column {index + 1}") for index, header in header_cells]
        unnamed = {index for index, header in header_cells if header is None}
        keys_in_file = {normalize_header(header) for _, header in named}

        explicit: dict[str, str] = {}  # normalized header -> canonical field
        for source, target in mapping.items():
            canonical = fields_by_key.get(normalize_header(target))
            if canonical is None:
                raise FileUnreadable(
                    self.path,
                    _("--map names unknown field '%(field)s'; valid fields: %(fields)s")
                    % {"field": target, "fields": ", ".join(columns)},
                )
            if normalize_header(source) not in keys_in_file:
                in_file = ", ".join(f"'{header}'" for _, header in named)
                reason = _(
                    "--map names column '%(column)s', which is not in the file (%(columns)s)"
                ) % {"column": source, "columns": in_file}
                raise FileUnreadable(self.path, reason)
            explicit[normalize_header(source)] = canonical
        chosen = set(explicit.values())

        self._columns: list[_Column] = []
        self.headers, self.fields, self.ignored_headers = [], {}, []
        for index, header in named:
            key = normalize_header(header)
            canonical = explicit.get(key)
            if canonical is None and index not in unnamed:
                canonical = aliases.get(key)
                # --map wins: a header that would also have meant that field steps aside.
                if canonical in chosen:
                    canonical = None
            if canonical is not None and canonical in self.fields:
                raise ColumnsClash(
                    self.path,
                    _(
                        "columns '%(first)s' and '%(second)s' both mean %(field)s; "
                        "use --map to choose"
                    )
                    % {"first": self.fields[canonical], "second": header, "field": canonical},
                )
            # Repeated header texts get the column number, so Row.raw keeps every cell.
            name = header if header not in self.headers else f"{header} (column {index + 1})"
            self.headers.append(name)
            self._columns.append(_Column(index, name, canonical))
            if canonical is None:
                self.ignored_headers.append(name)
            else:
                self.fields[canonical] = name

    # --- reading -------------------------------------------------------------------------

    def rows(self) -> Iterator[Row]:
        """Every non-empty record after the header, read afresh from the file on each call."""
        if self.format == "xlsx":
            return self._xlsx_rows()
        return self._csv_rows()

    def records(self) -> Iterator[tuple[int, Sequence[object]]]:
        """(line, cells) of every record after the header, blank ones included: the raw
        material of `rows()`, for passes that only look at a few columns."""
        if self.format == "xlsx":
            return self._xlsx_cells()
        return self._csv_cells()

    def field_index(self, field: str) -> int | None:
        """Position in a record of the cell holding `field`, or None when no column holds it."""
        for column in self._columns:
            if column.field == field:
                return column.index
        return None

    def _csv_cells(self) -> Iterator[tuple[int, list[str]]]:
        assert self.encoding is not None and self.delimiter is not None
        last_line = self._header_line
        try:
            with self.path.open(encoding=self.encoding, newline="") as text:
                body = itertools.islice(text, self._header_line, None)
                for start, end, cells in _csv_records(body, self.delimiter, self._header_line):
                    last_line = end
                    yield start, cells
        except csv.Error as exc:
            raise FileUnreadable(
                self.path,
                _("is not valid CSV after line %(line)s (%(error)s)")
                % {"line": last_line, "error": exc},
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise FileUnreadable(
                self.path, _("changed or became unreadable (%(error)s)") % {"error": exc}
            ) from None

    def _xlsx_cells(self) -> Iterator[tuple[int, Sequence[object]]]:
        with self._workbook() as workbook:
            sheet = workbook[self.sheet]
            if self._reset_dimensions:
                sheet.reset_dimensions()
            first = self._header_line + 1
            cells_by_row = sheet.iter_rows(min_row=first, min_col=1, values_only=True)
            yield from enumerate(cells_by_row, start=first)

    def _csv_rows(self) -> Iterator[Row]:
        # Every CSV cell is text: a blank record is one whose cells joined are blank, and a
        # cell is cleaned by stripping it.
        fields = [(column.index, column.field) for column in self._columns if column.field]
        headers = [(column.index, column.header) for column in self._columns]
        width = self._width
        for line, cells in self._csv_cells():
            if not "".join(cells).strip():
                continue
            count = len(cells)
            values: dict[str, object] = {
                field: (cells[index].strip() or None) if index < count else None
                for index, field in fields
            }
            if count > width:
                extra = [_clean(cell) for cell in cells[width:] if not _blank(cell)]
                if extra:
                    values[EXTRA] = extra
            yield Row(line, values, cells=cells, headers=headers)

    def _xlsx_rows(self) -> Iterator[Row]:
        for number, cells in self._xlsx_cells():
            row = self._row(number, cells)
            if row is not None:
                yield row

    def _row(self, line: int, cells: Sequence[object]) -> Row | None:
        if all(_blank(cell) for cell in cells):
            return None
        count = len(cells)
        values: dict[str, object] = {}
        raw: dict[str, object] = {}
        for column in self._columns:
            cell = cells[column.index] if column.index < count else None
            raw[column.header] = cell
            if column.field is not None:
                values[column.field] = _clean(cell)
        extra = [_clean(cell) for cell in cells[self._width :] if not _blank(cell)]
        if extra:
            values[EXTRA] = extra
        return Row(line=line, values=values, raw=raw)
