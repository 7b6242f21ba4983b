"""Part 11's fault: a worker killed during an enrollment. A pool child killed alone gives its task back and the
next child finishes it (tests/integration/test_enrollment_worker_killed.py); a whole worker killed keeps its
message until the broker's visibility timeout, so an attempt still processing 5 minutes after it began is
failed as `worker_lost`, which the shopper sees, and a late delivery finds it finished and leaves it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from biometrics import processing
from biometrics import services as biometrics
from biometrics.models import Enrollment, FaceTemplate
from biometrics.sealed_bytes import bytes_seal, sealed_text
from core.models import AuditEntry
from portal.celery import app as celery_app
from tests.biometrics.photos import kit_photo
from tests.factories import UserFactory, face_consent

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("E4")]


def processing_since(shopper, minutes: float) -> Enrollment:
    return Enrollment.objects.create(
        shopper=shopper,
        channel="app",
        photo_count=1,
        status=Enrollment.Status.PROCESSING,
        attempts=1,
        started_at=timezone.now() - timedelta(minutes=minutes),
        attempt_started_at=timezone.now() - timedelta(minutes=minutes),
    )


@pytest.mark.requirement("E4")
def test_an_attempt_past_any_workers_limit_fails_as_worker_lost_and_the_shopper_sees_it(api_client):
    shopper = UserFactory()
    lost, busy = processing_since(shopper, 6), processing_since(UserFactory(), 2)
    waiting = Enrollment.objects.create(shopper=UserFactory(), channel="app", photo_count=1)
    Enrollment.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(hours=1))

    assert processing.enrollments_lost_fail() == [lost.pk]

    lost.refresh_from_db()
    assert (lost.status, lost.reason) == ("failed", "worker_lost") and lost.finished_at
    assert Enrollment.objects.get(pk=busy.pk).status == "processing"  # within the limit: still working
    assert Enrollment.objects.get(pk=waiting.pk).status == "queued"  # waiting in the queue is no fault
    assert AuditEntry.objects.get(action="enrollment.failed").data == {"reason": "worker_lost"}
    api_client.force_authenticate(shopper)
    body = api_client.get(f"/api/v1/enrollments/{lost.public_id}").json()
    assert (body["status"], body["reason"]) == ("failed", "worker_lost")
    assert processing.enrollments_lost_fail() == []  # once


@pytest.mark.requirement("E4")
def test_the_face_page_says_to_send_the_photos_again(client):
    shopper = UserFactory()
    face_consent(shopper)
    processing_since(shopper, 6)
    processing.enrollments_lost_fail()
    client.force_login(shopper)
    assert "stopped before it finished; please send them again" in client.get("/face/").content.decode()


def test_a_late_delivery_of_the_lost_task_leaves_it_failed():
    shopper = UserFactory()
    face_consent(shopper)
    lost = processing_since(shopper, 6)
    processing.enrollments_lost_fail()
    photo = sealed_text(bytes_seal(kit_photo("biden/biden_2.jpg"), context=biometrics._photo_context(lost, 1)))

    assert processing.enrollment_process(enrollment_id=lost.pk, sealed_photos=[photo]) is None

    assert Enrollment.objects.get(pk=lost.pk).status == "failed" and not FaceTemplate.objects.exists()


def test_a_new_attempt_since_is_left_to_finish():
    lost = processing_since(UserFactory(), 6)
    before = timezone.now() - timedelta(minutes=5)
    processing.enrollment_mark_processing(enrollment_id=lost.pk)  # the task came back and began again
    processing.enrollment_fail(enrollment_id=lost.pk, reason="worker_lost", before=before)
    assert Enrollment.objects.get(pk=lost.pk).status == "processing"


def test_it_runs_every_minute():
    schedule = {entry["task"]: entry["schedule"] for entry in celery_app.conf.beat_schedule.values()}
    assert schedule["biometrics.enrollments_lost_fail"].minute == set(range(60))
    assert "biometrics.enrollments_lost_fail" in celery_app.tasks
