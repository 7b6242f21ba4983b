"""E4: an enrollment is queued, then processing while the worker works on it, then done or refused
with its reason, and the shopper sees each state through the API and the face page (both languages).

The worker's part runs in this process here (tasks run in the caller without a broker); the face
engine is the real one. To look at the enrollment while the worker is inside it, the engine's
enrollment analysis is wrapped by a function that first reads the API and the page, then calls it."""

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from biometrics import engine
from biometrics.models import Enrollment, FaceTemplate
from core.models import AuditEntry
from tests.biometrics.photos import astronaut_jpeg, kit_photo
from tests.conftest import assert_error
from tests.factories import face_consent

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("E4")]


def upload(*photos: bytes):
    return {"photos": [SimpleUploadedFile(f"photo{n}.jpg", data, "image/jpeg") for n, data in enumerate(photos)]}


@pytest.fixture
def signed_in(client, api_client, shopper):
    face_consent(shopper)
    client.force_login(shopper)
    api_client.force_authenticate(shopper)
    return shopper


def face_page(client, shopper, language="en"):
    """The face page in the shopper's language (a signed-in page speaks the profile's, decision 0019)."""
    type(shopper).objects.filter(pk=shopper.pk).update(language=language)
    return client.get("/face/").content.decode()


def enroll_from_the_web(client, django_capture_on_commit_callbacks, *photos, while_processing=None):
    """Send the photos from the face page and run the queued task; `while_processing()` runs inside the
    worker's part, before each photo is analysed."""
    original = engine.analyse_for_enrollment

    def observed(photo, config):
        if while_processing is not None:
            while_processing()
        return original(photo, config)

    with (
        mock.patch.object(engine, "analyse_for_enrollment", observed),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/face/enroll/", upload(*photos))
    assert response.status_code == 302
    return Enrollment.objects.get()


def test_an_enrollment_is_processing_while_the_worker_works_on_it(
    client, api_client, signed_in, django_capture_on_commit_callbacks
):
    seen = []

    def look():
        enrollment = Enrollment.objects.get()
        answer = api_client.get(f"/api/v1/enrollments/{enrollment.public_id}").json()
        page = face_page(client, signed_in)
        again = api_client.post("/api/v1/enrollments", upload(astronaut_jpeg()), format="multipart")
        seen.append(
            {
                "api": (answer["status"], answer["started_at"] is not None, answer["finished_at"]),
                "page": 'data-status="processing"' in page and '<span class="status">Processing</span>' in page,
                "page_zh": '<span class="status">处理中</span>' in face_page(client, signed_in, "zh-hans"),
                "templates": FaceTemplate.objects.count(),
                "again": again,
            }
        )

    enrollment = enroll_from_the_web(
        client, django_capture_on_commit_callbacks, astronaut_jpeg(), while_processing=look
    )

    assert len(seen) == 1
    assert seen[0]["api"] == ("processing", True, None)
    assert seen[0]["page"] and seen[0]["page_zh"]
    assert seen[0]["templates"] == 0
    # One enrollment at a time holds while it is processing, not only while it is queued.
    assert_error(seen[0]["again"], 409, "enrollment_in_progress")
    assert enrollment.status == "done"
    actions = list(
        AuditEntry.objects.filter(target_id=str(enrollment.pk), action__startswith="enrollment.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["enrollment.queued", "enrollment.processing", "enrollment.done"]
    finished = api_client.get(f"/api/v1/enrollments/{enrollment.public_id}").json()
    assert finished["status"] == "done" and finished["finished_at"] is not None


def test_the_page_shows_why_the_worker_refused_an_enrollment(
    client, api_client, signed_in, django_capture_on_commit_callbacks
):
    enrollment = enroll_from_the_web(
        client, django_capture_on_commit_callbacks, astronaut_jpeg(), kit_photo("obama/obama_1.jpg")
    )

    assert (enrollment.status, enrollment.reason) == ("refused", "faces_do_not_match")
    answer = api_client.get(f"/api/v1/enrollments/{enrollment.public_id}").json()
    assert (answer["status"], answer["reason"]) == ("refused", "faces_do_not_match")
    english = client.get(f"/face/?enrollment={enrollment.public_id}").content.decode()
    assert 'data-status="refused"' in english
    assert '<span class="status">Refused</span>' in english
    assert '<p class="reason errors">The photos do not show the same person.</p>' in english
    assert "Photo 1: used" in english and "Photo 2: used" in english
    assert "Not enrolled" in english
    chinese = face_page(client, signed_in, "zh-hans")
    assert '<span class="status">已拒绝</span>' in chinese
    assert '<p class="reason errors">这些照片中不是同一个人。</p>' in chinese


def test_a_photo_the_worker_cannot_use_is_shown_with_its_reason(
    client, api_client, signed_in, django_capture_on_commit_callbacks
):
    enrollment = enroll_from_the_web(client, django_capture_on_commit_callbacks, kit_photo("multi/kit_with_rose.jpg"))

    assert (enrollment.status, enrollment.reason) == ("refused", "no_usable_photo")
    assert enrollment.results[0]["code"] == "several_faces"
    html = face_page(client, signed_in)
    assert '<p class="reason errors">None of the photos could be used.</p>' in html
    assert "Photo 1: The photo shows more than one face; use a photo of you alone." in html
    chinese = face_page(client, signed_in, "zh-hans")
    assert '<p class="reason errors">所有照片均无法使用。</p>' in chinese
