"""Writes of the workdesk: each one transaction, with an audit event.

Promises, disputes, logged contacts and queued messages are written by their own apps'
services (negotiation, messaging); these add what the workdesk owns (callbacks, targets,
assignments, contact point edits) and the "log a contact" use case that ties them together.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cartera.core.audit import Actor, audit_record
from cartera.core.bulk import rows_update
from cartera.messaging.contacts import contact_log
from cartera.messaging.gate import Verdict, gate_check
from cartera.messaging.models import Message, Template
from cartera.messaging.services import message_queue
from cartera.negotiation.models import Channel as PromiseChannel
from cartera.negotiation.models import Promise
from cartera.negotiation.services import NegotiationError, promise_create
from cartera.portfolio.identity import InvalidPhone, normalize_phone
from cartera.portfolio.models import (
    Activity,
    ActivityKind,
    ContactKind,
    ContactPoint,
    Creditor,
    Debtor,
)
from cartera.strategy.models import Account, Action, ActionStatus, AssignmentRule, StepAction
from cartera.strategy.run import AccountFigures, Assigner
from cartera.workdesk.models import (
    AMOUNT_METRICS,
    Callback,
    OutcomeCategory,
    OutcomeCode,
    Target,
    TargetMetric,
)


class WorkdeskError(ValueError):
    """A request the workdesk refuses, with a message for the user."""


# Channels a collector logs by hand, and how a promise taken on each is recorded.
MANUAL_CHANNELS: dict[str, str] = {
    ActivityKind.CALL: PromiseChannel.CALL,
    ActivityKind.VISIT: PromiseChannel.VISIT,
    ActivityKind.WHATSAPP: PromiseChannel.WHATSAPP,
    ActivityKind.EMAIL: PromiseChannel.EMAIL,
    ActivityKind.SMS: PromiseChannel.SMS,
}
_TASK_KIND: dict[str, str] = {
    ActivityKind.CALL: StepAction.CALL,
    ActivityKind.VISIT: StepAction.VISIT,
}
CALLBACK_HORIZON = datetime.timedelta(days=366)


def _end_of_day(moment: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(moment)
    return local.replace(hour=23, minute=59, second=59, microsecond=999999)


@dataclass
class ContactResult:
    activity: Activity
    promise: Promise | None = None
    callback: Callback | None = None
    tasks_done: list[int] = field(default_factory=list)
    callbacks_done: list[int] = field(default_factory=list)
    marked_invalid: ContactPoint | None = None


@transaction.atomic
def contact_record(
    *,
    debtor: Debtor,
    channel: str,
    outcome: OutcomeCode,
    at: datetime.datetime,
    as_of: datetime.date,
    actor: Actor,
    right_party: bool = False,
    note: str = "",
    contact_point: ContactPoint | None = None,
    promise_amount: Decimal | None = None,
    promise_date: datetime.date | None = None,
    callback_at: datetime.datetime | None = None,
) -> ContactResult:
    """Log a contact a collector made (a call, a visit…) with its outcome, and what follows
    from it, all or nothing:

    - the activity on the account's history, through messaging's `contact_log`, which flags it
      when it broke a contact rule (it is recorded anyway: it already happened);
    - the open call (or visit) tasks of the strategy on the account are done, and so are the
      callbacks due today;
    - an outcome "promise" records the promise (`promise_create`); "callback" schedules one;
      "wrong number" marks the phone used as not valid.

    Right-party contact is what the collector says, except that an outcome in which nobody was
    spoken to never is one, and an outcome that is one by definition (a promise) always is.
    """
    if channel not in MANUAL_CHANNELS:
        raise WorkdeskError(
            _("Choose how the contact was made: %(channels)s")
            % {"channels": ", ".join(str(ActivityKind(c).label) for c in MANUAL_CHANNELS)}
        )
    if outcome.creditor_id not in (None, debtor.creditor_id) or not outcome.active:
        raise WorkdeskError(_("That outcome code is not offered for this creditor"))
    if contact_point is not None and contact_point.debtor_id != debtor.pk:
        raise WorkdeskError(_("That contact point belongs to another debtor"))
    is_promise = outcome.category == OutcomeCategory.PROMISE
    if is_promise and (promise_amount is None or promise_date is None):
        raise WorkdeskError(_("A promise to pay needs the amount and the date"))
    if not is_promise and (promise_amount is not None or promise_date is not None):
        raise WorkdeskError(_("Choose a promise outcome to record a promise to pay"))
    if outcome.category == OutcomeCategory.CALLBACK and callback_at is None:
        raise WorkdeskError(_("Say when to call back"))
    reached = outcome.reached_someone and (right_party or outcome.right_party)
    try:
        activity = contact_log(
            debtor=debtor,
            kind=channel,
            at=at,
            actor=actor,
            outcome=outcome.code,
            reached=reached,
            note=note.strip(),
        )
    except ValueError as exc:
        raise WorkdeskError(str(exc)) from exc
    result = ContactResult(activity=activity)
    task_kind = _TASK_KIND.get(channel)
    if task_kind is not None:
        tasks = Action.objects.filter(debtor=debtor, status=ActionStatus.OPEN, kind=task_kind)
        result.tasks_done = list(tasks.values_list("pk", flat=True))
        Action.objects.filter(pk__in=result.tasks_done).update(status=ActionStatus.DONE)
    due = Callback.objects.filter(debtor=debtor, done_at__isnull=True, due_at__lte=_end_of_day(at))
    result.callbacks_done = list(due.values_list("pk", flat=True))
    Callback.objects.filter(pk__in=result.callbacks_done).update(
        done_at=timezone.now(), done_by=actor.label[:150]
    )
    if (
        outcome.category == OutcomeCategory.WRONG_NUMBER
        and contact_point is not None
        and contact_point.valid
    ):
        result.marked_invalid = contact_point_correct(
            contact_point=contact_point,
            actor=actor,
            valid=False,
            reason=_("wrong number, logged on a contact"),
        )
    if is_promise:
        assert promise_amount is not None and promise_date is not None
        try:
            result.promise = promise_create(
                creditor=debtor.creditor,
                debtor=debtor,
                amount=promise_amount,
                promised_date=promise_date,
                as_of=as_of,
                actor=actor,
                channel=MANUAL_CHANNELS[channel],
                note=note.strip(),
            )
        except NegotiationError as exc:
            raise WorkdeskError(str(exc)) from exc
    if callback_at is not None:
        result.callback = callback_schedule(
            debtor=debtor, due_at=callback_at, actor=actor, note=note.strip()[:400]
        )
    audit_record(
        actor=actor,
        action="contact.record",
        obj=activity,
        creditor_id=debtor.creditor_id,
        changes={
            "debtor": debtor.pk,
            "channel": channel,
            "outcome": outcome.code,
            "reached": reached,
            "tasks_done": result.tasks_done,
            "callbacks_done": result.callbacks_done,
            "promise": result.promise.pk if result.promise else None,
            "callback": result.callback.pk if result.callback else None,
            "rule_breach": activity.rule_breach,
        },
    )
    return result


@transaction.atomic
def callback_schedule(
    *,
    debtor: Debtor,
    due_at: datetime.datetime,
    actor: Actor,
    note: str = "",
    user: User | None = None,
) -> Callback:
    """Schedule a call back on the account, for `user` (default: whoever schedules it)."""
    if timezone.is_naive(due_at):
        raise WorkdeskError(_("The time of the callback needs a time zone"))
    now = timezone.now()
    if due_at < now - datetime.timedelta(minutes=5):
        raise WorkdeskError(_("A callback cannot be scheduled in the past"))
    if due_at > now + CALLBACK_HORIZON:
        raise WorkdeskError(_("A callback more than a year ahead is not a callback"))
    owner = user or (actor.user if actor.user is not None and actor.user.pk else None)
    callback = Callback.objects.create(
        creditor_id=debtor.creditor_id,
        debtor=debtor,
        user=owner,
        due_at=due_at,
        note=note[:400],
        created_by=actor.label[:150],
    )
    audit_record(
        actor=actor,
        action="callback.schedule",
        obj=callback,
        creditor_id=debtor.creditor_id,
        changes={"debtor": debtor.pk, "due_at": due_at, "for": owner.pk if owner else None},
    )
    return callback


@transaction.atomic
def callback_done(*, callback: Callback, actor: Actor) -> Callback:
    """Mark a callback as made (or no longer needed)."""
    locked = Callback.objects.select_for_update().get(pk=callback.pk)
    if locked.done_at is not None:
        raise WorkdeskError(_("This callback was already done"))
    locked.done_at = timezone.now()
    locked.done_by = actor.label[:150]
    locked.save(update_fields=["done_at", "done_by"])
    audit_record(actor=actor, action="callback.done", obj=locked, creditor_id=locked.creditor_id)
    return locked


# -- contact points ----------------------------------------------------------------------------

PHONE_KINDS = (ContactKind.MOBILE, ContactKind.LANDLINE, ContactKind.PHONE, ContactKind.WHATSAPP)
CONSENTS = ("consent_call", "consent_sms", "consent_whatsapp", "consent_email", "consent_letter")


def _contact_value(kind: str, raw: str, country: str) -> tuple[str, str]:
    """(value as stored, kind) of what a person typed, or WorkdeskError saying what is wrong."""
    text = (raw or "").strip()
    if kind not in ContactKind.values:
        raise WorkdeskError(_("Unknown kind of contact point"))
    if not text:
        raise WorkdeskError(_("Write the phone, email or address"))
    if kind in PHONE_KINDS:
        try:
            e164, guessed = normalize_phone(text, country)
        except InvalidPhone as exc:
            raise WorkdeskError(_("Not a valid phone number: %(why)s") % {"why": exc}) from exc
        if kind == ContactKind.PHONE and guessed in ("mobile", "landline"):
            kind = guessed
        return e164, kind
    if kind == ContactKind.EMAIL:
        address = text.lower()
        try:
            validate_email(address)
        except ValidationError as exc:
            raise WorkdeskError(
                _("Not a valid email address: %(value)s") % {"value": text}
            ) from exc
        return address, kind
    return " ".join(text.split())[:300], kind


@transaction.atomic
def contact_point_add(
    *,
    debtor: Debtor,
    kind: str,
    value: str,
    actor: Actor,
    consents: dict[str, bool | None] | None = None,
    is_primary: bool = False,
    source: str = "workdesk",
) -> ContactPoint:
    """Add a phone, email or address to a debtor, normalized as the importers do (E.164
    phones, lower-case emails); a duplicate is refused."""
    stored, kind = _contact_value(kind, value, debtor.country)
    if ContactPoint.objects.filter(debtor=debtor, kind=kind, value=stored).exists():
        raise WorkdeskError(
            _("%(value)s is already a contact point of this debtor") % {"value": stored}
        )
    consents = {k: v for k, v in (consents or {}).items() if k in CONSENTS}
    point = ContactPoint.objects.create(
        debtor=debtor,
        kind=kind,
        value=stored,
        label=value.strip()[:300],
        is_primary=is_primary,
        source=source[:60],
        **consents,
    )
    audit_record(
        actor=actor,
        action="contact_point.add",
        obj=point,
        creditor_id=debtor.creditor_id,
        changes={"debtor": debtor.pk, "kind": kind, "value": stored, **consents},
    )
    return point


_UNSET: Any = object()


@transaction.atomic
def contact_point_correct(
    *,
    contact_point: ContactPoint,
    actor: Actor,
    reason: str = "",
    value: str | None = None,
    valid: bool | None = None,
    do_not_contact: bool | None = None,
    consents: dict[str, bool | None] | None = None,
) -> ContactPoint:
    """Correct a contact point: its value, validity, do-not-contact mark or consents. Only what
    is given changes; the audit event keeps every before and after, with the reason."""
    point = (
        ContactPoint.objects.select_for_update().select_related("debtor").get(pk=contact_point.pk)
    )
    changes: dict[str, list[Any]] = {}

    def change(name: str, new: Any) -> None:
        old = getattr(point, name)
        if old != new:
            changes[name] = [old, new]
            setattr(point, name, new)

    if value is not None:
        stored, _kind = _contact_value(point.kind, value, point.debtor.country)
        if (
            stored != point.value
            and ContactPoint.objects.filter(
                debtor_id=point.debtor_id, kind=point.kind, value=stored
            )
            .exclude(pk=point.pk)
            .exists()
        ):
            raise WorkdeskError(
                _("%(value)s is already a contact point of this debtor") % {"value": stored}
            )
        change("value", stored)
    if valid is not None:
        change("valid", valid)
    if do_not_contact is not None:
        change("do_not_contact", do_not_contact)
    for name, consent in (consents or {}).items():
        if name in CONSENTS:
            change(name, consent)
    if not changes:
        return point
    point.save(update_fields=list(changes))
    audit_record(
        actor=actor,
        action="contact_point.correct",
        obj=point,
        creditor_id=point.debtor.creditor_id,
        changes={**changes, "reason": reason[:200]},
    )
    return point


# -- messages ----------------------------------------------------------------------------------


class MessageRefused(WorkdeskError):
    """The compliance gate would not let the message out now; `verdict` says why and when."""

    def __init__(self, verdict: Verdict):
        super().__init__(verdict.reason)
        self.verdict = verdict


@transaction.atomic
def message_send(
    *, debtor: Debtor, template: Template, actor: Actor, nonce: str, at: datetime.datetime
) -> Message:
    """Put a message from a template in the outbox now, for the worker to send.

    The compliance gate is asked first so that a refusal is explained to the collector at once
    (`MessageRefused`); the worker asks it again just before sending. `nonce` comes from the
    form the collector saw, so a double submit queues one message.
    """
    if template.creditor_id not in (None, debtor.creditor_id) or not template.active:
        raise WorkdeskError(_("That template is not available for this creditor"))
    if not nonce or len(nonce) > 64:
        raise WorkdeskError(_("The form expired: preview the message again"))
    verdict = gate_check(debtor=debtor, channel=template.channel, at=at)
    if not verdict.allowed:
        raise MessageRefused(verdict)
    return message_queue(
        debtor=debtor,
        channel=template.channel,
        template_code=template.code,
        actor=actor,
        key=f"manual:{debtor.pk}:{template.code}:{template.channel}:{nonce}",
        origin="manual",
        reason=_("sent by hand from the workdesk by %(user)s") % {"user": actor.label},
    )


# -- assignment --------------------------------------------------------------------------------


def _check_holder(creditor: Creditor, user: User | None) -> None:
    if user is None:
        return
    allowed = (
        user.is_active
        and user.memberships.filter(creditor=creditor).exists()
        and user.groups.filter(name__in=("collector", "supervisor")).exists()
    )
    if not allowed:
        raise WorkdeskError(
            _("%(user)s is not a collector of %(creditor)s")
            % {"user": user.get_username(), "creditor": creditor.name}
        )


def _move_tasks(debtor_to_user: dict[int, int | None]) -> None:
    """Open call and visit tasks follow their account to its new collector (one UPDATE per
    collector, so a handful whatever the number of accounts)."""
    by_user: dict[int | None, list[int]] = defaultdict(list)
    for debtor_id, user_id in debtor_to_user.items():
        by_user[user_id].append(debtor_id)
    for user_id, debtor_ids in by_user.items():
        for start in range(0, len(debtor_ids), 5000):
            Action.objects.filter(
                debtor_id__in=debtor_ids[start : start + 5000],
                status=ActionStatus.OPEN,
                kind__in=(StepAction.CALL, StepAction.VISIT),
            ).update(assigned_to_id=user_id)


@transaction.atomic
def accounts_reassign(
    *,
    creditor: Creditor,
    account_ids: Sequence[int],
    to_user: User | None,
    actor: Actor,
) -> int:
    """Give accounts to a collector by hand (None: nobody, and the assignment rules take them
    again). A hand assignment is kept by the daily run until released. Their open call and
    visit tasks move with them. Returns how many accounts changed hands."""
    _check_holder(creditor, to_user)
    target = to_user.pk if to_user is not None else None
    rows = list(
        Account.objects.select_for_update()
        .filter(creditor=creditor, pk__in=list(account_ids))
        .values_list("pk", "debtor_id", "collector_id")
    )
    if len(rows) != len(set(account_ids)):
        raise WorkdeskError(
            _("Some of those accounts are not accounts of %(creditor)s")
            % {"creditor": creditor.name}
        )
    moving = [(pk, debtor_id, before) for pk, debtor_id, before in rows if before != target]
    rows_update(
        Account,
        ["collector_id", "collector_pinned"],
        [(pk, target, target is not None) for pk, _debtor, _before in moving],
    )
    _move_tasks({debtor_id: target for _pk, debtor_id, _before in moving})
    if moving:
        single = moving[0][0] if len(moving) == 1 else None
        audit_record(
            actor=actor,
            action="account.reassign",
            obj=Account.objects.get(pk=single) if single else None,
            creditor_id=creditor.pk,
            changes={
                "to": to_user.get_username() if to_user else None,
                "count": len(moving),
                "from": dict(Counter(str(before) for _pk, _d, before in moving)),
                "accounts": [pk for pk, _d, _b in moving[:2000]],
            },
        )
    return len(moving)


@dataclass
class RebalanceReport:
    assigned: int = 0
    evened: int = 0
    loads: dict[int, int] = field(default_factory=dict)


@transaction.atomic
def accounts_rebalance(
    *, creditor: Creditor, actor: Actor, even_out: bool = False
) -> RebalanceReport:
    """Run the assignment rules now, as the daily run does: overdue accounts without a
    collector, or whose collector is not in their rule's team, go to the team member with the
    lightest load. With `even_out`, accounts (not assigned by hand) also move between the
    members of each rule's team until their loads differ by at most one account (or, for a
    rule balanced by overdue amount, until no move would narrow the gap)."""
    accounts = list(
        Account.objects.select_for_update(of=("self",))
        .filter(creditor=creditor, overdue=True)
        .select_related("debtor")
        .only(
            "pk",
            "debtor_id",
            "collector_id",
            "collector_pinned",
            "segment_id",
            "stage_id",
            "overdue_minor",
            "overdue",
            "debtor__country",
            "debtor__region",
        )
        .order_by("pk")
    )
    before = {a.pk: a.collector_id for a in accounts}
    assigner = Assigner(creditor, accounts)
    figures = {
        a.pk: AccountFigures(
            debtor_id=a.debtor_id,
            total=0,
            overdue=a.overdue_minor,
            oldest_overdue=None,
            oldest_workable=None,
            kind="",
            country=a.debtor.country,
            tags=[],
            name="",
            region=a.debtor.region,
        )
        for a in accounts
    }
    for account in accounts:
        assigner.assign(account, figures[account.pk])
    report = RebalanceReport()
    report.assigned = sum(1 for a in accounts if a.collector_id != before[a.pk])
    if even_out:
        report.evened = _even_out(assigner, accounts, figures)
    changed = [a for a in accounts if a.collector_id != before[a.pk]]
    rows_update(Account, ["collector_id"], [(a.pk, a.collector_id) for a in changed])
    _move_tasks({a.debtor_id: a.collector_id for a in changed})
    report.loads = dict(Counter(a.collector_id for a in accounts if a.collector_id))
    audit_record(
        actor=actor,
        action="accounts.rebalance",
        creditor_id=creditor.pk,
        changes={
            "assigned": report.assigned,
            "evened": report.evened,
            "even_out": even_out,
            "moved": len(changed),
        },
    )
    return report


def _overdue_weight(account: Account) -> int:
    return account.overdue_minor


def _count_weight(account: Account) -> int:
    return 1


def _even_out(
    assigner: Assigner, accounts: list[Account], figures: dict[int, AccountFigures]
) -> int:
    """Move unpinned accounts from the busiest to the idlest member of each rule's team."""
    moves = 0
    rules: list[AssignmentRule] = assigner.rules
    for rule in rules:
        team = assigner.team[rule.pk]
        if len(team) < 2:
            continue
        members = set(team)
        # Each account counts for the first rule it matches, as the assigner decides.
        mine = [
            a
            for a in accounts
            if a.collector_id in members
            and next((r for r in rules if Assigner._matches(r, a, figures[a.pk])), None) is rule
        ]
        by_overdue = rule.balance_by == "overdue"
        weight = _overdue_weight if by_overdue else _count_weight
        load = {user: 0 for user in team}
        movable: dict[int, list[Account]] = {user: [] for user in team}
        for account in mine:
            assert account.collector_id is not None
            load[account.collector_id] += weight(account)
            if not account.collector_pinned:
                movable[account.collector_id].append(account)
        for user in team:
            # Smallest first: they narrow the gap without overshooting it.
            movable[user].sort(key=lambda a: (weight(a), a.pk), reverse=True)
        while True:
            heavy = max(team, key=lambda u: (load[u], u))
            light = min(team, key=lambda u: (load[u], u))
            gap = load[heavy] - load[light]
            if not movable[heavy]:
                break
            candidate = movable[heavy][-1]
            w = weight(candidate)
            if w <= 0 or w >= gap:
                break
            movable[heavy].pop()
            candidate.collector_id = light
            load[heavy] -= w
            load[light] += w
            moves += 1
    return moves


