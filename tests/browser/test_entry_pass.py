"""A shopper reads what a pass does and asks for one that works at one operator only, in a real browser."""

import re

import pytest

from consent.models import EntryPass
from tests.factories import DEFAULT_PASSWORD, OperatorFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.requirement("C9")]


def test_a_pass_for_one_operator_and_its_fresh_copies(page):
    OperatorFactory(name="Fresh Mart", slug="fresh-mart")
    OperatorFactory(name="Corner Shop", slug="corner-shop")
    shopper = UserFactory()  # no consent to anything

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/login/")
    page.get_by_label("Email").fill(shopper.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Entry pass").click()
    assert page.get_by_role("heading", name="What a pass does").is_visible()
    assert page.get_by_text("It lasts 5 minutes and works once.").is_visible()

    page.get_by_label("Where it works").select_option(label="Fresh Mart")
    page.get_by_role("button", name="Show my entry pass").click()
    assert page.get_by_text("Works only at Fresh Mart's stores.").is_visible()
    assert page.locator(".qr svg").is_visible()
    # The QR code fits a phone's screen without scrolling.
    box = page.locator(".qr svg").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 844

    page.get_by_role("button", name="Show a fresh pass").click()
    page.wait_for_url(re.compile(r"/entry-pass/$"))
    assert page.get_by_text("Works only at Fresh Mart's stores.").is_visible()
    assert [entry.operator.slug for entry in EntryPass.objects.select_related("operator")] == ["fresh-mart"] * 2
