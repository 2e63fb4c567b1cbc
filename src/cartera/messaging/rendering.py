"""Rendering messages: templates stored as data, filled in a restricted context.

A template is Django template source kept in a `Template` row. It is compiled by an engine of
its own that knows only a safe subset of tags and filters (no `{% load %}`, `{% include %}`,
`{% debug %}`, `{% url %}` or `{% now %}`; no `safe` filter, no `{% autoescape off %}`) and is
filled with plain dicts and strings, never model instances, so a template can reach nothing but
the documented variables (`TEMPLATE_VARIABLES`, docs/message-templates.md).

Amounts and dates are written once per message, with Babel, the way the debtor's language and
the creditor's country write them (`$ 1.234.567`, `23 de noviembre de 2026`). HTML is escaped;
text, SMS and WhatsApp parameters are not.

`Renderer` renders many messages of one creditor: `prepare()` loads what they need in a fixed
number of queries per chunk, compiled templates and Babel patterns are cached, and `render()`
then issues no query.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from email.utils import parseaddr
from functools import lru_cache
from html import escape as html_escape
from pathlib import Path
from typing import Any, NamedTuple

from babel import Locale, localedata
from babel.dates import format_date
from babel.numbers import NumberPattern, get_currency_symbol, parse_pattern
from django.template import (
    Context,
    Engine,
    Library,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)
from django.template import Template as DjangoTemplate
from django.template.base import FilterExpression, Node, NodeList, Variable
from django.urls import reverse
from django.utils.html import linebreaks
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localdate

from cartera.core.money import exponent, from_minor
from cartera.messaging.batchsql import among
from cartera.messaging.defaults import LAYOUT_TEXTS
from cartera.messaging.models import Channel, ChannelSettings, Message, Template
from cartera.messaging.optout import optout_token, public_url
from cartera.messaging.sms import SmsInfo, sms_measure, sms_to_gsm7
from cartera.negotiation.models import Promise, PromiseStatus
from cartera.negotiation.queries import (
    AgreementFacts,
    InstallmentFacts,
    agreement_facts,
    installment_facts,
)
from cartera.portfolio.models import (
    ContactPoint,
    Creditor,
    Debtor,
    Document,
    DocumentStatus,
    Payment,
)

__all__ = [
    "TEMPLATE_VARIABLES",
    "RenderError",
    "Rendered",
    "Renderer",
    "SmsInfo",
    "creditor_language",
    "template_check",
    "template_preview",
    "template_sample",
]

LANGUAGES = ("es", "en")
FALLBACK_LANGUAGE = "es"
# Messages queued with one of these origins name a payment in `origin_ref` (payment receipts).
RECEIPT_ORIGINS = ("receipt", "payment")
# Rows per IN list when preloading: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 2000
# Countries whose offices print on US Letter paper (the rest of the world uses A4).
LETTER_PAPER_COUNTRIES = frozenset(
    {"US", "CA", "MX", "CO", "CL", "VE", "PH", "CR", "GT", "DO", "PR", "PA", "SV", "HN", "NI"}
)
# How each country calls a tax id on a letter.
TAX_ID_LABELS = {
    "CO": "NIT",
    "MX": "RFC",
    "PE": "RUC",
    "CL": "RUT",
    "EC": "RUC",
    "AR": "CUIT",
    "ES": "NIF",
    "US": "EIN",
}
# Colombian usage puts a space after the peso sign ($ 1.234.567); CLDR's es_CO pattern has none.
_PATTERN_OVERRIDES = {"es_CO": "¤ #,##0.00"}
_TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


class RenderError(Exception):
    """A message cannot be rendered and retrying will not help: a permanent error.

    The template is missing, does not compile, or makes an SMS longer than the creditor allows.
    """


# --- the restricted template language -------------------------------------------------------

_ALLOWED_TAGS = (
    "comment",
    "cycle",
    "filter",
    "firstof",
    "for",
    "if",
    "ifchanged",
    "regroup",
    "resetcycle",
    "spaceless",
    "templatetag",
    "verbatim",
    "widthratio",
    "with",
)
# `safe`/`safeseq` would let a debtor's name inject HTML; the clock and chance have no place in
# a message whose date is `as_of`; `pprint` shows Python internals.
_REFUSED_FILTERS = frozenset(
    {"safe", "safeseq", "pprint", "random", "date", "time", "timesince", "timeuntil"}
)

register = Library()
register.tags = {name: defaulttags.register.tags[name] for name in _ALLOWED_TAGS}
register.filters = {
    name: function
    for name, function in defaultfilters.register.filters.items()
    if name not in _REFUSED_FILTERS
}


class Money(str):
    """An amount as written for the debtor; filters can still reach the figure behind it."""

    _minor: int | None
    _currency: str
    _locale: str
    _decimals: int

    def __html__(self) -> str:
        # In HTML the sign stays on the figure's line: "$ 1.234.567" never breaks after "$".
        return html_escape(str(self), quote=True).replace(" ", "&nbsp;")


class Day(str):
    """A date as written for the debtor (`23 de noviembre de 2026`)."""

    _value: datetime.date
    _locale: str


@register.filter
def amount_number(value: Any) -> str:
    """The amount without its currency sign: 1.234.567."""
    if isinstance(value, Money) and value._minor is not None:
        pattern, locale = _number_pattern(value._locale, value._decimals)
        return pattern.apply(_rounded(value._minor, value._currency, value._decimals), locale)
    return str(value)


@register.filter
def amount_code(value: Any) -> str:
    """The amount with its ISO code: COP 1.234.567."""
    if isinstance(value, Money) and value._minor is not None:
        return f"{value._currency} {amount_number(value)}"
    return str(value)


@register.filter
def date_short(value: Any) -> str:
    """The date in the locale's short form: 23/11/26."""
    if isinstance(value, Day):
        return _clean_spaces(format_date(value._value, format="short", locale=value._locale))
    return str(value)


