"""Forms of the cash pages: they read what people type; the services decide.

Amounts are read with the importers' parser (`cartera.portfolio.importing.values`), under the
decimal separator of the creditor's locale: "1.234.567,89" in es_CO, "1,234,567.89" in es_MX.
A text that the locale cannot read but the other separator can ("1234567.89" typed in
Bogotá) is read that way; anything else is refused, never guessed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cartera.cash.models import BankAccount, StatementLine
from cartera.core.money import exponent, from_minor, to_minor
from cartera.portfolio.importing.values import (
    ValueFormatError,
    decimal_separator_for_locale,
    parse_amount,
)
from cartera.portfolio.models import Creditor, Document


def amount_typed(text: str, locale: str) -> Decimal:
    """An amount as a person of `locale` types it; ValidationError when it is not one."""
    text = (text or "").strip()
    if not text:
        raise forms.ValidationError(_("Write the amount"))
    decimal = decimal_separator_for_locale(locale)
    for separator in (decimal, "." if decimal == "," else ","):
        try:
            return parse_amount(text, separator)
        except ValueFormatError:
            continue
    raise forms.ValidationError(_("%(text)s is not an amount") % {"text": text})


def amount_minor(text: str, locale: str, currency: str) -> int:
    """A positive amount typed in `locale`, in minor units of `currency`."""
    value = amount_typed(text, locale)
    if value <= 0:
        raise forms.ValidationError(_("The amount must be more than zero"))
    exponent_of_value = value.normalize().as_tuple().exponent
    if isinstance(exponent_of_value, int) and -exponent_of_value > exponent(currency):
        raise forms.ValidationError(
            _("%(currency)s amounts have at most %(places)d decimals")
            % {"currency": currency, "places": exponent(currency)}
        )
    return to_minor(value, currency)


def amount_for_input(minor: int, currency: str, locale: str) -> str:
    """An amount in minor units as the locale writes it in a form field (1.250.000,50)."""
    value = from_minor(minor, currency)
    decimal = decimal_separator_for_locale(locale)
    group = "." if decimal == "," else ","
    text = f"{value:,.{exponent(currency)}f}"  # 1,250,000.50
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any):
        super().__init__(format="%Y-%m-%d", **kwargs)


class QueueFilterForm(forms.Form):
    """The unmatched queue's filters (a GET form: every field may be left empty)."""

    creditor = forms.TypedChoiceField(
        label=gettext_lazy("Creditor"), required=False, coerce=int, empty_value=None
    )
    bank_account = forms.TypedChoiceField(
        label=gettext_lazy("Bank account"), required=False, coerce=int, empty_value=None
    )
    date_from = forms.DateField(label=gettext_lazy("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=gettext_lazy("To"), required=False, widget=DateInput())
    amount_min = forms.CharField(
        label=gettext_lazy("Amount from"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    amount_max = forms.CharField(
        label=gettext_lazy("Amount to"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    q = forms.CharField(
        label=gettext_lazy("Text or reference"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search"}),
    )

    def __init__(
        self, *args: Any, creditors: list[Creditor], accounts: list[BankAccount], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.creditors = {c.pk: c for c in creditors}
        self.accounts = {a.pk: a for a in accounts}
        creditor_field = self.fields["creditor"]
        assert isinstance(creditor_field, forms.ChoiceField)
        creditor_field.choices = [("", _("any"))] + [(c.pk, c.name) for c in creditors]
        several = len(creditors) > 1
        by_pk = self.creditors
        account_field = self.fields["bank_account"]
        assert isinstance(account_field, forms.ChoiceField)
        account_field.choices = [("", _("any"))] + [
            (a.pk, f"{a} · {by_pk[a.creditor_id].code}" if several else str(a)) for a in accounts
        ]

    def locale(self) -> str:
        """The locale amounts are read in: the chosen creditor's, or the first one's."""
        chosen = self.creditors.get(self.cleaned_data.get("creditor") or 0)
        if chosen is not None:
            return chosen.locale
        return next(iter(self.creditors.values())).locale if self.creditors else "es_CO"

    def clean_creditor(self) -> int | None:
        value = self.cleaned_data.get("creditor")
        if value is not None and value not in self.creditors:
            raise forms.ValidationError(_("No such creditor"))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("amount_min", "amount_max"):
            text = (data.get(name) or "").strip()
            if not text:
                data[name] = None
                continue
            try:
                value = amount_typed(text, self.locale())
            except forms.ValidationError as exc:
                self.add_error(name, exc)
                data[name] = None
                continue
            if value < 0:
                self.add_error(name, _("The amount must be more than zero"))
                data[name] = None
                continue
            data[name] = value
        low, high = data.get("date_from"), data.get("date_to")
        if low and high and low > high:
            self.add_error("date_to", _("The end comes before the start"))
        account = self.accounts.get(data.get("bank_account") or 0)
        creditor = data.get("creditor")
        if account is not None and creditor is not None and account.creditor_id != creditor:
            self.add_error("bank_account", _("This bank account is another creditor's"))
        return data


class ApplyForm(forms.Form):
    """Apply a line to one debtor: oldest due first, or to the documents given an amount.

    One amount box per open document (`amount-<document id>`); what the amounts leave of the
    line stays as the debtor's credit."""

    OLDEST = "oldest"
    CHOSEN = "chosen"

    debtor = forms.IntegerField(widget=forms.HiddenInput)
    mode = forms.ChoiceField(choices=[(OLDEST, OLDEST), (CHOSEN, CHOSEN)], widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        line: StatementLine,
        documents: list[Document],
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.line = line
        self.documents = documents
        self.locale = line.creditor.locale
        for document in documents:
            self.fields[self.amount_name(document)] = forms.CharField(
                label=document.number,
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            )

    @staticmethod
    def amount_name(document: Document) -> str:
        return f"amount-{document.pk}"

    def rows(self) -> list[tuple[Document, forms.BoundField]]:
        return [(document, self[self.amount_name(document)]) for document in self.documents]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen: list[tuple[Document, int]] = []
        for document in self.documents:
            name = self.amount_name(document)
            text = (data.get(name) or "").strip()
            if not text:
                continue
            try:
                minor = amount_minor(text, self.locale, self.line.currency)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
                continue
            if minor > document.balance_minor:
                self.add_error(
                    name,
                    _("%(number)s owes only %(balance)s")
                    % {
                        "number": document.number,
                        "balance": amount_for_input(
                            document.balance_minor, document.currency, self.locale
                        ),
                    },
                )
                continue
            chosen.append((document, minor))
        # An amount typed for a document that is no longer open (paid meanwhile) is not
        # silently dropped: the person looks again.
        stale = [
            key
            for key, value in self.data.items()
            if key.startswith("amount-") and key not in self.fields and str(value).strip()
        ]
        if stale and data.get("mode") == self.CHOSEN:
            raise forms.ValidationError(
                _("Some documents no longer owe anything: check the amounts again.")
            )
        if data.get("mode") == self.CHOSEN and not self.errors:
            if not chosen:
                raise forms.ValidationError(_("Write an amount for at least one document"))
            total = sum(minor for _document, minor in chosen)
            if total > self.line.amount_minor:
                raise forms.ValidationError(
                    _("The amounts add up to %(total)s, more than the line's %(amount)s")
                    % {
                        "total": amount_for_input(total, self.line.currency, self.locale),
                        "amount": amount_for_input(
                            self.line.amount_minor, self.line.currency, self.locale
                        ),
                    }
                )
        data["allocations"] = chosen if data.get("mode") == self.CHOSEN else None
        return data


IGNORE_REASONS = [
    ("own_transfer", gettext_lazy("Transfer between our own accounts")),
    ("bank", gettext_lazy("Bank movement (interest, fee refund, correction)")),
    ("loan", gettext_lazy("Loan disbursement")),
    ("refund", gettext_lazy("Refund from a supplier")),
    ("other", gettext_lazy("Something else (say what)")),
]


class IgnoreForm(forms.Form):
    """Set a line aside: it is not a debtor's payment, and why."""

    prefix = "ignore"
    reason = forms.ChoiceField(label=gettext_lazy("Why"), choices=[("", "—"), *IGNORE_REASONS])
    detail = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        reason, detail = data.get("reason"), " ".join((data.get("detail") or "").split())
        if reason == "other" and not detail:
            self.add_error("detail", _("Say what the line is"))
        if reason:
            label = str(dict(IGNORE_REASONS)[reason])
            data["text"] = f"{label}: {detail}" if detail else label
        return data


class ReverseForm(forms.Form):
    """Undo an applied line: its payment's allocations are reversed and it waits again."""

    prefix = "reverse"
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=200)
