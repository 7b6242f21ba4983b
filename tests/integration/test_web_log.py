"""S3: the web server's own log holds no photo bytes and no encodings after door matches, like the worker's.

A real gunicorn process (as deployed, logging at DEBUG here, access log on) serves door matches of every
probe form (a photo as the body, a base64 photo, frames of photos, an encoding, frames of encodings, with a
pass) and refusals of bad ones, matched by the real workers; then its log and the workers' are scanned."""

import base64
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from biometrics import engine
from consent.services import entry_pass_issue
from stores.client import DeviceClient
from tests.biometrics.leaks import leaks
from tests.biometrics.photos import kit_photo
from tests.factories import UserFactory, face_consent, live_store, registered_device
from tests.servers import web_servers

pytestmark = [pytest.mark.integration, pytest.mark.requirement("E2", "M3", "S3")]


@pytest.fixture
def server(real_worker):
    [started] = web_servers(real_worker, 1, access_log=True, LOG_LEVEL="DEBUG")
    yield started
    started.stop()


def enroll(api_client, shopper, photo: bytes, timeout=60) -> None:
    api_client.force_authenticate(shopper)
    response = api_client.post(
        "/api/v1/enrollments", {"photos": [SimpleUploadedFile("me.jpg", photo)]}, format="multipart"
    )
    assert response.status_code == 202, response.content
    deadline = time.monotonic() + timeout
    while api_client.get(f"/api/v1/enrollments/{response.json()['id']}").json()["status"] != "done":
        assert time.monotonic() < deadline, "enrollment did not finish"
        time.sleep(0.05)


def test_the_web_servers_log_holds_no_photo_and_no_encoding_after_door_matches(real_worker, server, api_client):
    store = live_store()
    device, secret = registered_device(store)
    shopper = UserFactory()
    face_consent(shopper, store.operator)
    enroll(api_client, shopper, kit_photo("biden/biden_1.jpg"))
    photo, other_photo = kit_photo("biden/biden_2.jpg"), kit_photo("obama/obama_1.jpg")
    encoding = engine.analyse_for_enrollment(photo).encoding
    other_encoding = engine.analyse_for_enrollment(other_photo).encoding
    log_before = server.log_path.stat().st_size if server.log_path.exists() else 0

    with DeviceClient(f"http://127.0.0.1:{server.port}", device.device_id, secret, timeout=30) as door:
        answers = {
            "photo as the body": door.match_photo(photo),
            "base64 photo with a pass": door.match_photo(
                photo, entry_pass=entry_pass_issue(shopper=shopper, channel="app").token
            ),
            "frames of photos": door.match_frames(photos=[photo, photo]),
            "encoding": door.match_encoding(encoding.tolist()),
            "frames of encodings": door.match_frames(encodings=[encoding.tolist(), encoding.tolist()]),
            "someone else": door.match_encoding(other_encoding.tolist()),
            "four frames": door.match_frames(photos=[photo] * 4),
            "129 numbers": door.match_encoding([*encoding.tolist(), 0.5]),
            "a photo cut short": door.send(
                "POST", "/api/v1/device/match", {"photo": base64.b64encode(photo[:900]).decode()}
            ),
        }
    results = {
        name: (answer.status, answer.body.get("result") or answer.body["error"]["code"])
        for name, answer in answers.items()
    }
    assert results == {
        "photo as the body": (200, "match"),
        "base64 photo with a pass": (200, "match"),
        "frames of photos": (200, "match"),
        "encoding": (200, "match"),
        "frames of encodings": (200, "match"),
        "someone else": (200, "no_match"),
        "four frames": (400, "too_many_frames"),
        "129 numbers": (400, "invalid_encoding"),
        "a photo cut short": (400, "unreadable_image"),
    }

    server.stop()  # everything it had to say is written
    web_log = server.log_path.read_bytes()[log_before:]
    # The log is this server's, and it saw every request: one access line each.
    assert web_log.count(b'"POST /api/v1/device/match HTTP/1.1"') == len(answers), web_log[-3000:]
    worker_log = real_worker["log"].read_bytes()
    for leaked_photo, leaked_encoding in ((photo, encoding), (other_photo, other_encoding)):
        assert (
            leaks(leaked_photo, leaked_encoding, extra=[("web server log", web_log), ("worker log", worker_log)]) == []
        )
