"""The collector's pages: the worklist, search, the account page and its in-page actions.

Each action is a plain POST that works without JavaScript (redirect back to the account with a
message; the page again with the errors, status 422, when the form is wrong). With htmx the
same view answers with the account's main section only, which the page swaps in place.
"""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cartera.core.audit import Actor
from cartera.messaging.gate import gate_check
from cartera.messaging.rendering import RenderError, template_preview
from cartera.negotiation.services import (
    NegotiationError,
    promise_create,
    promise_plan_create,
)
from cartera.portfolio.models import ContactPoint, Creditor, Debtor
from cartera.strategy.models import Segment, Stage
from cartera.workdesk import forms as wf
from cartera.workdesk.access import (
    VIEW_TEAM,
    WORK,
    debtor_for,
    member_required,
    permission_required,
    roles_of,
    visible_creditors,
)
from cartera.workdesk.forms_disputes import dispute_open_form
from cartera.workdesk.models import Callback
from cartera.workdesk.queries import (
    AccountView,
    WorklistFilters,
    WorklistPage,
    account_debtor,
    account_view,
    collectors_of,
    debtor_search,
    outcome_codes_for,
    templates_for,
    weights_for,
    worklist,
    worklist_next,
)
from cartera.workdesk.services import (
    MessageRefused,
    WorkdeskError,
    callback_done,
    callback_schedule,
    contact_point_add,
    contact_point_correct,
    contact_record,
    message_send,
)


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))


WORKING_ROLES = frozenset({"admin", "supervisor", "collector"})


def _as_of() -> datetime.date:
    return timezone.localdate()


def _page_size() -> int:
    from django.conf import settings

    return int(getattr(settings, "CARTERA_WORKLIST_PAGE_SIZE", 25))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- login -------------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "workdesk/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


# -- home and worklist -------------------------------------------------------------------------


@member_required
def home(request: HttpRequest) -> HttpResponse:
    """A collector lands on their worklist; a supervisor (or auditor) on the team's page."""
    roles = roles_of(request.user)
    if "collector" not in roles and request.user.has_perm(VIEW_TEAM):
        from cartera.workdesk.views_team import team

        return team(request)
    return worklist_page(request)


def _worklist_filters(request: HttpRequest, params: QueryDict) -> tuple[WorklistFilters, str]:
    """The filters of a worklist request, and who it shows: "me", a user id, "none" (nobody's
    accounts) or "all". Collectors only ever see their own list."""
    supervising = request.user.has_perm(VIEW_TEAM)
    who = params.get("collector") or (
        "all" if supervising and "collector" not in roles_of(request.user) else "me"
    )
    if who not in ("me", str(request.user.pk)) and not supervising:
        raise PermissionDenied(_("Only supervisors may open another collector's worklist."))
    collector_id: int | None = request.user.pk
    unassigned = False
    if who == "all":
        collector_id = None
    elif who == "none":
        collector_id, unassigned = None, True
    elif who != "me":
        collector_id = _int(who)
        if collector_id is None:
            raise PermissionDenied(_("Unknown collector"))
    filters = WorklistFilters(
        collector_id=collector_id,
        unassigned=unassigned,
        creditor_id=_int(params.get("creditor")),
        stage_id=_int(params.get("stage")),
        segment_id=_int(params.get("segment")),
        bucket=params.get("bucket", ""),
        reason=params.get("reason", ""),
    )
    return filters, who


_FILTER_KEYS = ("collector", "creditor", "stage", "segment", "bucket", "reason")


def _filter_query(params: QueryDict) -> str:
    return urlencode({k: params[k] for k in _FILTER_KEYS if params.get(k)})


@member_required
@require_GET
def worklist_page(request: HttpRequest) -> HttpResponse:
    creditors = visible_creditors(request)
    filters, who = _worklist_filters(request, request.GET)
    text = (request.GET.get("q") or "").strip()
    page = _int(request.GET.get("page")) or 1
    results = debtor_search(creditors=creditors, text=text) if text else None
    # A search shows its matches only: the worklist is one click away.
    listing = (
        worklist(
            creditors=creditors,
            filters=filters,
            as_of=_as_of(),
            page=page,
            page_size=_page_size(),
            weights=weights_for(creditors),
        )
        if results is None
        else WorklistPage(rows=[], total=0, page=1, page_size=_page_size())
    )
    supervising = request.user.has_perm(VIEW_TEAM)
    ids = [c.pk for c in creditors]
    context = {
        "creditors": creditors,
        "by_creditor": {c.pk: c for c in creditors},
        "listing": listing,
        "results": results,
        "q": text,
        "who": who,
        "supervising": supervising,
        "collectors": collectors_of(creditors) if supervising else [],
        "stages": list(Stage.objects.filter(creditor_id__in=ids).order_by("creditor", "order")),
        "segments": list(Segment.objects.filter(creditor_id__in=ids).order_by("creditor", "order")),
        "buckets": wf.bucket_choices(),
        "reasons": wf.reason_choices(),
        "params": request.GET,
        "filter_query": _filter_query(request.GET),
        "as_of": _as_of(),
    }
    return render(request, "workdesk/worklist.html", context)


