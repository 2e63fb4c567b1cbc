"""Amounts, dates and times as the user's language and the creditor's country write them."""

from __future__ import annotations

import datetime
from typing import Any

from babel.dates import format_date, format_datetime, format_time
from django import template
from django.utils import timezone
from django.utils.translation import get_language, to_locale

from cartera.core.money import format_minor

register = template.Library()


def _ui_locale() -> str:
    return to_locale(get_language() or "es")


@register.simple_tag
def money(minor: int | None, currency: str, locale: str) -> str:
    """`{% money minor currency creditor.locale %}`: $ 1.234.567,89 for es_CO."""
    if minor is None:
        return ""
    return format_minor(int(minor), currency, locale)


@register.filter
def day(value: datetime.date | None, style: str = "medium") -> str:
    if not value:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date()
    return format_date(value, format=style, locale=_ui_locale())


@register.filter
def moment(value: datetime.datetime | None, style: str = "short") -> str:
    """A date and time in the server's time zone, as the user's language writes it."""
    if not value:
        return ""
    local = timezone.localtime(value)
    today = timezone.localdate()
    if local.date() == today and style == "short":
        return format_time(local, format="short", locale=_ui_locale())
    return format_datetime(local, format=style, locale=_ui_locale())


@register.filter
def isoformat(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return ""


@register.filter
def percent_of(value: int | None, target: int | None) -> int:
    """How far `value` is towards `target`, in percent, capped at 100 (for progress bars)."""
    if not target or value is None:
        return 0
    return max(0, min(100, round(100 * value / target)))


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def consents(point: Any) -> list[tuple[str, bool | None]]:
    """A contact point's consent per channel, labelled, for badges."""
    from django.utils.translation import gettext

    return [
        (gettext("Calls"), point.consent_call),
        (gettext("SMS"), point.consent_sms),
        (gettext("WhatsApp"), point.consent_whatsapp),
        (gettext("Email"), point.consent_email),
        (gettext("Letters"), point.consent_letter),
    ]


_ICONS = {
    "call": "☎",
    "visit": "⌂",
    "email": "@",
    "sms": "✉",
    "whatsapp": "✆",
    "letter": "✉",
    "message": "✉",
    "note": "✎",
    "edit": "✎",
    "promise": "✓",
    # Drawn by the stylesheet (workdesk/icons/agreement.svg): no glyph reads as a contract.
    "agreement": "",
    "payment": "$",
    "dispute": "!",
    "alert": "!",
    "strategy": "⚙",
    "stage": "↗",
    "import": "⇪",
    "system": "•",
}


@register.filter
def kind_icon(kind: str) -> str:
    """A glyph for a kind of history item (decorative: the title says what it is)."""
    return _ICONS.get(kind, "•")
