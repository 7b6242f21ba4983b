"""A shopper signs up, verifies, logs out and back in, in a real browser."""

import re

import pytest
from django.core import mail

from portal.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_verify_and_log_in_again(page):
    page.goto("/")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill("browser@example.com")
    page.get_by_label("Display name").fill("Bo Wen")
    page.get_by_label("Date of birth").fill("1991-07-08")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Sign up").click()

    page.wait_for_url(re.compile(r"/verify-email/"))
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    page.get_by_label("Six-digit code").fill(code)
    page.get_by_role("button", name="Verify").click()

    page.wait_for_url(re.compile(r"/profile/$"))
    assert page.get_by_text("Your email address is verified.").is_visible()
    assert page.locator(".badge.ok").inner_text() == "verified"
    assert User.objects.get(email="browser@example.com").email_verified

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email").fill("browser@example.com")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/profile/$"))


def test_errors_show_on_the_form_and_the_language_switches(page):
    page.goto("/signup/")
    page.get_by_label("Email").fill("not an email")
    page.get_by_role("button", name="Sign up").click()
    assert page.get_by_text("Enter a valid email address.").is_visible()

    with page.expect_navigation():
        page.select_option("#language-switch", "zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("heading", name="创建您的账号").is_visible()
