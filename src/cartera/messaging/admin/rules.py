"""Admin pages of the contact rules (edited by admins) and of the gate overrides (read only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from cartera.core.admin import AuditEventInline, ReadOnlyAdminMixin
from cartera.core.audit import Actor, audit_record, field_changes
from cartera.messaging.jurisdictions import (
    ANY_COUNTRY,
    RuleError,
    contact_rule_restore,
    content_digest,
    country_problem,
    hours_display,
    parse_caps,
    parse_hours,
    rule_content,
    shipped_default,
)
from cartera.messaging.models import ContactRule, GateOverride
from cartera.portfolio.admin import CREDITOR_FILTER, CreditorScopedAdmin


class ContactRuleForm(forms.ModelForm):
    """Explains each mistake in the rule's data next to the field that has it."""

    class Meta:
        model = ContactRule
        fields = (
            "country",
            "debtor_kind",
            "name",
            "active",
            "verify_with_counsel",
            "source",
            "description",
            "hours",
            "no_holidays",
            "max_per_day",
            "max_per_week",
            "channel_caps",
            "min_gap_hours",
            "one_channel_per_week",
            "week_mode",
            "counts_reached_only",
            "quiet_days_after_conversation",
            "consent_required",
        )
        widgets = {
            "hours": forms.Textarea(attrs={"rows": 4, "cols": 80}),
            "channel_caps": forms.Textarea(attrs={"rows": 3, "cols": 80}),
        }

    def clean_country(self) -> str:
        return (self.cleaned_data.get("country") or "").strip().upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        if "country" in data and country_problem(data["country"]):
            self.add_error("country", country_problem(data["country"]))
        # A field whose JSON did not parse already carries Django's own error.
        for field, parse in (("hours", parse_hours), ("channel_caps", parse_caps)):
            if field in data:
                try:
                    parse(data[field])
                except RuleError as error:
                    self.add_error(field, str(error))
        return data


@admin.register(ContactRule)
class ContactRuleAdmin(admin.ModelAdmin):
    """Rules are per jurisdiction, shared by every creditor: only admins edit them."""

    form = ContactRuleForm
    list_display = (
        "name",
        "country_label",
        "kind_label",
        "active",
        "counsel_flag",
        "hours_label",
        "shipped_label",
    )
    list_display_links = ("name",)
    list_filter = ("active", "verify_with_counsel", "country", "debtor_kind")
    search_fields = ("name", "country", "source", "description")
    readonly_fields = ("hours_label", "shipped_label", "updated_at")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "country",
                    "debtor_kind",
                    "name",
                    "active",
                    "verify_with_counsel",
                    "source",
                    "description",
                )
            },
        ),
        (_("When"), {"fields": ("hours", "hours_label", "no_holidays")}),
        (
            _("How often"),
            {
                "fields": (
                    "max_per_day",
                    "max_per_week",
                    "channel_caps",
                    "min_gap_hours",
                    "one_channel_per_week",
                    "week_mode",
                    "counts_reached_only",
                    "quiet_days_after_conversation",
                )
            },
        ),
        (_("Consent"), {"fields": ("consent_required",)}),
        (_("Record"), {"fields": ("shipped_label", "updated_at")}),
    )
    actions = ["restore_shipped"]
    inlines = [AuditEventInline]

    @admin.display(description=_("country"), ordering="country")
    def country_label(self, obj: ContactRule) -> str:
        return gettext("any other") if obj.country == ANY_COUNTRY else obj.country

    @admin.display(description=_("debtor kind"), ordering="debtor_kind")
    def kind_label(self, obj: ContactRule) -> str:
        return obj.get_debtor_kind_display() if obj.debtor_kind else gettext("all")

    @admin.display(description=_("verify with counsel"), ordering="verify_with_counsel")
    def counsel_flag(self, obj: ContactRule) -> str:
        if not obj.verify_with_counsel:
            return ""
        return format_html(
            '<strong style="color:#b45309">⚠ {}</strong>', gettext("verify with counsel")
        )

    @admin.display(description=_("allowed hours"))
    def hours_label(self, obj: ContactRule) -> str:
        return hours_display(obj.hours)

    @admin.display(description=_("as shipped"))
    def shipped_label(self, obj: ContactRule) -> str:
        if not obj.shipped_digest:
            return gettext("created here")
        if obj.shipped_digest == content_digest(rule_content(obj)):
            return gettext("as shipped")
        return gettext("edited")

    def save_model(self, request: HttpRequest, obj: ContactRule, form: Any, change: bool) -> None:
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
        if change and not form.changed_data:
            return
        audit_record(
            actor=Actor.for_user(request.user, request.META.get("REMOTE_ADDR")),
            action=f"contactrule.{'change' if change else 'create'}.admin",
            obj=obj,
            changes=field_changes(
                {name: form.initial.get(name) for name in form.changed_data},
                {name: form.cleaned_data.get(name) for name in form.changed_data},
            ),
        )

    def delete_model(self, request: HttpRequest, obj: ContactRule) -> None:
        audit_record(
            actor=Actor.for_user(request.user, request.META.get("REMOTE_ADDR")),
            action="contactrule.delete.admin",
            obj=obj,
            changes={"name": obj.name, "country": obj.country, "kind": obj.debtor_kind},
        )
        super().delete_model(request, obj)

    @admin.action(description=_("Restore the shipped default"), permissions=["change"])
    def restore_shipped(self, request: HttpRequest, queryset: QuerySet[ContactRule]) -> None:
        actor = Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
        restored = 0
        for rule in queryset:
            if shipped_default(rule.country, rule.debtor_kind) is None:
                self.message_user(
                    request,
                    gettext("%(rule)s: Cartera ships no rule for this country and kind")
                    % {"rule": rule},
                    messages.WARNING,
                )
                continue
            contact_rule_restore(rule=rule, actor=actor)
            restored += 1
        if restored:
            self.message_user(
                request,
                ngettext(
                    "%(n)s rule restored to the shipped default",
                    "%(n)s rules restored to the shipped default",
                    restored,
                )
                % {"n": restored},
                messages.SUCCESS,
            )


class OVERRIDE_CREDITOR_FILTER(CREDITOR_FILTER):
    parameter_name = "message__creditor__id__exact"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(message__creditor_id=self.value())
        return queryset


@admin.register(GateOverride)
class GateOverrideAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    """Who sent what despite the contact rules, and why: read only, per creditor."""

    creditor_path = "message__creditor"
    list_display = (
        "at",
        "creditor_code",
        "debtor_name",
        "channel",
        "user",
        "refused_because",
        "justification",
    )
    list_filter = (OVERRIDE_CREDITOR_FILTER, "at")
    search_fields = (
        "justification",
        "refused_because",
        "message__debtor__name",
        "message__debtor__external_id",
        "user__username",
    )
    list_select_related = ("message__creditor", "message__debtor", "user")
    readonly_fields = ("message", "refused_because", "justification", "user", "at")
    date_hierarchy = "at"

    @admin.display(description=_("creditor"), ordering="message__creditor__code")
    def creditor_code(self, obj: GateOverride) -> str:
        return obj.message.creditor.code

    @admin.display(description=_("debtor"), ordering="message__debtor__name")
    def debtor_name(self, obj: GateOverride) -> str:
        return str(obj.message.debtor)

    @admin.display(description=_("channel"))
    def channel(self, obj: GateOverride) -> str:
        return obj.message.get_channel_display()
