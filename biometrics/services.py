"""Writes for enrollments and templates: start, process (in the worker), replace, delete, re-key."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from biometrics import engine
from biometrics.keys import key_ring
from biometrics.models import Enrollment, FaceTemplate, MatchIndexChange
from biometrics.protection import SealedTemplate
from biometrics.sealed_bytes import bytes_open, bytes_seal, sealed_from_text, sealed_text
from biometrics.shoppers import shopper_lock
from core.audit import Actor, audit_entry_create
from core.dates import age_on
from core.errors import Conflict, Forbidden, ValidationFailed


def engine_settings() -> engine.EngineSettings:
    return engine.EngineSettings(
        max_bytes=settings.ENROLL_MAX_PHOTO_BYTES,
        max_pixels=settings.ENROLL_MAX_PIXELS,
        work_max_side=settings.FACE_WORK_MAX_SIDE,
        detect_max_side=settings.FACE_DETECT_MAX_SIDE,
        min_face_px=settings.ENROLL_MIN_FACE_PX,
        min_sharpness=settings.ENROLL_MIN_SHARPNESS,
        min_brightness=settings.ENROLL_MIN_BRIGHTNESS,
    )


def face_consent_given(shopper: Any) -> bool:
    return import_string(settings.BIOMETRICS_CONSENT_CHECK)(shopper)


def shopper_old_enough_for_face(*, shopper: Any) -> bool:
    """At or above the minimum age for face recognition (FACE_MINIMUM_AGE, 14 by default; PIPL 31)."""
    if shopper.date_of_birth is None:
        return False
    return age_on(shopper.date_of_birth, timezone.localdate()) >= settings.FACE_MINIMUM_AGE


def check_old_enough_for_face(*, shopper: Any) -> None:
    """Refuse, with `under_minimum_age`, anything face-related for a shopper under the minimum age."""
    if not shopper_old_enough_for_face(shopper=shopper):
        raise Forbidden(
            _("Face recognition is only available from the age of %(age)d.") % {"age": settings.FACE_MINIMUM_AGE},
            code="under_minimum_age",
        )


def _check_may_enroll(shopper: Any) -> None:
    check_old_enough_for_face(shopper=shopper)
    if not face_consent_given(shopper):
        raise Forbidden(
            _("Give face recognition consent to at least one store operator first."), code="consent_required"
        )


def _photo_context(enrollment: Enrollment, index: int) -> str:
    return f"enrollment-photo|{enrollment.public_id}|{index}"


@dataclass(frozen=True)
class StartedEnrollment:
    enrollment: Enrollment
    sealed_photos: list[str]


@transaction.atomic
def enrollment_start(*, shopper: Any, photos: list[bytes], channel: str) -> Enrollment:
    """Accept 1-3 photos and queue them for the worker; returns at once.

    The photos are sealed under the template key and travel only inside the task message;
    nothing of them is written to the database, the media folder or the logs.
    """
    _check_may_enroll(shopper)
    if not photos:
        raise ValidationFailed(
            _("Send at least one photo."), code="photos_required", fields={"photos": [_("Send at least one photo.")]}
        )
    if len(photos) > settings.ENROLL_MAX_PHOTOS:
        raise ValidationFailed(
            _("Send at most %(count)d photos.") % {"count": settings.ENROLL_MAX_PHOTOS},
            code="too_many_photos",
            fields={"photos": [_("Send at most %(count)d photos.") % {"count": settings.ENROLL_MAX_PHOTOS}]},
        )
    for photo in photos:
        if len(photo) > settings.ENROLL_MAX_PHOTO_BYTES:
            raise ValidationFailed(
                _(engine.REASONS["image_too_large"]),
                code="image_too_large",
                fields={"photos": [_(engine.REASONS["image_too_large"])]},
            )
    shopper_lock(shopper_id=shopper.pk)
    if Enrollment.objects.filter(
        shopper=shopper, status__in=[Enrollment.Status.QUEUED, Enrollment.Status.PROCESSING]
    ).exists():
        raise Conflict(_("An enrollment is already in progress; wait for it to finish."), code="enrollment_in_progress")
    enrollment = Enrollment.objects.create(shopper=shopper, channel=channel, photo_count=len(photos))
    sealed = [
        sealed_text(bytes_seal(photo, context=_photo_context(enrollment, index)))
        for index, photo in enumerate(photos, 1)
    ]
    audit_entry_create(
        actor=Actor.shopper(shopper, channel),
        action="enrollment.queued",
        target=enrollment,
        data={"photos": len(photos)},
    )
    from biometrics.tasks import enrollment_process_task

    transaction.on_commit(
        lambda: enrollment_process_task.apply_async(
            args=[enrollment.pk, sealed],
            # Never let the photos show up in logs, events or monitoring.
            argsrepr=f"({enrollment.pk}, <{len(sealed)} sealed photos>)",
        )
    )
    return enrollment


def _open_photos(enrollment: Enrollment, sealed_photos: list[str]) -> list[bytes]:
    return [
        bytes_open(sealed_from_text(item), context=_photo_context(enrollment, index))
        for index, item in enumerate(sealed_photos, start=1)
    ]


def enrollment_mark_processing(*, enrollment_id: int) -> Enrollment | None:
    """Claim a queued enrollment for processing; None when it is gone or already finished."""
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().filter(pk=enrollment_id).first()
        if enrollment is None or enrollment.finished:
            return None
        enrollment.status = Enrollment.Status.PROCESSING
        enrollment.started_at = enrollment.started_at or timezone.now()
        enrollment.attempts += 1
        enrollment.save(update_fields=["status", "started_at", "attempts"])
        return enrollment


def enrollment_process(*, enrollment_id: int, sealed_photos: list[str]) -> str | None:
    """The worker's part: open the photos, analyse each, store the templates or refuse.

    Safe to run twice: a finished enrollment is left as it is. Returns the final status.
    """
    enrollment = enrollment_mark_processing(enrollment_id=enrollment_id)
    if enrollment is None:
        return None
    photos = _open_photos(enrollment, sealed_photos)
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
def _enrollment_finish(*, enrollment_id: int, results: list[dict], encodings: list[np.ndarray]) -> str:
    enrollment = Enrollment.objects.select_for_update().select_related("shopper").get(pk=enrollment_id)
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
def enrollment_fail(*, enrollment_id: int, reason: str) -> None:
    """Give up on an enrollment the worker could not finish (its photos are gone with the task)."""
    enrollment = Enrollment.objects.select_for_update().filter(pk=enrollment_id).first()
    if enrollment is None or enrollment.finished:
        return
    enrollment.status, enrollment.reason, enrollment.finished_at = Enrollment.Status.FAILED, reason, timezone.now()
    enrollment.save(update_fields=["status", "reason", "finished_at"])
    audit_entry_create(actor=Actor.system(), action="enrollment.failed", target=enrollment, data={"reason": reason})


def match_index_change_record(*, shopper_id: int, operator_id: int | None = None) -> None:
    """Tell the match workers to re-read this shopper (at one operator, or all), in the caller's transaction."""
    MatchIndexChange.objects.create(shopper_id=shopper_id, operator_id=operator_id)


