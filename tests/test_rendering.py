"""Rendering: the restricted template language, formats per locale, the shipped templates."""

from __future__ import annotations

import datetime
import re
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from cartera.messaging.defaults import (
    EVENT_CODES,
    STEP_CODES,
    default_templates,
    templates_ensure,
)
from cartera.messaging.models import ChannelSettings, Message, Template
from cartera.messaging.optout import optout_parse
from cartera.messaging.rendering import (
    Renderer,
    RenderError,
    format_money,
    format_money_babel,
    template_check,
    template_preview,
    template_sample,
)
from cartera.negotiation.models import Promise
from cartera.portfolio.models import ContactPoint, Creditor, Debtor, Document, Payment
from cartera.portfolio.services import creditor_create
from tests.conftest import AS_OF

_keys = count(1)


def make_debtor(creditor: Creditor, name: str = "Ferretería El Tornillo S.A.S.", **extra) -> Debtor:
    n = next(_keys)
    values = {
        "creditor": creditor,
        "external_id": f"C-{n}",
        "name": name,
        "kind": "company",
        "country": creditor.country,
        "payment_reference": f"1002{n:02d}",
        "tax_id": "900123456",
        "tax_id_type": "NIT",
        "city": "Bogotá",
        **extra,
    }
    return Debtor.objects.create(**values)


def make_document(debtor: Debtor, number: str, due: datetime.date, minor: int, **extra) -> Document:
    return Document.objects.create(
        creditor=debtor.creditor,
        debtor=debtor,
        number=number,
        external_id=f"{debtor.external_id}-{number}",
        due_date=due,
        currency=extra.pop("currency", debtor.creditor.currency),
        amount_minor=minor,
        balance_minor=extra.pop("balance_minor", minor),
        payment_reference=debtor.payment_reference,
        **extra,
    )


def message_for(debtor: Debtor, code: str, channel: str = "email", **extra) -> Message:
    return Message(
        creditor=debtor.creditor,
        debtor=debtor,
        channel=channel,
        template_code=code,
        idempotency_key=f"k-{next(_keys)}",
        origin=extra.pop("origin", "test"),
        **extra,
    )


@pytest.fixture
def settings_of_acme(creditor):
    return ChannelSettings.objects.create(
        creditor=creditor,
        contact_phone="601 555 0100",
        contact_email="cartera@acme.co",
        payment_instructions="Bancolombia, cuenta corriente 123-456789-01, convenio 7788.",
    )


@pytest.fixture
def account(creditor, settings_of_acme):
    """A demo-like account: two overdue invoices, one not yet due, email, mobile and address."""
    debtor = make_debtor(creditor)
    make_document(debtor, "FV-1001", datetime.date(2026, 10, 20), 1_234_567_00)
    make_document(debtor, "FV-1002", datetime.date(2026, 11, 18), 845_300_00)
    make_document(debtor, "FV-1003", datetime.date(2026, 11, 28), 99_000_00)
    for kind, value in (
        ("email", "compras@tornillo.co"),
        ("mobile", "+573001234567"),
        ("address", "Calle 100 # 15-20, Bodega 3"),
    ):
        ContactPoint.objects.create(debtor=debtor, kind=kind, value=value, is_primary=True)
    return debtor


def render(debtor: Debtor, code: str, channel: str = "email", **extra):
    renderer = Renderer(creditor=debtor.creditor, as_of=AS_OF)
    return renderer.render(message_for(debtor, code, channel, **extra))


# --- formats ---------------------------------------------------------------------------------


def test_colombian_pesos_are_written_without_cents_and_with_a_space():
    assert format_money(1_234_567_00, "COP", locale="es_CO", decimals=0) == "$ 1.234.567"
    # Half a peso rounds up, never to even.
    assert format_money(1_234_567_50, "COP", locale="es_CO", decimals=0) == "$ 1.234.568"
    assert format_money(1_234_566_50, "COP", locale="es_CO", decimals=0) == "$ 1.234.567"
    assert format_money(1_234_567_89, "COP", locale="es_CO", decimals=2) == "$ 1.234.567,89"


