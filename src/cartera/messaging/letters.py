"""Letters: one PDF per letter, gathered into the printable file of the day.

The worker renders a letter when it is its turn (`letter_enqueue`): the letter's HTML is stored
on the message, which joins the creditor's open batch of the day and waits there (`sending`,
no lease). `letter_batch_build` closes the batch and writes its file; a person prints it and
confirms (`letter_batch_confirm_printed`), and only then do its letters count as sent.

A batch is open (letters join it), closed (its file is being built; a letter queued meanwhile
opens a new batch for the day), built (the file is complete) and printed.
"""

from __future__ import annotations

import datetime
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    PdfObject,
)

from cartera.core.audit import Actor, audit_record
from cartera.core.bulk import rows_update
from cartera.messaging.models import LetterBatch, Message, MessageStatus
from cartera.messaging.rendering import Rendered
from cartera.portfolio.models import Activity, ActivityKind

if TYPE_CHECKING:
    from weasyprint.text.fonts import FontConfiguration


class LetterError(ValueError):
    """A batch cannot do what was asked (already printed, not built yet…); the message says why."""


def letters_dir() -> Path:
    return Path(settings.CARTERA_HOME) / "letters"


def _chunk_size() -> int:
    return max(1, int(getattr(settings, "CARTERA_LETTER_CHUNK", 50)))


_fonts: FontConfiguration | None = None


def _font_config() -> FontConfiguration:
    # One font configuration for the process: WeasyPrint then loads each font once.
    # WeasyPrint is imported here, not with the module: it costs every `cartera` command a
    # third of a second at start-up, and only letters need it.
    from weasyprint.text.fonts import FontConfiguration

    global _fonts
    if _fonts is None:
        _fonts = FontConfiguration()
    return _fonts


def letter_pdf(*, rendered: Rendered) -> bytes:
    """The PDF of one rendered letter (its `html` is the whole letter, layout included)."""
    if not rendered.html:
        raise LetterError("the rendered message has no letter HTML")
    from weasyprint import HTML

    return HTML(string=rendered.html).render(font_config=_font_config()).write_pdf()


def _open_batch(creditor_id: int, day: datetime.date) -> LetterBatch:
    """The creditor's open batch of the day, locked until the caller's transaction ends.

    The lock makes `letter_batch_build` wait for a letter being added, so no letter joins a
    batch whose file is already being written.
    """
    found = (
        LetterBatch.objects.select_for_update()
        .filter(creditor_id=creditor_id, day=day, closed_at__isnull=True)
        .first()
    )
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return LetterBatch.objects.create(creditor_id=creditor_id, day=day)
    except IntegrityError:
        # Another worker opened it at the same moment (one open batch per creditor and day).
        return LetterBatch.objects.select_for_update().get(
            creditor_id=creditor_id, day=day, closed_at__isnull=True
        )


@transaction.atomic
def letter_enqueue(*, message: Message, rendered: Rendered, day: datetime.date) -> LetterBatch:
    """Store the rendered letter on `message` and put it in the creditor's open batch of `day`.

    The message stays `sending` with no lease: it waits for the batch to be printed, and the
    lease expiry (which looks at `lease_until`) leaves it alone.
    """
    batch = _open_batch(message.creditor_id, day)
    message.subject = rendered.subject[:300]
    message.body_text = rendered.text
    message.body_html = rendered.html
    message.language = rendered.language
    message.letter_batch = batch
    message.status = MessageStatus.SENDING
    message.lease_until = None
    message.leased_by = ""
    message.payload = {**(message.payload or {}), "letter_batch": batch.pk}
    message.save(
        update_fields=[
            "subject",
            "body_text",
            "body_html",
            "language",
            "letter_batch",
            "status",
            "lease_until",
            "leased_by",
            "payload",
        ]
    )
    return batch


