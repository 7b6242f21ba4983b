"""Which language a page speaks: the header's switch, the profile's language, and login between them."""

import re

import pytest

from core.models import AuditEntry
from tests.conftest import assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def switch_language(client, language, next_url="/profile/"):
    return client.post("/i18n/setlang/", {"language": language, "next": next_url})


def log_in(client, user):
    return client.post("/login/", {"email": user.email, "password": DEFAULT_PASSWORD})


def page_language(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def selected_language(html: str) -> str:
    menu = re.search(r'<select id="language-switch".*?</select>', html, re.S).group(0)
    return re.search(r'<option value="([^"]+)" selected>', menu).group(1)


def test_the_switch_wins_over_the_profile_once_logged_in_and_becomes_the_profile_language(client, shopper):
    client.force_login(shopper)

    response = switch_language(client, "zh-hans")

    assert response.status_code == 302 and response["Location"] == "/profile/"
    html = client.get("/profile/").content.decode()
    assert (page_language(html), selected_language(html)) == ("zh-hans", "zh-hans")
    assert "个人资料" in html  # "My profile"
    shopper.refresh_from_db()
    assert shopper.language == "zh-hans"
    entry = AuditEntry.objects.get(action="account.profile_updated")
    assert (entry.channel, entry.data) == ("web", {"fields": ["language"]})


def test_the_switch_back_sticks_too(client, shopper):
    shopper.language = "zh-hans"
    shopper.save(update_fields=["language"])
    client.force_login(shopper)

    switch_language(client, "en")

    html = client.get("/consents/").content.decode()
    assert (page_language(html), selected_language(html)) == ("en", "en")
    shopper.refresh_from_db()
    assert shopper.language == "en"


def test_a_choice_made_before_login_survives_login_and_updates_the_profile(client, shopper):
    switch_language(client, "zh-hans", next_url="/login/")
    assert page_language(client.get("/login/").content.decode()) == "zh-hans"

    response = log_in(client, shopper)

    assert response.status_code == 302 and response["Location"] == "/profile/"
    assert response.cookies["django_language"].value == "zh-hans"
    html = client.get("/profile/").content.decode()
    assert (page_language(html), selected_language(html)) == ("zh-hans", "zh-hans")
    shopper.refresh_from_db()
    assert shopper.language == "zh-hans"
    assert AuditEntry.objects.get(action="account.profile_updated").data == {"fields": ["language"]}


def test_without_a_choice_in_this_browser_the_profile_language_applies_at_login(client, shopper):
    shopper.language = "zh-hans"
    shopper.save(update_fields=["language"])
    # A cookie left from an earlier visit is not a choice made now.
    client.cookies["django_language"] = "en"

    response = log_in(client, shopper)

    assert response.cookies["django_language"].value == "zh-hans"
    html = client.get("/profile/").content.decode()
    assert (page_language(html), selected_language(html)) == ("zh-hans", "zh-hans")
    shopper.refresh_from_db()
    assert shopper.language == "zh-hans"
    assert not AuditEntry.objects.filter(action="account.profile_updated").exists()


def test_a_choice_before_login_counts_once_not_for_a_later_login(client, shopper):
    switch_language(client, "zh-hans", next_url="/login/")
    log_in(client, shopper)
    client.post("/logout/")
    shopper.language = "en"  # changed since, e.g. on another device
    shopper.save(update_fields=["language"])

    log_in(client, shopper)

    shopper.refresh_from_db()
    assert shopper.language == "en"
    assert page_language(client.get("/profile/").content.decode()) == "en"


def test_an_unknown_language_changes_nothing(client, shopper):
    client.force_login(shopper)

    response = switch_language(client, "xx")

    assert response.status_code == 302
    shopper.refresh_from_db()
    assert shopper.language == "en"
    assert not AuditEntry.objects.filter(action="account.profile_updated").exists()


def test_one_shopper_switching_leaves_another_shopper_in_their_language(client, shopper):
    other = UserFactory(language="en")
    client.force_login(shopper)
    switch_language(client, "zh-hans")
    client.post("/logout/")

    log_in(client, other)

    other.refresh_from_db()
    assert other.language == "en"
    assert page_language(client.get("/profile/").content.decode()) == "en"


def test_sign_up_keeps_the_language_chosen_on_its_form(client):
    switch_language(client, "zh-hans", next_url="/signup/")
    html = client.get("/signup/").content.decode()
    assert re.search(r'<option value="zh-hans" selected>', html.split('name="language"', 1)[1])

    response = client.post(
        "/signup/",
        {
            "email": "new@example.com",
            "display_name": "New",
            "date_of_birth": "1988-03-14",
            "language": "en",
            "password": "a long enough passphrase",
        },
    )

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
    assert page_language(client.get("/profile/").content.decode()) == "en"


def test_the_language_cookie_set_at_login_is_secure_where_the_site_is(client, shopper, settings):
    """Login and the profile set the language cookie themselves: with the attributes Django's own
    switch gives it, so on an HTTPS site it is `Secure` like the session's."""
    settings.LANGUAGE_COOKIE_SECURE = True
    response = log_in(client, shopper)
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == shopper.language
    assert cookie["secure"] is True and cookie["samesite"] == "Lax"


class TestApiErrorsSpeakTheProfilesLanguage:
    """A bearer-token client is known only once DRF has authenticated it, after every middleware."""

    def test_without_accept_language_an_error_follows_the_profile(self, api_client, token_for):
        token = token_for(UserFactory(language="zh-hans"))
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = api_client.post("/api/v1/consents", {"purpose": 7}, format="json")
        assert_error(response, 400, "invalid", "部分字段填写有误。")  # "Some fields are not valid."
        assert response["Content-Language"] == "zh-hans"
        not_found = api_client.get("/api/v1/enrollments/00000000-0000-0000-0000-000000000000")
        assert not_found.status_code == 404 and not_found.json()["error"]["message"] != "Not found."

    def test_an_accept_language_header_wins_over_the_profile(self, api_client, token_for):
        token = token_for(UserFactory(language="zh-hans"))
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = api_client.post("/api/v1/consents", {"purpose": 7}, format="json", HTTP_ACCEPT_LANGUAGE="en")
        assert_error(response, 400, "invalid", "Some fields are not valid.")

    def test_an_english_profile_hears_english(self, api_client, token_for):
        token = token_for(UserFactory(language="en"))
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert_error(
            api_client.post("/api/v1/consents", {}, format="json"), 400, "invalid", "Some fields are not valid."
        )
