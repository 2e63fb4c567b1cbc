"""The dispute forms: opening one on the account page, and on the dispute's own page adding a
file, changing the owner and resolving it. They parse what people type; the services of
`cartera.negotiation` decide (and check the files again)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cartera.negotiation.models import DisputeResolution
from cartera.negotiation.queries import CategoryOption, dispute_categories
from cartera.negotiation.services import (
    NegotiationError,
    attachment_check,
    attachment_extensions,
    attachment_max_bytes,
    attachment_name,
)
from cartera.portfolio.models import Creditor, Document
from cartera.workdesk.forms import AmountField, DateInput, WorkdeskForm, set_choices
from cartera.workdesk.queries import collectors_of


def upload_read(upload: UploadedFile | None) -> tuple[str, bytes] | None:
    """(name, content) of an uploaded file, refused with a clear message when it is too big
    (before reading it), of a type not accepted, empty, or not what its name says."""
    if upload is None:
        return None
    name = upload.name or ""
    limit = attachment_max_bytes()
    try:
        attachment_name(name)
        if upload.size is not None and upload.size > limit:
            raise forms.ValidationError(
                _("%(name)s is too big (%(size)s): the most accepted is %(limit)s")
                % {
                    "name": name,
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(limit),
                }
            )
        upload.seek(0)
        content = upload.read(limit + 1)
        return attachment_check(name, content), content
    except NegotiationError as exc:
        raise forms.ValidationError(str(exc)) from exc


def _file_field(label: Any, *, required: bool) -> forms.FileField:
    return forms.FileField(
        label=label,
        required=required,
        allow_empty_file=True,  # refused by `upload_read`, with the file's name
        widget=forms.FileInput,
    )


def _accept(form: forms.Form, name: str) -> None:
    """The file chooser offers the accepted types; the server checks them anyway."""
    field = form.fields[name]
    field.widget.attrs["accept"] = ",".join(attachment_extensions())
    field.help_text = _("%(types)s; at most %(limit)s") % {
        "types": ", ".join(e.lstrip(".").upper() for e in attachment_extensions()),
        "limit": filesizeformat(attachment_max_bytes()),
    }


def _owner_choices(owners: list[User], *, empty: str) -> list[tuple[Any, str]]:
    return [("", empty)] + [(u.pk, u.get_full_name() or u.get_username()) for u in owners]


class DisputeOpenForm(WorkdeskForm):
    """A dispute on some open documents of the account, in one of the creditor's categories,
    optionally with the amount contested, who investigates it, its deadline and a file."""

    prefix = "dispute"
    documents = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Documents in dispute"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    category = forms.ChoiceField(label=gettext_lazy("Reason"))
    amount = AmountField(
        label=gettext_lazy("Amount disputed"),
        required=False,
        help_text=gettext_lazy("empty: the whole balance of the documents"),
    )
    owner = forms.TypedChoiceField(
        label=gettext_lazy("Owner (who investigates it)"),
        required=False,
        coerce=int,
        empty_value=None,
    )
    due_on = forms.DateField(
        label=gettext_lazy("To be resolved by"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("empty: the days the reason allows"),
    )
    note = forms.CharField(
        label=gettext_lazy("What the debtor says"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    attachment = _file_field(gettext_lazy("Attachment (optional)"), required=False)

    def __init__(
        self,
        *args: Any,
        documents: list[Document],
        creditor: Creditor,
        categories: list[CategoryOption],
        owners: list[User],
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.document_map = {d.pk: d for d in documents}
        self.owner_map = {u.pk: u for u in owners}
        self.category_labels = {c.code: c.label for c in categories}
        set_choices(self, "documents", [(d.pk, d.number) for d in documents])
        set_choices(self, "category", [(c.code, c.label) for c in categories])
        set_choices(self, "owner", _owner_choices(owners, empty=_("nobody yet")))
        amount = self.fields["amount"]
        assert isinstance(amount, AmountField)
        amount.locale = creditor.locale
        _accept(self, "attachment")
        self.upload: tuple[str, bytes] | None = None

    def clean_owner(self) -> User | None:
        pk = self.cleaned_data.get("owner")
        return None if pk is None else self.owner_map.get(pk)

    def clean_attachment(self) -> Any:
        upload = self.cleaned_data.get("attachment")
        self.upload = upload_read(upload or None)
        return upload

    def chosen_documents(self) -> list[Document]:
        return [self.document_map[pk] for pk in self.cleaned_data["documents"]]

    def attachments(self) -> list[tuple[str, bytes]]:
        return [self.upload] if self.upload is not None else []


class DisputeAttachForm(WorkdeskForm):
    prefix = "attach"
    file = _file_field(gettext_lazy("File"), required=True)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        _accept(self, "file")
        self.upload: tuple[str, bytes] | None = None

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        self.upload = upload_read(upload)
        return upload


class DisputeOwnerForm(WorkdeskForm):
    prefix = "owner"
    owner = forms.TypedChoiceField(
        label=gettext_lazy("Owner"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, owners: list[User], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.owner_map = {u.pk: u for u in owners}
        set_choices(self, "owner", _owner_choices(owners, empty=_("nobody")))

    def clean_owner(self) -> User | None:
        pk = self.cleaned_data.get("owner")
        return None if pk is None else self.owner_map.get(pk)


class DisputeResolveForm(WorkdeskForm):
    prefix = "resolve"
    resolution = forms.ChoiceField(
        label=gettext_lazy("Resolution"),
        choices=DisputeResolution.choices,
        widget=forms.RadioSelect,
    )
    credit = AmountField(
        label=gettext_lazy("Amount credited"),
        required=False,
        help_text=gettext_lazy("for a partially valid dispute: less than what was disputed"),
    )
    note = forms.CharField(
        label=gettext_lazy("Why (kept with the resolution)"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, creditor: Creditor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        credit = self.fields["credit"]
        assert isinstance(credit, AmountField)
        credit.locale = creditor.locale

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        resolution = data.get("resolution")
        if resolution == DisputeResolution.PARTIALLY_VALID and not data.get("credit"):
            self.add_error("credit", _("Write the amount a partially valid dispute credits"))
        elif resolution == DisputeResolution.REJECTED and data.get("credit"):
            self.add_error("credit", _("A rejected dispute credits nothing: leave it empty"))
        return data


def dispute_open_form(
    creditor: Creditor, documents: list[Document], data: Any = None, files: Any = None
) -> DisputeOpenForm:
    """The account page's dispute form with the creditor's categories and the people it may be
    given to (two queries)."""
    return DisputeOpenForm(
        data,
        files,
        documents=documents,
        creditor=creditor,
        categories=dispute_categories(creditor),
        owners=collectors_of([creditor]),
    )