def test_other_countries_write_their_own_way():
    assert format_money(1_234_567_89, "MXN", locale="es_MX", decimals=2) == "$1,234,567.89"
    assert format_money(1_234_567_89, "USD", locale="en_US", decimals=2) == "$1,234,567.89"
    assert format_money(1_234_567_89, "EUR", locale="es_ES", decimals=2) == "1.234.567,89 €"
    assert format_money(1_234_567, "CLP", locale="es_CL", decimals=0) == "$1.234.567"
    # A foreign currency in Colombia keeps its own sign; an ISO code gets a space.
    assert format_money(1_234_567_89, "USD", locale="es_CO", decimals=2) == "US$ 1.234.567,89"
    assert format_money(1_234_567_89, "COP", locale="en", decimals=0) == "COP 1,234,568"


def test_an_email_reads_amounts_and_dates_as_colombia_writes_them(account):
    rendered = render(account, "aviso_1")
    assert rendered.language == "es"
    # The two overdue invoices, not the one due in five days.
    assert rendered.subject == (
        "Su cuenta con Acme Colombia S.A.S. tiene un saldo vencido de $ 2.079.867"
    )
    assert "Al 23 de noviembre de 2026 no hemos registrado el pago" in rendered.text
    assert "FV-1001 · vencimiento 20 de octubre de 2026 · $ 1.234.567" in rendered.text
    assert "FV-1003" not in rendered.text
    assert "Bancolombia, cuenta corriente 123-456789-01" in rendered.text
    assert "601 555 0100" in rendered.html
    assert "<td" in rendered.html and "$&nbsp;845.300" in rendered.html


def test_the_creditors_display_precision_is_used(account):
    Creditor.objects.filter(pk=account.creditor_id).update(display_decimals=2)
    account.creditor.refresh_from_db()
    assert "$ 2.079.867,00" in render(account, "aviso_1").subject


@pytest.mark.parametrize(
    ("country", "currency", "total", "date"),
    [
        ("MX", "MXN", "$2,079,867.00", "23 de noviembre de 2026"),
        ("ES", "EUR", "2.079.867,00 €", "23 de noviembre de 2026"),
        ("US", "USD", "$2,079,867.00", "November 23, 2026"),
    ],
)
def test_creditors_of_other_countries(db, actor, country, currency, total, date):
    creditor = creditor_create(
        code=f"C{country}", name="Globex", country=country, currency=currency, actor=actor
    )
    debtor = make_debtor(creditor, name="Initech")
    make_document(debtor, "A-1", datetime.date(2026, 10, 20), 1_234_567_00)
    make_document(debtor, "A-2", datetime.date(2026, 11, 18), 845_300_00)
    rendered = render(debtor, "aviso_2")
    assert total in rendered.subject
    assert date in rendered.text
    assert rendered.language == ("en" if country == "US" else "es")


def test_a_letter_is_on_letter_paper_in_colombia_and_a4_in_spain(account, actor):
    letter = render(account, "aviso_final", "letter")
    assert "size: letter" in letter.html
    assert "Calle 100 # 15-20" in letter.html
    assert "NIT 900123456" in letter.html
    assert '"Página" " " counter(page) " " "de" " " counter(pages)' in letter.html
    spain = creditor_create(code="ES1", name="Iberia", country="ES", currency="EUR", actor=actor)
    debtor = make_debtor(spain)
    make_document(debtor, "A-1", datetime.date(2026, 10, 20), 100_00)
    assert "size: A4" in render(debtor, "aviso_final", "letter").html


# --- the shipped templates --------------------------------------------------------------------


