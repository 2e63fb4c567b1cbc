"""The workdesk's configuration in the administration: outcome codes, targets, worklist
weights; callbacks to look up. Scoped per creditor like every admin page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cartera.core.admin import ReadOnlyAdminMixin
from cartera.portfolio.admin import CREDITOR_FILTER, CreditorScopedAdmin
from cartera.portfolio.queries import creditors_visible_to
from cartera.workdesk.models import Callback, OutcomeCode, Target, WorklistWeights


@admin.register(OutcomeCode)
class OutcomeCodeAdmin(CreditorScopedAdmin):
    """Defaults (no creditor) are shown to everyone and changed only by superusers; a creditor
    replaces one by adding its own code with the same `code`."""

    list_display = ("label", "code", "category", "right_party", "order", "active", "creditor")
    list_filter = ("category", "active", CREDITOR_FILTER)
    list_editable = ("order", "active")
    search_fields = ("code", "label")
    ordering = ("creditor", "order", "code")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = OutcomeCode.objects.select_related("creditor")
        if request.user.is_superuser:
            return queryset
        visible = creditors_visible_to(request.user)
        return queryset.filter(Q(creditor__in=visible) | Q(creditor__isnull=True))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.creditor_id is None and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.creditor_id is None and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Target)
class TargetAdmin(CreditorScopedAdmin):
    list_display = ("month", "metric", "user", "value", "creditor", "updated_by")
    list_filter = ("metric", CREDITOR_FILTER)
    ordering = ("-month", "metric")


@admin.register(WorklistWeights)
class WorklistWeightsAdmin(CreditorScopedAdmin):
    list_display = (
        "creditor",
        "broken_promise",
        "promise_due_today",
        "callback_due",
        "strategy_task",
        "new_delinquent",
        "high_balance",
        "high_balance_minor",
    )
    fieldsets = (
        (None, {"fields": ("creditor",)}),
        (
            _("Points per reason"),
            {
                "fields": (
                    "broken_promise",
                    "promise_due_today",
                    "callback_due",
                    "strategy_task",
                    "new_delinquent",
                    "high_balance",
                    "contacted_today",
                    "paused",
                )
            },
        ),
        (
            _("Points in proportion"),
            {"fields": ("overdue_points", "high_balance_minor", "dpd_points", "dpd_cap")},
        ),
        (_("How long a reason lasts"), {"fields": ("broken_promise_days", "new_delinquent_days")}),
    )


@admin.register(Callback)
class CallbackAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    list_display = ("due_at", "debtor", "user", "note", "done_at", "created_by")
    list_filter = (CREDITOR_FILTER,)
    list_select_related = ("debtor", "user")
    search_fields = ("debtor__name",)
    date_hierarchy = "due_at"
