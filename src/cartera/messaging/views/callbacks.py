"""Delivery reports from the providers: `POST /m/callbacks/<channel>/`.

The SMS and WhatsApp HTTP providers report what became of a message (delivered, failed). The
request body must be signed: the hex HMAC-SHA256 of the raw body with the channel's shared
secret (`CARTERA_<CHANNEL>_HTTP_CALLBACK_SECRET`), in the header
`CARTERA_<CHANNEL>_HTTP_CALLBACK_SIGNATURE_HEADER` (optionally prefixed "sha256="). A bad or
missing signature is refused with 403, a body that is not JSON with 400. The body is one event
or a list of events; field names are configurable.

Email providers report through django-anymail's tracking webhooks (`/m/anymail/<esp>/
tracking/`), which anymail verifies; `anymail_tracking` below applies them the same way.

Answers: 200 with counts; 404 when no event names a known message; 409 while a message is
still in its worker's hands (the provider retries later). Repeated reports change nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.dispatch import receiver
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cartera.core.audit import Actor
from cartera.messaging.backends.http import path_get
from cartera.messaging.models import Channel, Message
from cartera.messaging.optout import contact_point_opt_out
from cartera.messaging.outbox import (
    Delivery,
    StillSending,
    message_delivery_record,
    messages_by_provider_id,
)
from cartera.portfolio.models import ContactPoint

log = logging.getLogger("cartera.callbacks")

HTTP_CHANNELS = (Channel.SMS.value, Channel.WHATSAPP.value)


def signature_valid(secret: str, body: bytes, given: str) -> bool:
    """Whether `given` is the hex HMAC-SHA256 of `body` with `secret` (constant time)."""
    if not secret or not given:
        return False
    value = given.strip()
    if value.lower().startswith("sha256="):
        value = value[len("sha256=") :]
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, value.lower())


def _moment(value: Any) -> datetime.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value  # milliseconds from some providers
        return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    parsed = parse_datetime(str(value))
    if parsed is None:
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, datetime.UTC)
    return parsed


def _outcome(status: Any, config: Mapping[str, Any]) -> str | None:
    word = str(status or "").strip().lower()
    if word in {s.lower() for s in config["callback_delivered"]}:
        return Delivery.DELIVERED
    if word in {s.lower() for s in config["callback_failed"]}:
        return Delivery.FAILED
    return None  # "queued", "sent", "accepted"…: nothing to record


def _config(channel: str) -> Mapping[str, Any]:
    return getattr(settings, f"CARTERA_{channel.upper()}_HTTP")


def _refuse(status: int, error: str) -> JsonResponse:
    return JsonResponse({"error": error}, status=status)


@csrf_exempt
@require_POST
def delivery_callback(request: HttpRequest, channel: str) -> JsonResponse:
    if channel not in HTTP_CHANNELS:
        return _refuse(404, f"no delivery callbacks for {channel!r}")
    config = _config(channel)
    secret = str(config.get("callback_secret") or "")
    if not secret:
        return _refuse(
            403, f"callbacks are off: set CARTERA_{channel.upper()}_HTTP_CALLBACK_SECRET"
        )
    body = request.body
    given = request.headers.get(str(config["callback_signature_header"]), "")
    if not signature_valid(secret, body, given):
        log.warning(
            "%s callback refused: bad signature from %s", channel, request.META.get("REMOTE_ADDR")
        )
        return _refuse(403, "bad signature")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _refuse(400, f"the body is not JSON: {exc}")
    events = data if isinstance(data, list) else [data]
    if not events or not all(isinstance(event, dict) for event in events):
        return _refuse(400, "expected a JSON object or a list of objects")

    provider_ids = [str(path_get(e, config["callback_id_field"]) or "") for e in events]
    keys = [str(path_get(e, config["callback_key_field"]) or "") for e in events]
    by_provider = messages_by_provider_id(channel, provider_ids)
    by_key = {
        m.idempotency_key: m
        for m in Message.objects.filter(channel=channel, idempotency_key__in=[k for k in keys if k])
    }
    actor = Actor.system(f"{channel} provider")
    counts = {"updated": 0, "unchanged": 0, "ignored": 0, "not_found": 0, "still_sending": 0}
    for event, provider_id, key in zip(events, provider_ids, keys, strict=True):
        message = by_provider.get(provider_id) or by_key.get(key)
        if message is None:
            counts["not_found"] += 1
            continue
        outcome = _outcome(path_get(event, config["callback_status_field"]), config)
        if outcome is None:
            counts["ignored"] += 1
            continue
        detail = path_get(event, config["callback_error_field"])
        try:
            changed = message_delivery_record(
                message=message,
                outcome=outcome,
                at=_moment(path_get(event, config["callback_time_field"])),
                detail=str(detail) if detail else "",
                actor=actor,
            )
        except StillSending:
            counts["still_sending"] += 1
            continue
        counts["updated" if changed else "unchanged"] += 1
    if counts["still_sending"]:
        return JsonResponse({**counts, "error": "still being sent; try again"}, status=409)
    if counts["not_found"] == len(events):
        return JsonResponse({**counts, "error": "no such message"}, status=404)
    return JsonResponse(counts)


# -- email: django-anymail's tracking webhooks ---------------------------------------------

_ANYMAIL_OUTCOMES = {
    "delivered": Delivery.DELIVERED,
    "bounced": Delivery.BOUNCED,  # anymail's "bounced" is permanent; "deferred" is temporary
    "rejected": Delivery.FAILED,
    "failed": Delivery.FAILED,
}


def anymail_tracking(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """Apply an email provider's tracking event (connected to anymail's `tracking` signal)."""
    provider_id = str(getattr(event, "message_id", "") or "").strip("<>")
    if not provider_id:
        return
    message = messages_by_provider_id(Channel.EMAIL, [provider_id]).get(provider_id)
    if message is None:
        return
    actor = Actor.system(f"email provider {esp_name}")
    kind = str(getattr(event, "event_type", ""))
    if kind in ("unsubscribed", "complained") and message.contact_point_id:
        point = ContactPoint.objects.filter(pk=message.contact_point_id).first()
        if point is not None:
            contact_point_opt_out(contact_point=point, channel=Channel.EMAIL, actor=actor)
        return
    outcome = _ANYMAIL_OUTCOMES.get(kind)
    if outcome is None:
        return
    detail = getattr(event, "reject_reason", None) or getattr(event, "description", None) or ""
    mta = getattr(event, "mta_response", None)
    if mta:
        detail = f"{detail} ({mta})" if detail else str(mta)
    try:
        message_delivery_record(
            message=message,
            outcome=outcome,
            at=getattr(event, "timestamp", None),
            detail=str(detail),
            actor=actor,
        )
    except StillSending as exc:
        # Anymail answers the provider 200 whatever we do; raising makes it answer 500, so
        # the provider retries later, when the worker has recorded the hand-over.
        raise RuntimeError(f"message {message.pk} is still being sent") from exc


try:
    from anymail.signals import tracking
except ImportError:  # pragma: no cover - anymail is a dependency
    pass
else:
    receiver(tracking, dispatch_uid="cartera_anymail_tracking")(anymail_tracking)
