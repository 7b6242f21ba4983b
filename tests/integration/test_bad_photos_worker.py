"""The nastiest photos of the corpus (`tests/photo_corpus.py`) through real workers: each answered as the
unit tests say, and afterwards the same worker processes, none replaced, still enroll and recognise a
good photo.

Requirements: E1 (a refused photo says why), M1 (the door answers, or refuses with a code).
"""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from biometrics.faces import REASONS
from portal.celery import app as celery_app
from stores.client import DeviceClient
from tests.biometrics.photos import kit_photo
from tests.factories import UserFactory, face_consent, live_store, registered_device
from tests.integration.test_enrollment_worker import wait_until_finished
from tests.photo_corpus import BY_NAME, ENROLLED, MATCH, NO_MATCH, PhotoRefusal, Refusal

pytestmark = [
    pytest.mark.integration,
    pytest.mark.requirement("E1", "M1"),
    # Pillow warns of each EXIF entry it cannot read, and skips it.
    pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin"),
]

NASTIEST = [
    "png-deflate-bomb-20000x20000",
    "png-header-100000x100000",
    "png-38-megapixels",
    "png-38-megapixels-16-bit-rgba-interlaced",
    "png-20000x1",
    "webp-animated",
    "jpeg-cut-in-half",
    "jpeg-exif-tag-of-the-wrong-type",
    "webp-exif-9-mb",
]


def worker_processes(worker) -> dict[str, tuple[int, ...]]:
    """Each worker's process id and, for a prefork pool, its children's: a child that died is replaced
    by a new one, with a new id."""
    stats = celery_app.control.inspect(timeout=5).stats() or {}
    assert len(stats) == len(worker["processes"]), stats
    started = {process.pid for process in worker["processes"].values()}
    assert {stat["pid"] for stat in stats.values()} == started
    return {name: (stat["pid"], *sorted(stat["pool"].get("processes", []))) for name, stat in stats.items()}


def enroll(api_client, photo: bytes, filename: str = "me.jpg") -> dict:
    response = api_client.post(
        "/api/v1/enrollments", {"photos": [SimpleUploadedFile(filename, photo)]}, format="multipart"
    )
    assert response.status_code == 202, response.content
    return wait_until_finished(api_client, response.json()["id"])[0]


def matched_within_seconds(door, photo: bytes, seconds: float = 5) -> dict:
    """The door's answer once it is `match`: match workers read a new template within a poll or two."""
    started = time.monotonic()
    while (answer := door.match_photo(photo)).body.get("result") != "match":
        assert answer.status == 200 and time.monotonic() - started < seconds, answer.body
    return answer.body


def test_no_worker_dies_of_a_bad_photo(real_worker, api_client, live_server):
    store = live_store()
    device, secret = registered_device(store)
    shopper = UserFactory()
    face_consent(shopper, store.operator)
    api_client.force_authenticate(shopper)
    before = worker_processes(real_worker)

    for name in NASTIEST:
        case = BY_NAME[name]
        finished = enroll(api_client, case.make(), case.filename)
        if isinstance(case.enrollment, PhotoRefusal):
            code = case.enrollment.code
            assert (finished["status"], finished["results"][0]["code"]) == ("refused", code), (name, finished)
            assert finished["results"][0]["message"] == REASONS[code]
        else:
            assert case.enrollment == ENROLLED and finished["status"] == "done", (name, finished)

    with DeviceClient(live_server.url, device.device_id, secret, timeout=60) as door:
        matched_within_seconds(door, BY_NAME["png-named-jpg"].make())  # the last photo enrolled was the astronaut's
        for name in NASTIEST:
            case = BY_NAME[name]
            answer = door.match_photo(case.make())
            if isinstance(case.door, Refusal):
                assert (answer.status, answer.body["error"]["code"]) == (case.door.status, case.door.code), name
            else:
                assert case.door in (MATCH, NO_MATCH)
                assert (answer.status, answer.body["result"]) == (200, case.door), (name, answer.body)

        assert worker_processes(real_worker) == before
        # The same processes still do their work: a good photo enrolls, another of the person is recognised.
        assert enroll(api_client, kit_photo("biden/biden_1.jpg"))["status"] == "done"
        matched_within_seconds(door, kit_photo("biden/biden_2.jpg"))
    assert worker_processes(real_worker) == before
