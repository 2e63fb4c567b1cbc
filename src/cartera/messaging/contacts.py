"""Contacts people make or allow by hand: a collector's logged call, a supervisor's override.

A contact that already happened is always recorded, never refused: the gate is asked what it
would have said at that moment, and a refusal is kept on the activity (`rule_breach`) so that
supervisors see it. A message the gate refused may still go out when a supervisor writes why
(`gate_override`); the worker then sends it without asking the gate again.
"""

from __future__ import annotations

import datetime

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from cartera.core.audit import Actor, audit_record
from cartera.messaging.gate import gate_check
from cartera.messaging.models import GateOverride, Message, MessageStatus
from cartera.portfolio.models import CONTACT_ACTIVITY_KINDS, Activity, ActivityKind, Debtor
from cartera.portfolio.queries import creditors_visible_to

OVERRIDE_ROLES = ("supervisor", "admin")
"""The groups whose members may send a message the contact rules refused."""

OVERRIDABLE = (MessageStatus.BLOCKED, MessageStatus.SCHEDULED)
"""A message the gate refused waits in one of these, with the reason in `status_reason`."""

LOG_CLOCK_SKEW = datetime.timedelta(minutes=5)
"""A contact logged a little in the future is a clock difference, not a mistake."""


@transaction.atomic
def contact_log(
    *,
    debtor: Debtor,
    kind: str,
    at: datetime.datetime,
    actor: Actor,
    outcome: str = "",
    reached: bool | None = None,
    note: str = "",
    is_contact: bool = True,
) -> Activity:
    """Record a contact made by hand (a call, a visit…) on the account's history.

    It is always recorded; if the contact rules would have refused it at `at`, the refusal is
    stored in `rule_breach` and the activity shows as flagged. Notes and system entries are
    never contacts, whatever `is_contact` says.
    """
    if kind not in ActivityKind.values:
        raise ValueError(
            gettext("%(kind)s is not a kind of activity; use one of %(kinds)s")
            % {"kind": kind, "kinds": ", ".join(ActivityKind.values)}
        )
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(gettext("The moment of the contact needs a time zone"))
    if at > timezone.now() + LOG_CLOCK_SKEW:
        raise ValueError(gettext("A contact cannot be logged before it happens"))
    counts = is_contact and kind in CONTACT_ACTIVITY_KINDS
    breach = ""
    if counts:
        verdict = gate_check(debtor=debtor, channel=kind, at=at)
        if not verdict.allowed:
            breach = verdict.reason[:300]
    user = actor.user if actor.user is not None and actor.user.pk else None
    activity = Activity.objects.create(
        creditor_id=debtor.creditor_id,
        debtor=debtor,
        kind=kind,
        at=at,
        is_contact=counts,
        reached=reached,
        outcome=outcome[:40],
        note=note,
        user=user,
        rule_breach=breach,
    )
    audit_record(
        actor=actor,
        action="activity.log",
        obj=activity,
        creditor_id=debtor.creditor_id,
        changes={
            "kind": kind,
            "at": at,
            "outcome": outcome,
            "reached": reached,
            "rule_breach": breach,
        },
    )
    return activity


def may_override(user: User | None, creditor_id: int) -> bool:
    """Supervisors and admins of the creditor, and superusers, may override the gate."""
    if user is None or not user.is_active or not user.pk:
        return False
    if user.is_superuser:
        return True
    if not user.groups.filter(name__in=OVERRIDE_ROLES).exists():
        return False
    return creditors_visible_to(user).filter(pk=creditor_id).exists()


def gate_override(*, message: Message, justification: str, actor: Actor) -> GateOverride:
    """Send a message the contact rules refused, on a supervisor's written justification.

    The refusal it overrides is kept with the justification; the message goes back to the
    queue for now, and the worker sends it without asking the gate (it has an override).
    Raises PermissionDenied for anyone but a supervisor, an admin or a superuser, and
    ValueError for a blank justification or a message the gate did not hold back.
    """
    user = actor.user
    if not may_override(user, message.creditor_id):
        raise PermissionDenied(
            gettext("Only a supervisor or an admin of this creditor may override the contact rules")
        )
    assert user is not None
    text = (justification or "").strip()
    if not text:
        raise ValueError(gettext("Write why this message must go out despite the contact rules"))
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.status not in OVERRIDABLE or not locked.status_reason:
            raise ValueError(
                gettext(
                    "Only a message the contact rules held back can be overridden; this one is "
                    "%(status)s"
                )
                % {"status": locked.get_status_display()}
            )
        moment = timezone.now()
        override = GateOverride.objects.create(
            message=locked,
            refused_because=locked.status_reason[:400],
            justification=text,
            user=user,
            at=moment,
        )
        note = gettext("Sent despite the contact rules, by %(user)s: %(why)s") % {
            "user": actor.label,
            "why": text,
        }
        Message.objects.filter(pk=locked.pk).update(
            status=MessageStatus.QUEUED,
            status_reason=note[:400],
            next_attempt_at=moment,
            lease_until=None,
            leased_by="",
        )
        Activity.objects.create(
            creditor_id=locked.creditor_id,
            debtor_id=locked.debtor_id,
            kind=ActivityKind.SYSTEM,
            at=moment,
            is_contact=False,
            outcome="gate_override",
            note=gettext("%(note)s (refused because: %(reason)s)")
            % {"note": note, "reason": override.refused_because},
            user=user,
            message_id=locked.pk,
        )
        audit_record(
            actor=actor,
            action="message.gate_override",
            obj=locked,
            creditor_id=locked.creditor_id,
            changes={
                "status": [locked.status, MessageStatus.QUEUED.value],
                "refused_because": override.refused_because,
                "justification": text,
                "override": override.pk,
            },
        )
    message.refresh_from_db()
    return override
