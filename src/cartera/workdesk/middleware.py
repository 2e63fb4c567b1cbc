"""A session left idle ends: the next request after `CARTERA_SESSION_IDLE_SECONDS` without
activity is logged out and sent to the login page.

The last activity is written to the session at most once a minute, so reading pages does not
write the session row on every request.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

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
