"""What every channel backend is: it sends one stored message and says how it went.

A backend raises `TransientError` when trying again later may work (a timeout, a full mailbox,
a provider's 5xx) and `PermanentError` when it never will (an address the server refuses, a
provider's 4xx). Anything else it raises is treated as transient by the dispatcher.

`accepts_idempotency_key` says whether handing the same message twice to this backend is
harmless because the receiving end recognizes the message's idempotency key (a provider that
documents it, a file named after the key, a database write). Only then may a message whose
worker died while sending be retried without a person's decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from cartera.messaging.models import ChannelSettings, Message
    from cartera.messaging.rendering import Rendered


class SendError(Exception):
    """A backend could not send; the message says why, in words a person can act on."""


class TransientError(SendError):
    """Try again later: the failure may pass (network, timeouts, temporary refusals)."""


class PermanentError(SendError):
    """Never try again: the message or its recipient is refused for good."""


@dataclass(frozen=True)
class SendResult:
    """How a hand-over went. `provider_id` identifies the message at the provider (delivery
    callbacks name it). `handed_over` means a later step finishes the job (a letter waits in
    the day's print batch): the message is not marked sent yet.
    """

    provider_id: str = ""
    handed_over: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)


class ChannelBackend:
    """Base of the channel backends; one instance serves a worker's batches one after another.

    `open(senders=…)` is called before a batch with each creditor's `ChannelSettings`, so a
    backend can reuse one connection for the batch; `close()` after it.
    """

    channel: ClassVar[str] = ""
    accepts_idempotency_key: bool = False

    def __init__(self) -> None:
        self.senders: Mapping[int, ChannelSettings] = {}

    def open(self, *, senders: Mapping[int, ChannelSettings]) -> None:
        self.senders = senders

    def close(self) -> None:
        """Release what `open` or `send` took (connections); safe to call twice."""

    def send(self, message: Message, rendered: Rendered) -> SendResult:
        raise NotImplementedError
