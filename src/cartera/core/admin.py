from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cartera.core.models import AuditEvent


class ReadOnlyAdminMixin:
    """The audit trail and the ledger are read, never edited, in the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditEventInline(ReadOnlyAdminMixin, GenericTabularInline):
    """An object's own history, shown on its admin page."""

    model = AuditEvent
    ct_field = "content_type"
    ct_fk_field = "object_id"
    fields = ("at", "actor_label", "action", "changes")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-at",)
    verbose_name_plural = _("audit")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "actor_type", "actor_label", "action", "object_repr", "remote_addr")
    list_filter = ("actor_type", "action", "at")
    search_fields = ("actor_label", "action", "object_repr", "object_id")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        from django.apps import apps

        membership = apps.get_model("portfolio", "Membership")
        visible = membership.objects.filter(user=request.user).values("creditor_id")
        return queryset.filter(creditor_id__in=visible)
