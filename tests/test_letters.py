"""Letters: one PDF per letter, the day's print batch, and confirming it printed."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django.utils.translation import override
from pypdf import PdfReader

from cartera.core.audit import Actor
from cartera.core.models import AuditEvent
from cartera.messaging.letters import (
    LetterError,
    letter_batch_build,
    letter_batch_confirm_printed,
    letter_enqueue,
    letter_pdf,
)
from cartera.messaging.models import LetterBatch, Message, MessageStatus
from cartera.messaging.rendering import Renderer
from cartera.portfolio.models import Activity, ContactPoint
from tests.conftest import AS_OF
from tests.test_rendering import make_debtor, make_document

DAY = AS_OF


@pytest.fixture(autouse=True)
def letters_home(settings, tmp_path: Path) -> Path:
    settings.CARTERA_HOME = tmp_path
    settings.CARTERA_LETTER_CHUNK = 7  # several chunks even in a small batch
    return tmp_path


def letter_messages(
    creditor, count: int, *, documents: int = 2, name: str = "Deudor Número"
) -> list[Message]:
    messages = []
    for n in range(count):
        debtor = make_debtor(creditor, name=f"{name} {n}")
        for d in range(documents):
            make_document(
                debtor,
                f"F-{n}-{d}",
                datetime.date(2026, 9, 1) + datetime.timedelta(days=d),
                150_000_00,
            )
        ContactPoint.objects.create(
            debtor=debtor, kind="address", value=f"Carrera {n} # 10-20", is_primary=True
        )
        messages.append(
            Message.objects.create(
                creditor=creditor,
                debtor=debtor,
                channel="letter",
                template_code="aviso_final",
                idempotency_key=f"letter-{debtor.pk}",
                origin="aviso_final",
                status=MessageStatus.SENDING,
                lease_until=timezone.now() + datetime.timedelta(minutes=5),
                leased_by="worker-1",
            )
        )
    return messages


def enqueue_all(creditor, messages: list[Message]) -> LetterBatch:
    renderer = Renderer(creditor=creditor, as_of=AS_OF)
    renderer.prepare(messages)
    batch = None
    for message in messages:
        batch = letter_enqueue(message=message, rendered=renderer.render(message), day=DAY)
    assert batch is not None
    return batch


def test_one_letter_is_a_pdf(creditor):
    (message,) = letter_messages(creditor, 1)
    rendered = Renderer(creditor=creditor, as_of=AS_OF).render(message)
    pdf = letter_pdf(rendered=rendered)
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    text = reader.pages[0].extract_text()
    assert "Requerimiento formal de pago" in text
    assert "Deudor Número 0" in text and "Carrera 0 # 10-20" in text
    assert "Página 1 de" in text
    # Colombia prints on US Letter.
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [612, 792]


def test_a_letter_waits_in_the_days_open_batch(creditor):
    messages = letter_messages(creditor, 3)
    batch = enqueue_all(creditor, messages)
    for message in messages:
        message.refresh_from_db()
        assert message.letter_batch_id == batch.pk
        assert message.status == MessageStatus.SENDING
        assert message.lease_until is None and message.leased_by == ""
        assert message.body_html.startswith("<!doctype html>")
        assert message.subject.startswith("Requerimiento formal de pago")
    assert LetterBatch.objects.count() == 1


def test_a_batch_of_fifty_letters_becomes_one_file(creditor, letters_home):
    messages = letter_messages(creditor, 50)
    # A long account: its letter runs onto a second page.
    long_one = letter_messages(creditor, 1, documents=45, name="Cuenta Larga")
    batch = enqueue_all(creditor, messages + long_one)
    path = letter_batch_build(batch=batch)
    batch.refresh_from_db()
    assert path == letters_home / "letters" / "ACME" / f"{DAY.isoformat()}-{batch.pk}.pdf"
    assert batch.file == str(path) and batch.built_at is not None and batch.closed_at is not None
    reader = PdfReader(path, strict=True)  # a well-formed file: xref, page tree, trailer
    pages = {
        m.pk: m.payload["pages"] for m in Message.objects.filter(letter_batch=batch).order_by("pk")
    }
    assert batch.letters == 51
    assert len(reader.pages) == batch.pages == sum(pages.values())
    assert pages[long_one[0].pk] >= 2
    assert all(count == 1 for pk, count in pages.items() if pk != long_one[0].pk)
    # The letters appear in order, each with its own page numbers.
    assert "Deudor Número 0" in reader.pages[0].extract_text()
    assert "Deudor Número 49" in reader.pages[49].extract_text()
    assert "Página 1 de" in reader.pages[50].extract_text()
    assert not path.with_name(path.name + ".part").exists()
    # Every page resolves its fonts and content, and keeps the letter's paper size.
    for page in reader.pages:
        assert page.extract_text()
        assert [round(float(v)) for v in page.mediabox[2:]] == [612, 792]


def test_a_letter_queued_after_the_batch_closed_opens_a_new_one(creditor):
    first = enqueue_all(creditor, letter_messages(creditor, 2))
    letter_batch_build(batch=first)
    second = enqueue_all(creditor, letter_messages(creditor, 1))
    assert second.pk != first.pk and second.day == first.day
    assert Message.objects.filter(letter_batch=first).count() == 2


@override("en")
def test_confirming_printed_marks_sent_and_writes_a_contact_per_letter(creditor):
    messages = letter_messages(creditor, 5)
    batch = enqueue_all(creditor, messages)
    with pytest.raises(LetterError, match="build it first"):
        letter_batch_confirm_printed(batch=batch, actor=Actor.system("ana"))
    letter_batch_build(batch=batch)
    assert letter_batch_confirm_printed(batch=batch, actor=Actor.system("ana")) == 5
    for message in messages:
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT and message.sent_at is not None
    activities = Activity.objects.filter(message_id__in=[m.pk for m in messages])
    assert activities.count() == 5
    assert {(a.kind, a.is_contact, a.debtor_id) for a in activities} == {
        ("letter", True, m.debtor_id) for m in messages
    }
    batch.refresh_from_db()
    assert batch.printed_by == "ana" and batch.printed_at is not None
    assert AuditEvent.objects.filter(action="letterbatch.printed", object_id=str(batch.pk)).exists()
    with pytest.raises(LetterError, match="already confirmed printed"):
        letter_batch_confirm_printed(batch=batch, actor=Actor.system("ana"))
    with pytest.raises(LetterError, match="already confirmed printed"):
        letter_batch_build(batch=batch)


@override("en")
def test_the_letters_command(creditor, capsys):
    enqueue_all(creditor, letter_messages(creditor, 2))
    call_command("letters", "build", "--creditor", "acme", "--day", DAY.isoformat())
    out = capsys.readouterr().out
    batch = LetterBatch.objects.get()
    assert f"batch {batch.pk} (ACME {DAY}): 2 letters, 2 pages -> " in out
    call_command("letters", "build")
    assert "no letter batch to build" in capsys.readouterr().out
    call_command("letters", "printed", str(batch.pk))
    assert "2 letters marked sent" in capsys.readouterr().out
    with pytest.raises(CommandError, match="already confirmed printed") as refused:
        call_command("letters", "printed", str(batch.pk))
    assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="there is no letter batch 999") as missing:
        call_command("letters", "printed", "999")
    assert missing.value.returncode == 2
    call_command("letters", "list", "--format", "json")
    assert '"state": "printed"' in capsys.readouterr().out


def test_the_letter_batch_admin_downloads_and_confirms(client, creditor, actor):
    from django.contrib.auth.models import Group, User
    from django.urls import reverse

    from cartera.core.roles import roles_ensure
    from cartera.portfolio.models import Membership
    from cartera.portfolio.services import creditor_create

    roles_ensure()
    admin_of_acme = User.objects.create_user("admin-acme", password="x-secret-1", is_staff=True)
    admin_of_acme.groups.add(Group.objects.get(name="admin"))
    Membership.objects.create(user=admin_of_acme, creditor=creditor)
    other = creditor_create(code="OTRO", name="Otro", country="CO", currency="COP", actor=actor)
    outsider = User.objects.create_user("admin-otro", password="x-secret-1", is_staff=True)
    outsider.groups.add(Group.objects.get(name="admin"))
    Membership.objects.create(user=outsider, creditor=other)

    messages = letter_messages(creditor, 2)
    batch = enqueue_all(creditor, messages)
    client.force_login(admin_of_acme)
    changelist = reverse("admin:messaging_letterbatch_changelist")
    client.post(changelist, {"action": "build", "_selected_action": [batch.pk]})
    batch.refresh_from_db()
    assert batch.built_at is not None
    listing = client.get(changelist).content.decode()
    download = reverse("admin:messaging_letterbatch_download", args=[batch.pk])
    assert download in listing
    pdf = client.get(download)
    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    client.force_login(outsider)
    assert client.get(download).status_code == 404
    client.post(changelist, {"action": "confirm_printed", "_selected_action": [batch.pk]})
    batch.refresh_from_db()
    assert batch.printed_at is None  # not one of OTRO's batches
    client.force_login(admin_of_acme)
    client.post(changelist, {"action": "confirm_printed", "_selected_action": [batch.pk]})
    batch.refresh_from_db()
    assert batch.printed_by == "admin-acme"
    assert Message.objects.filter(letter_batch=batch, status=MessageStatus.SENT).count() == 2
    assert Activity.objects.filter(message_id__in=[m.pk for m in messages]).count() == 2
