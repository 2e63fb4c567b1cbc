"""Reading CSV/XLSX files: encodings, delimiters, line numbers, header aliases and --map."""

from __future__ import annotations

import re
import tracemalloc
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from django.utils import translation

from cartera.portfolio.importing.columns import (
    DEBTOR_COLUMNS,
    DOCUMENT_COLUMNS,
    PAYMENT_COLUMNS,
    alias_index,
    normalize_header,
    parse_mapping,
)
from cartera.portfolio.importing.reader import EXTRA, FileUnreadable, Row, TabularFile


@pytest.fixture(autouse=True, scope="module")
def english():
    """The reasons are asserted as written in the code (English, the msgids); the Spanish
    the product shows by default is checked in test_import_language.py."""
    with translation.override("en"):
        yield


# ../shared beside the checkout holds real public files (read-only).
SHARED_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "bank_statements" / "csv"

# A small vocabulary for the reader tests, independent of the real alias lists.
COLUMNS: dict[str, list[str]] = {
    "external_id": ["codigo", "id"],
    "name": ["nombre", "razon_social"],
    "tax_id": ["nit", "rfc"],
    "amount": ["valor", "total"],
    "city": ["ciudad"],
}


def write(tmp_path: Path, content: bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def read(
    path: Path,
    columns: dict[str, list[str]] = COLUMNS,
    mapping: dict[str, str] | None = None,
) -> tuple[TabularFile, list[Row]]:
    table = TabularFile(path, columns=columns, mapping=mapping)
    return table, list(table.rows())


# --- columns.py ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Fecha de Vencimiento", "fechavencimiento"),
        ("fecha_vencimiento", "fechavencimiento"),
        ("FECHA VENCIMIENTO", "fechavencimiento"),
        ("fecha-vencimiento.", "fechavencimiento"),
        ("FechaVencimiento", "fechavencimiento"),
        ("Razón Social", "razonsocial"),
        ("RAZÓN  SOCIAL", "razonsocial"),
        ("# Factura", "factura"),
        ("N.I.T.", "nit"),
        ("Teléfono", "telefono"),
        ("Número de Identificación", "numeroidentificacion"),
        ("e-mail", "email"),
    ],
)
def test_normalize_header(text: str, key: str) -> None:
    assert normalize_header(text) == key


@pytest.mark.parametrize("columns", [DEBTOR_COLUMNS, DOCUMENT_COLUMNS, PAYMENT_COLUMNS])
def test_each_field_answers_to_its_own_name(columns: dict[str, list[str]]) -> None:
    index = alias_index(columns)
    for canonical, aliases in columns.items():
        assert index[normalize_header(canonical)] == canonical
        for alias in aliases:
            assert index[normalize_header(alias)] == canonical


@pytest.mark.parametrize(
    ("columns", "header", "canonical"),
    [
        (DEBTOR_COLUMNS, "Código Cliente", "external_id"),
        (DEBTOR_COLUMNS, "Número de Documento", "tax_id"),
        (DEBTOR_COLUMNS, "Tipo de Documento", "tax_id_type"),
        (DEBTOR_COLUMNS, "Razón Social", "name"),
        (DEBTOR_COLUMNS, "Correo Electrónico", "email"),
        (DEBTOR_COLUMNS, "Móvil", "mobile"),
        (DEBTOR_COLUMNS, "Zona Horaria", "timezone"),
        (DOCUMENT_COLUMNS, "Número de Documento", "debtor_tax_id"),
        (DOCUMENT_COLUMNS, "No. Factura", "number"),
        (DOCUMENT_COLUMNS, "Tipo de Documento", "kind"),
        (DOCUMENT_COLUMNS, "Fecha de Vencimiento", "due_date"),
        (DOCUMENT_COLUMNS, "Fecha", "issue_date"),
        (DOCUMENT_COLUMNS, "Saldo Pendiente", "balance"),
        (DOCUMENT_COLUMNS, "Cliente", "debtor_name"),
        (DOCUMENT_COLUMNS, "E-mail", "debtor_email"),
        (PAYMENT_COLUMNS, "Fecha de Pago", "date"),
        (PAYMENT_COLUMNS, "Valor Pagado", "amount"),
        (PAYMENT_COLUMNS, "Forma de Pago", "method"),
        (PAYMENT_COLUMNS, "Ref.", "reference"),
    ],
)
def test_real_world_headers(columns: dict[str, list[str]], header: str, canonical: str) -> None:
    assert alias_index(columns)[normalize_header(header)] == canonical


