"""Bulk writes for imports and runs: rows as tuples straight to the database.

Django's `bulk_create` spends most of its time building model instances and compiling one SQL
parameter at a time; for hundreds of thousands of rows that dominates. These helpers take
already-clean Python values in column order and hand them to the driver in one go: COPY on
PostgreSQL, a prepared `executemany` on SQLite. Primary keys are reserved up front so the
caller can point child rows at new parents without reading anything back.

Callers pass database-ready values: ints, str, date, aware datetime, bool, None, and JSON as a
`json.dumps` string. Must run inside a transaction.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from django.db import connection, models


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns(names: Sequence[str]) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


def ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys for `model`, never handed out twice."""
    if count <= 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence is looked up once: pg_get_serial_sequence() in the select list would
            # run once per id, and cost seven times what nextval() does.
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
            sequence = cursor.fetchone()[0]
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count]
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the write lock is held from BEGIN IMMEDIATE, so no other writer can take
        # these numbers before our INSERT lands.
        cursor.execute(
            f"SELECT COALESCE(MAX({connection.ops.quote_name(pk)}), 0) FROM {_table(model)}"
        )
        start = cursor.fetchone()[0] + 1
        return list(range(start, start + count))


def _sqlite_rows(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """SQLite's text form of dates and datetimes; a batch mostly repeats one timestamp, so
    each distinct datetime is converted once."""
    converted: dict[datetime.datetime, Any] = {}

    def value(item: Any) -> Any:
        if isinstance(item, datetime.datetime):
            text = converted.get(item)
            if text is None:
                text = converted[item] = connection.ops.adapt_datetimefield_value(item)
            return text
        if isinstance(item, datetime.date):
            return item.isoformat()
        return item

    return [[value(item) for item in row] for row in rows]


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# Flush COPY data to the server in blocks of about this many characters.
_COPY_BLOCK = 1 << 20


def copy_text(value: str) -> str:
    """A string as a field of PostgreSQL's COPY text format."""
    if value.isprintable() and "\\" not in value:  # tabs and line breaks are not printable
        return value
    return value.translate(_COPY_ESCAPES)


class _NotPlain(Exception):
    """A value `_copy_lines` leaves to psycopg's own adapters."""


def _copy_lines(rows: Iterable[Sequence[Any]]) -> list[str]:
    """Rows in COPY text format, one line each, when every value is an int, str, bool, date,
    datetime or None (raises _NotPlain otherwise). Dates and timestamps repeat a lot within a
    batch, so each distinct one is formatted once."""
    formatted: dict[Any, str] = {}
    date, stamp = datetime.date, datetime.datetime

    def field(value: Any) -> str:
        kind = type(value)
        if kind is int:
            return str(value)
        if kind is str:
            if value.isprintable() and "\\" not in value:
                return value  # type: ignore[no-any-return]
            return value.translate(_COPY_ESCAPES)  # type: ignore[no-any-return]
        if value is None:
            return "\\N"
        text = formatted.get((kind, value))
        if text is None:
            if kind is bool:
                text = "t" if value else "f"
            elif kind is date or kind is stamp:
                text = value.isoformat()
            elif isinstance(value, str):  # e.g. a TextChoices member
                text = copy_text(str(value))
            elif isinstance(value, int) and not isinstance(value, bool):
                text = str(int(value))
            else:
                raise _NotPlain
            formatted[kind, value] = text
        return text

    return ["\t".join(map(field, row)) + "\n" for row in rows]


def copy_write(model: type[models.Model], columns: Sequence[str], lines: Iterable[str]) -> None:
    """PostgreSQL only: COPY lines already in COPY text format (see `copy_text`) into `model`."""
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {_table(model)} ({_columns(columns)}) FROM STDIN") as copy:
            block: list[str] = []
            size = 0
            for line in lines:
                block.append(line)
                size += len(line)
                if size >= _COPY_BLOCK:
                    copy.write("".join(block))
                    block, size = [], 0
            if block:
                copy.write("".join(block))


def rows_insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """Insert `rows` (values in `columns` order; include the primary key to choose it).

    With `ignore_conflicts`, a row that would break a unique constraint is skipped.
    """
    if not rows:
        return
    placeholders = ", ".join(["%s"] * len(columns))
    insert = f"INSERT INTO {_table(model)} ({_columns(columns)}) VALUES ({placeholders})"
    if connection.vendor == "postgresql":
        if ignore_conflicts:
            with connection.cursor() as cursor:
                cursor.executemany(f"{insert} ON CONFLICT DO NOTHING", list(rows))
            return
        try:
            lines = _copy_lines(rows)
        except _NotPlain:
            with connection.cursor() as cursor:
                raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                with raw.copy(f"COPY {_table(model)} ({_columns(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            return
        copy_write(model, columns, lines)
        return
    if ignore_conflicts:
        insert = insert.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
    with connection.cursor() as cursor:
        cursor.executemany(insert, _sqlite_rows(rows))


def select_in(
    select: str,
    key: str,
    values: Collection[Any],
    where: str = "",
    params: Sequence[Any] = (),
    *,
    lock: bool = False,
    order_by: str = "",
) -> tuple[str, list[Any]]:
    """SQL and parameters for `select` ("SELECT … FROM …", no WHERE) limited to the rows whose
    `key` is one of `values` (str or int) and that meet `where` (with `params`).

    On PostgreSQL each value is looked up on its own (a LATERAL subquery per value), so a
    table being bulk-loaded, whose planner statistics say it is empty, is still read
    through its index: `key IN (5,000 values)` would be estimated to match every row and
    read by a sequential scan, at each chunk of the import. `order_by` names output
    columns; `lock` locks the rows (FOR UPDATE, on PostgreSQL).
    """
    unique = list(dict.fromkeys(values))
    condition = f" AND {where}" if where else ""
    order = f" ORDER BY {order_by}" if order_by else ""
    if connection.vendor == "postgresql":
        kind = "bigint" if unique and type(unique[0]) is int else "text"
        locking = " FOR UPDATE" if lock else ""
        sql = (
            f"SELECT x.* FROM unnest(%s::{kind}[]) AS k(v) CROSS JOIN LATERAL "
            f"({select} WHERE {key} = k.v{condition} OFFSET 0{locking}) x{order}"
        )
        return sql, [_array(unique), *params]
    sql = f"{select} WHERE {key} IN (SELECT value FROM json_each(%s)){condition}{order}"
    return sql, [json.dumps(unique), *params]


def rows_update(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Set `columns` of many rows; each row is (pk, *values in `columns` order).

    On PostgreSQL one statement updates them all from arrays (an UPDATE per row costs the
    server a statement each); a pk listed twice ends with its last values, as row after row
    would.
    """
    if not rows:
        return
    if connection.vendor == "postgresql":
        types = _array_types(model, columns)
        if types is not None:
            last = {row[0]: row for row in rows}  # a later row for the same pk wins
            pk_type, value_types = types
            pk = connection.ops.quote_name(model._meta.pk.column)
            names = [f"c{n}" for n in range(len(columns))]
            assignments = ", ".join(
                f"{connection.ops.quote_name(c)} = v.{name}"
                for c, name in zip(columns, names, strict=True)
            )
            arrays = ", ".join([f"%s::{pk_type}[]"] + [f"%s::{t}[]" for t in value_types])
            sql = (
                f"UPDATE {_table(model)} t SET {assignments} "
                f"FROM unnest({arrays}) AS v(pk, {', '.join(names)}) WHERE t.{pk} = v.pk"
            )
            params = [_array(list(values)) for values in zip(*last.values(), strict=True)]
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
            return
    assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
    pk = connection.ops.quote_name(model._meta.pk.column)
    sql = f"UPDATE {_table(model)} SET {assignments} WHERE {pk} = %s"
    ordered: list[list[Any]] = [[*row[1:], row[0]] for row in rows]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg pipelines executemany into one round trip.
            cursor.executemany(sql, ordered)
        else:
            cursor.executemany(sql, _sqlite_rows(ordered))


def _array(values: list[Any]) -> Any:
    """An array parameter as PostgreSQL's array text ('{1,NULL,"a b"}'), which psycopg passes
    as one string, when every value is an int, str, bool, date, datetime or None; else the
    list itself, for psycopg to adapt element by element."""
    items = []
    date, stamp = datetime.date, datetime.datetime
    for value in values:
        kind = type(value)
        if kind is int:
            items.append(str(value))
        elif value is None:
            items.append("NULL")
        elif kind is bool:
            items.append("t" if value else "f")
        elif kind is date or kind is stamp:
            items.append(value.isoformat())
        elif isinstance(value, str):
            text = str(value).replace("\\", "\\\\").replace('"', '\\"')
            items.append(f'"{text}"')
        else:
            return values
    return "{" + ",".join(items) + "}"


def _array_types(model: type[models.Model], columns: Sequence[str]) -> tuple[str, list[str]] | None:
    """The database types of the pk and of `columns` (None when one is not a plain column)."""
    by_column = {field.column: field for field in model._meta.concrete_fields}
    types = []
    for column in columns:
        field = by_column.get(column)
        db_type = field.db_type(connection) if field is not None else None
        if db_type is None or not _SIMPLE_TYPE.fullmatch(db_type):
            return None
        types.append(db_type)
    pk_type = model._meta.pk.rel_db_type(connection)  # type: ignore[union-attr,attr-defined]
    if pk_type is None or not _SIMPLE_TYPE.fullmatch(pk_type):
        return None
    return pk_type, types


# Types an array cast can name as they are: bigint, varchar(20), timestamp with time zone…
_SIMPLE_TYPE = re.compile(r"[a-z][a-z ]*(\([0-9, ]+\))?")
