"""What happens at the door: recognise a face (1:N, or 1:1 with an entry pass), or let a shopper in
with an entry pass alone, and record the visit, its match event and the day's counters."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from celery import current_app
from celery.exceptions import TaskRevokedError
from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from biometrics.faces import MAX_FRAMES, REASONS, validate_encoding
from biometrics.models import FaceTemplate
from biometrics.uploads import photo_size_check
from consent.selectors import entry_pass_get_by_token, face_consent_for_match
from consent.services import entry_pass_use
from core.audit import Actor, audit_entry_create
from core.db import PreparedQuery
from core.errors import Conflict, Forbidden, ServiceUnavailable, ValidationFailed
from stores.door.probes import (
    ShardUnavailable,
    answers_by_redis,
    probe_answer_wait,
    probe_photo_send,
    probe_photo_withdraw,
    probe_queue,
    shard_queue,
)
from stores.feed.services import notification_record
from stores.models import Device, MatchEvent, MatchShard, Notification, ProbeCounter, Store, Visit
from stores.sealing import shopper_reference
from stores.selectors import door_probe_rule, door_rule, operator_match_rule

logger = logging.getLogger(__name__)

MATCH_PROBE_TASK = "stores.match_probe"
# What the door answers 1:N where the operator's gallery check stopped it (docs/decisions/0025).
ONE_TO_ONE_REQUIRED = "one_to_one_required"


@dataclass(frozen=True)
class DoorAnswer:
    matched: bool
    shopper_ref: str | None = None
    visit: Visit | None = None
    first_visit: bool = False
    # With a first visit: the notice version the door shows (the one the recognition's consent rests on).
    notice_version_id: int | None = None
    # Milliseconds spent waiting for the match worker (of which the face engine, for a photo) and
    # recording the visit, for Server-Timing.
    timings: dict[str, float] = field(default_factory=dict)


def _probe_counter_bump(field: str) -> PreparedQuery:
    return PreparedQuery(
        lambda device_id, day: ProbeCounter.objects.filter(device_id=device_id, day=day),
        updates=lambda **_: {field: F(field) + 1},
        device_id=int,
        day=date,
    )


# One per counted outcome; counting happens on every probe, so the ORM writes each UPDATE once.
_probe_counter_bumps = {field: _probe_counter_bump(field) for field in ("matched", "no_match", "no_face")}


def _count(device: Device, field: str) -> None:
    today = timezone.localdate()
    bump = _probe_counter_bumps[field]
    if not bump.update(device_id=device.pk, day=today):
        ProbeCounter.objects.get_or_create(device=device, day=today)  # the day's first probe
        bump.update(device_id=device.pk, day=today)


def _check_entrance(device: Device) -> None:
    if device.kind != Device.Kind.ENTRANCE:
        raise Forbidden(_("Only entrance devices may recognise shoppers."), code="device_cannot_match")
    if not device.store.is_live:
        raise Forbidden(_("This store is not live: its signage has not been confirmed."), code="store_not_live")


def door_match(
    *,
    device: Device,
    photo: bytes | None = None,
    encoding: list[float] | None = None,
    entry_pass: str | None = None,
    photos: list[bytes] | None = None,
    encodings: list[list[float]] | None = None,
) -> DoorAnswer:
    """Recognise a face at the door: 1:N among the operator's consenting shoppers, or 1:1 with a pass.

    The probe is one photo or encoding, or up to MAX_FRAMES of one approach (`photos` or `encodings`):
    a match then needs every frame with a face to name the same shopper. The worker proposes a candidate;
    this confirms it against the database (active consent, templates still held) in the transaction that
    records the visit, so no withdrawn shopper is ever returned, whatever the worker's index holds. Where
    the operator's gallery check stopped 1:N, a probe without an entry pass answers 409
    `one_to_one_required`.
    """
    _check_entrance(device)
    store = device.store
    if sum(probe is not None for probe in (photo, encoding, photos, encodings)) != 1:
        raise ValidationFailed(_("Send either a photo or an encoding."), code="probe_required")
    frames = [photo] if photo is not None else [encoding] if encoding is not None else list(photos or encodings)
    if not frames:
        raise ValidationFailed(_("Send either a photo or an encoding."), code="probe_required")
    if len(frames) > MAX_FRAMES:
        raise ValidationFailed(
            _("Send at most %(count)d frames of one approach.") % {"count": MAX_FRAMES}, code="too_many_frames"
        )
    if encoding is not None or encodings is not None:
        frames = [validate_encoding(frame).tolist() for frame in frames]
    else:
        photo_size_check(photos=frames)
    entry = entry_pass_get_by_token(token=entry_pass, operator_id=store.operator_id) if entry_pass else None
    if store.mode == Store.Mode.ONE_TO_ONE and entry is None:
        raise ValidationFailed(
            _("This store checks faces against an entry pass; send one."), code="entry_pass_required"
        )
    in_force = None
    if entry is None:
        in_force = door_rule(operator_id=store.operator_id)
        if not in_force.one_to_n:
            raise _one_to_one_required()
    # The operator came with the device (stores.authentication); before any check the worker decides by
    # the gallery's size against the operator's target.
    rule = door_probe_rule(rule=operator_match_rule(store.operator), in_force=in_force)
    asked = time.perf_counter()
    by_photo = photo is not None or photos is not None
    result = _ask_match_worker(
        shard=shard_name(store.operator.match_shard_id),
        operator_id=store.operator_id,
        photos=frames if by_photo else None,
        encodings=None if by_photo else frames,
        shopper_id=entry.shopper_id if entry else None,
        **rule,
    )
    timings = {"worker": _ms_since(asked)}
    if result.get("engine_ms") is not None:
        timings["engine"] = result["engine_ms"]
    # Too late for this door, the worker broke, or it does not hold the operator's index (yet): unavailable.
    if result.get("error") in ("probe_expired", "worker_failed", "not_served"):
        raise _match_unavailable()
    if result.get("error") == ONE_TO_ONE_REQUIRED:  # a large gallery, not checked yet
        raise _one_to_one_required()
    if result.get("error"):
        _count(device, "no_face")
        raise ValidationFailed(_(REASONS[result["error"]]), code=result["error"])
    if not result["face_found"]:
        _count(device, "no_face")
        return DoorAnswer(matched=False, timings=timings)
    if result["shopper_id"] is None:
        _count(device, "no_match")
        return DoorAnswer(matched=False, timings=timings)
    recording = time.perf_counter()
    answer = _record_match(
        device=device,
        shopper_id=result["shopper_id"],
        distance=result["distance"],
        entry=entry,
        nearest_other=result.get("nearest_other"),
    )
    return replace(answer, timings={**timings, "record": _ms_since(recording)})


def _one_to_one_required() -> Conflict:
    return Conflict(
        _(
            "This operator's doors recognise faces only with an entry pass: its gallery is too large or too"
            " dense to search without one. Ask the shopper for their entry pass."
        ),
        code="one_to_one_required",
    )


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _match_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        _("No match worker answered in time; let the shopper in another way."), code="match_unavailable"
    )


@functools.cache
def shard_name(shard_id: int) -> str:
    """A shard's name, which never changes: read once per process."""
    return MatchShard.objects.values_list("name", flat=True).get(pk=shard_id)


