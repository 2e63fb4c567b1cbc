"""Per-session concerns of a logged-in user: the idle timeout and the user's language.

A session left idle ends: the next request after `CARTERA_SESSION_IDLE_SECONDS` without
activity is logged out and sent to the login page. The last activity is written to the session
at most once a minute, so reading pages does not write the session row on every request.

The language a user saved is put in the session at login and applied to each of their pages
(`cartera.workdesk.preferences` explains the whole of it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _

from cartera.workdesk.preferences import SESSION_KEY as LANGUAGE_SESSION_KEY
from cartera.workdesk.preferences import language_saved, languages

SESSION_KEY = "cartera_last_seen"
_WRITE_EVERY = 60


@receiver(user_logged_in, dispatch_uid="cartera_idle_timeout_login")
def _seen_at_login(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    # Start the clock with the session, so the first page does not have to write it.
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = int(time.time())


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            idle = int(getattr(settings, "CARTERA_SESSION_IDLE_SECONDS", 1800))
            now = int(time.time())
            last = request.session.get(SESSION_KEY)
            if isinstance(last, int) and idle > 0 and now - last > idle:
                logout(request)
                messages.info(
                    request, _("Your session ended after a while without activity: log in again.")
                )
            elif not isinstance(last, int) or now - last >= _WRITE_EVERY:
                request.session[SESSION_KEY] = now
        return self.get_response(request)


@receiver(user_logged_in, dispatch_uid="cartera_language_login")
def _language_at_login(
    sender: object, request: HttpRequest | None, user: Any, **kwargs: object
) -> None:
    # Read once per session: the middleware then applies it without a query per page.
    if request is None or not hasattr(request, "session"):
        return
    language = language_saved(user)
    if language:
        request.session[LANGUAGE_SESSION_KEY] = language
    else:
        # Nothing saved: the cookie (or Spanish) decides, as for anonymous pages.
        request.session.pop(LANGUAGE_SESSION_KEY, None)


class UserLanguageMiddleware:
    """A logged-in user's pages in the language they saved (see `cartera.workdesk.preferences`).

    After the authentication and idle-timeout middleware: a session that just ended falls back
    to the cookie's language, which `cartera.core.middleware.LanguageMiddleware` activated.
    The cookie is brought in line with the user's language, so the login page after logging
    out speaks it too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            saved = request.session.get(LANGUAGE_SESSION_KEY)
            language = saved if saved in languages() else None
        if language is None:
            return self.get_response(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        # Set before the outer LanguageMiddleware, which only fills it in when missing.
        response.headers["Content-Language"] = language
        if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            language_cookie_set(response, language)
        return response


def language_cookie_set(response: HttpResponse, language: str) -> None:
    """The language cookie, with the attributes Django's own language view gives it."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