@member_required
@require_GET
def next_account(request: HttpRequest) -> HttpResponse:
    """The next account of the worklist (with the same filters) after the one just worked."""
    filters, _who = _worklist_filters(request, request.GET)
    debtor_id = worklist_next(
        creditors=visible_creditors(request),
        filters=filters,
        as_of=_as_of(),
        after_debtor_id=_int(request.GET.get("after")),
    )
    query = _filter_query(request.GET)
    if debtor_id is None:
        messages.info(request, _("Nothing else to work on this list today."))
        return HttpResponseRedirect(reverse("workdesk:worklist") + (f"?{query}" if query else ""))
    url = reverse("workdesk:account", args=[debtor_id])
    return HttpResponseRedirect(url + (f"?{urlencode({'wl': query})}" if query else ""))


# -- the account page --------------------------------------------------------------------------


PANELS = ("contact", "promise", "callback", "message", "dispute", "contact_point")


def _account_context(
    request: HttpRequest,
    debtor: Debtor,
    *,
    bound: dict[str, Any] | None = None,
    open_panel: str = "contact",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    creditor: Creditor = debtor.creditor
    every_outcome = outcome_codes_for(creditor, active_only=False)
    outcomes = [code for code in every_outcome if code.active]
    view: AccountView = account_view(
        debtor=debtor,
        as_of=_as_of(),
        outcome_labels={code.code: code.label for code in every_outcome},
    )
    bound = bound or {}
    open_documents = [line.document for line in view.documents if line.document.balance_minor > 0]
    undisputed = [
        line.document
        for line in view.documents
        if line.document.balance_minor > 0 and not line.disputed
    ]
    templates = templates_for(creditor)
    forms = {
        "contact": bound.get("contact")
        or wf.ContactForm(
            outcomes=outcomes,
            contact_points=view.contact_points,
            creditor=creditor,
            initial={"channel": "call"},
        ),
        "promise": bound.get("promise")
        or wf.PromiseForm(documents=undisputed, creditor=creditor, initial={"channel": "call"}),
        "callback": bound.get("callback") or wf.CallbackForm(),
        "message": bound.get("message") or wf.MessageForm(templates=templates),
        "dispute": bound.get("dispute") or dispute_open_form(creditor, open_documents),
        "contact_point": bound.get("contact_point") or wf.ContactPointForm(),
    }
    # One correction form at most (the one asked for, or the one that failed): rendering a
    # form per contact point would cost more than the rest of the page.
    correcting = _int(request.GET.get("correct"))
    corrections = {
        point.pk: (bound.get(f"cp{point.pk}") or wf.ContactPointCorrectForm.for_point(point))
        for point in view.contact_points
        if point.pk == correcting or f"cp{point.pk}" in bound
    }
    if correcting is not None and correcting in corrections:
        open_panel = f"cp{correcting}"
    wl = request.GET.get("wl") or request.POST.get("wl") or ""
    # What to show; each action checks `workdesk.work_accounts` itself on the server.
    can_work = bool(roles_of(request.user) & WORKING_ROLES)
    context = {
        "view": view,
        "debtor": debtor,
        "creditor": creditor,
        "account": view.account,
        "forms": forms,
        "corrections": corrections,
        "open_panel": open_panel,
        "can_work": can_work,
        "wl": wl,
        "next_url": reverse("workdesk:next")
        + "?"
        + urlencode({"after": debtor.pk})
        + (f"&{wl}" if wl else ""),
        "worklist_url": reverse("workdesk:worklist") + (f"?{wl}" if wl else ""),
        "outcome_meta": {o.pk: o for o in outcomes},
        "as_of": _as_of(),
    }
    context.update(extra or {})
    return context


def _load_debtor(request: HttpRequest, debtor_id: int) -> Debtor:
    return debtor_for(request, debtor_id, account_debtor(Debtor.objects.all()))


@member_required
@require_GET
def account(request: HttpRequest, debtor_id: int) -> HttpResponse:
    debtor = _load_debtor(request, debtor_id)
    return render(request, "workdesk/account.html", _account_context(request, debtor))


def _respond(
    request: HttpRequest,
    debtor: Debtor,
    *,
    ok: str | None = None,
    bound: dict[str, Any] | None = None,
    open_panel: str = "contact",
    extra: dict[str, Any] | None = None,
    level: int = messages.SUCCESS,
    failed: bool | None = None,
) -> HttpResponse:
    """After an action: the account again. With htmx, only its main section (the page swaps it
    in); without, a redirect after success and the whole page with the errors otherwise."""
    if failed is None:
        failed = bound is not None and ok is None
    htmx = bool(getattr(request, "htmx", False))
    if ok is not None and not htmx:
        messages.add_message(request, level, ok)
        url = reverse("workdesk:account", args=[debtor.pk])
        wl = request.POST.get("wl")
        return HttpResponseRedirect(url + (f"?{urlencode({'wl': wl})}" if wl else ""))
    context = _account_context(request, debtor, bound=bound, open_panel=open_panel, extra=extra)
    if ok is not None:
        context["notice"] = ok
        context["notice_level"] = "warn" if level == messages.WARNING else "ok"
    status = 422 if failed else 200
    if htmx:
        return render(request, "workdesk/account.html#account_main", context, status=status)
    return render(request, "workdesk/account.html", context, status=status)


@permission_required(WORK)
@require_POST
def contact_log_view(request: HttpRequest, debtor_id: int) -> HttpResponse:
    debtor = _load_debtor(request, debtor_id)
    points = list(debtor.contact_points.all())
    form = wf.ContactForm(
        request.POST,
        outcomes=outcome_codes_for(debtor.creditor),
        contact_points=points,
        creditor=debtor.creditor,
    )
    if form.is_valid():
        data = form.cleaned_data
        point = next((p for p in points if p.pk == data.get("contact_point")), None)
        try:
            result = contact_record(
                debtor=debtor,
                channel=data["channel"],
                outcome=data["outcome"],
                right_party=data["right_party"],
                note=data["note"],
                at=timezone.now(),
                as_of=_as_of(),
                actor=_actor(request),
                contact_point=point,
                promise_amount=data.get("promise_amount"),
                promise_date=data.get("promise_date"),
                callback_at=data.get("callback_at"),
            )
        except WorkdeskError as exc:
            form.add_error(None, str(exc))
        else:
            text = _("Contact logged: %(outcome)s.") % {"outcome": data["outcome"].label}
            if result.promise is not None:
                text += " " + _("Promise recorded.")
            if result.callback is not None:
                text += " " + _("Callback scheduled.")
            if result.activity.rule_breach:
                text += " " + _("Warning: this contact broke a contact rule: %(rule)s") % {
                    "rule": result.activity.rule_breach
                }
                return _respond(request, debtor, ok=text, level=messages.WARNING)
            return _respond(request, debtor, ok=text)
    return _respond(request, debtor, bound={"contact": form}, open_panel="contact")


@permission_required(WORK)
@require_POST
def promise_view(request: HttpRequest, debtor_id: int) -> HttpResponse:
    debtor = _load_debtor(request, debtor_id)
    view_documents = [
        d for d in debtor.documents.filter(balance_minor__gt=0).order_by("due_date", "id")[:200]
    ]
    form = wf.PromiseForm(request.POST, documents=view_documents, creditor=debtor.creditor)
    if form.is_valid():
        parts = form.parts()
        common = {
            "creditor": debtor.creditor,
            "debtor": debtor,
            "as_of": _as_of(),
            "actor": _actor(request),
            "documents": form.chosen_documents(),
            "channel": form.cleaned_data["channel"],
            "note": form.cleaned_data["note"],
        }
        try:
            if len(parts) == 1:
                promise_create(amount=parts[0][0], promised_date=parts[0][1], **common)
            else:
                promise_plan_create(parts=parts, **common)
        except NegotiationError as exc:
            form.add_error(None, str(exc))
        else:
            return _respond(request, debtor, ok=_("Promise to pay recorded."))
    return _respond(request, debtor, bound={"promise": form}, open_panel="promise")


@permission_required(WORK)
@require_POST
def callback_view(request: HttpRequest, debtor_id: int) -> HttpResponse:
    debtor = _load_debtor(request, debtor_id)
    form = wf.CallbackForm(request.POST)
    if form.is_valid():
        try:
            callback_schedule(
                debtor=debtor,
                due_at=form.cleaned_data["due_at"],
                note=form.cleaned_data["note"],
                actor=_actor(request),
            )
        except WorkdeskError as exc:
            form.add_error("due_at", str(exc))
        else:
            return _respond(request, debtor, ok=_("Callback scheduled."))
    return _respond(request, debtor, bound={"callback": form}, open_panel="callback")


@permission_required(WORK)
@require_POST
def callback_done_view(request: HttpRequest, debtor_id: int, callback_id: int) -> HttpResponse:
    debtor = _load_debtor(request, debtor_id)
    callback = get_object_or_404(Callback, pk=callback_id, debtor=debtor)
    try:
        callback_done(callback=callback, actor=_actor(request))
    except WorkdeskError as exc:
        return _respond(request, debtor, ok=str(exc), level=messages.WARNING)
    return _respond(request, debtor, ok=_("Callback marked as done."))


@permission_required(WORK)
@require_POST
def message_preview_view(request: HttpRequest, debtor_id: int) -> HttpResponse:
    """Step one of "send a message": the message as the debtor would read it, and whether the
    contact rules let it out now."""
    debtor = _load_debtor(request, debtor_id)
    form = wf.MessageForm(request.POST, templates=templates_for(debtor.creditor))
    if form.is_valid():
        template = form.cleaned_data["template"]
        try:
            rendered = template_preview(template=template, debtor=debtor, as_of=_as_of())
        except (RenderError, ValueError) as exc:
            form.add_error("template", _("This template cannot be filled: %(why)s") % {"why": exc})
        else:
            verdict = gate_check(debtor=debtor, channel=template.channel, at=timezone.now())
            return _respond(
                request,
                debtor,
                bound={"message": form},
                open_panel="message",
                extra={"preview": rendered, "verdict": verdict, "preview_template": template},
                failed=False,
            )
    return _respond(request, debtor, bound={"message": form}, open_panel="message")


@permission_required(WORK)
@require_POST
def message_send_view(request: HttpRequest, debtor_id: int) -> HttpResponse:
    debtor = _load_debtor(request, debtor_id)
    form = wf.MessageForm(request.POST, templates=templates_for(debtor.creditor))
    if form.is_valid():
        try:
            message = message_send(
                debtor=debtor,
                template=form.cleaned_data["template"],
                actor=_actor(request),
                nonce=form.cleaned_data["nonce"],
                at=timezone.now(),
            )
        except MessageRefused as exc:
            form.add_error(None, _("The contact rules do not allow it now: %(why)s") % {"why": exc})
            return _respond(
                request,
                debtor,
                bound={"message": form},
                open_panel="message",
                extra={"verdict": exc.verdict},
            )
        except WorkdeskError as exc:
            form.add_error(None, str(exc))
        else:
            return _respond(
                request,
                debtor,
                ok=_("Message queued: it goes out in a moment (%(status)s).")
                % {"status": message.get_status_display()},
            )
    return _respond(request, debtor, bound={"message": form}, open_panel="message")


# Opening a dispute: `views_disputes.dispute_open_view`.


@permission_required(WORK, "portfolio.add_contactpoint")
@require_POST
def contact_point_add_view(request: HttpRequest, debtor_id: int) -> HttpResponse:
    debtor = _load_debtor(request, debtor_id)
    form = wf.ContactPointForm(request.POST)
    if form.is_valid():
        try:
            contact_point_add(
                debtor=debtor,
                kind=form.cleaned_data["kind"],
                value=form.cleaned_data["value"],
                is_primary=form.cleaned_data["is_primary"],
                consents=form.consents(),
                actor=_actor(request),
            )
        except WorkdeskError as exc:
            form.add_error("value", str(exc))
        else:
            return _respond(request, debtor, ok=_("Contact point added."))
    return _respond(request, debtor, bound={"contact_point": form}, open_panel="contact_point")


@permission_required(WORK, "portfolio.change_contactpoint")
@require_POST
def contact_point_correct_view(request: HttpRequest, debtor_id: int, point_id: int) -> HttpResponse:
    debtor = _load_debtor(request, debtor_id)
    point = get_object_or_404(ContactPoint, pk=point_id, debtor=debtor)
    form = wf.ContactPointCorrectForm(request.POST, prefix=f"cp{point.pk}")
    if form.is_valid():
        try:
            contact_point_correct(
                contact_point=point,
                actor=_actor(request),
                reason=form.cleaned_data["reason"],
                value=form.cleaned_data["value"],
                valid=form.cleaned_data["valid"],
                do_not_contact=form.cleaned_data["do_not_contact"],
                consents=form.consents(),
            )
        except WorkdeskError as exc:
            form.add_error("value", str(exc))
        else:
            return _respond(request, debtor, ok=_("Contact point corrected."))
    return _respond(request, debtor, bound={f"cp{point.pk}": form}, open_panel=f"cp{point.pk}")
