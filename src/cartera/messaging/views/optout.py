"""The page a debtor reaches from the opt-out link of a message: no login, signed link, CSRF."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from cartera.core.audit import Actor
from cartera.core.models import ActorType
from cartera.messaging.models import Channel
from cartera.messaging.optout import (
    CONSENT_FIELD,
    OptOutLinkInvalid,
    contact_point_opt_out,
    contact_value_masked,
    optout_parse,
)
from cartera.messaging.rendering import LANGUAGES, creditor_language
from cartera.portfolio.models import ContactPoint


def _channel_words(channel: str) -> str:
    return {
        "email": _("collection messages by email"),
        "sms": _("collection messages by SMS"),
        "whatsapp": _("collection messages by WhatsApp"),
        "letter": _("collection letters"),
    }[channel]


def _refused(request: HttpRequest, status: int) -> HttpResponse:
    response = render(
        request,
        "messaging/optout.html",
        {"state": "invalid", "title": _("This link is not valid")},
        status=status,
    )
    response.headers["Content-Language"] = translation.get_language()
    return response


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def optout(request: HttpRequest, token: str) -> HttpResponse:
    """GET: what the link will do and a button to confirm; POST: withdraw the consent."""
    language = request.GET.get("lang", "")
    try:
        target = optout_parse(token)
    except OptOutLinkInvalid:
        with translation.override(language if language in LANGUAGES else "es"):
            return _refused(request, 400)
    contact = (
        ContactPoint.objects.select_related("debtor__creditor")
        .filter(pk=target.contact_point_id)
        .first()
    )
    if contact is None:
        with translation.override(language if language in LANGUAGES else "es"):
            return _refused(request, 404)
    creditor = contact.debtor.creditor
    if language not in LANGUAGES:
        language = creditor_language(creditor)
    with translation.override(language):
        field = CONSENT_FIELD[Channel(target.channel)]
        state = "ask"
        if request.method == "POST":
            actor = Actor(
                type=ActorType.DEBTOR,
                label=f"debtor {contact.debtor.external_id} (opt-out link)"[:150],
                remote_addr=request.META.get("REMOTE_ADDR"),
            )
            contact = contact_point_opt_out(
                contact_point=contact, channel=target.channel, actor=actor
            )
            state = "done"
        elif getattr(contact, field) is False:
            state = "already"
        titles = {
            "ask": _("Stop receiving %(what)s") % {"what": _channel_words(target.channel)},
            "done": _("You will not receive more %(what)s")
            % {"what": _channel_words(target.channel)},
            "already": _("You had already unsubscribed"),
        }
        response = render(
            request,
            "messaging/optout.html",
            {
                "state": state,
                "title": titles[state],
                "creditor_name": creditor.name,
                "what": _channel_words(target.channel),
                "where": contact_value_masked(contact),
                "language": language,
            },
        )
        response.headers["Content-Language"] = language
        return response