def test_every_shipped_template_uses_only_documented_variables():
    shipped = default_templates()
    for spec in shipped:
        for source in (spec.subject, spec.body_text, spec.body_html, *spec.whatsapp_params):
            assert template_check(source) == [], (spec.code, spec.channel, spec.language)
    keys = {(t.code, t.channel, t.language) for t in shipped}
    for language in ("es", "en"):
        for code in STEP_CODES:
            for channel in ("email", "sms", "whatsapp", "letter"):
                assert (code, channel, language) in keys
        for code in EVENT_CODES:
            for channel in ("email", "sms", "whatsapp"):
                assert (code, channel, language) in keys


def test_every_shipped_template_renders_in_spanish_and_english(account, actor):
    promise = Promise.objects.create(
        creditor=account.creditor,
        debtor=account,
        currency="COP",
        amount_minor=500_000_00,
        promised_date=datetime.date(2026, 11, 28),
        created_on=AS_OF,
    )
    payment = Payment.objects.create(
        creditor=account.creditor,
        debtor=account,
        external_id="P-1",
        date=datetime.date(2026, 11, 22),
        currency="COP",
        amount_minor=300_000_00,
        reference="TRX-88123",
    )
    english = creditor_create(
        code="US1", name="Globex Inc.", country="US", currency="USD", actor=actor
    )
    american = make_debtor(english, name="Initech LLC")
    make_document(american, "INV-7", datetime.date(2026, 10, 2), 1_500_00)
    ContactPoint.objects.create(debtor=american, kind="email", value="ap@initech.com")
    ContactPoint.objects.create(debtor=american, kind="mobile", value="+12025550123")
    seen = set()
    for spec in default_templates():
        debtor = account if spec.language == "es" else american
        extra = {"promise_id": promise.pk} if debtor is account else {}
        if spec.code == "recibo_pago" and debtor is account:
            extra.update(origin="receipt", origin_ref=payment.pk)
        rendered = render(debtor, spec.code, spec.channel, **extra)
        assert rendered.language == spec.language
        seen.add((spec.code, spec.channel, spec.language))
        assert "{{" not in rendered.text + rendered.html + rendered.subject
        if spec.channel == "sms":
            assert rendered.sms is not None and 1 <= rendered.sms.segments <= 3, rendered.text
        if spec.channel == "whatsapp":
            assert rendered.whatsapp_template.startswith("cobranza_")
            assert rendered.whatsapp_params[0] == debtor.name
        if spec.channel == "email":
            assert rendered.subject
            assert "/m/optout/" in rendered.html and "/m/optout/" in rendered.text
            assert debtor.payment_reference in rendered.text
        if spec.channel == "letter":
            assert rendered.html.startswith("<!doctype html>")
    assert len(seen) == len(default_templates()) == 78
    receipt = render(account, "recibo_pago", origin="receipt", origin_ref=payment.pk)
    assert "Hemos recibido su pago de $ 300.000 del 22 de noviembre de 2026" in receipt.text
    confirmation = render(account, "promesa_confirmacion", promise_id=promise.pk)
    assert "pagar $ 500.000 a más tardar el 28 de noviembre de 2026" in confirmation.text


def test_templates_ensure_keeps_an_edited_default(db):
    row = Template.objects.get(creditor=None, code="aviso_1", channel="email", language="es")
    row.subject = "Asunto propio"
    row.updated_by = "ana"
    row.save()
    untouched = Template.objects.get(creditor=None, code="aviso_2", channel="email", language="es")
    untouched.subject = "stale shipped text"
    untouched.save()  # still marked as shipped: a newer default may replace it
    Template.objects.filter(creditor=None, code="recibo_pago", channel="sms").delete()
    assert templates_ensure() == 3
    assert Template.objects.get(pk=row.pk).subject == "Asunto propio"
    assert Template.objects.get(pk=untouched.pk).subject.startswith("Segundo aviso")
    assert Template.objects.filter(creditor=None, code="recibo_pago", channel="sms").count() == 2
    assert templates_ensure() == 0


