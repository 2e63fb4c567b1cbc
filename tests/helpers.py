"""Helpers shared by the tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction


class _Undo(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    """Everything inside is undone: each hypothesis example starts from the same database."""
    try:
        with transaction.atomic():
            yield
            raise _Undo
    except _Undo:
        pass