def test_numero_documento_is_never_an_invoice_number() -> None:
    # In Colombia it is a person's id (cédula).
    assert alias_index(DOCUMENT_COLUMNS)["numerodocumento"] == "debtor_tax_id"
    assert "numero_documento" not in DOCUMENT_COLUMNS["number"]


def test_alias_index_refuses_shared_aliases() -> None:
    with pytest.raises(ValueError, match="'NIT' is claimed by both tax_id and debtor"):
        alias_index({"tax_id": ["nit"], "debtor": ["NIT"]})
    with pytest.raises(ValueError, match="claimed by both"):
        alias_index({"name": ["x"], "nombre": ["name"]})


def test_parse_mapping() -> None:
    assert parse_mapping("Cliente=debtor_external_id,Total=amount") == {
        "Cliente": "debtor_external_id",
        "Total": "amount",
    }
    assert parse_mapping(" Cliente = debtor_external_id ,  Valor Neto=amount, ") == {
        "Cliente": "debtor_external_id",
        "Valor Neto": "amount",
    }
    assert parse_mapping("a=b=amount") == {"a=b": "amount"}
    assert parse_mapping("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Cliente", "'Cliente' is not of the form 'Column header=field'"),
        ("Cliente=", "not of the form"),
        ("=amount", "not of the form"),
        ("Total=amount,Cliente", "'Cliente' is not of the form"),
        ("--=amount", "names no column header"),
        ("Total=amount,TOTAL=balance", "maps column 'TOTAL' twice"),
        ("Total=amount,Valor=amount", "sends both 'Total' and 'Valor' to amount"),
    ],
)
def test_parse_mapping_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mapping(text)


# --- encodings -----------------------------------------------------------------------------

TEXT = "Código;Nombre;Ciudad\n1;José Peña;Bogotá\n2;Ñandú Ltda.;Medellín\n"


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("cp1252"), "cp1252"),
        (TEXT.encode("cp1252").replace(b"Ltda.", b"Ltda\x90"), "latin-1"),
    ],
)
def test_encoding_is_detected(tmp_path: Path, content: bytes, encoding: str) -> None:
    table, rows = read(write(tmp_path, content))
    assert table.format == "csv"
    assert table.encoding == encoding
    assert table.headers == ["Código", "Nombre", "Ciudad"]
    assert table.fields == {"external_id": "Código", "name": "Nombre", "city": "Ciudad"}
    assert rows[0].values == {"external_id": "1", "name": "José Peña", "city": "Bogotá"}
    assert rows[1].values["city"] == "Medellín"
    expected_name = "Ñandú Ltda\x90" if encoding == "latin-1" else "Ñandú Ltda."
    assert rows[1].values["name"] == expected_name


def test_pena_in_cp1252_is_not_mistaken_for_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "nombre\nPeña\n".encode("cp1252"))
    table, rows = read(path)
    assert table.encoding == "cp1252"
    assert rows[0].values["name"] == "Peña"


def test_encoding_looks_at_the_whole_file(tmp_path: Path) -> None:
    # The only non-ASCII byte sits far beyond any first chunk a sniffer might look at.
    body = b"".join(b"%d;Cliente %d\n" % (i, i) for i in range(20_000))
    path = write(tmp_path, b"codigo;nombre\n" + body + b"99999;Mu\xf1oz\n")
    table, rows = read(path)
    assert table.encoding == "cp1252"
    assert rows[-1].values["name"] == "Muñoz"
    assert rows[-1].line == 20_002


