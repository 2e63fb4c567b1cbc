"""The cash application admin: bank accounts, imports, statement lines (scoped per creditor).

Lines are read-only here: they change through the services (apply, ignore, reverse), which
keep the ledger; the reversal action asks for the reason it records.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cartera.cash.models import (
    APPLIED_STATUSES,
    PENDING_STATUSES,
    BankAccount,
    KnownAccount,
    StatementImport,
    StatementLine,
)
from cartera.cash.parsers import account_key
from cartera.cash.queries import evidence_label
from cartera.cash.services import CashError, statement_line_reverse, statement_lines_rematch
from cartera.core.admin import AuditEventInline, ReadOnlyAdminMixin
from cartera.core.audit import Actor
from cartera.portfolio.admin import CREDITOR_FILTER, CreditorScopedAdmin, money_column


@admin.register(BankAccount)
class BankAccountAdmin(CreditorScopedAdmin):
    list_display = ("name", "number", "bank", "currency", "creditor")
    list_filter = (CREDITOR_FILTER, "currency")
    search_fields = ("name", "number", "bank")
    list_select_related = ("creditor",)
    fields = ("creditor", "name", "bank", "number", "currency", "created_at")
    readonly_fields = ("created_at",)
    inlines = [AuditEventInline]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.number_key = account_key(obj.number)[:60]
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Its lines keep it (PROTECT); an account with none may go.
        return super().has_delete_permission(request, obj) and (
            obj is None or not obj.lines.exists()
        )


@admin.register(StatementImport)
class StatementImportAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    list_display = (
        "id",
        "started_at",
        "file_name",
        "format",
        "status",
        "lines",
        "credits",
        "applied",
        "waiting",
        "duplicates",
        "actor",
        "creditor",
    )
    list_filter = (CREDITOR_FILTER, "status", "format")
    search_fields = ("file_name", "file_sha256", "actor")
    list_select_related = ("creditor",)
    fields = (
        "creditor",
        "file_name",
        "file_sha256",
        "file_size",
        "format",
        "status",
        "lines",
        "credits",
        "debits",
        "applied",
        "waiting",
        "duplicates",
        "unreadable",
        "message",
        "actor",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields
    inlines = [AuditEventInline]


class PendingFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("pending", _("Waiting to be applied")), ("applied", _("Applied"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "pending":
            return queryset.filter(status__in=PENDING_STATUSES)
        if self.value() == "applied":
            return queryset.filter(status__in=APPLIED_STATUSES)
        return queryset


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    list_display = (
        "booking_date",
        "amount_display",
        "direction",
        "status",
        "confidence",
        "debtor",
        "short_text",
        "counterparty_name",
        "bank_account",
        "creditor",
    )
    list_filter = (CREDITOR_FILTER, PendingFilter, "status", "is_credit", "bank_account")
    search_fields = (
        "text",
        "counterparty_name",
        "counterparty_account",
        "bank_reference",
        "debtor__name",
        "payment__external_id",
    )
    list_select_related = ("creditor", "debtor", "bank_account")
    date_hierarchy = "booking_date"
    show_full_result_count = False
    actions = ["reverse_selected", "match_again"]
    fields = (
        "creditor",
        "bank_account",
        "statement_import",
        "position",
        "booking_date",
        "value_date",
        "amount_display",
        "currency",
        "is_credit",
        "bank_reference",
        "text",
        "counterparty_name",
        "counterparty_account",
        "status",
        "debtor",
        "payment",
        "confidence",
        "evidence_display",
        "proposals_display",
        "note",
        "decided_by",
        "decided_at",
        "reversals",
        "dedupe_key",
        "created_at",
    )
    readonly_fields = fields
    inlines = [AuditEventInline]

    amount_display = money_column("amount_minor", _("amount"))

    @admin.display(description=_("direction"), ordering="is_credit")
    def direction(self, obj: StatementLine) -> str:
        return str(_("in") if obj.is_credit else _("out"))

    @admin.display(description=_("remittance text"))
    def short_text(self, obj: StatementLine) -> str:
        return obj.text if len(obj.text) <= 60 else obj.text[:59] + "…"

    @admin.display(description=_("evidence"))
    def evidence_display(self, obj: StatementLine) -> str:
        return "; ".join(evidence_label(item) for item in obj.evidence or []) or "—"

    @admin.display(description=_("proposals"))
    def proposals_display(self, obj: StatementLine) -> str:
        shown = []
        for proposal in obj.proposals or []:
            numbers = ", ".join(share["number"] for share in proposal.get("shares", []))
            shown.append(
                f"{proposal.get('name', '')} ({proposal.get('confidence', 0)} %)"
                + (f": {numbers}" if numbers else "")
            )
        return " | ".join(shown) or "—"

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("cash.reverse_statementline"))

    def has_rematch_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("cash.change_statementline"))

    @admin.action(description=_("Reverse the applied payment"), permissions=["reverse"])
    def reverse_selected(
        self, request: HttpRequest, queryset: QuerySet[StatementLine]
    ) -> HttpResponse | None:
        lines = list(queryset.filter(status__in=APPLIED_STATUSES).select_related("payment"))
        if not lines:
            self.message_user(
                request, _("None of the selected lines is applied."), messages.WARNING
            )
            return None
        reason = " ".join(request.POST.get("reason", "").split())
        if "confirm" in request.POST and reason:
            actor = Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
            done = 0
            for line in lines:
                try:
                    statement_line_reverse(line=line, reason=reason, actor=actor)
                    done += 1
                except CashError as exc:
                    self.message_user(request, f"{line}: {exc}", messages.ERROR)
            if done:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d line reversed: it waits to be applied again.",
                        "%(count)d lines reversed: they wait to be applied again.",
                        done,
                    )
                    % {"count": done},
                    messages.SUCCESS,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reverse applied payments"),
            "lines": lines,
            "queryset": queryset,
            "opts": self.model._meta,
            "action": "reverse_selected",
            "reason_missing": "confirm" in request.POST and not reason,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/cash/statementline/reverse.html", context)

    @admin.action(description=_("Match the waiting lines again"), permissions=["rematch"])
    def match_again(self, request: HttpRequest, queryset: QuerySet[StatementLine]) -> None:
        actor = Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
        pending = queryset.filter(status__in=PENDING_STATUSES).select_related("creditor")
        by_creditor: dict[int, list[StatementLine]] = {}
        for line in pending:
            by_creditor.setdefault(line.creditor_id, []).append(line)
        applied = waiting = 0
        for lines in by_creditor.values():
            done, left = statement_lines_rematch(
                creditor=lines[0].creditor, actor=actor, lines=lines
            )
            applied, waiting = applied + done, waiting + left
        self.message_user(
            request,
            _("Applied automatically: %(applied)d; still waiting: %(waiting)d.")
            % {"applied": applied, "waiting": waiting},
            messages.SUCCESS,
        )


@admin.register(KnownAccount)
class KnownAccountAdmin(CreditorScopedAdmin):
    """Accounts learnt from lines applied by hand; delete one that was learnt wrongly."""

    list_display = ("account", "name", "debtor", "created_by", "created_at", "creditor")
    list_filter = (CREDITOR_FILTER,)
    search_fields = ("account", "name", "debtor__name", "debtor__external_id")
    list_select_related = ("creditor", "debtor")
    fields = ("creditor", "account", "name", "debtor", "learned_from", "created_by", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
