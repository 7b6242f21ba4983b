"""The face page: enrollment from the web, its refusals, and deleting the templates."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from biometrics.models import Enrollment, FaceTemplate
from tests.biometrics.photos import astronaut_jpeg
from tests.factories import UserFactory, face_consent

pytestmark = pytest.mark.django_db


@pytest.mark.requirement("C1")
def test_without_consent_the_page_says_what_to_do(client, shopper):
    client.force_login(shopper)
    html = client.get("/face/").content.decode()
    assert "First give face recognition consent to at least one store operator." in html
    assert 'type="file"' not in html


@pytest.mark.requirement("E1", "E4")
def test_enroll_from_the_web_then_delete(client, shopper, django_capture_on_commit_callbacks):
    face_consent(shopper)
    client.force_login(shopper)
    assert 'type="file"' in client.get("/face/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/face/enroll/", {"photos": [SimpleUploadedFile("me.jpg", astronaut_jpeg())]})
    enrollment = Enrollment.objects.get()
    assert response["Location"] == f"/face/?enrollment={enrollment.public_id}"
    assert enrollment.status == "done" and enrollment.channel == "web"
    html = client.get(response["Location"]).content.decode()
    assert "Enrolled" in html and f"/api/v1/enrollments/{enrollment.public_id}" in html

    client.post("/face/delete/")
    assert not FaceTemplate.objects.exists()


@pytest.mark.requirement("E1")
def test_refusals_are_shown(client, shopper):
    face_consent(shopper)
    client.force_login(shopper)
    response = client.post("/face/enroll/", {}, follow=True)
    assert "Send at least one photo." in response.content.decode()


@pytest.mark.requirement("C8")
def test_under_age_is_told_so(client, shopper, settings):
    settings.MINIMUM_AGE = 99
    client.force_login(shopper)
    assert "Face recognition is only available from the age of 99." in client.get("/face/").content.decode()


@pytest.mark.requirement("E1")
def test_a_photo_over_the_size_limit_is_refused_on_the_page(client, shopper, settings):
    face_consent(shopper)
    client.force_login(shopper)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = settings.ENROLL_MAX_PHOTO_BYTES = 10_000
    response = client.post("/face/enroll/", {"photos": [SimpleUploadedFile("me.jpg", astronaut_jpeg())]}, follow=True)
    assert "The image is too large." in response.content.decode()
    assert not Enrollment.objects.exists()


@pytest.mark.requirement("E4")
def test_after_the_templates_are_deleted_the_page_shows_the_last_enrollment_as_finished(client, shopper):
    face_consent(shopper)
    client.force_login(shopper)
    done = Enrollment.objects.create(shopper=shopper, channel="web", photo_count=1, status="done")
    someone_elses = Enrollment.objects.create(shopper=UserFactory(), channel="web", photo_count=1)
    html = client.get(f"/face/?enrollment={someone_elses.public_id}").content.decode()
    # The page's script follows only what the page marks unfinished; this one it leaves alone.
    assert f'data-url="/api/v1/enrollments/{done.public_id}" data-status="done"' in html
    assert f"/api/v1/enrollments/{someone_elses.public_id}" not in html
    assert "Not enrolled" in html and 'type="file"' in html


@pytest.mark.requirement("E1", "E4")
def test_a_finished_refusal_is_shown_with_its_reasons(client, shopper):
    face_consent(shopper)
    client.force_login(shopper)
    Enrollment.objects.create(
        shopper=shopper,
        channel="web",
        photo_count=1,
        status="refused",
        reason="no_usable_photo",
        results=[{"photo": 1, "accepted": False, "code": "no_face", "message": "No face was found in the photo."}],
    )
    html = client.get("/face/").content.decode()
    assert 'data-status="refused"' in html
    assert "Photo 1: No face was found in the photo." in html
    assert "None of the photos could be used." in html
