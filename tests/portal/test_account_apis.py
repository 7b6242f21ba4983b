"""The shopper account API: happy paths, permissions and bad input, with exact codes."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from core.models import AuditEntry
from portal.models import ApiToken, EmailVerification, User
from tests.conftest import assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
VERIFY = "/api/v1/auth/verify-email"
RESEND = "/api/v1/auth/verify-email/resend"
LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
RESET = "/api/v1/auth/password-reset"
RESET_CONFIRM = "/api/v1/auth/password-reset/confirm"
ME = "/api/v1/me"


def registration(**overrides):
    return {
        "email": "Mei.Lin@Example.com",
        "password": "a long enough passphrase",
        "display_name": "Mei Lin",
        "date_of_birth": "1995-04-12",
        "language": "zh-hans",
        **overrides,
    }


def mailed_code(message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def register(api_client, django_capture_on_commit_callbacks, **overrides):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(REGISTER, registration(**overrides), format="json")
    assert response.status_code == 201, response.content
    return response


class TestRegister:
    def test_creates_the_account_mails_a_code_and_audits(self, api_client, django_capture_on_commit_callbacks):
        response = register(api_client, django_capture_on_commit_callbacks)

        body = response.json()
        assert body["email"] == "mei.lin@example.com"
        assert body["display_name"] == "Mei Lin"
        assert body["date_of_birth"] == "1995-04-12"
        assert body["language"] == "zh-hans"
        assert body["email_verified"] is False
        assert "password" not in body
        user = User.objects.get(email="mei.lin@example.com")
        # The public id, never the row id: a sequential id would count and name accounts.
        assert body["id"] == str(user.public_id)
        assert user.check_password("a long enough passphrase")
        assert len(mail.outbox) == 1 and mail.outbox[0].to == ["mei.lin@example.com"]
        assert len(mailed_code(mail.outbox[0])) == 6
        # The mail is in the shopper's language.
        assert "验证码" in mail.outbox[0].subject
        entry = AuditEntry.objects.get(action="account.registered")
        assert (entry.target_type, entry.target_id, entry.channel) == ("portal.user", str(user.pk), "app")

    @pytest.mark.requirement("C8")
    def test_missing_fields_are_each_named(self, api_client):
        error = assert_error(api_client.post(REGISTER, {}, format="json"), 400, "invalid", "Some fields are not valid.")
        assert set(error["fields"]) == {"email", "password", "display_name", "date_of_birth"}
        assert error["fields"]["email"] == [{"code": "required", "message": "This field is required."}]

    def test_bad_email(self, api_client):
        error = assert_error(
            api_client.post(REGISTER, registration(email="not-an-email"), format="json"), 400, "invalid"
        )
        assert error["fields"]["email"] == [{"code": "invalid", "message": "Enter a valid email address."}]

    def test_weak_password(self, api_client):
        response = api_client.post(REGISTER, registration(password="12345678"), format="json")
        error = assert_error(response, 400, "password_too_weak", "The password is too weak.")
        messages = [item["message"] for item in error["fields"]["password"]]
        assert "This password is too common." in messages
        assert not User.objects.exists()

    def test_email_taken_regardless_of_case(self, api_client, django_capture_on_commit_callbacks):
        register(api_client, django_capture_on_commit_callbacks)
        response = api_client.post(REGISTER, registration(email="MEI.LIN@example.COM"), format="json")
        assert_error(response, 409, "email_taken", "An account with this email already exists.")
        assert User.objects.count() == 1

    def test_date_of_birth_in_the_future(self, api_client):
        tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
        response = api_client.post(REGISTER, registration(date_of_birth=tomorrow), format="json")
        assert_error(response, 400, "invalid_date_of_birth", "The date of birth is in the future.")

    def test_unknown_language(self, api_client):
        error = assert_error(api_client.post(REGISTER, registration(language="fr"), format="json"), 400, "invalid")
        assert error["fields"]["language"][0]["code"] == "invalid_choice"

    def test_malformed_json(self, api_client):
        response = api_client.post(REGISTER, '{"email": "a@b.c", ', content_type="application/json")
        assert_error(response, 400, "malformed_json", "The request body is not valid JSON.")

    def test_wrong_content_type(self, api_client):
        response = api_client.post(REGISTER, "email=a@b.c", content_type="text/plain")
        assert_error(response, 415, "unsupported_media_type", 'Unsupported media type "text/plain" in request.')

    def test_form_encoded_body_is_refused(self, api_client):
        response = api_client.post(REGISTER, registration())  # multipart, not JSON
        assert_error(response, 415, "unsupported_media_type")

    def test_json_that_is_not_an_object(self, api_client):
        error = assert_error(api_client.post(REGISTER, [1, 2], format="json"), 400, "invalid")
        assert error["fields"]["non_field_errors"][0]["code"] == "invalid"


class TestVerifyEmail:
    def test_right_code_verifies_and_audits(self, api_client, django_capture_on_commit_callbacks):
        register(api_client, django_capture_on_commit_callbacks)
        code = mailed_code(mail.outbox[0])

        response = api_client.post(VERIFY, {"email": "mei.lin@example.com", "code": code}, format="json")

        assert response.status_code == 200
        assert response.json() == {"email_verified": True}  # never the profile: the caller is not logged in
        assert User.objects.get().email_verified_at is not None
        assert AuditEntry.objects.filter(action="account.email_verified").count() == 1

    def test_wrong_code_counts_and_locks_after_five(self, api_client, django_capture_on_commit_callbacks):
        register(api_client, django_capture_on_commit_callbacks)
        code = mailed_code(mail.outbox[0])
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(5):
            response = api_client.post(VERIFY, {"email": "mei.lin@example.com", "code": wrong}, format="json")
            error = assert_error(response, 400, "verification_code_invalid", "The code is not valid.")
            assert error["fields"]["code"][0]["message"] == "The code is not valid."
        assert EmailVerification.objects.get().attempts == 5
        # Even the right code is refused now: a new one must be asked for.
        response = api_client.post(VERIFY, {"email": "mei.lin@example.com", "code": code}, format="json")
        assert_error(response, 429, "verification_attempts_exceeded", "Too many wrong codes; ask for a new one.")

    def test_expired_code(self, api_client, django_capture_on_commit_callbacks):
        register(api_client, django_capture_on_commit_callbacks)
        EmailVerification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        response = api_client.post(
            VERIFY, {"email": "mei.lin@example.com", "code": mailed_code(mail.outbox[0])}, format="json"
        )
        assert_error(response, 400, "verification_code_expired", "The code has expired; ask for a new one.")

    def test_resend_replaces_the_old_code(self, api_client, django_capture_on_commit_callbacks):
        register(api_client, django_capture_on_commit_callbacks)
        old_code = mailed_code(mail.outbox[0])
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(RESEND, {"email": "mei.lin@example.com"}, format="json")
        assert response.status_code == 202
        new_code = mailed_code(mail.outbox[1])
        if new_code != old_code:
            response = api_client.post(VERIFY, {"email": "mei.lin@example.com", "code": old_code}, format="json")
            assert_error(response, 400, "verification_code_invalid")
        response = api_client.post(VERIFY, {"email": "mei.lin@example.com", "code": new_code}, format="json")
        assert response.status_code == 200

    def test_each_code_sent_and_each_wrong_code_is_audited_without_the_code(
        self, api_client, django_capture_on_commit_callbacks
    ):
        register(api_client, django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            api_client.post(RESEND, {"email": "mei.lin@example.com"}, format="json")
        code = mailed_code(mail.outbox[1])
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        api_client.post(VERIFY, {"email": "mei.lin@example.com", "code": wrong}, format="json")

        user = User.objects.get()
        entries = list(AuditEntry.objects.exclude(action="account.registered").order_by("sequence"))
        assert [(entry.action, entry.channel, entry.target_id) for entry in entries] == [
            ("account.verification_code_sent", "app", str(user.pk)),
            ("account.verification_code_sent", "app", str(user.pk)),
            ("account.verification_code_refused", "app", str(user.pk)),
        ]
        assert entries[1].data == {"expires_at": EmailVerification.objects.latest("created_at").expires_at.isoformat()}
        assert entries[2].data == {"attempts": 1}
        for entry in entries:
            assert code not in str(entry.data) and wrong not in str(entry.data)

    def test_resend_twice_in_a_minute_is_throttled(self, api_client, django_capture_on_commit_callbacks):
        register(api_client, django_capture_on_commit_callbacks)
        assert api_client.post(RESEND, {"email": "mei.lin@example.com"}, format="json").status_code == 202
        response = api_client.post(RESEND, {"email": "mei.lin@example.com"}, format="json")
        assert_error(response, 429, "verification_resend_too_soon")
        assert response["Retry-After"] == "60"

    def test_resend_for_unknown_address_says_nothing(self, api_client, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(RESEND, {"email": "nobody@example.com"}, format="json")
        assert response.status_code == 202
        assert mail.outbox == []
        assert not AuditEntry.objects.exists()

    def test_code_must_be_six_digits(self, api_client):
        response = api_client.post(VERIFY, {"email": "a@example.com", "code": "12ab"}, format="json")
        error = assert_error(response, 400, "invalid")
        assert error["fields"]["code"] == [{"code": "invalid", "message": "Enter the six-digit code."}]


class TestLoginLogout:
    def test_login_gives_an_expiring_token_that_works(self, api_client, shopper):
        response = api_client.post(LOGIN, {"email": shopper.email.upper(), "password": DEFAULT_PASSWORD}, format="json")
        assert response.status_code == 200
        body = response.json()
        assert body["token"].startswith("fc_")
        assert body["user"]["email"] == shopper.email
        token = ApiToken.objects.get(user=shopper)
        assert token.key_hash != body["token"]  # only the hash is stored
        assert token.expires_at > timezone.now() + timedelta(days=29)

        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
        assert api_client.get(ME).json()["email"] == shopper.email

    def test_wrong_password(self, api_client, shopper):
        response = api_client.post(LOGIN, {"email": shopper.email, "password": "wrong"}, format="json")
        assert_error(response, 401, "invalid_credentials", "The email or password is wrong.")

    def test_unknown_email_answers_like_a_wrong_password(self, api_client, db):
        response = api_client.post(LOGIN, {"email": "ghost@example.com", "password": "whatever"}, format="json")
        assert_error(response, 401, "invalid_credentials", "The email or password is wrong.")

    def test_failed_logins_are_throttled(self, api_client, shopper, settings):
        for _ in range(settings.LOGIN_FAILURE_LIMIT):
            response = api_client.post(LOGIN, {"email": shopper.email, "password": "wrong"}, format="json")
            assert response.status_code == 401
        # Now even the right password waits: the address is under attack.
        response = api_client.post(LOGIN, {"email": shopper.email, "password": DEFAULT_PASSWORD}, format="json")
        assert_error(response, 429, "too_many_login_attempts", "Too many failed logins; try again in a few minutes.")
        assert int(response["Retry-After"]) == settings.LOGIN_FAILURE_WINDOW.total_seconds()
        assert not ApiToken.objects.exists()

    def test_logout_revokes_only_that_token(self, api_client, shopper, token_for):
        first, second = token_for(shopper), token_for(shopper)
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {first}")
        assert api_client.post(LOGOUT).status_code == 204
        assert_error(api_client.get(ME), 401, "token_revoked", "The token has been revoked; log in again.")
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {second}")
        assert api_client.get(ME).status_code == 200
        assert AuditEntry.objects.filter(action="account.token_revoked").count() == 1

    def test_expired_token(self, api_client, shopper, token_for):
        key = token_for(shopper)
        ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        assert_error(api_client.get(ME), 401, "token_expired", "The token has expired; log in again.")

    def test_unknown_token(self, api_client, db):
        api_client.credentials(HTTP_AUTHORIZATION="Bearer fc_made-up")
        response = api_client.get(ME)
        assert_error(response, 401, "token_invalid", "The token is not valid.")
        assert response["WWW-Authenticate"] == "Bearer"

    def test_malformed_authorization_header(self, api_client, db):
        api_client.credentials(HTTP_AUTHORIZATION="Bearer two parts")
        assert_error(api_client.get(ME), 401, "token_malformed")

    def test_no_credentials(self, api_client, db):
        response = api_client.get(ME)
        assert_error(response, 401, "not_authenticated", "Authentication credentials were not provided.")

    def test_disabled_account(self, api_client, shopper, token_for):
        key = token_for(shopper)
        User.objects.filter(pk=shopper.pk).update(is_active=False)
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        assert_error(api_client.get(ME), 401, "account_disabled")


class TestPasswordReset:
    def request_link(self, api_client, django_capture_on_commit_callbacks, email):
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(RESET, {"email": email}, format="json")
        assert response.status_code == 202
        uid, token = re.search(r"/password-reset/([^/]+)/([^/]+)/", mail.outbox[-1].body).groups()
        return uid, token

    def test_reset_sets_the_password_and_signs_out_every_app(
        self, api_client, shopper, token_for, django_capture_on_commit_callbacks
    ):
        old_token = token_for(shopper)
        uid, token = self.request_link(api_client, django_capture_on_commit_callbacks, shopper.email)

        response = api_client.post(
            RESET_CONFIRM, {"uid": uid, "token": token, "new_password": "a brand new passphrase"}, format="json"
        )

        assert response.status_code == 204 and response.content == b""  # no profile for a caller not logged in
        assert token_for(shopper, "a brand new passphrase")
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {old_token}")
        assert_error(api_client.get(ME), 401, "token_revoked")
        actions = list(AuditEntry.objects.filter(target_id=str(shopper.pk)).values_list("action", flat=True))
        assert "account.password_reset_requested" in actions and "account.password_reset" in actions

    def test_a_link_works_once(self, api_client, shopper, django_capture_on_commit_callbacks):
        uid, token = self.request_link(api_client, django_capture_on_commit_callbacks, shopper.email)
        payload = {"uid": uid, "token": token, "new_password": "a brand new passphrase"}
        assert api_client.post(RESET_CONFIRM, payload, format="json").status_code == 204
        response = api_client.post(RESET_CONFIRM, payload, format="json")
        assert_error(response, 400, "reset_link_invalid", "This reset link is not valid or has already been used.")

    def test_weak_new_password(self, api_client, shopper, django_capture_on_commit_callbacks):
        uid, token = self.request_link(api_client, django_capture_on_commit_callbacks, shopper.email)
        response = api_client.post(RESET_CONFIRM, {"uid": uid, "token": token, "new_password": "short"}, format="json")
        assert_error(response, 400, "password_too_weak")
        shopper.refresh_from_db()
        assert shopper.check_password(DEFAULT_PASSWORD)

    def test_garbage_link(self, api_client, db):
        response = api_client.post(
            RESET_CONFIRM, {"uid": "!!", "token": "nope", "new_password": "a brand new passphrase"}, format="json"
        )
        assert_error(response, 400, "reset_link_invalid")

    def test_unknown_address_gets_the_same_answer_and_no_mail(self, api_client, db, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(RESET, {"email": "ghost@example.com"}, format="json")
        assert response.status_code == 202
        assert mail.outbox == []


class TestProfile:
    def test_read_and_update(self, api_client, shopper):
        api_client.force_authenticate(shopper)
        assert api_client.get(ME).json()["display_name"] == shopper.display_name

        response = api_client.patch(ME, {"display_name": "New Name", "language": "zh-hans"}, format="json")

        assert response.status_code == 200
        assert response.json()["display_name"] == "New Name"
        shopper.refresh_from_db()
        assert (shopper.display_name, shopper.language) == ("New Name", "zh-hans")
        entry = AuditEntry.objects.get(action="account.profile_updated")
        assert entry.data == {"fields": ["display_name", "language"]}

    def test_email_cannot_be_changed_here(self, api_client, shopper):
        api_client.force_authenticate(shopper)
        error = assert_error(api_client.patch(ME, {"email": "other@example.com"}, format="json"), 400, "invalid")
        assert error["fields"]["email"] == [{"code": "read_only", "message": "This field cannot be changed here."}]

    def test_bad_values(self, api_client, shopper):
        api_client.force_authenticate(shopper)
        error = assert_error(api_client.patch(ME, {"date_of_birth": "12/31/1990"}, format="json"), 400, "invalid")
        assert error["fields"]["date_of_birth"][0]["code"] == "invalid"

    def test_a_token_sees_only_its_own_profile(self, api_client, shopper, other_shopper, token_for):
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(other_shopper)}")
        assert api_client.get(ME).json()["email"] == other_shopper.email
        api_client.patch(ME, {"display_name": "Changed"}, format="json")
        shopper.refresh_from_db()
        assert shopper.display_name != "Changed"


class TestApiConventions:
    def test_unknown_api_url_answers_json(self, client, db):
        response = client.get("/api/v1/nothing-here")
        assert_error(response, 404, "not_found", "Not found.")

    def test_wrong_method(self, api_client, db):
        response = api_client.get(REGISTER)
        assert_error(response, 405, "method_not_allowed", 'Method "GET" not allowed.')

    def test_anonymous_endpoints_are_throttled(self, api_client, db, settings):
        from portal.throttling import AnonymousAccountThrottle

        original = AnonymousAccountThrottle.THROTTLE_RATES
        AnonymousAccountThrottle.THROTTLE_RATES = {**original, "anonymous_account": "2/hour"}
        try:
            for number in range(2):
                response = api_client.post(RESET, {"email": f"{number}@example.com"}, format="json")
                assert response.status_code == 202
            response = api_client.post(RESET, {"email": "a@example.com"}, format="json")
            assert_error(response, 429, "throttled")
            assert int(response["Retry-After"]) > 0
        finally:
            AnonymousAccountThrottle.THROTTLE_RATES = original


def test_user_factory_makes_usable_accounts(db):
    user = UserFactory()
    assert user.check_password(DEFAULT_PASSWORD)
