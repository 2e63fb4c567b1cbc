"""Country defaults: the locale people write in and the time zone of the capital."""

from __future__ import annotations

import zoneinfo

from babel import Locale, UnknownLocaleError, localedata
from babel.core import get_global
from django.utils.translation import gettext as _

# Countries spanning several zones: the one most businesses run on.
_MAIN_ZONE = {
    "MX": "America/Mexico_City",
    "ES": "Europe/Madrid",
    "CL": "America/Santiago",
    "AR": "America/Argentina/Buenos_Aires",
    "US": "America/New_York",
    "EC": "America/Guayaquil",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
}
_ENGLISH = {"US", "GB", "CA", "AU", "NZ", "IE"}


def validate_country(code: str) -> str:
    code = (code or "").strip().upper()
    if len(code) != 2 or code not in Locale("en").territories:
        raise ValueError(
            _("'%(code)s' is not an ISO 3166 country code (e.g. CO, MX, ES)") % {"code": code}
        )
    return code


def default_locale(country: str) -> str:
    language = "en" if country in _ENGLISH else "es"
    candidate = f"{language}_{country}"
    return candidate if localedata.exists(candidate) else language


def validate_locale(code: str) -> str:
    try:
        return str(Locale.parse(code.replace("-", "_")))
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError(
            _("'%(code)s' is not a known locale (e.g. es_CO, es_MX, en_US)") % {"code": code}
        ) from exc


def default_timezone(country: str) -> str | None:
    if country in _MAIN_ZONE:
        return _MAIN_ZONE[country]
    zones = get_global("territory_zones").get(country, [])
    return zones[0] if len(zones) == 1 else None


def validate_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            _("'%(name)s' is not a known time zone (e.g. America/Bogota)") % {"name": name}
        ) from exc
    return name
