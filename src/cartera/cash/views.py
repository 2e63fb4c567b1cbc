"""The cash application pages: statements imported, the unmatched queue, and one line's page
where a person applies a bank line to a debtor, ignores it, or reverses it.

Who may do what is checked on the server for every page and action, from the permissions the
roles hand out (`cartera.core.roles`): reading needs `cash.view_statementline` (every role);
applying and ignoring `cash.change_statementline` (administrators, supervisors, collectors);
reversing `cash.reverse_statementline` (administrators, supervisors). An auditor reads and
gets 403 on every POST. Everything is fetched through the creditors the user belongs to, so
another creditor's statement, line or debtor answers 404.

Each action is a plain POST that works without JavaScript (a redirect to the line with a
message; the page again with the errors, status 422, when the form is wrong). Every page reads
a fixed number of queries, whatever the number of lines, documents or statements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from cartera.cash.forms import (
    ApplyForm,
    IgnoreForm,
    QueueFilterForm,
    ReverseForm,
    amount_for_input,
)
from cartera.cash.models import (
    APPLIED_STATUSES,
    PENDING_STATUSES,
    BankAccount,
    LineStatus,
    StatementImport,
    StatementLine,
)
from cartera.cash.queries import (
    evidence_label,
    line_allocations,
    line_debtor_search,
    line_history,
    line_open_documents,
    statement_imports,
    statement_line_counts,
    unmatched_lines,
    unmatched_summary,
)
from cartera.cash.services import (
    CashError,
    statement_line_apply,
    statement_line_ignore,
    statement_line_reverse,
)
from cartera.core.audit import Actor
from cartera.core.money import format_minor, to_minor
from cartera.portfolio.models import Creditor, Debtor, Document, Payment
from cartera.portfolio.queries import creditors_visible_to

VIEW = "cash.view_statementline"
APPLY = "cash.change_statementline"
REVERSE = "cash.reverse_statementline"
PAGE_SIZE = 25
LINES_PAGE_SIZE = 50
# The most open documents of one debtor the line page offers (oldest due first).
DOCUMENTS_SHOWN = 200

View = TypeVar("View", bound=Callable[..., HttpResponse])


def _requires(*perms: str) -> Callable[[View], View]:
    """Logged in and holding every one of `perms`; 403 otherwise. An in-page (htmx) request
    whose session ended is sent to the login page as a whole page."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                if getattr(request, "htmx", False):
                    current = urlsplit(request.headers.get("HX-Current-URL") or "")
                    back = (
                        current.path + (f"?{current.query}" if current.query else "")
                        if current.path
                        else request.get_full_path()
                    )
                    return HttpResponseClientRedirect(
                        f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}"
                    )
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perms(perms):
                raise PermissionDenied(_("Your role does not allow this."))
            return view(request, *args, **kwargs)

        return cast(View, wrapper)

    return decorate


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))


def _creditors(request: HttpRequest) -> list[Creditor]:
    return list(creditors_visible_to(request.user).order_by("code"))


def _chosen_creditor(request: HttpRequest, creditors: list[Creditor]) -> Creditor | None:
    """The creditor of `?creditor=`, None when not given; 404 for one the user cannot see."""
    wanted = request.GET.get("creditor")
    if not wanted:
        return None
    try:
        return next(c for c in creditors if c.pk == int(wanted))
    except (StopIteration, ValueError) as exc:
        raise Http404(_("No such creditor")) from exc


def _query_without_page(params: QueryDict) -> str:
    kept = params.copy()
    kept.pop("page", None)
    return kept.urlencode()


# -- statements ---------------------------------------------------------------------------------


@dataclass
class LineCounts:
    lines: int = 0
    debits: int = 0
    applied_auto: int = 0
    applied_manual: int = 0
    pending: int = 0
    ignored: int = 0

    @classmethod
    def of(cls, by_status: dict[str, int]) -> LineCounts:
        return cls(
            lines=sum(by_status.values()),
            debits=by_status.get(LineStatus.DEBIT, 0),
            applied_auto=by_status.get(LineStatus.APPLIED_AUTO, 0),
            applied_manual=by_status.get(LineStatus.APPLIED_MANUAL, 0),
            pending=sum(by_status.get(status, 0) for status in PENDING_STATUSES),
            ignored=by_status.get(LineStatus.IGNORED, 0),
        )