def _templates_delete(*, shopper: Any) -> int:
    """Delete the rows only; callers write the one index note their whole change needs."""
    deleted, _ = FaceTemplate.objects.filter(shopper=shopper).delete()
    return deleted


@transaction.atomic
def templates_delete(*, shopper: Any, actor: Actor, reason: str) -> int:
    """Destroy every template of a shopper, now, with an audit entry (when there were any)."""
    deleted = _templates_delete(shopper=shopper)
    if deleted:
        match_index_change_record(shopper_id=shopper.pk)
        audit_entry_create(
            actor=actor,
            action="templates.deleted",
            target=("portal.user", str(shopper.pk)),
            data={"count": deleted, "reason": reason},
        )
    return deleted


def templates_rotate_key(*, batch_size: int = 500) -> int:
    """Re-seal every template not under the active key. Safe to stop and run again."""
    ring = key_ring()
    rotated = 0
    while True:
        with transaction.atomic():
            batch = list(
                FaceTemplate.objects.select_for_update()
                .select_related("shopper")
                .exclude(key_id=ring.active_key_id)
                .order_by("pk")[:batch_size]
            )
            for template in batch:
                owner = str(template.shopper.public_id)
                encoding = ring.open(
                    SealedTemplate(template.key_id, bytes(template.nonce), bytes(template.ciphertext)), owner=owner
                )
                sealed = ring.seal(encoding, owner=owner)
                template.key_id, template.nonce, template.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
                template.save(update_fields=["key_id", "nonce", "ciphertext"])
            if batch:
                audit_entry_create(
                    actor=Actor.system(),
                    action="templates.rekeyed",
                    target=("biometrics.facetemplate", "*"),
                    data={"count": len(batch), "key_id": ring.active_key_id},
                )
        rotated += len(batch)
        if len(batch) < batch_size:
            return rotated


# Shopper ids per query when a worker opens templates: an id list as long as the gallery would pass
# PostgreSQL's limit of 65,535 parameters in one statement.
_SHOPPERS_PER_QUERY = 5000


def template_encodings_by_shopper(*, shopper_ids=None) -> dict[int, np.ndarray]:
    """Open the templates of these shoppers (all, when None) for a match worker's memory, never for people."""
    ring = key_ring()
    rows = FaceTemplate.objects.order_by("shopper_id", "pk").values_list(
        "shopper_id", "shopper__public_id", "key_id", "nonce", "ciphertext"
    )
    if shopper_ids is None:
        batches = [rows]
    else:
        wanted = sorted(set(shopper_ids))
        batches = [
            rows.filter(shopper_id__in=wanted[start : start + _SHOPPERS_PER_QUERY])
            for start in range(0, len(wanted), _SHOPPERS_PER_QUERY)
        ]
    opened: dict[int, list[np.ndarray]] = {}
    for batch in batches:
        for shopper_id, public_id, key_id, nonce, ciphertext in batch.iterator(chunk_size=2000):
            opened.setdefault(shopper_id, []).append(
                ring.open(SealedTemplate(key_id, bytes(nonce), bytes(ciphertext)), owner=str(public_id))
            )
    return {shopper_id: np.vstack(encodings) for shopper_id, encodings in opened.items()}


def template_encodings(*, shopper: Any) -> list[np.ndarray]:
    """Open one shopper's templates, oldest first (for matching inside a worker only; never for people)."""
    return list(template_encodings_by_shopper(shopper_ids=[shopper.pk]).get(shopper.pk, []))
