"""Fill Spanish translations into locale/es/LC_MESSAGES/django.po (run after makemessages).

Keeps the Spanish wording in one reviewable place; msgids absent here stay untranslated and are
listed, so a new string is never forgotten silently.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ES = {
    "Core": "Núcleo",
    "User": "Usuario",
    "System": "Sistema",
    "Import batch": "Lote de importación",
    "API client": "Cliente de API",
    "Debtor (portal)": "Deudor (portal)",
    "when": "cuándo",
    "actor type": "tipo de actor",
    "user": "usuario",
    "actor": "actor",
    "action": "acción",
    "object": "objeto",
    "creditor id": "id del acreedor",
    "changes": "cambios",
    "from address": "desde la dirección",
    "audit event": "evento de auditoría",
    "audit log": "auditoría",
    "Demo": "Demostración",
    "balance": "saldo",
    "Open": "Abierto",
    "Settled": "Saldado",
    "amount": "valor",
    "unapplied": "sin aplicar",
    "Portfolio": "Cartera",
    "Ledger: Cartera records the payments": "Libro: Cartera registra los pagos",
    "ERP: the ERP sends open balances every day": "ERP: el ERP envía los saldos abiertos cada día",
    "code": "código",
    "name": "nombre",
    "tax id": "identificación tributaria",
    "country": "país",
    "base currency": "moneda base",
    "locale": "configuración regional",
    "time zone": "zona horaria",
    "balance mode": "modo de saldos",
    "created": "creado",
    "creditor": "acreedor",
    "creditors": "acreedores",
    "membership": "membresía",
    "memberships": "membresías",
    "Person": "Persona natural",
    "Company": "Empresa",
    "external id": "id externo",
    "tax id type": "tipo de identificación",
    "kind": "tipo",
    "region": "región",
    "city": "ciudad",
    "tags": "etiquetas",
    "payment reference": "referencia de pago",
    "updated": "actualizado",
    "debtor": "deudor",
    "debtors": "deudores",
    "Email": "Correo electrónico",
    "Mobile phone": "Celular",
    "Landline": "Teléfono fijo",
    "Phone": "Teléfono",
    "WhatsApp": "WhatsApp",
    "Postal address": "Dirección postal",
    "value": "valor",
    "E.164 phone, lower-case email or address": "teléfono E.164, correo en minúsculas o dirección",
    "as written": "como se escribió",
    "primary": "principal",
    "verified": "verificado",
    "valid": "válido",
    "False after a hard bounce or a wrong number": "Falso tras un rebote definitivo o un número equivocado",
    "calls allowed": "llamadas autorizadas",
    "SMS allowed": "SMS autorizados",
    "WhatsApp allowed": "WhatsApp autorizado",
    "email allowed": "correo autorizado",
    "letters allowed": "cartas autorizadas",
    "do not contact": "no contactar",
    "source": "origen",
    "contact point": "medio de contacto",
    "contact points": "medios de contacto",
    "Invoice": "Factura",
    "Debit note": "Nota débito",
    "Credit note": "Nota crédito",
    "Promissory note": "Pagaré",
    "Installment": "Cuota",
    "Closed": "Cerrado",
    "number": "número",
    "issue date": "fecha de emisión",
    "due date": "fecha de vencimiento",
    "currency": "moneda",
    "amount (minor units)": "valor (unidades mínimas)",
    "open balance (minor units)": "saldo abierto (unidades mínimas)",
    "status": "estado",
    "document": "documento",
    "documents": "documentos",
    "Charge (document issued)": "Cargo (documento emitido)",
    "Credit note issued": "Nota crédito emitida",
    "Payment applied": "Pago aplicado",
    "Payment recorded outside Cartera": "Pago registrado fuera de Cartera",
    "Paid before the first import (balance column)": "Pagado antes de la primera carga (columna saldo)",
    "prior payments not yet matched (minor units)": "pagos previos aún sin identificar (unidades mínimas)",
    "Amount adjustment": "Ajuste de valor",
    "Reversal": "Reversión",
    "effective date": "fecha efectiva",
    "memo": "nota",
    "recorded by": "registrado por",
    "recorded at": "registrado el",
    "ledger entry": "movimiento",
    "ledger entries": "movimientos",
    "date": "fecha",
    "unapplied (minor units)": "sin aplicar (unidades mínimas)",
    "reference": "referencia",
    "method": "medio de pago",
    "payment": "pago",
    "payments": "pagos",
    "allocation": "aplicación",
    "allocations": "aplicaciones",
    "Debtors": "Deudores",
    "Documents": "Documentos",
    "Payments": "Pagos",
    "Running": "En curso",
    "Done": "Terminado",
    "Done, some rows rejected": "Terminado, con filas rechazadas",
    "Refused, nothing landed": "Rechazado, no se cargó nada",
    "Failed": "Falló",
    "file": "archivo",
    "SHA-256": "SHA-256",
    "size (bytes)": "tamaño (bytes)",
    "by": "por",
    "options": "opciones",
    "rows read": "filas leídas",
    "unchanged": "sin cambios",
    "rejected": "rechazadas",
    "rejected rows file": "archivo de filas rechazadas",
    "message": "mensaje",
    "started": "inicio",
    "finished": "fin",
    "import batch": "lote de importación",
    "import batches": "lotes de importación",
    "Reports": "Informes",
    "Administration": "Administración",
    "Log out": "Cerrar sesión",
    "Language": "Idioma",
    "Change": "Cambiar",
    "Portfolio aging": "Edad de cartera",
    "Open balances at the end of %(date)s, by days past due": "Saldos abiertos al cierre del %(date)s, por días de mora",
    "Currency": "Moneda",
    "Current": "Al día",
    "Total": "Total",
    "Credits": "Créditos",
    "Net": "Neto",
    "Open documents": "Documentos abiertos",
    "Imports": "Importaciones",
    "Nothing is open for this creditor. Load documents with: cartera import documents FILE": "Este acreedor no tiene saldos abiertos. Cargue documentos con: cartera import documents ARCHIVO",
    "You do not have access to any creditor yet. Ask an administrator to add you to one.": "Todavía no tiene acceso a ningún acreedor. Pida a un administrador que lo agregue a uno.",
}


def main() -> int:
    path = Path(__file__).resolve().parents[1] / "src/cartera/locale/es/LC_MESSAGES/django.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="es")
    catalog.fuzzy = False
    missing = []
    for message in catalog:
        if not message.id:
            continue
        if message.id in ES:
            message.string = ES[message.id]
            message.flags.discard("fuzzy")
        elif not message.string:
            missing.append(message.id)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100)
    for msgid in missing:
        print(f"untranslated: {msgid!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
