"""Writes on promises and disputes: each service is one transaction and leaves an audit event.

Every service takes the as-of date explicitly (DESIGN.md §3): `created_on`, `decided_on`,
`opened_on` and `resolved_on` are that date, never the clock's.
"""

from __future__ import annotations

import datetime
import hashlib
import mimetypes
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
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
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from cartera.core.audit import Actor, audit_record
from cartera.core.money import from_minor, to_minor
from cartera.negotiation.models import (
    Channel,
    Dispute,
    DisputeAttachment,
    DisputeDocument,
    DisputeResolution,
    DisputeStatus,
    Promise,
    PromisePlan,
    PromiseStatus,
    promise_grace_days,
    terms_of,
)
from cartera.negotiation.queries import (
    broken_promise_count,
    dispute_categories,
    disputed_document_ids,
)
from cartera.negotiation.signals import promise_taken, promises_broken
from cartera.portfolio.models import (
    Allocation,
    BalanceMode,
    Creditor,
    Debtor,
    Document,
    DocumentStatus,
    EntryKind,
    LedgerEntry,
)


class NegotiationError(ValueError):
    """A request about promises or disputes that is refused, with a message for the user."""


# -- helpers ---------------------------------------------------------------------------------


def _user_of(actor: Actor) -> User | None:
    return actor.user if actor.user is not None and actor.user.pk else None


SUPERVISING_ROLES = ("supervisor", "admin")
"""The groups whose members may go past a collector's limits (broken promises)."""


def is_supervising(actor: Actor) -> bool:
    """Whether the actor is a superuser, a supervisor or an administrator."""
    user = _user_of(actor)
    if user is None:
        return False
    return user.is_superuser or user.groups.filter(name__in=SUPERVISING_ROLES).exists()


