"""Payment agreements in the workdesk: the calculator and the proposal on the account page,
cancelling a proposal, the agreement's PDF, and the supervisors' approvals queue.

On the account page the agreement is one more in-page action, like a promise: a plain form
that works without JavaScript (the whole page again, status 422 with the errors) and, with
htmx, answers the account's main section. "Calculate" shows the schedule the services would
make (`agreement_quote`, nothing written) and only then offers "Propose"; proposing with
figures changed since the calculation shows the new schedule instead. The services decide
everything: whether the proposer's limits cover it (active at once) or it waits for approval,
and whether the approver's limits cover it.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cartera.negotiation.agreements import (
    AgreementQuote,
    agreement_approve,
    agreement_break,
    agreement_cancel,
    agreement_propose,
    agreement_quote,
    agreement_reject,
    approval_limits_by_creditor,
    approval_shortfalls,
)
from cartera.negotiation.models import (
    Agreement,
    AgreementDocument,
    AgreementInstallment,
    AgreementStatus,
    terms_of,
)
from cartera.negotiation.queries import disputed_document_ids, legal_max_rate
from cartera.negotiation.services import NegotiationError
from cartera.portfolio.models import Debtor, Document, EntryKind, LedgerEntry
from cartera.workdesk.access import (
    MANAGE_TEAM,
    VIEW_TEAM,
    WORK,
    creditor_for,
    member_required,
    permission_required,
    visible_creditors,
)
from cartera.workdesk.forms_agreements import AgreementForm, DecisionForm
from cartera.workdesk.queries import agreements_waiting
from cartera.workdesk.views import _actor, _as_of, _int, _load_debtor, _respond

APPROVE = "negotiation.approve_agreement"
PANEL = "agreement"
QUOTE_FIELD = "agreement-quote"


# -- on the account page -----------------------------------------------------------------------


def _candidates(debtor: Debtor) -> list[Document]:
    """The documents an agreement may bundle: open, undisputed, in no live agreement and not
    an installment of an active one (as `agreement_propose` requires)."""
    live = AgreementDocument.objects.filter(is_live=True, document__debtor=debtor)
    installments = AgreementInstallment.objects.filter(
        agreement__debtor=debtor, agreement__status=AgreementStatus.ACTIVE, document__isnull=False
    )
    return list(
        Document.objects.filter(debtor=debtor, balance_minor__gt=0)
        .exclude(pk__in=disputed_document_ids(debtor.creditor))
        .exclude(pk__in=live.values("document_id"))
        .exclude(pk__in=installments.values("document_id"))
        .order_by("due_date", "id")[:200]
    )


def _form(debtor: Debtor, data: Any = None) -> AgreementForm:
    return AgreementForm(data, documents=_candidates(debtor), creditor=debtor.creditor)


def _panel(
    debtor: Debtor,
    form: AgreementForm,
    *,
    quote: AgreementQuote | None = None,
    fingerprint: str = "",
) -> dict[str, Any]:
    """What the agreement panel shows besides the form: the list rate, this month's legal
    maximum, the interest and fees the documents carry, and the schedule once calculated."""
    creditor = debtor.creditor
    as_of = _as_of()
    ids = list(form.document_map)
    waivable = (
        LedgerEntry.objects.filter(
            document_id__in=ids, kind__in=[EntryKind.INTEREST, EntryKind.FEE]
        ).aggregate(total=Sum("amount_minor"))["total"]
        or 0
    )
    return {
        "agreement_form": form,
        "agreement_quote": quote,
        "agreement_fingerprint": fingerprint,
        "agreement_list_rate": terms_of(creditor).agreement_list_rate,
        "agreement_legal_max": legal_max_rate(creditor.country, as_of),
        "agreement_waivable": max(int(waivable), 0),
    }


@permission_required(WORK)
@require_GET
def agreement_start(request: HttpRequest, debtor_id: int) -> HttpResponse:
    """The account page with the agreement form open (the "Propose an agreement" link)."""
    debtor = _load_debtor(request, debtor_id)
    return _respond(request, debtor, open_panel=PANEL, extra=_panel(debtor, _form(debtor)))


def _quote(request: HttpRequest, debtor: Debtor, form: AgreementForm) -> AgreementQuote | None:
    try:
        return agreement_quote(
            creditor=debtor.creditor,
            debtor=debtor,
            as_of=_as_of(),
            actor=_actor(request),
            **form.terms(),
        )
    except NegotiationError as exc:
        form.add_error(None, str(exc))
        return None


@permission_required(WORK)
@require_POST
def agreement_calculate(request: HttpRequest, debtor_id: int) -> HttpResponse:
    """Step one: the schedule the agreement would have, and whether it needs approval."""
    debtor = _load_debtor(request, debtor_id)
    form = _form(debtor, request.POST)
    quote = _quote(request, debtor, form) if form.is_valid() else None
    if quote is None:
        return _respond(request, debtor, open_panel=PANEL, extra=_panel(debtor, form), failed=True)
    extra = _panel(debtor, form, quote=quote, fingerprint=form.fingerprint())
    return _respond(request, debtor, open_panel=PANEL, extra=extra, failed=False)


@permission_required(WORK)
@require_POST
def agreement_propose_view(request: HttpRequest, debtor_id: int) -> HttpResponse:
    """Step two: propose what was calculated. Within the proposer's limits the agreement is
    active at once; beyond them it waits in the approvals queue."""
    debtor = _load_debtor(request, debtor_id)
    form = _form(debtor, request.POST)
    if not form.is_valid():
        return _respond(request, debtor, open_panel=PANEL, extra=_panel(debtor, form), failed=True)
    fingerprint = form.fingerprint()
    if request.POST.get(QUOTE_FIELD) != fingerprint:
        # Figures changed since "Calculate" (or it was never pressed): the schedule first.
        quote = _quote(request, debtor, form)
        extra = _panel(debtor, form, quote=quote, fingerprint=fingerprint if quote else "")
        extra["notice"] = _(
            "The figures changed since the schedule was calculated: check the new schedule "
            "and propose again."
        )
        extra["notice_level"] = "warn"
        return _respond(request, debtor, open_panel=PANEL, extra=extra, failed=True)
    try:
        agreement = agreement_propose(
            creditor=debtor.creditor,
            debtor=debtor,
            as_of=_as_of(),
            actor=_actor(request),
            **form.terms(),
        )
    except NegotiationError as exc:
        form.add_error(None, str(exc))
        return _respond(request, debtor, open_panel=PANEL, extra=_panel(debtor, form), failed=True)
    if agreement.status == AgreementStatus.ACTIVE:
        text = _("Payment agreement %(number)s is active: its installments are on the account.") % {
            "number": agreement.number
        }
        return _respond(request, debtor, ok=text)
    text = _("Payment agreement %(number)s waits for a supervisor's approval: %(reasons)s.") % {
        "number": agreement.number,
        "reasons": "; ".join(agreement.approval_reasons),
    }
    return _respond(request, debtor, ok=text, level=messages.WARNING)


@permission_required(WORK)
@require_POST
def agreement_cancel_view(request: HttpRequest, debtor_id: int) -> HttpResponse:
    """Withdraw a proposal still waiting for approval (the debtor changed their mind)."""
    debtor = _load_debtor(request, debtor_id)
    agreement = get_object_or_404(Agreement, pk=_int(request.POST.get("agreement")), debtor=debtor)
    try:
        agreement_cancel(
            agreement=agreement,
            as_of=_as_of(),
            actor=_actor(request),
            note=(request.POST.get("note") or "").strip()[:400],
        )
    except NegotiationError as exc:
        return _respond(request, debtor, ok=str(exc), level=messages.WARNING, failed=True)
    return _respond(
        request,
        debtor,
        ok=_("Payment agreement %(number)s cancelled.") % {"number": agreement.number},
    )


@permission_required(WORK, APPROVE)
@require_POST
def agreement_break_view(request: HttpRequest, debtor_id: int) -> HttpResponse:
    """A supervisor declares an active agreement broken (the debtor said they will not pay),
    saying why: its installments stay as they are and collection resumes on them."""
    debtor = _load_debtor(request, debtor_id)
    agreement = get_object_or_404(Agreement, pk=_int(request.POST.get("agreement")), debtor=debtor)
    try:
        agreement_break(
            agreement=agreement,
            as_of=_as_of(),
            actor=_actor(request),
            note=(request.POST.get("note") or "")[:400],
        )
    except NegotiationError as exc:
        return _respond(request, debtor, ok=str(exc), level=messages.WARNING, failed=True)
    return _respond(
        request,
        debtor,
        ok=_(
            "Payment agreement %(number)s declared broken: collection resumes on its installments."
        )
        % {"number": agreement.number},
        level=messages.WARNING,
    )


@member_required
@require_GET
def agreement_pdf(request: HttpRequest, debtor_id: int) -> HttpResponse:
    """The PDF (in Spanish) of one of the debtor's approved agreements (`?agreement=ID`),
    for users who may see the debtor's creditor."""
    debtor = _load_debtor(request, debtor_id)
    agreement = get_object_or_404(Agreement, pk=_int(request.GET.get("agreement")), debtor=debtor)
    if not agreement.pdf:
        raise Http404(_("This agreement has no PDF yet: it is made when it is approved."))
    with agreement.pdf.open("rb") as handle:
        content = handle.read()
    return HttpResponse(
        content,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{agreement.number}.pdf"'},
    )


