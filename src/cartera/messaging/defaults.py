"""The message templates Cartera ships, in Spanish and English, and the words of the layouts.

Each file `default_templates/<language>/<code>.txt` holds one code's templates for every channel,
in sections that start with a line `=== <channel>.<part>`:

- `email.subject`, `email.text`, `email.html` (the HTML goes inside the email layout),
- `sms.text`,
- `whatsapp.template` (the name of the template approved by the provider), `whatsapp.params`
  (one template expression per line: the approved template's {{1}}, {{2}}…), `whatsapp.text`
  (the approved words, for people to read),
- `letter.subject`, `letter.html` (the body; the letter layout adds sender, addressee, date and
  page numbers), `letter.text`.

`templates_ensure` runs after every `migrate`: it creates the defaults that are missing and
refreshes those nobody edited (their `updated_by` is still `SHIPPED_BY`); a template a person
changed is never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

DEFAULTS_DIR = Path(__file__).resolve().parent / "default_templates"
SHIPPED_BY = "cartera (shipped default)"

STEP_CODES = (
    "recordatorio_previo",
    "recordatorio_vencimiento",
    "aviso_1",
    "aviso_2",
    "aviso_final",
    "carta_prejuridica",
)
"""The message steps of the default strategy: a supervisor may switch any to another channel,
so each has a template for every channel."""

EVENT_CODES = (
    "promesa_confirmacion",
    "acuerdo_confirmacion",
    "cuota_recordatorio",
    "promesa_incumplida",
    "recibo_pago",
)
"""Messages sent on an event (a promise taken or broken, an agreement, a payment)."""

CODE_NAMES: dict[str, dict[str, str]] = {
    "recordatorio_previo": {"es": "Recordatorio previo al vencimiento", "en": "Upcoming due date"},
    "recordatorio_vencimiento": {"es": "Vence hoy", "en": "Due today"},
    "aviso_1": {"es": "Primer aviso de mora", "en": "First overdue notice"},
    "aviso_2": {"es": "Segundo aviso de mora", "en": "Second overdue notice"},
    "aviso_final": {"es": "Requerimiento formal de pago", "en": "Formal demand for payment"},
    "carta_prejuridica": {"es": "Cobro prejurídico", "en": "Pre-legal collection notice"},
    "promesa_confirmacion": {"es": "Confirmación de promesa de pago", "en": "Promise confirmed"},
    "acuerdo_confirmacion": {"es": "Confirmación de acuerdo de pago", "en": "Agreement confirmed"},
    "cuota_recordatorio": {"es": "Recordatorio de cuota", "en": "Installment reminder"},
    "promesa_incumplida": {"es": "Promesa de pago incumplida", "en": "Missed promise"},
    "recibo_pago": {"es": "Recibo de pago", "en": "Payment receipt"},
}

# The words the layouts add around a template (footers, table headings, letter headings), per
# language. They are part of the message, written in the debtor's language whatever language
# the person who queued it reads the application in, so they live here with the templates
# rather than in the interface's translations.
LAYOUT_TEXTS: dict[str, dict[str, str]] = {
    "es": {
        "optout_email": "Si no desea recibir más mensajes de cobro por correo electrónico:",
        "optout_link": "darse de baja",
        "reference": "Referencia de pago",
        "sent_by": "Mensaje de {creditor} sobre su cuenta.",
        "page": "Página",
        "of": "de",
        "to_person": "Señor(a)",
        "to_company": "Señores",
        "tax_id": "Identificación",
        "subject": "Asunto",
        "col_document": "Documento",
        "col_due": "Vencimiento",
        "col_dpd": "Días de mora",
        "col_balance": "Saldo",
        "due": "vencimiento",
        "kind_invoice": "factura",
        "kind_debit_note": "nota débito",
        "kind_credit_note": "nota crédito",
        "kind_promissory_note": "pagaré",
        "kind_installment": "cuota",
    },
    "en": {
        "optout_email": "If you do not want to receive collection messages by email:",
        "optout_link": "unsubscribe",
        "reference": "Payment reference",
        "sent_by": "A message from {creditor} about your account.",
        "page": "Page",
        "of": "of",
        "to_person": "",
        "to_company": "",
        "tax_id": "Tax ID",
        "subject": "Re",
        "col_document": "Document",
        "col_due": "Due date",
        "col_dpd": "Days overdue",
        "col_balance": "Balance",
        "due": "due",
        "kind_invoice": "invoice",
        "kind_debit_note": "debit note",
        "kind_credit_note": "credit note",
        "kind_promissory_note": "promissory note",
        "kind_installment": "installment",
    },
}

_PARTS = {
    "email": ("subject", "text", "html"),
    "sms": ("text",),
    "whatsapp": ("template", "params", "text"),
    "letter": ("subject", "text", "html"),
}


@dataclass(frozen=True)
class DefaultTemplate:
    code: str
    channel: str
    language: str
    name: str
    subject: str = ""
    body_text: str = ""
    body_html: str = ""
    whatsapp_template: str = ""
    whatsapp_params: list[str] = field(default_factory=list)

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "subject": self.subject,
            "body_text": self.body_text,
            "body_html": self.body_html,
            "whatsapp_template": self.whatsapp_template,
            "whatsapp_params": list(self.whatsapp_params),
        }


def _sections(path: Path) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("=== "):
            key = line[4:].strip()
            channel, _dot, part = key.partition(".")
            if part not in _PARTS.get(channel, ()):
                raise ValueError(f"{path.name}: unknown section '{key}'")
            if key in sections:
                raise ValueError(f"{path.name}: section '{key}' appears twice")
            current = sections[key] = []
        elif current is not None:
            current.append(line)
    return {key: "\n".join(lines).strip() for key, lines in sections.items()}


@cache
def default_templates() -> tuple[DefaultTemplate, ...]:
    """Every shipped template, read from `default_templates/`."""
    found: list[DefaultTemplate] = []
    for path in sorted(DEFAULTS_DIR.glob("*/*.txt")):
        language, code = path.parent.name, path.stem
        sections = _sections(path)
        for channel in _PARTS:
            if not any(key.startswith(channel + ".") for key in sections):
                continue
            name = CODE_NAMES.get(code, {}).get(language, code)
            found.append(
                DefaultTemplate(
                    code=code,
                    channel=channel,
                    language=language,
                    name=f"{name} ({channel})",
                    subject=sections.get(f"{channel}.subject", ""),
                    body_text=sections.get(f"{channel}.text", ""),
                    body_html=sections.get(f"{channel}.html", ""),
                    whatsapp_template=sections.get(f"{channel}.template", ""),
                    whatsapp_params=[
                        line.strip()
                        for line in sections.get(f"{channel}.params", "").splitlines()
                        if line.strip()
                    ],
                )
            )
    return tuple(found)


def templates_ensure(**kwargs: Any) -> int:
    """Create the missing default templates and refresh the unedited ones; returns the changes.

    Connected to `post_migrate`, so a fresh database (and every test database) has them.
    """
    using = kwargs.get("using", DEFAULT_DB_ALIAS)
    apps = kwargs.get("apps")
    if apps is not None:
        try:
            model: Any = apps.get_model("messaging", "Template")
        except LookupError:  # migrated back below the messaging tables
            return 0
    else:
        from cartera.messaging.models import Template

        model = Template
    existing = {
        (row.code, row.channel, row.language): row
        for row in model.objects.using(using).filter(creditor__isnull=True)
    }
    changed = 0
    moment = timezone.now()
    for spec in default_templates():
        values = spec.values()
        row = existing.get((spec.code, spec.channel, spec.language))
        if row is None:
            model.objects.using(using).create(
                creditor=None,
                code=spec.code,
                channel=spec.channel,
                language=spec.language,
                updated_at=moment,
                updated_by=SHIPPED_BY,
                **values,
            )
            changed += 1
        elif row.updated_by == SHIPPED_BY and any(
            getattr(row, name) != value for name, value in values.items()
        ):
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = moment
            row.save(using=using)
            changed += 1
    return changed
