"""The payment-agreement form of the account page and the decision form of the approvals
queue: they parse what people type; `negotiation.agreements` decides."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cartera.core.money import format_minor
from cartera.negotiation.models import AgreementFrequency, AgreementMethod
from cartera.portfolio.models import Creditor, Document
from cartera.workdesk.forms import AmountField, DateInput, WorkdeskForm, parse_amount, set_choices
from cartera.workdesk.widgets import fast_widgets

MAX_INSTALLMENTS = 600  # as `negotiation.plans`


class RateField(forms.CharField):
    """An effective annual rate in percent, typed as people of the locale write it (24,5 or
    24.5, with or without "%"); empty: None (the creditor's list rate)."""

    def __init__(self, *args: Any, locale: str = "es_CO", **kwargs: Any):
        self.locale = locale
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = (super().clean(value) or "").strip().rstrip("%").strip()
        if not text:
            return None
        rate = parse_amount(text, self.locale)
        if rate < 0:
            raise forms.ValidationError(_("The rate cannot be negative"))
        if rate >= 1000:
            raise forms.ValidationError(_("Write the rate in percent, e.g. 24,5"))
        exponent = rate.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -4:
            raise forms.ValidationError(_("At most four decimals"))
        return rate


def _decimal_key(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


class AgreementForm(WorkdeskForm):
    """What a collector agrees with the debtor; the schedule comes from the calculator."""

    prefix = "agreement"
    documents = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Documents (none: every open, undisputed document)"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    installments = forms.IntegerField(
        label=gettext_lazy("Installments"), min_value=1, max_value=MAX_INSTALLMENTS, initial=6
    )
    frequency = forms.ChoiceField(
        label=gettext_lazy("Frequency"),
        choices=AgreementFrequency.choices,
        initial=AgreementFrequency.MONTHLY,
    )
    method = forms.ChoiceField(
        label=gettext_lazy("Method"),
        choices=AgreementMethod.choices,
        initial=AgreementMethod.FRENCH,
    )
    annual_rate = RateField(label=gettext_lazy("Rate (% E.A.)"), required=False)
    first_date = forms.DateField(
        label=gettext_lazy("First installment"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("Empty: one period after today"),
    )
    down_payment = AmountField(label=gettext_lazy("Down payment"), required=False)
    down_payment_date = forms.DateField(
        label=gettext_lazy("Down payment due"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("Empty: the day it is approved"),
    )
    waive = AmountField(label=gettext_lazy("Interest and fees waived"), required=False)
    discount = AmountField(label=gettext_lazy("Discount on the debt"), required=False)
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, documents: list[Document], creditor: Creditor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.document_map = {d.pk: d for d in documents}
        set_choices(
            self,
            "documents",
            [
                (
                    d.pk,
                    f"{d.number} · {format_minor(d.balance_minor, d.currency, creditor.locale)}",
                )
                for d in documents
            ],
        )
        for name in ("down_payment", "waive", "discount"):
            field = self.fields[name]
            assert isinstance(field, AmountField)
            field.locale = creditor.locale
        rate = self.fields["annual_rate"]
        assert isinstance(rate, RateField)
        rate.locale = creditor.locale

    def chosen_documents(self) -> list[Document]:
        return [self.document_map[pk] for pk in self.cleaned_data.get("documents") or []]

    def terms(self) -> dict[str, Any]:
        """The form's values as `agreement_quote` and `agreement_propose` take them."""
        data = self.cleaned_data
        return {
            "documents": self.chosen_documents(),
            "installments": data["installments"],
            "frequency": data["frequency"],
            "method": data["method"],
            "annual_rate": data.get("annual_rate"),
            "first_date": data.get("first_date"),
            "down_payment": data.get("down_payment") or Decimal(0),
            "down_payment_date": data.get("down_payment_date"),
            "waive": data.get("waive") or Decimal(0),
            "discount": data.get("discount") or Decimal(0),
            "note": data.get("note") or "",
        }

    def fingerprint(self) -> str:
        """What the schedule depends on, hashed: proposing after changing a figure without
        calculating again shows the new schedule first instead of proposing blindly."""
        data = self.cleaned_data
        parts = [
            ",".join(str(pk) for pk in sorted(data.get("documents") or [])),
            str(data["installments"]),
            data["frequency"],
            data["method"],
            _decimal_key(data.get("annual_rate")),
            str(data.get("first_date") or ""),
            _decimal_key(data.get("down_payment")),
            str(data.get("down_payment_date") or ""),
            _decimal_key(data.get("waive")),
            _decimal_key(data.get("discount")),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


class DecisionForm(forms.Form):
    """A supervisor's note on an approval or a rejection (a rejection needs one: the
    service says so)."""

    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        fast_widgets(self)
