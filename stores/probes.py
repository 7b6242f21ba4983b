"""A door probe's photo on its way to a match worker, and nowhere else.

The photo is sealed under the active template key, bound to its one probe. With a Redis broker the
sealed bytes wait in Redis beside the task message, as binary, for at most a second longer than the door waits, and
the worker takes them with GETDEL: the message stays small and nothing is encoded as text and
parsed again on the way. Without Redis (the embedded default) the sealed photo rides in the
message itself, as base64.
"""

from __future__ import annotations

import functools

from django.conf import settings

from biometrics.keys import key_ring
from biometrics.protection import NONCE_BYTES, SealedTemplate
from biometrics.services import photo_open, photo_seal

KEY_PREFIX = "faceconsent:door-probe:"


class ProbeGone(Exception):
    """The photo is no longer waiting: the door gave up on this probe and it expired or was withdrawn."""


def _context(probe_id: str) -> str:
    return f"door-probe|{probe_id}"


def _redis_url() -> str:
    url = settings.CELERY_BROKER_URL
    return url if url.startswith(("redis://", "rediss://")) else ""


@functools.cache
def _client(url: str):
    import redis

    return redis.Redis.from_url(url)


def probe_photo_send(photo: bytes, *, probe_id: str) -> dict[str, str]:
    """Seal the photo for one probe; returns what the task message carries to find and open it."""
    url = _redis_url()
    if not url:
        return photo_seal(photo, context=_context(probe_id))
    box = key_ring().seal_bytes(photo, context=_context(probe_id))
    # A second longer than the door waits, so a worker that takes the task in time finds its photo.
    expires_ms = int((settings.MATCH_TIMEOUT_SECONDS + 1) * 1000)
    _client(url).set(KEY_PREFIX + probe_id, box.nonce + box.ciphertext, px=expires_ms)
    return {"k": box.key_id, "in": "redis"}


def probe_photo_take(reference: dict[str, str], *, probe_id: str) -> bytes:
    """The worker's side: the photo, opened, and gone from wherever it waited."""
    if reference.get("in") != "redis":
        return photo_open(reference, context=_context(probe_id))
    data = _client(_redis_url()).getdel(KEY_PREFIX + probe_id)
    if data is None:
        raise ProbeGone(probe_id)
    box = SealedTemplate(reference["k"], data[:NONCE_BYTES], data[NONCE_BYTES:])
    return key_ring().open_bytes(box, context=_context(probe_id))


def probe_photo_withdraw(reference: dict[str, str] | None, *, probe_id: str) -> None:
    """The door stopped waiting: drop a photo no worker has taken yet (it would expire soon anyway)."""
    if reference and reference.get("in") == "redis":
        _client(_redis_url()).delete(KEY_PREFIX + probe_id)
