"""Writes for operators, stores and devices, and what happens at the door."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from celery.exceptions import TaskRevokedError
from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from biometrics.faces import REASONS, validate_encoding
from biometrics.models import FaceTemplate
from biometrics.uploads import photo_size_check
from consent.selectors import face_consent_for_match
from consent.services import entry_pass_verify
from core.audit import Actor, audit_entry_create
from core.db import PreparedQuery
from core.errors import Conflict, Forbidden, ServiceUnavailable, ValidationFailed
from core.models import ActorType, Channel
from stores.models import Device, MatchEvent, Operator, ProbeCounter, Store, Visit
from stores.probes import answers_by_redis, probe_answer_wait, probe_photo_send, probe_photo_withdraw
from stores.sealing import device_secret_seal, shopper_reference

logger = logging.getLogger(__name__)


@transaction.atomic
def operator_create(
    *,
    actor: Actor,
    name: str,
    slug: str,
    contact_email: str,
    privacy_officer_name: str,
    privacy_officer_email: str,
    legal_name: str = "",
    jurisdiction: str = "CN",
    contact_address: str = "",
) -> Operator:
    operator = Operator(
        name=name,
        slug=slug,
        legal_name=legal_name,
        jurisdiction=jurisdiction,
        contact_email=contact_email,
        contact_address=contact_address,
        privacy_officer_name=privacy_officer_name,
        privacy_officer_email=privacy_officer_email,
    )
    operator.full_clean()
    operator.save()
    audit_entry_create(actor=actor, action="operator.created", target=operator, data={"slug": slug})
    return operator


@transaction.atomic
def store_create(
    *, actor: Actor, operator: Operator, name: str, slug: str, address: str = "", mode: str = Store.Mode.ONE_TO_MANY
) -> Store:
    store = Store(operator=operator, name=name, slug=slug, address=address, mode=mode)
    store.full_clean()
    store.save()
    audit_entry_create(
        actor=actor, action="store.created", target=store, data={"operator": operator.slug, "slug": slug, "mode": mode}
    )
    return store


@transaction.atomic
def store_confirm_signage(*, actor: Actor, store: Store, confirmed_by: str) -> Store:
    """Someone on site confirms the face-recognition signs are up at every entrance (PIPL 26)."""
    store = Store.objects.select_for_update().get(pk=store.pk)
    store.signage_confirmed_at = timezone.now()
    store.signage_confirmed_by = confirmed_by
    store.save(update_fields=["signage_confirmed_at", "signage_confirmed_by"])
    audit_entry_create(actor=actor, action="store.signage_confirmed", target=store, data={"by": confirmed_by})
    return store


@transaction.atomic
def store_go_live(*, actor: Actor, store: Store) -> Store:
    store = Store.objects.select_for_update().get(pk=store.pk)
    if store.signage_confirmed_at is None:
        raise Conflict(
            _("A store cannot go live before its face-recognition signage is confirmed."), code="signage_not_confirmed"
        )
    store.status = Store.Status.LIVE
    store.save(update_fields=["status"])
    audit_entry_create(actor=actor, action="store.live", target=store)
    return store


@dataclass(frozen=True)
class IssuedDevice:
    device: Device
    secret: str  # shown once; only its sealed form is kept


def _new_secret() -> str:
    return "fcs_" + secrets.token_urlsafe(32)


@transaction.atomic
def device_register(*, actor: Actor, store: Store, name: str, kind: str, location: str) -> IssuedDevice:
    if location in Device.PRIVATE_LOCATIONS:
        raise ValidationFailed(
            _("Devices cannot be placed in private spaces such as fitting rooms or toilets."),
            code="private_space",
            fields={"location": [_("Not allowed in a private space.")]},
        )
    if kind not in Device.Kind.values:
        raise ValidationFailed(_("Unknown device kind."), code="invalid", fields={"kind": [_("Unknown device kind.")]})
    device_id = "dev_" + secrets.token_hex(8)
    secret = _new_secret()
    key_id, nonce, ciphertext = device_secret_seal(secret, device_id=device_id)
    device = Device(
        device_id=device_id,
        store=store,
        name=name,
        kind=kind,
        location=location,
        secret_key_id=key_id,
        secret_nonce=nonce,
        secret_ciphertext=ciphertext,
    )
    device.full_clean(exclude=["secret_nonce", "secret_ciphertext"])
    device.save()
    audit_entry_create(
        actor=actor,
        action="device.registered",
        target=device,
        data={"store": store.pk, "kind": kind, "location": location},
    )
    return IssuedDevice(device=device, secret=secret)


@transaction.atomic
def device_rotate_secret(*, actor: Actor, device: Device) -> IssuedDevice:
    device = Device.objects.select_for_update().get(pk=device.pk)
    secret = _new_secret()
    device.secret_key_id, device.secret_nonce, device.secret_ciphertext = device_secret_seal(
        secret, device_id=device.device_id
    )
    device.secret_rotated_at = timezone.now()
    device.save(update_fields=["secret_key_id", "secret_nonce", "secret_ciphertext", "secret_rotated_at"])
    audit_entry_create(actor=actor, action="device.secret_rotated", target=device)
    return IssuedDevice(device=device, secret=secret)


@transaction.atomic
def device_revoke(*, actor: Actor, device: Device) -> Device:
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.revoked_at is None:
        device.revoked_at = timezone.now()
        device.save(update_fields=["revoked_at"])
        audit_entry_create(actor=actor, action="device.revoked", target=device)
    return device


# The door ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoorAnswer:
    matched: bool
    shopper_ref: str | None = None
    visit: Visit | None = None
    first_visit: bool = False
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
    *, device: Device, photo: bytes | None, encoding: list[float] | None, entry_pass: str | None
) -> DoorAnswer:
    """Recognise a face at the door: 1:N among the operator's consenting shoppers, or 1:1 with a pass.

    The worker proposes a candidate; this confirms it against the database (active consent,
    templates still held) in the transaction that records the visit, so no withdrawn shopper
    is ever returned, whatever the worker's index holds.
    """
    _check_entrance(device)
    store = device.store
    if (photo is None) == (encoding is None):
        raise ValidationFailed(_("Send either a photo or an encoding."), code="probe_required")
    if encoding is not None:
        encoding = validate_encoding(encoding).tolist()
    if photo is not None:
        photo_size_check(photos=[photo])
    entry = entry_pass_verify(token=entry_pass, operator_id=store.operator_id) if entry_pass else None
    if store.mode == Store.Mode.ONE_TO_ONE and entry is None:
        raise ValidationFailed(
            _("This store checks faces against an entry pass; send one."), code="entry_pass_required"
        )
    asked = time.perf_counter()
    result = _ask_match_worker(
        operator_id=store.operator_id, photo=photo, encoding=encoding, shopper_id=entry.shopper_id if entry else None
    )
    timings = {"worker": _ms_since(asked)}
    if result.get("engine_ms") is not None:
        timings["engine"] = result["engine_ms"]
    if result.get("error") in ("probe_expired", "worker_failed"):  # too late for this door, or it broke
        raise _match_unavailable()
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
    answer = _record_match(device=device, shopper_id=result["shopper_id"], distance=result["distance"], entry=entry)
    return replace(answer, timings={**timings, "record": _ms_since(recording)})


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _match_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        _("No match worker answered in time; let the shopper in another way."), code="match_unavailable"
    )


def _ask_match_worker(**kwargs) -> dict:
    from stores.tasks import match_probe_task

    photo = kwargs.pop("photo")
    probe_id = uuid.uuid4().hex
    by_redis = answers_by_redis()
    reference, sent = None, None
    try:
        reference = probe_photo_send(photo, probe_id=probe_id) if photo is not None else None
        sent = match_probe_task.apply_async(
            kwargs={**kwargs, "probe_id": probe_id, "photo": reference, "answer_in": "redis" if by_redis else None},
            ignore_result=by_redis,  # without Redis the answer comes back as the task's result
            expires=settings.MATCH_TIMEOUT_SECONDS,
            argsrepr="()",
            kwargsrepr=f"(operator {kwargs['operator_id']}, probe hidden)",
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
            probe_photo_withdraw(reference, probe_id=probe_id)
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
            visited_before=Exists(Visit.objects.filter(shopper_id=OuterRef("shopper_id"), store_id=store_id)),
        )
        .values("pk", "notice_version_id", "shopper__public_id", "holds_template", "visited_before")
        .order_by("pk")[:1]
    ),
    shopper_id=int,
    operator_id=int,
    store_id=int,
    now=datetime,
)


@transaction.atomic
def _record_match(*, device: Device, shopper_id: int, distance: float, entry) -> DoorAnswer:
    store = device.store
    # One query confirms the candidate (consent active, template held), locks the consent and says
    # whether the shopper has been recognised at this store before; only ids come back.
    found = _door_confirmation.rows(
        shopper_id=shopper_id, operator_id=store.operator_id, store_id=store.pk, now=timezone.now()
    )
    consent = found[0] if found else None
    if consent is None or not consent["holds_template"]:
        _count(device, "no_match")
        return DoorAnswer(matched=False)
    if entry is not None:
        _entry_pass_use(entry)
    visit = _visit_create(
        device=device,
        shopper_id=shopper_id,
        method=Visit.Method.FACE_AND_PASS if entry else Visit.Method.FACE,
        first=not consent["visited_before"],
    )
    MatchEvent.objects.create(
        visit=visit,
        shopper_id=shopper_id,
        device=device,
        store=store,
        distance=distance,
        mode=Store.Mode.ONE_TO_ONE if entry else Store.Mode.ONE_TO_MANY,
        consent_id=consent["pk"],
        notice_version_id=consent["notice_version_id"],
        occurred_at=visit.entered_at,
    )
    _count(device, "matched")
    audit_entry_create(
        actor=Actor(ActorType.DEVICE, device.device_id, Channel.DEVICE),
        action="visit.recognised",
        target=visit,
        data={"consent": consent["pk"], "distance": round(distance, 4), "first_visit": visit.first_visit},
    )
    return DoorAnswer(
        True,
        shopper_reference(operator_id=store.operator_id, shopper_public_id=consent["shopper__public_id"]),
        visit,
        visit.first_visit,
    )


def _visit_create(*, device: Device, shopper_id: int, method: str, first: bool | None = None) -> Visit:
    """A visit; the first recognised one at this store makes the door show the collection notice (C11)."""
    if first is None:
        first = not Visit.objects.filter(shopper_id=shopper_id, store=device.store).exists()
    now = timezone.now()
    return Visit.objects.create(
        shopper_id=shopper_id,
        store=device.store,
        device=device,
        method=method,
        entered_at=now,
        first_visit=first,
        notice_shown_at=now if first else None,
    )


def _entry_pass_use(entry) -> None:
    entry = type(entry).objects.select_for_update().get(pk=entry.pk)
    if entry.used_at is not None:
        raise Conflict(_("This entry pass has already been used; show a fresh one."), code="pass_used")
    entry.used_at = timezone.now()
    entry.save(update_fields=["used_at"])


@transaction.atomic
def door_entry_pass(*, device: Device, token: str) -> DoorAnswer:
    """Let a shopper in with an entry pass and no face at all (C9): no consent needed."""
    _check_entrance(device)
    entry = entry_pass_verify(token=token, operator_id=device.store.operator_id)
    _entry_pass_use(entry)
    visit = _visit_create(device=device, shopper_id=entry.shopper_id, method=Visit.Method.ENTRY_PASS)
    audit_entry_create(
        actor=Actor(ActorType.DEVICE, device.device_id, Channel.DEVICE),
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
