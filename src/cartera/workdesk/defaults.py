"""The outcome codes every creditor starts with (Spanish, as collectors say them) and the
default "high balance" of each currency for the worklist."""

from __future__ import annotations

from cartera.workdesk.models import OutcomeCategory, OutcomeCode

# code, label, category, right-party contact
DEFAULT_OUTCOMES = [
    ("promesa", "Promesa de pago", OutcomeCategory.PROMISE, True),
    ("contactado", "Contactado, sin compromiso", OutcomeCategory.CONTACTED, True),
    ("volver_a_llamar", "Pide que lo llamen después", OutcomeCategory.CALLBACK, True),
    ("ya_pago", "Dice que ya pagó", OutcomeCategory.OTHER, True),
    ("se_niega", "Se niega a pagar", OutcomeCategory.REFUSAL, True),
    ("reclamo", "Reclama o disputa la deuda", OutcomeCategory.DISPUTE, True),
    ("tercero", "Atiende un tercero", OutcomeCategory.CONTACTED, False),
    ("mensaje", "Deja mensaje o buzón de voz", OutcomeCategory.LEFT_MESSAGE, False),
    ("no_contesta", "No contesta", OutcomeCategory.NO_ANSWER, False),
    ("ocupado", "Ocupado o apagado", OutcomeCategory.NO_ANSWER, False),
    ("numero_errado", "Número equivocado", OutcomeCategory.WRONG_NUMBER, False),
]

# An overdue balance from which an account is "high balance" when the creditor set none:
# roughly the same money in each currency (about 1,200 USD).
DEFAULT_HIGH_BALANCE = {
    "COP": 5_000_000,
    "MXN": 20_000,
    "USD": 1_200,
    "EUR": 1_100,
    "CLP": 1_100_000,
    "PEN": 4_500,
    "ARS": 1_200_000,
    "UYU": 48_000,
    "BOB": 8_300,
    "PYG": 9_000_000,
    "GTQ": 9_300,
    "CRC": 620_000,
    "DOP": 72_000,
    "HNL": 30_000,
    "NIO": 44_000,
    "PAB": 1_200,
    "VES": 45_000,
    "BRL": 6_500,
}
DEFAULT_HIGH_BALANCE_OTHER = 10_000


def outcome_defaults_ensure(using: str = "default") -> int:
    """Create the default outcome codes that are missing (an edited one is left alone)."""
    existing = set(
        OutcomeCode.objects.using(using)
        .filter(creditor__isnull=True)
        .values_list("code", flat=True)
    )
    missing = [
        OutcomeCode(
            code=code, label=label, category=category, right_party=right_party, order=order * 10
        )
        for order, (code, label, category, right_party) in enumerate(DEFAULT_OUTCOMES, start=1)
        if code not in existing
    ]
    OutcomeCode.objects.using(using).bulk_create(missing)
    return len(missing)
