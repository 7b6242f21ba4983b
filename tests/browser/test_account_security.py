"""The account security pages in a real browser on a 360 px wide phone: nothing runs off the side,
and a password change and a sign-out elsewhere work from the pages."""

import re

import pytest

from portal.models import WebSession
from tests.factories import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = ["/profile/", "/profile/password/", "/profile/email/", "/profile/email/confirm/", "/profile/sessions/"]


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 360, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def log_in(page, user, password: str = DEFAULT_PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/profile/$"))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_account_page_fits_a_phone(phone, shopper, language):
    shopper.language = language
    shopper.save(update_fields=["language"])
    log_in(phone, shopper)
    for path in PAGES:
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (path, width)


def test_change_the_password_and_sign_out_elsewhere_from_the_pages(phone, browser, live_server, shopper):
    other = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    log_in(other, shopper)
    log_in(phone, shopper)

    phone.get_by_role("link", name="Signed-in devices").first.click()
    phone.wait_for_url(re.compile(r"/profile/sessions/$"))
    assert phone.locator(".devices li").count() == 2
    phone.get_by_role("button", name="Sign out everywhere else").click()
    assert phone.get_by_text("Other browsers and apps signed out: 1.").is_visible()
    assert WebSession.objects.count() == 1

    phone.get_by_role("link", name="Password").click()
    phone.get_by_label("Current password").fill(DEFAULT_PASSWORD)
    phone.get_by_label("New password").fill("a brand new passphrase")
    phone.get_by_role("button", name="Change password").click()
    phone.wait_for_url(re.compile(r"/profile/$"))
    assert phone.get_by_text("Your password is changed.").is_visible()
    other.goto("/profile/")
    assert "/login/" in other.url
    other.context.close()
