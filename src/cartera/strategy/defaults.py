"""The stages, segment and strategy a new creditor starts with (Spanish, as users know them).

The step codes are a contract: tests, templates and users refer to them.
"""

from __future__ import annotations

from django.db import transaction

from cartera.core.audit import Actor, audit_record
from cartera.messaging.models import Channel
from cartera.portfolio.models import Creditor
from cartera.strategy.models import Segment, Stage, Step, StepAction, Strategy

# code, name, min dpd (None: never entered by days alone), needs a supervisor's confirmation
DEFAULT_STAGES = [
    ("preventiva", "Preventiva", None, False),
    ("administrativa", "Administrativa", 1, False),
    ("prejuridica", "Prejurídica", 31, False),
    ("juridica", "Jurídica", 91, True),
    ("castigada", "Castigada", None, True),
    ("agencia", "Agencia externa", None, True),
]

# code, day offset, action, channels, template
DEFAULT_STEPS = [
    ("recordatorio_previo", -5, StepAction.MESSAGE, [Channel.EMAIL], "recordatorio_previo"),
    ("recordatorio_vencimiento", 0, StepAction.MESSAGE, [Channel.SMS], "recordatorio_vencimiento"),
    ("aviso_1", 3, StepAction.MESSAGE, [Channel.EMAIL], "aviso_1"),
    ("llamada_1", 7, StepAction.CALL, [], ""),
    ("aviso_2", 15, StepAction.MESSAGE, [Channel.EMAIL], "aviso_2"),
    ("llamada_2", 20, StepAction.CALL, [], ""),
    ("aviso_final", 30, StepAction.MESSAGE, [Channel.LETTER], "aviso_final"),
    ("carta_prejuridica", 45, StepAction.MESSAGE, [Channel.LETTER], "carta_prejuridica"),
    ("revision_juridica", 60, StepAction.LEGAL_REVIEW, [], ""),
]


@transaction.atomic
def strategy_defaults_ensure(*, creditor: Creditor, actor: Actor) -> Strategy:
    """Give the creditor the default stages, the catch-all segment and the default strategy,
    unless it already has a strategy. Returns the active default strategy."""
    existing = Strategy.objects.filter(creditor=creditor, code="estandar", active=True).first()
    if existing is not None:
        return existing
    for order, (code, name, min_dpd, confirm) in enumerate(DEFAULT_STAGES, start=1):
        Stage.objects.get_or_create(
            creditor=creditor,
            code=code,
            defaults={
                "name": name,
                "order": order,
                "min_dpd": min_dpd,
                "requires_confirmation": confirm,
            },
        )
    Segment.objects.get_or_create(
        creditor=creditor, code="general", defaults={"name": "General", "order": 100}
    )
    strategy = Strategy.objects.create(
        creditor=creditor, code="estandar", name="Estrategia estándar", created_by=actor.label
    )
    Step.objects.bulk_create(
        Step(
            strategy=strategy,
            code=code,
            day_offset=offset,
            action=action,
            channels=[str(c) for c in channels],
            template_code=template,
        )
        for code, offset, action, channels, template in DEFAULT_STEPS
    )
    audit_record(
        actor=actor,
        action="strategy.defaults",
        obj=strategy,
        creditor_id=creditor.pk,
        changes={"steps": [code for code, *_ in DEFAULT_STEPS]},
    )
    return strategy


@transaction.atomic
def strategy_revise(
    *, strategy: Strategy, actor: Actor, steps: list[dict[str, object]] | None = None
) -> Strategy:
    """A new version of a strategy: the old one stays (runs and actions point at it) but is
    no longer active. `steps` replaces the steps (dicts of Step fields); None copies them."""
    current = Strategy.objects.select_for_update().get(pk=strategy.pk)
    if not current.active:
        raise ValueError(f"{current} is not the active version")
    Strategy.objects.filter(pk=current.pk).update(active=False)
    revised = Strategy.objects.create(
        creditor=current.creditor,
        segment=current.segment,
        code=current.code,
        name=current.name,
        version=current.version + 1,
        created_by=actor.label,
    )
    if steps is None:
        steps = [
            {
                "code": s.code,
                "day_offset": s.day_offset,
                "action": s.action,
                "channels": s.channels,
                "template_code": s.template_code,
                "target_stage": s.target_stage,
                "min_balance_minor": s.min_balance_minor,
            }
            for s in current.steps.all()
        ]
    Step.objects.bulk_create(Step(strategy=revised, **fields) for fields in steps)  # type: ignore[misc]
    audit_record(
        actor=actor,
        action="strategy.revise",
        obj=revised,
        creditor_id=current.creditor_id,
        changes={"from_version": current.version, "steps": [str(f["code"]) for f in steps]},
    )
    return revised
