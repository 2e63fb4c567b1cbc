"""Forms of the workdesk: they parse what people type; the services decide."""

from __future__ import annotations

import datetime
import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import NumberFormatError, format_decimal, parse_decimal
from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cartera.messaging.models import Template
from cartera.portfolio.models import ActivityKind, ContactKind, ContactPoint, Creditor, Document
from cartera.reports.aging import make_buckets
from cartera.workdesk.models import OutcomeCode, TargetMetric
from cartera.workdesk.queries import REASONS, reason_label
from cartera.workdesk.services import CONSENTS, MANUAL_CHANNELS, PHONE_KINDS
from cartera.workdesk.widgets import fast_widgets

_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class WorkdeskForm(forms.Form):
    """Fields rendered without widget templates (`cartera.workdesk.widgets`)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        fast_widgets(self)


def set_choices(form: forms.Form, name: str, choices: Any) -> None:
    """Choices known only when the form is built (the creditor's codes, the debtor's
    documents…)."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def parse_amount(text: str, locale: str) -> Decimal:
    """An amount typed as people of `locale` write it ("1.234.567,89" in es_CO), or plainly
    ("1234567.89"); a mistake is refused rather than guessed."""
    text = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    text = re.sub(r"^[^\d\-]+", "", text)  # a currency sign typed in front
    if not text:
        raise forms.ValidationError(_("Write the amount"))
    for candidate_locale in (locale, "en"):
        try:
            return Decimal(str(parse_decimal(text, locale=candidate_locale, strict=True)))
        except (NumberFormatError, InvalidOperation, ValueError):
            continue
    if _PLAIN_NUMBER.match(text):
        return Decimal(text)
    raise forms.ValidationError(_("%(text)s is not an amount") % {"text": text})


