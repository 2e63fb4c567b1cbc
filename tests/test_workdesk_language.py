"""The interface's language: Spanish by default, English when a user chooses it, kept with the
user so any browser they log in from speaks it; the cookie alone for anonymous pages."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from cartera.workdesk.models import Preferences
from cartera.workdesk.preferences import language_save, language_saved
from tests.workdesk_support import PASSWORD, person

COOKIE = settings.LANGUAGE_COOKIE_NAME
# The worklist's heading in each language (the navigation link of every page).
ENGLISH, SPANISH = ">Worklist<", ">Lista de trabajo<"


@pytest.fixture
def cobradora(creditor):
    return person("cobradora", "collector", creditor)


def log_in(client: Client, username: str) -> None:
    response = client.post(reverse("workdesk:login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:2000]


def page(client: Client, url: str = "/", **headers: str) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, response.content[:2000]
    return response.content.decode()


def choose(client: Client, language: str, next_url: str = "/worklist/") -> object:
    return client.post(reverse("workdesk:language"), {"language": language, "next": next_url})


def test_spanish_by_default_even_when_the_browser_asks_for_english(client, cobradora):
    assert 'lang="es"' in page(client, reverse("workdesk:login"))
    log_in(client, "cobradora")
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    content = response.content.decode()
    assert SPANISH in content and 'lang="es"' in content
    assert response["Content-Language"] == "es"


def test_a_user_who_chose_english_sees_english_on_a_fresh_browser_after_login(client, cobradora):
    log_in(client, "cobradora")
    response = choose(client, "en")
    assert response.status_code == 302 and response["Location"] == "/worklist/"
    assert response.cookies[COOKIE].value == "en"
    assert Preferences.objects.get(user=cobradora).language == "en"
    assert ENGLISH in page(client)

    fresh = Client()  # another browser: no cookie, no session
    assert 'lang="es"' in page(fresh, reverse("workdesk:login"))
    assert COOKIE not in fresh.cookies
    log_in(fresh, "cobradora")
    response = fresh.get("/")
    content = response.content.decode()
    assert ENGLISH in content and 'lang="en"' in content
    assert response["Content-Language"] == "en"
    # That browser's cookie follows, so its login page speaks English after logging out.
    assert fresh.cookies[COOKIE].value == "en"
    fresh.post(reverse("workdesk:logout"))
    assert 'lang="en"' in page(fresh, reverse("workdesk:login"))


def test_the_saved_language_wins_over_the_cookie_of_the_browser(client, cobradora):
    language_save(cobradora, "es")
    client.cookies[COOKIE] = "en"
    assert 'lang="en"' in page(client, reverse("workdesk:login"))  # anonymous: the cookie
    log_in(client, "cobradora")
    response = client.get("/")
    assert SPANISH in response.content.decode()
    assert response["Content-Language"] == "es"
    assert response.cookies[COOKIE].value == "es"


def test_without_a_saved_language_the_cookie_decides(client, cobradora):
    client.cookies[COOKIE] = "en"
    log_in(client, "cobradora")
    assert ENGLISH in page(client)
    assert not Preferences.objects.filter(user=cobradora).exists()


def test_switching_back_is_saved_too(client, cobradora):
    language_save(cobradora, "en")
    client.force_login(cobradora)
    assert ENGLISH in page(client)
    choose(client, "es")
    assert language_saved(cobradora) == "es"
    assert SPANISH in page(client)


def test_an_anonymous_choice_is_a_cookie_only(client, cobradora):
    response = choose(client, "en", next_url=reverse("workdesk:login"))
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "en"
    assert 'lang="en"' in page(client, reverse("workdesk:login"))
    assert not Preferences.objects.exists()


def test_an_unknown_language_or_a_foreign_next_changes_nothing(client, cobradora):
    client.force_login(cobradora)
    response = choose(client, "fr", next_url="https://evil.example/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert COOKIE not in response.cookies
    assert not Preferences.objects.exists()
    assert client.get(reverse("workdesk:language")).status_code == 405


def test_a_language_no_longer_offered_is_ignored(cobradora):
    Preferences.objects.create(user=cobradora, language="fr")
    assert language_saved(cobradora) is None
    with pytest.raises(ValueError):
        language_save(cobradora, "fr")


def test_the_header_selector_posts_to_the_saving_view(client, cobradora):
    client.force_login(cobradora)
    content = page(client)
    assert f'action="{reverse("workdesk:language")}"' in content
    # Each language named in its own words, whatever the page's language.
    assert '<option value="en" lang="en">English</option>' in content
    assert '<option value="es" lang="es" selected>Español</option>' in content
