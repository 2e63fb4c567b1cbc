"""The few SQL spellings that differ between SQLite and PostgreSQL, in one place."""

from __future__ import annotations

import datetime

from django.db import connection

EPOCH = datetime.date(1970, 1, 1)


def day_number(expression: str) -> str:
    """SQL: the date as whole days since 1970-01-01 (NULL stays NULL)."""
    if connection.vendor == "postgresql":
        return f"({expression} - DATE '1970-01-01')"
    return f"CAST(julianday({expression}) - 2440587.5 AS INTEGER)"


def to_day_number(day: datetime.date) -> int:
    return (day - EPOCH).days


def from_day_number(number: int) -> datetime.date:
    return EPOCH + datetime.timedelta(days=int(number))


def greatest(*expressions: str) -> str:
    if connection.vendor == "postgresql":
        return f"GREATEST({', '.join(expressions)})"
    return f"MAX({', '.join(expressions)})"


def least(*expressions: str) -> str:
    if connection.vendor == "postgresql":
        return f"LEAST({', '.join(expressions)})"
    return f"MIN({', '.join(expressions)})"


def boolean(condition: str) -> str:
    """SQL: a boolean column value from a condition (SQLite stores 1/0)."""
    return f"CASE WHEN {condition} THEN TRUE ELSE FALSE END"