# -- the approvals queue -------------------------------------------------------------------------


PAGE = 25


def approvals_page(
    request: HttpRequest,
    *,
    creditor_id: Any = None,
    page: int | None = None,
    errors: dict[int, str] | None = None,
    notes: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The agreements waiting for approval of one of the user's creditors (the first unless
    asked for), oldest first, with the decision forms; a fixed number of queries."""
    creditors = visible_creditors(request)
    wanted = creditor_id or request.GET.get("creditor")
    creditor = creditor_for(request, wanted) if wanted else (creditors[0] if creditors else None)
    page = page or max(1, _int(request.GET.get("page")) or 1)
    rows, counts = agreements_waiting(
        creditors=creditors, creditor=creditor, page=page, page_size=PAGE
    )
    user = cast(User, request.user)
    can_decide = user.has_perms((MANAGE_TEAM, APPROVE))
    limits = approval_limits_by_creditor(user, [creditor]) if creditor and rows else {}
    errors, notes = errors or {}, notes or {}
    items = [
        {
            "agreement": agreement,
            "total_minor": sum(row.payment_minor for row in agreement.schedule.all()),
            "beyond": (
                approval_shortfalls(agreement, user, limits.get(agreement.creditor_id, {}))
                if can_decide
                else []
            ),
            "error": errors.get(agreement.pk, ""),
            "note": notes.get(agreement.pk, ""),
        }
        for agreement in rows
    ]
    total = counts.get(creditor.pk, 0) if creditor else 0
    context = {
        "creditors": creditors,
        "creditor": creditor,
        "section": "approvals",
        "can_manage": user.has_perm(MANAGE_TEAM),
        "can_decide": can_decide,
        "items": items,
        "pending": items,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE)),
        "elsewhere": [(c, counts[c.pk]) for c in creditors if c != creditor and counts.get(c.pk)],
    }
    return render(request, "workdesk/approvals.html", context, status=status)


def _waiting_agreement(request: HttpRequest) -> Agreement:
    """The agreement the form names if the user may see its creditor (404 otherwise,
    whatever the id)."""
    return get_object_or_404(
        Agreement.objects.select_related("creditor", "debtor"),
        pk=_int(request.POST.get("agreement")),
        creditor__in=[c.pk for c in visible_creditors(request)],
    )


def _decide(request: HttpRequest, decision: str) -> HttpResponse:
    agreement = _waiting_agreement(request)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    page = _int(request.POST.get("page"))
    try:
        if decision == "approve":
            agreement_approve(agreement=agreement, as_of=_as_of(), actor=_actor(request), note=note)
            text = _(
                "Payment agreement %(number)s approved: its installments are on the account "
                "of %(debtor)s."
            ) % {"number": agreement.number, "debtor": agreement.debtor.name}
        else:
            agreement_reject(agreement=agreement, as_of=_as_of(), actor=_actor(request), note=note)
            text = _("Payment agreement %(number)s rejected.") % {"number": agreement.number}
    except NegotiationError as exc:
        return approvals_page(
            request,
            creditor_id=agreement.creditor_id,
            page=page,
            errors={agreement.pk: str(exc)},
            notes={agreement.pk: note},
            status=422,
        )
    messages.success(request, text)
    url = reverse("workdesk:approvals") + f"?creditor={agreement.creditor_id}"
    return HttpResponseRedirect(url + (f"&page={page}" if page and page > 1 else ""))


@permission_required(VIEW_TEAM, MANAGE_TEAM, APPROVE)
@require_POST
def agreement_approve_view(request: HttpRequest) -> HttpResponse:
    """Approve and activate; the service refuses what is beyond the approver's limits."""
    return _decide(request, "approve")


@permission_required(VIEW_TEAM, MANAGE_TEAM, APPROVE)
@require_POST
def agreement_reject_view(request: HttpRequest) -> HttpResponse:
    """Reject, saying why (the service refuses a rejection without a note)."""
    return _decide(request, "reject")
