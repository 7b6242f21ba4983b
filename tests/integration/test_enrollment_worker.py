"""Enrollment through the broker to a real worker process: progress, result, and no photo left anywhere."""

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from biometrics import engine
from biometrics.models import FaceTemplate
from portal.celery import app as celery_app
from tests.biometrics.leaks import leaks
from tests.biometrics.photos import kit_photo
from tests.factories import UserFactory, face_consent

pytestmark = pytest.mark.integration


def wait_until_finished(api_client, enrollment_id, timeout=60):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api_client.get(f"/api/v1/enrollments/{enrollment_id}").json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in ("done", "refused", "failed"):
            return body, seen
        time.sleep(0.05)
    raise AssertionError(f"enrollment did not finish in {timeout}s: {seen}")


def task_results(worker) -> list[tuple[str, bytes]]:
    """What the result backend holds: Redis keys in CI, files in the embedded default."""
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        return [(key.decode(), client.get(key) or b"") for key in client.scan_iter("celery-task-meta-*")]
    backend = Path(celery_app.conf.result_backend.removeprefix("file://"))
    return [(str(path), path.read_bytes()) for path in backend.glob("*") if path.is_file()]


@pytest.mark.requirement("E1", "E2", "E4")
def test_a_real_worker_enrolls_and_keeps_no_photo(real_worker, api_client):
    shopper = UserFactory()
    face_consent(shopper)
    api_client.force_authenticate(shopper)
    photo = kit_photo("biden/biden_2.jpg")

    started = time.monotonic()
    response = api_client.post(
        "/api/v1/enrollments", {"photos": [SimpleUploadedFile("me.jpg", photo, "image/jpeg")]}, format="multipart"
    )
    answered = time.monotonic() - started

    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert answered < 1.0  # the request does not wait for the face work
    finished, seen = wait_until_finished(api_client, response.json()["id"])
    assert finished["status"] == "done", finished
    assert seen[-1] == "done" and set(seen) <= {"queued", "processing", "done"}
    assert FaceTemplate.objects.filter(shopper=shopper).count() == 1

    encoding = engine.analyse_for_enrollment(photo).encoding
    worker_log = ("worker log", real_worker["log"].read_bytes())
    results = task_results(real_worker)
    # Enrollment keeps no task result at all; the only results a backend may briefly hold are door
    # answers, which the door reads and forgets.
    assert all(b"face_found" in content for _, content in results), results
    assert leaks(photo, encoding, folders=[Path(settings.MEDIA_ROOT)], extra=[worker_log, *results]) == []


@pytest.mark.requirement("E1")
def test_garbage_is_refused_by_the_worker_which_stays_up(real_worker, api_client):
    shopper = UserFactory()
    face_consent(shopper)
    api_client.force_authenticate(shopper)
    files = [
        SimpleUploadedFile("a.jpg", b"\xff\xd8\xff not really a JPEG", "image/jpeg"),
        SimpleUploadedFile("b.jpg", kit_photo("multi/obama_and_biden.jpg"), "image/jpeg"),
        SimpleUploadedFile("c.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png"),
    ]
    response = api_client.post("/api/v1/enrollments", {"photos": files}, format="multipart")
    finished, _ = wait_until_finished(api_client, response.json()["id"])
    assert finished["status"] == "refused"
    assert [r["code"] for r in finished["results"]] == ["unreadable_image", "several_faces", "unreadable_image"]
    assert all(process.poll() is None for process in real_worker["processes"].values())
    assert len(celery_app.control.ping(timeout=2)) == len(real_worker["processes"])
