"""Letter batches in the admin: download the day's printable file, confirm it printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from cartera.core.admin import AuditEventInline, ReadOnlyAdminMixin
from cartera.core.audit import Actor
from cartera.messaging.letters import LetterError, letter_batch_build, letter_batch_confirm_printed
from cartera.messaging.models import LetterBatch
from cartera.portfolio.admin import CREDITOR_FILTER, CreditorScopedAdmin


@admin.register(LetterBatch)
class LetterBatchAdmin(ReadOnlyAdminMixin, CreditorScopedAdmin):
    list_display = ("day", "creditor", "state", "letters", "pages", "download", "printed_by")
    list_filter = (CREDITOR_FILTER, "day")
    list_select_related = ("creditor",)
    date_hierarchy = "day"
    readonly_fields = [f.name for f in LetterBatch._meta.fields] + ["download"]
    actions = ["build", "confirm_printed"]
    inlines = [AuditEventInline]

    @admin.display(description=_("state"))
    def state(self, obj: LetterBatch) -> str:
        if obj.printed_at:
            return gettext("printed")
        if obj.built_at:
            return gettext("ready to print")
        if obj.closed_at:
            return gettext("being built")
        return gettext("open: letters are joining it")

    @admin.display(description=_("file"))
    def download(self, obj: LetterBatch) -> str:
        if not obj.file or not obj.built_at:
            return "—"
        url = reverse("admin:messaging_letterbatch_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download PDF"))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The actions need the change permission; the rows themselves stay read only.
        return obj is None and admin.ModelAdmin.has_change_permission(self, request, obj)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="messaging_letterbatch_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        batch = self.get_object(request, object_id)
        if batch is None:
            raise Http404(gettext("No such letter batch."))
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        file = Path(batch.file) if batch.file else None
        if file is None or not file.is_file():
            raise Http404(gettext("This batch has no file yet: build it first."))
        return FileResponse(file.open("rb"), as_attachment=True, filename=file.name)

    @admin.action(description=_("Build the printable file"), permissions=["change"])
    def build(self, request: HttpRequest, queryset: QuerySet[LetterBatch]) -> None:
        built = 0
        for batch in queryset.filter(printed_at__isnull=True).order_by("day", "pk"):
            try:
                letter_batch_build(batch=batch)
            except LetterError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            built += 1
        self.message_user(
            request,
            ngettext("%(n)s batch built.", "%(n)s batches built.", built) % {"n": built},
            messages.SUCCESS if built else messages.WARNING,
        )

    @admin.action(
        description=_("Confirm printed: the letters count as sent"), permissions=["change"]
    )
    def confirm_printed(self, request: HttpRequest, queryset: QuerySet[LetterBatch]) -> None:
        actor = Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
        letters = 0
        for batch in queryset.order_by("day", "pk"):
            try:
                letters += letter_batch_confirm_printed(batch=batch, actor=actor)
            except LetterError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        if letters:
            self.message_user(
                request,
                ngettext("%(n)s letter marked sent.", "%(n)s letters marked sent.", letters)
                % {"n": letters},
                messages.SUCCESS,
            )
