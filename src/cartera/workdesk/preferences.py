"""A user's language, kept with the user so it follows them to any browser.

Where each piece acts:

- At login (`user_logged_in`, wired in `middleware`), the saved language is read once and
  put in the session; every later request of that session reads it from there
  (`UserLanguageMiddleware`), so pages cost no query more than before.
- The page header's selector posts to `views_preferences.language`, which saves the choice
  (`language_save`) for a logged-in user, updates the session and sets the language cookie.
- Anonymous pages (the login page) keep the cookie behaviour of
  `cartera.core.middleware.LanguageMiddleware`: Spanish unless the browser's cookie says
  otherwise.

A change made elsewhere (another browser, the administration) reaches an open session at its
next login.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.utils.timezone import now

from cartera.workdesk.models import Preferences

SESSION_KEY = "cartera_language"


def languages() -> frozenset[str]:
    """The language codes the interface offers."""
    return frozenset(code for code, _name in settings.LANGUAGES)


def language_saved(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The language the user chose, if they chose one still offered (one query)."""
    if not user.is_authenticated:
        return None
    language = (
        Preferences.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    )
    return language if language in languages() else None


def language_save(user: AbstractBaseUser, language: str) -> None:
    """Keep `language` as the user's language; ValueError for a language not offered."""
    if language not in languages():
        raise ValueError(f"'{language}' is not one of the languages offered")
    Preferences.objects.update_or_create(
        user_id=user.pk, defaults={"language": language, "updated_at": now()}
    )
