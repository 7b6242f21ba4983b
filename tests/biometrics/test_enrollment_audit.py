"""Every change of an enrollment's status leaves its audit entry, written in the change's transaction."""

import contextlib
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from biometrics.models import Enrollment
from biometrics.processing import enrollment_mark_processing
from core.audit import audit_chain_verify
from core.models import AuditEntry
from tests.biometrics.photos import astronaut_jpeg

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("S3")]

ENROLL = "/api/v1/enrollments"


def start(api_client, shopper, capture, *photos: bytes) -> tuple[Enrollment, list]:
    """Start an enrollment over the API; returns it and the queued task (not yet run)."""
    api_client.force_authenticate(shopper)
    with capture() as callbacks:
        response = api_client.post(
            ENROLL,
            {"photos": [SimpleUploadedFile(f"p{n}.jpg", data, "image/jpeg") for n, data in enumerate(photos)]},
            format="multipart",
        )
    assert response.status_code == 202
    return Enrollment.objects.get(public_id=response.json()["id"]), callbacks


@contextlib.contextmanager
def audit_log_down(module: str):
    """Every audit write from `module` fails, and with it the change it belongs to."""
    with (
        mock.patch(f"{module}.audit_entry_create", side_effect=RuntimeError("audit log unavailable")),
        pytest.raises(RuntimeError),
    ):
        yield


def trail(enrollment: Enrollment) -> list[tuple]:
    entries = AuditEntry.objects.filter(target_type="biometrics.enrollment", target_id=str(enrollment.pk))
    return [
        (entry.action, entry.actor_type, entry.actor_id, entry.channel, entry.data)
        for entry in entries.order_by("sequence")
    ]


def test_an_enrollment_that_succeeds_leaves_queued_processing_and_done(
    api_client, consenting, django_capture_on_commit_callbacks
):
    enrollment, queued = start(api_client, consenting, django_capture_on_commit_callbacks, astronaut_jpeg())
    # Started by the shopper, in the app; nothing has run yet.
    assert trail(enrollment) == [("enrollment.queued", "shopper", str(consenting.pk), "app", {"photos": 1})]
    for callback in queued:
        callback()
    enrollment.refresh_from_db()
    assert enrollment.status == "done"
    _queued, processing, done = trail(enrollment)
    assert processing == ("enrollment.processing", "system", "", "system", {"attempt": 1})
    assert done[:4] == ("enrollment.done", "system", "", "system")
    assert done[4]["templates"] == 1 and done[4]["replaced"] == 0
    assert audit_chain_verify().intact


def test_an_enrollment_refused_leaves_queued_processing_and_refused(
    api_client, consenting, django_capture_on_commit_callbacks
):
    enrollment, queued = start(api_client, consenting, django_capture_on_commit_callbacks, astronaut_jpeg()[:300])
    for callback in queued:
        callback()
    assert [entry[0] for entry in trail(enrollment)] == [
        "enrollment.queued",
        "enrollment.processing",
        "enrollment.refused",
    ]
    assert trail(enrollment)[-1] == (
        "enrollment.refused",
        "system",
        "",
        "system",
        {"reason": "no_usable_photo", "refused": ["unreadable_image"]},
    )


def test_an_enrollment_that_fails_in_the_worker_leaves_failed(
    api_client, consenting, django_capture_on_commit_callbacks
):
    enrollment, queued = start(api_client, consenting, django_capture_on_commit_callbacks, astronaut_jpeg())
    with (
        mock.patch("biometrics.engine.analyse_for_enrollment", side_effect=ValueError("bug")),
        pytest.raises(ValueError),
    ):
        for callback in queued:
            callback()
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.reason) == ("failed", "processing_failed")
    assert trail(enrollment)[1:] == [
        ("enrollment.processing", "system", "", "system", {"attempt": 1}),
        ("enrollment.failed", "system", "", "system", {"reason": "processing_failed"}),
    ]


def test_each_claim_by_a_worker_is_an_entry_of_its_own(api_client, consenting, django_capture_on_commit_callbacks):
    """A redelivered task claims the enrollment again: a second `processing` entry, its attempt counted."""
    enrollment, _queued = start(api_client, consenting, django_capture_on_commit_callbacks, astronaut_jpeg())
    enrollment_mark_processing(enrollment_id=enrollment.pk)
    enrollment_mark_processing(enrollment_id=enrollment.pk)
    assert [entry[4] for entry in trail(enrollment) if entry[0] == "enrollment.processing"] == [
        {"attempt": 1},
        {"attempt": 2},
    ]


def test_a_finished_enrollment_is_not_claimed_again_and_leaves_nothing(
    api_client, consenting, django_capture_on_commit_callbacks
):
    enrollment, queued = start(api_client, consenting, django_capture_on_commit_callbacks, astronaut_jpeg())
    for callback in queued:
        callback()
    before = trail(enrollment)
    assert enrollment_mark_processing(enrollment_id=enrollment.pk) is None
    assert trail(enrollment) == before


def test_the_processing_entry_is_written_in_the_claims_transaction(
    api_client, consenting, django_capture_on_commit_callbacks
):
    """No audit entry, no status change: the claim and its entry commit or roll back together."""
    enrollment, _queued = start(api_client, consenting, django_capture_on_commit_callbacks, astronaut_jpeg())
    with audit_log_down("biometrics.processing"):
        enrollment_mark_processing(enrollment_id=enrollment.pk)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.attempts, enrollment.started_at) == ("queued", 0, None)


def test_the_queued_entry_is_written_in_the_starts_transaction(
    api_client, consenting, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(consenting)
    with django_capture_on_commit_callbacks() as callbacks, audit_log_down("biometrics.services"):
        api_client.post(
            ENROLL, {"photos": [SimpleUploadedFile("p.jpg", astronaut_jpeg(), "image/jpeg")]}, format="multipart"
        )
    assert not Enrollment.objects.exists() and callbacks == []
