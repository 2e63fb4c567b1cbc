"""The opt-out link every email carries: signed, no login, one contact point and one channel.

The token is the contact point's id and the channel, signed with the project's secret key and a
salt of its own, so a link cannot be forged or turned into another debtor's, and never expires:
a debtor may unsubscribe from an email months old.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.translation import gettext

from cartera.core.audit import Actor, audit_record
from cartera.messaging.models import Channel
from cartera.portfolio.models import Activity, ActivityKind, ContactPoint

SALT = "cartera.messaging.optout"

# The consent field of the contact point each channel's opt-out clears.
CONSENT_FIELD = {
    Channel.EMAIL: "consent_email",
    Channel.SMS: "consent_sms",
    Channel.WHATSAPP: "consent_whatsapp",
    Channel.LETTER: "consent_letter",
}
_SHORT = {"email": "e", "sms": "s", "whatsapp": "w", "letter": "l"}
_LONG = {short: channel for channel, short in _SHORT.items()}


class OptOutLinkInvalid(ValueError):
    """The token was altered, truncated or made up."""


@dataclass(frozen=True)
class OptOutTarget:
    contact_point_id: int
    channel: str


def public_url() -> str:
    """Where debtors reach this installation (links in messages are absolute)."""
    return str(getattr(settings, "CARTERA_PUBLIC_URL", "http://127.0.0.1:8000")).rstrip("/")


@lru_cache(maxsize=4)
def _signer(secret: str) -> signing.Signer:
    # One signer per key: building one derives its key, which costs as much as signing.
    return signing.Signer(key=secret, salt=SALT)


@lru_cache(maxsize=4)
def _keyed_mac(secret: str) -> hmac.HMAC:
    """The HMAC `_signer(secret)` computes, with its key already derived.

    `Signer.sign` derives the key from the salt and the secret again for every value, a third
    of the cost of signing; every email carries a link, so the derived key is kept here and
    copied per token. `optout_token` gives exactly `Signer.sign` (a test compares them).
    """
    signer = _signer(secret)
    salt = force_bytes(signer.salt) + b"signer"
    key = hashlib.new(signer.algorithm, salt + force_bytes(signer.key)).digest()
    return hmac.new(key, digestmod=signer.algorithm)


def optout_token(*, contact_point_id: int, channel: str) -> str:
    if channel not in _SHORT:
        raise ValueError(f"unknown channel {channel!r}")
    value = f"{contact_point_id}{_SHORT[channel]}"
    mac = _keyed_mac(settings.SECRET_KEY).copy()
    mac.update(value.encode())
    signature = base64.urlsafe_b64encode(mac.digest()).strip(b"=").decode()
    return f"{value}{_signer(settings.SECRET_KEY).sep}{signature}"


def optout_url(*, contact_point: ContactPoint, channel: str) -> str:
    """The absolute opt-out link of one contact point for one channel."""
    token = optout_token(contact_point_id=contact_point.pk, channel=channel)
    return public_url() + reverse("messaging:optout", args=[token])


def optout_url_for(*, contact_point_id: int, channel: str, base: str, path_prefix: str) -> str:
    """`optout_url` without a model instance, for rendering thousands of messages quickly.

    `base` is `public_url()` and `path_prefix` the page's path with an empty token, both
    computed once by the caller.
    """
    return base + path_prefix + optout_token(contact_point_id=contact_point_id, channel=channel)


def optout_parse(token: str) -> OptOutTarget:
    try:
        value = _signer(settings.SECRET_KEY).unsign(token)
    except signing.BadSignature as exc:
        raise OptOutLinkInvalid("the link's signature does not match") from exc
    digits, short = value[:-1], value[-1:]
    if not digits.isdigit() or short not in _LONG:
        raise OptOutLinkInvalid("the link does not name a contact point and a channel")
    return OptOutTarget(contact_point_id=int(digits), channel=_LONG[short])


def contact_value_masked(contact_point: ContactPoint) -> str:
    """Enough of the address or number for its owner to recognize it, not for a stranger."""
    value = contact_point.value
    if "@" in value:
        local, _at, domain = value.partition("@")
        return f"{local[:2]}{'•' * max(1, len(local) - 2)}@{domain}"
    if contact_point.kind == "address":
        return contact_point.label or value
    visible = value[-4:]
    return f"{'•' * max(0, len(value) - 4)}{visible}"


@transaction.atomic
def contact_point_opt_out(
    *, contact_point: ContactPoint, channel: str, actor: Actor
) -> ContactPoint:
    """Withdraw the consent for `channel` on the contact point; asking twice changes nothing.

    The change is audited and written to the account's history, so collectors see it.
    """
    field = CONSENT_FIELD[Channel(channel)]
    locked = (
        ContactPoint.objects.select_for_update().select_related("debtor").get(pk=contact_point.pk)
    )
    before = getattr(locked, field)
    if before is False:
        return locked
    setattr(locked, field, False)
    locked.save(update_fields=[field])
    audit_record(
        actor=actor,
        action="contactpoint.optout",
        obj=locked,
        creditor_id=locked.debtor.creditor_id,
        changes={field: [before, False], "channel": channel},
    )
    Activity.objects.create(
        creditor_id=locked.debtor.creditor_id,
        debtor_id=locked.debtor_id,
        kind=ActivityKind.SYSTEM,
        at=timezone.now(),
        outcome="opt_out",
        note=gettext("Opted out of %(channel)s for %(value)s through the link in a message")
        % {"channel": channel, "value": locked.value},
    )
    return locked
