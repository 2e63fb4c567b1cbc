"""Writes on promises and disputes: each service is one transaction and leaves an audit event.

Every service takes the as-of date explicitly (DESIGN.md §3): `created_on`, `decided_on`,
`opened_on` and `resolved_on` are that date, never the clock's.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Exists,
    Expression,
    F,
    Func,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from cartera.core.audit import Actor, audit_record
from cartera.core.money import from_minor, to_minor
from cartera.negotiation.models import (
    Channel,
    Dispute,
    DisputeCategory,
    DisputeDocument,
    DisputeResolution,
    DisputeStatus,
    Promise,
    PromisePlan,
    PromiseStatus,
    dispute_sla_days,
    promise_grace_days,
)
from cartera.negotiation.queries import disputed_document_ids
from cartera.portfolio.models import Allocation, Creditor, Debtor, Document, LedgerEntry


class NegotiationError(ValueError):
    """A request about promises or disputes that is refused, with a message for the user."""


# -- helpers ---------------------------------------------------------------------------------


def _user_of(actor: Actor) -> User | None:
    return actor.user if actor.user is not None and actor.user.pk else None


def _debtor_locked(creditor: Creditor, debtor: Debtor) -> Debtor:
    """The debtor's row, locked: promises and disputes of one debtor are taken one at a time,
    so two collectors cannot both promise on, or dispute, the same document."""
    locked = Debtor.objects.select_for_update().filter(pk=debtor.pk, creditor=creditor).first()
    if locked is None:
        raise NegotiationError(
            _("%(debtor)s is not a debtor of %(creditor)s")
            % {"debtor": debtor.name, "creditor": creditor.name}
        )
    return locked


def _documents_of(debtor: Debtor, documents: Iterable[Document]) -> list[Document]:
    """Fresh rows of the given documents, refused unless every one is the debtor's."""
    wanted = {document.pk: document for document in documents}
    found = {
        document.pk: document
        for document in Document.objects.filter(pk__in=list(wanted), debtor=debtor)
    }
    foreign = [wanted[pk].number for pk in wanted if pk not in found]
    if foreign:
        raise NegotiationError(
            _("%(documents)s: not a document of %(debtor)s")
            % {"documents": ", ".join(sorted(foreign)), "debtor": debtor.name}
        )
    return sorted(found.values(), key=lambda d: (d.due_date, d.pk))


def _numbers(documents: Iterable[Document]) -> list[str]:
    return [document.number for document in documents]


@dataclass(frozen=True)
class _Scope:
    """What a promise covers: its documents (empty: the whole account), currency, open amount."""

    documents: list[Document]
    currency: str
    open_minor: int


def _promise_scope(creditor: Creditor, debtor: Debtor, documents: Sequence[Document]) -> _Scope:
    disputed = disputed_document_ids(creditor)
    if documents:
        chosen = _documents_of(debtor, documents)
        closed = [d.number for d in chosen if d.balance_minor <= 0]
        if closed:
            raise NegotiationError(
                _("%(documents)s: nothing is owed on it") % {"documents": ", ".join(closed)}
            )
        in_dispute = set(disputed.filter(document_id__in=[d.pk for d in chosen]))
        if in_dispute:
            raise NegotiationError(
                _("%(documents)s: in an open dispute; resolve it before taking a promise")
                % {"documents": ", ".join(d.number for d in chosen if d.pk in in_dispute)}
            )
        currencies = {d.currency for d in chosen}
        if len(currencies) > 1:
            raise NegotiationError(
                _(
                    "the documents are in different currencies (%(currencies)s): take one "
                    "promise per currency"
                )
                % {"currencies": ", ".join(sorted(currencies))}
            )
        return _Scope(chosen, currencies.pop(), sum(d.balance_minor for d in chosen))
    # The whole account: what is open and undisputed, in the documents' currency when they
    # share one, else in the creditor's.
    balances = list(
        Document.objects.filter(debtor=debtor, balance_minor__gt=0)
        .exclude(pk__in=disputed)
        .values_list("currency", "balance_minor")
    )
    currencies = {currency for currency, _balance in balances}
    currency = currencies.pop() if len(currencies) == 1 else creditor.currency
    open_minor = sum(balance for c, balance in balances if c == currency)
    if open_minor <= 0:
        raise NegotiationError(
            _("%(debtor)s owes nothing undisputed in %(currency)s")
            % {"debtor": debtor.name, "currency": currency}
        )
    return _Scope([], currency, open_minor)


