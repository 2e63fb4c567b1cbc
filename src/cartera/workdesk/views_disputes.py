"""Disputes in the workdesk: opening one from the account page, the dispute's own page (its
documents, files, history; adding a file, changing the owner, resolving it) and the
supervisors' list of open disputes, the overdue ones first.

Who may do what, on the server: every user of the dispute's creditor reads the page and its
files (another creditor's dispute answers 404); opening and adding a file need
`workdesk.work_accounts` (auditors get 403); changing the owner and resolving need
`workdesk.manage_team` (supervisors and administrators) or being the dispute's owner. The
services of `cartera.negotiation` decide the rest: the categories offered, who may own a
dispute, what a resolution credits through the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from cartera.core.models import AuditEvent
from cartera.core.money import format_minor
from cartera.negotiation.models import (
    Dispute,
    DisputeAttachment,
    DisputeDocument,
    DisputeResolution,
    DisputeStatus,
)
from cartera.negotiation.queries import dispute_category_labels, dispute_events
from cartera.negotiation.services import (
    NegotiationError,
    dispute_assign,
    dispute_attach,
    dispute_open,
    dispute_resolve,
)
from cartera.portfolio.models import Document
from cartera.workdesk.access import (
    MANAGE_TEAM,
    VIEW_TEAM,
    WORK,
    creditor_for,
    member_required,
    permission_required,
    visible_creditors,
)
from cartera.workdesk.forms_disputes import (
    DisputeAttachForm,
    DisputeOwnerForm,
    DisputeResolveForm,
    dispute_open_form,
)
from cartera.workdesk.queries import collectors_of
from cartera.workdesk.views import _actor, _as_of, _int, _load_debtor, _respond

PANEL = "dispute"
PAGE = 25


# -- opening a dispute on the account page -------------------------------------------------------


@permission_required(WORK)
@require_POST
def dispute_open_view(request: HttpRequest, debtor_id: int) -> HttpResponse:
    debtor = _load_debtor(request, debtor_id)
    documents = list(debtor.documents.filter(balance_minor__gt=0).order_by("due_date", "id")[:200])
    form = dispute_open_form(debtor.creditor, documents, request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            dispute = dispute_open(
                creditor=debtor.creditor,
                debtor=debtor,
                documents=form.chosen_documents(),
                category=data["category"],
                note=data["note"],
                as_of=_as_of(),
                actor=_actor(request),
                owner=data.get("owner"),
                amount=data.get("amount"),
                due_on=data.get("due_on"),
                attachments=form.attachments(),
            )
        except NegotiationError as exc:
            form.add_error(None, str(exc))
        else:
            return _respond(
                request,
                debtor,
                ok=_("Dispute #%(id)s opened: collection on those documents pauses.")
                % {"id": dispute.pk},
            )
    return _respond(request, debtor, bound={PANEL: form}, open_panel=PANEL)


# -- the dispute's page -------------------------------------------------------------------------


def _dispute_for(request: HttpRequest, dispute_id: int) -> Dispute:
    """The dispute if one of the user's creditors owns it; 404 otherwise."""
    return get_object_or_404(
        Dispute.objects.select_related("debtor", "creditor", "owner", "opened_by", "resolved_by"),
        pk=dispute_id,
        creditor__in=[c.pk for c in visible_creditors(request)],
    )


def _manages(request: HttpRequest, dispute: Dispute) -> bool:
    """Supervisors and administrators, and the dispute's owner, may hand it on and resolve it
    (auditors never: they do not work accounts)."""
    user = request.user
    if not user.has_perm(WORK):
        return False
    return user.has_perm(MANAGE_TEAM) or (
        dispute.owner_id is not None and dispute.owner_id == user.pk
    )


def _owners(dispute: Dispute) -> list[User]:
    owners = collectors_of([dispute.creditor])
    if dispute.owner is not None and dispute.owner.pk not in {u.pk for u in owners}:
        owners.append(dispute.owner)
    return owners


@dataclass
class EventLine:
    event: AuditEvent
    title: str
    detail: str


_EVENT_TITLES = {
    "dispute.open": gettext_lazy("Dispute opened"),
    "dispute.assign": gettext_lazy("Owner changed"),
    "dispute.attach": gettext_lazy("File added"),
    "dispute.resolve": gettext_lazy("Dispute resolved"),
}


