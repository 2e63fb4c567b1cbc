"""Column profiles: which header of a bank's CSV/XLSX export means what.

Banks export movements in their own layouts. A profile names the headers of one layout (any
spelling: headers are compared without case, accents or spaces) and how its amounts and dates
are written. More profiles can be given as JSON in the file named by
`CARTERA_CASH_PROFILES_FILE` (see docs/cash-application.md); they are tried before the ready ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from cartera.core.money import CurrencyError, validate_currency

# Fields a profile can map. One of `amount` (signed: negative is money out) or the pair
# `debit`/`credit` (two columns of magnitudes) gives the amount.
FIELDS = (
    "date",
    "value_date",
    "description",
    "detail",
    "reference",
    "bank_reference",
    "amount",
    "debit",
    "credit",
    "currency",
    "counterparty_name",
    "counterparty_account",
)


@dataclass(frozen=True)
class Profile:
    code: str
    name: str
    columns: dict[str, list[str]]
    # Each tuple: at least one of these fields must be in the file for the profile to fit.
    required: tuple[tuple[str, ...], ...] = (("date",), ("amount", "credit"))
    date_order: str | None = None  # "DMY", "MDY", "YMD"; None: inferred from the values
    decimal: str | None = None  # "." or ","; None: inferred from the values
    currency: str | None = None  # when the file has no currency column
    # True when `reference` is the bank's own unique id of the movement (used against
    # duplicates); False when it is the payer's reference (only read for matching).
    unique_reference: bool = False
    notes: str = ""
    specific: bool = field(default=True, compare=False)


BBVA_MX = Profile(
    code="bbva-mx",
    name="BBVA México (cargo / abono)",
    columns={
        "date": ["fecha", "fecha operacion", "dia"],
        "value_date": ["fecha valor", "fecha liquidacion"],
        "description": ["descripcion", "concepto", "concepto movimiento"],
        "reference": ["referencia", "referencia numerica"],
        "debit": ["cargo", "cargos", "retiros"],
        "credit": ["abono", "abonos", "depositos"],
    },
    required=(("date",), ("description",), ("debit",), ("credit",)),
    date_order="DMY",
    currency="MXN",
    notes="Separate debit (cargo) and credit (abono) columns; a balance (saldo) column is ignored.",
)

SANTANDER_MX = Profile(
    code="santander-mx",
    name="Santander México (one signed amount)",
    columns={
        "date": ["date", "fecha"],
        "description": ["description", "descripcion"],
        "amount": ["amount", "importe"],
        "reference": ["reference number", "numero referencia", "referencia"],
    },
    required=(("date",), ("description",), ("amount",), ("reference",)),
    date_order="DMY",
    currency="MXN",
    notes="One signed amount column (negative: money out); a balance column is ignored.",
)

GENERIC = Profile(
    code="generic",
    name="Generic (common Spanish and English headers)",
    columns={
        "date": [
            "fecha", "fecha operacion", "fecha movimiento", "fecha contable", "date",
            "booking date", "transaction date", "posting date",
        ],
        "value_date": ["fecha valor", "value date"],
        "description": [
            "descripcion", "concepto", "detalle", "description", "details", "narrative",
            "movimiento",
        ],
        "detail": ["observaciones", "informacion adicional", "remittance", "memo", "nota"],
        "reference": ["referencia", "reference", "ref", "documento", "num documento"],
        "bank_reference": ["id movimiento", "transaction id", "bank reference"],
        "amount": ["importe", "monto", "valor", "amount", "cantidad"],
        "debit": ["cargo", "cargos", "debito", "debitos", "retiro", "retiros", "debit", "egreso"],
        "credit": [
            "abono", "abonos", "credito", "creditos", "deposito", "depositos", "credit",
            "ingreso",
        ],
        "currency": ["moneda", "divisa", "currency"],
        "counterparty_name": ["ordenante", "beneficiario", "nombre", "counterparty", "payer"],
        "counterparty_account": [
            "cuenta ordenante", "cuenta origen", "iban ordenante", "counterparty account",
            "payer account", "clabe ordenante",
        ],
    },
    specific=False,
)  # fmt: skip

BUILT_IN = (BBVA_MX, SANTANDER_MX)


class ProfileError(ValueError):
    """A profile named or configured wrongly; the message says what to fix (in the active
    language)."""


def _profile_from_json(item: object, source: str) -> Profile:
    if not isinstance(item, dict) or not isinstance(item.get("code"), str):
        raise ProfileError(
            _("%(source)s: each profile is an object with a 'code'") % {"source": source}
        )
    columns = item.get("columns")
    if not isinstance(columns, dict) or not all(
        isinstance(v, list) and all(isinstance(a, str) for a in v) for v in columns.values()
    ):
        raise ProfileError(
            _("%(source)s: profile %(profile)s: 'columns' maps fields to lists")
            % {"source": source, "profile": item["code"]}
        )
    unknown = sorted(set(columns) - set(FIELDS))
    if unknown:
        raise ProfileError(
            _("%(source)s: profile %(profile)s: unknown fields %(unknown)s (fields: %(fields)s)")
            % {
                "source": source,
                "profile": item["code"],
                "unknown": ", ".join(unknown),
                "fields": ", ".join(FIELDS),
            }
        )
    required = item.get("required") or [["date"], ["amount", "credit"]]
    _check_settings(item, required, source)
    return Profile(
        code=item["code"],
        name=str(item.get("name") or item["code"]),
        columns={k: list(v) for k, v in columns.items()},
        required=tuple(tuple(group) for group in required),
        date_order=item.get("date_order"),
        decimal=item.get("decimal"),
        currency=validate_currency(item["currency"]) if item.get("currency") else None,
        unique_reference=bool(item.get("unique_reference", False)),
        notes=str(item.get("notes") or ""),
    )


def _check_settings(item: dict[str, Any], required: object, source: str) -> None:
    """A profile's settings must make sense before any statement is read with it: a wrong
    currency or date order would otherwise surface as a crash in the middle of an import."""

    def refuse(problem: str) -> ProfileError:
        return ProfileError(
            _("%(source)s: profile %(profile)s: %(problem)s")
            % {"source": source, "profile": item["code"], "problem": problem}
        )

    if not isinstance(required, list) or not all(
        isinstance(group, list) and group and all(f in FIELDS for f in group) for group in required
    ):
        raise refuse(_("'required' is a list of lists of fields"))
    if item.get("currency") is not None:
        try:
            validate_currency(str(item["currency"]))
        except CurrencyError as exc:
            raise refuse(str(exc)) from None
    if item.get("date_order") not in (None, "DMY", "MDY", "YMD"):
        raise refuse(_("'date_order' is DMY, MDY or YMD"))
    if item.get("decimal") not in (None, ",", "."):
        raise refuse(_('\'decimal\' is "," or "."'))


@cache
def _configured(path: str) -> tuple[Profile, ...]:
    if not path:
        return ()
    try:
        items = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProfileError(f"CARTERA_CASH_PROFILES_FILE {path}: {exc}") from None
    if not isinstance(items, list):
        raise ProfileError(
            _("CARTERA_CASH_PROFILES_FILE %(path)s: expected a list of profiles") % {"path": path}
        )
    return tuple(_profile_from_json(item, path) for item in items)


def profiles() -> tuple[Profile, ...]:
    """Every profile, in the order they are tried: configured, ready-made, generic."""
    return (*_configured(settings.CARTERA_CASH_PROFILES_FILE), *BUILT_IN, GENERIC)


def profile_named(code: str) -> Profile:
    for profile in profiles():
        if profile.code == code:
            return profile
    known = ", ".join(p.code for p in profiles())
    raise ProfileError(
        _("no column profile '%(profile)s' (known: %(known)s)") % {"profile": code, "known": known}
    )
