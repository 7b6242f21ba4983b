"""Every page in Chromium under the Content-Security-Policy, in both languages: nothing blocked, no script
error, the scripts moved to static files still doing their work, and the camera only on the simulator."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from consent.models import EntryPass
from stores.models import ProbeCounter
from tests.factories import DEFAULT_PASSWORD, OperatorFactory, UserFactory, face_consent, published_notice
from tests.staff import app_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Recorded in every document before its own scripts run; init scripts are not subject to the policy.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.effectiveDirective + " blocked " + (event.blockedURI || "inline")
    + " at " + event.sourceFile + ":" + event.lineNumber);
});
"""


@pytest.fixture
def watched(page):
    """The page, and what went wrong in it so far: policy violations, console errors, script errors."""
    problems: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            message.type in ("error", "warning") and problems.append(f"{message.text} ({message.location.get('url')})")
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return page, problems


def visit(page, problems, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    assert_clean(page, problems, url)


def assert_clean(page, problems, where: str) -> None:
    violations = page.evaluate("window.__violations")
    assert (violations, problems) == ([], []), where


def log_in(page, email: str, password: str = DEFAULT_PASSWORD) -> None:
    page.goto("/login/")
    page.locator("#id_email").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/profile/$"))


def staff_log_in_to_the_simulator(page, email: str, password: str = DEFAULT_PASSWORD) -> None:
    """The way staff reach the door simulator: asked for the admin's login on the way."""
    page.goto("/simulator/")
    page.wait_for_url(re.compile(r"/admin/login/\?next=/simulator/$"))
    staff_first_sign_in(page, email, "/simulator/", password=password, go=False)


def staff_first_sign_in(page, email: str, path: str, *, password: str = DEFAULT_PASSWORD, go: bool = True) -> None:
    """A new staff member's first sign-in on the way to `path`: the admin's login, then the second factor (they
    set up the authenticator app: the code is computed from the key the page shows, as the app would), which
    lead on to `path`."""
    if go:
        page.goto(f"/admin/login/?next={path}")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit]").click()
    second_factor_set_up(page, then=f"{re.escape(path)}$")


def second_factor_set_up(page, *, then: str) -> list[str]:
    """On the setup page a new staff member is sent to: the code an app computes from the key shown, then
    the backup codes, then on to where they were going (`then`, a pattern). Returns the backup codes."""
    page.wait_for_url(re.compile(r"/staff/second-factor/setup/\?next="))
    key = page.locator("code.key").inner_text()
    page.locator("#id_code").fill(app_code(key))
    page.locator("main form button[type=submit]").first.click()
    codes = page.locator("ul.codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name=re.compile("Continue|继续")).click()
    page.wait_for_url(re.compile(then))
    return codes


@pytest.fixture
def door(settings, tmp_path):
    """The demo store and device, and the simulator switched on (it calls the device API in-process)."""
    settings.ENTRANCE_SIMULATOR = True
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", force=True, verbosity=0)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_page_breaks_the_policy(watched, live_server, door, language):
    page, problems = watched
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    operator = OperatorFactory(name="Fresh Mart", slug="fresh-mart")
    notice = published_notice(operator)
    published_notice(operator, "store_analytics")
    shopper = UserFactory(language=language)
    face_consent(shopper, operator)
    reset = f"/password-reset/{urlsafe_base64_encode(force_bytes(shopper.pk))}/"
    reset += f"{default_token_generator.make_token(shopper)}/"

    for url in (
        "/",
        "/signup/",
        "/login/",
        "/verify-email/",
        "/password-reset/",
        reset,
        "/operators/fresh-mart/retention/",
        f"/operators/fresh-mart/notices/{notice.pk}/",
    ):
        visit(page, problems, url)
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock")  # Swagger UI started from its script URL and drew
    page.locator(".swagger-ui .opblock-summary").first.click()  # an operation opens, with its icons
    page.wait_for_selector(".swagger-ui .opblock-body")
    assert_clean(page, problems, "/api/docs/")
    # The language menu switches by itself (portal.js), here to the other language.
    visit(page, problems, "/")
    other = "zh-hans" if language == "en" else "en"
    with page.expect_navigation():
        page.select_option("#language-switch", other)
    assert page.locator("html").get_attribute("lang") == other
    assert_clean(page, problems, "language switch")

    log_in(page, shopper.email)
    # The choice made before login sticks (decision 0019): these pages speak the other language.
    assert page.locator("html").get_attribute("lang") == other
    for url in ("/profile/", "/consents/", "/consents/fresh-mart/store_analytics/decide/", "/face/"):
        visit(page, problems, url)
    visit(page, problems, "/entry-pass/")
    page.locator("main form button[type=submit]").click()
    page.wait_for_selector(".qr svg")
    assert_clean(page, problems, "POST /entry-pass/")
    page.locator("form[action='/logout/'] button").click()
    page.wait_for_url(re.compile(r"/$"))
    staff_log_in_to_the_simulator(page, UserFactory(is_staff=True, language=language).email)
    assert_clean(page, problems, "/simulator/")
    assert page.locator("#camera-start").is_visible()  # simulator.js found a camera API and showed it


def test_the_admin_and_its_scripts_run_under_the_policy(watched, admin_user):
    page, problems = watched
    visit(page, problems, "/admin/login/")
    page.locator("#id_username").fill(admin_user.email)
    page.locator("#id_password").fill("password")
    page.locator("input[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/second-factor/setup/"))  # read the page only once it is there
    page.wait_for_load_state("load")
    assert_clean(page, problems, "second factor setup")
    second_factor_set_up(page, then=r"/admin/$")
    assert_clean(page, problems, "backup codes")
    for url in (
        "/admin/",
        "/admin/stores/operator/",
        "/admin/stores/operator/add/",
        "/admin/consent/noticeversion/add/",
    ):
        visit(page, problems, url)
    # The admin's own static scripts run: the slug fills itself from the name.
    visit(page, problems, "/admin/stores/operator/add/")
    page.locator("#id_name").press_sequentially("Night Owl")
    for _ in range(50):  # the admin's script fills it on each key, in its own time on a busy machine
        if page.locator("#id_slug").input_value() == "night-owl":
            break
        page.wait_for_timeout(100)
    assert page.locator("#id_slug").input_value() == "night-owl"
    assert_clean(page, problems, "admin scripts")


