"""Enrollment from the web page, processed by a real worker, with the progress shown as it happens."""

import re

import pytest

from biometrics.models import FaceTemplate
from tests.biometrics.photos import astronaut_jpeg
from tests.factories import DEFAULT_PASSWORD, UserFactory, face_consent

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_enroll_and_watch_it_finish(real_worker, page):
    shopper = UserFactory()
    face_consent(shopper)
    page.goto("/login/")
    page.get_by_label("Email").fill(shopper.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="My face").click()

    page.set_input_files("#photos", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": astronaut_jpeg()}])
    page.get_by_role("button", name="Enroll", exact=True).click()

    page.wait_for_url(re.compile(r"/face/\?enrollment="))
    # The page follows the worker: queued or processing first, then done.
    page.wait_for_selector('#enrollment[data-status="done"]', timeout=60_000)
    page.wait_for_url(re.compile(r"/face/$"))
    assert page.get_by_text("Enrolled", exact=True).is_visible()
    assert FaceTemplate.objects.filter(shopper=shopper).count() == 1