def _refuse_erp(creditor: Creditor, what: str) -> None:
    if creditor.balance_mode == BalanceMode.ERP:
        raise NegotiationError(
            _(
                "%(creditor)s keeps its balances in the ERP: %(what)s must be recorded there "
                "(the next balance file brings the result)"
            )
            % {"creditor": creditor.code, "what": what}
        )


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
    *,
    creditor: Creditor,
    debtor: Debtor,
    scope: _Scope,
    as_of: datetime.date,
    actor: Actor,
    whole_account: bool = True,
) -> list[int]:
    """Cancel the debtor's pending promises that cover any of the same documents (a promise
    on the whole account covers them all, unless `whole_account` is False), so that one
    payment never keeps two promises."""
    pending = Promise.objects.filter(creditor=creditor, debtor=debtor, status=PromiseStatus.PENDING)
    if scope.documents:
        on_documents = Q(documents__in=[d.pk for d in scope.documents])
        pending = pending.filter(
            on_documents | Q(documents__isnull=True) if whole_account else on_documents
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


def _check_break_limit(
    *, creditor: Creditor, debtor: Debtor, as_of: datetime.date, actor: Actor
) -> int:
    """Refuse a collector's promise from an account that broke too many lately; a supervisor
    (or administrator) may still take it. Returns the count of broken promises."""
    terms = terms_of(creditor)
    if not terms.promise_break_limit:
        return 0
    broken = broken_promise_count(debtor, as_of, terms.promise_break_window_days)
    if broken >= terms.promise_break_limit and not is_supervising(actor):
        raise NegotiationError(
            _(
                "%(debtor)s broke %(count)s promises in the last %(days)s days (the limit is "
                "%(limit)s): a supervisor must take the next one"
            )
            % {
                "debtor": debtor.name,
                "count": broken,
                "days": terms.promise_break_window_days,
                "limit": terms.promise_break_limit,
            }
        )
    return broken


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
    confirm: bool = True,
) -> Promise:
    """Record that `debtor` promises to pay `amount` by `promised_date` on `documents` (none:
    the whole account), taken on `as_of`.

    Refused unless the documents are the debtor's, open and not in an open dispute, the amount
    is positive and at most what is open, and the date is not before `as_of`; and, for a
    collector, unless the account broke fewer promises lately than the creditor's limit. A
    pending promise of the debtor on any of the same documents is cancelled: the new one
    replaces it. With `confirm`, a confirmation is queued to the debtor (`promise_taken`).
    """
    debtor = _debtor_locked(creditor, debtor)
    _check_channel(channel)
    broken_before = _check_break_limit(creditor=creditor, debtor=debtor, as_of=as_of, actor=actor)
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
            "broken_before": broken_before,
        },
    )
    if confirm:
        promise_taken.send(sender=Promise, promise=promise, plan=None, actor=actor)
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
    confirm: bool = True,
) -> PromisePlan:
    """Record a promise in several parts: an amount on each of several dates.

    The same checks as `promise_create`, with the sum of the parts at most what is open and
    the dates strictly increasing. Each part is a `Promise` of the plan; the daily run decides
    each on its own date, counting payments cumulatively (the first part is covered first).
    Pending promises on any of the same documents are cancelled. With `confirm`, one
    confirmation is queued to the debtor, naming the first part.
    """
    debtor = _debtor_locked(creditor, debtor)
    _check_channel(channel)
    broken_before = _check_break_limit(creditor=creditor, debtor=debtor, as_of=as_of, actor=actor)
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
    created = [
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
        for amount_minor, promised_date in zip(amounts, dates, strict=True)
    ]
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
            "broken_before": broken_before,
        },
    )
    if confirm:
        promise_taken.send(sender=Promise, promise=created[0], plan=plan, actor=actor)
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

    A promise naming a document that is in an open dispute is not broken while the dispute
    lasts (the debtor contests what was promised); it can still be kept. The promises broken
    are announced (`promises_broken`) so that the debtor is told.
    """
    pending = Promise.objects.filter(
        creditor=creditor, status=PromiseStatus.PENDING, created_on__lte=as_of
    )
    on_disputed = Exists(
        Promise.documents.through.objects.filter(
            promise_id=OuterRef("pk"),
            document_id__in=DisputeDocument.objects.filter(is_open=True).values("document_id"),
        )
    )
    kept = (
        pending.alias(paid=_paid_in_window(as_of), before=_earlier_parts())
        .filter(paid__gte=F("before") + F("amount_minor"))
        .update(status=PromiseStatus.KEPT, paid_minor=F("amount_minor"), decided_on=as_of)
    )
    # What is still pending past its deadline was not kept (the update above took every
    # promise whose payments reached it), so the paid share is below its amount.
    broken = (
        pending.filter(deadline__lt=as_of)
        .exclude(on_disputed)
        .update(
            status=PromiseStatus.BROKEN,
            decided_on=as_of,
            paid_minor=Greatest(
                Least(_paid_in_window(as_of) - _earlier_parts(), F("amount_minor")),
                Value(0, output_field=BigIntegerField()),
                output_field=BigIntegerField(),
            ),
        )
    )
    if kept or broken:
        audit_record(
            actor=actor or Actor.system("promises"),
            action="promises.decide",
            creditor_id=creditor.pk,
            changes={"as_of": as_of, "kept": kept, "broken": broken},
        )
    if broken:
        # Those broken by an earlier run of the same day come again: the messages they
        # asked for are keyed by promise, so nothing is queued twice.
        promises_broken.send(
            sender=Promise,
            creditor=creditor,
            as_of=as_of,
            promise_ids=list(
                Promise.objects.filter(
                    creditor=creditor, status=PromiseStatus.BROKEN, decided_on=as_of
                ).values_list("pk", flat=True)
            ),
            actor=actor or Actor.system("promises"),
        )
    return {"kept": kept, "broken": broken}


# -- disputes --------------------------------------------------------------------------------


def _category_sla(creditor: Creditor, category: str) -> int:
    """Days to resolve a dispute of `category`, refused unless the category is offered."""
    offered = {option.code: option for option in dispute_categories(creditor)}
    option = offered.get(category)
    if option is None:
        raise NegotiationError(
            _("unknown dispute category '%(category)s' (use %(known)s)")
            % {"category": category, "known": ", ".join(offered)}
        )
    return option.sla_days


def _dispute_owner(creditor: Creditor, owner: User | None) -> User | None:
    if owner is None:
        return None
    if not owner.is_active or not (
        owner.is_superuser or owner.memberships.filter(creditor=creditor).exists()
    ):
        raise NegotiationError(
            _("%(user)s does not work for %(creditor)s")
            % {"user": owner.get_username(), "creditor": creditor.code}
        )
    return owner


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
    owner: User | None = None,
    amount: Decimal | None = None,
    due_on: datetime.date | None = None,
    attachments: Sequence[tuple[str, bytes]] = (),
) -> Dispute:
    """Open a dispute on some of the debtor's documents; collection on them pauses until it
    is resolved, and no promise can be taken on them meanwhile. A document already in an open
    dispute is refused. The dispute is due the category's days (else
    `CARTERA_DISPUTE_SLA_DAYS`) after `as_of`, or on `due_on` when given (not before `as_of`).
    `amount`: the part of the documents' balance that is contested (None: all of it); `owner`:
    who resolves it; `attachments`: (file name, content) kept with it (`dispute_attach`), all
    or nothing with the dispute."""
    debtor = _debtor_locked(creditor, debtor)
    sla_days = _category_sla(creditor, category)
    if due_on is not None and due_on < as_of:
        raise NegotiationError(
            _("the dispute cannot be due on %(due)s, before it is opened (%(as_of)s)")
            % {"due": due_on, "as_of": as_of}
        )
    if not documents:
        raise NegotiationError(_("a dispute needs at least one document"))
    for name, content in attachments:
        # Before anything is written: a refused file leaves nothing behind on disk.
        attachment_check(name, content)
    chosen = _documents_of(debtor, documents)
    owner = _dispute_owner(creditor, owner)
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
    amount_minor = None
    if amount is not None:
        currencies = {d.currency for d in chosen}
        if len(currencies) > 1:
            raise NegotiationError(
                _("the documents are in different currencies: dispute an amount per currency")
            )
        currency = currencies.pop()
        amount_minor = _amount_minor(amount, currency)
        open_minor = sum(max(d.balance_minor, 0) for d in chosen)
        if amount_minor > open_minor:
            raise NegotiationError(
                _("%(amount)s %(currency)s is more than the %(open)s %(currency)s open")
                % {
                    "amount": amount,
                    "open": from_minor(open_minor, currency),
                    "currency": currency,
                }
            )
    dispute = Dispute.objects.create(
        creditor=creditor,
        debtor=debtor,
        category=category,
        note=note,
        owner=owner,
        amount_minor=amount_minor,
        opened_by=_user_of(actor),
        opened_on=as_of,
        sla_due_on=due_on or as_of + datetime.timedelta(days=sla_days),
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
            "owner": owner.get_username() if owner else None,
            "amount_minor": amount_minor,
        },
    )
    for name, content in attachments:
        dispute_attach(dispute=dispute, name=name, content=content, actor=actor)
    return dispute


def _dispute_locked(dispute: Dispute) -> Dispute:
    locked = Dispute.objects.select_for_update().filter(pk=dispute.pk).first()
    if locked is None or locked.status != DisputeStatus.OPEN:
        raise NegotiationError(_("this dispute is not open: it was already resolved"))
    return locked


@transaction.atomic
def dispute_assign(*, dispute: Dispute, owner: User | None, actor: Actor) -> Dispute:
    """Give an open dispute to the person who investigates it (None: nobody)."""
    locked = _dispute_locked(dispute)
    owner = _dispute_owner(locked.creditor, owner)
    before = locked.owner.get_username() if locked.owner else None
    locked.owner = owner
    locked.save(update_fields=["owner"])
    audit_record(
        actor=actor,
        action="dispute.assign",
        obj=locked,
        creditor_id=locked.creditor_id,
        changes={"owner": [before, owner.get_username() if owner else None]},
    )
    return locked


# File signatures of the formats that have one: a file named .pdf must be a PDF.
_SIGNATURES = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
    ".zip": (b"PK\x03\x04",),
}


def attachment_max_bytes() -> int:
    return int(getattr(settings, "CARTERA_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def attachment_extensions() -> list[str]:
    default = ".pdf,.png,.jpg,.jpeg,.gif,.txt,.csv,.xlsx,.docx,.eml,.zip"
    listed = getattr(settings, "CARTERA_ATTACHMENT_EXTENSIONS", None) or default.split(",")
    return [e.strip().lower() for e in listed if e.strip()]


def attachment_name(name: str) -> str:
    """The name a file is kept under, refused unless its type is accepted (by its name,
    never by what the browser claims)."""
    clean = get_valid_filename(Path(name or "").name)[:150]
    allowed = attachment_extensions()
    if not clean or Path(clean).suffix.lower() not in allowed:
        raise NegotiationError(
            _("%(name)s: files of this type are not accepted (accepted: %(allowed)s)")
            % {"name": name or "?", "allowed": ", ".join(allowed)}
        )
    return clean


def attachment_check(name: str, content: bytes) -> str:
    """The name a file is kept under, refused when it is empty, larger than
    `CARTERA_ATTACHMENT_MAX_BYTES`, of a type not in `CARTERA_ATTACHMENT_EXTENSIONS`, or when
    its content is not what its name says."""
    clean = attachment_name(name)
    extension = Path(clean).suffix.lower()
    if not content:
        raise NegotiationError(_("%(name)s is empty") % {"name": clean})
    limit = attachment_max_bytes()
    if len(content) > limit:
        raise NegotiationError(
            _("%(name)s is %(size)s bytes; the most accepted is %(limit)s")
            % {"name": clean, "size": len(content), "limit": limit}
        )
    signatures = _SIGNATURES.get(extension)
    if signatures and not content.startswith(signatures):
        raise NegotiationError(
            _("%(name)s is not a %(type)s file: its content does not match its name")
            % {"name": clean, "type": extension[1:].upper()}
        )
    return clean


@transaction.atomic
def dispute_attach(
    *, dispute: Dispute, name: str, content: bytes, actor: Actor
) -> DisputeAttachment:
    """Keep a file with an open dispute (a delivery note, a photo, the debtor's letter).

    Refused when empty, larger than `CARTERA_ATTACHMENT_MAX_BYTES`, of a type not in
    `CARTERA_ATTACHMENT_EXTENSIONS`, or when its content is not what its name says. The type
    comes from the name, never from what the browser claims.
    """
    locked = _dispute_locked(dispute)
    clean = attachment_check(name, content)
    attachment = DisputeAttachment(
        dispute=locked,
        name=clean,
        content_type=mimetypes.guess_type(clean)[0] or "application/octet-stream",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=_user_of(actor),
    )
    attachment.file.save(clean, ContentFile(content), save=False)
    attachment.save()
    audit_record(
        actor=actor,
        action="dispute.attach",
        obj=locked,
        creditor_id=locked.creditor_id,
        changes={"file": clean, "size": len(content), "sha256": attachment.sha256},
    )
    return attachment


def _credit_minor(
    *, dispute: Dispute, resolution: str, credit: Decimal | None, documents: list[Document]
) -> int:
    """What a resolution credits: all that was disputed when valid, a part when partially
    valid, nothing when rejected."""
    currencies = {d.currency for d in documents}
    open_minor = sum(max(d.balance_minor, 0) for d in documents)
    disputed = min(dispute.amount_minor or open_minor, open_minor)
    if resolution == DisputeResolution.REJECTED:
        if credit:
            raise NegotiationError(_("a rejected dispute credits nothing"))
        return 0
    if len(currencies) > 1 and (credit is not None or resolution != DisputeResolution.VALID):
        raise NegotiationError(
            _("the documents are in different currencies: resolve them in separate disputes")
        )
    if credit is None:
        if resolution == DisputeResolution.PARTIALLY_VALID:
            raise NegotiationError(_("say how much a partially valid dispute credits"))
        return disputed
    amount = _amount_minor(credit, next(iter(currencies)))
    if amount > open_minor:
        raise NegotiationError(
            _("the credit is more than the %(open)s still open on the documents")
            % {"open": from_minor(open_minor, next(iter(currencies)))}
        )
    if resolution == DisputeResolution.PARTIALLY_VALID and amount >= disputed:
        raise NegotiationError(
            _("a partially valid dispute credits less than what was disputed; resolve it as valid")
        )
    return amount


@transaction.atomic
def dispute_resolve(
    *,
    dispute: Dispute,
    resolution: str,
    note: str,
    as_of: datetime.date,
    actor: Actor,
    credit: Decimal | None = None,
) -> Dispute:
    """Resolve an open dispute, recording who and when; its documents are collectable again.

    - valid: a credit note for what was disputed (its amount, else the documents' whole open
      balance; `credit` may name less) goes through the ledger (`credit` entries);
    - partially valid: a credit note for `credit`, less than what was disputed;
    - rejected: nothing is credited and collection simply resumes.

    The credit is spread over the documents oldest due first. Pending promises on credited
    documents are cancelled (what they promised no longer matches what is owed). A creditor
    whose balances come from the ERP books the credit note there: nothing is credited here.
    """
    locked = _dispute_locked(dispute)
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
    creditor = locked.creditor
    documents = list(
        Document.objects.select_for_update()
        .filter(pk__in=locked.links.values("document_id"))
        .order_by("due_date", "pk")
    )
    credit_minor = _credit_minor(
        dispute=locked, resolution=resolution, credit=credit, documents=documents
    )
    if creditor.balance_mode == BalanceMode.ERP:
        credit_minor = 0
    shares = _credit_documents(
        creditor=creditor,
        documents=documents,
        amount=credit_minor,
        dispute=locked,
        as_of=as_of,
        actor=actor,
    )
    locked.status = DisputeStatus.RESOLVED
    locked.resolution = resolution
    locked.resolution_note = note
    locked.resolved_by = _user_of(actor)
    locked.resolved_at = timezone.now()
    locked.resolved_on = as_of
    locked.credited_minor = credit_minor
    locked.save(
        update_fields=[
            "status",
            "resolution",
            "resolution_note",
            "resolved_by",
            "resolved_at",
            "resolved_on",
            "credited_minor",
        ]
    )
    # The documents are free again (and may be disputed anew).
    DisputeDocument.objects.filter(dispute=locked).update(is_open=False)
    cancelled: list[int] = []
    if shares:
        credited = [d for d in documents if d.pk in shares]
        cancelled = _cancel_overlapping(
            creditor=creditor,
            debtor=locked.debtor,
            scope=_Scope(credited, credited[0].currency, 0),
            as_of=as_of,
            actor=actor,
            whole_account=False,
        )
    audit_record(
        actor=actor,
        action="dispute.resolve",
        obj=locked,
        creditor_id=locked.creditor_id,
        changes={
            "status": [DisputeStatus.OPEN, DisputeStatus.RESOLVED],
            "resolution": resolution,
            "as_of": as_of,
            "credited_minor": credit_minor,
            "credits": {d.number: shares[d.pk] for d in documents if d.pk in shares},
            "cancelled_promises": cancelled,
        },
    )
    return locked


def _credit_documents(
    *,
    creditor: Creditor,
    documents: list[Document],
    amount: int,
    dispute: Dispute,
    as_of: datetime.date,
    actor: Actor,
) -> dict[int, int]:
    """Book `amount` as credit entries on `documents` in order, up to each one's balance;
    returns {document id: credited}."""
    shares: dict[int, int] = {}
    left = amount
    for document in documents:
        if left <= 0:
            break
        share = min(left, max(document.balance_minor, 0))
        if share <= 0:
            continue
        shares[document.pk] = share
        left -= share
    if not shares:
        return {}
    moment = timezone.now()
    memo = (_("credit note, dispute #%(id)s") % {"id": dispute.pk})[:200]
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                creditor=creditor,
                document=document,
                kind=EntryKind.CREDIT,
                amount_minor=-shares[document.pk],
                currency=document.currency,
                effective_date=as_of,
                memo=memo,
                recorded_by=actor.label[:150],
                recorded_at=moment,
            )
            for document in documents
            if document.pk in shares
        ]
    )
    for document in documents:
        if document.pk in shares:
            document.balance_minor -= shares[document.pk]
            document.status = (
                DocumentStatus.OPEN if document.balance_minor else DocumentStatus.CLOSED
            )
            document.updated_at = moment
    Document.objects.bulk_update(
        [d for d in documents if d.pk in shares], ["balance_minor", "status", "updated_at"]
    )
    return shares
