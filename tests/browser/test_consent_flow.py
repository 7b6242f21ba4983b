"""A shopper reads a notice, consents, downloads the receipt and withdraws, in a real browser."""

import json
import re
from pathlib import Path

import pytest

from consent.models import Consent
from tests.factories import DEFAULT_PASSWORD, OperatorFactory, UserFactory, published_notice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.requirement("C5", "C6")
def test_consent_then_withdraw_in_one_click(page):
    operator = OperatorFactory(name="Fresh Mart", slug="fresh-mart")
    published_notice(operator)
    shopper = UserFactory()

    page.goto("/login/")
    page.get_by_label("Email").fill(shopper.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="My consents").click()
    page.get_by_role("link", name="Read the notice and decide").click()
    assert page.get_by_text("To recognise you at the door.").is_visible()
    page.get_by_role("button", name="Yes, I consent").click()

    page.wait_for_url(re.compile(r"/consents/$"))
    row = page.locator('tr[data-purpose="face_entry"]')
    assert row.locator(".badge.ok").inner_text() == "Yes"
    with page.expect_download() as download:
        row.get_by_role("link", name="Receipt").click()
    receipt = json.loads(Path(download.value.path()).read_text())
    assert receipt["purposes"][0]["purpose"] == "face_entry"

    row.get_by_role("button", name="Withdraw").click()
    page.wait_for_url(re.compile(r"/consents/$"))
    assert page.get_by_text("Withdrawn. From now on Fresh Mart cannot use this consent.").is_visible()
    assert Consent.objects.get().status == "withdrawn"


@pytest.mark.requirement("C6")
def test_withdraw_everything_on_a_phone_says_what_happens_first(browser, live_server):
    from tests.consent.test_withdrawal import has_template, held_template
    from tests.factories import face_consent

    operator = OperatorFactory(name="Fresh Mart", slug="fresh-mart")
    shopper = UserFactory()
    face_consent(shopper, operator)
    held_template(shopper)
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto("/login/")
        page.get_by_label("Email").fill(shopper.email)
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto("/consents/")
        warning = page.locator('tr[data-purpose="face_entry"] .face-deletion')
        assert warning.is_visible()
        # The warning wraps on a phone instead of running off the screen.
        assert warning.bounding_box()["width"] <= 390
        page.get_by_role("link", name="Withdraw everything from Fresh Mart").click()
        assert page.get_by_text("Your face template is deleted too").is_visible()
        assert Consent.objects.get().status == "active"  # nothing happens before the confirmation
        page.get_by_role("button", name="Yes, withdraw them all").click()
        page.wait_for_url(re.compile(r"/consents/$"))
        assert page.get_by_text("Withdrawn: 1 consent. From now on Fresh Mart cannot use it.").is_visible()
        assert page.get_by_text("Your face template has been deleted").is_visible()
        assert Consent.objects.get().status == "withdrawn" and not has_template(shopper)
    finally:
        context.close()
