"""The page header's language selector: saved with the user when logged in, a cookie always."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from cartera.workdesk.middleware import language_cookie_set
from cartera.workdesk.preferences import SESSION_KEY, language_save, languages


def _next(request: HttpRequest) -> str:
    """Back to the page the selector was on, never to another site."""
    wanted = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/"
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe else "/"


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Switch the interface's language; for a logged-in user the choice is kept, so any
    browser they log in from speaks it. An unknown language changes nothing."""
    response = HttpResponseRedirect(_next(request))
    chosen = request.POST.get("language", "")
    if chosen not in languages():
        return response
    if request.user.is_authenticated:
        language_save(request.user, chosen)
        request.session[SESSION_KEY] = chosen
    # The cookie too: the login page after logging out keeps speaking it.
    language_cookie_set(response, chosen)
    return response