def _amount_minor(amount: Decimal, currency: str) -> int:
    if not isinstance(amount, Decimal):
        raise NegotiationError(_("the amount must be a decimal number"))
    if not amount.is_finite() or amount <= 0:
        raise NegotiationError(_("the amount must be more than zero"))
    minor = to_minor(amount, currency)
    if from_minor(minor, currency) != amount:
        raise NegotiationError(
            _("%(amount)s has more decimals than %(currency)s allows")
            % {"amount": amount, "currency": currency}
        )
    return minor


def _check_open(total_minor: int, scope: _Scope) -> None:
    if total_minor > scope.open_minor:
        raise NegotiationError(
            _("%(amount)s %(currency)s is more than the %(open)s %(currency)s open")
            % {
                "amount": from_minor(total_minor, scope.currency),
                "open": from_minor(scope.open_minor, scope.currency),
                "currency": scope.currency,
            }
        )


def _check_channel(channel: str) -> None:
    if channel not in Channel.values:
        raise NegotiationError(
            _("unknown channel '%(channel)s' (use %(known)s)")
            % {"channel": channel, "known": ", ".join(Channel.values)}
        )


def _grace(grace_days: int | None) -> int:
    grace = promise_grace_days() if grace_days is None else grace_days
    if grace < 0:
        raise NegotiationError(_("grace days cannot be negative"))
    return grace


def _cancel_overlapping(
    *, creditor: Creditor, debtor: Debtor, scope: _Scope, as_of: datetime.date, actor: Actor
) -> list[int]:
    """Cancel the debtor's pending promises that cover any of the same documents (a promise
    on the whole account covers them all), so that one payment never keeps two promises."""
    pending = Promise.objects.filter(creditor=creditor, debtor=debtor, status=PromiseStatus.PENDING)
    if scope.documents:
        pending = pending.filter(
            Q(documents__in=[d.pk for d in scope.documents]) | Q(documents__isnull=True)
        )
    cancelled = sorted(set(pending.values_list("pk", flat=True)))
    if not cancelled:
        return []
    Promise.objects.filter(pk__in=cancelled).update(
        status=PromiseStatus.CANCELLED, decided_on=as_of
    )
    for promise in Promise.objects.filter(pk__in=cancelled):
        audit_record(
            actor=actor,
            action="promise.cancel",
            obj=promise,
            creditor_id=creditor.pk,
            changes={"status": [PromiseStatus.PENDING, PromiseStatus.CANCELLED], "as_of": as_of},
        )
    return cancelled


def _promise_new(
    *,
    creditor: Creditor,
    debtor: Debtor,
    plan: PromisePlan | None,
    scope: _Scope,
    amount_minor: int,
    promised_date: datetime.date,
    grace_days: int,
    as_of: datetime.date,
    actor: Actor,
    channel: str,
    note: str,
) -> Promise:
    promise = Promise.objects.create(
        creditor=creditor,
        debtor=debtor,
        plan=plan,
        currency=scope.currency,
        amount_minor=amount_minor,
        promised_date=promised_date,
        grace_days=grace_days,
        taken_by=_user_of(actor),
        channel=channel,
        note=note,
        created_on=as_of,
    )
    if scope.documents:
        promise.documents.set(scope.documents)
    return promise


# -- promises --------------------------------------------------------------------------------