def test_the_simulator_takes_a_photo_with_the_camera(watched, door):
    """Chromium's fake camera (conftest) stands in for a webcam; the frame has no face in it."""
    page, problems = watched
    page.context.grant_permissions(["camera"])
    staff_log_in_to_the_simulator(page, UserFactory(is_staff=True).email)
    assert_clean(page, problems, "/simulator/")
    assert page.locator("#camera-video").is_hidden() and page.locator("#camera-take").is_hidden()

    page.locator("#camera-start").click()
    # Polled from here: Playwright's wait_for_function evaluates a string, which the policy forbids.
    for _ in range(100):
        if page.evaluate("document.getElementById('camera-video').videoWidth") > 0:
            break
        page.wait_for_timeout(100)
    page.locator("#camera-take").click()
    page.wait_for_selector("#camera-canvas:not([hidden])")
    assert page.locator("#camera-status").inner_text() == "Photo taken from the camera; it will be sent with the form."
    assert page.locator("#camera-video").is_hidden()
    assert page.evaluate("document.getElementById('id_photo').files[0].type") == "image/jpeg"

    page.get_by_role("button", name="Send to the door").click()
    page.wait_for_selector("#answer")
    # The frame reached the device API as a photo: the door found nobody in it, and only counted it.
    assert page.locator("#answer").get_attribute("data-result") == "no_match"
    assert ProbeCounter.objects.get().no_face == 1  # no face in the test pattern
    assert_clean(page, problems, "after sending")


def test_other_pages_cannot_open_the_camera(watched, door):
    page, problems = watched
    page.context.grant_permissions(["camera"])
    log_in(page, UserFactory().email)
    visit(page, problems, "/entry-pass/")
    refused = page.evaluate(
        """navigator.mediaDevices.getUserMedia({video: true})
             .then(function (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); return "opened"; })
             .catch(function (error) { return error.name; })"""
    )
    assert refused == "NotAllowedError"


def test_the_entry_pass_renews_itself(watched, settings):
    settings.ENTRY_PASS_LIFETIME = timedelta(seconds=6)  # the page asks again after 5 s (its shortest wait)
    page, problems = watched
    shopper = UserFactory()
    log_in(page, shopper.email)
    visit(page, problems, "/entry-pass/")
    page.get_by_role("button", name="Show my entry pass").click()
    page.wait_for_selector(".qr svg")
    assert EntryPass.objects.filter(shopper=shopper).count() == 1
    with page.expect_navigation(timeout=15_000):
        pass  # entry_pass.js submits the form by itself
    page.wait_for_selector(".qr svg")
    assert EntryPass.objects.filter(shopper=shopper).count() == 2
    assert_clean(page, problems, "renewed pass")
