"""The photo size limit: one rule, the same refusal wherever a photo arrives."""

import pytest
from django.test import RequestFactory

from biometrics.models import Enrollment
from biometrics.services import enrollment_start
from biometrics.uploads import photo_size_check
from core.errors import ValidationFailed
from tests.factories import face_consent

pytestmark = pytest.mark.requirement("E1")

MESSAGE = "The image is too large."


def refusal(**kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as raised:
        photo_size_check(**kwargs)
    return raised.value


def test_a_photo_over_the_limit_is_refused(settings):
    settings.ENROLL_MAX_PHOTO_BYTES = 10
    photo_size_check(photos=[b"x" * 10])  # at the limit: accepted
    error = refusal(photos=[b"x" * 3, b"x" * 11], field="photos")
    assert (error.status, error.code, error.message) == (400, "image_too_large", MESSAGE)
    assert error.fields == {"photos": [MESSAGE]}
    assert refusal(photos=[b"x" * 11]).fields == {}


def test_an_upload_the_handler_dropped_is_refused():
    request = RequestFactory().post("/")
    photo_size_check(request=request)
    request.oversized_uploads = ["photos"]
    assert refusal(request=request, field="photos").code == "image_too_large"


def test_the_message_is_in_the_shoppers_language(settings):
    settings.ENROLL_MAX_PHOTO_BYTES = 1
    from django.utils import translation

    with translation.override("zh-hans"):
        assert refusal(photos=[b"xx"]).message == translation.gettext(MESSAGE) != MESSAGE


@pytest.mark.django_db
def test_the_enrollment_service_applies_it(shopper, settings):
    face_consent(shopper)
    settings.ENROLL_MAX_PHOTO_BYTES = 10
    with pytest.raises(ValidationFailed) as raised:
        enrollment_start(shopper=shopper, photos=[b"x" * 11], channel="app")
    assert (raised.value.code, raised.value.fields) == ("image_too_large", {"photos": [MESSAGE]})
    assert not Enrollment.objects.exists()