@register.filter
def date_medium(value: Any) -> str:
    """The date in the locale's medium form: 23 nov 2026."""
    if isinstance(value, Day):
        return _clean_spaces(format_date(value._value, format="medium", locale=value._locale))
    return str(value)


@register.filter
def date_iso(value: Any) -> str:
    """The date as 2026-11-23."""
    if isinstance(value, Day):
        return value._value.isoformat()
    return str(value)


class _MessageEngine(Engine):
    # Only this module's library: Django's default tags (load, include, url, debug…) are not
    # there, so a template that uses them does not compile.
    default_builtins = ["cartera.messaging.rendering"]


_engine: Engine | None = None
_layout_engine: Engine | None = None


def _message_engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = _MessageEngine(loaders=[], libraries={}, string_if_invalid="")
    return _engine


def _layouts() -> Engine:
    """Our own layouts (email, letter): trusted files, ordinary Django templates."""
    global _layout_engine
    if _layout_engine is None:
        _layout_engine = Engine(dirs=[str(_TEMPLATES_DIR)], libraries={}, autoescape=True)
    return _layout_engine


@lru_cache(maxsize=2048)
def _compile(source: str) -> DjangoTemplate:
    return _message_engine().from_string(source)


def _compiled(source: str, *, where: str) -> DjangoTemplate:
    try:
        return _compile(source)
    except TemplateSyntaxError as exc:
        raise RenderError(f"{where}: the template does not compile: {exc}") from exc


# --- what a template may use ----------------------------------------------------------------

_DOCUMENT_FIELDS = (
    "number",
    "kind",
    "kind_label",
    "due_date",
    "amount",
    "balance",
    "currency",
    "dpd",
    "days_to_due",
    "overdue",
)
TEMPLATE_VARIABLES: dict[str, Any] = {
    "debtor": {
        f: None
        for f in (
            "name",
            "kind",
            "is_company",
            "external_id",
            "tax_id",
            "tax_id_type",
            "payment_reference",
            "city",
        )
    },
    "creditor": {
        f: None
        for f in (
            "name",
            "tax_id",
            "tax_id_label",
            "country",
            "email",
            "phone",
            "payment_instructions",
        )
    },
    "documents": [{f: None for f in _DOCUMENT_FIELDS}],
    "documents_count": None,
    "documents_table": None,
    "documents_text": None,
    "total_due": None,
    "overdue_total": None,
    "account_balance": None,
    "has_balance": None,
    "max_dpd": None,
    "oldest_due_date": None,
    "currency": None,
    "promise": {f: None for f in ("amount", "date", "status")},
    "payment": {f: None for f in ("amount", "date", "reference")},
    # Filled for messages about an agreement (origin "agreement") or an installment (origin
    # "installment"); empty otherwise, and a template renders its {% else %} branch.
    "agreement": {f: None for f in ("number", "installments", "total", "first_date")},
    "installment": {f: None for f in ("number", "of", "amount", "due_date")},
    "payment_reference": None,
    "opt_out_url": None,
    "today": None,
}
"""The variables a template may use: a dict is an object with those fields, a list of one dict
is a list of such objects, None is a value."""

_ANY = object()


def _schema_of(path: Sequence[str], scope: dict[str, Any]) -> tuple[Any, str | None]:
    """The schema a dotted lookup reaches, or the reason it reaches nothing."""
    root = path[0]
    if root not in scope:
        return None, f"unknown variable '{root}'"
    schema = scope[root]
    walked = root
    for part in path[1:]:
        if schema is _ANY:
            return _ANY, None
        if isinstance(schema, list):
            if not part.isdigit():
                return None, f"'{walked}' is a list: use {{% for %}} or an index, not '.{part}'"
            schema = schema[0]
        elif isinstance(schema, dict):
            if part not in schema:
                fields = ", ".join(sorted(schema))
                return None, f"'{walked}' has no '{part}' (it has: {fields})"
            schema = schema[part]
        else:
            return None, f"'{walked}' is a value and has no '{part}'"
        walked = f"{walked}.{part}"
    return schema, None


