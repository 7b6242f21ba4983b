"""On a phone, in each language: an admin signs in with a real code from the authenticator app's key, opens the
match shards' page from the console's menu, is refused a shard name the workers could not spell, adds shard b
and moves an operator to it, which then shows as moving. Each page is checked like the shoppers' (fits the
screen, speaks one language) and saved as a screenshot."""

from __future__ import annotations

import re

import pytest

from core.models import AuditEntry
from stores.models import Operator
from tests.browser.test_phone_walk import PHONE, look_at
from tests.browser.test_security_headers import staff_first_sign_in
from tests.factories import OperatorFactory, UserFactory, face_consent, staff_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.requirement("M2", "S2")]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_admin_adds_a_shard_and_moves_an_operator_to_it_on_a_phone(page, live_server, language, settings):
    settings.LANGUAGE_CODE = language
    admin = staff_member("Admin", language=language, email="admin@faceconsent.example")
    operator = OperatorFactory(name="Demo Mart", slug="demo-mart")
    face_consent(UserFactory(), operator)
    OperatorFactory(name="Fresh Mart", slug="fresh-mart")
    page.set_viewport_size(PHONE)
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    # Shown as they are in any language: the operators' names, the shards' and the settings' names.
    names = ["Demo", "Mart", "Fresh", "FaceConsent", "Redis", "MATCH_SHARDS", "north", "a", "b"]
    problems = []

    staff_first_sign_in(page, admin.email, "/staff/")
    page.locator("nav.account-nav a[href='/staff/shards/']").click()
    page.wait_for_url(re.compile(r"/staff/shards/$"))
    problems += look_at(page, "staff-shards", language, None, names)

    page.locator("#id_name").fill("North 2")
    page.locator("main form[action='/staff/shards/new/'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/shards/new/$"))
    assert page.locator(".field.has-error .error").count() == 1
    problems += look_at(page, "staff-shards-name-refused", language, None, names)

    page.locator("#id_name").fill("b")
    page.locator("main form[action='/staff/shards/new/'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/shards/$"))
    assert page.locator("tr[data-shard=b]").count() == 1
    problems += look_at(page, "staff-shards-created", language, None, names)

    row = page.locator("tr[data-operator=demo-mart]")
    row.locator("select[name=shard]").select_option("b")
    row.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/shards/$"))
    assert page.locator("tr[data-operator=demo-mart] [data-moving-to=b]").count() == 1
    problems += look_at(page, "staff-shards-moving", language, None, names)

    assert Operator.objects.get(pk=operator.pk).moving_to.name == "b"
    started = AuditEntry.objects.get(action="operator.shard_move_started")
    assert (started.actor_type, started.actor_id) == ("staff", str(admin.pk))
    assert not problems, "\n".join(problems)
