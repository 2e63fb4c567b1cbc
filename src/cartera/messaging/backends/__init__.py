"""The channel backends and the one place that picks each channel's backend from settings."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from cartera.messaging.backends.base import (
    ChannelBackend,
    PermanentError,
    SendError,
    SendResult,
    TransientError,
)

__all__ = [
    "ChannelBackend",
    "PermanentError",
    "SendError",
    "SendResult",
    "TransientError",
    "backend_accepts_key",
    "backend_for",
]


def backend_for(channel: str) -> ChannelBackend:
    """A fresh backend for `channel` as configured (CARTERA_<CHANNEL>_BACKEND for SMS and
    WhatsApp: "http", "file" or the dotted path of a ChannelBackend class taking the channel)."""
    if channel == "email":
        from cartera.messaging.backends.email import EmailBackend

        return EmailBackend()
    if channel == "letter":
        from cartera.messaging.backends.letter import LetterBackend

        return LetterBackend()
    if channel not in ("sms", "whatsapp"):
        raise ValueError(f"unknown channel {channel!r}")
    choice = str(getattr(settings, f"CARTERA_{channel.upper()}_BACKEND", "http"))
    if choice == "http":
        from cartera.messaging.backends.http import HttpBackend

        return HttpBackend(channel, getattr(settings, f"CARTERA_{channel.upper()}_HTTP"))
    if choice == "file":
        from cartera.messaging.backends.files import FileBackend

        return FileBackend(channel)
    try:
        backend_class = import_string(choice)
    except ImportError as exc:
        raise ValueError(
            f"CARTERA_{channel.upper()}_BACKEND={choice!r}: use http, file or the dotted path "
            f"of a backend class ({exc})"
        ) from exc
    backend = backend_class(channel)
    if not isinstance(backend, ChannelBackend):
        raise ValueError(f"{choice} is not a ChannelBackend")
    return backend


def backend_accepts_key(channel: str) -> bool:
    """Whether a message of `channel` may be handed over again safely after a crash."""
    try:
        return backend_for(channel).accepts_idempotency_key
    except ValueError:
        return False
