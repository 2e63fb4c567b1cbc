"""Supervisor decisions on accounts that the daily run does not take by itself."""

from __future__ import annotations

import datetime

from django.db import transaction

from cartera.core.audit import Actor, audit_record
from cartera.portfolio.models import Document
from cartera.strategy.models import Account, Episode, Stage


class StageRefused(ValueError):
    """A stage change that is not allowed, with the reason for the user."""


@transaction.atomic
def account_stage_set(
    *, account: Account, stage: Stage, as_of: datetime.date, actor: Actor
) -> Account:
    """Move an account to a stage by a supervisor's decision: `juridica` (legal), `castigada`
    (written off) or `agencia` (handed to an agency), or any later stage.

    Stages only move forward within an episode. Writing an account off marks its open documents
    as written off for accounting without reducing what the debtor owes.
    """
    account = (
        Account.objects.select_for_update(of=("self",))
        .select_related("stage", "episode__stage")
        .get(pk=account.pk)
    )
    if stage.creditor_id != account.creditor_id:
        raise StageRefused("that stage belongs to another creditor")
    if account.episode is None:
        raise StageRefused("the account has nothing overdue: there is no episode to move")
    current = account.episode.stage
    if current is not None and stage.order <= current.order:
        raise StageRefused(
            f"stages only move forward within an episode ({current.name} → {stage.name})"
        )
    before = current.code if current else ""
    Episode.objects.filter(pk=account.episode.pk).update(stage=stage)
    account.stage = stage
    account.save(update_fields=["stage"])
    written_off = 0
    if stage.code == "castigada":
        written_off = Document.objects.filter(
            debtor_id=account.debtor_id, balance_minor__gt=0, written_off_on__isnull=True
        ).update(written_off_on=as_of)
    audit_record(
        actor=actor,
        action="account.stage",
        obj=account,
        creditor_id=account.creditor_id,
        changes={"stage": [before, stage.code], "written_off_documents": written_off},
    )
    return account