# --- the restricted language -----------------------------------------------------------------


def own_template(creditor: Creditor, channel: str = "email", **fields) -> Template:
    values = {"code": "prueba", "channel": channel, "language": "es", "subject": "s", **fields}
    return Template.objects.create(creditor=creditor, **values)


def test_a_template_reaches_nothing_but_its_variables(account):
    own_template(
        account.creditor,
        body_text=(
            "[{{ debtor.creditor.name }}][{{ settings.SECRET_KEY }}][{{ debtor.contact_points }}]"
            "[{{ documents.0.debtor.name }}][{{ request }}][{{ debtor.name.upper.im_func }}]"
            "[{{ debtor.name }}]"
        ),
    )
    rendered = render(account, "prueba")
    assert rendered.text.startswith("[][][][][][][Ferretería El Tornillo S.A.S.]")
    assert template_check("{{ debtor.creditor.name }}") == [
        "'debtor' has no 'creditor' (it has: city, external_id, is_company, kind, name, "
        "payment_reference, tax_id, tax_id_type)"
    ]
    assert template_check("{{ settings.SECRET_KEY }}") == ["unknown variable 'settings'"]
    # Python's internals are out of reach: Django refuses names that start with "_".
    assert "underscores" in template_check("{{ debtor.name.__class__ }}")[0]


@pytest.mark.parametrize(
    "source",
    [
        "{% load i18n %}{% translate 'x' %}",
        "{% include 'cartera/base.html' %}",
        "{% extends 'cartera/base.html' %}",
        "{% debug %}",
        "{% url 'admin:index' %}",
        "{% now 'Y' %}",
        "{% csrf_token %}",
        "{% autoescape off %}{{ debtor.name }}{% endautoescape %}",
        "{{ debtor.name|safe }}",
        "{{ debtor.name|unknown_filter }}",
        "{% if %}",
    ],
)
def test_tags_and_filters_outside_the_safe_set_do_not_compile(account, source):
    own_template(account.creditor, body_html=source)
    with pytest.raises(RenderError, match=r"template 'prueba' \(email, es\), HTML"):
        render(account, "prueba")
    assert template_check(source)


def test_html_is_escaped_and_text_is_not(creditor, settings_of_acme):
    debtor = make_debtor(creditor, name="<script>alert('x')</script> & Cía")
    make_document(debtor, "<b>F-1</b>", datetime.date(2026, 10, 1), 100_00)
    ContactPoint.objects.create(debtor=debtor, kind="email", value="x@example.com")
    rendered = render(debtor, "aviso_2")
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Cía" in rendered.html
    assert "&lt;b&gt;F-1&lt;/b&gt;" in rendered.html  # inside the documents table too
    assert "<b>F-1</b>" not in rendered.html
    assert "<script>alert('x')</script> & Cía" in rendered.text


def test_the_money_and_date_filters(account):
    own_template(
        account.creditor,
        body_text=(
            "{{ total_due|amount_number }}|{{ total_due|amount_code }}|"
            "{{ today|date_short }}|{{ today|date_iso }}|{{ today|date_medium }}"
        ),
    )
    text = render(account, "prueba").text
    assert text.startswith("2.079.867|COP 2.079.867|23/11/26|2026-11-23|23/11/2026")


# --- which template -----------------------------------------------------------------------------


def test_the_creditors_own_template_replaces_the_default(account):
    own = own_template(account.creditor, code="aviso_1", subject="Propio {{ debtor.name }}")
    assert render(account, "aviso_1").subject == "Propio Ferretería El Tornillo S.A.S."
    own.active = False
    own.save()
    assert render(account, "aviso_1").subject.startswith("Su cuenta con")


def test_another_creditors_template_is_never_used(account, actor):
    other = creditor_create(code="OTRO", name="Otro", country="CO", currency="COP", actor=actor)
    own_template(other, code="aviso_1", subject="De otro")
    assert render(account, "aviso_1").subject.startswith("Su cuenta con")


