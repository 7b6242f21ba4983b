"""Part 11's fault: the worker process analysing an enrollment is killed (SIGKILL) half-way. Its task goes back
to the queue, the next process takes it up, and the enrollment completes once: one template, the shopper sees
`done`. (A whole worker killed at once: tests/biometrics/test_enrollment_lost.py.)"""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from biometrics.models import Enrollment, FaceTemplate
from core.audit import audit_chain_verify
from core.models import AuditEntry
from portal.models import User
from tests.biometrics.photos import kit_photo
from tests.factories import UserFactory, face_consent
from tests.integration.test_enrollment_worker import wait_until_finished
from tests.integration.test_erasure_worker import _children, _waiting_for_a_lock

pytestmark = [pytest.mark.integration, pytest.mark.requirement("E1", "E4")]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="holds a row lock: PostgreSQL's")
def test_a_worker_killed_half_way_through_an_enrollment_is_finished_by_the_next_once(real_worker, api_client):
    shopper = UserFactory()
    face_consent(shopper)
    api_client.force_authenticate(shopper)
    background = real_worker["processes"]["background"]
    (child,) = _children(background.pid)
    answer = api_client.post(
        "/api/v1/enrollments",
        {"photos": [SimpleUploadedFile("me.jpg", kit_photo("biden/biden_2.jpg"), "image/jpeg")]},
        format="multipart",
    )
    assert answer.status_code == 202, answer.content
    enrollment = Enrollment.objects.get(public_id=answer.json()["id"])

    # Holding the shopper's row stops the worker where it stores the template: the photo is analysed and the
    # enrollment says `processing`, nothing stored yet.
    with transaction.atomic():
        User.objects.select_for_update().get(pk=shopper.pk)
        deadline = time.monotonic() + 60
        while not (waiting := _waiting_for_a_lock()):
            assert time.monotonic() < deadline, "the enrollment never came to store its template"
            time.sleep(0.05)
        assert api_client.get(f"/api/v1/enrollments/{enrollment.public_id}").json()["status"] == "processing"
        os.kill(child, signal.SIGKILL)
        with connection.cursor() as cursor:  # the dead process's database session, ended as the server would
            for pid in waiting:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

    finished, _ = wait_until_finished(api_client, enrollment.public_id, timeout=90)
    assert finished["status"] == "done", finished
    assert child not in _children(background.pid)
    enrollment.refresh_from_db()
    assert enrollment.attempts == 2
    assert FaceTemplate.objects.filter(shopper=shopper).count() == 1
    actions = list(
        AuditEntry.objects.filter(target_id=str(enrollment.pk), target_type="biometrics.enrollment").values_list(
            "action", flat=True
        )
    )
    assert actions.count("enrollment.processing") == 2 and actions.count("enrollment.done") == 1
    assert audit_chain_verify().intact
    assert "WorkerLostError" in real_worker["log"].read_text()
