"""The outbox in the admin: every message, what was sent, and the decisions a person makes.

Messages are read only (they are written by the worker); the actions retry a failed or
unknown message and cancel one that has not left, each asking for confirmation and audited.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from cartera.core.admin import AuditEventInline
from cartera.core.audit import Actor
from cartera.messaging.models import Message, MessageStatus
from cartera.messaging.outbox import (
    CANCELLABLE,
    RETRYABLE,
    OutboxError,
    message_cancel,
    message_mark_sent,
    message_retry,
)
from cartera.messaging.queries import WAITING_FOR_PERSON
from cartera.portfolio.admin import CREDITOR_FILTER, CreditorScopedAdmin


class WaitingForPersonFilter(admin.SimpleListFilter):
    """The messages nothing moves on its own: unknown fate, or blocked by a contact rule."""

    title = _("needs a person")
    parameter_name = "waiting"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("yes", _("Waiting for a person (unknown, blocked)")),
            ("unknown", _("Unknown: check whether it left")),
            ("blocked", _("Blocked by a contact rule")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(status__in=WAITING_FOR_PERSON)
        if self.value() in ("unknown", "blocked"):
            return queryset.filter(status=self.value())
        return queryset


class ActionForm(forms.Form):
    reason = forms.CharField(
        label=_("Why"), required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )
    checked = forms.BooleanField(
        label=_(
            "I checked with the provider or the debtor: the messages whose fate is unknown did "
            "not arrive"
        ),
        required=False,
    )


@admin.register(Message)
class MessageAdmin(CreditorScopedAdmin):
    list_display = (
        "created_at",
        "creditor_code",
        "debtor",
        "channel",
        "template_code",
        "status_label",
        "status_reason_short",
        "next_attempt_at",
        "attempts",
        "recipient",
    )
    list_filter = (
        WaitingForPersonFilter,
        "status",
        "channel",
        "origin",
        CREDITOR_FILTER,
    )
    search_fields = (
        "debtor__name",
        "debtor__external_id",
        "recipient",
        "idempotency_key",
        "provider_id",
    )
    list_select_related = ("creditor", "debtor")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    actions = ["retry_messages", "cancel_messages", "mark_sent_messages"]
    inlines = [AuditEventInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "creditor",
                    "debtor",
                    "channel",
                    "template_code",
                    "origin",
                    "origin_ref",
                    "reason",
                    "document_ids",
                    "promise",
                    "idempotency_key",
                )
            },
        ),
        (
            _("Status"),
            {
                "fields": (
                    "status",
                    "status_reason",
                    "error",
                    "attempts",
                    "next_attempt_at",
                    "lease_until",
                    "leased_by",
                    "handed_at",
                    "sent_at",
                    "delivered_at",
                    "provider_id",
                    "letter_batch",
                )
            },
        ),
        (
            _("As sent"),
            {
                "fields": (
                    "language",
                    "contact_point",
                    "recipient",
                    "subject",
                    "body_text",
                    "html_as_sent",
                    "payload",
                )
            },
        ),
        (_("Created"), {"fields": ("created_at", "created_by")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Everything: the row is the record of what happened and what was sent.
        names = [f.name for f in Message._meta.fields if f.name != "body_html"]
        return [*names, "html_as_sent"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        context["show_save_and_add_another"] = False
        return super().change_view(request, object_id, form_url, extra_context=context)

    @admin.display(description=_("creditor"), ordering="creditor__code")
    def creditor_code(self, obj: Message) -> str:
        return obj.creditor.code

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, obj: Message) -> str:
        label = obj.get_status_display()
        if obj.status in WAITING_FOR_PERSON:
            return format_html("<strong>{}</strong>", label)
        return str(label)

    @admin.display(description=_("why"))
    def status_reason_short(self, obj: Message) -> str:
        text = obj.status_reason or obj.error
        return text if len(text) <= 90 else text[:89] + "…"

    @admin.display(description=_("HTML as sent"))
    def html_as_sent(self, obj: Message) -> str:
        if not obj.body_html:
            return "-"
        # Shown as an isolated document: the message's own markup never runs in the admin.
        return format_html(
            '<iframe sandbox="" srcdoc="{}" style="width:100%;height:28em;border:1px solid #ccc">'
            "</iframe>",
            obj.body_html,
        )

    def _confirm(
        self,
        request: HttpRequest,
        queryset: QuerySet[Message],
        *,
        action: str,
        title: str,
        form: ActionForm,
        needs_reason: bool,
        needs_check: bool,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "queryset": queryset.select_related("debtor"),
            "action": action,
            "form": form,
            "needs_reason": needs_reason,
            "needs_check": needs_check,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/messaging/message/outbox_action.html", context)

    @admin.action(description=_("Send again (failed or unknown)"), permissions=["change"])
    def retry_messages(
        self, request: HttpRequest, queryset: QuerySet[Message]
    ) -> TemplateResponse | None:
        chosen = queryset.filter(status__in=RETRYABLE)
        skipped = queryset.count() - chosen.count()
        has_unknown = chosen.filter(status=MessageStatus.UNKNOWN).exists()
        form = ActionForm(request.POST if "apply" in request.POST else None)
        if "apply" not in request.POST or not form.is_valid():
            return self._confirm(
                request,
                chosen,
                action="retry_messages",
                title=gettext("Send these messages again?"),
                form=form,
                needs_reason=False,
                needs_check=has_unknown,
            )
        if has_unknown and not form.cleaned_data["checked"]:
            form.add_error("checked", gettext("Confirm that you checked before sending again"))
            return self._confirm(
                request,
                chosen,
                action="retry_messages",
                title=gettext("Send these messages again?"),
                form=form,
                needs_reason=False,
                needs_check=True,
            )
        actor = Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
        done = 0
        for message in chosen:
            try:
                message_retry(message=message, actor=actor, checked_unknown=has_unknown)
                done += 1
            except OutboxError as exc:
                self.message_user(request, f"{message.pk}: {exc}", messages.WARNING)
        self.message_user(
            request,
            ngettext("%(n)s message queued again", "%(n)s messages queued again", done)
            % {"n": done},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(n)s message was neither failed nor unknown and was left alone",
                    "%(n)s messages were neither failed nor unknown and were left alone",
                    skipped,
                )
                % {"n": skipped},
                messages.WARNING,
            )
        return None

    @admin.action(description=_("Cancel (not sent yet, or unknown)"), permissions=["change"])
    def cancel_messages(
        self, request: HttpRequest, queryset: QuerySet[Message]
    ) -> TemplateResponse | None:
        chosen = queryset.filter(status__in=CANCELLABLE)
        skipped = queryset.count() - chosen.count()
        form = ActionForm(request.POST if "apply" in request.POST else None)
        valid = "apply" in request.POST and form.is_valid()
        if valid and not form.cleaned_data["reason"].strip():
            form.add_error("reason", gettext("Say why the messages are cancelled"))
            valid = False
        if not valid:
            return self._confirm(
                request,
                chosen,
                action="cancel_messages",
                title=gettext("Cancel these messages?"),
                form=form,
                needs_reason=True,
                needs_check=False,
            )
        actor = Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
        done = 0
        for message in chosen:
            try:
                message_cancel(message=message, actor=actor, reason=form.cleaned_data["reason"])
                done += 1
            except OutboxError as exc:
                self.message_user(request, f"{message.pk}: {exc}", messages.WARNING)
        self.message_user(
            request,
            ngettext("%(n)s message cancelled", "%(n)s messages cancelled", done) % {"n": done},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(n)s message had already left or was being sent and was left alone",
                    "%(n)s messages had already left or were being sent and were left alone",
                    skipped,
                )
                % {"n": skipped},
                messages.WARNING,
            )
        return None

    @admin.action(
        description=_("Record as sent (unknown, but it did arrive)"), permissions=["change"]
    )
    def mark_sent_messages(
        self, request: HttpRequest, queryset: QuerySet[Message]
    ) -> TemplateResponse | None:
        chosen = queryset.filter(status=MessageStatus.UNKNOWN)
        form = ActionForm(request.POST if "apply" in request.POST else None)
        if "apply" not in request.POST or not form.is_valid():
            return self._confirm(
                request,
                chosen,
                action="mark_sent_messages",
                title=gettext("Record these messages as sent?"),
                form=form,
                needs_reason=True,
                needs_check=False,
            )
        actor = Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
        done = 0
        for message in chosen:
            try:
                message_mark_sent(message=message, actor=actor, note=form.cleaned_data["reason"])
                done += 1
            except OutboxError as exc:
                self.message_user(request, f"{message.pk}: {exc}", messages.WARNING)
        self.message_user(
            request,
            ngettext("%(n)s message recorded as sent", "%(n)s messages recorded as sent", done)
            % {"n": done},
            messages.SUCCESS,
        )
        return None
