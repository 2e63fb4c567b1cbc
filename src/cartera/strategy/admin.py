from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cartera.core.admin import AuditEventInline, ReadOnlyAdminMixin
from cartera.core.audit import Actor
from cartera.portfolio.admin import CREDITOR_FILTER, CreditorScopedAdmin
from cartera.strategy.models import (
    Account,
    Action,
    Alert,
    AssignmentRule,
    Episode,
    Pause,
    Run,
    Segment,
    Stage,
    Step,
    Strategy,
)
from cartera.strategy.services import StageRefused, account_stage_set


@admin.register(Stage)
class StageAdmin(CreditorScopedAdmin):
    list_display = ("name", "code", "order", "min_dpd", "requires_confirmation", "creditor")
    list_filter = (CREDITOR_FILTER,)
    ordering = ("creditor", "order")


@admin.register(Segment)
class SegmentAdmin(CreditorScopedAdmin):
    list_display = (
        "name",
        "code",
        "order",
        "min_total_minor",
        "min_overdue_minor",
        "min_dpd",
        "max_dpd",
        "debtor_kind",
        "country",
        "tag",
        "creditor",
    )
    list_filter = (CREDITOR_FILTER, "debtor_kind")
    list_editable = ("order",)
    ordering = ("creditor", "order")


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    fields = (
        "code",
        "day_offset",
        "action",
        "channels",
        "template_code",
        "target_stage",
        "min_balance_minor",
    )


@admin.register(Strategy)
class StrategyAdmin(CreditorScopedAdmin):
    list_display = ("name", "code", "version", "active", "segment", "created_at", "creditor")
    list_filter = (CREDITOR_FILTER, "active")
    inlines = [StepInline, AuditEventInline]


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(CreditorScopedAdmin):
    list_display = (
        "name",
        "order",
        "segment",
        "stage",
        "country",
        "region",
        "balance_by",
        "creditor",
    )
    list_filter = (CREDITOR_FILTER,)
    filter_horizontal = ("collectors",)
    ordering = ("creditor", "order")


@admin.register(Account)
class AccountAdmin(CreditorScopedAdmin):
    list_display = (
        "debtor",
        "stage",
        "segment",
        "overdue_minor",
        "max_dpd",
        "paused_reason",
        "collector",
        "legal_review",
        "credit_hold",
        "evaluated_on",
    )
    list_filter = (CREDITOR_FILTER, "stage", "segment", "overdue", "legal_review", "credit_hold")
    search_fields = ("debtor__name", "debtor__external_id")
    list_select_related = ("debtor", "stage", "segment", "collector")
    raw_id_fields = ("debtor", "episode")
    show_full_result_count = False

    actions = ["confirm_legal", "write_off", "hand_to_agency"]
    # The stage follows days past due and these decisions, never a free edit.
    readonly_fields = ("stage",)

    def _move(self, request: HttpRequest, queryset: Any, code: str) -> None:
        moved = 0
        for account in queryset.select_related("creditor"):
            stage = Stage.objects.filter(creditor=account.creditor, code=code).first()
            try:
                if stage is None:
                    raise StageRefused(f"{account.creditor.code} has no stage {code}")
                account_stage_set(
                    account=account,
                    stage=stage,
                    as_of=timezone.localdate(),
                    actor=Actor.for_user(request.user, request.META.get("REMOTE_ADDR")),
                )
                moved += 1
            except StageRefused as exc:
                self.message_user(request, f"{account}: {exc}", messages.WARNING)
        if moved:
            self.message_user(request, _("%(n)s account(s) moved") % {"n": moved})

    @admin.action(
        description=gettext_lazy("Confirm the legal stage (jurídica)"), permissions=["change"]
    )
    def confirm_legal(self, request: HttpRequest, queryset: Any) -> None:
        self._move(request, queryset, "juridica")

    @admin.action(description=gettext_lazy("Write off (castigada)"), permissions=["change"])
    def write_off(self, request: HttpRequest, queryset: Any) -> None:
        self._move(request, queryset, "castigada")

    @admin.action(description=gettext_lazy("Hand off to an agency"), permissions=["change"])
    def hand_to_agency(self, request: HttpRequest, queryset: Any) -> None:
        self._move(request, queryset, "agencia")

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        # A collector chosen by hand stays until someone clears the field (rules then apply).
        if "collector" in form.changed_data:
            obj.collector_pinned = obj.collector_id is not None
        super().save_model(request, obj, form, change)


@admin.register(Episode)
class EpisodeAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    list_display = ("debtor", "opened_on", "anchor_due_date", "cured_on", "stage")
    list_filter = (CREDITOR_FILTER, "stage")
    search_fields = ("debtor__name", "debtor__external_id")
    list_select_related = ("debtor", "stage")
    show_full_result_count = False


@admin.register(Run)
class RunAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    list_display = ("as_of", "creditor", "started_by", "started_at", "finished_at")
    list_filter = (CREDITOR_FILTER,)
    inlines = [AuditEventInline]


@admin.register(Action)
class ActionAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    list_display = ("due_on", "debtor", "step", "kind", "status", "assigned_to", "reason")
    list_filter = (CREDITOR_FILTER, "status", "kind", "due_on")
    search_fields = ("debtor__name", "debtor__external_id", "reason")
    list_select_related = ("debtor", "step", "assigned_to")
    show_full_result_count = False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    list_display = ("created_on", "kind", "debtor", "collector", "message", "read_at")
    list_filter = (CREDITOR_FILTER, "kind", "created_on")
    search_fields = ("debtor__name", "message")
    list_select_related = ("debtor", "collector")


@admin.register(Pause)
class PauseAdmin(CreditorScopedAdmin):
    list_display = ("debtor", "reason", "starts_on", "ends_on", "created_by")
    list_filter = (CREDITOR_FILTER,)
    search_fields = ("debtor__name", "debtor__external_id", "reason")
    raw_id_fields = ("debtor", "documents")
