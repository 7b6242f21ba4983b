"""A signed-in shopper's password change, email change, and signed-in browsers and apps: through the
pages and the API, with exact codes, audit entries and mails."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import AuditEntry
from portal.account import services as account_services
from portal.models import ApiToken, EmailChange, User, WebSession
from portal.selectors import sha256_hex
from tests.conftest import assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.portal.test_races import at_once, hold_both_after

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase"
FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)


def web_login(user, user_agent: str = FIREFOX_ANDROID, password: str = DEFAULT_PASSWORD) -> Client:
    client = Client(HTTP_USER_AGENT=user_agent)
    response = client.post("/login/", {"email": user.email, "password": password})
    assert response.status_code == 302, response.content
    return client


def app_login(user, label: str = "Mei's phone", password: str = DEFAULT_PASSWORD) -> APIClient:
    client = APIClient()
    response = client.post(
        "/api/v1/auth/login", {"email": user.email, "password": password, "device_label": label}, format="json"
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    return client


def signed_in(client) -> bool:
    return client.get("/profile/").status_code == 200


def mailed_code(message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


# Password change ---------------------------------------------------------------------------------


class TestPasswordChangePage:
    def test_keeps_this_browser_and_signs_out_every_other_browser_and_app(
        self, shopper, django_capture_on_commit_callbacks
    ):
        here = web_login(shopper)
        elsewhere = web_login(shopper, SAFARI_IPHONE)
        app = app_login(shopper)

        with django_capture_on_commit_callbacks(execute=True):
            response = here.post(
                "/profile/password/", {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
            )

        assert response.status_code == 302 and response["Location"] == "/profile/"
        assert signed_in(here)
        assert not signed_in(elsewhere)
        assert_error(app.get("/api/v1/me"), 401, "token_revoked")
        # This browser is still listed (under its new session key); the other is gone.
        assert [session.label for session in WebSession.objects.filter(user=shopper)] == ["Firefox / Android"]
        assert WebSession.objects.get(user=shopper).session_key == here.session.session_key
        shopper.refresh_from_db()
        assert shopper.check_password(NEW_PASSWORD)
        assert [entry.action for entry in AuditEntry.objects.order_by("sequence")][-3:] == [
            "account.password_changed",
            "account.session_ended",
            "account.token_revoked",
        ]
        assert AuditEntry.objects.filter(action="account.token_revoked").get().data == {"reason": "password_changed"}
        assert [message.subject for message in mail.outbox] == ["Your FaceConsent password was changed"]
        assert mail.outbox[0].to == [shopper.email]

    def test_a_wrong_current_password_changes_nothing(self, client, shopper):
        client.force_login(shopper)
        response = client.post("/profile/password/", {"current_password": "wrong", "new_password": NEW_PASSWORD})
        assert response.status_code == 400
        assert "The current password is wrong." in response.content.decode()
        shopper.refresh_from_db()
        assert shopper.check_password(DEFAULT_PASSWORD)

    def test_wrong_current_passwords_are_throttled_like_failed_logins(self, client, shopper, settings):
        client.force_login(shopper)
        for _ in range(settings.LOGIN_FAILURE_LIMIT):
            response = client.post("/profile/password/", {"current_password": "wrong", "new_password": NEW_PASSWORD})
            assert response.status_code == 400
        response = client.post(
            "/profile/password/", {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
        )
        assert response.status_code == 429
        assert "Too many failed logins; try again in a few minutes." in response.content.decode()
        # They count as failed logins: the login form from this address is locked for this account too.
        assert Client().post("/login/", {"email": shopper.email, "password": DEFAULT_PASSWORD}).status_code == 429

    def test_a_weak_new_password_is_explained_on_its_field(self, client, shopper):
        client.force_login(shopper)
        response = client.post("/profile/password/", {"current_password": DEFAULT_PASSWORD, "new_password": "123"})
        assert response.status_code == 400
        assert "This password is too short." in response.content.decode()

    def test_needs_login(self, client):
        assert client.get("/profile/password/")["Location"].startswith("/login/")


class TestPasswordChangeApi:
    def test_keeps_the_token_used_and_revokes_the_others_and_every_browser(self, shopper):
        app = app_login(shopper)
        other_app = app_login(shopper, "Tablet")
        browser = web_login(shopper)

        response = app.post(
            "/api/v1/me/password",
            {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
            format="json",
        )

        assert response.status_code == 200, response.content
        assert response.json() == {"signed_out": 2}
        assert app.get("/api/v1/me").status_code == 200
        assert_error(other_app.get("/api/v1/me"), 401, "token_revoked")
        assert not signed_in(browser)
        assert_error(
            APIClient().post(
                "/api/v1/auth/login", {"email": shopper.email, "password": DEFAULT_PASSWORD}, format="json"
            ),
            401,
            "invalid_credentials",
        )

    def test_wrong_current_password(self, shopper):
        app = app_login(shopper)
        response = app.post(
            "/api/v1/me/password", {"current_password": "nope", "new_password": NEW_PASSWORD}, format="json"
        )
        error = assert_error(response, 400, "current_password_wrong", "The current password is wrong.")
        assert set(error["fields"]) == {"current_password"}

    def test_wrong_current_passwords_answer_429_after_the_login_limit(self, shopper, settings):
        app = app_login(shopper)
        body = {"current_password": "nope", "new_password": NEW_PASSWORD}
        for _ in range(settings.LOGIN_FAILURE_LIMIT):
            assert_error(app.post("/api/v1/me/password", body, format="json"), 400, "current_password_wrong")
        body["current_password"] = DEFAULT_PASSWORD
        response = app.post("/api/v1/me/password", body, format="json")
        assert_error(response, 429, "too_many_login_attempts")
        assert response["Retry-After"]
        shopper.refresh_from_db()
        assert shopper.check_password(DEFAULT_PASSWORD)

    def test_weak_new_password(self, shopper):
        app = app_login(shopper)
        response = app.post(
            "/api/v1/me/password", {"current_password": DEFAULT_PASSWORD, "new_password": "123"}, format="json"
        )
        error = assert_error(response, 400, "password_too_weak")
        assert set(error["fields"]) == {"new_password"}

    def test_needs_login(self, api_client):
        response = api_client.post("/api/v1/me/password", {}, format="json")
        assert response.status_code == 401


# Email change ------------------------------------------------------------------------------------


def request_change(app, django_capture_on_commit_callbacks, new_email="new.address@example.com"):
    with django_capture_on_commit_callbacks(execute=True):
        response = app.post("/api/v1/me/email", {"new_email": new_email, "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 202, response.content
    return response


class TestEmailChangeApi:
    def test_an_unverified_change_leaves_the_old_address_in_use(self, shopper, django_capture_on_commit_callbacks):
        old_email = shopper.email
        app = app_login(shopper)

        response = request_change(app, django_capture_on_commit_callbacks, "New.Address@Example.com")

        body = response.json()
        assert body["email"] == old_email
        assert body["pending_email"] == "new.address@example.com"
        to_new, to_old = mail.outbox
        assert to_new.to == ["new.address@example.com"]
        assert to_new.subject == "Confirm your new FaceConsent email address"
        assert re.search(r"\b\d{6}\b", to_new.body)
        assert to_old.to == [old_email]
        assert "new.address@example.com" in to_old.body
        assert not re.search(r"\b\d{6}\b", to_old.body)  # the code goes to the new address only
        # The old address is still the login and the profile's; the new one logs nobody in.
        assert app.get("/api/v1/me").json()["email"] == old_email
        app_login(shopper)
        new_login = APIClient().post(
            "/api/v1/auth/login", {"email": "new.address@example.com", "password": DEFAULT_PASSWORD}, format="json"
        )
        assert_error(new_login, 401, "invalid_credentials")
        # Unconfirmed until it runs out: then it is no longer pending and the code no longer works.
        EmailChange.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        assert app.get("/api/v1/me/email").json()["pending_email"] is None
        response = app.post("/api/v1/me/email/confirm", {"code": mailed_code(to_new)}, format="json")
        assert_error(response, 400, "email_change_code_expired")
        shopper.refresh_from_db()
        assert shopper.email == old_email

    def test_the_code_makes_the_change_and_the_old_address_is_told(self, shopper, django_capture_on_commit_callbacks):
        old_email = shopper.email
        app = app_login(shopper)
        request_change(app, django_capture_on_commit_callbacks)
        code = mailed_code(mail.outbox[0])
        mail.outbox.clear()

        with django_capture_on_commit_callbacks(execute=True):
            response = app.post("/api/v1/me/email/confirm", {"code": code}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["email"] == "new.address@example.com"
        assert response.json()["email_verified"] is True
        (told,) = mail.outbox
        assert told.to == [old_email]
        assert told.subject == "Your FaceConsent email address was changed"
        assert "new.address@example.com" in told.body
        app_login(User.objects.get(pk=shopper.pk))  # the new address logs in
        old_login = APIClient().post(
            "/api/v1/auth/login", {"email": old_email, "password": DEFAULT_PASSWORD}, format="json"
        )
        assert_error(old_login, 401, "invalid_credentials")
        actions = list(
            AuditEntry.objects.filter(target_type="portal.user", target_id=str(shopper.pk))
            .order_by("sequence")
            .values_list("action", flat=True)
        )
        assert actions[-2:] == ["account.email_change_requested", "account.email_changed"]
        # Neither address is written to the log.
        logged = str(list(AuditEntry.objects.values_list("data", flat=True)))
        assert "new.address" not in logged and old_email not in logged

    def test_a_wrong_code_uses_up_a_try_and_five_end_the_change(
        self, shopper, settings, django_capture_on_commit_callbacks
    ):
        app = app_login(shopper)
        request_change(app, django_capture_on_commit_callbacks)
        code = mailed_code(mail.outbox[0])
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(settings.EMAIL_VERIFICATION_MAX_ATTEMPTS):
            response = app.post("/api/v1/me/email/confirm", {"code": wrong}, format="json")
            assert_error(response, 400, "email_change_code_invalid", "The code is not valid.")
        response = app.post("/api/v1/me/email/confirm", {"code": code}, format="json")
        assert_error(response, 429, "email_change_attempts_exceeded")
        assert User.objects.get(pk=shopper.pk).email == shopper.email

    def test_an_address_another_account_has_is_409_email_taken(self, shopper, django_capture_on_commit_callbacks):
        other = UserFactory()
        app = app_login(shopper)
        response = app.post(
            "/api/v1/me/email", {"new_email": other.email.upper(), "password": DEFAULT_PASSWORD}, format="json"
        )
        error = assert_error(response, 409, "email_taken", "An account with this email already exists.")
        assert set(error["fields"]) == {"new_email"}
        assert not EmailChange.objects.exists()

    def test_an_address_taken_before_the_code_is_entered_is_409_email_taken(
        self, shopper, django_capture_on_commit_callbacks
    ):
        app = app_login(shopper)
        request_change(app, django_capture_on_commit_callbacks)
        UserFactory(email="new.address@example.com")
        response = app.post("/api/v1/me/email/confirm", {"code": mailed_code(mail.outbox[0])}, format="json")
        assert_error(response, 409, "email_taken", "An account with this email already exists.")
        assert User.objects.get(pk=shopper.pk).email == shopper.email

    def test_needs_the_current_password(self, shopper):
        app = app_login(shopper)
        response = app.post("/api/v1/me/email", {"new_email": "x@example.com", "password": "nope"}, format="json")
        assert_error(response, 400, "current_password_wrong")
        assert not EmailChange.objects.exists()

    def test_the_same_address_is_refused(self, shopper):
        app = app_login(shopper)
        response = app.post(
            "/api/v1/me/email", {"new_email": shopper.email, "password": DEFAULT_PASSWORD}, format="json"
        )
        assert_error(response, 400, "email_unchanged")

    def test_a_new_request_replaces_the_old_one_and_cancel_drops_it(self, shopper, django_capture_on_commit_callbacks):
        app = app_login(shopper)
        request_change(app, django_capture_on_commit_callbacks, "first@example.com")
        first_code = mailed_code(mail.outbox[0])
        request_change(app, django_capture_on_commit_callbacks, "second@example.com")
        assert app.get("/api/v1/me/email").json()["pending_email"] == "second@example.com"
        if first_code != mailed_code(mail.outbox[2]):
            response = app.post("/api/v1/me/email/confirm", {"code": first_code}, format="json")
            assert_error(response, 400, "email_change_code_invalid")

        assert app.delete("/api/v1/me/email").status_code == 204

        assert app.get("/api/v1/me/email").json()["pending_email"] is None
        response = app.post("/api/v1/me/email/confirm", {"code": mailed_code(mail.outbox[2])}, format="json")
        assert_error(response, 409, "email_change_not_pending")

    def test_requests_are_limited_per_account(self, shopper, django_capture_on_commit_callbacks):
        app = app_login(shopper)
        for number in range(5):
            request_change(app, django_capture_on_commit_callbacks, f"n{number}@example.com")
        response = app.post(
            "/api/v1/me/email", {"new_email": "n6@example.com", "password": DEFAULT_PASSWORD}, format="json"
        )
        assert_error(response, 429, "email_change_too_often")

    def test_needs_login(self, api_client):
        assert api_client.get("/api/v1/me/email").status_code == 401
        assert api_client.post("/api/v1/me/email/confirm", {"code": "123456"}, format="json").status_code == 401


class TestEmailChangePages:
    def test_request_then_confirm(self, shopper, django_capture_on_commit_callbacks):
        old_email = shopper.email
        browser = web_login(shopper)
        with django_capture_on_commit_callbacks(execute=True):
            response = browser.post(
                "/profile/email/", {"new_email": "web.new@example.com", "password": DEFAULT_PASSWORD}
            )
        assert response.status_code == 302 and response["Location"] == "/profile/email/confirm/"
        page = browser.get("/profile/email/").content.decode()
        assert "web.new@example.com" in page and f"You log in with {old_email}." in page
        code = mailed_code(mail.outbox[0])
        assert "/profile/email/confirm/" in mail.outbox[0].body

        response = browser.post("/profile/email/confirm/", {"code": code})

        assert response.status_code == 302 and response["Location"] == "/profile/"
        assert User.objects.get(pk=shopper.pk).email == "web.new@example.com"
        assert "web.new@example.com" in browser.get("/profile/").content.decode()

    def test_a_wrong_code_is_shown_on_its_field(self, shopper, django_capture_on_commit_callbacks):
        browser = web_login(shopper)
        with django_capture_on_commit_callbacks(execute=True):
            browser.post("/profile/email/", {"new_email": "web.new@example.com", "password": DEFAULT_PASSWORD})
        code = mailed_code(mail.outbox[0])
        response = browser.post("/profile/email/confirm/", {"code": "000000" if code != "000000" else "111111"})
        assert response.status_code == 400
        assert "The code is not valid." in response.content.decode()

    def test_cancel(self, shopper, django_capture_on_commit_callbacks):
        browser = web_login(shopper)
        with django_capture_on_commit_callbacks(execute=True):
            browser.post("/profile/email/", {"new_email": "web.new@example.com", "password": DEFAULT_PASSWORD})
        response = browser.post("/profile/email/cancel/")
        assert response.status_code == 302
        assert "web.new@example.com" not in browser.get("/profile/email/").content.decode()
        assert AuditEntry.objects.filter(action="account.email_change_cancelled").count() == 1

    def test_a_taken_address_is_shown_on_the_field(self, shopper):
        other = UserFactory()
        browser = web_login(shopper)
        response = browser.post("/profile/email/", {"new_email": other.email, "password": DEFAULT_PASSWORD})
        assert response.status_code == 409
        assert "An account with this email already exists." in response.content.decode()


# Signed-in browsers and apps ---------------------------------------------------------------------


class TestSessionsPage:
    def test_lists_browsers_and_apps_with_their_labels_and_says_what_last_use_means(self, shopper):
        browser = web_login(shopper)
        web_login(shopper, SAFARI_IPHONE)
        app_login(shopper, "Mei's phone")

        page = browser.get("/profile/sessions/").content.decode()

        assert "Firefox / Android" in page and "Safari / iPhone" in page and "Mei&#x27;s phone" in page
        assert page.count("data-current") == 1
        assert "“Last used” is the last sign-in or change made there" in page

    def test_reachable_from_the_profile_and_the_menu(self, client, shopper):
        client.force_login(shopper)
        page = client.get("/profile/").content.decode()
        for path in ("/profile/password/", "/profile/email/", "/profile/sessions/"):
            assert f'href="{path}"' in page
        header = page.split("</header>")[0]
        assert 'href="/profile/sessions/"' in header

    def test_a_read_does_not_stamp_the_last_use_a_change_does(self, shopper):
        browser = web_login(shopper)
        app = app_login(shopper)
        long_ago = timezone.now() - timedelta(days=3)
        WebSession.objects.update(last_used_at=long_ago)
        ApiToken.objects.update(last_used_at=long_ago)

        browser.get("/profile/")
        app.get("/api/v1/me")
        assert WebSession.objects.get().last_used_at == long_ago
        assert ApiToken.objects.get().last_used_at == long_ago

        browser.post("/profile/", {"display_name": "Mei", "date_of_birth": "1990-01-01", "language": "en"})
        app.patch("/api/v1/me", {"display_name": "Mei L"}, format="json")
        assert WebSession.objects.get().last_used_at > long_ago
        assert ApiToken.objects.get().last_used_at > long_ago

    def test_sign_out_another_browser(self, shopper):
        browser = web_login(shopper)
        other = web_login(shopper, SAFARI_IPHONE)
        target = WebSession.objects.get(label="Safari / iPhone")

        response = browser.post(f"/profile/sessions/web/{target.pk}/sign-out/")

        assert response.status_code == 302 and response["Location"] == "/profile/sessions/"
        assert not signed_in(other)
        assert signed_in(browser)
        entry = AuditEntry.objects.get(action="account.session_ended")
        assert (entry.target_type, entry.target_id, entry.data) == (
            "portal.websession",
            str(target.pk),
            {"reason": "signed_out"},
        )

    def test_signing_out_this_browser_logs_out(self, shopper):
        browser = web_login(shopper)
        here = WebSession.objects.get()
        response = browser.post(f"/profile/sessions/web/{here.pk}/sign-out/")
        assert response.status_code == 302 and response["Location"] == "/login/"
        assert not signed_in(browser)
        assert not Session.objects.filter(session_key=here.session_key).exists()

    def test_sign_out_an_app(self, shopper):
        browser = web_login(shopper)
        app = app_login(shopper)
        token = ApiToken.objects.get()
        assert browser.post(f"/profile/sessions/app/{token.pk}/sign-out/").status_code == 302
        assert_error(app.get("/api/v1/me"), 401, "token_revoked")
        entry = AuditEntry.objects.get(action="account.token_revoked")
        assert (entry.channel, entry.data) == ("web", {"reason": "signed_out"})

    def test_sign_out_everywhere_else(self, shopper):
        browser = web_login(shopper)
        other = web_login(shopper, SAFARI_IPHONE)
        app = app_login(shopper)
        response = browser.post("/profile/sessions/sign-out-others/")
        assert response.status_code == 302
        assert signed_in(browser)
        assert not signed_in(other)
        assert_error(app.get("/api/v1/me"), 401, "token_revoked")
        assert AuditEntry.objects.filter(action__in=["account.session_ended", "account.token_revoked"]).count() == 2

    def test_someone_elses_browser_or_app_is_not_found(self, shopper, other_shopper):
        browser = web_login(shopper)
        web_login(other_shopper)
        app_login(other_shopper)
        theirs_web = WebSession.objects.get(user=other_shopper)
        theirs_app = ApiToken.objects.get(user=other_shopper)
        assert browser.post(f"/profile/sessions/web/{theirs_web.pk}/sign-out/").status_code == 404
        assert browser.post(f"/profile/sessions/app/{theirs_app.pk}/sign-out/").status_code == 404
        assert WebSession.objects.filter(user=other_shopper).exists()
        assert ApiToken.objects.get(pk=theirs_app.pk).revoked_at is None

    def test_logout_drops_the_browser_from_the_list(self, shopper):
        browser = web_login(shopper)
        browser.post("/logout/")
        assert not WebSession.objects.exists()
        assert AuditEntry.objects.get(action="account.session_ended").data == {"reason": "logout"}


class TestSessionsApi:
    def test_lists_both_kinds_with_the_current_one_marked(self, shopper):
        web_login(shopper)
        app = app_login(shopper, "Mei's phone")

        rows = app.get("/api/v1/me/sessions").json()

        assert sorted((row["kind"], row["label"], row["current"]) for row in rows) == [
            ("app", "Mei's phone", True),
            ("web", "Firefox / Android", False),
        ]
        assert all(row["last_used_at"] and row["created_at"] for row in rows)

    def test_revoking_the_token_used_logs_this_app_out(self, shopper):
        app = app_login(shopper)
        token = ApiToken.objects.get()
        assert app.post(f"/api/v1/me/sessions/app/{token.pk}/revoke").status_code == 204
        assert_error(app.get("/api/v1/me"), 401, "token_revoked")

    def test_revoke_a_browser(self, shopper):
        browser = web_login(shopper)
        app = app_login(shopper)
        session = WebSession.objects.get()
        assert app.post(f"/api/v1/me/sessions/web/{session.pk}/revoke").status_code == 204
        assert not signed_in(browser)
        assert AuditEntry.objects.get(action="account.session_ended").channel == "app"

    def test_revoke_others_keeps_the_token_used(self, shopper):
        browser = web_login(shopper)
        other_app = app_login(shopper, "Tablet")
        app = app_login(shopper)
        response = app.post("/api/v1/me/sessions/revoke-others")
        assert response.json() == {"signed_out": 2}
        assert app.get("/api/v1/me").status_code == 200
        assert_error(other_app.get("/api/v1/me"), 401, "token_revoked")
        assert not signed_in(browser)

    def test_someone_elses_are_not_found(self, shopper, other_shopper):
        web_login(other_shopper)
        app_login(other_shopper)
        app = app_login(shopper)
        theirs_web = WebSession.objects.get(user=other_shopper)
        theirs_app = ApiToken.objects.get(user=other_shopper)
        assert_error(app.post(f"/api/v1/me/sessions/web/{theirs_web.pk}/revoke"), 404, "session_not_found")
        assert_error(app.post(f"/api/v1/me/sessions/app/{theirs_app.pk}/revoke"), 404, "token_not_found")

    def test_needs_login(self, api_client):
        assert api_client.get("/api/v1/me/sessions").status_code == 401
        assert api_client.post("/api/v1/me/sessions/revoke-others").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_two_accounts_confirming_one_new_address_at_once_make_one_change(monkeypatch):
    """Both pass the "is it free?" check (on PostgreSQL; on SQLite the second waits): the unique
    index decides, and the loser answers what the ordinary check answers."""
    shoppers = [UserFactory(), UserFactory()]
    for shopper in shoppers:
        EmailChange.objects.create(
            user=shopper,
            new_email="wanted@example.com",
            code_hash=sha256_hex(f"email-change:{shopper.pk}:wanted@example.com:123456"),
            expires_at=timezone.now() + timedelta(hours=1),
        )
    clients = [app_login(shopper) for shopper in shoppers]
    hold_both_after(monkeypatch, account_services, "_email_free_check")
    turn = iter(clients)
    lock = threading.Lock()

    def confirm():
        with lock:
            client = next(turn)
        return client.post("/api/v1/me/email/confirm", {"code": "123456"}, format="json")

    answers = at_once(confirm)

    assert all(not isinstance(answer, Exception) for answer in answers), answers
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    loser = next(answer for answer in answers if answer.status_code == 409)
    assert_error(loser, 409, "email_taken", "An account with this email already exists.")
    assert User.objects.filter(email="wanted@example.com").count() == 1


def test_sign_up_lists_the_browser_it_signed_in(django_capture_on_commit_callbacks):
    client = Client(HTTP_USER_AGENT=SAFARI_IPHONE)
    response = client.post(
        "/signup/",
        {
            "email": "fresh@example.com",
            "display_name": "Fresh",
            "date_of_birth": "1990-02-03",
            "language": "en",
            "password": "a long enough passphrase",
        },
    )
    assert response.status_code == 302
    (session,) = WebSession.objects.all()
    assert (session.user.email, session.label, session.session_key) == (
        "fresh@example.com",
        "Safari / iPhone",
        client.session.session_key,
    )


@pytest.mark.parametrize("path", ["/api/v1/me/sessions", "/profile/sessions/"])
def test_the_list_costs_the_same_with_one_device_or_many(shopper, path):
    browser = web_login(shopper)
    app = app_login(shopper)
    client = browser if path.startswith("/profile/") else app
    with CaptureQueriesContext(connection) as few:
        assert client.get(path).status_code == 200
    for _ in range(4):
        web_login(shopper, SAFARI_IPHONE)
        app_login(shopper, "Another")
    with CaptureQueriesContext(connection) as many:
        response = client.get(path)
    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