@transaction.atomic
def promise_create(
    *,
    creditor: Creditor,
    debtor: Debtor,
    amount: Decimal,
    promised_date: datetime.date,
    as_of: datetime.date,
    actor: Actor,
    documents: Sequence[Document] = (),
    channel: str = Channel.CALL,
    note: str = "",
    grace_days: int | None = None,
) -> Promise:
    """Record that `debtor` promises to pay `amount` by `promised_date` on `documents` (none:
    the whole account), taken on `as_of`.

    Refused unless the documents are the debtor's, open and not in an open dispute, the amount
    is positive and at most what is open, and the date is not before `as_of`. A pending
    promise of the debtor on any of the same documents is cancelled: the new one replaces it.
    """
    debtor = _debtor_locked(creditor, debtor)
    _check_channel(channel)
    grace = _grace(grace_days)
    scope = _promise_scope(creditor, debtor, documents)
    amount_minor = _amount_minor(amount, scope.currency)
    _check_open(amount_minor, scope)
    if promised_date < as_of:
        raise NegotiationError(
            _("the promised date %(date)s is already past (today is %(as_of)s)")
            % {"date": promised_date, "as_of": as_of}
        )
    cancelled = _cancel_overlapping(
        creditor=creditor, debtor=debtor, scope=scope, as_of=as_of, actor=actor
    )
    promise = _promise_new(
        creditor=creditor,
        debtor=debtor,
        plan=None,
        scope=scope,
        amount_minor=amount_minor,
        promised_date=promised_date,
        grace_days=grace,
        as_of=as_of,
        actor=actor,
        channel=channel,
        note=note,
    )
    audit_record(
        actor=actor,
        action="promise.create",
        obj=promise,
        creditor_id=creditor.pk,
        changes={
            "debtor": debtor.pk,
            "amount_minor": amount_minor,
            "currency": scope.currency,
            "promised_date": promised_date,
            "grace_days": grace,
            "documents": _numbers(scope.documents) or "account",
            "channel": channel,
            "as_of": as_of,
            "cancelled_promises": cancelled,
        },
    )
    return promise


@transaction.atomic
def promise_plan_create(
    *,
    creditor: Creditor,
    debtor: Debtor,
    parts: list[tuple[Decimal, datetime.date]],
    as_of: datetime.date,
    actor: Actor,
    documents: Sequence[Document] = (),
    channel: str = Channel.CALL,
    note: str = "",
    grace_days: int | None = None,
) -> PromisePlan:
    """Record a promise in several parts: an amount on each of several dates.

    The same checks as `promise_create`, with the sum of the parts at most what is open and
    the dates strictly increasing. Each part is a `Promise` of the plan; the daily run decides
    each on its own date, counting payments cumulatively (the first part is covered first).
    Pending promises on any of the same documents are cancelled.
    """
    debtor = _debtor_locked(creditor, debtor)
    _check_channel(channel)
    grace = _grace(grace_days)
    if len(parts) < 2:
        raise NegotiationError(
            _("a payment plan has at least two parts; for one date, record a promise")
        )
    scope = _promise_scope(creditor, debtor, documents)
    amounts = [_amount_minor(amount, scope.currency) for amount, _date in parts]
    dates = [date for _amount, date in parts]
    if dates[0] < as_of:
        raise NegotiationError(
            _("the first date %(date)s is already past (today is %(as_of)s)")
            % {"date": dates[0], "as_of": as_of}
        )
    if any(later <= earlier for earlier, later in pairwise(dates)):
        raise NegotiationError(_("the dates of the parts must be strictly increasing"))
    _check_open(sum(amounts), scope)
    cancelled = _cancel_overlapping(
        creditor=creditor, debtor=debtor, scope=scope, as_of=as_of, actor=actor
    )
    plan = PromisePlan.objects.create(creditor=creditor, debtor=debtor, taken_by=_user_of(actor))
    for amount_minor, promised_date in zip(amounts, dates, strict=True):
        _promise_new(
            creditor=creditor,
            debtor=debtor,
            plan=plan,
            scope=scope,
            amount_minor=amount_minor,
            promised_date=promised_date,
            grace_days=grace,
            as_of=as_of,
            actor=actor,
            channel=channel,
            note=note,
        )
    audit_record(
        actor=actor,
        action="promise_plan.create",
        obj=plan,
        creditor_id=creditor.pk,
        changes={
            "debtor": debtor.pk,
            "currency": scope.currency,
            "parts": [
                [amount_minor, str(date)] for amount_minor, date in zip(amounts, dates, strict=True)
            ],
            "grace_days": grace,
            "documents": _numbers(scope.documents) or "account",
            "channel": channel,
            "as_of": as_of,
            "cancelled_promises": cancelled,
        },
    )
    return plan


