"""The shopper account pages, through Django's test client."""

import re

import pytest
from django.core import mail

from core.models import AuditEntry
from portal.models import User
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def signup_data(**overrides):
    return {
        "email": "web@example.com",
        "display_name": "Web Shopper",
        "date_of_birth": "1988-02-03",
        "language": "en",
        "password": "a long enough passphrase",
        **overrides,
    }


@pytest.mark.requirement("C1")
def test_signup_page_renders_without_any_consent_box(client):
    response = client.get("/signup/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Create your account" in html
    # Consent to face recognition is its own step, never part of sign-up.
    assert 'type="checkbox"' not in html


def test_signup_logs_in_and_asks_for_the_code(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/signup/", signup_data())
    assert response.status_code == 302
    assert response["Location"] == "/verify-email/?email=web@example.com"
    code = re.search(r"\b(\d{6})\b", mail.outbox[0].body).group(1)

    response = client.post("/verify-email/", {"email": "web@example.com", "code": code})

    assert response.status_code == 302 and response["Location"] == "/profile/"
    assert User.objects.get(email="web@example.com").email_verified
    assert AuditEntry.objects.get(action="account.registered").channel == "web"


def test_signup_shows_errors_on_the_fields(client):
    response = client.post("/signup/", signup_data(email="bad", password="123"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert not User.objects.exists()


def test_weak_password_is_explained(client):
    response = client.post("/signup/", signup_data(password="password123"))
    assert response.status_code == 400
    assert "This password is too common." in response.content.decode()


def test_login_and_logout(client, shopper):
    response = client.post("/login/", {"email": shopper.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/profile/"
    assert client.get("/profile/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/profile/")["Location"].startswith("/login/")


def test_login_does_not_redirect_elsewhere(client, shopper):
    response = client.post("/login/?next=https://evil.example/", {"email": shopper.email, "password": DEFAULT_PASSWORD})
    assert response["Location"] == "/profile/"


def test_login_throttle_on_the_web_too(client, shopper, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert client.post("/login/", {"email": shopper.email, "password": "nope"}).status_code == 400
    response = client.post("/login/", {"email": shopper.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


def test_password_reset_pages(client, shopper, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/password-reset/", {"email": shopper.email})
    assert response.status_code == 200 and "Check your mail" in response.content.decode()
    link = re.search(r"(/password-reset/[^/]+/[^/]+/)", mail.outbox[0].body).group(1)

    assert client.get(link).status_code == 200
    response = client.post(link, {"new_password": "another fine passphrase"})

    assert response.status_code == 302 and response["Location"] == "/login/"
    shopper.refresh_from_db()
    assert shopper.check_password("another fine passphrase")
    assert client.get(link).status_code == 400


def test_profile_update_switches_the_language(client, shopper):
    client.force_login(shopper)
    response = client.post(
        "/profile/", {"display_name": "Renamed", "date_of_birth": "1990-01-01", "language": "zh-hans"}
    )
    assert response.status_code == 302
    page = client.get("/profile/").content.decode()
    assert "个人资料" in page  # "My profile" in Simplified Chinese
    shopper.refresh_from_db()
    assert (shopper.display_name, shopper.language) == ("Renamed", "zh-hans")


def test_pages_in_simplified_chinese(client):
    response = client.get("/signup/", headers={"accept-language": "zh-hans"})
    html = response.content.decode()
    assert 'lang="zh-hans"' in html
    assert "创建账号" in html or "注册" in html


def test_profile_needs_login(client):
    response = client.get("/profile/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/profile/"


def test_unknown_page_is_a_page_not_json(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_date_of_birth_fills_its_date_field_in_every_language(client, shopper, language):
    """A date field takes yyyy-mm-dd only: a Chinese date format left it empty on the profile page."""
    shopper.language = language
    shopper.save(update_fields=["language"])
    client.force_login(shopper)
    html = client.get("/profile/").content.decode()
    assert re.search(r'<input type="date" name="date_of_birth" value="1990-01-01"', html)
    response = client.post("/profile/", {"display_name": "Same", "date_of_birth": "1990-01-01", "language": language})
    assert response.status_code == 302
