"""SMS and WhatsApp through a provider's HTTP API: one JSON POST per message.

Everything provider-specific is configuration (`CARTERA_SMS_HTTP_*`,
`CARTERA_WHATSAPP_HTTP_*`, see docs/outbox-and-worker.md): the URL, an authentication header,
the name of each field in the request, and where the provider's message id is in its answer.
A dotted field name ("message.text") builds or reads nested JSON; an empty one is left out.

Timeouts, connection errors, 5xx, 408 and 429 answers are transient; other 4xx answers are
permanent (the provider refuses this message as it is).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.urls import NoReverseMatch, reverse

from cartera.messaging.backends.base import (
    ChannelBackend,
    PermanentError,
    SendResult,
    TransientError,
)
from cartera.messaging.optout import public_url

if TYPE_CHECKING:
    from cartera.messaging.models import Message
    from cartera.messaging.rendering import Rendered


def path_set(target: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `value` at a dotted path ("message.text") of a JSON object, creating objects."""
    if not dotted:
        return
    *parents, last = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def path_get(source: Any, dotted: str) -> Any:
    """The value at a dotted path of parsed JSON (list items by number), None if absent."""
    if not dotted:
        return None
    current = source
    for part in dotted.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


class HttpBackend(ChannelBackend):
    """The generic HTTP provider of one channel, configured by a settings dictionary."""

    def __init__(self, channel: str, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.channel = channel  # type: ignore[misc]  # one class serves SMS and WhatsApp
        self.config = dict(config)
        self.accepts_idempotency_key = bool(config.get("accepts_idempotency_key"))
        try:
            extra = json.loads(str(config.get("extra") or "{}"))
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"CARTERA_{channel.upper()}_HTTP_EXTRA is not a JSON object: {exc}"
            ) from exc
        if not isinstance(extra, dict):
            raise ValueError(f"CARTERA_{channel.upper()}_HTTP_EXTRA must be a JSON object")
        self.extra: dict[str, Any] = extra

    def callback_url(self) -> str:
        try:
            path = reverse("messaging:callback", args=[self.channel])
        except NoReverseMatch:
            return ""
        return public_url() + path

    def payload(self, message: Message, rendered: Rendered) -> dict[str, Any]:
        """The JSON body for one message."""
        c = self.config
        body: dict[str, Any] = json.loads(json.dumps(self.extra))  # a fresh copy each time
        path_set(body, c["field_to"], message.recipient)
        sender = self.senders.get(message.creditor_id)
        if sender is not None and sender.sms_sender and self.channel == "sms":
            path_set(body, c["field_from"], sender.sms_sender)
        if self.channel == "whatsapp":
            if not rendered.whatsapp_template:
                raise PermanentError(
                    "a WhatsApp message that opens a conversation needs a provider-approved "
                    "template: set one on this message's template"
                )
            path_set(body, c["field_template"], rendered.whatsapp_template)
            path_set(body, c["field_params"], list(rendered.whatsapp_params))
            path_set(body, c["field_language"], rendered.language)
        else:
            path_set(body, c["field_text"], rendered.text)
        path_set(body, c["field_key"], message.idempotency_key)
        callback = self.callback_url() if c.get("field_callback") else ""
        if callback:
            path_set(body, c["field_callback"], callback)
        return body

    def send(self, message: Message, rendered: Rendered) -> SendResult:
        c = self.config
        if not c.get("url"):
            prefix = f"CARTERA_{self.channel.upper()}"
            raise TransientError(
                f"no {self.channel} provider is configured: set {prefix}_HTTP_URL, or "
                f"{prefix}_BACKEND=file to write messages to files"
            )
        if not message.recipient:
            raise PermanentError(f"no phone number to send the {self.channel} to")
        data = json.dumps(self.payload(message, rendered)).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if c.get("auth_header") and c.get("auth_value"):
            headers[str(c["auth_header"])] = str(c["auth_value"])
        request = urllib.request.Request(str(c["url"]), data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=float(c["timeout"])) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            text = f"the {self.channel} provider answered {exc.code}: {detail}".strip()
            if exc.code >= 500 or exc.code in (408, 425, 429):
                raise TransientError(text) from exc
            raise PermanentError(text) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TransientError(f"the {self.channel} provider is unreachable: {exc}") from exc
        except OSError as exc:
            raise TransientError(f"the {self.channel} provider is unreachable: {exc}") from exc
        provider_id = ""
        if raw.strip():
            try:
                answer = json.loads(raw)
            except json.JSONDecodeError:
                answer = None
            found = path_get(answer, str(c.get("response_id") or ""))
            if found is not None and not isinstance(found, dict | list):
                provider_id = str(found)
        return SendResult(provider_id=provider_id)
