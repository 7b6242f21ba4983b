"""Security headers: a strict Content-Security-Policy and no inline script on every page, the camera
only on the door simulator, and `Cache-Control: no-store` on everything Django answers."""

import re
from html.parser import HTMLParser
from uuid import uuid4

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from consent.services import consent_give
from tests.conftest import staff_signed_in
from tests.factories import DEFAULT_PASSWORD, OperatorFactory, UserFactory, published_notice

pytestmark = pytest.mark.django_db

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
DENIED_FEATURES = (
    "accelerometer",
    "browsing-topics",
    "camera",
    "clipboard-read",
    "display-capture",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "local-fonts",
    "magnetometer",
    "microphone",
    "midi",
    "otp-credentials",
    "payment",
    "publickey-credentials-create",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "window-management",
    "xr-spatial-tracking",
)


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def permissions(header: str) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in header.split(","))


def cache_directives(response) -> set[str]:
    return {part.strip().split("=")[0] for part in response.get("Cache-Control", "").split(",") if part.strip()}


class InlineCode(HTMLParser):
    """Everything a strict policy would block in a page: inline scripts, handlers, styles."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self.script_sources: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name == "style":
                self.found.append(f"<{tag} style=...>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}=javascript:...>")
        if tag == "style":
            self.found.append("<style>")
        if tag == "script":
            if attributes.get("src"):
                self.script_sources.append(attributes["src"])
            elif attributes.get("type") != "application/json":  # json_script: data, never run
                self._in_inline_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.found.append(f"<script>{data.strip()[:40]}...</script>")


def inline_code(html: str) -> InlineCode:
    parser = InlineCode()
    parser.feed(html)
    return parser


@pytest.fixture
def site(settings, tmp_path):
    """An operator with a published notice, a shopper who consented, and the simulator switched on."""
    settings.ENTRANCE_SIMULATOR = True
    settings.VAR_DIR = tmp_path  # the demo device's file is missing: the simulator page says so
    operator = OperatorFactory(name="Fresh Mart", slug="fresh-mart")
    notice = published_notice(operator)
    shopper = UserFactory()
    consent = consent_give(
        shopper=shopper, operator=operator, purpose="face_entry", notice_version=notice, channel="web"
    )
    return {"shopper": shopper, "notice": notice, "consent": consent}


def every_page(client, site, language: str):
    """(name, response) for each page a person can get, anonymous and logged in, in one language."""
    shopper, notice = site["shopper"], site["notice"]
    client.cookies["django_language"] = language
    reset_link = (
        f"/password-reset/{urlsafe_base64_encode(force_bytes(shopper.pk))}/"
        f"{default_token_generator.make_token(shopper)}/"
    )
    for url in (
        "/",
        "/signup/",
        "/login/",
        "/verify-email/?email=someone@example.com",
        "/password-reset/",
        reset_link,
        "/password-reset/bad/link/",
        "/operators/fresh-mart/retention/",
        f"/operators/fresh-mart/notices/{notice.pk}/",
        "/no-such-page/",
    ):
        yield url, client.get(url)
    yield "POST /login/ (refused)", client.post("/login/", {"email": shopper.email, "password": "wrong"})
    yield "POST /signup/ (refused)", client.post("/signup/", {"email": "not an email"})
    yield "POST /password-reset/", client.post("/password-reset/", {"email": shopper.email})

    shopper.language = language
    shopper.save(update_fields=["language"])
    client.force_login(shopper)
    for url in (
        "/",
        "/profile/",
        "/consents/",
        "/consents/fresh-mart/face_entry/decide/",
        "/entry-pass/",
        "/face/",
        f"/face/?enrollment={uuid4()}",
    ):
        yield url, client.get(url)
    yield "POST /entry-pass/", client.post("/entry-pass/")

    staff_signed_in(client, UserFactory(is_staff=True, language=language))  # the simulator is for staff
    yield "/simulator/", client.get("/simulator/")
    yield "POST /simulator/ (nothing sent)", client.post("/simulator/", {})


def html_pages(client, site, language):
    for name, response in every_page(client, site, language):
        if response.status_code in (301, 302):
            continue
        assert response["Content-Type"].startswith("text/html"), name
        yield name, response


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_page_has_a_strict_content_security_policy(client, site, language):
    pages = list(html_pages(client, site, language))
    assert len(pages) >= 20
    for name, response in pages:
        assert response.get("Content-Security-Policy") == PAGE_POLICY, name
        policy = directives(response["Content-Security-Policy"])
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_page_runs_inline_code(client, site, language):
    scripts = set()
    for name, response in html_pages(client, site, language):
        found = inline_code(response.content.decode())
        assert found.found == [], name
        assert all(source.startswith("/static/portal/") for source in found.script_sources), name
        scripts.update(found.script_sources)
    # What the pages used to run inline now comes from static files.
    assert {
        "/static/portal/portal.js",
        "/static/portal/face.js",
        "/static/portal/entry_pass.js",
        "/static/portal/simulator.js",
    } <= scripts


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_camera_is_allowed_on_the_simulator_page_only(client, site, language):
    for name, response in every_page(client, site, language):
        features = permissions(response["Permissions-Policy"])
        assert set(DENIED_FEATURES) <= set(features), name
        allowed = {feature for feature, allowlist in features.items() if allowlist != "()"}
        assert allowed == ({"camera"} if "/simulator/" in name else set()), name
        if allowed:
            assert features["camera"] == "(self)"


def test_api_answers_carry_the_headers_too(api_client, shopper):
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response["Content-Security-Policy"] == PAGE_POLICY
    assert permissions(response["Permissions-Policy"])["camera"] == "()"


class TestNoStore:
    """Nothing Django answers may be kept by a browser or a proxy: tokens, passes, profiles, receipts."""

    def test_token_answers(self, api_client, shopper, django_capture_on_commit_callbacks):
        login = api_client.post(
            "/api/v1/auth/login", {"email": shopper.email, "password": DEFAULT_PASSWORD}, format="json"
        )
        assert login.status_code == 200 and "token" in login.json()
        assert "no-store" in cache_directives(login)

        uid = urlsafe_base64_encode(force_bytes(shopper.pk))
        token = default_token_generator.make_token(shopper)
        confirm = api_client.post(
            "/api/v1/auth/password-reset/confirm",
            {"uid": uid, "token": token, "new_password": "another fine passphrase"},
            format="json",
        )
        assert confirm.status_code == 204 and "no-store" in cache_directives(confirm)

    def test_profile_answers(self, api_client, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            register = api_client.post(
                "/api/v1/auth/register",
                {
                    "email": "new@example.com",
                    "password": "a long enough passphrase",
                    "display_name": "New",
                    "date_of_birth": "1990-01-01",
                },
                format="json",
            )
        assert register.status_code == 201 and "no-store" in cache_directives(register)
        code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
        verify = api_client.post("/api/v1/auth/verify-email", {"email": "new@example.com", "code": code}, format="json")
        assert verify.status_code == 200 and "no-store" in cache_directives(verify)

        api_client.force_authenticate(UserFactory())
        me = api_client.get("/api/v1/me")
        assert me.status_code == 200 and "no-store" in cache_directives(me)

    def test_entry_pass_and_receipt_answers(self, api_client, client, site):
        api_client.force_authenticate(site["shopper"])
        entry_pass = api_client.post("/api/v1/entry-passes")
        assert entry_pass.status_code == 201 and "no-store" in cache_directives(entry_pass)
        receipt_url = f"/api/v1/consents/{site['consent'].public_id}/receipt"
        for response in (api_client.get(receipt_url), api_client.get(receipt_url + "?download=1")):
            assert response.status_code == 200 and "no-store" in cache_directives(response)

        client.force_login(site["shopper"])
        page = client.post("/entry-pass/")
        assert page.status_code == 200 and "<svg" in page.content.decode()
        assert "no-store" in cache_directives(page)
        download = client.get(f"/consents/{site['consent'].public_id}/receipt/")
        assert download.status_code == 200 and "no-store" in cache_directives(download)

    def test_errors_and_every_page_too(self, api_client, client, site):
        assert "no-store" in cache_directives(api_client.get("/api/v1/me"))  # 401
        for name, response in every_page(client, site, "en"):
            assert "no-store" in cache_directives(response), name

    def test_error_pages_reshaped_under_the_api(self, client, settings):
        settings.DEBUG = True  # Django's technical 404 page, turned into the error shape under /api/
        response = client.get("/api/v1/no-such-thing")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        assert "no-store" in cache_directives(response)
        assert permissions(response["Permissions-Policy"])["camera"] == "()"

    def test_login_answers_on_the_web(self, client, shopper):
        response = client.post("/login/", {"email": shopper.email, "password": DEFAULT_PASSWORD})
        assert response.status_code == 302 and "no-store" in cache_directives(response)

    def test_static_files_stay_cacheable(self, client, settings):
        settings.WHITENOISE_USE_FINDERS = True  # deployments serve collected files; tests read the sources
        response = client.get("/static/portal/portal.css")
        assert response.status_code == 200
        assert "no-store" not in cache_directives(response)
        assert "Content-Security-Policy" not in response


class TestStaffPages:
    def test_the_admin_runs_no_inline_code_under_the_same_policy(self, client, admin_user):
        for url in ("/admin/login/",):
            response = client.get(url)
            assert response["Content-Security-Policy"] == PAGE_POLICY
            assert inline_code(response.content.decode()).found == [], url
        staff_signed_in(client, admin_user)
        for url in (
            "/admin/",
            "/admin/stores/operator/",
            "/admin/stores/operator/add/",
            "/admin/consent/noticeversion/add/",
        ):
            response = client.get(url)
            assert response.status_code == 200, url
            assert response["Content-Security-Policy"] == PAGE_POLICY
            assert inline_code(response.content.decode()).found == [], url
            assert "no-store" in cache_directives(response)

    def test_swagger_ui_loads_its_start_script_from_a_url(self, client):
        response = client.get("/api/docs/")
        assert response.status_code == 200
        found = inline_code(response.content.decode())
        assert found.found == []
        policy = directives(response["Content-Security-Policy"])
        # The page policy, but for Swagger UI's data: icons.
        assert policy == {**directives(PAGE_POLICY), "img-src": ["'self'", "data:"]}
        start = next(source for source in found.script_sources if "script" in source.split("?", 1)[-1])
        script = client.get(start)
        assert script.status_code == 200
        assert script["Content-Type"].startswith("application/javascript")
        assert b"SwaggerUIBundle(" in script.content