def _ask_match_worker(*, shard: str, photos: list[bytes] | None, encodings: list[list[float]] | None, **kwargs) -> dict:
    probe_id = uuid.uuid4().hex
    # One sealed photo per frame, each bound to its own probe id; a single photo keeps the probe's id.
    frame_ids = (
        [probe_id] if photos is not None and len(photos) == 1 else [f"{probe_id}.{n}" for n in range(len(photos or []))]
    )
    probe = {name: value for name, value in kwargs.items() if value is not None}  # nothing to say, nothing sent
    if encodings is not None:
        probe |= {"encoding": encodings[0]} if len(encodings) == 1 else {"encodings": encodings}
    if answers_by_redis() and not current_app.conf.task_always_eager:
        return _ask_over_redis(
            probe, probe_id=probe_id, shard=shard, photos=list(zip(frame_ids, photos or [], strict=True))
        )
    return _ask_by_task(probe, probe_id=probe_id, shard=shard, photos=list(zip(frame_ids, photos or [], strict=True)))


def _probe_frames(references: list[dict[str, str]]) -> dict:
    return {"photo": references[0]} if len(references) == 1 else {"photos": references} if references else {}


def _ask_over_redis(probe: dict, *, probe_id: str, shard: str, photos: list[tuple[str, bytes]]) -> dict:
    """With Redis and match workers: the probe on its shard's list, its photos beside it, the answer on its own
    list; at once 503 when no worker of the shard is ready."""
    try:
        message = {**probe, **_probe_frames([{"in": "redis"}] * len(photos)), "probe_id": probe_id}
        probe_queue(message, photos, shard=shard)
        answer = probe_answer_wait(probe_id=probe_id, timeout=settings.MATCH_TIMEOUT_SECONDS)
    except ShardUnavailable:
        raise _match_unavailable() from None
    except RedisError:  # Redis is unreachable: no worker can answer
        logger.exception("The door could not reach the match queue")
        answer = None
    if answer is None:
        with contextlib.suppress(Exception):  # a worker that takes the probe later drops it, finding it expired
            for frame_id, _ in photos:
                probe_photo_withdraw({"in": "redis"}, probe_id=frame_id)
        raise _match_unavailable()
    return answer


