"""A new staff member, on a phone, in each language: signs in with the password and a real code from the
authenticator app's key, opens an erasure request for a shopper who called, verifies them with the code
mailed to the account, carries the erasure out and sees it completed with nothing left, then the dashboard
with its weekly chart. Each page is checked like the shoppers' (fits the screen, speaks one language) and
saved as a screenshot."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from portal.models import PrivacyRequest, User
from stores.models import Operator
from tests.browser.test_phone_walk import PHONE, look_at
from tests.browser.test_security_headers import second_factor_set_up
from tests.factories import DEFAULT_PASSWORD, staff_member
from tests.portal.test_account_deletion import full_account

pytestmark = pytest.mark.requirement("F5", "F6", "S1")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_staff_member_erases_a_callers_account_end_to_end(page, live_server, language, settings):
    settings.LANGUAGE_CODE = language
    staff = staff_member("Support agent", language=language, email="agent@faceconsent.example")
    shopper = full_account()
    email = shopper.email
    page.set_viewport_size(PHONE)
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    # Data shown as it is, in any language: addresses (masked), ids, the law's country code, log actions.
    names = ["CN", "FaceConsent"]
    problems = []

    page.goto("/admin/login/?next=/staff/requests/")
    page.locator("#id_username").fill(staff.email)
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/second-factor/setup/"))
    names += page.locator("code.key").inner_text().split()  # the app's key, in base32
    names.append(f"{email[0]}***@example.com")
    problems += look_at(page, "staff-second_factor_setup", language, None, names)
    second_factor_set_up(page, then=r"/staff/requests/$")
    problems += look_at(page, "staff-requests-empty", language, None, names)

    page.goto("/staff/requests/new/")
    page.locator("#id_email").fill(email)
    page.locator("#id_kind").select_option("erasure")
    problems += look_at(page, "staff-request_open", language, None, names)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/requests/[0-9a-f-]{36}/$"))
    request_page = page.url
    problems += look_at(page, "staff-request-received", language, None, names)

    # Finding the caller's record: masked in the search, whole once opened for this request (logged).
    page.goto(f"/staff/shoppers/?q={email[:4]}")
    problems += look_at(page, "staff-shoppers", language, None, names)
    page.locator(f"[data-shopper='{shopper.public_id}'] a").click()
    problems += look_at(page, "staff-shopper_reason", language, None, names)
    page.locator("main form button[type=submit]").click()
    page.wait_for_selector("text=" + email)
    operators = [word for name in Operator.objects.values_list("name", flat=True) for word in name.split()]
    problems += look_at(page, "staff-shopper", language, None, [*names, *operators, *shopper.display_name.split()])
    page.goto(request_page)

    page.locator("form[action$='send-code/'] button").click()
    page.wait_for_url(request_page)
    code = re.search(r"^(\d{6})$", mail.outbox[-1].body, re.M).group(1)
    assert mail.outbox[-1].to == [email]
    page.locator("#id_code").fill(code)
    page.locator("form[action$='verify/'] button").click()
    page.wait_for_url(request_page)
    problems += look_at(page, "staff-request-verified", language, None, names)

    page.locator("form[action$='start/'] button").click()
    page.wait_for_url(request_page)
    page.reload()
    problems += look_at(page, "staff-request-completed", language, None, names)
    assert page.locator("[data-status]").get_attribute("data-status") == "completed"

    request = PrivacyRequest.objects.get()
    assert (request.status, request.result["nothing_left"]) == ("completed", True)
    assert not User.objects.filter(email=email).exists()
    page.goto("/staff/requests/?status=closed")
    problems += look_at(page, "staff-requests-closed", language, None, names)
    # The dashboard: no request open now, and this week's withdrawals (the erasure ended the shopper's
    # consents) drawn in the chart.
    page.goto("/staff/")
    problems += look_at(page, "staff-dashboard", language, None, [*names, *operators, "N"])
    assert page.locator("svg rect").count() == 24
    assert page.locator("[data-figure=open]").inner_text().startswith("0")
    assert int(page.locator("rect[data-kind=withdrawn]").last.get_attribute("data-count")) >= 1
    assert not problems, "\n".join(problems)