class _Sum(Func):
    """SUM over a subquery's rows without GROUP BY, so it can be used as a scalar subquery."""

    function = "SUM"
    output_field = BigIntegerField()


def _paid_in_window(as_of: datetime.date) -> Expression:
    """Minor units applied within the outer promise's window (`created_on`..`deadline`, and
    never after `as_of`) to its documents, or to any document of the debtor in its currency
    when it names none. Allocations whose ledger entry was reversed by `as_of` (a bounced
    payment) do not count."""
    applied = (
        Allocation.objects.filter(
            entry__effective_date__gte=OuterRef("created_on"),
            entry__effective_date__lte=OuterRef("deadline"),
        )
        .filter(
            entry__effective_date__lte=as_of,
        )
        .filter(
            ~Exists(
                LedgerEntry.objects.filter(
                    reverses_id=OuterRef("entry_id"), effective_date__lte=as_of
                )
            )
        )
    )
    through = Promise.documents.through
    on_documents = applied.filter(
        document_id__in=through.objects.filter(promise_id=OuterRef(OuterRef("pk"))).values(
            "document_id"
        )
    )
    on_account = applied.filter(
        document__debtor_id=OuterRef("debtor_id"), document__currency=OuterRef("currency")
    )
    zero = Value(0, output_field=BigIntegerField())

    def total(allocations: Any) -> Expression:
        return Coalesce(
            Subquery(allocations.order_by().annotate(t=_Sum("amount_minor")).values("t")[:1]),
            zero,
            output_field=BigIntegerField(),
        )

    return Case(
        When(
            Exists(through.objects.filter(promise_id=OuterRef("pk"))),
            then=total(on_documents),
        ),
        default=total(on_account),
        output_field=BigIntegerField(),
    )


def _earlier_parts() -> Expression:
    """Minor units of the earlier, not cancelled, parts of the outer promise's plan (0 alone)."""
    earlier = (
        Promise.objects.filter(plan_id=OuterRef("plan_id"))
        .filter(
            Q(promised_date__lt=OuterRef("promised_date"))
            | Q(promised_date=OuterRef("promised_date"), pk__lt=OuterRef("pk"))
        )
        .exclude(status=PromiseStatus.CANCELLED)
    )
    return Coalesce(
        Subquery(earlier.order_by().annotate(t=_Sum("amount_minor")).values("t")[:1]),
        Value(0, output_field=BigIntegerField()),
        output_field=BigIntegerField(),
    )


@transaction.atomic
def promises_decide(
    *, creditor: Creditor, as_of: datetime.date, actor: Actor | None = None
) -> dict[str, int]:
    """Decide the creditor's pending promises as of `as_of`, in two UPDATE statements.

    A promise is kept once the payments in its window reach its amount (for a part of a plan:
    its amount plus the earlier parts'), and broken once `as_of` is after its deadline
    (promised date + grace days) without that; `paid_minor` records what was paid towards it
    (the share beyond the earlier parts, capped at its amount) and `decided_on` the as-of date.
    Decided promises never change, so running the same day again changes nothing.
    """
    pending = Promise.objects.filter(
        creditor=creditor, status=PromiseStatus.PENDING, created_on__lte=as_of
    )
    kept = (
        pending.alias(paid=_paid_in_window(as_of), before=_earlier_parts())
        .filter(paid__gte=F("before") + F("amount_minor"))
        .update(status=PromiseStatus.KEPT, paid_minor=F("amount_minor"), decided_on=as_of)
    )
    # What is still pending past its deadline was not kept (the update above took every
    # promise whose payments reached it), so the paid share is below its amount.
    broken = pending.filter(deadline__lt=as_of).update(
        status=PromiseStatus.BROKEN,
        decided_on=as_of,
        paid_minor=Greatest(
            Least(_paid_in_window(as_of) - _earlier_parts(), F("amount_minor")),
            Value(0, output_field=BigIntegerField()),
            output_field=BigIntegerField(),
        ),
    )
    if kept or broken:
        audit_record(
            actor=actor or Actor.system("promises"),
            action="promises.decide",
            creditor_id=creditor.pk,
            changes={"as_of": as_of, "kept": kept, "broken": broken},
        )
    return {"kept": kept, "broken": broken}


