"""A shopper reads a notice, consents, downloads the receipt and withdraws, in a real browser."""

import json
import re
from pathlib import Path

import pytest

from consent.models import Consent
from tests.factories import DEFAULT_PASSWORD, OperatorFactory, UserFactory, published_notice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