@_requires(VIEW)
@require_GET
def statements(request: HttpRequest) -> HttpResponse:
    """The statements imported for the user's creditors, newest first, with what became of
    their lines: applied automatically, by hand, waiting in the queue, ignored."""
    creditors = _creditors(request)
    creditor = _chosen_creditor(request, creditors)
    scope = [creditor] if creditor is not None else creditors
    page = Paginator(
        statement_imports(creditors=scope).select_related("creditor"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    records: list[StatementImport] = list(page.object_list)
    counts = statement_line_counts(import_ids=[record.pk for record in records])
    by_code = {c.code: c for c in creditors}
    waiting = [
        {
            "creditor": by_code[row["creditor__code"]],
            "currency": row["currency"],
            "lines": row["lines"],
            "total": format_minor(
                row["total_minor"] or 0, row["currency"], by_code[row["creditor__code"]].locale
            ),
        }
        for row in unmatched_summary(creditors=scope)
    ]
    context = {
        "cash_section": "statements",
        "creditors": creditors,
        "creditor": creditor,
        "page": page,
        "rows": [(record, LineCounts.of(counts.get(record.pk, {}))) for record in records],
        "waiting": waiting,
        "query": _query_without_page(request.GET),
    }
    return render(request, "cash/statements.html", context)


LINE_FILTERS: dict[str, tuple[str, ...]] = {
    "pending": tuple(PENDING_STATUSES),
    "applied": tuple(APPLIED_STATUSES),
    "ignored": (LineStatus.IGNORED,),
    "debit": (LineStatus.DEBIT,),
}


@_requires(VIEW)
@require_GET
def statement(request: HttpRequest, import_id: int) -> HttpResponse:
    """One statement's lines in file order, each with its status and a link to its page."""
    record = get_object_or_404(
        StatementImport.objects.select_related("creditor"),
        pk=import_id,
        creditor__in=creditors_visible_to(request.user),
    )
    shown = request.GET.get("status", "")
    lines = (
        StatementLine.objects.filter(statement_import=record)
        .select_related("bank_account", "debtor")
        .order_by("position", "id")
    )
    if shown in LINE_FILTERS:
        lines = lines.filter(status__in=LINE_FILTERS[shown])
    else:
        shown = ""
    page = Paginator(lines, LINES_PAGE_SIZE).get_page(request.GET.get("page"))
    counts = LineCounts.of(statement_line_counts(import_ids=[record.pk])[record.pk])
    context = {
        "cash_section": "statements",
        "record": record,
        "creditor": record.creditor,
        "counts": counts,
        "page": page,
        "shown": shown,
        "query": _query_without_page(request.GET),
    }
    return render(request, "cash/statement.html", context)


# -- the unmatched queue ------------------------------------------------------------------------


@dataclass
class ProposalView:
    """A proposal of the matcher, as stored with the line, ready to show."""

    index: int
    debtor_id: int
    name: str
    confidence: int
    evidence: list[str]
    shares: list[tuple[str, str]]  # (document number, amount as the creditor writes it)
    oldest_first: bool


def _proposals(line: StatementLine) -> list[ProposalView]:
    locale = line.creditor.locale
    shown = []
    for index, proposal in enumerate(line.proposals or []):
        shown.append(
            ProposalView(
                index=index,
                debtor_id=int(proposal.get("debtor", 0)),
                name=str(proposal.get("name", "")),
                confidence=int(proposal.get("confidence", 0)),
                evidence=[evidence_label(item) for item in proposal.get("evidence", [])],
                shares=[
                    (
                        str(share.get("number", "")),
                        format_minor(int(share.get("amount_minor", 0)), line.currency, locale),
                    )
                    for share in proposal.get("shares", [])
                ],
                oldest_first=proposal.get("documents") is None,
            )
        )
    return shown


@_requires(VIEW)
@require_GET
def unmatched(request: HttpRequest) -> HttpResponse:
    """The unmatched queue, oldest first: every credit line waiting for a person, with the
    proposals the matcher made and their evidence."""
    creditors = _creditors(request)
    _chosen_creditor(request, creditors)  # another creditor's id: 404
    accounts = list(
        BankAccount.objects.filter(creditor__in=creditors).order_by("creditor_id", "name")
    )
    form = QueueFilterForm(request.GET, creditors=creditors, accounts=accounts)
    form.is_valid()
    data = form.cleaned_data
    chosen = data.get("creditor")
    scope = [c for c in creditors if c.pk == chosen] if chosen else creditors
    lines = unmatched_lines(
        creditors=scope,
        search=data.get("q") or "",
        bank_account_id=data.get("bank_account"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        amount_min=data.get("amount_min"),
        amount_max=data.get("amount_max"),
        oldest_first=True,
    )
    page = Paginator(lines, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(line, _proposals(line)) for line in page.object_list]
    context = {
        "cash_section": "unmatched",
        "creditors": creditors,
        "form": form,
        "page": page,
        "rows": rows,
        "filtered": any(
            data.get(name)
            for name in (
                "creditor",
                "bank_account",
                "date_from",
                "date_to",
                "amount_min",
                "amount_max",
                "q",
            )
        ),
        "query": _query_without_page(request.GET),
    }
    return render(request, "cash/unmatched.html", context)


# -- one line -----------------------------------------------------------------------------------


def _line_for(request: HttpRequest, line_id: int) -> StatementLine:
    return get_object_or_404(
        StatementLine.objects.select_related(
            "creditor", "bank_account", "debtor", "payment", "statement_import"
        ),
        pk=line_id,
        creditor__in=creditors_visible_to(request.user),
    )


def _debtor_of_line(line: StatementLine, value: Any) -> Debtor:
    """A debtor of the line's creditor; 404 for anyone else's (or nonsense)."""
    try:
        wanted = int(value)
    except (TypeError, ValueError) as exc:
        raise Http404(_("No such debtor")) from exc
    return get_object_or_404(Debtor, pk=wanted, creditor_id=line.creditor_id)


def _prefill(line: StatementLine, debtor: Debtor, documents: list[Document], index: Any) -> dict:
    """The amounts of proposal `index` (if it is for `debtor`), each capped at what the
    document owes now, as initial values of the apply form."""
    try:
        proposal = (line.proposals or [])[int(index)]
    except (TypeError, ValueError, IndexError):
        return {}
    if int(proposal.get("debtor", 0)) != debtor.pk:
        return {}
    by_id = {document.pk: document for document in documents}
    initial = {}
    for share in proposal.get("shares", []):
        document = by_id.get(int(share.get("document", 0)))
        if document is not None:
            minor = min(int(share.get("amount_minor", 0)), document.balance_minor)
            if minor > 0:
                initial[ApplyForm.amount_name(document)] = amount_for_input(
                    minor, line.currency, line.creditor.locale
                )
    return initial


def _line_context(
    request: HttpRequest,
    line: StatementLine,
    *,
    debtor: Debtor | None = None,
    apply_form: ApplyForm | None = None,
    ignore_form: IgnoreForm | None = None,
    reverse_form: ReverseForm | None = None,
) -> dict[str, Any]:
    user = request.user
    pending = line.is_credit and line.is_pending
    can_apply = pending and user.has_perm(APPLY)
    text = " ".join((request.GET.get("q") or "").split())
    results = line_debtor_search(line=line, text=text) if can_apply and text else None
    if debtor is None and can_apply and request.GET.get("debtor"):
        debtor = _debtor_of_line(line, request.GET.get("debtor"))
    documents: list[Document] = []
    if debtor is not None and can_apply:
        documents = (
            apply_form.documents
            if apply_form is not None
            else list(line_open_documents(line=line, debtor=debtor)[:DOCUMENTS_SHOWN])
        )
        if apply_form is None:
            apply_form = ApplyForm(
                line=line,
                documents=documents,
                initial={
                    "debtor": debtor.pk,
                    **_prefill(line, debtor, documents, request.GET.get("proposal")),
                },
            )
    next_line = (
        unmatched_lines(creditors=[line.creditor], oldest_first=True)
        .exclude(pk=line.pk)
        .values_list("pk", flat=True)
        .first()
    )
    can_ignore = can_apply and line.payment_id is None
    can_reverse = line.status in APPLIED_STATUSES and user.has_perm(REVERSE)
    # A refusal of a form the page no longer shows (the line changed meanwhile, or it may not
    # be ignored) is said at the top of the page.
    shown = {
        "apply": can_apply and debtor is not None,
        "ignore": can_ignore,
        "reverse": can_reverse,
    }
    refusals = [
        str(error)
        for name, form in (
            ("apply", apply_form),
            ("ignore", ignore_form),
            ("reverse", reverse_form),
        )
        if form is not None and form.is_bound and not shown[name]
        for error in form.non_field_errors()
    ]
    return {
        "cash_section": "unmatched" if pending else "statements",
        "line": line,
        "creditor": line.creditor,
        "pending": pending,
        "can_apply": can_apply,
        # A line whose payment is recorded (applied, then reversed) is applied again, never
        # ignored: the payment exists.
        "can_ignore": can_ignore,
        "can_reverse": can_reverse,
        "refusals": refusals,
        "proposals": _proposals(line) if pending else [],
        "evidence": [evidence_label(item) for item in line.evidence or []],
        "q": text,
        "results": results,
        "debtor": debtor,
        "documents_owed": sum(document.balance_minor for document in documents),
        "amount_example": amount_for_input(
            to_minor(Decimal("1234567.89"), line.currency), line.currency, line.creditor.locale
        ),
        "documents_capped": len(documents) >= DOCUMENTS_SHOWN,
        "apply_form": apply_form,
        "ignore_form": ignore_form or IgnoreForm(),
        "reverse_form": reverse_form or ReverseForm(),
        "allocations": list(line_allocations(line=line)) if line.payment_id else [],
        "history": list(line_history(line=line)[:20]),
        "next_line": next_line,
    }


@_requires(VIEW)
@require_GET
def line_page(request: HttpRequest, line_id: int) -> HttpResponse:
    line = _line_for(request, line_id)
    return render(request, "cash/line.html", _line_context(request, line))


def _done(request: HttpRequest, line: StatementLine, text: str) -> HttpResponse:
    messages.success(request, text)
    return HttpResponseRedirect(reverse("cash:line", args=[line.pk]))


@_requires(VIEW, APPLY)
@require_POST
def line_apply(request: HttpRequest, line_id: int) -> HttpResponse:
    """Apply the line to a debtor: oldest due first, or the amounts written per document."""
    line = _line_for(request, line_id)
    debtor = _debtor_of_line(line, request.POST.get("debtor"))
    documents = list(line_open_documents(line=line, debtor=debtor)[:DOCUMENTS_SHOWN])
    form = ApplyForm(request.POST, line=line, documents=documents)
    if form.is_valid():
        try:
            line = statement_line_apply(
                line=line,
                debtor=debtor,
                allocations=form.cleaned_data["allocations"],
                actor=_actor(request),
            )
        except CashError as exc:
            form.add_error(None, str(exc))
        else:
            payment = Payment.objects.only("amount_minor", "unapplied_minor", "currency").get(
                statement_line=line
            )
            locale = line.creditor.locale
            return _done(
                request,
                line,
                _(
                    "Applied to %(debtor)s: %(applied)s to documents, %(credit)s left as the "
                    "debtor's credit."
                )
                % {
                    "debtor": debtor.name,
                    "applied": format_minor(
                        payment.amount_minor - payment.unapplied_minor, payment.currency, locale
                    ),
                    "credit": format_minor(payment.unapplied_minor, payment.currency, locale),
                },
            )
    context = _line_context(request, line, debtor=debtor, apply_form=form)
    return render(request, "cash/line.html", context, status=422)


@_requires(VIEW, APPLY)
@require_POST
def line_ignore(request: HttpRequest, line_id: int) -> HttpResponse:
    """Set the line aside: it is not a debtor's payment."""
    line = _line_for(request, line_id)
    form = IgnoreForm(request.POST)
    if form.is_valid():
        try:
            statement_line_ignore(
                line=line, reason=form.cleaned_data["text"], actor=_actor(request)
            )
        except CashError as exc:
            form.add_error(None, str(exc))
        else:
            return _done(request, line, _("Line ignored: it is not a debtor's payment."))
    context = _line_context(request, line, ignore_form=form)
    return render(request, "cash/line.html", context, status=422)


@_requires(VIEW, REVERSE)
@require_POST
def line_reverse(request: HttpRequest, line_id: int) -> HttpResponse:
    """Undo an applied line: the documents owe again and the line waits in the queue."""
    line = _line_for(request, line_id)
    form = ReverseForm(request.POST)
    if form.is_valid():
        try:
            statement_line_reverse(
                line=line, reason=form.cleaned_data["reason"], actor=_actor(request)
            )
        except CashError as exc:
            form.add_error(None, str(exc))
        else:
            return _done(
                request,
                line,
                _("Payment reversed: the line waits in the queue to be applied again."),
            )
    context = _line_context(request, line, reverse_form=form)
    return render(request, "cash/line.html", context, status=422)


__all__ = [
    "line_apply",
    "line_ignore",
    "line_page",
    "line_reverse",
    "statement",
    "statements",
    "unmatched",
]
