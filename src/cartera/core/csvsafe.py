"""Cells that spreadsheets would run as formulas are written as text.

A debtor's name such as `=HYPERLINK(...)` comes from a file or a person; when a user opens an
export or a rejected-rows file in Excel it must stay a name. Numbers such as `-400` stay numbers.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"[-+]?[0-9][0-9.,\s]*")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