def test_utf8_character_split_across_read_chunks(tmp_path: Path) -> None:
    # 'ñ' is two bytes; pad so that many of them straddle the 64 KiB and 8 KiB boundaries.
    line = ("x" * 8190 + "ñ\n").encode("utf-8")
    path = write(tmp_path, b"nombre\n" + line * 20)
    table, rows = read(path)
    assert table.encoding == "utf-8"
    assert len(rows) == 20
    assert str(rows[0].values["name"]).endswith("ñ")


def test_utf8_cut_off_at_the_end_is_not_utf8(tmp_path: Path) -> None:
    table, _ = read(write(tmp_path, "nombre\nJosé\n".encode() + b"\xc3"))
    assert table.encoding == "cp1252"


# --- delimiters ----------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    content = delimiter.join(["codigo", "nombre", "valor"]) + "\n"
    content += delimiter.join(["7", "Ana", '"1.234,50"']) + "\n"
    table, rows = read(write(tmp_path, content.encode()))
    assert table.delimiter == delimiter
    assert rows[0].values == {"external_id": "7", "name": "Ana", "amount": "1.234,50"}


def test_delimiter_counts_only_outside_quotes(tmp_path: Path) -> None:
    path = write(tmp_path, b'"nombre; alias";codigo,x\n"A; B";1,2\n')
    table, rows = read(path)
    assert table.delimiter == ";"
    assert table.headers == ["nombre; alias", "codigo,x"]
    path = write(tmp_path, b'"a;b;c",nombre,codigo\n"x;y;z",Ana,3\n')
    table, rows = read(path)
    assert table.delimiter == ","
    assert rows[0].values == {"name": "Ana", "external_id": "3"}


def test_delimiter_tie_prefers_semicolon(tmp_path: Path) -> None:
    table, rows = read(write(tmp_path, b"nombre;valor,neto\nAna;1,5\n"))
    assert table.delimiter == ";"
    assert rows[0].values == {"name": "Ana"}
    assert rows[0].raw == {"nombre": "Ana", "valor,neto": "1,5"}


def test_single_column_file(tmp_path: Path) -> None:
    table, rows = read(write(tmp_path, b"nombre\nAna\nLuis\n"))
    assert table.delimiter == ","
    assert [row.values["name"] for row in rows] == ["Ana", "Luis"]


# --- records and line numbers --------------------------------------------------------------


def test_quoted_newlines_and_line_numbers(tmp_path: Path) -> None:
    content = (
        "codigo,nombre,ciudad\n"  # 1
        '1,"Ana\nMaría",Cali\n'  # 2-3
        '2,"Luis ""el grande""",Pasto\n'  # 4
        '3,"Calle 1\n\nApto 2\n",Neiva\n'  # 5-8
        "4,Eva,Tunja\n"  # 9
    )
    _, rows = read(write(tmp_path, content.encode()))
    assert [row.line for row in rows] == [2, 4, 5, 9]
    assert rows[0].values["name"] == "Ana\nMaría"
    assert rows[1].values["name"] == 'Luis "el grande"'
    assert rows[2].values["name"] == "Calle 1\n\nApto 2"
    assert rows[3].values == {"external_id": "4", "name": "Eva", "city": "Tunja"}


def test_crlf_and_quoted_crlf(tmp_path: Path) -> None:
    content = b'codigo;nombre\r\n1;"Ana\r\nMar\xc3\xada"\r\n\r\n2;Luis\r\n'
    _, rows = read(write(tmp_path, content))
    assert [(row.line, row.values["name"]) for row in rows] == [(2, "Ana\r\nMaría"), (5, "Luis")]


def test_old_mac_line_endings(tmp_path: Path) -> None:
    _, rows = read(write(tmp_path, b"codigo,nombre\r1,Ana\r\r2,Luis\r"))
    assert [(row.line, row.values["name"]) for row in rows] == [(2, "Ana"), (4, "Luis")]


