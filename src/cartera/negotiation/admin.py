"""Promises, plans and disputes in the admin, scoped to the user's creditors.

They are created and decided only through `cartera.negotiation.services` (validation,
cancellations, audit): here they are read, and staff may correct a note.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cartera.core.admin import AuditEventInline, ReadOnlyAdminMixin
from cartera.core.audit import Actor, audit_record, field_changes
from cartera.negotiation.agreements import agreement_approve, agreement_reject
from cartera.negotiation.models import (
    Agreement,
    AgreementDocument,
    AgreementInstallment,
    ApprovalLimit,
    Dispute,
    DisputeAttachment,
    DisputeCategoryOption,
    DisputeDocument,
    FeeCap,
    FeeCapTier,
    NegotiationTerms,
    Promise,
    PromisePlan,
    UsuryRate,
)
from cartera.negotiation.queries import with_category_names
from cartera.negotiation.services import NegotiationError, dispute_assign
from cartera.portfolio.admin import CREDITOR_FILTER, CreditorScopedAdmin, money_column
from cartera.portfolio.queries import creditors_visible_to


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


# -- dispute attachments -------------------------------------------------------------------------


class DisputeAttachmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DisputeAttachment
    # The file itself is offered by `download`: its storage has no public URL.
    fields = ("download", "content_type", "size", "sha256", "uploaded_by", "uploaded_at")
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("file"))
    def download(self, obj: DisputeAttachment) -> str:
        url = reverse("admin:negotiation_dispute_attachment", args=[obj.dispute_id, obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.name)


@admin.register(Dispute)
class DisputeAdmin(ServiceWrittenAdmin):
    editable = ("note", "resolution_note", "owner")
    list_display = (
        "__str__",
        "debtor",
        "category_name",
        "status",
        "owner",
        "opened_on",
        "sla_due_on",
        "resolution",
        "resolved_on",
        "creditor",
    )
    list_filter = (CREDITOR_FILTER, "status", "category", "resolution", "sla_due_on")
    search_fields = ("debtor__name", "debtor__external_id", "documents__number", "note")
    list_select_related = ("debtor", "creditor", "owner")
    date_hierarchy = "opened_on"
    inlines = [DisputeDocumentInline, DisputeAttachmentInline, AuditEventInline]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> Any:
        return with_category_names(super().get_queryset(request))

    @admin.display(description=_("category"), ordering="category")
    def category_name(self, obj: Dispute) -> str:
        return obj.category_label

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change and "owner" in form.changed_data:
            # Through the service: the owner must work for the creditor, and it is audited.
            owner = form.cleaned_data["owner"]
            obj.owner = Dispute.objects.get(pk=obj.pk).owner
            try:
                dispute_assign(
                    dispute=obj,
                    owner=owner,
                    actor=Actor.for_user(request.user, request.META.get("REMOTE_ADDR")),
                )
            except NegotiationError as exc:
                self.message_user(request, str(exc), level=messages.ERROR)
            form.changed_data.remove("owner")
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/attachment/<int:attachment>/",
                self.admin_site.admin_view(self.attachment_view),
                name="negotiation_dispute_attachment",
            ),
            *super().get_urls(),
        ]

    def attachment_view(self, request: HttpRequest, pk: int, attachment: int) -> FileResponse:
        dispute = self.get_queryset(request).filter(pk=pk).first()
        if dispute is None or not self.has_view_permission(request, dispute):
            raise Http404
        found = DisputeAttachment.objects.filter(dispute=dispute, pk=attachment).first()
        if found is None:
            raise Http404
        return FileResponse(
            found.file.open("rb"),
            content_type=found.content_type,
            as_attachment=True,
            filename=found.name,
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The documents are listed by the inline (a through model cannot be a form field).
        return [name for name in super().get_readonly_fields(request, obj) if name != "documents"]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["documents"]


# -- payment agreements --------------------------------------------------------------------------


class AgreementDocumentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AgreementDocument
    fields = ("document", "balance_minor", "discount_minor", "refinanced_minor", "is_live")
    readonly_fields = fields
    extra = 0
    verbose_name_plural = _("bundled documents")


class AgreementInstallmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AgreementInstallment
    fields = (
        "n",
        "due_date",
        "payment_minor",
        "interest_minor",
        "principal_minor",
        "balance_minor",
        "document",
    )
    readonly_fields = fields
    extra = 0
    ordering = ("n",)


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=_("Decision note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Recorded with the decision; required to reject"),
    )


@admin.register(Agreement)
class AgreementAdmin(ServiceWrittenAdmin):
    """Agreements are proposed from the workdesk (or `agreement_propose`); here they are read,
    and supervisors approve or reject those waiting, with a note, through the actions."""

    editable = ("note",)
    list_display = (
        "number",
        "debtor",
        "status",
        "principal_display",
        "installments_count",
        "annual_rate",
        "proposed_by",
        "proposed_on",
        "decided_by",
        "creditor",
    )
    list_filter = (CREDITOR_FILTER, "status", "frequency", "proposed_on")
    search_fields = ("number", "debtor__name", "debtor__external_id")
    list_select_related = ("debtor", "creditor", "proposed_by", "decided_by")
    date_hierarchy = "proposed_on"
    inlines = [AgreementDocumentInline, AgreementInstallmentInline, AuditEventInline]
    actions = ["approve_selected", "reject_selected"]
    show_full_result_count = False

    principal_display = money_column("principal_minor", _("principal"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The PDF is offered by `pdf_link`: its storage has no public URL.
        names = [name for name in super().get_readonly_fields(request, obj) if name != "pdf"]
        return [*names, "pdf_link"]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["pdf"]

    @admin.display(description=_("agreement (PDF)"))
    def pdf_link(self, obj: Agreement) -> str:
        if not obj.pdf:
            return "—"
        url = reverse("admin:negotiation_agreement_pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, f"{obj.number}.pdf")

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="negotiation_agreement_pdf",
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, pk: int) -> FileResponse:
        agreement = self.get_queryset(request).filter(pk=pk).first()
        if agreement is None or not self.has_view_permission(request, agreement):
            raise Http404
        if not agreement.pdf:
            raise Http404
        return FileResponse(
            agreement.pdf.open("rb"),
            content_type="application/pdf",
            filename=f"{agreement.number}.pdf",
        )

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("negotiation.approve_agreement"))

    def _decide(self, request: HttpRequest, queryset: QuerySet[Agreement], decision: str) -> Any:
        if "decide" in request.POST:
            form = DecisionForm(request.POST)
            if form.is_valid():
                actor = Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
                today = timezone.localdate()
                done = 0
                for agreement in queryset.order_by("pk"):
                    try:
                        if decision == "approve":
                            agreement_approve(
                                agreement=agreement,
                                as_of=today,
                                actor=actor,
                                note=form.cleaned_data["note"],
                            )
                        else:
                            agreement_reject(
                                agreement=agreement,
                                as_of=today,
                                actor=actor,
                                note=form.cleaned_data["note"],
                            )
                        done += 1
                    except NegotiationError as exc:
                        self.message_user(
                            request, f"{agreement.number}: {exc}", level=messages.ERROR
                        )
                if done:
                    self.message_user(
                        request,
                        (
                            gettext("%(count)s agreements approved")
                            if decision == "approve"
                            else gettext("%(count)s agreements rejected")
                        )
                        % {"count": done},
                        level=messages.SUCCESS,
                    )
                return None
        else:
            form = DecisionForm()
        return TemplateResponse(
            request,
            "admin/negotiation/agreement/decide.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Approve agreements")
                if decision == "approve"
                else gettext("Reject agreements"),
                "agreements": queryset.select_related("debtor"),
                "form": form,
                "action": f"{decision}_selected",
                "decision": decision,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=_("Approve the selected agreements"), permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Agreement]) -> Any:
        return self._decide(request, queryset, "approve")

    @admin.action(description=_("Reject the selected agreements"), permissions=["approve"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Agreement]) -> Any:
        return self._decide(request, queryset, "reject")


# -- terms and legal tables ----------------------------------------------------------------------


class AuditedAdmin(admin.ModelAdmin):
    """Tables that belong to no creditor (legal maximum rates, fee caps): every change is
    written to the audit log."""

    def _actor(self, request: HttpRequest) -> Actor:
        return Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and not form.changed_data:
            return
        audit_record(
            actor=self._actor(request),
            action=f"{obj._meta.model_name}.{'change' if change else 'create'}.admin",
            obj=obj,
            changes=field_changes(
                {name: form.initial.get(name) for name in form.changed_data},
                {name: form.cleaned_data.get(name) for name in form.changed_data},
            ),
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit_record(
            actor=self._actor(request), action=f"{obj._meta.model_name}.delete.admin", obj=obj
        )
        super().delete_model(request, obj)


@admin.register(NegotiationTerms)
class NegotiationTermsAdmin(CreditorScopedAdmin):
    list_display = (
        "creditor",
        "promise_break_limit",
        "agreement_list_rate",
        "agreement_break_days",
        "interest_enabled",
        "interest_rate",
        "fees_enabled",
        "fee_percent",
    )
    list_filter = (CREDITOR_FILTER, "interest_enabled", "fees_enabled")
    fieldsets = (
        (None, {"fields": ("creditor",)}),
        (_("Promises"), {"fields": ("promise_break_limit", "promise_break_window_days")}),
        (
            _("Payment agreements"),
            {
                "fields": (
                    "agreement_list_rate",
                    "agreement_break_days",
                    "installment_reminder_days",
                )
            },
        ),
        (
            _("Late interest"),
            {"fields": ("interest_enabled", "interest_rate", "interest_grace_days")},
        ),
        (
            _("Collection fees"),
            {"fields": ("fees_enabled", "fees_disclosed", "fee_percent", "fee_after_days")},
        ),
    )


@admin.register(UsuryRate)
class UsuryRateAdmin(AuditedAdmin):
    list_display = ("country", "month", "annual_rate", "source", "created_at")
    list_filter = ("country",)
    date_hierarchy = "month"
    search_fields = ("country", "source")


class FeeCapTierInline(admin.TabularInline):
    model = FeeCapTier
    fields = ("up_to_minor", "percent")
    extra = 1


@admin.register(FeeCap)
class FeeCapAdmin(AuditedAdmin):
    list_display = ("country", "currency", "min_days_past_due", "source")
    inlines = [FeeCapTierInline]


class CreditorOrEveryoneAdmin(CreditorScopedAdmin):
    """Rows for one creditor or (creditor empty) for every creditor: the latter are seen by
    everyone who may see the table and changed by superusers only."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        visible = creditors_visible_to(request.user)
        return queryset.filter(Q(creditor__isnull=True) | Q(creditor__in=visible))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.creditor_id is None and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.creditor_id is None and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if not request.user.is_superuser and "creditor" in form.base_fields:
            form.base_fields["creditor"].required = True
        return form


@admin.register(ApprovalLimit)
class ApprovalLimitAdmin(CreditorOrEveryoneAdmin):
    list_display = (
        "role",
        "creditor",
        "max_installments",
        "max_discount_percent",
        "max_waived_minor",
        "max_rate_below_list",
    )
    list_filter = (CREDITOR_FILTER, "role")


@admin.register(DisputeCategoryOption)
class DisputeCategoryOptionAdmin(CreditorOrEveryoneAdmin):
    list_display = ("code", "label", "sla_days", "active", "creditor")
    list_filter = (CREDITOR_FILTER, "active")
    search_fields = ("code", "label")
