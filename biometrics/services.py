"""Writes for enrollments and templates: start, delete, re-key; the photos' seal.

What a web request reaches; nothing here imports the face engine. The enroll worker's part (encoding
the photos, storing the templates) is in `biometrics.processing`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from biometrics.keys import key_ring
from biometrics.models import Enrollment, FaceTemplate, MatchIndexChange
from biometrics.notifications import templates_deleted_notify
from biometrics.protection import SealedTemplate, TemplateDecryptionError
from biometrics.sealed_bytes import bytes_open, bytes_seal, sealed_from_text, sealed_text
from biometrics.shoppers import shopper_lock
from biometrics.uploads import photo_size_check, photo_type_check
from core.audit import Actor, audit_entry_create
from core.errors import Conflict, Forbidden, ValidationFailed
from core.minors import below_minimum_age, minimum_age

logger = logging.getLogger(__name__)


def face_consent_given(shopper: Any) -> bool:
    return import_string(settings.BIOMETRICS_CONSENT_CHECK)(shopper)


def shopper_old_enough_for_face(*, shopper: Any) -> bool:
    """At or above the minimum age (MINIMUM_AGE, 14 by default; PIPL 31): a face is sensitive under every
    law, so enrolling one always needs it (the consent side of the rule is `consent.minors`)."""
    return not below_minimum_age(shopper.date_of_birth)


def check_old_enough_for_face(*, shopper: Any) -> None:
    """Refuse, with `under_minimum_age`, anything face-related for a shopper under the minimum age."""
    if not shopper_old_enough_for_face(shopper=shopper):
        raise Forbidden(
            _("Face recognition is only available from the age of %(age)d.") % {"age": minimum_age()},
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


ENROLLMENT_PROCESS_TASK = "biometrics.enrollment_process"


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
    photo_size_check(photos=photos, field="photos")
    photo_type_check(photos=photos, field="photos")
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
    # Sent by name: the task runs in the enroll worker, whose module imports the face engine.
    transaction.on_commit(
        lambda: current_app.tasks[ENROLLMENT_PROCESS_TASK].apply_async(
            args=[enrollment.pk, sealed],
            # Never let the photos show up in logs, events or monitoring.
            argsrepr=f"({enrollment.pk}, <{len(sealed)} sealed photos>)",
        )
    )
    return enrollment


def enrollment_photos_open(*, enrollment: Enrollment, sealed_photos: list[str]) -> list[bytes]:
    """The photos of an enrollment, out of the seals its task message carries (in the worker only)."""
    return [
        bytes_open(sealed_from_text(item), context=_photo_context(enrollment, index))
        for index, item in enumerate(sealed_photos, start=1)
    ]


def match_index_change_record(*, shopper_id: int, operator_id: int | None = None) -> None:
    """Tell the match workers to re-read this shopper (at one operator, or all), in the caller's transaction."""
    MatchIndexChange.objects.create(shopper_id=shopper_id, operator_id=operator_id)


def match_index_notes_purge(*, before: datetime) -> int:
    """Delete the index notes written before `before`: every match worker has read them long since (one that
    has not looked for MATCH_INDEX_NOTES_KEPT_HOURS / 2 rebuilds from the templates instead). Once gone, an
    erased shopper's row id is left only in the audit log."""
    return MatchIndexChange.objects.filter(created_at__lt=before).delete()[0]


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
        templates_deleted_notify(shopper=shopper)
    return deleted


def biometrics_erase(*, shopper: Any, actor: Actor) -> dict[str, int]:
    """An account's erasure (portal.erasure.services): every template and enrollment record of the shopper, in the
    caller's transaction, with the index note that takes the shopper out of every match worker and an
    audit entry. No mail: the erasure sends one receipt for everything."""
    templates = _templates_delete(shopper=shopper)
    match_index_change_record(shopper_id=shopper.pk)
    if templates:
        audit_entry_create(
            actor=actor,
            action="templates.deleted",
            target=("portal.user", str(shopper.pk)),
            data={"count": templates, "reason": "account deleted"},
        )
    enrollments = Enrollment.objects.filter(shopper=shopper).delete()[0]
    return {"templates": templates, "enrollments": enrollments}


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
    """Open the templates of these shoppers (all, when None) for a match worker's memory, never for people.

    A template that does not open (altered in the database, or sealed under a key no longer configured) is
    left out and logged by its row id: that shopper is a stranger at the door, which is safe, and one bad row
    does not stop every door. When none opens at all, the keys are wrong, not the rows: that raises, so the
    doors answer 503 rather than take everyone for a stranger."""
    ring = key_ring()
    rows = FaceTemplate.objects.order_by("shopper_id", "pk").values_list(
        "pk", "shopper_id", "shopper__public_id", "key_id", "nonce", "ciphertext"
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
    unopened: list[int] = []
    last_error: TemplateDecryptionError | None = None
    for batch in batches:
        for pk, shopper_id, public_id, key_id, nonce, ciphertext in batch.iterator(chunk_size=2000):
            try:
                encoding = ring.open(SealedTemplate(key_id, bytes(nonce), bytes(ciphertext)), owner=str(public_id))
            except TemplateDecryptionError as error:
                unopened.append(pk)
                last_error = error
                continue
            opened.setdefault(shopper_id, []).append(encoding)
    if unopened:
        logger.error("Templates that do not open, left out of matching: rows %s", unopened[:50])
        if not opened:
            raise last_error
    return {shopper_id: np.vstack(encodings) for shopper_id, encodings in opened.items()}


def template_encodings(*, shopper: Any) -> list[np.ndarray]:
    """Open one shopper's templates, oldest first (for matching inside a worker only; never for people)."""
    return list(template_encodings_by_shopper(shopper_ids=[shopper.pk]).get(shopper.pk, []))
