"""The bad-photo corpus (`tests/photo_corpus.py`) through enrollment and through the door, one test per
case and way in: refused with its own code, or taken as far as the engine can read it; what was stored
before is kept; no photo is left anywhere; the door's work fits in its timeout.

Requirements: E1 (a refused photo says why), E2 (photos are never kept), M1 (the door answers `match`
or `no_match`, or refuses with a code), M3 (a probe leaves no trace).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from biometrics import engine
from biometrics.faces import REASONS
from biometrics.models import Enrollment, FaceTemplate
from biometrics.services import template_encodings
from tests.biometrics.leaks import leaks
from tests.biometrics.photos import astronaut_jpeg
from tests.conftest import assert_error
from tests.factories import registered_device
from tests.photo_corpus import BY_NAME, CASES, ENROLLED, MATCH, NO_MATCH, PhotoRefusal, Refusal
from tests.stores.device import match_photo, match_photo_body
from tests.stores.gallery import enrolled

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.requirement("E1", "E2", "M1", "M3"),
    # Pillow warns of each EXIF entry it cannot read, and skips it.
    pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin"),
]

ENROLL = "/api/v1/enrollments"
DOOR_ANSWER_FIELDS = {"result", "shopper_ref", "visit_id", "first_visit", "notice_version"}


@functools.cache
def astronaut_encoding() -> np.ndarray:
    return engine.analyse_for_enrollment(astronaut_jpeg()).encoding


@pytest.fixture
def door():
    """An entrance, and the astronaut enrolled at its operator (the face under every picture)."""
    device, secret = registered_device()
    return device, secret, enrolled(device.store.operator, astronaut_encoding())


def templates_held(shopper) -> list[tuple[int, bytes]]:
    return [
        (pk, bytes(sealed))
        for pk, sealed in FaceTemplate.objects.filter(shopper=shopper).values_list("pk", "ciphertext")
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_enrollment(case, door, api_client, django_capture_on_commit_callbacks):
    """The enrolled astronaut enrolls again with one photo of the corpus; the task runs in this process."""
    shopper = door[2]
    held = templates_held(shopper)
    enrollments = Enrollment.objects.filter(shopper=shopper).count()
    photo = case.make()
    api_client.force_authenticate(shopper)

    with django_capture_on_commit_callbacks(execute=True):
        upload = SimpleUploadedFile(case.filename, photo, case.content_type)
        response = api_client.post(ENROLL, {"photos": [upload]}, format="multipart")

    encoding = None
    if isinstance(case.enrollment, Refusal):  # before anything is queued
        assert_error(response, case.enrollment.status, case.enrollment.code)
        assert Enrollment.objects.filter(shopper=shopper).count() == enrollments
        assert templates_held(shopper) == held
    else:
        assert response.status_code == 202, response.content
        finished = api_client.get(f"{ENROLL}/{response.json()['id']}").json()
        if isinstance(case.enrollment, PhotoRefusal):
            code = case.enrollment.code
            assert (finished["status"], finished["reason"]) == ("refused", "no_usable_photo"), finished
            assert finished["results"] == [{"photo": 1, "accepted": False, "code": code, "message": REASONS[code]}]
            assert templates_held(shopper) == held  # a refused enrollment replaces nothing
        else:
            assert case.enrollment == ENROLLED
            assert finished["status"] == "done", finished
            assert finished["results"] == [{"photo": 1, "accepted": True, "code": None, "message": ""}]
            assert {pk for pk, _ in templates_held(shopper)}.isdisjoint(pk for pk, _ in held)
            (encoding,) = template_encodings(shopper=shopper)
            assert engine.face_distance(astronaut_encoding(), encoding)[0] < settings.ENROLL_SAME_PERSON_DISTANCE
    assert leaks(photo, encoding, folders=[Path(settings.MEDIA_ROOT)]) == []


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_door(case, door, client):
    """The photo as a device sends it (base64 in signed JSON), with the astronaut enrolled at the door's operator.

    The door waits MATCH_TIMEOUT_SECONDS for its match worker. Here the worker's task runs in this
    thread, so the thread's processor time is the whole work of the answer, whatever else the
    machine is running (bench/ measures the door's latency).
    """
    device, secret, _ = door
    photo = case.make()

    started = time.thread_time()
    response = match_photo(client, device, secret, photo)
    processor = time.thread_time() - started

    if isinstance(case.door, Refusal):
        assert_error(response, case.door.status, case.door.code)
    elif case.door == MATCH:
        assert response.status_code == 200, response.content
        assert response.json()["result"] == "match" and set(response.json()) <= DOOR_ANSWER_FIELDS
    else:
        assert case.door == NO_MATCH
        assert (response.status_code, response.json()) == (200, {"result": "no_match"})
    assert processor < settings.MATCH_TIMEOUT_SECONDS
    assert leaks(photo, None, folders=[Path(settings.MEDIA_ROOT)]) == []


@pytest.mark.parametrize("case", [BY_NAME["png-named-jpg"], BY_NAME["gif-named-jpg"]], ids=lambda case: case.name)
def test_the_door_reads_the_bytes_not_the_label(case, door, client):
    """Sent as the request body under the image type its name claims, a photo gets what its bytes earn."""
    device, secret, _ = door
    response = match_photo_body(client, device, secret, case.make(), content_type=case.content_type)
    if isinstance(case.door, Refusal):
        assert_error(response, case.door.status, case.door.code)
    else:
        assert response.json()["result"] == case.door
