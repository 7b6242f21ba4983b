"""A door probe's trip to a match worker and back: the photo there, the answer back, nothing kept.

The photo is sealed under the active template key, bound to its one probe, in the format of
`biometrics.sealed_bytes` (the enrollment photos' too). With a Redis broker the sealed bytes wait in
Redis beside the task message, as binary, for at most a second longer than
the door waits, and the worker takes them with GETDEL: the message stays small and nothing is
encoded as text and parsed again on the way. The probe itself waits on a list of its own
(`QUEUE_KEY`) that threads in the match workers pop when they are free (`stores/door/consumers.py`),
and the answer (ids and a distance) comes back on a list the door blocks on: one Redis round trip
each way, where a Celery message cost the door 1.3 ms to publish and the worker 1.9 ms to take
(docs/decisions/0026). Without Redis (the embedded default), and where tasks run in the caller's
process, the probe is the Celery task `stores.match_probe`: the sealed photo rides in its message,
as text, or beside it in Redis, and the answer comes back as its result or on the answer list.
"""

from __future__ import annotations

import functools
import json
import time

from django.conf import settings

from biometrics.sealed_bytes import bytes_open, bytes_seal, sealed_from_text, sealed_text
from stores.shards.selectors import shard_queue

KEY_PREFIX = "faceconsent:door-probe:"
ANSWER_PREFIX = "faceconsent:door-answer:"
# The probes waiting for a match worker of a shard, oldest at the right: doors push on the left, workers pop
# on the right (decision 0041: one list per shard, named after its queue `match.<shard>`).
QUEUE_KEY = "faceconsent:door-probes"
# Set by each match worker of a shard, for a few seconds at a time, once its indexes are built: a door whose
# shard has no such key answers 503 at once instead of waiting out its timeout.
READY_KEY = "faceconsent:match-ready:"
READY_SECONDS = 3


def _queue_key(shard: str) -> str:
    return f"{QUEUE_KEY}:{shard_queue(shard)}"


class ShardUnavailable(Exception):
    """No match worker of the probe's shard is up with its indexes built."""


class ProbeGone(Exception):
    """The photo is no longer waiting: the door gave up on this probe and it expired or was withdrawn."""


def _context(probe_id: str) -> str:
    return f"door-probe|{probe_id}"


def _redis_url() -> str:
    url = settings.CELERY_BROKER_URL
    return url if url.startswith(("redis://", "rediss://")) else ""


def _client(url: str):
    # Reads may block for as long as the door waits for an answer, and a little longer.
    return _client_for(url, socket_timeout=settings.MATCH_TIMEOUT_SECONDS + 5)


@functools.cache
def _client_for(url: str, *, socket_timeout: float):
    import redis

    return redis.Redis.from_url(url, socket_timeout=socket_timeout, socket_connect_timeout=2)


def _expires_ms() -> int:
    # A second longer than the door waits, so a worker that takes the task in time finds its photo.
    return int((settings.MATCH_TIMEOUT_SECONDS + 1) * 1000)


def answers_by_redis() -> bool:
    return bool(_redis_url())


def probe_photo_send(photo: bytes, *, probe_id: str) -> dict[str, str]:
    """Seal the photo for one probe; returns what the task message carries to find and open it."""
    sealed = bytes_seal(photo, context=_context(probe_id))
    url = _redis_url()
    if not url:
        return {"sealed": sealed_text(sealed)}
    _client(url).set(KEY_PREFIX + probe_id, sealed, px=_expires_ms())
    return {"in": "redis"}


