"""`column IN (a large set)` as one query parameter, on PostgreSQL and SQLite alike.

A statement of 100,000 lines asks about hundreds of thousands of references, numbers and
amounts at once. Spelled out as `IN (%s, %s, …)` that would need chunks (drivers cap the
number of parameters); as one array (PostgreSQL, which hashes it) or one JSON text that SQLite
unpacks with json_each, it is a single statement whatever the size.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from django.db import connection


def in_set(column: str, values: Collection[Any]) -> tuple[str, Any]:
    """(SQL condition, its one parameter) testing `column` against `values`.

    Values are all strings or all integers. On PostgreSQL the array gets the column's type
    (text or bigint): only an array of the very same type is searched through a hash table;
    an int4 array against a bigint column is compared value by value, row by row.
    """
    items = sorted(values)
    if connection.vendor == "postgresql":
        if items and isinstance(items[0], int):
            return f"{column} = ANY(%s::bigint[])", "{" + ",".join(map(str, items)) + "}"
        return f"{column} = ANY(%s::text[])", "{" + ",".join(map(_quoted, items)) + "}"
    return f"{column} IN (SELECT value FROM json_each(%s))", json.dumps(items)


def _quoted(text: str) -> str:
    # An array literal written by hand: the driver's own list adaptation is far slower for
    # hundreds of thousands of values.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
