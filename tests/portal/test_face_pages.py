"""The face page: enrollment from the web, its refusals, and deleting the templates."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from biometrics.models import Enrollment, FaceTemplate
from tests.biometrics.photos import astronaut_jpeg
from tests.factories import face_consent

pytestmark = pytest.mark.django_db


def test_without_consent_the_page_says_what_to_do(client, shopper):
    client.force_login(shopper)
    html = client.get("/face/").content.decode()
    assert "First give face recognition consent to at least one store operator." in html
    assert 'type="file"' not in html


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


def test_refusals_are_shown(client, shopper):
    face_consent(shopper)
    client.force_login(shopper)
    response = client.post("/face/enroll/", {}, follow=True)
    assert "Send at least one photo." in response.content.decode()


def test_under_age_is_told_so(client, shopper, settings):
    settings.FACE_MINIMUM_AGE = 99
    client.force_login(shopper)
    assert "Face recognition is only available from the age of 99." in client.get("/face/").content.decode()


def test_a_photo_over_the_size_limit_is_refused_on_the_page(client, shopper, settings):
    face_consent(shopper)
    client.force_login(shopper)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = settings.ENROLL_MAX_PHOTO_BYTES = 10_000
    response = client.post("/face/enroll/", {"photos": [SimpleUploadedFile("me.jpg", astronaut_jpeg())]}, follow=True)
    assert "The image is too large." in response.content.decode()
    assert not Enrollment.objects.exists()