# -- targets -----------------------------------------------------------------------------------


@transaction.atomic
def target_set(
    *,
    creditor: Creditor,
    user: User | None,
    metric: str,
    month: datetime.date,
    value: int | None,
    actor: Actor,
) -> Target | None:
    """Set (or with None, remove) a month's target for a collector or, without a user, for the
    whole team. Amounts are in the creditor's currency's minor units, rates in percent."""
    if metric not in TargetMetric.values:
        raise WorkdeskError(_("Unknown metric %(metric)s") % {"metric": metric})
    if value is not None and value < 0:
        raise WorkdeskError(_("A target cannot be negative"))
    if metric == TargetMetric.KEPT_RATE and value is not None and value > 100:
        raise WorkdeskError(_("A rate is at most 100%"))
    if user is not None:
        _check_holder(creditor, user)
    month = month.replace(day=1)
    existing = (
        Target.objects.select_for_update()
        .filter(creditor=creditor, metric=metric, month=month)
        .filter(Q(user=user) if user is not None else Q(user__isnull=True))
        .first()
    )
    before = existing.value if existing else None
    if value == before:
        return existing
    if value is None:
        assert existing is not None
        existing.delete()
        target = None
    elif existing is None:
        target = Target.objects.create(
            creditor=creditor,
            user=user,
            metric=metric,
            month=month,
            value=value,
            updated_by=actor.label[:150],
        )
    else:
        existing.value = value
        existing.updated_by = actor.label[:150]
        existing.updated_at = timezone.now()
        existing.save(update_fields=["value", "updated_by", "updated_at"])
        target = existing
    audit_record(
        actor=actor,
        action="target.set",
        obj=target,
        creditor_id=creditor.pk,
        changes={
            "user": user.get_username() if user else None,
            "metric": metric,
            "month": month,
            "value": [before, value],
            "unit": "minor" if metric in AMOUNT_METRICS else "count",
        },
    )
    return target