class AmountField(forms.CharField):
    def __init__(self, *args: Any, locale: str = "es_CO", **kwargs: Any):
        self.locale = locale
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(*args, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        """A stored amount shown as people of the locale write it (1.250.000,50)."""
        if isinstance(value, Decimal):
            exponent = value.as_tuple().exponent
            places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
            pattern = "#,##0." + "0" * places if places else "#,##0"
            return format_decimal(value, format=pattern, locale=self.locale)
        return value

    def clean(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = super().clean(value)
        if not text:
            return None
        amount = parse_amount(text, self.locale)
        if amount <= 0:
            raise forms.ValidationError(_("The amount must be more than zero"))
        return amount


class LocalDateTimeField(forms.DateTimeField):
    """A `datetime-local` input, read in the server's time zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any):
        super().__init__(format="%Y-%m-%d", **kwargs)


TRI_STATE = [
    ("", gettext_lazy("not stated")),
    ("yes", gettext_lazy("yes")),
    ("no", gettext_lazy("no")),
]


def tri_state(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def tri_state_of(value: bool | None) -> str:
    return {True: "yes", False: "no"}.get(value, "") if value is not None else ""


# -- on an account -----------------------------------------------------------------------------


class ContactForm(WorkdeskForm):
    prefix = "contact"
    channel = forms.ChoiceField(label=gettext_lazy("Channel"))
    contact_point = forms.TypedChoiceField(
        label=gettext_lazy("Number or address used"), required=False, coerce=int, empty_value=None
    )
    outcome = forms.TypedChoiceField(label=gettext_lazy("Outcome"), coerce=int)
    right_party = forms.BooleanField(
        label=gettext_lazy("Spoke with the debtor (right party)"), required=False
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    promise_amount = AmountField(label=gettext_lazy("Amount promised"), required=False)
    promise_date = forms.DateField(
        label=gettext_lazy("Promised date"), required=False, widget=DateInput()
    )
    callback_at = LocalDateTimeField(label=gettext_lazy("Call back at"), required=False)

    def __init__(
        self,
        *args: Any,
        outcomes: list[OutcomeCode],
        contact_points: list[ContactPoint],
        creditor: Creditor,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.outcomes = {o.pk: o for o in outcomes}
        set_choices(self, "channel", [(k, ActivityKind(k).label) for k in MANUAL_CHANNELS])
        set_choices(self, "outcome", [("", "—")] + [(o.pk, o.label) for o in outcomes])
        set_choices(
            self,
            "contact_point",
            [("", "—")]
            + [
                (p.pk, f"{p.get_kind_display()}: {p.value}")
                for p in contact_points
                if p.kind in PHONE_KINDS or p.kind in (ContactKind.EMAIL, ContactKind.ADDRESS)
            ],
        )
        amount = self.fields["promise_amount"]
        assert isinstance(amount, AmountField)
        amount.locale = creditor.locale

    def clean_outcome(self) -> OutcomeCode:
        outcome = self.outcomes.get(self.cleaned_data["outcome"])
        if outcome is None:
            raise forms.ValidationError(_("Choose an outcome"))
        return outcome


class PromiseForm(WorkdeskForm):
    """One promise, or a plan of up to three parts."""

    prefix = "promise"
    amount = AmountField(label=gettext_lazy("Amount"))
    promised_date = forms.DateField(label=gettext_lazy("Date"), widget=DateInput())
    amount_2 = AmountField(label=gettext_lazy("Second part"), required=False)
    date_2 = forms.DateField(label=gettext_lazy("Its date"), required=False, widget=DateInput())
    amount_3 = AmountField(label=gettext_lazy("Third part"), required=False)
    date_3 = forms.DateField(label=gettext_lazy("Its date"), required=False, widget=DateInput())
    documents = forms.TypedMultipleChoiceField(
        label=gettext_lazy("On documents (none: the whole account)"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    channel = forms.ChoiceField(label=gettext_lazy("Taken by"))
    note = forms.CharField(label=gettext_lazy("Note"), required=False)

    def __init__(self, *args: Any, documents: list[Document], creditor: Creditor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.document_map = {d.pk: d for d in documents}
        set_choices(self, "documents", [(d.pk, d.number) for d in documents])
        set_choices(self, "channel", [(k, ActivityKind(k).label) for k in MANUAL_CHANNELS])
        for name in ("amount", "amount_2", "amount_3"):
            field = self.fields[name]
            assert isinstance(field, AmountField)
            field.locale = creditor.locale

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for n in (2, 3):
            if bool(data.get(f"amount_{n}")) != bool(data.get(f"date_{n}")):
                raise forms.ValidationError(_("Give each part both its amount and its date"))
        return data

    def parts(self) -> list[tuple[Decimal, datetime.date]]:
        data = self.cleaned_data
        parts = [(data["amount"], data["promised_date"])]
        for n in (2, 3):
            if data.get(f"amount_{n}"):
                parts.append((data[f"amount_{n}"], data[f"date_{n}"]))
        return parts

    def chosen_documents(self) -> list[Document]:
        return [self.document_map[pk] for pk in self.cleaned_data.get("documents") or []]


class CallbackForm(WorkdeskForm):
    prefix = "callback"
    due_at = LocalDateTimeField(label=gettext_lazy("Call back at"))
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=400)


class MessageForm(WorkdeskForm):
    prefix = "message"
    template = forms.TypedChoiceField(label=gettext_lazy("Template"), coerce=int)
    nonce = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, templates: list[Template], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.templates = {t.pk: t for t in templates}
        set_choices(
            self,
            "template",
            [("", "—")]
            + [
                (t.pk, f"{t.name or t.code} · {t.get_channel_display()} · {t.language}")
                for t in templates
            ],
        )
        if not self.is_bound:
            self.initial.setdefault("nonce", secrets.token_urlsafe(16))

    def clean_template(self) -> Template:
        template = self.templates.get(self.cleaned_data["template"])
        if template is None:
            raise forms.ValidationError(_("Choose a template"))
        return template


# The dispute form (opening one on the account page): `forms_disputes.DisputeOpenForm`.


class ContactPointForm(WorkdeskForm):
    prefix = "point"
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ContactKind.choices)
    value = forms.CharField(label=gettext_lazy("Phone, email or address"), max_length=300)
    is_primary = forms.BooleanField(label=gettext_lazy("Primary"), required=False)
    consent_call = forms.ChoiceField(label=gettext_lazy("Calls"), choices=TRI_STATE, required=False)
    consent_sms = forms.ChoiceField(label=gettext_lazy("SMS"), choices=TRI_STATE, required=False)
    consent_whatsapp = forms.ChoiceField(
        label=gettext_lazy("WhatsApp"), choices=TRI_STATE, required=False
    )
    consent_email = forms.ChoiceField(
        label=gettext_lazy("Email"), choices=TRI_STATE, required=False
    )
    consent_letter = forms.ChoiceField(
        label=gettext_lazy("Letters"), choices=TRI_STATE, required=False
    )

    def consents(self) -> dict[str, bool | None]:
        return {name: tri_state(self.cleaned_data.get(name) or "") for name in CONSENTS}


class ContactPointCorrectForm(WorkdeskForm):
    value = forms.CharField(label=gettext_lazy("Value"), max_length=300)
    valid = forms.BooleanField(label=gettext_lazy("Valid contact"), required=False)
    do_not_contact = forms.BooleanField(label=gettext_lazy("Do not contact"), required=False)
    consent_call = forms.ChoiceField(label=gettext_lazy("Calls"), choices=TRI_STATE, required=False)
    consent_sms = forms.ChoiceField(label=gettext_lazy("SMS"), choices=TRI_STATE, required=False)
    consent_whatsapp = forms.ChoiceField(
        label=gettext_lazy("WhatsApp"), choices=TRI_STATE, required=False
    )
    consent_email = forms.ChoiceField(
        label=gettext_lazy("Email"), choices=TRI_STATE, required=False
    )
    consent_letter = forms.ChoiceField(
        label=gettext_lazy("Letters"), choices=TRI_STATE, required=False
    )
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=200)

    @classmethod
    def for_point(cls, point: ContactPoint, **kwargs: Any) -> ContactPointCorrectForm:
        initial = {
            "value": point.value,
            "valid": point.valid,
            "do_not_contact": point.do_not_contact,
            **{name: tri_state_of(getattr(point, name)) for name in CONSENTS},
        }
        return cls(initial=initial, prefix=f"cp{point.pk}", **kwargs)

    def consents(self) -> dict[str, bool | None]:
        return {name: tri_state(self.cleaned_data.get(name) or "") for name in CONSENTS}


# -- lists -------------------------------------------------------------------------------------


def bucket_choices() -> list[tuple[str, Any]]:
    return [("", gettext_lazy("any"))] + [
        (b.name, _("current") if b.name == "current" else b.name) for b in make_buckets()
    ]


def reason_choices() -> list[tuple[str, Any]]:
    return [("", gettext_lazy("any"))] + [(code, reason_label(code)) for code in REASONS]


class ReassignForm(WorkdeskForm):
    """Which accounts to move (a filter and how many), and to whom."""

    from_collector = forms.ChoiceField(label=gettext_lazy("Now held by"))
    stage = forms.TypedChoiceField(
        label=gettext_lazy("Stage"), required=False, coerce=int, empty_value=None
    )
    segment = forms.TypedChoiceField(
        label=gettext_lazy("Segment"), required=False, coerce=int, empty_value=None
    )
    bucket = forms.ChoiceField(label=gettext_lazy("Days past due"), required=False)
    min_overdue = AmountField(label=gettext_lazy("Overdue at least"), required=False)
    count = forms.IntegerField(
        label=gettext_lazy("How many accounts"),
        help_text=gettext_lazy("the largest overdue first"),
        min_value=1,
        max_value=100_000,
        initial=10,
    )
    to_collector = forms.ChoiceField(label=gettext_lazy("Give them to"))
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        collectors: list[Any],
        stages: list[Any],
        segments: list[Any],
        creditor: Creditor,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        people = [(str(u.pk), u.get_full_name() or u.get_username()) for u in collectors]
        set_choices(
            self,
            "from_collector",
            [
                ("any", _("anyone")),
                ("none", _("nobody (unassigned)")),
                *people,
            ],
        )
        set_choices(self, "to_collector", [("", "—"), *people, ("none", _("nobody (release)"))])
        set_choices(self, "stage", [("", _("any"))] + [(s.pk, s.name) for s in stages])
        set_choices(self, "segment", [("", _("any"))] + [(s.pk, s.name) for s in segments])
        set_choices(self, "bucket", bucket_choices())
        field = self.fields["min_overdue"]
        assert isinstance(field, AmountField)
        field.locale = creditor.locale

    def clean_to_collector(self) -> str:
        value = self.cleaned_data["to_collector"]
        if not value:
            raise forms.ValidationError(_("Choose who takes the accounts"))
        return str(value)


class TargetsForm(WorkdeskForm):
    """One field per (collector or team, metric); amounts in the creditor's currency."""

    month = forms.DateField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, people: list[Any], creditor: Creditor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.people = people
        self.creditor = creditor
        for person in [None, *people]:
            for metric in TargetMetric:
                name = self.field_name(person, metric)
                if metric in (TargetMetric.PROMISES_AMOUNT, TargetMetric.COLLECTED):
                    self.fields[name] = AmountField(
                        label=metric.label, required=False, locale=creditor.locale
                    )
                else:
                    self.fields[name] = forms.IntegerField(
                        label=metric.label, required=False, min_value=0
                    )
        fast_widgets(self)

    @staticmethod
    def field_name(person: Any, metric: str) -> str:
        return f"t_{person.pk if person is not None else 'team'}_{metric}"

    def values(self) -> list[tuple[Any, str, Decimal | int | None]]:
        return [
            (person, metric.value, self.cleaned_data.get(self.field_name(person, metric)))
            for person in [None, *self.people]
            for metric in TargetMetric
        ]


class OverrideForm(WorkdeskForm):
    justification = forms.CharField(
        label=gettext_lazy("Why it must go out despite the rule"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )
