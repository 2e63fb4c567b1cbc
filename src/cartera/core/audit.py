"""The audit trail: every service that writes calls `audit_record` inside its transaction."""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db import models

from cartera.core.models import ActorType, AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user, the system, an import batch, an API client or a debtor."""

    type: str
    label: str
    user: User | None = None
    remote_addr: str | None = None

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(type=ActorType.SYSTEM, label=label)

    @classmethod
    def for_user(cls, user: User | AnonymousUser | None, remote_addr: str | None = None) -> Actor:
        if user is None or not user.is_authenticated:
            return cls.system()
        return cls(
            type=ActorType.USER, label=user.get_username(), user=user, remote_addr=remote_addr
        )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime | decimal.Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose value differs."""
    return {
        key: [_plain(before.get(key)), _plain(value)]
        for key, value in after.items()
        if before.get(key) != value
    }


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    creditor_id: int | None = None,
) -> AuditEvent:
    user = actor.user if actor.user is not None and actor.user.pk else None
    event = AuditEvent(
        actor_type=actor.type,
        user=user,
        actor_label=actor.label[:150],
        action=action,
        changes={k: _plain(v) for k, v in (changes or {}).items()},
        remote_addr=actor.remote_addr,
        creditor_id=creditor_id,
    )
    if obj is not None:
        event.content_type = ContentType.objects.get_for_model(obj)
        event.object_id = str(obj.pk)
        event.object_repr = str(obj)[:200]
    event.save()
    return event