def _ask_by_task(probe: dict, *, probe_id: str, shard: str, photos: list[tuple[str, bytes]]) -> dict:
    """Without Redis (the embedded default's broker of files), or where tasks run in this process: the
    Celery task, its answer as its result or on the answer list."""
    # By name: the task's module (stores.tasks) sits above the door, and every process registers it.
    match_probe_task = current_app.tasks[MATCH_PROBE_TASK]
    by_redis = answers_by_redis()
    references: list[dict[str, str]] = []
    sent = None
    try:
        for frame_id, frame in photos:
            references.append(probe_photo_send(frame, probe_id=frame_id))
        sent = match_probe_task.apply_async(
            kwargs={
                **probe,
                **_probe_frames(references),
                "probe_id": probe_id,
                "answer_in": "redis" if by_redis else None,
            },
            queue=shard_queue(shard),
            ignore_result=by_redis,  # without Redis the answer comes back as the task's result
            expires=settings.MATCH_TIMEOUT_SECONDS,
            argsrepr="()",
            kwargsrepr=f"(operator {probe['operator_id']}, probe hidden)",
        )
        if by_redis:
            answer = probe_answer_wait(probe_id=probe_id, timeout=settings.MATCH_TIMEOUT_SECONDS)
        else:
            answer = _task_result(sent)
    except (RedisError, KombuOperationalError):  # the broker is unreachable: no worker can answer
        logger.exception("The door could not reach the match queue")
        answer = None
    if answer is None:
        with contextlib.suppress(Exception):
            if sent is not None:
                sent.revoke()
            for (frame_id, _), reference in zip(photos, references, strict=False):
                probe_photo_withdraw(reference, probe_id=frame_id)
        raise _match_unavailable()
    return answer


def _task_result(sent) -> dict | None:
    try:
        return sent.get(timeout=settings.MATCH_TIMEOUT_SECONDS, interval=0.005, propagate=True)
    except (CeleryTimeoutError, TaskRevokedError):  # or a worker took it too late and dropped it, expired
        return None
    finally:
        with contextlib.suppress(Exception):  # best effort: match results also expire on their own
            sent.forget()


# The query that confirms a candidate at the door: the active consent, locked, with whether a template
# is held and whether the shopper has been recognised at this store before. It runs on every match, so
# the ORM writes its SQL once (core.db.PreparedQuery).
_door_confirmation = PreparedQuery(
    lambda shopper_id, operator_id, store_id, now: (
        face_consent_for_match(shopper_id=shopper_id, operator_id=operator_id, now=now)
        .annotate(
            holds_template=Exists(FaceTemplate.objects.filter(shopper_id=OuterRef("shopper_id"))),
            # Recognised here before under this consent: a pass alone recognises nobody, and a material
            # notice change ends the consent, so the shopper's next one shows the notice again (C11).
            recognised_before=Exists(MatchEvent.objects.filter(consent_id=OuterRef("pk"), store_id=store_id)),
        )
        .values(
            "pk",
            "notice_version_id",
            "shopper__public_id",
            "shopper__recognition_email",
            "holds_template",
            "recognised_before",
        )
        .order_by("pk")[:1]
    ),
    shopper_id=int,
    operator_id=int,
    store_id=int,
    now=datetime,
)


