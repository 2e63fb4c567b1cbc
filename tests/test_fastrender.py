"""The compiled message templates give Django's output, byte for byte, whatever the context."""

from __future__ import annotations

import datetime

import pytest
from django.template import Context, Template
from hypothesis import given, settings
from hypothesis import strategies as st

from cartera.messaging import rendering
from cartera.messaging.defaults import default_templates
from cartera.messaging.fastrender import FastTemplate
from cartera.messaging.models import Message
from cartera.messaging.rendering import Day, Money, Renderer, _compile, _Documents
from cartera.negotiation.models import Promise
from tests.conftest import AS_OF
from tests.test_rendering import make_debtor, make_document, message_for

DIRECT = frozenset({Money, Day, _Documents})

AWKWARD = [
    "plain text only",
    "{{ debtor.name }} / {{ debtor.missing }} / {{ nothing.at.all }}",
    "{{ debtor.items }} {{ debtor.keys }} {{ debtor.name.upper }}",
    "{{ documents.0.number }} {{ documents.5.number }} {{ documents.x }} {{ documents }}",
    "{{ documents_count }} {{ has_balance }} {{ promise }} {{ max_dpd }} {{ ratio }}",
    "{{ True }} {{ None }} {{ 'quoted' }} {{ 5 }} {{ _('Total') }}",
    "{{ debtor.name|upper }} {{ debtor.name|default:'n/a' }} {{ promise|default:'—' }}",
    "{{ overdue_total }} {{ overdue_total|amount_number }} {{ today|date_iso }}",
    "{{ overdue_total|add:'1' }} {{ documents_count|add:max_dpd }} {{ text|linebreaksbr }}",
    "{{ text|truncatewords:3 }} {{ text|length }} {{ text|escape }} {{ text|force_escape }}",
    "{% if debtor.is_company %}S{% elif debtor.name %}N{% else %}E{% endif %}",
    "{% if documents_count == 1 %}one{% elif documents_count > 1 %}many{% endif %}",
    "{% if not promise %}no{% endif %}{% if promise and has_balance %}both{% endif %}",
    "{% if promise or payment %}p{% endif %}{% if 'a' in debtor.name %}a{% endif %}",
    "{% if debtor.name not in text %}n{% endif %}{% if promise is None %}none{% endif %}",
    "{% if promise is not None %}x{% endif %}{% if max_dpd >= 30 and max_dpd < 90 %}m{% endif %}",
    "{% if max_dpd <= 'x' %}bad compare is False{% endif %}{% if ratio != 0 %}r{% endif %}",
    "{% if missing.deep > 3 %}x{% else %}missing is not greater{% endif %}",
    "{% if debtor.name|length > 5 %}long{% endif %}{% if documents %}{{ documents|length }}{% endif %}",
    "{% for d in documents %}{{ forloop.counter }}:{{ d.number }}={{ d.balance }};"
    "{% empty %}none{% endfor %}",
    "{% with n=debtor.name %}{{ n }}{% if n %}!{% endif %}{% endwith %}",
    "{% if documents_count %}{% for d in documents %}{% if d.overdue %}{{ d.dpd }}{% endif %}"
    "{% endfor %}{% endif %}",
    "{% firstof promise.amount overdue_total 'none' %} {% cycle 'a' 'b' as c %}{% cycle c %}",
    "{{ documents_table }} {{ documents_text }}",
    "{% comment %}hidden {{ debtor.name }}{% endcomment %}{% templatetag openbrace %}",
    "{% filter upper %}{{ debtor.name }}{% endfilter %}{% spaceless %}<p> {{ text }} </p>"
    "{% endspaceless %}",
    "{% widthratio max_dpd 360 100 %} {% verbatim %}{{ raw }}{% endverbatim %}",
]


def money(text: str, minor: int | None = 123_456) -> Money:
    value = Money(text)
    value._minor, value._currency, value._locale, value._decimals = minor, "COP", "es_CO", 0
    return value


def day(when: datetime.date) -> Day:
    value = Day(when.strftime("%d/%m/%Y"))
    value._value, value._locale = when, "es_CO"
    return value


texts = st.text(alphabet=st.sampled_from("aZ é<>&\"'\n{}%ñ-"), max_size=12)
maybe_text = st.one_of(st.none(), texts, st.integers(-5, 500))


