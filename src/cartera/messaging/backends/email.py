"""Email through Django's email backends: SMTP by default, any provider through django-anymail.

Which transport is used is configuration only (`EMAIL_BACKEND`, set from
`CARTERA_EMAIL_BACKEND`). Each message has a text and an HTML part, the creditor's sender and
reply-to address, a `Message-ID` derived from its idempotency key (a retry carries the same
one) and a `List-Unsubscribe` header pointing at the debtor's opt-out page.
"""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
from collections.abc import Mapping
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

from cartera.messaging.backends.base import (
    ChannelBackend,
    PermanentError,
    SendError,
    SendResult,
    TransientError,
)
from cartera.messaging.optout import optout_token, public_url

if TYPE_CHECKING:
    from cartera.messaging.models import ChannelSettings, Message
    from cartera.messaging.rendering import Rendered

# SMTP replies that mean the server is misconfigured for everyone (our login, our sender
# address): retrying after someone fixes the settings works, so they are not the recipient's
# permanent failure.
_SERVER_SETUP_ERRORS = (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused)


def message_id_for(key: str, from_address: str) -> str:
    """A stable Message-ID for an idempotency key: a retry of the same message keeps it."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "cartera.invalid"
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def _words(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def smtp_error_classify(exc: BaseException) -> SendError:
    """4xx replies, lost connections and timeouts are transient; 5xx replies are permanent."""
    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        text = "; ".join(
            f"{address}: {code} {_words(reply)}"
            for address, (code, reply) in exc.recipients.items()
        )
        if codes and all(code >= 500 for code in codes):
            return PermanentError(f"recipient refused: {text}")
        return TransientError(f"recipient refused for now: {text}")
    if isinstance(exc, smtplib.SMTPResponseException):
        text = f"SMTP {exc.smtp_code} {_words(exc.smtp_error)}".strip()
        if isinstance(exc, _SERVER_SETUP_ERRORS):
            return TransientError(f"{text} (check the email server settings)")
        if exc.smtp_code >= 500:
            return PermanentError(text)
        return TransientError(text)
    if isinstance(exc, smtplib.SMTPException | OSError):  # disconnects, refused, timeouts
        return TransientError(f"email server unreachable: {exc.__class__.__name__}: {exc}")
    anymail = _anymail_classify(exc)
    if anymail is not None:
        return anymail
    return TransientError(f"{exc.__class__.__name__}: {exc}")


def _anymail_classify(exc: BaseException) -> SendError | None:
    try:
        from anymail.exceptions import (
            AnymailAPIError,
            AnymailError,
            AnymailInvalidAddress,
            AnymailRecipientsRefused,
        )
    except ImportError:  # anymail is a dependency, but the email part must not need it
        return None
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return PermanentError(f"the email provider refused the recipient: {exc}")
    if isinstance(exc, AnymailAPIError):
        status = getattr(exc, "status_code", None)
        if status is not None and 400 <= status < 500 and status not in (408, 429):
            return PermanentError(f"the email provider refused the message ({status}): {exc}")
        return TransientError(f"the email provider failed ({status}): {exc}")
    if isinstance(exc, AnymailError):
        return TransientError(f"email provider: {exc}")
    return None


class EmailBackend(ChannelBackend):
    """Sends through `django.core.mail`, reusing one connection for a whole batch."""

    channel = "email"
    accepts_idempotency_key = False

    def __init__(self, connection: BaseEmailBackend | None = None) -> None:
        super().__init__()
        self._given = connection
        self._connection: BaseEmailBackend | None = connection
        prefix, _token, suffix = reverse("messaging:optout", args=["TOKEN"]).rpartition("TOKEN")
        self._optout = (public_url() + prefix, suffix)

    def open(self, *, senders: Mapping[int, ChannelSettings]) -> None:
        super().open(senders=senders)

    def _connect(self) -> BaseEmailBackend:
        if self._connection is None:
            self._connection = get_connection(fail_silently=False)
            self._connection.open()
        return self._connection

    def close(self) -> None:
        if self._connection is not None and self._given is None:
            # A connection the server already dropped may fail to close: nothing to release.
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def optout_link(self, contact_point_id: int) -> str:
        token = optout_token(contact_point_id=contact_point_id, channel="email")
        return self._optout[0] + token + self._optout[1]

    def build(self, message: Message, rendered: Rendered) -> EmailMultiAlternatives:
        """The email exactly as it will leave (tests and previews read it too)."""
        sender = self.senders.get(message.creditor_id)
        from_address = (sender.email_from if sender else "") or settings.DEFAULT_FROM_EMAIL
        reply_to = [sender.email_reply_to] if sender and sender.email_reply_to else []
        headers: dict[str, Any] = {
            "Message-ID": message_id_for(message.idempotency_key, from_address),
            # Out-of-office replies and other robots must not answer an automatic message.
            "Auto-Submitted": "auto-generated",
        }
        if rendered.language:
            headers["Content-Language"] = rendered.language
        if message.contact_point_id:
            headers["List-Unsubscribe"] = f"<{self.optout_link(message.contact_point_id)}>"
        email = EmailMultiAlternatives(
            subject=rendered.subject,
            body=rendered.text,
            from_email=from_address,
            to=[message.recipient],
            reply_to=reply_to,
            headers=headers,
        )
        if rendered.html:
            email.attach_alternative(rendered.html, "text/html")
        return email

    def send(self, message: Message, rendered: Rendered) -> SendResult:
        if not message.recipient:
            raise PermanentError("no email address to send to")
        email = self.build(message, rendered)
        try:
            sent = self._connect().send_messages([email])
        except Exception as exc:
            # The connection may be half-closed after any failure: the next message reconnects.
            self.close()
            raise smtp_error_classify(exc) from exc
        if not sent:
            raise TransientError("the email backend accepted nothing (no connection?)")
        status = getattr(email, "anymail_status", None)
        provider_id = str(getattr(status, "message_id", "") or "") if status else ""
        if not provider_id:
            provider_id = str(email.extra_headers["Message-ID"]).strip("<>")
        return SendResult(provider_id=provider_id)