def probe_queue(message: dict, photos: list[tuple[str, bytes]], *, shard: str) -> None:
    """The door's side with Redis: seal each photo under its frame's probe id and, in one round trip, leave
    them beside the probe's message on its shard's list, if a worker of the shard is ready; else raise
    `ShardUnavailable` (the photos are withdrawn). The message says until when (unix seconds) the door
    waits; a worker that takes it later drops it unanswered."""
    client = _client(_redis_url())
    if not client.exists(READY_KEY + shard):
        raise ShardUnavailable(shard)
    with client.pipeline(transaction=True) as pipe:
        for frame_id, photo in photos:
            pipe.set(KEY_PREFIX + frame_id, bytes_seal(photo, context=_context(frame_id)), px=_expires_ms())
        message = {**message, "expires_at": time.time() + settings.MATCH_TIMEOUT_SECONDS}
        pipe.lpush(_queue_key(shard), json.dumps(message))
        pipe.execute()


def probe_next(*, shards: list[str], timeout: float) -> dict | None:
    """A match worker's side: the oldest waiting probe's message on these shards' lists, or None when none came
    within `timeout` seconds (whole seconds: Redis blocks for at least one)."""
    if not shards:
        time.sleep(timeout)
        return None
    popped = _client(_redis_url()).brpop([_queue_key(shard) for shard in shards], timeout=timeout)
    return None if popped is None else json.loads(popped[1])


def shards_ready_say(shards: list[str]) -> None:
    """A match worker whose indexes are built says so for its shards, for READY_SECONDS; it says it again while
    it keeps them fresh, and stops when it stops (or dies)."""
    if not shards:
        return
    with _client(_redis_url()).pipeline(transaction=False) as pipe:
        for shard in shards:
            pipe.set(READY_KEY + shard, 1, ex=READY_SECONDS)
        pipe.execute()


def shards_ready(shards: list[str]) -> dict[str, bool] | None:
    """Whether a match worker of each shard says now that it is ready (the key the door reads before queueing a
    probe), for the staff who watch the shards. None when nothing says: without Redis the one match worker serves
    every shard and keeps no such key, and a Redis that does not answer tells nothing."""
    url = _redis_url()
    if not url:
        return None
    import redis

    try:
        with _client(url).pipeline(transaction=False) as pipe:
            for shard in shards:
                pipe.exists(READY_KEY + shard)
            found = pipe.execute()
    except redis.RedisError:
        return None
    return {shard: bool(count) for shard, count in zip(shards, found, strict=True)}


def probe_expired(message: dict) -> bool:
    """The door stopped waiting for this probe: nobody would read its answer."""
    return time.time() > message.get("expires_at", 0)


def probe_photo_take(reference: dict[str, str], *, probe_id: str) -> bytes:
    """The worker's side: the photo, opened, and gone from wherever it waited."""
    if reference.get("in") != "redis":
        return bytes_open(sealed_from_text(reference["sealed"]), context=_context(probe_id))
    sealed = _client(_redis_url()).getdel(KEY_PREFIX + probe_id)
    if sealed is None:
        raise ProbeGone(probe_id)
    return bytes_open(sealed, context=_context(probe_id))


def probe_photo_withdraw(reference: dict[str, str] | None, *, probe_id: str) -> None:
    """The door stopped waiting: drop a photo no worker has taken yet (it would expire soon anyway)."""
    if reference and reference.get("in") == "redis":
        _client(_redis_url()).delete(KEY_PREFIX + probe_id)


def probe_answer_send(answer: dict, *, probe_id: str) -> None:
    """The worker's side: hand the answer to the door waiting for this probe."""
    key = ANSWER_PREFIX + probe_id
    with _client(_redis_url()).pipeline(transaction=False) as pipe:
        pipe.rpush(key, json.dumps(answer))
        pipe.pexpire(key, _expires_ms())
        pipe.execute()


def probe_answer_wait(*, probe_id: str, timeout: float) -> dict | None:
    """The door's side: the worker's answer, or None when none came within `timeout` seconds."""
    key = ANSWER_PREFIX + probe_id
    client = _client(_redis_url())
    popped = client.blpop([key], timeout=timeout)
    if popped is None:
        client.delete(key)  # an answer may land after the door gave up; nobody will read it
        return None
    return json.loads(popped[1])
