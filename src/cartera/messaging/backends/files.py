"""The demo's channels: every message becomes a file a person can open and read.

SMS and WhatsApp messages are written as text files and emails as `.eml` files (any mail
program opens them) under `CARTERA_OUTBOX_DIR/<channel>/<day>/`. A file is named after the
message's idempotency key, so writing the same message twice leaves one file: the file
backend accepts the key.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from cartera.messaging.backends.base import ChannelBackend, PermanentError, SendResult

if TYPE_CHECKING:
    from cartera.messaging.models import Message
    from cartera.messaging.rendering import Rendered

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(key: str) -> str:
    """A file name for an idempotency key: readable, and distinct for distinct keys."""
    readable = _UNSAFE.sub("_", key).strip("._")[:80]
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return f"{readable}-{digest}" if readable else digest


def write_atomically(path: Path, data: bytes) -> None:
    """A reader never sees half a file: write next to it, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def day_folder(channel: str) -> Path:
    return Path(settings.CARTERA_OUTBOX_DIR) / channel / timezone.localdate().isoformat()


class FileBackend(ChannelBackend):
    """SMS or WhatsApp written to a text file per message."""

    accepts_idempotency_key = True

    def __init__(self, channel: str) -> None:
        super().__init__()
        self.channel = channel  # type: ignore[misc]  # one class serves both channels

    def send(self, message: Message, rendered: Rendered) -> SendResult:
        if not message.recipient:
            raise PermanentError(f"no phone number to send the {self.channel} to")
        sender = self.senders.get(message.creditor_id)
        lines = [
            f"To: {message.recipient}",
            f"Channel: {self.channel}",
            f"Idempotency-Key: {message.idempotency_key}",
            f"Written: {timezone.now().isoformat(timespec='seconds')}",
            f"Language: {rendered.language}",
        ]
        if sender is not None and sender.sms_sender and self.channel == "sms":
            lines.append(f"From: {sender.sms_sender}")
        if rendered.sms is not None:
            lines.append(
                f"Size: {rendered.sms.characters} characters, {rendered.sms.encoding}, "
                f"{rendered.sms.segments} segment(s)"
            )
        if rendered.whatsapp_template:
            lines.append(f"Template: {rendered.whatsapp_template}")
            lines.extend(
                f"Parameter {number}: {value}"
                for number, value in enumerate(rendered.whatsapp_params, start=1)
            )
        lines.extend(["", rendered.text, ""])
        path = day_folder(self.channel) / f"{file_name(message.idempotency_key)}.txt"
        write_atomically(path, "\n".join(lines).encode())
        return SendResult(provider_id=f"file:{path.name}")


class EmailFileBackend(BaseEmailBackend):
    """A Django email backend writing one `.eml` file per email (CARTERA_EMAIL_BACKEND=file).

    The file is named after the Message-ID, which the outbox derives from the idempotency
    key: sending the same message again rewrites the same file.
    """

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for email in email_messages:
            message = email.message()
            key = str(message["Message-ID"] or "").strip("<>")
            if not key:
                stamp = datetime.datetime.now(datetime.UTC).strftime("%H%M%S%f")
                key = f"{stamp}-{os.getpid()}"
            path = day_folder("email") / f"{file_name(key)}.eml"
            try:
                write_atomically(path, message.as_bytes(linesep="\n"))
            except OSError:
                if not self.fail_silently:
                    raise
                continue
            sent += 1
        return sent