def test_a_missing_language_falls_back_to_the_other(account):
    own_template(account.creditor, code="solo_ingles", language="en", subject="English only")
    rendered = render(account, "solo_ingles")
    assert rendered.subject == "English only"
    assert rendered.language == "en"


def test_no_template_at_all_is_a_permanent_error_naming_it(account):
    with pytest.raises(RenderError, match="no active template 'no_existe' for channel sms"):
        render(account, "no_existe", "sms")


def test_the_message_language_wins_over_the_creditors(account):
    rendered = render(account, "aviso_1", language="en")
    assert rendered.language == "en"
    assert rendered.subject.startswith("Your account with Acme Colombia S.A.S.")
    assert "November 23, 2026" in rendered.text


# --- what the message is about -------------------------------------------------------------------


def test_named_documents_replace_the_overdue_ones(account):
    upcoming = Document.objects.get(number="FV-1003")
    rendered = render(account, "recordatorio_previo", document_ids=[upcoming.pk])
    assert rendered.subject == "Su factura FV-1003 vence el 28 de noviembre de 2026"
    assert "por $ 99.000" in rendered.text


def test_paid_documents_are_left_out(account):
    Document.objects.filter(number="FV-1001").update(balance_minor=0, status="closed")
    rendered = render(account, "aviso_1")
    assert "FV-1001" not in rendered.text
    assert "$ 845.300" in rendered.subject


def test_agreement_and_installment_are_empty_until_agreements_exist(account):
    rendered = render(account, "acuerdo_confirmacion")
    assert "Confirmamos el acuerdo de pago que celebró con nosotros" in rendered.text


# --- SMS ----------------------------------------------------------------------------------------


def test_sms_size_and_transliteration(account, settings_of_acme):
    own_template(account.creditor, channel="sms", body_text="Está vencida: {{ total_due }}")
    rendered = render(account, "prueba", "sms")
    assert rendered.text == "Está vencida: $ 2.079.867"
    assert rendered.sms is not None and rendered.sms.encoding == "UCS-2"
    settings_of_acme.sms_transliterate = True
    settings_of_acme.save()
    rendered = render(account, "prueba", "sms")
    assert rendered.text == "Esta vencida: $ 2.079.867"
    assert (rendered.sms.encoding, rendered.sms.segments) == ("GSM-7", 1)


def test_an_sms_over_the_segment_cap_is_refused(account, settings_of_acme):
    own_template(account.creditor, channel="sms", body_text="Información " * 20)
    settings_of_acme.sms_max_segments = 3
    settings_of_acme.save()
    with pytest.raises(
        RenderError, match=r"takes 4 segments \(239 characters in UCS-2\).*at most 3"
    ):
        render(account, "prueba", "sms")


# --- speed: a fixed number of queries -----------------------------------------------------------


def test_prepare_issues_a_fixed_number_of_queries_and_render_none(creditor, settings_of_acme):
    def batch(size: int) -> list[Message]:
        messages = []
        for _ in range(size):
            debtor = make_debtor(creditor, name="Deudor")
            make_document(debtor, "F", datetime.date(2026, 10, 1), 100_00)
            ContactPoint.objects.create(debtor=debtor, kind="email", value="d@example.com")
            messages.append(message_for(debtor, "aviso_1"))
        return messages

    counts = []
    for size in (3, 40):
        messages = batch(size)
        renderer = Renderer(creditor=creditor, as_of=AS_OF)
        with CaptureQueriesContext(connection) as prepared:
            renderer.prepare(messages)
        with CaptureQueriesContext(connection) as rendered:
            results = [renderer.render(m) for m in messages]
        assert len(rendered) == 0
        assert all("$ 100" in r.subject for r in results)
        counts.append(len(prepared))
    assert counts[0] == counts[1]


