"""Message templates in the admin: edit, check, size SMS, and preview against a real account.

Who may do what: a creditor's admins (the "admin" role) edit their creditor's own templates;
the shipped defaults (no creditor) are shown to everyone read-only and edited only by
superusers. To change a default for one creditor, open it and use "Customize for a creditor":
the creditor's copy then replaces the default for that creditor only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from cartera.core.admin import AuditEventInline
from cartera.messaging.letters import letter_pdf
from cartera.messaging.models import Channel, ChannelSettings, Template
from cartera.messaging.rendering import (
    LANGUAGES,
    TEMPLATE_VARIABLES,
    RenderError,
    template_check,
    template_preview,
    template_sample,
)
from cartera.portfolio.admin import CREDITOR_FILTER, CreditorScopedAdmin
from cartera.portfolio.models import Creditor, Debtor
from cartera.portfolio.queries import creditors_visible_to

# The creditor an invented sample is rendered for when a default template has none.
_SAMPLE_CREDITOR = Creditor(
    code="EJEMPLO",
    name="Ejemplo S.A.S.",
    country="CO",
    currency="COP",
    locale="es_CO",
    timezone="America/Bogota",
)


def variables_help() -> str:
    """The documented variables, as the form's help text lists them."""
    names = []
    for name, schema in TEMPLATE_VARIABLES.items():
        if isinstance(schema, dict):
            names.append(f"{name}.{{{', '.join(schema)}}}")
        elif isinstance(schema, list):
            names.append(f"{name} (list of {{{', '.join(schema[0])}}})")
        else:
            names.append(name)
    return "; ".join(names)


class WhatsAppParamsField(forms.CharField):
    """The approved template's parameters, one template expression per line."""

    widget = forms.Textarea(attrs={"rows": 5, "cols": 80})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [line.strip() for line in str(text).splitlines() if line.strip()]


class TemplateForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("language"), choices=[(c, c) for c in LANGUAGES])
    whatsapp_params = WhatsAppParamsField(
        label=_("WhatsApp template parameters"),
        required=False,
        help_text=_(
            "One expression per line, in the order of the approved template's {{1}}, {{2}}…"
        ),
    )

    class Meta:
        model = Template
        fields = (
            "creditor",
            "code",
            "channel",
            "language",
            "name",
            "active",
            "subject",
            "body_text",
            "body_html",
            "whatsapp_template",
            "whatsapp_params",
        )
        widgets = {
            "subject": forms.TextInput(attrs={"size": 100}),
            "body_text": forms.Textarea(attrs={"rows": 14, "cols": 100, "spellcheck": "true"}),
            "body_html": forms.Textarea(attrs={"rows": 14, "cols": 100}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "body_text" in self.fields:
            self.fields["body_text"].help_text = gettext("Variables: %(names)s") % {
                "names": variables_help()
            }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        sources: list[tuple[str, str]] = [
            ("subject", data.get("subject") or ""),
            ("body_text", data.get("body_text") or ""),
            ("body_html", data.get("body_html") or ""),
        ]
        sources += [("whatsapp_params", p) for p in data.get("whatsapp_params") or []]
        for field, source in sources:
            for problem in template_check(source):
                self.add_error(field, problem)
        channel = str(data.get("channel") or "")
        required: tuple[str, ...] = {
            "email": ("subject",),
            "sms": ("body_text",),
            "whatsapp": ("whatsapp_template",),
            "letter": ("subject",),
        }.get(channel, ())
        for field in required:
            if not (data.get(field) or "").strip() and field not in self.errors:
                self.add_error(
                    field, gettext("A %(channel)s template needs this.") % {"channel": channel}
                )
        if channel in (Channel.EMAIL, Channel.LETTER) and not (
            (data.get("body_text") or "").strip() or (data.get("body_html") or "").strip()
        ):
            self.add_error("body_text", gettext("Write the text, the HTML or both."))
        return data


class ScopeFilter(admin.SimpleListFilter):
    title = _("scope")
    parameter_name = "scope"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("default", _("Shipped defaults")), ("own", _("A creditor's own"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "default":
            return queryset.filter(creditor__isnull=True)
        if self.value() == "own":
            return queryset.filter(creditor__isnull=False)
        return queryset


@admin.register(Template)
class TemplateAdmin(CreditorScopedAdmin):
    form = TemplateForm
    list_display = (
        "code",
        "channel",
        "language",
        "owner",
        "name",
        "active",
        "updated_at",
        "updated_by",
        "preview_link",
    )
    list_filter = (ScopeFilter, CREDITOR_FILTER, "channel", "language", "active")
    search_fields = ("code", "name", "subject", "body_text", "whatsapp_template")
    list_select_related = ("creditor",)
    readonly_fields = ("sample", "preview_link", "updated_at", "updated_by")
    inlines = [AuditEventInline]
    fieldsets = (
        (None, {"fields": ("creditor", "code", "channel", "language", "name", "active")}),
        (_("Words"), {"fields": ("subject", "body_text", "body_html")}),
        (_("WhatsApp"), {"fields": ("whatsapp_template", "whatsapp_params")}),
        (_("Check"), {"fields": ("sample", "preview_link", "updated_at", "updated_by")}),
    )

    @admin.display(description=_("creditor"), ordering="creditor__code")
    def owner(self, obj: Template) -> str:
        return obj.creditor.code if obj.creditor is not None else gettext("default")

    @admin.display(description=_("preview"))
    def preview_link(self, obj: Template) -> str:
        if not obj.pk:
            return "—"
        url = reverse("admin:messaging_template_preview", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Preview with an account"))

    @admin.display(description=_("with sample data"))
    def sample(self, obj: Template) -> str:
        """The template filled with an invented account: SMS size, or the first error."""
        if not obj.pk:
            return gettext("Save the template to see it with sample data.")
        try:
            rendered = template_sample(
                template=obj,
                creditor=obj.creditor or _SAMPLE_CREDITOR,
                as_of=timezone.localdate(),
            )
        except RenderError as exc:
            return str(exc)
        if rendered.sms is not None:
            return format_html(
                "{}<br><span class='help'>{}</span>",
                ngettext(
                    "%(characters)s characters in %(encoding)s: %(segments)s segment",
                    "%(characters)s characters in %(encoding)s: %(segments)s segments",
                    rendered.sms.segments,
                )
                % {
                    "characters": rendered.sms.characters,
                    "encoding": rendered.sms.encoding,
                    "segments": rendered.sms.segments,
                },
                rendered.text,
            )
        return rendered.subject or rendered.text[:200]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Template]:
        queryset = Template.objects.select_related("creditor")
        if request.user.is_superuser:
            return queryset
        visible = creditors_visible_to(request.user)
        return queryset.filter(Q(creditor__in=visible) | Q(creditor__isnull=True))

    def _is_default(self, obj: Template | None) -> bool:
        return obj is not None and obj.pk is not None and obj.creditor_id is None

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if self._is_default(obj) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if self._is_default(obj) and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, change=change, **kwargs)
        if "creditor" in form.base_fields and not request.user.is_superuser:
            # Only superusers write the shipped defaults.
            form.base_fields["creditor"].required = True
        return form

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """`?copy_from=<id>` starts a creditor's own template from a visible one."""
        initial: dict[str, Any] = dict(super().get_changeform_initial_data(request))
        source_id = request.GET.get("copy_from", "")
        if source_id.isdigit():
            source = self.get_queryset(request).filter(pk=int(source_id)).first()
            if source is not None:
                for name in (
                    "code",
                    "channel",
                    "language",
                    "name",
                    "subject",
                    "body_text",
                    "body_html",
                    "whatsapp_template",
                    "whatsapp_params",
                ):
                    initial[name] = getattr(source, name)
                initial["active"] = True
                initial.pop("copy_from", None)
        return initial

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        extra["copy_url"] = reverse("admin:messaging_template_add") + f"?copy_from={object_id}"
        return super().change_view(request, object_id, form_url, extra)

    change_form_template = "messaging/admin/template_change_form.html"

    def save_model(self, request: HttpRequest, obj: Template, form: Any, change: bool) -> None:
        # A person's edit: `templates_ensure` never overwrites it.
        obj.updated_by = request.user.get_username()[:150]
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="messaging_template_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Pick a debtor of the template's creditor and see the message they would get."""
        template = self.get_object(request, object_id)
        if template is None:
            raise Http404(gettext("No such template."))
        if not self.has_view_permission(request, template):
            raise PermissionDenied
        allowed = creditors_visible_to(request.user)
        if template.creditor_id is not None:
            allowed = allowed.filter(pk=template.creditor_id)
        debtors = Debtor.objects.filter(creditor__in=allowed).select_related("creditor")
        query = request.GET.get("q", "").strip()
        found: list[Debtor] = []
        if query:
            found = list(
                debtors.filter(
                    Q(external_id__iexact=query)
                    | Q(payment_reference=query)
                    | Q(tax_id=query)
                    | Q(name__icontains=query)
                ).order_by("name")[:25]
            )
        debtor = None
        rendered = None
        error = ""
        chosen = request.GET.get("debtor", "")
        if chosen.isdigit():
            debtor = debtors.filter(pk=int(chosen)).first()
            if debtor is None:
                raise Http404(gettext("No such debtor among the creditors you may see."))
            try:
                rendered = template_preview(template=template, debtor=debtor)
            except RenderError as exc:
                error = str(exc)
            if rendered is not None and request.GET.get("format") == "pdf":
                if template.channel != Channel.LETTER:
                    raise Http404(gettext("Only letters have a PDF."))
                response = HttpResponse(
                    letter_pdf(rendered=rendered), content_type="application/pdf"
                )
                response["Content-Disposition"] = (
                    f'inline; filename="{template.code}-{debtor.external_id}.pdf"'
                )
                return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": template,
            "title": gettext("Preview of %(template)s") % {"template": template},
            "query": query,
            "found": found,
            "debtor": debtor,
            "rendered": rendered,
            "error": error,
            "is_letter": template.channel == Channel.LETTER,
        }
        return TemplateResponse(request, "messaging/admin/template_preview.html", context)


@admin.register(ChannelSettings)
class ChannelSettingsAdmin(CreditorScopedAdmin):
    """Sender identities, the contact data messages give debtors, and the SMS limits."""

    list_display = ("creditor", "email_from", "sms_sender", "contact_phone", "sms_max_segments")
    list_filter = (CREDITOR_FILTER,)
    fieldsets = (
        (None, {"fields": ("creditor",)}),
        (_("Email"), {"fields": ("email_from", "email_reply_to")}),
        (_("SMS"), {"fields": ("sms_sender", "sms_transliterate", "sms_max_segments")}),
        (
            _("What messages tell debtors"),
            {"fields": ("contact_phone", "contact_email", "payment_instructions")},
        ),
        (_("Letters"), {"fields": ("letter_sender_block",)}),
    )
    inlines = [AuditEventInline]