def _expressions(value: Any, depth: int = 0) -> Iterator[FilterExpression | Variable]:
    """Every expression inside a tag's attributes (conditions, arguments, sequences)."""
    if depth > 12:
        return
    if isinstance(value, FilterExpression | Variable):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _expressions(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _expressions(item, depth + 1)
    elif hasattr(value, "first") and hasattr(value, "second"):
        # A condition of {% if %}: an operator with operands, or a literal with a value.
        for name in ("first", "second", "value"):
            yield from _expressions(getattr(value, name, None), depth + 1)


def _variables(expression: FilterExpression | Variable) -> Iterator[Variable]:
    if isinstance(expression, Variable):
        if expression.lookups is not None:
            yield expression
        return
    if isinstance(expression.var, Variable) and expression.var.lookups is not None:
        yield expression.var
    for _function, arguments in expression.filters:
        for is_lookup, argument in arguments:
            if is_lookup and isinstance(argument, Variable) and argument.lookups is not None:
                yield argument


def _check_nodes(nodes: NodeList, scope: dict[str, Any], problems: list[str]) -> None:
    for node in nodes:
        _check_node(node, scope, problems)


def _check_node(node: Node, scope: dict[str, Any], problems: list[str]) -> None:
    inner = dict(scope)
    skip_roots: set[str] = set()
    if isinstance(node, defaulttags.ForNode):
        schema: Any = _ANY
        if isinstance(node.sequence, FilterExpression):
            for variable in _variables(node.sequence):
                sequence, _problem = _schema_of(variable.lookups or (), scope)
                if isinstance(sequence, list) and len(node.loopvars) == 1:
                    schema = sequence[0]
        for name in node.loopvars:
            inner[name] = schema
        inner["forloop"] = _ANY
    elif isinstance(node, defaulttags.WithNode):
        for name, expression in node.extra_context.items():
            found: Any = _ANY
            for variable in _variables(expression):
                found, problem = _schema_of(variable.lookups or (), scope)
                if problem:
                    found = _ANY  # reported where the expression itself is checked
                break
            inner[name] = found
    elif isinstance(node, defaulttags.RegroupNode):
        inner[node.var_name] = _ANY
        scope[node.var_name] = _ANY
        skip_roots.add(node.var_name)
    elif isinstance(node, defaulttags.FilterNode):
        skip_roots.add("var")  # {% filter %} feeds its content through a variable named var
    for name in ("asvar", "variable_name"):
        defined = getattr(node, name, None)
        if isinstance(defined, str) and defined:
            scope[defined] = _ANY
            inner[defined] = _ANY
    for attribute, value in vars(node).items():
        if attribute in ("origin", "token") or isinstance(value, NodeList):
            continue
        if attribute == "conditions_nodelists":
            for condition, nodelist in value:
                for expression in _expressions(condition):
                    _check_expression(expression, scope, skip_roots, problems)
                _check_nodes(nodelist, scope, problems)
            continue
        for expression in _expressions(value):
            # A loop's sequence is read in the outer scope.
            _check_expression(expression, scope, skip_roots, problems)
    for value in vars(node).values():
        if isinstance(value, NodeList):
            _check_nodes(value, inner, problems)


def _check_expression(
    expression: FilterExpression | Variable,
    scope: dict[str, Any],
    skip_roots: set[str],
    problems: list[str],
) -> None:
    for variable in _variables(expression):
        lookups = variable.lookups or ()
        if not lookups or lookups[0] in skip_roots:
            continue
        _schema, problem = _schema_of(lookups, scope)
        if problem and problem not in problems:
            problems.append(problem)


def template_check(source: str) -> list[str]:
    """What is wrong with a template's source: syntax errors, unknown variables or filters.

    An empty list means it compiles and uses only documented variables.
    """
    try:
        compiled = _compile(source)
    except TemplateSyntaxError as exc:
        return [str(exc)]
    problems: list[str] = []
    _check_nodes(compiled.nodelist, dict(TEMPLATE_VARIABLES), problems)
    return problems


# --- formatting -----------------------------------------------------------------------------


def _clean_spaces(text: str) -> str:
    # Babel writes no-break spaces (U+00A0, U+202F); outside GSM-7, one would make every SMS
    # UCS-2 and halve what fits.
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def creditor_language(creditor: Creditor) -> str:
    """The language messages of this creditor are written in: its locale's, es or en."""
    language = creditor.locale.replace("-", "_").split("_")[0].lower()
    return language if language in LANGUAGES else FALLBACK_LANGUAGE


@lru_cache(maxsize=256)
def formatting_locale(language: str, country: str, creditor_locale: str) -> str:
    """The Babel locale for amounts and dates: the language as written in the creditor's country."""
    candidate = f"{language}_{country}"
    if localedata.exists(candidate):
        return candidate
    if creditor_locale.split("_")[0] == language and localedata.exists(creditor_locale):
        return creditor_locale
    return language


def display_decimals(creditor: Creditor, currency: str) -> int:
    """Decimals shown for an amount: the creditor's choice for its own currency.

    Without a choice, a Colombian creditor shows none (pesos are written without cents) and
    others show the currency's own. Another currency always shows its own decimals.
    """
    own = exponent(currency)
    if currency != creditor.currency:
        return own
    if creditor.display_decimals is not None:
        return min(creditor.display_decimals, own)
    return 0 if creditor.country == "CO" else own


@lru_cache(maxsize=256)
def _currency_pattern(locale: str, currency: str, decimals: int) -> tuple[NumberPattern, Locale]:
    parsed = Locale.parse(locale)
    text = _PATTERN_OVERRIDES.get(locale) or parsed.currency_formats["standard"].pattern
    text = text.split(";")[0]
    symbol = get_currency_symbol(currency, locale=locale)
    if symbol[-1:].isalpha():
        # An ISO code as the sign (COP in an English text) needs a space before the figure.
        text = text.replace("¤#", "¤ #").replace("#¤", "# ¤").replace("0¤", "0 ¤")
    fraction = "." + "0" * decimals if decimals else ""
    text = re.sub(r"0(\.0+)?", "0" + fraction, text, count=1)
    return parse_pattern(text), parsed


@lru_cache(maxsize=64)
def _number_pattern(locale: str, decimals: int) -> tuple[NumberPattern, Locale]:
    fraction = "." + "0" * decimals if decimals else ""
    return parse_pattern("#,##0" + fraction), Locale.parse(locale)


def _rounded(minor: int, currency: str, decimals: int) -> Decimal:
    value = from_minor(minor, currency).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    # -0.4 pesos shown without cents is $ 0, not "-$ 0".
    return value if value else abs(value)


class _Shape(NamedTuple):
    """What a currency pattern adds around Python's own grouping: signs and separators."""

    prefixes: tuple[str, str]
    suffixes: tuple[str, str]
    group: str
    decimal: str


@lru_cache(maxsize=256)
def _shape(locale: str, currency: str, decimals: int) -> _Shape | None:
    """The pattern's pieces when Python's "{:,.Nf}" can write the figure; None otherwise.

    Babel formats one amount in about 20 µs; a batch of 100,000 messages has several hundred
    thousand amounts, so the common patterns (groups of three, one leading digit) are written
    with plain string formatting and Babel keeps the rest. A test proves both agree.
    """
    pattern, parsed = _currency_pattern(locale, currency, decimals)
    if pattern.grouping != (3, 3) or pattern.int_prec[0] != 1 or pattern.scale not in (0, 1):
        return None
    symbols = parsed.number_symbols.get("latn") or {}
    symbol = get_currency_symbol(currency, locale=locale)
    minus = symbols.get("minusSign", "-")

    def fill(text: str) -> str:
        return text.replace("¤", symbol).replace("-", minus)

    return _Shape(
        prefixes=(fill(pattern.prefix[0]), fill(pattern.prefix[1])),
        suffixes=(fill(pattern.suffix[0]), fill(pattern.suffix[1])),
        group=symbols.get("group", ","),
        decimal=symbols.get("decimal", "."),
    )


def format_money(minor: int, currency: str, *, locale: str, decimals: int) -> str:
    """`minor` units of `currency` as people of `locale` write it, with `decimals` decimals."""
    value = _rounded(minor, currency, decimals)
    shape = _shape(locale, currency, decimals)
    if shape is None:
        pattern, parsed = _currency_pattern(locale, currency, decimals)
        text = pattern.apply(value, parsed, currency=currency, currency_digits=False)
        return _clean_spaces(text)
    negative = value < 0
    figure = f"{-value if negative else value:,.{decimals}f}"
    figure = figure.replace(",", "\0").replace(".", shape.decimal).replace("\0", shape.group)
    return _clean_spaces(shape.prefixes[negative] + figure + shape.suffixes[negative])


def format_money_babel(minor: int, currency: str, *, locale: str, decimals: int) -> str:
    """`format_money` written by Babel alone (the reference the fast path is tested against)."""
    pattern, parsed = _currency_pattern(locale, currency, decimals)
    text = pattern.apply(
        _rounded(minor, currency, decimals), parsed, currency=currency, currency_digits=False
    )
    return _clean_spaces(text)


@lru_cache(maxsize=8192)
def _long_date(value: datetime.date, locale: str) -> str:
    return _clean_spaces(format_date(value, format="long", locale=locale))


# --- what is preloaded ----------------------------------------------------------------------


class _DebtorRow(NamedTuple):
    name: str
    kind: str
    external_id: str
    tax_id: str
    tax_id_type: str
    payment_reference: str
    city: str
    region: str


class _DocumentRow(NamedTuple):
    id: int
    number: str
    kind: str
    due_date: datetime.date
    amount_minor: int
    balance_minor: int
    currency: str


class _ContactRow(NamedTuple):
    id: int
    kind: str
    value: str
    label: str
    is_primary: bool
    valid: bool


class _PromiseRow(NamedTuple):
    amount_minor: int
    currency: str
    promised_date: datetime.date
    status: str


class _PaymentRow(NamedTuple):
    amount_minor: int
    currency: str
    date: datetime.date
    reference: str


# Contact kinds that carry each channel, in order of preference.
CHANNEL_CONTACT_KINDS = {
    Channel.EMAIL: ("email",),
    Channel.SMS: ("mobile", "phone", "whatsapp"),
    Channel.WHATSAPP: ("whatsapp", "mobile", "phone"),
    Channel.LETTER: ("address",),
}


def _chunks(values: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    batch: list[int] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class Rendered:
    """A message ready to send: what the debtor will read, in `language`.

    Email: `html` is the whole HTML part (layout and opt-out link included), `text` the plain
    part. Letter: `html` is the whole printable letter. SMS: `text` and its `sms` size.
    WhatsApp: the approved template's name and its parameters; `text` documents its words.
    """

    subject: str
    text: str
    html: str
    language: str
    whatsapp_template: str = ""
    whatsapp_params: tuple[str, ...] = ()
    sms: SmsInfo | None = None


class _Documents(list[dict[str, Any]]):
    """A message's documents for its template, where `documents.0` finds the first at once.

    Django looks `documents.0` up as `documents["0"]` first; on a plain list that fails, and
    Django then tries an attribute, calls `dir()` on the list and only then indexes with 0:
    a fifth of the time of rendering the shipped templates (measured). Here `"0"` indexes
    directly; every other key fails as on a list, so Django's fallbacks see the same thing.
    """

    def __getitem__(self, index: Any) -> Any:
        if type(index) is str and index.isdigit():
            return list.__getitem__(self, int(index))
        return list.__getitem__(self, index)


def _plain(text: str) -> str:
    """A plain `str` of Django's rendered output (a SafeString): whoever puts a rendered
    message into a page of their own must have it escaped there."""
    return "".join([text])


# Markers in the rendered email layout, replaced by each message's values (already escaped).
_MARK_SUBJECT = "@@cartera-subject@@"
_MARK_REFERENCE = "@@cartera-reference@@"
_MARK_OPTOUT = "@@cartera-optout@@"
_MARK_BODY = "@@cartera-body@@"


def _escape(text: Any) -> str:
    # The standard library's escape: Django's is wrapped for lazy strings, five times slower,
    # and these values are plain strings. Both write &#x27; for a quote.
    return html_escape(str(text), quote=True)


def _collapse(text: str) -> str:
    return " ".join(text.split())


_BLANK_RUNS = re.compile(r"\n{3,}")


def _tidy_text(text: str) -> str:
    # Template tags on lines of their own leave blank lines and trailing spaces behind.
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


class Renderer:
    """Renders the messages of one creditor as of one day.

    Call `prepare()` with a batch of messages first: it loads their debtors, open documents,
    contact points, promises, payments and templates in a fixed number of queries per
    `CHUNK` debtors; `render()` then issues none. `render()` of a message that was not
    prepared loads what it needs on its own.
    """

    def __init__(self, *, creditor: Creditor, as_of: datetime.date) -> None:
        self.creditor = creditor
        self.as_of = as_of
        found = ChannelSettings.objects.filter(creditor=creditor).first() if creditor.pk else None
        self.channel_settings = found or ChannelSettings(creditor=creditor)
        self.language = creditor_language(creditor)
        self._debtors: dict[int, _DebtorRow] = {}
        self._documents: dict[int, list[_DocumentRow]] = {}
        self._contacts: dict[int, list[_ContactRow]] = {}
        self._contact_debtor: dict[int, int] = {}
        self._promises: dict[int, _PromiseRow] = {}
        self._payments: dict[int, _PaymentRow] = {}
        # Payment agreements and their installments (origins "agreement" and "installment").
        self._agreements: dict[int, AgreementFacts] = {}
        self._installments: dict[int, InstallmentFacts] = {}
        self._templates: dict[tuple[str, str, str], Template] = {}
        self._codes: set[str] = set()
        self._money: dict[tuple[int, str, str], Money] = {}
        self._days: dict[tuple[datetime.date, str], Day] = {}
        self._document_context: dict[tuple[int, str], dict[str, Any]] = {}
        self._skeletons: dict[tuple[str, bool], str] = {}
        self._creditor_context = self._creditor_values()
        self._base_url = public_url()
        prefix, _token, suffix = reverse("messaging:optout", args=["TOKEN"]).rpartition("TOKEN")
        self._optout_prefix, self._optout_suffix = self._base_url + prefix, suffix

    # -- loading --

    def prepare(self, messages: Sequence[Message]) -> None:
        """Load everything `messages` need; safe to call again with more messages."""
        for message in messages:
            if message.creditor_id != self.creditor.pk:
                raise ValueError(
                    f"message {message.pk} belongs to another creditor than {self.creditor.code}"
                )
        self._load_debtors({m.debtor_id for m in messages} - self._debtors.keys())
        promise_ids = {m.promise_id for m in messages if m.promise_id} - self._promises.keys()
        for chunk in _chunks(sorted(promise_ids)):
            for pk, amount, currency, promised, status in Promise.objects.filter(
                among("pk", chunk)
            ).values_list("pk", "amount_minor", "currency", "promised_date", "status"):
                self._promises[pk] = _PromiseRow(amount, currency, promised, status)
        payment_ids = {
            m.origin_ref for m in messages if m.origin in RECEIPT_ORIGINS and m.origin_ref
        } - self._payments.keys()
        for chunk in _chunks(sorted(payment_ids)):
            for pk, amount, currency, day, reference in Payment.objects.filter(
                among("pk", chunk), creditor=self.creditor
            ).values_list("pk", "amount_minor", "currency", "date", "reference"):
                self._payments[pk] = _PaymentRow(amount, currency, day, reference)
        agreement_ids = {m.origin_ref for m in messages if m.origin == "agreement" and m.origin_ref}
        self._agreements.update(agreement_facts(agreement_ids - self._agreements.keys()))
        installment_ids = {
            m.origin_ref for m in messages if m.origin == "installment" and m.origin_ref
        }
        self._installments.update(installment_facts(installment_ids - self._installments.keys()))
        self._load_templates({m.template_code for m in messages})

    def _load_debtors(self, debtor_ids: set[int]) -> None:
        for chunk in _chunks(sorted(debtor_ids)):
            for row in Debtor.objects.filter(
                among("pk", chunk), creditor=self.creditor
            ).values_list(
                "pk",
                "name",
                "kind",
                "external_id",
                "tax_id",
                "tax_id_type",
                "payment_reference",
                "city",
                "region",
            ):
                self._debtors[row[0]] = _DebtorRow(*row[1:])
                self._documents.setdefault(row[0], [])
                self._contacts.setdefault(row[0], [])
            documents = (
                Document.objects.filter(among("debtor_id", chunk), status=DocumentStatus.OPEN)
                .exclude(balance_minor=0)
                .order_by("due_date", "number")
                .values_list(
                    "debtor_id",
                    "pk",
                    "number",
                    "kind",
                    "due_date",
                    "amount_minor",
                    "balance_minor",
                    "currency",
                )
            )
            for debtor_id, pk, number, kind, due, amount, balance, currency in documents:
                self._documents[debtor_id].append(
                    _DocumentRow(pk, number, kind, due, amount, balance, currency)
                )
            contacts = (
                ContactPoint.objects.filter(among("debtor_id", chunk))
                .order_by("-is_primary", "pk")
                .values_list("debtor_id", "pk", "kind", "value", "label", "is_primary", "valid")
            )
            for debtor_id, pk, kind, value, label, is_primary, valid in contacts:
                contact = _ContactRow(pk, kind, value, label, is_primary, valid)
                self._contacts[debtor_id].append(contact)
                self._contact_debtor[contact.id] = debtor_id

    def _load_templates(self, codes: set[str]) -> None:
        missing = codes - self._codes
        if not missing:
            return
        rows = Template.objects.filter(code__in=sorted(missing), active=True).filter(
            creditor__isnull=True
        ) | Template.objects.filter(code__in=sorted(missing), active=True, creditor=self.creditor)
        # Defaults first, so the creditor's own replace them.
        for template in sorted(rows, key=lambda t: t.creditor_id is not None):
            self._templates[(template.code, template.channel, template.language)] = template
        self._codes |= missing

    def template_for(self, code: str, channel: str, language: str) -> Template:
        """The creditor's own template, else the default, else the other language's."""
        self._load_templates({code})
        for candidate in (language, *(other for other in LANGUAGES if other != language)):
            found = self._templates.get((code, channel, candidate))
            if found is not None:
                return found
        raise RenderError(
            f"no active template '{code}' for channel {channel} in language {language} "
            f"(nor in {', '.join(other for other in LANGUAGES if other != language)}): "
            "add one in the admin under Messaging › Message templates"
        )

    # -- formatting --

    def _locale(self, language: str) -> str:
        return formatting_locale(language, self.creditor.country, self.creditor.locale)

    def money(self, minor: int, currency: str, language: str) -> Money:
        key = (minor, currency, language)
        found = self._money.get(key)
        if found is None:
            locale = self._locale(language)
            decimals = display_decimals(self.creditor, currency)
            found = Money(format_money(minor, currency, locale=locale, decimals=decimals))
            found._minor, found._currency = minor, currency
            found._locale, found._decimals = locale, decimals
            self._money[key] = found
        return found

    def _totals(self, sums: dict[str, int], language: str) -> Money:
        """One amount per currency (almost always one), the creditor's own first."""
        if not sums:
            return self.money(0, self.creditor.currency, language)
        if len(sums) == 1:
            ((currency, minor),) = sums.items()
            return self.money(minor, currency, language)
        ordered = sorted(sums.items(), key=lambda item: (item[0] != self.creditor.currency, item))
        joined = Money(" + ".join(self.money(m, c, language) for c, m in ordered))
        joined._minor, joined._currency = None, ""
        return joined

    def day(self, value: datetime.date, language: str) -> Day:
        key = (value, language)
        found = self._days.get(key)
        if found is None:
            locale = self._locale(language)
            found = Day(_long_date(value, locale))
            found._value, found._locale = value, locale
            self._days[key] = found
        return found

    def _creditor_values(self) -> dict[str, Any]:
        c, s = self.creditor, self.channel_settings
        email = s.contact_email or parseaddr(s.email_reply_to)[1] or parseaddr(s.email_from)[1]
        return {
            "name": c.name,
            "tax_id": c.tax_id,
            "tax_id_label": TAX_ID_LABELS.get(c.country, ""),
            "country": c.country,
            "email": email,
            "phone": s.contact_phone,
            "payment_instructions": s.payment_instructions,
        }

    # -- context --

    def _document(self, row: _DocumentRow, language: str) -> dict[str, Any]:
        key = (row.id, language)
        found = self._document_context.get(key)
        if found is None:
            dpd = (self.as_of - row.due_date).days
            found = {
                "number": row.number,
                "kind": row.kind,
                "kind_label": layout_texts(language).get(f"kind_{row.kind}", row.kind),
                "due_date": self.day(row.due_date, language),
                "amount": self.money(row.amount_minor, row.currency, language),
                "balance": self.money(row.balance_minor, row.currency, language),
                "currency": row.currency,
                "dpd": max(dpd, 0),
                "days_to_due": max(-dpd, 0),
                "overdue": dpd > 0,
            }
            self._document_context[key] = found
        return found

    def _documents_of(self, message: Message, preview: bool) -> list[_DocumentRow]:
        open_rows = [
            row for row in self._documents.get(message.debtor_id, ()) if row.balance_minor > 0
        ]
        if message.document_ids:
            wanted = {int(pk) for pk in message.document_ids}
            return [row for row in open_rows if row.id in wanted]
        overdue = [row for row in open_rows if row.due_date < self.as_of]
        if preview and not overdue:
            return open_rows
        return overdue

    def _contact_for(self, message: Message) -> _ContactRow | None:
        if message.contact_point_id:
            for contact in self._contacts.get(message.debtor_id, ()):
                if contact.id == message.contact_point_id:
                    return contact
        kinds = CHANNEL_CONTACT_KINDS.get(Channel(message.channel), ())
        for kind in kinds:
            for contact in self._contacts.get(message.debtor_id, ()):
                if contact.kind == kind and contact.valid:
                    return contact
        return None

    def optout_link(self, contact_point_id: int, channel: str) -> str:
        token = optout_token(contact_point_id=contact_point_id, channel=channel)
        return self._optout_prefix + token + self._optout_suffix

    def context(self, message: Message, language: str, *, preview: bool = False) -> dict[str, Any]:
        """The variables of one message (`TEMPLATE_VARIABLES`), as plain dicts and strings."""
        debtor = self._debtors.get(message.debtor_id)
        if debtor is None:
            raise RenderError(f"debtor {message.debtor_id} is not one of {self.creditor.code}")
        rows = self._documents_of(message, preview)
        documents = _Documents(self._document(row, language) for row in rows)
        due: dict[str, int] = {}
        overdue: dict[str, int] = {}
        for row in rows:
            due[row.currency] = due.get(row.currency, 0) + row.balance_minor
            if row.due_date < self.as_of:
                overdue[row.currency] = overdue.get(row.currency, 0) + row.balance_minor
        account: dict[str, int] = {}
        for row in self._documents.get(message.debtor_id, ()):
            account[row.currency] = account.get(row.currency, 0) + row.balance_minor
        oldest = min((row.due_date for row in rows), default=None)
        promise = None
        if message.promise_id and message.promise_id in self._promises:
            p = self._promises[message.promise_id]
            promise = {
                "amount": self.money(p.amount_minor, p.currency, language),
                "date": self.day(p.promised_date, language),
                "status": p.status,
            }
        payment = None
        if message.origin in RECEIPT_ORIGINS and message.origin_ref in self._payments:
            pay = self._payments[message.origin_ref]
            payment = {
                "amount": self.money(pay.amount_minor, pay.currency, language),
                "date": self.day(pay.date, language),
                "reference": pay.reference,
            }
        agreement = None
        if message.origin == "agreement" and message.origin_ref in self._agreements:
            a = self._agreements[message.origin_ref]
            agreement = {
                "number": a.number,
                "installments": a.installments,
                "total": self.money(a.total_minor, a.currency, language),
                "first_date": self.day(a.first_date, language),
            }
        installment = None
        if message.origin == "installment" and message.origin_ref in self._installments:
            i = self._installments[message.origin_ref]
            installment = {
                "number": i.n,
                "of": i.of,
                "amount": self.money(i.owed_minor, i.currency, language),
                "due_date": self.day(i.due_date, language),
            }
        contact = self._contact_for(message)
        opt_out = ""
        if contact is not None and message.channel != Channel.LETTER:
            opt_out = self.optout_link(contact.id, message.channel)
        elif preview and message.channel == Channel.EMAIL:
            opt_out = self.optout_link(0, message.channel)  # an example: no such contact point
        texts = layout_texts(language)
        return {
            "debtor": {
                "name": debtor.name,
                "kind": debtor.kind,
                "is_company": debtor.kind == "company",
                "external_id": debtor.external_id,
                "tax_id": debtor.tax_id,
                "tax_id_type": debtor.tax_id_type,
                "payment_reference": debtor.payment_reference,
                "city": debtor.city,
            },
            "creditor": self._creditor_context,
            "documents": documents,
            "documents_count": len(documents),
            "documents_table": lambda: _documents_table(documents, texts),
            "documents_text": lambda: _documents_text(documents, texts),
            "total_due": self._totals(due, language),
            "overdue_total": self._totals(overdue, language),
            "account_balance": self._totals(account, language),
            "has_balance": any(minor > 0 for minor in account.values()),
            "max_dpd": max((d["dpd"] for d in documents), default=0),
            "oldest_due_date": self.day(oldest, language) if oldest else "",
            "currency": self.creditor.currency,
            "promise": promise,
            "payment": payment,
            "agreement": agreement,
            "installment": installment,
            "payment_reference": debtor.payment_reference,
            "opt_out_url": opt_out,
            "today": self.day(self.as_of, language),
        }

    # -- rendering --

    def language_of(self, message: Message) -> str:
        return message.language if message.language in LANGUAGES else self.language

    def render(self, message: Message) -> Rendered:
        """Render one message with its template and today's figures; `RenderError` if it cannot."""
        if message.debtor_id not in self._debtors or message.template_code not in self._codes:
            self.prepare([message])
        template = self.template_for(
            message.template_code, message.channel, self.language_of(message)
        )
        return self.render_with(template, message)

    def render_with(
        self, template: Template, message: Message, *, preview: bool = False
    ) -> Rendered:
        """Render `message` with a given template (the admin's preview uses this)."""
        language = template.language if template.language in LANGUAGES else self.language
        context = self.context(message, language, preview=preview)
        name = f"template '{template.code}' ({template.channel}, {template.language})"
        text_context = Context(context, autoescape=False)

        def text(source: str, part: str) -> str:
            if not source:
                return ""
            compiled = _compiled(source, where=f"{name}, {part}")
            try:
                return compiled.render(text_context)
            except Exception as exc:  # a filter given a value it cannot take
                raise RenderError(f"{name}, {part}: {exc}") from exc

        def html(source: str, part: str) -> str:
            compiled = _compiled(source, where=f"{name}, {part}")
            try:
                return compiled.render(Context(context, autoescape=True))
            except Exception as exc:
                raise RenderError(f"{name}, {part}: {exc}") from exc

        subject = _collapse(text(template.subject, "subject"))
        channel = message.channel
        if channel == Channel.SMS:
            body = _collapse(text(template.body_text, "text"))
            if self.channel_settings.sms_transliterate:
                body = sms_to_gsm7(body)
            info = sms_measure(body)
            limit = self.channel_settings.sms_max_segments
            if info.segments > limit:
                raise RenderError(
                    f"{name}: the SMS takes {info.segments} segments ({info.characters} "
                    f"characters in {info.encoding}); {self.creditor.code} allows at most {limit}"
                )
            return Rendered(subject=subject, text=body, html="", language=language, sms=info)
        if channel == Channel.WHATSAPP:
            params = tuple(
                _collapse(text(str(source), f"parameter {number}"))
                for number, source in enumerate(template.whatsapp_params or [], start=1)
            )
            return Rendered(
                subject=subject,
                text=_tidy_text(text(template.body_text, "text")),
                html="",
                language=language,
                whatsapp_template=template.whatsapp_template,
                whatsapp_params=params,
            )
        body_text = _tidy_text(text(template.body_text, "text"))
        if template.body_html:
            body_html = html(template.body_html, "HTML")
        else:
            body_html = linebreaks(body_text, autoescape=True)
        texts = layout_texts(language)
        if channel == Channel.LETTER:
            letter = self._letter_html(message, context, subject, body_html, texts, language)
            return Rendered(subject=subject, text=body_text, html=_plain(letter), language=language)
        # The layout is the same for every message of the creditor in a language: it is
        # rendered once with markers, which each message replaces with its escaped values.
        skeleton = self._email_skeleton(language, bool(context["opt_out_url"]))
        full_html = (
            skeleton.replace(_MARK_SUBJECT, _escape(subject))
            .replace(_MARK_REFERENCE, _escape(context["payment_reference"]))
            .replace(_MARK_OPTOUT, _escape(context["opt_out_url"]))
            .replace(_MARK_BODY, body_html)
        )
        footer = [f"-- \n{context['creditor']['name']}"]
        contact_line = " · ".join(
            v for v in (context["creditor"]["phone"], context["creditor"]["email"]) if v
        )
        if contact_line:
            footer.append(contact_line)
        footer.append(f"{texts['reference']}: {context['payment_reference']}")
        if context["opt_out_url"]:
            footer.append(f"{texts['optout_email']} {context['opt_out_url']}")
        return Rendered(
            subject=subject,
            text=body_text + "\n\n" + "\n".join(footer),
            html=full_html,
            language=language,
        )

    def _email_skeleton(self, language: str, with_optout: bool) -> str:
        key = (language, with_optout)
        found = self._skeletons.get(key)
        if found is None:
            layout = _layouts().get_template("messaging/email.html")
            found = _plain(
                layout.render(
                    Context(
                        {
                            "language": language,
                            "subject": _MARK_SUBJECT,
                            "body": mark_safe(_MARK_BODY),
                            "creditor": self._creditor_context,
                            "payment_reference": _MARK_REFERENCE,
                            "opt_out_url": _MARK_OPTOUT if with_optout else "",
                            "texts": layout_texts(language),
                        }
                    )
                )
            )
            self._skeletons[key] = found
        return found

    def _letter_html(
        self,
        message: Message,
        context: dict[str, Any],
        subject: str,
        body_html: str,
        texts: dict[str, str],
        language: str,
    ) -> str:
        debtor = self._debtors[message.debtor_id]
        contact = self._contact_for(message)
        address: list[str] = []
        if contact is not None and contact.kind == "address":
            address = [
                line.strip()
                for line in (contact.label or contact.value).replace(";", "\n").split("\n")
                if line.strip()
            ]
        place = ", ".join(v for v in (debtor.city, debtor.region) if v)
        if place and not any(debtor.city and debtor.city.lower() in a.lower() for a in address):
            address.append(place)
        sender = self.channel_settings.letter_sender_block.strip()
        if not sender:
            creditor = context["creditor"]
            tax = f"{creditor['tax_id_label']} {creditor['tax_id']}".strip()
            sender = "\n".join(
                v
                for v in (creditor["name"], tax if creditor["tax_id"] else "", creditor["phone"])
                if v
            )
        tax_id = ""
        if debtor.tax_id:
            tax_id = f"{debtor.tax_id_type or texts['tax_id']} {debtor.tax_id}"
        paper = "letter" if self.creditor.country in LETTER_PAPER_COUNTRIES else "A4"
        layout = _layouts().get_template("messaging/letter.html")
        return layout.render(
            Context(
                {
                    "language": language,
                    "paper": paper,
                    "sender_lines": sender.splitlines(),
                    "date": context["today"],
                    "salutation": texts["to_company" if debtor.kind == "company" else "to_person"],
                    "debtor_name": debtor.name,
                    "debtor_tax_id": tax_id,
                    "address_lines": address,
                    "subject": subject,
                    "payment_reference": context["payment_reference"],
                    "body": mark_safe(body_html),  # rendered with autoescape
                    "css_footer": _css_string(self.creditor.name),
                    "css_page": _css_string(texts["page"]),
                    "css_of": _css_string(texts["of"]),
                    "texts": texts,
                }
            )
        )


def _css_string(text: str) -> str:
    """`text` as a quoted CSS string, safe inside a <style> element."""
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ").replace("\n", " ")
    )
    return f'"{escaped}"'


def layout_texts(language: str) -> dict[str, str]:
    return LAYOUT_TEXTS.get(language) or LAYOUT_TEXTS[FALLBACK_LANGUAGE]


def _documents_table(documents: list[dict[str, Any]], texts: dict[str, str]) -> SafeString:
    """The documents as a small HTML table with inline styles (email clients drop <style>)."""
    cell = "padding:6px 8px;border-bottom:1px solid #d8dee6;text-align:left"
    number = cell.replace("text-align:left", "text-align:right")
    head = "".join(
        f'<th style="{number if i >= 2 else cell};font-weight:600">{_escape(texts[key])}</th>'
        for i, key in enumerate(("col_document", "col_due", "col_dpd", "col_balance"))
    )
    rows = "".join(
        f'<tr><td style="{cell}">{_escape(d["number"])}</td>'
        f'<td style="{cell}">{_escape(d["due_date"])}</td>'
        f'<td style="{number}">{d["dpd"]}</td>'
        f'<td style="{number}">{d["balance"].__html__()}</td></tr>'
        for d in documents
    )
    return mark_safe(
        '<table role="presentation" style="border-collapse:collapse;width:100%;'
        f'font-size:14px;margin:12px 0"><thead><tr>{head}</tr></thead><tbody>{rows}'
        "</tbody></table>"
    )


def _documents_text(documents: list[dict[str, Any]], texts: dict[str, str]) -> str:
    return "\n".join(
        f"- {d['number']} · {texts['due']} {d['due_date']} · {d['balance']}" for d in documents
    )


# --- preview and sample ---------------------------------------------------------------------


def template_preview(
    *, template: Template, debtor: Debtor, as_of: datetime.date | None = None
) -> Rendered:
    """`template` filled with a real account's figures, as the admin's preview shows it.

    The documents are the account's overdue ones (all open ones when none is overdue), the
    promise its latest pending one, and for a receipt its latest payment.
    """
    creditor = debtor.creditor
    if template.creditor_id is not None and template.creditor_id != creditor.pk:
        raise ValueError("the template belongs to another creditor than the debtor")
    renderer = Renderer(creditor=creditor, as_of=as_of or localdate())
    promise = (
        Promise.objects.filter(debtor=debtor, status=PromiseStatus.PENDING)
        .order_by("-created_at")
        .values_list("pk", flat=True)
        .first()
    )
    payment = (
        Payment.objects.filter(debtor=debtor).order_by("-date", "-pk").values_list("pk", flat=True)
    ).first()
    message = Message(
        creditor=creditor,
        debtor=debtor,
        channel=template.channel,
        template_code=template.code,
        language=template.language,
        origin="receipt" if payment else "preview",
        origin_ref=payment,
        document_ids=[],
        promise_id=promise,
    )
    renderer.prepare([message])
    return renderer.render_with(template, message, preview=True)


SAMPLE_DEBTOR = _DebtorRow(
    name="María Fernanda Gómez Restrepo",
    kind="person",
    external_id="C-000123",
    tax_id="52123456",
    tax_id_type="CC",
    payment_reference="100234",
    city="Bogotá",
    region="Cundinamarca",
)


def template_sample(*, template: Template, creditor: Creditor, as_of: datetime.date) -> Rendered:
    """`template` filled with an invented account (two overdue invoices, a pending promise).

    Shown in the admin to size SMS and catch mistakes without choosing a debtor.
    """
    renderer = Renderer(creditor=creditor, as_of=as_of)
    debtor_id = -1
    scale = 10 ** exponent(creditor.currency)
    renderer._debtors[debtor_id] = SAMPLE_DEBTOR
    renderer._documents[debtor_id] = [
        _DocumentRow(
            -1,
            "FV-10234",
            "invoice",
            as_of - datetime.timedelta(days=34),
            1_234_567 * scale,
            1_234_567 * scale,
            creditor.currency,
        ),
        _DocumentRow(
            -2,
            "FV-10388",
            "invoice",
            as_of - datetime.timedelta(days=4),
            845_300 * scale,
            845_300 * scale,
            creditor.currency,
        ),
    ]
    kinds = CHANNEL_CONTACT_KINDS.get(Channel(template.channel), ("email",))
    value = {"email": "maria.gomez@example.com", "address": "Calle 100 # 15-20, Apto 501"}
    renderer._contacts[debtor_id] = [
        _ContactRow(0, kinds[0], value.get(kinds[0], "+573001234567"), "", True, True)
    ]
    renderer._promises[-1] = _PromiseRow(
        500_000 * scale, creditor.currency, as_of + datetime.timedelta(days=5), "pending"
    )
    renderer._payments[-1] = _PaymentRow(
        300_000 * scale, creditor.currency, as_of - datetime.timedelta(days=1), "TRX-88123"
    )
    renderer._codes.add(template.code)
    message = Message(
        creditor=creditor,
        debtor_id=debtor_id,
        channel=template.channel,
        template_code=template.code,
        language=template.language,
        origin="receipt",
        origin_ref=-1,
        document_ids=[],
        promise_id=-1,
    )
    return renderer.render_with(template, message, preview=True)
