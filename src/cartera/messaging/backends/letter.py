"""Letters: the rendered letter joins the creditor's print batch of the day.

Nothing leaves the building here: the message waits in `sending` (without a lease) until a
person confirms the batch was printed and posted, and only then is it `sent`. Joining the batch
is one database transaction, so doing it twice after a crash is harmless: the backend accepts
the idempotency key.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.utils import timezone

from cartera.messaging.backends.base import ChannelBackend, SendResult
from cartera.portfolio.models import Creditor

if TYPE_CHECKING:
    from cartera.messaging.models import ChannelSettings, Message
    from cartera.messaging.rendering import Rendered


class LetterBackend(ChannelBackend):
    channel = "letter"
    accepts_idempotency_key = True

    def __init__(self) -> None:
        super().__init__()
        self.zones: dict[int, str] = {}

    def open(self, *, senders: Mapping[int, ChannelSettings]) -> None:
        super().open(senders=senders)
        # The day of the batch is the creditor's: one query per batch for their time zones.
        self.zones = dict(
            Creditor.objects.filter(pk__in=list(senders)).values_list("pk", "timezone")
        )

    def send(self, message: Message, rendered: Rendered) -> SendResult:
        from cartera.messaging.letters import letter_enqueue

        zone = self.zones.get(message.creditor_id) or message.creditor.timezone
        try:
            tz: datetime.tzinfo = zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = timezone.get_current_timezone()
        day = timezone.now().astimezone(tz).date()
        batch = letter_enqueue(message=message, rendered=rendered, day=day)
        return SendResult(provider_id=f"letter-batch:{batch.pk}", handed_over=True)
