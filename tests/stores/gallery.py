"""Galleries for the gallery check's tests: synthetic faces with a known stranger distribution, and
lookalikes of chosen shoppers, held as templates of consenting shoppers."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from django.utils import timezone

from biometrics import processing
from biometrics.identification import synthetic_gallery
from biometrics.keys import key_ring
from biometrics.models import Enrollment, FaceTemplate, MatchIndexChange
from consent.models import Consent
from tests.factories import UserFactory, face_consent, published_notice


def population(operator, size: int, *, seed: int = 1, identity_scale: float = 1.3) -> dict[int, np.ndarray]:
    """`size` consenting shoppers of a sparse synthetic population (a third of them with several
    templates), written in bulk: the existing gallery a test starts from. Returns shopper id -> encodings."""
    gallery = synthetic_gallery(size, seed=seed, identity_scale=identity_scale)
    version = published_notice(operator) if not operator.notices.exists() else None
    version = version or operator.notices.get(purpose="face_entry").versions.order_by("-version").first()
    shoppers = UserFactory.create_batch(size)
    now = timezone.now()
    Consent.objects.bulk_create(
        Consent(
            shopper=shopper,
            operator=operator,
            purpose="face_entry",
            notice_version=version,
            channel="app",
            given_at=now,
            expires_at=now + timedelta(days=365),
        )
        for shopper in shoppers
    )
    ring = key_ring()
    templates, held = [], {}
    for shopper, encodings in zip(shoppers, gallery.encodings_by_shopper.values(), strict=True):
        held[shopper.pk] = np.asarray(encodings, dtype=np.float64)
        for encoding in held[shopper.pk]:
            sealed = ring.seal(encoding, owner=str(shopper.public_id))
            templates.append(
                FaceTemplate(shopper=shopper, key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext)
            )
    FaceTemplate.objects.bulk_create(templates)
    # What each consent and template service writes with its change: the match workers' note to re-read.
    MatchIndexChange.objects.bulk_create(MatchIndexChange(shopper_id=shopper.pk) for shopper in shoppers)
    return held


def enrolled(operator, *encodings: np.ndarray):
    """A shopper who consents to `operator` and holds these encodings as templates, through the services
    (the enrollment worker's own last step stores them)."""
    shopper = UserFactory()
    face_consent(shopper, operator)
    enrollment = Enrollment.objects.create(shopper=shopper, channel="app", photo_count=len(encodings))
    processing._enrollment_finish(
        enrollment_id=enrollment.pk, results=[], encodings=[np.asarray(encoding) for encoding in encodings]
    )
    assert FaceTemplate.objects.filter(shopper=shopper).count() == len(encodings)
    return shopper


def lookalike(encoding: np.ndarray, distance: float, rng: np.random.Generator) -> np.ndarray:
    """An encoding `distance` away from `encoding`, in a random direction."""
    direction = rng.normal(size=len(encoding))
    return np.asarray(encoding, dtype=np.float64) + distance * direction / np.linalg.norm(direction)


def lookalikes(operator, of: list[np.ndarray], *, distance: float, each: int = 1, seed: int = 5) -> list:
    rng = np.random.default_rng(seed)
    return [enrolled(operator, lookalike(encoding, distance, rng)) for encoding in of for _ in range(each)]