@transaction.atomic
def _record_match(
    *, device: Device, shopper_id: int, distance: float, entry, nearest_other: float | None = None
) -> DoorAnswer:
    store = device.store
    # One query confirms the candidate (consent active, template held), locks the consent and says
    # whether the shopper has been recognised at this store before and wants a mail when they are;
    # only ids and flags come back.
    found = _door_confirmation.rows(
        shopper_id=shopper_id, operator_id=store.operator_id, store_id=store.pk, now=timezone.now()
    )
    consent = found[0] if found else None
    if consent is None or not consent["holds_template"]:
        _count(device, "no_match")
        return DoorAnswer(matched=False)
    if entry is not None:
        entry_pass_use(entry_pass=entry, actor=Actor.device(device))
    visit = _visit_create(
        device=device,
        shopper_id=shopper_id,
        method=Visit.Method.FACE_AND_PASS if entry else Visit.Method.FACE,
        first=not consent["recognised_before"],
    )
    MatchEvent.objects.create(
        visit=visit,
        shopper_id=shopper_id,
        device=device,
        store=store,
        distance=distance,
        nearest_other_distance=nearest_other if entry else None,
        mode=Store.Mode.ONE_TO_ONE if entry else Store.Mode.ONE_TO_MANY,
        consent_id=consent["pk"],
        notice_version_id=consent["notice_version_id"],
        occurred_at=visit.entered_at,
    )
    # The shopper's feed learns it in the same transaction (one INSERT; the mail, if on, after the commit).
    notification_record(
        visit=visit,
        kind=Notification.Kind.RECOGNISED,
        notice_version_id=consent["notice_version_id"],
        email=consent["shopper__recognition_email"],
    )
    _count(device, "matched")
    audit_entry_create(
        actor=Actor.device(device),
        action="visit.recognised",
        target=visit,
        data={"consent": consent["pk"], "distance": round(distance, 4), "first_visit": visit.first_visit},
    )
    return DoorAnswer(
        True,
        shopper_reference(operator_id=store.operator_id, shopper_public_id=consent["shopper__public_id"]),
        visit,
        visit.first_visit,
        notice_version_id=consent["notice_version_id"] if visit.first_visit else None,
    )


def _visit_create(*, device: Device, shopper_id: int, method: str, first: bool = False) -> Visit:
    """A visit; a first recognition at this store makes the door show the collection notice, which the door
    then confirms with a `notice_shown` event (C11)."""
    return Visit.objects.create(
        shopper_id=shopper_id,
        store=device.store,
        device=device,
        method=method,
        entered_at=timezone.now(),
        first_visit=first,
    )


@transaction.atomic
def door_entry_pass(*, device: Device, token: str) -> DoorAnswer:
    """Let a shopper in with an entry pass and no face at all (C9): no consent needed."""
    _check_entrance(device)
    entry = entry_pass_get_by_token(token=token, operator_id=device.store.operator_id)
    entry_pass_use(entry_pass=entry, actor=Actor.device(device))
    visit = _visit_create(device=device, shopper_id=entry.shopper_id, method=Visit.Method.ENTRY_PASS)
    notification_record(visit=visit, kind=Notification.Kind.ENTRY_PASS, email=entry.shopper.recognition_email)
    audit_entry_create(
        actor=Actor.device(device),
        action="visit.entry_pass",
        target=visit,
        data={"first_visit": visit.first_visit},
    )
    return DoorAnswer(
        True,
        shopper_reference(operator_id=device.store.operator_id, shopper_public_id=entry.shopper.public_id),
        visit,
        visit.first_visit,
    )
