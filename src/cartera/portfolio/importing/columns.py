"""Which spreadsheet headers mean which field.

People export debtors, invoices and payments from many ERPs and hand-made spreadsheets, in
Spanish or English, with every capitalisation and spacing imaginable. Headers are compared
through `normalize_header`, so an alias list only needs one spelling of each word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache

from django.utils.translation import gettext as _

__all__ = [
    "DEBTOR_COLUMNS",
    "DOCUMENT_COLUMNS",
    "PAYMENT_COLUMNS",
    "alias_index",
    "normalize_header",
    "parse_mapping",
]


# Spanish headers are written both as "Fecha de Vencimiento" and "fecha_vencimiento"; dropping
# the connecting words makes both spellings meet.
_CONNECTORS = frozenset({"de", "del", "la", "las", "el", "los"})
_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=4096)  # also reads kinds and countries, a few distinct words per column
def normalize_header(text: str) -> str:
    """A key that ignores case, accents, spaces and punctuation: 'Razón Social' -> 'razonsocial'.

    Spanish connectors are dropped too: 'Fecha de Vencimiento' -> 'fechavencimiento'.
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    words = _WORD.findall(bare)
    kept = [word for word in words if word not in _CONNECTORS]
    # a header that is nothing but a connector ("De") keeps its word rather than vanishing
    return "".join(kept or words)


# Spanish tax ids go by a different name in every country (NIT in Colombia, RFC in Mexico,
# NIF/CIF in Spain, RUT in Chile, RUC in Peru and Ecuador, DNI in Argentina and Peru...).
_TAX_ID_NAMES = ["nit", "rfc", "nif", "cif", "cedula", "identificacion", "rut", "ruc", "dni"]

DEBTOR_COLUMNS: dict[str, list[str]] = {
    "external_id": [
        "external_id",
        "codigo_cliente",
        "cod_cliente",
        "id_cliente",
        "cliente_id",
        "customer_id",
        "account",
    ],
    "tax_id": [
        "tax_id",
        *_TAX_ID_NAMES,
        "numero_documento",
        "num_documento",
        "documento_identidad",
        "curp",
        "tax_number",
    ],
    "tax_id_type": ["tax_id_type", "tipo_documento", "tipo_identificacion", "tipo_id"],
    "name": ["name", "nombre", "razon_social", "nombre_cliente", "cliente", "customer_name"],
    "kind": ["kind", "tipo_persona", "tipo_cliente"],
    "email": ["email", "correo", "correo_electronico", "e_mail", "mail"],
    "phone": ["phone", "telefono", "tel", "telefono_fijo"],
    "mobile": ["mobile", "celular", "movil", "whatsapp", "telefono_celular"],
    "address": ["address", "direccion", "domicilio"],
    "city": ["city", "ciudad", "municipio", "poblacion"],
    "region": ["region", "departamento", "estado", "provincia"],
    "country": ["country", "pais"],
    "timezone": ["timezone", "zona_horaria"],
    "tags": ["tags", "etiquetas"],
}

DOCUMENT_COLUMNS: dict[str, list[str]] = {
    "external_id": ["external_id", "id_documento", "id_factura", "documento_id"],
    # 'numero_documento' is deliberately absent: in Colombia it is a person's id number
    # (cédula), so it belongs to debtor_tax_id, never to the invoice number.
    "number": [
        "number",
        "factura",
        "numero_factura",
        "nro_factura",
        "no_factura",
        "num_factura",
        "numero",
        "folio",
        "comprobante",
    ],
    "debtor_external_id": [
        "debtor_external_id",
        "codigo_cliente",
        "cod_cliente",
        "id_cliente",
        "cliente_id",
        "customer_id",
    ],
    "debtor_tax_id": ["debtor_tax_id", *_TAX_ID_NAMES, "numero_documento"],
    "kind": ["kind", "tipo", "tipo_documento", "clase"],
    "issue_date": [
        "issue_date",
        "fecha_emision",
        "fecha_factura",
        "fecha_expedicion",
        "fecha",
    ],
    "due_date": ["due_date", "fecha_vencimiento", "vencimiento", "fecha_vto"],
    "amount": ["amount", "valor", "monto", "importe", "total", "valor_total", "monto_total"],
    "currency": ["currency", "moneda", "divisa"],
    "balance": ["balance", "saldo", "saldo_pendiente", "saldo_actual"],
    # ERP invoice exports repeat the customer's details on every line; reading them lets one
    # file create the debtors and their documents together.
    "debtor_name": [
        "debtor_name",
        "name",
        "customer_name",
        "nombre",
        "razon_social",
        "nombre_cliente",
        "cliente",
    ],
    "debtor_kind": ["debtor_kind", "tipo_persona"],
    "debtor_email": ["debtor_email", "correo", "email", "correo_electronico"],
    "debtor_phone": ["debtor_phone", "telefono", "phone"],
    "debtor_mobile": ["debtor_mobile", "celular", "movil", "mobile", "whatsapp"],
    "debtor_address": ["debtor_address", "direccion", "address"],
    "debtor_city": ["debtor_city", "ciudad", "city"],
    "debtor_country": ["debtor_country", "pais", "country"],
}