class PdfAppender:
    """Writes one PDF from many, a document at a time, keeping none of them in memory.

    pypdf's own merge holds every page it has copied until it writes the file (about 30 KB per
    page), so a batch of thousands of letters would need hundreds of megabytes. Here each
    appended document's objects are renumbered and written out at once; what stays in memory
    is one offset per object and one number per page. The page tree and the cross-reference
    table are written by `close()`.
    """

    _CATALOG, _PAGES = 1, 2

    def __init__(self, handle: BinaryIO) -> None:
        self._out = handle
        self._offsets: list[int] = [0, 0]  # object n is at _offsets[n - 1]; 1 and 2 reserved
        self._pages: list[int] = []
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self._out.write(data)

    def _new_id(self) -> int:
        self._offsets.append(0)
        return len(self._offsets)

    def _emit(self, number: int, obj: PdfObject) -> None:
        self._offsets[number - 1] = self._out.tell()
        self._write(f"{number} 0 obj\n".encode())
        obj.write_to_stream(self._out)
        self._write(b"\nendobj\n")

    def append(self, pdf: bytes) -> int:
        """Append every page of `pdf`; returns how many."""
        reader = PdfReader(io.BytesIO(pdf))
        mapping: dict[int, int] = {}
        queue: list[int] = []

        def reference(number: int) -> IndirectObject:
            if number not in mapping:
                mapping[number] = self._new_id()
                queue.append(number)
            return IndirectObject(mapping[number], 0, reader)

        def renumber(obj: Any) -> Any:
            # Each object is reached once, and a direct object belongs to one parent: changing
            # them in place is safe (the reader is dropped with this chunk).
            if isinstance(obj, IndirectObject):
                return reference(obj.idnum)
            if isinstance(obj, DictionaryObject):
                for key, value in list(obj.items()):
                    obj[key] = renumber(value)
            elif isinstance(obj, ArrayObject):
                for index, value in enumerate(obj):
                    obj[index] = renumber(value)
            return obj

        pages = reader.pages  # pypdf copies inherited attributes (MediaBox…) into each page
        page_numbers = set()
        for page in pages:
            assert page.indirect_reference is not None
            page_numbers.add(page.indirect_reference.idnum)
            self._pages.append(reference(page.indirect_reference.idnum).idnum)
        while queue:
            number = queue.pop()
            obj = reader.get_object(number)
            if number in page_numbers:
                assert isinstance(obj, DictionaryObject)
                obj[NameObject("/Parent")] = NullObject()  # set to our tree below
                renumber(obj)
                obj[NameObject("/Parent")] = IndirectObject(self._PAGES, 0, reader)
            else:
                obj = renumber(obj)
            self._emit(mapping[number], obj)
        return len(pages)

    def close(self) -> None:
        """Write the page tree, the catalog, the cross-reference table and the trailer."""
        kids = " ".join(f"{n} 0 R" for n in self._pages)
        self._offsets[self._PAGES - 1] = self._out.tell()
        self._write(
            f"{self._PAGES} 0 obj\n<< /Type /Pages /Kids [{kids}] /Count {len(self._pages)} >>"
            "\nendobj\n".encode()
        )
        self._offsets[self._CATALOG - 1] = self._out.tell()
        catalog = f"<< /Type /Catalog /Pages {self._PAGES} 0 R >>"
        self._write(f"{self._CATALOG} 0 obj\n{catalog}\nendobj\n".encode())
        start = self._out.tell()
        rows = [f"xref\n0 {len(self._offsets) + 1}\n", "0000000000 65535 f \n"]
        rows += [f"{offset:010d} 00000 n \n" for offset in self._offsets]
        self._write("".join(rows).encode())
        self._write(
            f"trailer\n<< /Size {len(self._offsets) + 1} /Root {self._CATALOG} 0 R >>\n"
            f"startxref\n{start}\n%%EOF\n".encode()
        )


def _batch_path(batch: LetterBatch) -> Path:
    return letters_dir() / batch.creditor.code / f"{batch.day.isoformat()}-{batch.pk}.pdf"


