"""The shopper's whole journey, on a phone, in Chromium, against the server with a real worker: sign up, verify the
address, consent to face recognition at the demo store, enroll with a real photo and watch it finish, be
recognised at the door (the staff's door simulator, playing the demo store's entrance), see the notification and
the visit, download everything, withdraw, be a stranger at the door, and delete the account. Each step is checked
like every shopper page (fits the screen) and saved as a screenshot under var/screenshots/phone/."""

from __future__ import annotations

import json
import re
import zipfile

import pytest

from biometrics.models import FaceTemplate
from portal.models import User
from stores.models import Visit
from tests.biometrics.photos import kit_photo
from tests.browser.test_phone_walk import PHONE, look_at
from tests.browser.test_security_headers import door, staff_log_in_to_the_simulator  # noqa: F401 (a fixture)
from tests.factories import UserFactory
from tests.integration.test_worker import wait_for_mail

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.requirement("C1", "C6", "E1", "E4", "M1", "M6", "F2", "F3", "F4"),
]

EMAIL, PASSWORD = "journey@example.com", "a long enough passphrase"


def at_the_door(door_page, photo: bytes) -> str:
    """The door simulator sends the photo as the demo entrance device; returns what the door answered."""
    door_page.goto("/simulator/")
    door_page.set_input_files("#id_photo", files=[{"name": "door.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    door_page.get_by_role("button", name="Send to the door").click()
    door_page.wait_for_selector("#answer", timeout=60_000)
    return door_page.locator("#answer").get_attribute("data-result")


@pytest.mark.usefixtures("door")
def test_a_shopper_from_sign_up_to_deleting_the_account(browser, live_server, real_worker, settings):
    settings.MATCH_TIMEOUT_SECONDS = 30  # a loaded CI machine: the answer, not its speed, is checked here
    phone = browser.new_context(base_url=live_server.url, locale="en-GB", viewport=PHONE)
    staff = browser.new_context(base_url=live_server.url, locale="en-GB")
    page, door_page = phone.new_page(), staff.new_page()
    for each in (page, door_page):
        each.set_default_timeout(20_000)
    problems: list[str] = []

    def step(name: str, path: str | None = None) -> None:
        problems.extend(look_at(page, f"journey-{name}", "en", path, ["Demo", "Mart", "Central"]))

    try:
        # Sign up and verify the address with the code mailed to it.
        page.goto("/signup/")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Display name").fill("Lin Yue")
        page.get_by_label("Date of birth").fill("1990-03-04")
        page.get_by_label("Password").fill(PASSWORD)
        step("signup")
        page.get_by_role("button", name="Sign up").click()
        page.wait_for_url(re.compile(r"/verify-email/"))
        (verification,) = wait_for_mail(real_worker["mail_dir"], EMAIL)  # the worker sends the mail
        code = re.search(r"\b(\d{6})\b", verification.get_payload(decode=True).decode()).group(1)
        page.get_by_label("Six-digit code").fill(code)
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(re.compile(r"/profile/$"))
        step("verified")

        # Consent to face recognition at the demo store, its own step.
        page.goto("/consents/demo-mart/face_entry/decide/")
        step("consent-notice")
        page.get_by_role("button", name="Yes, I consent").click()
        page.wait_for_url(re.compile(r"/consents/"))
        step("consented")

        # Enroll with a real photo and watch the worker finish.
        page.goto("/face/")
        photo = kit_photo("obama/obama_1.jpg")
        page.set_input_files("#photos", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": photo}])
        page.get_by_role("button", name="Enroll", exact=True).click()
        page.wait_for_url(re.compile(r"/face/\?enrollment="))
        step("enrolling")
        page.wait_for_selector('#enrollment[data-status="done"]', timeout=90_000)
        page.wait_for_url(re.compile(r"/face/$"))
        step("enrolled")
        shopper = User.objects.get(email=EMAIL)
        assert FaceTemplate.objects.filter(shopper=shopper).count() == 1

        # Recognised at the door.
        staff_log_in_to_the_simulator(door_page, UserFactory(is_staff=True).email)
        assert at_the_door(door_page, kit_photo("obama/obama_3.jpg")) == "match"

        # The notification and the visit, on the shopper's phone.
        page.goto("/notifications/")
        assert page.locator("main").get_by_text("Demo Mart Central").first.is_visible()
        step("notified")
        page.goto("/footprint/")
        assert Visit.objects.filter(shopper=shopper).count() == 1
        step("footprint")

        # Everything held, in one download.
        with page.expect_download() as download:
            page.get_by_role("button", name="Download everything held about me").click()
        with zipfile.ZipFile(download.value.path()) as archive:
            visits = json.loads(archive.read("visits.json"))
            account = json.loads(archive.read("account.json"))
        assert len(visits) == 1 and EMAIL in json.dumps(account)

        # Withdraw: one tap, and the door takes the shopper for a stranger from then on.
        page.goto("/consents/")
        row = page.locator('tr[data-operator="demo-mart"][data-purpose="face_entry"]')
        row.get_by_role("button", name="Withdraw").click()
        page.wait_for_url(re.compile(r"/consents/"))
        step("withdrawn")
        assert not FaceTemplate.objects.filter(shopper=shopper).exists()
        assert at_the_door(door_page, kit_photo("obama/obama_3.jpg")) == "no_match"

        # Delete the account.
        page.goto("/profile/delete/")
        step("delete")
        page.get_by_label("Your password").fill(PASSWORD)
        page.get_by_role("button", name="Delete my account").click()
        page.wait_for_selector("text=Your account is deleted")
        step("deleted")
        assert not User.objects.filter(email=EMAIL).exists()
        assert not Visit.objects.exists()
    finally:
        phone.close()
        staff.close()
    assert not problems, "\n".join(problems)
