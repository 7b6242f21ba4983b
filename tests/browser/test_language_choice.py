"""The header's language menu in a real browser: the choice sticks across login and once logged in."""

import re

import pytest

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def choose_language(page, language):
    with page.expect_navigation():
        page.select_option("#language-switch", language)


def test_a_language_chosen_before_login_sticks_after_it_and_a_switch_sticks_once_logged_in(page):
    shopper = UserFactory(language="en")

    page.goto("/login/")
    choose_language(page, "zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.locator("#id_email").fill(shopper.email)
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()

    page.wait_for_url(re.compile(r"/profile/$"))
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("#language-switch").input_value() == "zh-hans"
    assert page.get_by_role("heading", name="个人资料").is_visible()  # "My profile"
    shopper.refresh_from_db()
    assert shopper.language == "zh-hans"

    choose_language(page, "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#language-switch").input_value() == "en"
    page.goto("/consents/")
    assert page.locator("#language-switch").input_value() == "en"
    assert page.get_by_role("heading", name="My consents").first.is_visible()
    shopper.refresh_from_db()
    assert shopper.language == "en"


def test_the_profile_saves_in_chinese_with_its_date_of_birth_shown(page):
    shopper = UserFactory(language="zh-hans")
    page.goto("/login/")
    page.locator("#id_email").fill(shopper.email)
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/profile/$"))
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    # A date input the browser could not read would show empty here.
    assert page.locator("#id_date_of_birth").input_value() == "1990-01-01"
    page.locator("#id_display_name").fill("王小明")
    page.locator("main form button[type=submit]").click()

    page.wait_for_url(re.compile(r"/profile/$"))
    assert page.locator(".messages .success").is_visible()
    assert not page.locator(".field.has-error").count()
    shopper.refresh_from_db()
    assert (shopper.display_name, shopper.date_of_birth.isoformat()) == ("王小明", "1990-01-01")
