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
from collections.abc import Sequence
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
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk, count],
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
        with connection.cursor() as cursor:
            if ignore_conflicts:
                cursor.executemany(f"{insert} ON CONFLICT DO NOTHING", list(rows))
                return
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {_table(model)} ({_columns(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    if ignore_conflicts:
        insert = insert.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
    with connection.cursor() as cursor:
        cursor.executemany(insert, _sqlite_rows(rows))


def rows_update(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Set `columns` of many rows; each row is (pk, *values in `columns` order)."""
    if not rows:
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
