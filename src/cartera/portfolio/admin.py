from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cartera.core.admin import AuditEventInline, ReadOnlyAdminMixin
from cartera.core.audit import Actor, audit_record, field_changes
from cartera.core.money import format_minor
from cartera.portfolio.models import (
    Allocation,
    ContactPoint,
    Creditor,
    Debtor,
    Document,
    ImportBatch,
    LedgerEntry,
    Membership,
    Payment,
)
from cartera.portfolio.queries import creditors_visible_to


class CREDITOR_FILTER(admin.SimpleListFilter):
    """Offers only the creditors the user may see (a plain filter would name them all)."""

    title = _("creditor")
    parameter_name = "creditor__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[Any, str]]:
        return [(c.pk, c.code) for c in creditors_visible_to(request.user).order_by("code")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(creditor_id=self.value())
        return queryset


def _creditor_id_of(obj: Any) -> int | None:
    if isinstance(obj, Creditor):
        return obj.pk
    if hasattr(obj, "creditor_id"):
        return obj.creditor_id
    debtor = getattr(obj, "debtor", None)
    return debtor.creditor_id if debtor is not None else None


def _audit_form(request: HttpRequest, form: Any, obj: Any, change: bool) -> None:
    if change and not form.changed_data:
        return
    audit_record(
        actor=Actor.for_user(request.user, request.META.get("REMOTE_ADDR")),
        action=f"{obj._meta.model_name}.{'change' if change else 'create'}.admin",
        obj=obj,
        creditor_id=_creditor_id_of(obj),
        changes=field_changes(
            {name: form.initial.get(name) for name in form.changed_data},
            {name: form.cleaned_data.get(name) for name in form.changed_data},
        ),
    )


class CreditorScopedAdmin(admin.ModelAdmin):
    """Tenancy in the admin: a user sees only rows of the creditors they belong to.

    Every change made here is written to Cartera's audit log, inline rows included.
    """

    creditor_path = "creditor"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _audit_form(request, form, obj, change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit_record(
            actor=Actor.for_user(request.user, request.META.get("REMOTE_ADDR")),
            action=f"{obj._meta.model_name}.delete.admin",
            obj=obj,
            creditor_id=_creditor_id_of(obj),
        )
        super().delete_model(request, obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        for inline_form in formset.forms:
            if inline_form.instance.pk and inline_form.has_changed():
                _audit_form(request, inline_form, inline_form.instance, bool(inline_form.initial))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        visible = creditors_visible_to(request.user)
        return queryset.filter(**{f"{self.creditor_path}__in": visible})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not request.user.is_superuser:
            visible = creditors_visible_to(request.user)
            if db_field.name == "creditor":
                kwargs["queryset"] = visible
            elif db_field.name == "debtor":
                kwargs["queryset"] = Debtor.objects.filter(creditor__in=visible)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def money_column(field: str, description: Any, source: str = "") -> Any:
    """An amount kept in minor units, shown as the creditor's country writes it.

    `source` names the related object that has the currency and the creditor ("" = the row).
    """

    @admin.display(description=description, ordering=field)
    def column(self: Any, obj: Any) -> str:
        owner = getattr(obj, source) if source else obj
        return format_minor(getattr(obj, field), owner.currency, owner.creditor.locale)

    return column


@admin.register(Creditor)
class CreditorAdmin(CreditorScopedAdmin):
    creditor_path = "pk"
    list_display = ("code", "name", "country", "currency", "locale", "timezone", "balance_mode")
    list_filter = ("country", "currency", "balance_mode")
    search_fields = ("code", "name", "tax_id")
    readonly_fields = ("code", "currency", "reference_counter", "created_at")
    inlines = [AuditEventInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Creditor]:
        return creditors_visible_to(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Creditors are created with `cartera creditor add`, which validates and sets defaults.
        return False


@admin.register(Membership)
class MembershipAdmin(CreditorScopedAdmin):
    list_display = ("user", "creditor")
    list_filter = (CREDITOR_FILTER,)
    search_fields = ("user__username", "creditor__code")
    autocomplete_fields = ("user",)


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0
    fields = (
        "kind",
        "value",
        "is_primary",
        "verified",
        "valid",
        "do_not_contact",
        "consent_call",
        "consent_sms",
        "consent_whatsapp",
        "consent_email",
        "consent_letter",
        "source",
    )


@admin.register(Debtor)
class DebtorAdmin(CreditorScopedAdmin):
    list_display = ("name", "external_id", "tax_id", "kind", "country", "city", "creditor")
    list_filter = (CREDITOR_FILTER, "kind", "country")
    search_fields = ("name", "external_id", "tax_id", "payment_reference")
    # The keys that imports and payments match on change only through imports.
    readonly_fields = (
        "creditor",
        "external_id",
        "tax_id",
        "tax_id_type",
        "payment_reference",
        "created_at",
        "updated_at",
    )
    list_select_related = ("creditor",)
    inlines = [ContactPointInline, AuditEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # debtors arrive by import, where their ids are validated

    show_full_result_count = False


@admin.register(ContactPoint)
class ContactPointAdmin(CreditorScopedAdmin):
    creditor_path = "debtor__creditor"
    list_display = ("debtor", "kind", "value", "is_primary", "valid", "do_not_contact")
    list_filter = ("kind", "valid", "do_not_contact", "verified")
    search_fields = ("value", "debtor__name", "debtor__external_id")
    list_select_related = ("debtor",)
    raw_id_fields = ("debtor",)
    show_full_result_count = False


class LedgerEntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LedgerEntry
    fk_name = "document"
    fields = ("effective_date", "kind", "amount_display", "payment", "memo", "recorded_by")
    readonly_fields = fields
    extra = 0

    amount_display = money_column("amount_minor", _("amount"))


class OpenFilter(admin.SimpleListFilter):
    title = _("balance")
    parameter_name = "open"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Open")), ("no", _("Settled"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.exclude(balance_minor=0)
        if self.value() == "no":
            return queryset.filter(balance_minor=0)
        return queryset


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    """Read-only: documents change through imports and services, which keep the ledger."""

    list_display = (
        "number",
        "kind",
        "debtor",
        "issue_date",
        "due_date",
        "amount_display",
        "balance_display",
        "status",
        "creditor",
    )
    list_filter = (CREDITOR_FILTER, OpenFilter, "status", "kind", "currency", "due_date")
    search_fields = ("number", "external_id", "payment_reference", "debtor__name")
    list_select_related = ("debtor", "creditor")
    fields = (
        "creditor",
        "debtor",
        "kind",
        "number",
        "external_id",
        "issue_date",
        "due_date",
        "currency",
        "amount_display",
        "balance_display",
        "unmatched_display",
        "status",
        "payment_reference",
        "batch",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    date_hierarchy = "due_date"
    inlines = [LedgerEntryInline, AuditEventInline]
    show_full_result_count = False

    amount_display = money_column("amount_minor", _("amount"))
    balance_display = money_column("balance_minor", _("balance"))
    unmatched_display = money_column("unmatched_prior_minor", _("prior payments not yet matched"))


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    list_display = (
        "effective_date",
        "kind",
        "document",
        "amount_display",
        "recorded_by",
        "recorded_at",
    )
    list_filter = (CREDITOR_FILTER, "kind", "effective_date")
    search_fields = ("document__number", "document__external_id", "memo")
    list_select_related = ("document", "creditor")
    show_full_result_count = False
    fields = (
        "creditor",
        "document",
        "kind",
        "amount_display",
        "effective_date",
        "payment",
        "reverses",
        "batch",
        "memo",
        "recorded_by",
        "recorded_at",
    )
    readonly_fields = fields

    amount_display = money_column("amount_minor", _("amount"))


class AllocationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Allocation
    fields = ("document", "amount_display", "entry", "created_at")
    readonly_fields = fields
    extra = 0

    amount_display = money_column("amount_minor", _("amount"), source="payment")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    list_display = (
        "external_id",
        "date",
        "debtor",
        "amount_display",
        "unapplied_display",
        "method",
        "reference",
        "creditor",
    )
    list_filter = (CREDITOR_FILTER, "method", "currency", "date")
    search_fields = ("external_id", "reference", "debtor__name", "debtor__external_id")
    list_select_related = ("debtor", "creditor")
    date_hierarchy = "date"
    inlines = [AllocationInline, AuditEventInline]
    show_full_result_count = False
    fields = (
        "creditor",
        "debtor",
        "external_id",
        "date",
        "currency",
        "amount_display",
        "unapplied_display",
        "reference",
        "method",
        "batch",
        "created_at",
    )
    readonly_fields = fields

    amount_display = money_column("amount_minor", _("amount"))
    unapplied_display = money_column("unapplied_minor", _("unapplied"))


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    creditor_path = "payment__creditor"
    list_display = ("payment", "document", "amount_display", "entry", "created_at")
    search_fields = ("payment__external_id", "document__number", "document__external_id")
    list_select_related = ("payment__creditor", "document")
    show_full_result_count = False
    fields = ("payment", "document", "amount_display", "entry", "created_at")
    readonly_fields = fields

    amount_display = money_column("amount_minor", _("amount"), source="payment")


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    list_display = (
        "id",
        "started_at",
        "kind",
        "file_name",
        "status",
        "rows_read",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "actor",
        "creditor",
    )
    list_filter = (CREDITOR_FILTER, "kind", "status")
    search_fields = ("file_name", "file_sha256", "actor")
    list_select_related = ("creditor",)
    inlines = [AuditEventInline]
