"""Promises, plans and disputes in the admin, scoped to the user's creditors.

They are created and decided only through `cartera.negotiation.services` (validation,
cancellations, audit): here they are read, and staff may correct a note.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cartera.core.admin import AuditEventInline, ReadOnlyAdminMixin
from cartera.negotiation.models import Dispute, DisputeDocument, Promise, PromisePlan
from cartera.portfolio.admin import CREDITOR_FILTER, CreditorScopedAdmin, money_column


class ServiceWrittenAdmin(CreditorScopedAdmin):
    """Nothing is added or deleted here, and only the fields in `editable` may change."""

    editable: tuple[str, ...] = ()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        meta = self.model._meta
        names = [f.name for f in meta.get_fields() if f.concrete and not f.primary_key]
        names += [field.name for field in meta.many_to_many]
        return [name for name in dict.fromkeys(names) if name not in self.editable]


@admin.register(Promise)
class PromiseAdmin(ServiceWrittenAdmin):
    editable = ("note",)
    list_display = (
        "debtor",
        "amount_display",
        "currency",
        "promised_date",
        "deadline",
        "status",
        "paid_display",
        "decided_on",
        "plan",
        "channel",
        "creditor",
    )
    list_filter = (CREDITOR_FILTER, "status", "channel", "promised_date", "decided_on")
    search_fields = ("debtor__name", "debtor__external_id", "documents__number", "note")
    list_select_related = ("debtor", "creditor")
    date_hierarchy = "promised_date"
    inlines = [AuditEventInline]
    show_full_result_count = False

    amount_display = money_column("amount_minor", _("amount"))
    paid_display = money_column("paid_minor", _("paid"))


class PromisePartInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Promise
    fields = (
        "promised_date",
        "amount_minor",
        "currency",
        "deadline",
        "status",
        "paid_minor",
        "decided_on",
    )
    readonly_fields = fields
    extra = 0
    ordering = ("promised_date", "id")
    verbose_name = _("part")
    verbose_name_plural = _("parts")


@admin.register(PromisePlan)
class PromisePlanAdmin(ServiceWrittenAdmin):
    list_display = ("__str__", "debtor", "taken_by", "created_at", "creditor")
    list_filter = (CREDITOR_FILTER, "created_at")
    search_fields = ("debtor__name", "debtor__external_id")
    list_select_related = ("debtor", "creditor", "taken_by")
    inlines = [PromisePartInline, AuditEventInline]
    show_full_result_count = False


class DisputeDocumentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DisputeDocument
    fields = ("document", "is_open")
    readonly_fields = fields
    extra = 0


@admin.register(Dispute)
class DisputeAdmin(ServiceWrittenAdmin):
    editable = ("note", "resolution_note")
    list_display = (
        "__str__",
        "debtor",
        "category",
        "status",
        "opened_on",
        "sla_due_on",
        "resolution",
        "resolved_on",
        "creditor",
    )
    list_filter = (CREDITOR_FILTER, "status", "category", "resolution", "sla_due_on")
    search_fields = ("debtor__name", "debtor__external_id", "documents__number", "note")
    list_select_related = ("debtor", "creditor")
    date_hierarchy = "opened_on"
    inlines = [DisputeDocumentInline, AuditEventInline]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The documents are listed by the inline (a through model cannot be a form field).
        return [name for name in super().get_readonly_fields(request, obj) if name != "documents"]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["documents"]