@st.composite
def contexts(draw: st.DrawFn) -> dict:
    documents = _Documents(
        {
            "number": draw(texts),
            "kind_label": draw(texts),
            "due_date": day(draw(st.dates(datetime.date(2025, 1, 1), datetime.date(2027, 1, 1)))),
            "balance": money(draw(texts)),
            "dpd": draw(st.integers(0, 400)),
            "overdue": draw(st.booleans()),
        }
        for _ in range(draw(st.integers(0, 3)))
    )
    context = {
        "debtor": {
            "name": draw(texts),
            "is_company": draw(st.booleans()),
            "city": draw(maybe_text),
        },
        "documents": documents,
        "documents_count": len(documents),
        "documents_table": lambda: "<table>" + str(len(documents)) + "</table>",
        "documents_text": lambda: "\n".join(d["number"] for d in documents),
        "overdue_total": money(draw(texts), draw(st.one_of(st.none(), st.integers(0, 10**9)))),
        "max_dpd": draw(st.integers(0, 400)),
        "has_balance": draw(st.booleans()),
        "promise": draw(st.one_of(st.none(), st.fixed_dictionaries({"amount": texts}))),
        "payment": draw(st.one_of(st.none(), st.just({}))),
        "text": draw(maybe_text),
        "ratio": draw(st.one_of(st.integers(-3, 3), st.decimals(-5, 5, places=2))),
        "today": day(AS_OF),
    }
    for key in draw(st.lists(st.sampled_from(sorted(context)), max_size=3, unique=True)):
        context.pop(key)  # templates meet missing variables too
    return context


def outcome(template: FastTemplate | Template, context: dict, autoescape: bool) -> str:
    """The rendered text, or the exception's type and words (a filter argument that is
    missing makes Django raise, and the renderer reports that template as broken)."""
    try:
        return template.render(Context(dict(context), autoescape=autoescape))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def both(source: str, context: dict, autoescape: bool) -> tuple[str, str]:
    template = _compile(source)
    fast = FastTemplate(template, DIRECT)
    return outcome(template, context, autoescape), outcome(fast, context, autoescape)


@settings(max_examples=150, deadline=None)
@given(context=contexts(), autoescape=st.booleans())
def test_awkward_templates_render_as_django_renders_them(context, autoescape):
    for source in AWKWARD:
        expected, got = both(source, context, autoescape)
        assert got == expected, source


@settings(max_examples=60, deadline=None)
@given(context=contexts(), autoescape=st.booleans())
def test_every_shipped_template_renders_as_django_renders_it(context, autoescape):
    for template in default_templates():
        for source in (
            template.subject,
            template.body_text,
            template.body_html,
            *template.whatsapp_params,
        ):
            if source:
                expected, got = both(source, context, autoescape)
                assert got == expected, (template.code, template.channel, source)


def test_a_real_accounts_context_renders_the_same_both_ways(creditor, actor):
    debtor = make_debtor(creditor, name='Hierros <b>& Cía</b> "El Yunque"')
    make_document(debtor, "FV-1", datetime.date(2026, 10, 20), 1_234_567_00)
    make_document(debtor, "FV-2", datetime.date(2026, 11, 18), 845_300_00)
    Promise.objects.create(
        creditor=creditor,
        debtor=debtor,
        currency="COP",
        amount_minor=500_000_00,
        promised_date=datetime.date(2026, 11, 28),
        created_on=AS_OF,
    )
    renderer = Renderer(creditor=creditor, as_of=AS_OF)
    compared = 0
    for template in default_templates():
        message: Message = message_for(debtor, template.code, template.channel)
        renderer.prepare([message])
        context = renderer.context(message, template.language)
        for source in (template.subject, template.body_text, template.body_html):
            for autoescape in (False, True):
                if source:
                    expected, got = both(source, context, autoescape)
                    assert got == expected, (template.code, template.channel, autoescape)
                    compared += 1
    assert compared > 50


@pytest.mark.parametrize("autoescape", [False, True])
def test_the_renderer_uses_the_compiled_templates(autoescape):
    source = "{{ debtor.name }}{% if documents_count > 1 %}s{% endif %}"
    compiled = rendering._compiled(source, where="test")
    assert isinstance(compiled, FastTemplate)
    context = {"debtor": {"name": "<Ana>"}, "documents_count": 2}
    rendered = compiled.render(Context(context, autoescape=autoescape))
    assert rendered == ("&lt;Ana&gt;s" if autoescape else "<Ana>s")


OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "is", "is not", "and", "or"]
VALUES = [0, 1, 2, "a", "ab", None, True, [1], {"a": 1}]


@pytest.mark.parametrize("operator", OPERATORS)
def test_every_condition_operator_decides_as_django_does(operator):
    source = f"{{% if x {operator} y %}}yes{{% else %}}no{{% endif %}}"
    source += (
        f"{{% if not x {operator} y %}}!{{% endif %}}{{% if missing {operator} y %}}m{{% endif %}}"
    )
    for x in VALUES:
        for y in VALUES:
            expected, got = both(source, {"x": x, "y": y}, False)
            assert got == expected, (x, operator, y)