def _event_line(
    event: AuditEvent, dispute: Dispute, currency: str, labels: dict[str, str]
) -> EventLine:
    changes = event.changes or {}
    locale = dispute.creditor.locale
    detail = ""
    if event.action == "dispute.open":
        parts = [", ".join(changes.get("documents") or [])]
        if changes.get("category"):
            parts.append(labels.get(changes["category"], changes["category"]))
        if changes.get("amount_minor"):
            parts.append(format_minor(changes["amount_minor"], currency, locale))
        if changes.get("owner"):
            parts.append(_("owner: %(owner)s") % {"owner": changes["owner"]})
        detail = " · ".join(p for p in parts if p)
    elif event.action == "dispute.assign":
        before, after = (changes.get("owner") or [None, None])[:2]
        detail = f"{before or _('nobody')} → {after or _('nobody')}"
    elif event.action == "dispute.attach":
        detail = str(changes.get("file") or "")
    elif event.action == "dispute.resolve":
        resolution = str(changes.get("resolution") or "")
        label = (
            DisputeResolution(resolution).label
            if resolution in DisputeResolution.values
            else resolution
        )
        credited = int(changes.get("credited_minor") or 0)
        detail = f"{label} · {_('credited')} {format_minor(credited, currency, locale)}"
    else:
        detail = ", ".join(f"{key}: {value}" for key, value in changes.items())
    title = _EVENT_TITLES.get(event.action)
    return EventLine(event=event, title=str(title) if title else event.action, detail=detail)


def _dispute_context(
    request: HttpRequest, dispute: Dispute, *, bound: dict[str, Any] | None = None
) -> dict[str, Any]:
    bound = bound or {}
    creditor = dispute.creditor
    as_of = _as_of()
    links = list(
        DisputeDocument.objects.filter(dispute=dispute)
        .select_related("document")
        .order_by("document__due_date", "document_id")
    )
    currency = links[0].document.currency if links else creditor.currency
    attachments = list(
        DisputeAttachment.objects.filter(dispute=dispute).select_related("uploaded_by")
    )
    labels = dispute_category_labels([creditor.pk])[creditor.pk]
    events = list(dispute_events(dispute))
    credits: dict[str, int] = {}
    for event in events:
        if event.action == "dispute.resolve":
            credits = {str(k): int(v) for k, v in (event.changes.get("credits") or {}).items()}
    is_open = dispute.status == DisputeStatus.OPEN
    can_work = request.user.has_perm(WORK)
    manages = is_open and _manages(request, dispute)
    owners = _owners(dispute) if manages else []
    return {
        "dispute": dispute,
        "debtor": dispute.debtor,
        "creditor": creditor,
        "category_label": labels.get(dispute.category, dispute.get_category_display()),
        "currency": currency,
        "documents": [
            {"link": link, "document": link.document, "credited": credits.get(link.document.number)}
            for link in links
        ],
        "disputed_open_minor": sum(max(link.document.balance_minor, 0) for link in links),
        "attachments": attachments,
        "events": [_event_line(e, dispute, currency, labels) for e in events],
        "is_open": is_open,
        "age_days": ((dispute.resolved_on or as_of) - dispute.opened_on).days,
        "overdue_days": (as_of - dispute.sla_due_on).days if is_open else 0,
        "can_attach": is_open and can_work,
        "can_manage": manages,
        "forms": {
            "attach": bound.get("attach") or DisputeAttachForm(),
            "owner": bound.get("owner")
            or DisputeOwnerForm(owners=owners, initial={"owner": dispute.owner_id}),
            "resolve": bound.get("resolve") or DisputeResolveForm(creditor=creditor),
        },
        "as_of": as_of,
    }


def _page(
    request: HttpRequest, dispute: Dispute, *, ok: str | None = None, **bound: Any
) -> HttpResponse:
    """After an action: back to the dispute's page with a message, or the page again with the
    form's errors (422)."""
    if ok is not None:
        messages.success(request, ok)
        return HttpResponseRedirect(reverse("workdesk:dispute_detail", args=[dispute.pk]))
    context = _dispute_context(request, dispute, bound=bound)
    return render(request, "workdesk/dispute.html", context, status=422)


@member_required
@require_GET
def dispute_detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute_for(request, dispute_id)
    return render(request, "workdesk/dispute.html", _dispute_context(request, dispute))


@member_required
@require_GET
def dispute_file(request: HttpRequest, dispute_id: int, attachment_id: int) -> HttpResponse:
    """A file of a dispute, for the users of its creditor only (at most
    `CARTERA_ATTACHMENT_MAX_BYTES`, so it is read whole)."""
    dispute = _dispute_for(request, dispute_id)
    attachment = get_object_or_404(DisputeAttachment, pk=attachment_id, dispute=dispute)
    try:
        with attachment.file.open("rb") as handle:
            content = handle.read()
    except OSError as exc:
        raise Http404(_("This file is no longer on the server.")) from exc
    return HttpResponse(
        content,
        content_type=attachment.content_type or "application/octet-stream",
        headers={
            "Content-Disposition": content_disposition_header(True, attachment.name),
            "X-Content-Type-Options": "nosniff",
        },
    )