def _id_chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def letter_batch_build(*, batch: LetterBatch) -> Path:
    """Close the batch and write its printable file, `CARTERA_LETTER_CHUNK` letters at a time.

    Each letter is laid out on its own (its page numbers count its own pages); the letters of
    a chunk become one PDF that `PdfAppender` writes into the file at once, so memory holds
    one chunk's layouts whatever the size of the batch. The file appears under its name only
    when complete. Building a closed batch again (after a crash) writes the file again; a
    printed batch is refused.
    """
    with transaction.atomic():
        LetterBatch.objects.filter(pk=batch.pk, closed_at__isnull=True).update(
            closed_at=timezone.now()
        )
        batch = LetterBatch.objects.select_related("creditor").get(pk=batch.pk)
    if batch.printed_at is not None:
        raise LetterError(
            _("letter batch %(batch)s was already confirmed printed") % {"batch": batch.pk}
        )
    ids = list(
        Message.objects.filter(letter_batch=batch, status=MessageStatus.SENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    path = _batch_path(batch)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    pages_of: dict[int, int] = {}
    payloads: dict[int, dict[str, Any]] = {}
    fonts = _font_config()
    from weasyprint import HTML  # imported on use, as in `_font_config`

    with partial.open("wb") as handle:
        appender = PdfAppender(handle)
        for chunk in _id_chunks(ids, _chunk_size()):
            rows = (
                Message.objects.filter(pk__in=chunk)
                .order_by("pk")
                .values_list("pk", "body_html", "payload")
            )
            documents = []
            for pk, html, payload in rows:
                document = HTML(string=html).render(font_config=fonts)
                pages_of[pk] = len(document.pages)
                payloads[pk] = {**(payload or {}), "letter_batch": batch.pk}
                documents.append(document)
            if not documents:
                continue
            pages = [page for document in documents for page in document.pages]
            chunk_pdf = documents[0].copy(pages).write_pdf()
            del documents, pages  # the layouts of this chunk are no longer needed
            appender.append(chunk_pdf)
        appender.close()
    total_pages = sum(pages_of.values())
    if total_pages:
        os.replace(partial, path)  # the file appears complete or not at all
    else:
        partial.unlink()
    with transaction.atomic():
        rows_update(
            Message,
            ["payload"],
            [(pk, json.dumps({**payloads[pk], "pages": count})) for pk, count in pages_of.items()],
        )
        LetterBatch.objects.filter(pk=batch.pk).update(
            file=str(path) if total_pages else "",
            letters=len(pages_of),
            pages=total_pages,
            built_at=timezone.now(),
        )
        audit_record(
            actor=Actor.system("letters"),
            action="letterbatch.build",
            obj=batch,
            creditor_id=batch.creditor_id,
            changes={"letters": len(pages_of), "pages": total_pages, "file": str(path)},
        )
    batch.refresh_from_db()
    return path


@transaction.atomic
def letter_batch_confirm_printed(*, batch: LetterBatch, actor: Actor) -> int:
    """Mark the batch's letters sent and write one contact per letter on each account.

    Returns how many letters were marked. Confirming twice is refused.
    """
    locked = LetterBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.printed_at is not None:
        raise LetterError(
            _("letter batch %(batch)s was already confirmed printed on %(when)s by %(who)s")
            % {
                "batch": locked.pk,
                "when": f"{timezone.localtime(locked.printed_at):%Y-%m-%d %H:%M}",
                "who": locked.printed_by,
            }
        )
    if locked.built_at is None:
        raise LetterError(
            _(
                "letter batch %(batch)s has no file yet: build it first "
                "(cartera letters build --day %(day)s)"
            )
            % {"batch": locked.pk, "day": locked.day.isoformat()}
        )
    moment = timezone.now()
    letters = list(
        Message.objects.filter(letter_batch=locked, status=MessageStatus.SENDING).values_list(
            "pk", "debtor_id", "subject"
        )
    )
    for chunk in _id_chunks([pk for pk, *_rest in letters], 900):
        Message.objects.filter(pk__in=chunk).update(
            status=MessageStatus.SENT, sent_at=moment, lease_until=None
        )
    Activity.objects.bulk_create(
        [
            Activity(
                creditor_id=locked.creditor_id,
                debtor_id=debtor_id,
                kind=ActivityKind.LETTER,
                at=moment,
                is_contact=True,
                outcome="sent",
                note=subject[:500],
                user=actor.user if actor.user is not None and actor.user.pk else None,
                message_id=pk,
            )
            for pk, debtor_id, subject in letters
        ],
        batch_size=1000,
    )
    locked.printed_at = moment
    locked.printed_by = actor.label[:150]
    locked.save(update_fields=["printed_at", "printed_by"])
    audit_record(
        actor=actor,
        action="letterbatch.printed",
        obj=locked,
        creditor_id=locked.creditor_id,
        changes={"letters": len(letters), "pages": locked.pages},
    )
    batch.printed_at, batch.printed_by = locked.printed_at, locked.printed_by
    return len(letters)
