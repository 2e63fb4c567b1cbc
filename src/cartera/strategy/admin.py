from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Max
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cartera.core.admin import AuditEventInline, ReadOnlyAdminMixin
from cartera.core.audit import Actor, audit_record
from cartera.messaging.models import Channel
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


STEP_FIELDS = (
    "code",
    "day_offset",
    "action",
    "channels",
    "template_code",
    "target_stage",
    "min_balance_minor",
)


class StepForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        label=gettext_lazy("channels"),
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Step
        fields = STEP_FIELDS


class StepInline(admin.TabularInline):
    model = Step
    form = StepForm
    extra = 0
    fields = STEP_FIELDS


@admin.register(Strategy)
class StrategyAdmin(CreditorScopedAdmin):
    """Editing a strategy that has already acted saves a new version: the runs and actions of
    the old one keep pointing at what decided them."""

    list_display = ("name", "code", "version", "active", "segment", "created_at", "creditor")
    list_filter = (CREDITOR_FILTER, "active")
    readonly_fields = ("version", "active", "created_at", "created_by")
    inlines = [StepInline, AuditEventInline]

    def save_model(self, request: HttpRequest, obj: Strategy, form: Any, change: bool) -> None:
        actor = Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
        if not change:
            obj.created_by = actor.label
            super().save_model(request, obj, form, change)
            return
        if not Action.objects.filter(step__strategy_id=obj.pk).exists():
            super().save_model(request, obj, form, change)
            return
        old = Strategy.objects.get(pk=obj.pk)
        Strategy.objects.filter(pk=old.pk).update(active=False)
        obj.pk = None
        obj._state.adding = True
        obj.version = (
            Strategy.objects.filter(creditor=old.creditor, code=obj.code).aggregate(
                top=Max("version")
            )["top"]
            or 0
        ) + 1
        obj.active = True
        obj.created_at = timezone.now()
        obj.created_by = actor.label
        obj.save()
        request._strategy_revised_from = old  # type: ignore[attr-defined]
        audit_record(
            actor=actor,
            action="strategy.revise",
            obj=obj,
            creditor_id=obj.creditor_id,
            changes={"from_version": old.version},
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        old = getattr(request, "_strategy_revised_from", None)
        if old is None or formset.model is not Step:
            super().save_formset(request, form, formset, change)
            return
        # The new version gets the steps as submitted; the old version's steps stay as they were.
        for step_form in formset.forms:
            data = getattr(step_form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            Step.objects.create(
                strategy=form.instance, **{name: data.get(name) for name in STEP_FIELDS}
            )
        # What the admin's change message reads; the old version's steps were left alone.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def response_change(self, request: HttpRequest, obj: Strategy) -> Any:
        old = getattr(request, "_strategy_revised_from", None)
        if old is not None:
            self.message_user(
                request,
                _(
                    "%(name)s had already acted, so your changes were saved as version "
                    "%(version)s; version %(old)s stays as the record of what it did."
                )
                % {"name": obj.name, "version": obj.version, "old": old.version},
            )
            return HttpResponseRedirect(reverse("admin:strategy_strategy_change", args=[obj.pk]))
        return super().response_change(request, obj)


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


class PauseForm(forms.ModelForm):
    class Meta:
        model = Pause
        fields = ("creditor", "debtor", "documents", "reason", "starts_on", "ends_on", "ends_when")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        debtor, documents = data.get("debtor"), data.get("documents")
        if debtor is not None and documents:
            foreign = [d.number for d in documents if d.debtor_id != debtor.pk]
            if foreign:
                self.add_error(
                    "documents",
                    _("These documents belong to another debtor: %(numbers)s")
                    % {"numbers": ", ".join(foreign)},
                )
        return data


@admin.register(Pause)
class PauseAdmin(CreditorScopedAdmin):
    form = PauseForm
    list_display = (
        "debtor",
        "reason",
        "starts_on",
        "ends_on",
        "ends_when",
        "ended_on",
        "created_by",
    )
    list_filter = (CREDITOR_FILTER, "ends_when")
    search_fields = ("debtor__name", "debtor__external_id", "reason")
    raw_id_fields = ("debtor", "documents")

    def save_model(self, request: HttpRequest, obj: Pause, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)