@permission_required(WORK)
@require_POST
def dispute_attach_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute_for(request, dispute_id)
    form = DisputeAttachForm(request.POST, request.FILES)
    if form.is_valid() and form.upload is not None:
        name, content = form.upload
        try:
            dispute_attach(dispute=dispute, name=name, content=content, actor=_actor(request))
        except NegotiationError as exc:
            form.add_error("file", str(exc))
        else:
            return _page(request, dispute, ok=_("%(name)s added to the dispute.") % {"name": name})
    return _page(request, dispute, attach=form)


@permission_required(WORK)
@require_POST
def dispute_assign_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute_for(request, dispute_id)
    if not _manages(request, dispute):
        raise PermissionDenied(_("Only a supervisor or the dispute's owner may do this."))
    form = DisputeOwnerForm(request.POST, owners=_owners(dispute))
    if form.is_valid():
        owner = form.cleaned_data["owner"]
        try:
            dispute_assign(dispute=dispute, owner=owner, actor=_actor(request))
        except NegotiationError as exc:
            form.add_error("owner", str(exc))
        else:
            who = (owner.get_full_name() or owner.get_username()) if owner else _("nobody")
            return _page(
                request, dispute, ok=_("The dispute's owner is now %(who)s.") % {"who": who}
            )
    return _page(request, dispute, owner=form)


@permission_required(WORK)
@require_POST
def dispute_resolve_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute_for(request, dispute_id)
    if not _manages(request, dispute):
        raise PermissionDenied(_("Only a supervisor or the dispute's owner may do this."))
    form = DisputeResolveForm(request.POST, creditor=dispute.creditor)
    if form.is_valid():
        data = form.cleaned_data
        try:
            resolved = dispute_resolve(
                dispute=dispute,
                resolution=data["resolution"],
                note=data["note"],
                as_of=_as_of(),
                actor=_actor(request),
                credit=data.get("credit"),
            )
        except NegotiationError as exc:
            form.add_error(None, str(exc))
        else:
            text = (
                _("Dispute resolved: %(resolution)s")
                % {"resolution": resolved.get_resolution_display()}
                + "."
            )
            if resolved.credited_minor:
                currency = (
                    Document.objects.filter(pk__in=resolved.links.values("document_id"))
                    .values_list("currency", flat=True)
                    .first()
                    or dispute.creditor.currency
                )
                text += " " + _("Credited %(amount)s through the ledger.") % {
                    "amount": format_minor(
                        resolved.credited_minor, currency, dispute.creditor.locale
                    )
                }
            text += " " + _("Collection on its documents resumes with the next daily run.")
            return _page(request, dispute, ok=text)
    return _page(request, dispute, resolve=form)


# -- the supervisors' list -----------------------------------------------------------------------


@permission_required(VIEW_TEAM)
@require_GET
def team_disputes(request: HttpRequest) -> HttpResponse:
    """Open disputes of the user's creditors (or of one), the longest overdue first, then the
    soonest due; a page at a time, in a fixed number of queries."""
    creditors = visible_creditors(request)
    wanted = request.GET.get("creditor")
    creditor = creditor_for(request, wanted) if wanted else None
    ids = [creditor.pk] if creditor is not None else [c.pk for c in creditors]
    as_of = _as_of()
    only_overdue = request.GET.get("overdue") == "1"
    opened = Dispute.objects.filter(creditor_id__in=ids, status=DisputeStatus.OPEN)
    counts = opened.aggregate(
        total=Count("id"), overdue=Count("id", filter=Q(sla_due_on__lt=as_of))
    )
    shown = opened.filter(sla_due_on__lt=as_of) if only_overdue else opened
    total = counts["overdue"] if only_overdue else counts["total"]
    page = max(1, _int(request.GET.get("page")) or 1)
    rows = list(
        shown.select_related("debtor", "owner", "creditor")
        .prefetch_related(
            Prefetch(
                "links",
                queryset=DisputeDocument.objects.select_related("document").order_by(
                    "document__due_date", "document_id"
                ),
            )
        )
        .order_by("sla_due_on", "id")[(page - 1) * PAGE : page * PAGE]
    )
    labels = dispute_category_labels(ids)
    lines = [
        {
            "dispute": d,
            "category": labels[d.creditor_id].get(d.category, d.category),
            "numbers": [link.document.number for link in d.links.all()],
            "currency": next(
                (link.document.currency for link in d.links.all()), d.creditor.currency
            ),
            "age_days": (as_of - d.opened_on).days,
            "overdue_days": (as_of - d.sla_due_on).days,
        }
        for d in rows
    ]
    query = "&overdue=1" if only_overdue else ""
    return render(
        request,
        "workdesk/disputes.html",
        {
            "creditors": creditors,
            "creditor": creditor,
            "section": "disputes",
            "lines": lines,
            "total": total,
            "open_total": counts["total"],
            "overdue_total": counts["overdue"],
            "only_overdue": only_overdue,
            "extra_query": query,
            "page": page,
            "pages": max(1, -(-total // PAGE)),
            "as_of": as_of,
        },
    )
