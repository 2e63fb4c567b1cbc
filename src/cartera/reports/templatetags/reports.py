"""Figures as the creditor's locale writes them, for the report pages."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from django import template
from django.utils.translation import get_language, to_locale

from cartera.core.money import format_minor
from cartera.reports.kpis import two

register = template.Library()


@register.simple_tag
def amount(minor: int | None, currency: str, locale: str) -> str:
    """`{% amount minor currency creditor.locale %}`: $ 1.234.567,89 for es_CO."""
    if minor is None or minor == "":
        return "–"
    return format_minor(int(minor), currency, locale)


@register.filter
def pct(value: Decimal | None) -> str:
    """A percentage already in percent (58.7 → "58.70 %"); – when undefined."""
    return "–" if value is None or value == "" else f"{two(Decimal(value))} %"


@register.filter
def share(value: Decimal | None) -> str:
    """A fraction as a percentage (0.587 → "58.70 %"); – when undefined."""
    return "–" if value is None or value == "" else f"{two(Decimal(value) * 100)} %"


@register.filter
def days(value: Decimal | None) -> str:
    return "–" if value is None or value == "" else str(two(Decimal(value)))


@register.filter
def shortdate(value: datetime.date | None) -> str:
    if not value:
        return ""
    return format_date(value, format="medium", locale=to_locale(get_language() or "es"))


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def at(sequence: Any, index: int) -> Any:
    try:
        return sequence[int(index)]
    except (IndexError, TypeError, ValueError):
        return None
