"""Figures as the creditor's locale writes them, for the report pages."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from django import template
from django.utils.translation import get_language, to_locale

from cartera.core.money import format_minor, format_number

register = template.Library()


@register.simple_tag
def amount(minor: int | None, currency: str, locale: str) -> str:
    """`{% amount minor currency creditor.locale %}`: $ 1.234.567,89 for es_CO."""
    if minor is None or minor == "":
        return "–"
    return format_minor(int(minor), currency, locale)


@register.filter
def pct(value: Decimal | None, locale: str = "es_CO") -> str:
    """`{{ rate|pct:scope.locale }}`: a percentage already in percent (58.7 → "58,70 %" in
    es_CO); – when undefined."""
    if value is None or value == "":
        return "–"
    return f"{format_number(Decimal(value), locale)} %"


@register.filter
def share(value: Decimal | None, locale: str = "es_CO") -> str:
    """`{{ fraction|share:scope.locale }}`: a fraction as a percentage (0.587 → "58,70 %")."""
    if value is None or value == "":
        return "–"
    return f"{format_number(Decimal(value) * 100, locale)} %"


@register.filter
def days(value: Decimal | None, locale: str = "es_CO") -> str:
    """`{{ dso|days:scope.locale }}`: days with two decimals (41.5 → "41,50")."""
    return "–" if value is None or value == "" else format_number(Decimal(value), locale)


@register.filter
def count(value: int | None, locale: str = "es_CO") -> str:
    """`{{ n|count:scope.locale }}`: a whole number with the locale's grouping (3.285)."""
    return "–" if value is None or value == "" else format_number(int(value), locale, 0)


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
