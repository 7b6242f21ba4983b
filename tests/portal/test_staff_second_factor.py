"""S1: staff sign in with a password and a code from an authenticator app (django-otp), with ten one-time
backup codes. Until the second factor is set up and given, a staff member reaches nothing but its pages:
not the admin, not the door simulator, not a shopper's page, not the API (decision 0035)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.models import AuditEntry
from tests.conftest import assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.staff import app_code

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("S1")]

SETUP = "/staff/second-factor/setup/"
VERIFY = "/staff/second-factor/"
# What a staff member could reach once past the second factor, and must not before it.
GUARDED = ["/admin/", "/admin/stores/operator/", "/admin/core/auditentry/", "/simulator/", "/profile/", "/footprint/"]


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def _simulator_on(settings):
    settings.ENTRANCE_SIMULATOR = True


def password_login(staff, client=None) -> Client:
    client = client or Client()
    response = client.post("/admin/login/", {"username": staff.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.content
    return client


def set_up_second_factor(client, staff, *, next_path: str = "/admin/") -> list[str]:
    """As a new staff member does after their password: scan the key, give the app's first code, keep the
    backup codes. Returns the backup codes."""
    sent = client.get(next_path)
    assert sent.status_code == 302 and sent["Location"].startswith(SETUP), sent
    page = client.get(sent["Location"])
    assert page.status_code == 200
    key = re.search(r'<code class="key">([A-Z2-7 ]+)</code>', page.content.decode()).group(1)
    assert TOTPDevice.objects.get(user=staff, confirmed=False).bin_key == __import__("base64").b32decode(
        key.replace(" ", "")
    )
    shown = client.post(sent["Location"], {"code": app_code(key)})
    assert shown.status_code == 200, shown.content.decode()
    codes = re.findall(r"<li><code>(\d{8})</code></li>", shown.content.decode())
    assert len(codes) == 10
    return codes


class TestWithoutTheSecondFactor:
    @pytest.mark.parametrize("path", GUARDED)
    def test_a_staff_member_with_a_password_only_is_sent_to_set_it_up(self, staff, path):
        client = password_login(staff)
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"{SETUP}?next={path.replace('/', '%2F')}"

    def test_the_api_answers_403_second_factor_required(self, staff):
        client = password_login(staff)
        assert_error(client.get("/api/v1/me"), 403, "second_factor_required")

    def test_nor_can_the_password_buy_an_app_token(self, staff, api_client):
        answer = api_client.post(
            "/api/v1/auth/login", {"email": staff.email, "password": DEFAULT_PASSWORD}, format="json"
        )
        assert_error(answer, 403, "staff_app_sign_in_refused")

    def test_the_setup_page_and_logging_out_stay_reachable(self, staff):
        client = password_login(staff)
        assert client.get(SETUP).status_code == 200
        assert client.post("/logout/").status_code == 302
        assert client.get("/admin/").status_code == 302 and "/admin/login/" in client.get("/admin/")["Location"]

    def test_a_wrong_first_code_confirms_nothing(self, staff, settings):
        settings.OTP_TOTP_THROTTLE_FACTOR = 0
        client = password_login(staff)
        client.get(SETUP)
        device = TOTPDevice.objects.get(user=staff)
        wrong = f"{(int(app_code(device.bin_key)) + 1) % 10**6:06d}"
        response = client.post(SETUP, {"code": wrong})
        assert response.status_code == 400 and "This code is not right" in response.content.decode()
        device.refresh_from_db()
        assert not device.confirmed
        assert client.get("/admin/").status_code == 302

    def test_a_shopper_has_no_setup_page(self, client):
        client.force_login(UserFactory())
        assert client.get(SETUP)["Location"] == "/profile/"


class TestSetUp:
    def test_the_first_code_confirms_the_app_gives_ten_backup_codes_and_opens_the_admin(self, staff):
        client = password_login(staff)
        codes = set_up_second_factor(client, staff)
        assert len(set(codes)) == 10
        assert client.get("/admin/").status_code == 200
        assert client.get("/simulator/").status_code == 200
        actions = list(AuditEntry.objects.filter(action__startswith="staff.").values_list("action", flat=True))
        assert actions == ["staff.second_factor_started", "staff.second_factor_confirmed"]
        assert AuditEntry.objects.get(action="staff.second_factor_confirmed").data == {"backup_codes": 10}
        # The codes are stored by django-otp only; the log holds none of them.
        log = " ".join(str(row) for row in AuditEntry.objects.values_list("data", flat=True))
        assert not any(code in log for code in codes)


class TestEachSignIn:
    def test_a_code_from_the_app_lets_in_and_a_replayed_one_does_not(self, staff, settings):
        settings.OTP_TOTP_THROTTLE_FACTOR = 0
        first = password_login(staff)
        set_up_second_factor(first, staff)
        device = TOTPDevice.objects.get(user=staff, confirmed=True)
        used = app_code(device.bin_key)  # the step the setup used: accepted once, never again

        later = password_login(staff)
        assert later.get("/admin/")["Location"] == f"{VERIFY}?next=%2Fadmin%2F"
        replay = later.post(f"{VERIFY}?next=/admin/", {"code": used})
        assert replay.status_code == 400 and "used already" in replay.content.decode()
        assert later.get("/admin/").status_code == 302

        fresh = later.post(f"{VERIFY}?next=/admin/", {"code": app_code(device.bin_key, steps_ahead=1)})
        assert fresh.status_code == 302 and fresh["Location"] == "/admin/"
        assert later.get("/admin/").status_code == 200

    def test_a_backup_code_works_once(self, staff, settings):
        settings.OTP_TOTP_THROTTLE_FACTOR = 0
        settings.OTP_STATIC_THROTTLE_FACTOR = 0
        codes = set_up_second_factor(password_login(staff), staff)

        once = password_login(staff)
        assert once.post(VERIFY, {"code": codes[0]}).status_code == 302
        assert once.get("/admin/").status_code == 200
        assert AuditEntry.objects.get(action="staff.backup_code_used").data == {"left": 9}

        twice = password_login(staff)
        assert twice.post(VERIFY, {"code": codes[0]}).status_code == 400
        assert twice.get("/admin/").status_code == 302
        assert StaticToken.objects.filter(device__user=staff).count() == 9

    def test_wrong_codes_are_throttled(self, staff, settings):
        settings.OTP_TOTP_THROTTLE_FACTOR = 1  # django-otp's default: 1 s, 2 s, 4 s ... after each failure
        set_up_second_factor(password_login(staff), staff)
        device = TOTPDevice.objects.get(user=staff, confirmed=True)
        client = password_login(staff)
        wrong = f"{(int(app_code(device.bin_key)) + 1) % 10**6:06d}"
        assert client.post(VERIFY, {"code": wrong}).status_code == 400
        right_too_soon = client.post(VERIFY, {"code": app_code(device.bin_key, steps_ahead=1)})
        assert right_too_soon.status_code == 429
        assert "Too many wrong codes" in right_too_soon.content.decode()
        assert client.get("/admin/").status_code == 302
