"""Enrollment from the web page, processed by a real worker, with the progress shown as it happens."""

import itertools
import re
import time

import pytest

from biometrics.models import FaceTemplate
from tests.biometrics.photos import astronaut_jpeg
from tests.factories import DEFAULT_PASSWORD, UserFactory, face_consent

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.requirement("E4")]


def log_in_and_open_my_face(page, shopper) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(shopper.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="My face").click()


def test_enroll_and_watch_it_finish(real_worker, page):
    shopper = UserFactory()
    face_consent(shopper)
    log_in_and_open_my_face(page, shopper)

    page.set_input_files("#photos", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": astronaut_jpeg()}])
    page.get_by_role("button", name="Enroll", exact=True).click()

    page.wait_for_url(re.compile(r"/face/\?enrollment="))
    # The page follows the worker: queued or processing first, then done.
    page.wait_for_selector('#enrollment[data-status="done"]', timeout=60_000)
    page.wait_for_url(re.compile(r"/face/$"))
    assert page.get_by_text("Enrolled", exact=True).is_visible()
    assert FaceTemplate.objects.filter(shopper=shopper).count() == 1


def test_after_deleting_the_templates_the_page_stays_put_and_enrolls_again(real_worker, page):
    shopper = UserFactory()
    face_consent(shopper)
    navigations, status_requests = [], []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
    page.on(
        "request", lambda request: "/api/v1/enrollments/" in request.url and status_requests.append(time.monotonic())
    )
    log_in_and_open_my_face(page, shopper)
    page.set_input_files("#photos", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": astronaut_jpeg()}])
    page.get_by_role("button", name="Enroll", exact=True).click()
    page.wait_for_selector('#enrollment[data-status="done"]', timeout=60_000)
    page.wait_for_url(re.compile(r"/face/$"))
    page.get_by_role("button", name="Delete my face templates").click()
    page.wait_for_selector("text=Your face templates are deleted.")
    assert not FaceTemplate.objects.filter(shopper=shopper).exists()

    # The last enrollment is done but the face is gone: the page says so and leaves it there.
    navigations.clear(), status_requests.clear()
    page.wait_for_timeout(3_000)
    assert navigations == [], f"{len(navigations)} reloads in 3 s"
    assert len(status_requests) <= 1
    assert page.get_by_text("Not enrolled", exact=True).is_visible()

    # The form can be sent again; the new enrollment is followed and the page reloads once when done.
    page.set_input_files("#photos", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": astronaut_jpeg()}])
    page.get_by_role("button", name="Enroll", exact=True).click()
    page.wait_for_url(re.compile(r"/face/\?enrollment="))
    status_requests.clear()
    page.wait_for_selector("text=Enrolled >> visible=true", timeout=60_000)
    page.wait_for_timeout(3_000)
    assert FaceTemplate.objects.filter(shopper=shopper).count() == 1
    assert page.get_by_text("Enrolled", exact=True).is_visible()
    # The sent form, then at most one reload when the worker finished: never a loop.
    assert 1 <= len(navigations) <= 2, navigations
    gaps = [later - earlier for earlier, later in itertools.pairwise(status_requests)]
    assert all(gap >= 0.9 for gap in gaps), gaps