# --- opt-out link and previews ------------------------------------------------------------------


def test_the_opt_out_link_names_the_messages_contact_point(account):
    email = ContactPoint.objects.get(debtor=account, kind="email")
    rendered = render(account, "aviso_1", contact_point=email)
    url = re.search(r"http://127\.0\.0\.1:8000/m/optout/([^/\s]+)/", rendered.text)
    assert url is not None
    target = optout_parse(url.group(1))
    assert (target.contact_point_id, target.channel) == (email.pk, "email")


def test_preview_against_a_real_account_and_a_sample(account):
    template = Template.objects.get(creditor=None, code="aviso_2", channel="sms", language="es")
    preview = template_preview(template=template, debtor=account, as_of=AS_OF)
    assert "$ 2.079.867" in preview.text
    assert preview.sms is not None
    sample = template_sample(template=template, creditor=account.creditor, as_of=AS_OF)
    assert "$ 2.079.867" in sample.text  # the invented account owes the same on purpose
    assert sample.sms is not None and sample.sms.segments <= 2


# --- the template admin ---------------------------------------------------------------------------


@pytest.fixture
def acme_admin(account):
    """A staff member of ACME with the admin role."""
    from django.contrib.auth.models import Group, User

    from cartera.core.roles import roles_ensure
    from cartera.portfolio.models import Membership

    roles_ensure()
    user = User.objects.create_user("admin-acme", password="x-secret-1", is_staff=True)
    user.groups.add(Group.objects.get(name="admin"))
    Membership.objects.create(user=user, creditor=account.creditor)
    return user


@pytest.fixture
def outsider(db, actor):
    """A staff member with the same role, of another creditor only."""
    from django.contrib.auth.models import Group, User

    from cartera.core.roles import roles_ensure
    from cartera.portfolio.models import Membership

    roles_ensure()
    other = creditor_create(
        code="OTRO", name="Otro S.A.", country="MX", currency="MXN", actor=actor
    )
    user = User.objects.create_user("admin-otro", password="x-secret-1", is_staff=True)
    user.groups.add(Group.objects.get(name="admin"))
    Membership.objects.create(user=user, creditor=other)
    return user


def preview_url(template: Template) -> str:
    from django.urls import reverse

    return reverse("admin:messaging_template_preview", args=[template.pk])


