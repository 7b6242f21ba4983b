"""The enroll worker's part of an enrollment: open the photos, encode them with the face engine, store
the templates or refuse; and give up on one the worker cannot finish.

Only the enroll worker imports this module (through `biometrics.tasks`), so only workers load dlib,
face_recognition and OpenCV; what a web request reaches is in `biometrics.services`.
"""

from __future__ import annotations

import itertools
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from biometrics import engine
from biometrics.engine_config import engine_settings
from biometrics.keys import key_ring
from biometrics.models import Enrollment, FaceTemplate
from biometrics.services import (
    _templates_delete,
    enrollment_photos_open,
    face_consent_given,
    match_index_change_record,
)
from biometrics.shoppers import shopper_lock
from core.audit import Actor, audit_entry_create


def enrollment_mark_processing(*, enrollment_id: int) -> Enrollment | None:
    """Claim a queued enrollment for processing; None when it is gone or already finished."""
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().filter(pk=enrollment_id).first()
        if enrollment is None or enrollment.finished:
            return None
        enrollment.status = Enrollment.Status.PROCESSING
        enrollment.attempt_started_at = timezone.now()
        enrollment.started_at = enrollment.started_at or enrollment.attempt_started_at
        enrollment.attempts += 1
        enrollment.save(update_fields=["status", "started_at", "attempt_started_at", "attempts"])
        audit_entry_create(
            actor=Actor.system(),
            action="enrollment.processing",
            target=enrollment,
            data={"attempt": enrollment.attempts},
        )
        return enrollment


def enrollment_process(*, enrollment_id: int, sealed_photos: list[str]) -> str | None:
    """The worker's part: open the photos, analyse each, store the templates or refuse.

    Safe to run twice: a finished enrollment is left as it is. Returns the final status.
    """
    enrollment = enrollment_mark_processing(enrollment_id=enrollment_id)
    if enrollment is None:
        return None
    photos = enrollment_photos_open(enrollment=enrollment, sealed_photos=sealed_photos)
    results, faces = [], []
    config = engine_settings()
    for index, photo in enumerate(photos, start=1):
        try:
            face = engine.analyse_for_enrollment(photo, config)
        except engine.FaceRefused as refusal:
            results.append({"photo": index, "accepted": False, "code": refusal.code, "message": refusal.message})
        else:
            results.append({"photo": index, "accepted": True, "code": None, "message": ""})
            faces.append(face)
    del photos  # the photos end here, whatever happens next
    return _enrollment_finish(enrollment_id=enrollment_id, results=results, encodings=[face.encoding for face in faces])


@transaction.atomic
def _enrollment_finish(*, enrollment_id: int, results: list[dict], encodings: list[np.ndarray]) -> str | None:
    enrollment = Enrollment.objects.select_for_update().select_related("shopper").filter(pk=enrollment_id).first()
    if enrollment is None:  # the account was deleted while its photos were analysed: nothing to store
        return None
    if enrollment.finished:
        return enrollment.status
    # Lock the shopper, as a withdrawal does: consent cannot end between this check and the write.
    shopper = shopper_lock(shopper_id=enrollment.shopper_id)
    reason = ""
    if not encodings:
        reason = "no_usable_photo"
    elif not face_consent_given(shopper):
        reason = "consent_required"
    elif any(
        engine.face_distance(a, b)[0] > settings.ENROLL_SAME_PERSON_DISTANCE
        for a, b in itertools.combinations(encodings, 2)
    ):
        reason = "faces_do_not_match"
    enrollment.results = results
    enrollment.finished_at = timezone.now()
    if reason:
        enrollment.status, enrollment.reason = Enrollment.Status.REFUSED, reason
        enrollment.save(update_fields=["results", "finished_at", "status", "reason"])
        audit_entry_create(
            actor=Actor.system(),
            action="enrollment.refused",
            target=enrollment,
            data={"reason": reason, "refused": [r["code"] for r in results if not r["accepted"]]},
        )
        return enrollment.status
    replaced = _templates_delete(shopper=shopper)
    ring = key_ring()
    owner = str(shopper.public_id)
    for encoding in encodings:
        sealed = ring.seal(encoding, owner=owner)
        FaceTemplate.objects.create(
            shopper=shopper,
            enrollment=enrollment,
            key_id=sealed.key_id,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
        )
    match_index_change_record(shopper_id=shopper.pk)
    enrollment.status = Enrollment.Status.DONE
    enrollment.save(update_fields=["results", "finished_at", "status"])
    audit_entry_create(
        actor=Actor.system(),
        action="enrollment.done",
        target=enrollment,
        data={"templates": len(encodings), "replaced": replaced, "key_id": ring.active_key_id},
    )
    return enrollment.status


@transaction.atomic
def enrollment_fail(*, enrollment_id: int, reason: str, before: datetime | None = None) -> None:
    """Give up on an enrollment the worker could not finish (its photos are gone with the task). With
    `before`, only if its current attempt began before then (a new attempt since is left to finish)."""
    enrollment = Enrollment.objects.select_for_update().filter(pk=enrollment_id).first()
    if enrollment is None or enrollment.finished:
        return
    if before is not None and (enrollment.attempt_started_at is None or enrollment.attempt_started_at >= before):
        return
    enrollment.status, enrollment.reason, enrollment.finished_at = Enrollment.Status.FAILED, reason, timezone.now()
    enrollment.save(update_fields=["status", "reason", "finished_at"])
    audit_entry_create(actor=Actor.system(), action="enrollment.failed", target=enrollment, data={"reason": reason})


def enrollments_lost_fail(*, now: datetime | None = None) -> list[int]:
    """Fail the enrollments whose worker died with them: still processing `ENROLLMENT_LOST_AFTER` after their
    attempt began, longer than any worker may hold one (the task's hard time limit). A worker's child killed
    alone gives its task back at once and the next finishes it; a whole worker killed keeps its message until
    the broker's visibility timeout, an hour, so without this the shopper would watch "processing" that long.
    A late delivery of the message finds the enrollment finished and leaves it. Returns the ids failed."""
    before = (now or timezone.now()) - settings.ENROLLMENT_LOST_AFTER
    lost = list(
        Enrollment.objects.filter(status=Enrollment.Status.PROCESSING, attempt_started_at__lt=before)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for enrollment_id in lost:
        enrollment_fail(enrollment_id=enrollment_id, reason="worker_lost", before=before)
    return lost