PAYMENT_COLUMNS: dict[str, list[str]] = {
    "external_id": ["external_id", "id_pago", "numero_pago", "recibo", "numero_recibo"],
    "debtor_external_id": ["debtor_external_id", "codigo_cliente", "cod_cliente", "id_cliente"],
    "debtor_tax_id": [
        "debtor_tax_id",
        *(name for name in _TAX_ID_NAMES if name != "dni"),
    ],
    "date": ["date", "fecha_pago", "fecha"],
    "amount": ["amount", "valor", "monto", "importe", "valor_pagado"],
    "currency": ["currency", "moneda"],
    "document_external_id": ["document_external_id", "id_factura", "id_documento"],
    "document_number": [
        "document_number",
        "factura",
        "numero_factura",
        "folio",
        "comprobante",
    ],
    "reference": ["reference", "referencia", "referencia_pago", "ref"],
    "method": ["method", "metodo", "medio_pago", "forma_pago"],
}


def alias_index(columns: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Normalized alias -> canonical field. The canonical name always counts as an alias.

    Raises ValueError when two fields claim the same alias: the lists are data that will keep
    growing, and a silent overwrite would send a column to the wrong field.
    """
    index: dict[str, str] = {}
    for canonical, aliases in columns.items():
        for alias in (canonical, *aliases):
            key = normalize_header(alias)
            if not key:
                raise ValueError(f"alias {alias!r} of {canonical} has no letters or digits")
            owner = index.setdefault(key, canonical)
            if owner != canonical:
                raise ValueError(f"alias {alias!r} is claimed by both {owner} and {canonical}")
    return index


# Fail at import time, not in the middle of somebody's import, if an edit creates a clash.
for _columns in (DEBTOR_COLUMNS, DOCUMENT_COLUMNS, PAYMENT_COLUMNS):
    alias_index(_columns)
del _columns


def parse_mapping(text: str) -> dict[str, str]:
    """Parse --map "Cliente=debtor_external_id, Total=amount" into {header: canonical field}.

    Whether the fields exist is checked by the reader, which knows which kind of file this is.
    The last '=' splits a pair, so a header may itself contain '='.
    """
    mapping: dict[str, str] = {}
    seen_headers: dict[str, str] = {}
    seen_fields: dict[str, str] = {}
    for piece in (text or "").split(","):
        if not piece.strip():
            continue  # tolerate a trailing or doubled comma
        header, sep, field = piece.rpartition("=")
        header, field = header.strip(), field.strip()
        if not sep or not header or not field:
            raise ValueError(
                _("--map pair %(pair)s is not of the form 'Column header=field'")
                % {"pair": repr(piece.strip())}
            )
        key = normalize_header(header)
        if not key:
            raise ValueError(
                _("--map pair %(pair)s names no column header") % {"pair": repr(piece.strip())}
            )
        if key in seen_headers:
            raise ValueError(
                _("--map maps column %(header)s twice (%(first)s and %(second)s)")
                % {"header": repr(header), "first": repr(seen_headers[key]), "second": repr(field)}
            )
        field_key = normalize_header(field)
        if field_key in seen_fields:
            raise ValueError(
                _("--map sends both %(first)s and %(second)s to %(field)s")
                % {"first": repr(seen_fields[field_key]), "second": repr(header), "field": field}
            )
        seen_headers[key] = field
        seen_fields[field_key] = header
        mapping[header] = field
    return mapping