def test_blank_lines_and_empty_rows_are_skipped(tmp_path: Path) -> None:
    content = (
        "\n"  # 1
        "   \n"  # 2
        ";;;\n"  # 3: what Excel writes for an empty row
        "codigo;nombre;ciudad\n"  # 4: header
        "\n"  # 5
        "1;Ana;Cali\n"  # 6
        ";;\n"  # 7
        " ; ;  \n"  # 8
        "2;Luis;\n"  # 9
        "\n\n"  # 10-11
    )
    table, rows = read(write(tmp_path, content.encode()))
    assert table.delimiter == ";"
    assert table.headers == ["codigo", "nombre", "ciudad"]
    assert [row.line for row in rows] == [6, 9]
    assert rows[1].values == {"external_id": "2", "name": "Luis", "city": None}


def test_values_are_stripped_raw_is_kept(tmp_path: Path) -> None:
    _, rows = read(write(tmp_path, b"codigo,nombre,notas\n 7 ,  ,\xc2\xa0x \n"))
    assert rows[0].values == {"external_id": "7", "name": None}
    assert rows[0].raw == {"codigo": " 7 ", "nombre": "  ", "notas": "\xa0x "}


def test_short_and_long_records(tmp_path: Path) -> None:
    content = "codigo,nombre,ciudad\n1,Ana\n2,Luis,Cali,,\n3,Eva,Pasto,Sur, 9 \n4\n"
    table, rows = read(write(tmp_path, content.encode()))
    assert rows[0].values == {"external_id": "1", "name": "Ana", "city": None}
    assert rows[0].raw == {"codigo": "1", "nombre": "Ana", "ciudad": None}
    # Trailing empty cells are harmless; non-empty ones mean the record is shifted.
    assert EXTRA not in rows[1].values
    assert rows[2].values[EXTRA] == ["Sur", "9"]
    assert rows[2].values["city"] == "Pasto"
    assert set(rows[2].raw) == set(table.headers)
    assert rows[3].values == {"external_id": "4", "name": None, "city": None}


def test_unnamed_columns(tmp_path: Path) -> None:
    content = "codigo,,nombre,,\n1,,Ana,x,\n2,,Luis,,\n"
    table, rows = read(write(tmp_path, content.encode()))
    # Column 2 is empty throughout and disappears; column 4 holds data and is reported.
    assert table.headers == ["codigo", "nombre", "column 4"]
    assert table.ignored_headers == ["column 4"]
    assert rows[0].raw == {"codigo": "1", "nombre": "Ana", "column 4": "x"}
    assert EXTRA not in rows[0].values


def test_repeated_ignored_header_keeps_both_cells(tmp_path: Path) -> None:
    table, rows = read(write(tmp_path, b"notas,codigo,notas\na,1,b\n"))
    assert table.headers == ["notas", "codigo", "notas (column 3)"]
    assert table.ignored_headers == ["notas", "notas (column 3)"]
    assert rows[0].raw == {"notas": "a", "codigo": "1", "notas (column 3)": "b"}


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    table, rows = read(write(tmp_path, b"codigo;nombre\n\n"))
    assert table.headers == ["codigo", "nombre"]
    assert rows == []


def test_rows_can_be_read_again(tmp_path: Path) -> None:
    table = TabularFile(write(tmp_path, b'codigo,nombre\n1,"A\nB"\n2,C\n'), columns=COLUMNS)
    first, second = list(table.rows()), list(table.rows())
    assert first == second
    assert len(first) == 2