# -- disputes --------------------------------------------------------------------------------


@transaction.atomic
def dispute_open(
    *,
    creditor: Creditor,
    debtor: Debtor,
    documents: Sequence[Document],
    category: str,
    note: str,
    as_of: datetime.date,
    actor: Actor,
) -> Dispute:
    """Open a dispute on some of the debtor's documents; collection on them pauses until it
    is resolved, and no promise can be taken on them meanwhile. A document already in an open
    dispute is refused. The dispute is due `CARTERA_DISPUTE_SLA_DAYS` after `as_of`."""
    debtor = _debtor_locked(creditor, debtor)
    if category not in DisputeCategory.values:
        raise NegotiationError(
            _("unknown dispute category '%(category)s' (use %(known)s)")
            % {"category": category, "known": ", ".join(DisputeCategory.values)}
        )
    if not documents:
        raise NegotiationError(_("a dispute needs at least one document"))
    chosen = _documents_of(debtor, documents)
    taken = dict(
        DisputeDocument.objects.filter(document__in=chosen, is_open=True).values_list(
            "document_id", "dispute_id"
        )
    )
    if taken:
        raise NegotiationError(
            _("%(documents)s: already in an open dispute")
            % {
                "documents": ", ".join(
                    f"{d.number} (#{taken[d.pk]})" for d in chosen if d.pk in taken
                )
            }
        )
    dispute = Dispute.objects.create(
        creditor=creditor,
        debtor=debtor,
        category=category,
        note=note,
        opened_by=_user_of(actor),
        opened_on=as_of,
        sla_due_on=as_of + datetime.timedelta(days=dispute_sla_days()),
    )
    DisputeDocument.objects.bulk_create(
        [DisputeDocument(dispute=dispute, document=d, is_open=True) for d in chosen]
    )
    audit_record(
        actor=actor,
        action="dispute.open",
        obj=dispute,
        creditor_id=creditor.pk,
        changes={
            "debtor": debtor.pk,
            "documents": _numbers(chosen),
            "category": category,
            "as_of": as_of,
            "sla_due_on": dispute.sla_due_on,
        },
    )
    return dispute


@transaction.atomic
def dispute_resolve(
    *,
    dispute: Dispute,
    resolution: str,
    note: str,
    as_of: datetime.date,
    actor: Actor,
) -> Dispute:
    """Resolve an open dispute as valid, partially valid or rejected, recording who and when;
    its documents are collectable again.

    Crediting the document for a valid (or partially valid) dispute is out of scope here: a
    later issue adds credit notes through the ledger, and that is where the balance changes.
    """
    locked = Dispute.objects.select_for_update().filter(pk=dispute.pk).first()
    if locked is None or locked.status != DisputeStatus.OPEN:
        raise NegotiationError(_("this dispute is not open: it was already resolved"))
    if resolution not in DisputeResolution.values:
        raise NegotiationError(
            _("unknown resolution '%(resolution)s' (use %(known)s)")
            % {"resolution": resolution, "known": ", ".join(DisputeResolution.values)}
        )
    if as_of < locked.opened_on:
        raise NegotiationError(
            _("a dispute opened on %(opened)s cannot be resolved on %(as_of)s")
            % {"opened": locked.opened_on, "as_of": as_of}
        )
    locked.status = DisputeStatus.RESOLVED
    locked.resolution = resolution
    locked.resolution_note = note
    locked.resolved_by = _user_of(actor)
    locked.resolved_at = timezone.now()
    locked.resolved_on = as_of
    locked.save(
        update_fields=[
            "status",
            "resolution",
            "resolution_note",
            "resolved_by",
            "resolved_at",
            "resolved_on",
        ]
    )
    # The documents are free again (and may be disputed anew). No credit is booked here: see
    # the docstring.
    DisputeDocument.objects.filter(dispute=locked).update(is_open=False)
    audit_record(
        actor=actor,
        action="dispute.resolve",
        obj=locked,
        creditor_id=locked.creditor_id,
        changes={
            "status": [DisputeStatus.OPEN, DisputeStatus.RESOLVED],
            "resolution": resolution,
            "as_of": as_of,
        },
    )
    return locked