def test_a_staff_member_previews_a_template_against_an_account(client, acme_admin, account):
    client.force_login(acme_admin)
    template = Template.objects.get(creditor=None, code="aviso_2", channel="email", language="es")
    found = client.get(preview_url(template), {"q": account.external_id})
    assert found.status_code == 200
    assert f"debtor={account.pk}" in found.content.decode()
    shown = client.get(preview_url(template), {"q": "tornillo", "debtor": account.pk})
    html = shown.content.decode()
    assert shown.status_code == 200
    assert "Segundo aviso: saldo vencido de $ 2.079.867 con Acme Colombia S.A.S." in html
    # The HTML part sits in a sandboxed frame, escaped into its srcdoc attribute.
    assert '<iframe class="preview-frame" sandbox' in html
    assert 'srcdoc="&lt;!doctype html&gt;' in html
    sms = Template.objects.get(creditor=None, code="aviso_2", channel="sms", language="es")
    assert (
        "caracteres en GSM-7: 2 segmentos"
        in client.get(preview_url(sms), {"debtor": account.pk}).content.decode()
    )
    letter = Template.objects.get(
        creditor=None, code="aviso_final", channel="letter", language="es"
    )
    pdf = client.get(preview_url(letter), {"debtor": account.pk, "format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_another_creditors_staff_cannot_preview_or_reach_the_account(client, outsider, account):
    client.force_login(outsider)
    own = own_template(account.creditor, code="aviso_1", subject="Propio")
    assert client.get(preview_url(own), {"debtor": account.pk}).status_code == 404
    default = Template.objects.get(creditor=None, code="aviso_1", channel="email", language="es")
    # The defaults are visible to all, but ACME's debtor is not among OTRO's.
    assert client.get(preview_url(default), {"debtor": account.pk}).status_code == 404
    listing = client.get(preview_url(default), {"q": account.external_id}).content.decode()
    assert account.name not in listing
    from django.urls import reverse

    changelist = client.get(reverse("admin:messaging_template_changelist")).content.decode()
    assert "Propio" not in changelist and "ACME" not in changelist


def test_defaults_are_read_only_for_a_creditors_admin(client, acme_admin):
    from django.urls import reverse

    client.force_login(acme_admin)
    default = Template.objects.get(creditor=None, code="aviso_1", channel="email", language="es")
    page = client.get(reverse("admin:messaging_template_change", args=[default.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert "?copy_from=" in page.content.decode()
    response = client.post(
        reverse("admin:messaging_template_change", args=[default.pk]), {"subject": "x"}
    )
    assert response.status_code == 403
    copy = client.get(reverse("admin:messaging_template_add") + f"?copy_from={default.pk}")
    assert "Su cuenta con {{ creditor.name }}" in copy.content.decode()


def test_saving_checks_the_template_and_records_who(client, acme_admin, account):
    from django.urls import reverse

    client.force_login(acme_admin)
    data = {
        "creditor": account.creditor_id,
        "code": "aviso_1",
        "channel": "sms",
        "language": "es",
        "name": "Aviso corto",
        "active": "on",
        "subject": "",
        "body_text": "Hola {{ debtor.creditor.name }} {{ total_due|safe }}",
        "body_html": "",
        "whatsapp_template": "",
        "whatsapp_params": "",
        "core-auditevent-content_type-object_id-TOTAL_FORMS": "0",
        "core-auditevent-content_type-object_id-INITIAL_FORMS": "0",
    }
    add = reverse("admin:messaging_template_add")
    refused = client.post(add, data)
    assert refused.status_code == 200
    assert "Invalid filter: &#x27;safe&#x27;" in refused.content.decode()
    data["body_text"] = "Hola {{ debtor.creditor.name }}"
    refused = client.post(add, data)
    assert "&#x27;debtor&#x27; has no &#x27;creditor&#x27;" in refused.content.decode()
    data["body_text"] = "{{ creditor.name }}: debe {{ overdue_total }}. Ref {{ payment_reference }}"
    saved = client.post(add, data)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    template = Template.objects.get(creditor=account.creditor, code="aviso_1", channel="sms")
    assert template.updated_by == "admin-acme"
    from cartera.core.models import AuditEvent

    assert AuditEvent.objects.filter(
        action="template.create.admin", object_id=str(template.pk)
    ).exists()
    assert render(account, "aviso_1", "sms").text == (
        "Acme Colombia S.A.S.: debe $ 2.079.867. Ref " + account.payment_reference
    )
    page = client.get(reverse("admin:messaging_template_change", args=[template.pk]))
    assert "caracteres en GSM-7: 1 segmento" in page.content.decode()


@given(
    minor=st.integers(min_value=-(10**13), max_value=10**13),
    case=st.sampled_from(
        [
            ("es_CO", "COP", 0),
            ("es_CO", "COP", 2),
            ("es_CO", "USD", 2),
            ("es_MX", "MXN", 2),
            ("es_ES", "EUR", 2),
            ("en_US", "USD", 2),
            ("es_CL", "CLP", 0),
            ("es_PE", "PEN", 2),
            ("en", "COP", 0),
            ("en_IN", "INR", 2),
            ("es_CO", "KWD", 3),
        ]
    ),
)
def test_the_fast_money_formatter_writes_what_babel_writes(minor, case):
    locale, currency, decimals = case
    assert format_money(minor, currency, locale=locale, decimals=decimals) == format_money_babel(
        minor, currency, locale=locale, decimals=decimals
    )