def test_rows_stream(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("codigo;nombre;valor;ciudad\n")
        for i in range(60_000):
            out.write(f"{i};Cliente número {i} con un nombre largo;{i},50;Bogotá D.C.\n")
    tracemalloc.start()
    try:
        table = TabularFile(path, columns=COLUMNS)
        count = 0
        for row in table.rows():
            count += 1
            last = row
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 60_000
    assert last.line == 60_001
    assert path.stat().st_size > 3_000_000
    assert peak < 1_000_000, peak


# --- unreadable files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty"),
        (b"  \n\r\n\t\n", "is empty"),
        (b";;;\n,,\n", "is empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00", "looks like a binary file"),
        (b"codigo,nombre\n1,A\x00B\n", "looks like a binary file"),
        ("codigo,nombre\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_unreadable_csv(tmp_path: Path, content: bytes, reason: str) -> None:
    path = write(tmp_path, content, name="clientes.csv")
    with pytest.raises(FileUnreadable) as caught:
        TabularFile(path, columns=COLUMNS)
    message = str(caught.value)
    assert reason in message
    assert str(path) in message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileUnreadable, match="no such file"):
        TabularFile(tmp_path / "nope.csv", columns=COLUMNS)
    with pytest.raises(FileUnreadable, match="directory"):
        TabularFile(tmp_path, columns=COLUMNS)


# --- header mapping ------------------------------------------------------------------------


def test_two_headers_with_one_meaning(tmp_path: Path) -> None:
    path = write(tmp_path, b"NIT;RFC;Nombre\n1;2;Ana\n")
    with pytest.raises(FileUnreadable) as caught:
        TabularFile(path, columns=COLUMNS)
    assert "columns 'NIT' and 'RFC' both mean tax_id; use --map to choose" in str(caught.value)


def test_map_resolves_the_clash(tmp_path: Path) -> None:
    path = write(tmp_path, b"NIT;RFC;Nombre\n1;2;Ana\n")
    table, rows = read(path, mapping={"rfc": "tax_id"})
    assert table.fields == {"tax_id": "RFC", "name": "Nombre"}
    assert table.ignored_headers == ["NIT"]
    assert rows[0].values == {"tax_id": "2", "name": "Ana"}


def test_map_overrides_aliases(tmp_path: Path) -> None:
    path = write(tmp_path, "Cliente,Razón Social,Total,Valor Neto\nC-1,Ana SAS,10,8\n".encode())
    mapping = parse_mapping("Cliente=debtor_external_id, VALOR NETO=amount")
    table, rows = read(path, columns=DOCUMENT_COLUMNS, mapping=mapping)
    assert table.fields == {
        "debtor_external_id": "Cliente",
        "debtor_name": "Razón Social",
        "amount": "Valor Neto",
    }
    # 'Total' is an alias of amount, but --map chose another column for it.
    assert table.ignored_headers == ["Total"]
    assert rows[0].values == {"debtor_external_id": "C-1", "debtor_name": "Ana SAS", "amount": "8"}


def test_map_field_names_are_loose(tmp_path: Path) -> None:
    table, _ = read(write(tmp_path, b"X\n1\n"), mapping={"x": "External ID"})
    assert table.fields == {"external_id": "X"}


def test_map_can_name_an_unnamed_column(tmp_path: Path) -> None:
    table, rows = read(write(tmp_path, b"nombre,\nAna,5\n"), mapping={"column 2": "amount"})
    assert table.fields == {"name": "nombre", "amount": "column 2"}
    assert rows[0].values == {"name": "Ana", "amount": "5"}


def test_map_naming_an_unknown_field(tmp_path: Path) -> None:
    with pytest.raises(FileUnreadable) as caught:
        read(write(tmp_path, b"Cliente,Total\n1,2\n"), mapping={"Total": "monto"})
    message = str(caught.value)
    assert "unknown field 'monto'" in message
    assert "valid fields: external_id, name, tax_id, amount, city" in message


def test_map_naming_a_missing_column(tmp_path: Path) -> None:
    with pytest.raises(FileUnreadable) as caught:
        read(write(tmp_path, b"Cliente,Total\n1,2\n"), mapping={"Importe": "amount"})
    message = str(caught.value)
    assert "--map names column 'Importe', which is not in the file" in message
    assert "'Cliente', 'Total'" in message


def test_map_sending_two_columns_to_one_field(tmp_path: Path) -> None:
    with pytest.raises(FileUnreadable, match="columns 'A' and 'B' both mean amount"):
        read(write(tmp_path, b"A,B\n1,2\n"), mapping={"A": "amount", "B": "amount"})


# --- the shared bank statements ------------------------------------------------------------


def test_shared_bbva_statement() -> None:
    columns = {
        "date": ["fecha"],
        "description": ["descripcion"],
        "debit": ["cargo"],
        "credit": ["abono"],
        "balance": ["saldo"],
        "reference": ["referencia"],
    }
    table = TabularFile(SHARED_CSV / "avanta-mx__sample_bbva_october_2025.csv", columns=columns)
    assert (table.format, table.encoding, table.delimiter) == ("csv", "utf-8", ",")
    assert table.headers == ["Fecha", "Descripcion", "Cargo", "Abono", "Saldo", "Referencia"]
    assert table.fields == dict(zip(columns, table.headers, strict=True))
    assert table.ignored_headers == []
    rows = list(table.rows())
    assert [row.line for row in rows] == list(range(2, 17))
    assert rows[0].values == {
        "date": "2025-10-01",
        "description": "TRANSFERENCIA SPEI RECIBIDA",
        "debit": "0",
        "credit": "25000.00",
        "balance": "125000.00",
        "reference": "REF001",
    }
    assert rows[-1].values["reference"] == "REF015"


def test_shared_santander_statement() -> None:
    columns = {"date": ["date"], "amount": ["amount"], "reference": ["reference_number"]}
    path = SHARED_CSV / "avanta-mx__sample_santander_october_2025.csv"
    table = TabularFile(path, columns=columns)
    assert (table.encoding, table.delimiter) == ("utf-8", ",")
    assert table.fields == {"date": "Date", "amount": "Amount", "reference": "Reference Number"}
    assert table.ignored_headers == ["Description", "Balance"]
    rows = list(table.rows())
    assert len(rows) == 15
    assert (rows[1].line, rows[1].values) == (
        3,
        {"date": "2025-10-02", "amount": "-850.50", "reference": "TXN002"},
    )
    assert rows[1].raw["Description"] == "PAYMENT CFE ELECTRIC SERVICES"
    assert rows[-1].line == 16


# --- XLSX ----------------------------------------------------------------------------------


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_values_keep_their_types(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "clientes.xlsx",
        {
            "Hoja1": [
                [" Código ", "Nombre", "Total", "Fecha"],
                [101, "  Ana Peña ", 1234567.89, datetime(2026, 11, 23)],
                [None, None, None, None],
                ["C-2", "", 12, date(2026, 1, 2)],
            ]
        },
    )
    columns = {**COLUMNS, "date": ["fecha"]}
    table, rows = read(path, columns=columns)
    assert (table.format, table.encoding, table.delimiter) == ("xlsx", None, None)
    assert table.sheet == "Hoja1"
    assert table.headers == ["Código", "Nombre", "Total", "Fecha"]
    assert [row.line for row in rows] == [2, 4]
    first = rows[0].values
    assert first == {
        "external_id": 101,
        "name": "Ana Peña",
        "amount": 1234567.89,
        "date": datetime(2026, 11, 23),
    }
    assert rows[0].raw["Nombre"] == "  Ana Peña "
    assert rows[1].values["name"] is None
    assert rows[1].values["date"] == datetime(2026, 1, 2)


def test_xlsx_header_below_blank_rows_and_sheet_choice(tmp_path: Path) -> None:
    path = tmp_path / "datos.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "Vacía"
    sheet = workbook.create_sheet("Datos")
    sheet["B3"] = "Nombre"
    sheet["C3"] = "NIT"
    sheet["B4"] = "Ana"
    sheet["C4"] = "900123456"
    sheet["B6"] = "Luis"
    sheet["E6"] = "nota suelta"  # under no header
    workbook.save(path)
    table, rows = read(path)
    assert table.sheet == "Datos"
    assert table.headers == ["Nombre", "NIT", "column 5"]
    assert table.ignored_headers == ["column 5"]
    assert [(row.line, row.values) for row in rows] == [
        (4, {"name": "Ana", "tax_id": "900123456"}),
        (6, {"name": "Luis", "tax_id": None}),
    ]
    assert rows[1].raw == {"Nombre": "Luis", "NIT": None, "column 5": "nota suelta"}


def test_xlsx_formulas_are_read_as_cached_values(tmp_path: Path) -> None:
    # openpyxl writes no cached result, so the honest reading is "no value" — never the
    # formula text itself.
    path = _workbook(tmp_path / "f.xlsx", {"S": [["nombre", "total"], ["Ana", "=1+1"]]})
    _, rows = read(path)
    assert rows[0].values == {"name": "Ana", "amount": None}


def test_xlsx_with_an_undeclared_size(tmp_path: Path) -> None:
    # Some exporters declare the sheet as just 'A1'; read-only openpyxl would then stop there.
    rows: list[list[object]] = [["nombre", "total"], ["Ana", 1], ["Luis", 2, "nota"]]
    source = _workbook(tmp_path / "src.xlsx", {"S": rows})
    target = tmp_path / "export.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.startswith("xl/worksheets/"):
                # openpyxl writes `<dimension ref="A1:C3" />` or, with lxml installed, no space.
                declared = re.sub(rb'<dimension ref="A1:C3"\s*/>', b'<dimension ref="A1"/>', data)
                assert declared != data
                data = declared
            zout.writestr(item, data)
    table, read_rows = read(target)
    assert table.headers == ["nombre", "total", "column 3"]
    assert [(row.line, row.values) for row in read_rows] == [
        (2, {"name": "Ana", "amount": 1}),
        (3, {"name": "Luis", "amount": 2}),
    ]
    assert read_rows[1].raw["column 3"] == "nota"


def test_xlsx_detected_by_content(tmp_path: Path) -> None:
    source = _workbook(tmp_path / "a.xlsx", {"S": [["nombre"], ["Ana"]]})
    renamed = write(tmp_path, source.read_bytes(), name="export.csv")
    table, rows = read(renamed)
    assert table.format == "xlsx"
    assert rows[0].values == {"name": "Ana"}


def test_xlsx_rows_can_be_read_again(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "a.xlsx", {"S": [["nombre", "total"], ["Ana", 1.5]]})
    table = TabularFile(path, columns=COLUMNS)
    assert (
        list(table.rows())
        == list(table.rows())
        == [Row(line=2, values={"name": "Ana", "amount": 1.5}, raw={"nombre": "Ana", "total": 1.5})]
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"codigo,nombre\n1,Ana\n", "is not a readable Excel workbook"),
        (b"PK\x03\x04garbage", "is not a readable Excel workbook"),
        (b"", "is empty"),
    ],
)
def test_unreadable_xlsx(tmp_path: Path, content: bytes, reason: str) -> None:
    with pytest.raises(FileUnreadable, match=reason):
        TabularFile(write(tmp_path, content, name="x.xlsx"), columns=COLUMNS)


def test_xlsx_without_data(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "empty.xlsx", {"A": [], "B": [[None, "  "]]})
    with pytest.raises(FileUnreadable, match="is empty"):
        TabularFile(path, columns=COLUMNS)


def test_xlsx_header_only(tmp_path: Path) -> None:
    table, rows = read(_workbook(tmp_path / "h.xlsx", {"S": [["nombre", "nit"]]}))
    assert table.fields == {"name": "nombre", "tax_id": "nit"}
    assert rows == []


def test_malformed_csv_names_where(tmp_path: Path) -> None:
    path = write(tmp_path, b"nombre\nAna\n" + b"x" * 200_000 + b"\n")
    table = TabularFile(path, columns=COLUMNS)
    with pytest.raises(FileUnreadable, match="is not valid CSV after line 2"):
        list(table.rows())
