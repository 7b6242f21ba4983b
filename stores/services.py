"""Writes for operators, stores and devices (the door's are in `stores.door.services`)."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.selectors import operator_has_consent_records
from core.audit import Actor, audit_entry_create
from core.errors import Conflict, ValidationFailed
from core.time_zones import site_time_zone
from stores.models import Device, GalleryCheck, Operator, Store
from stores.notifications import one_to_n_changed_notify
from stores.sealing import device_secret_seal
from stores.selectors import operator_match_rule, operator_target_fpir
from stores.shards.selectors import shard_queue

# The gallery check, run in a match worker (stores.tasks; docs/decisions/0025).
GALLERY_CHECK_TASK = "stores.gallery_check"

# What a ceiling and a margin can mean at all (the models' validators say the same).
MATCH_THRESHOLD_LOWEST = 0.05
MATCH_MARGIN_HIGHEST = 0.5

# "Leave as it is" for a field whose None means something (target_fpir: None is the site's setting).
UNCHANGED: Any = object()


def _slug_check(instance: Operator | Store) -> None:
    """409 `slug_taken` when another operator (or another store of the same operator) has this slug."""
    same_slug = type(instance).objects.filter(slug=instance.slug).exclude(pk=instance.pk)
    if isinstance(instance, Store):
        same_slug = same_slug.filter(operator_id=instance.operator_id)
    if same_slug.exists():
        message = _("This slug is already taken; choose another.")
        raise Conflict(message, code="slug_taken", fields={"slug": [message]})


def _save_claiming_slug(instance: Operator | Store, *, update_fields: list[str] | None = None) -> None:
    """Save a row whose slug must be unique. Two saves at once can both pass the check before it; the
    database's constraint decides, and the loser answers the same 409 `slug_taken`, never a 500."""
    try:
        with transaction.atomic():
            instance.save(update_fields=update_fields)
    except IntegrityError:
        _slug_check(instance)
        raise


def _changes(instance, values: dict[str, Any]) -> list[str]:
    """Set the given values (None means "leave as it is") and name the fields that really changed."""
    changed = []
    for name, value in values.items():
        if value is not None and getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def target_fpir_check(*, target_fpir: float | None) -> None:
    """An operator may hold its doors to a lower false identification rate than the site's, never a higher
    one: 400 `target_fpir_too_high` (or `invalid` for a rate that is not above 0)."""
    if target_fpir is None:
        return
    if target_fpir <= 0:
        message = _("The target must be above 0.")
        raise ValidationFailed(message, code="invalid", fields={"target_fpir": [message]})
    if target_fpir > settings.MATCH_TARGET_FPIR:
        message = _("The target may be lower than the site's %(default)s, never higher.") % {
            "default": settings.MATCH_TARGET_FPIR
        }
        raise ValidationFailed(message, code="target_fpir_too_high", fields={"target_fpir": [message]})


def match_rule_check(*, match_threshold: float | None, match_margin: float | None) -> None:
    """An operator's doors may be stricter than the site's settings, never looser: a ceiling above
    MATCH_THRESHOLD answers 400 `match_threshold_too_high`, a margin below MATCH_MARGIN 400
    `match_margin_too_low`; values outside what a face distance can mean answer `invalid`."""
    if match_threshold is not None:
        if not match_threshold >= MATCH_THRESHOLD_LOWEST:
            message = _("The ceiling must be at least %(lowest)s.") % {"lowest": MATCH_THRESHOLD_LOWEST}
            raise ValidationFailed(message, code="invalid", fields={"match_threshold": [message]})
        if match_threshold > settings.MATCH_THRESHOLD:
            message = _("The ceiling may be lower than the site's %(default)s, never higher.") % {
                "default": settings.MATCH_THRESHOLD
            }
            raise ValidationFailed(message, code="match_threshold_too_high", fields={"match_threshold": [message]})
    if match_margin is not None:
        if match_margin > MATCH_MARGIN_HIGHEST:
            message = _("The margin must be at most %(highest)s.") % {"highest": MATCH_MARGIN_HIGHEST}
            raise ValidationFailed(message, code="invalid", fields={"match_margin": [message]})
        if match_margin < settings.MATCH_MARGIN:
            message = _("The margin may be larger than the site's %(default)s, never smaller.") % {
                "default": settings.MATCH_MARGIN
            }
            raise ValidationFailed(message, code="match_margin_too_low", fields={"match_margin": [message]})


@transaction.atomic
def operator_match_rule_update(
    *,
    actor: Actor,
    operator: Operator,
    match_threshold: float | None = UNCHANGED,
    match_margin: float | None = UNCHANGED,
) -> Operator:
    """Change the operator's match rule: its ceiling and margin (None: back to the site's setting; leave an
    argument out to keep it). A privacy officer's act (docs/decisions/0025): audited with both values
    before and after, and a gallery check for the operator is sent after the commit, so the 1:N threshold
    is chosen again under the new rule. No change, no write."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    wanted = {"match_threshold": match_threshold, "match_margin": match_margin}
    wanted = {name: value for name, value in wanted.items() if value is not UNCHANGED}
    for name, value in wanted.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            message = _("Enter a number.")
            raise ValidationFailed(message, code="invalid", fields={name: [message]})
    match_rule_check(**{"match_threshold": None, "match_margin": None, **wanted})
    before = {name: getattr(operator, name) for name in wanted}
    changed = sorted(name for name, value in wanted.items() if before[name] != value)
    if not changed:
        return operator
    for name in changed:
        setattr(operator, name, wanted[name])
    operator.full_clean()
    operator.save(update_fields=changed)
    audit_entry_create(
        actor=actor,
        action="operator.match_rule_changed",
        target=operator,
        data={
            "fields": changed,
            **{name: [before[name], getattr(operator, name)] for name in changed},
            # What the doors apply from now on (the site's settings where the operator has none).
            "in_force": asdict(operator_match_rule(operator)),
        },
    )
    operator_id = operator.pk
    transaction.on_commit(
        lambda: gallery_check_send(operator_id=operator_id, trigger=GalleryCheck.Trigger.RULE_CHANGED.value)
    )
    return operator


def gallery_check_send(*, operator_id: int, trigger: str) -> None:
    """Ask a match worker of the operator's shard, which holds its index, to check its gallery (decision 0041):
    a worker of another shard would find no gallery to check."""
    shard = Operator.objects.filter(pk=operator_id).values_list("match_shard__name", flat=True).first()
    if shard is not None:
        current_app.tasks[GALLERY_CHECK_TASK].apply_async(
            kwargs={"operator_id": operator_id, "trigger": trigger}, queue=shard_queue(shard)
        )


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
    time_zone: str = "",
    contact_address: str = "",
    template_retention_days: int | None = None,
    footprint_retention_days: int | None = None,
    target_fpir: float | None = None,
) -> Operator:
    target_fpir_check(target_fpir=target_fpir)
    operator = Operator(
        name=name,
        slug=slug,
        legal_name=legal_name,
        jurisdiction=jurisdiction,
        time_zone=time_zone or site_time_zone(),
        contact_email=contact_email,
        contact_address=contact_address,
        privacy_officer_name=privacy_officer_name,
        privacy_officer_email=privacy_officer_email,
        target_fpir=target_fpir,
    )
    _changes(
        operator,
        {"template_retention_days": template_retention_days, "footprint_retention_days": footprint_retention_days},
    )
    _slug_check(operator)
    operator.full_clean()
    _save_claiming_slug(operator)
    audit_entry_create(
        actor=actor,
        action="operator.created",
        target=operator,
        data={
            "slug": slug,
            "template_retention_days": operator.template_retention_days,
            "footprint_retention_days": operator.footprint_retention_days,
            "target_fpir": operator.target_fpir,
        },
    )
    return operator


@transaction.atomic
def operator_update(
    *,
    actor: Actor,
    operator: Operator,
    name: str | None = None,
    slug: str | None = None,
    legal_name: str | None = None,
    jurisdiction: str | None = None,
    time_zone: str | None = None,
    contact_email: str | None = None,
    contact_address: str | None = None,
    privacy_officer_name: str | None = None,
    privacy_officer_email: str | None = None,
    template_retention_days: int | None = None,
    footprint_retention_days: int | None = None,
    target_fpir: float | None = UNCHANGED,
) -> Operator:
    """Change an operator's details; None leaves a field as it is (but `target_fpir=None` goes back to the
    site's setting; leave it out to keep it). No change, no write."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    before = {
        "template_retention_days": operator.template_retention_days,
        "footprint_retention_days": operator.footprint_retention_days,
        "target_fpir": operator.target_fpir,
    }
    changed = _changes(
        operator,
        {
            "name": name,
            "slug": slug,
            "legal_name": legal_name,
            "jurisdiction": jurisdiction,
            "time_zone": time_zone,
            "contact_email": contact_email,
            "contact_address": contact_address,
            "privacy_officer_name": privacy_officer_name,
            "privacy_officer_email": privacy_officer_email,
            "template_retention_days": template_retention_days,
            "footprint_retention_days": footprint_retention_days,
        },
    )
    if target_fpir is not UNCHANGED and target_fpir != operator.target_fpir:
        target_fpir_check(target_fpir=target_fpir)
        operator.target_fpir = target_fpir
        changed.append("target_fpir")
    if not changed:
        return operator
    _slug_check(operator)
    operator.full_clean()
    _save_claiming_slug(operator, update_fields=changed)
    # What the retention page promises changes with these two, so the log keeps the numbers; the
    # target is a match setting (S3), kept likewise.
    retention = {
        name: [before[name], getattr(operator, name)] for name in before if name in changed and name != "target_fpir"
    }
    target = [before["target_fpir"], operator.target_fpir] if "target_fpir" in changed else None
    audit_entry_create(
        actor=actor,
        action="operator.changed",
        target=operator,
        data={
            "fields": sorted(changed),
            **({"retention_days": retention} if retention else {}),
            **({"target_fpir": target} if target else {}),
        },
    )
    return operator


@transaction.atomic
def operator_delete(*, actor: Actor, operator: Operator) -> None:
    """Delete an operator set up by mistake: only while nothing refers to it.

    Its stores, notices, consent history and entry passes are records the operator answers for;
    an operator that has any of them is kept.
    """
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    if operator.stores.exists() or operator_has_consent_records(operator_id=operator.pk):
        raise Conflict(
            _("%(operator)s has stores, notices, consents or entry passes, so it cannot be deleted.")
            % {"operator": operator},
            code="operator_in_use",
        )
    target = (operator._meta.label_lower, str(operator.pk))
    operator.delete()
    audit_entry_create(actor=actor, action="operator.deleted", target=target, data={"slug": operator.slug})


@transaction.atomic
def store_create(
    *, actor: Actor, operator: Operator, name: str, slug: str, address: str = "", mode: str = Store.Mode.ONE_TO_MANY
) -> Store:
    store = Store(operator=operator, name=name, slug=slug, address=address, mode=mode)
    _slug_check(store)
    store.full_clean()
    _save_claiming_slug(store)
    audit_entry_create(
        actor=actor, action="store.created", target=store, data={"operator": operator.slug, "slug": slug, "mode": mode}
    )
    return store


@transaction.atomic
def store_update(
    *,
    actor: Actor,
    store: Store,
    name: str | None = None,
    slug: str | None = None,
    address: str | None = None,
    mode: str | None = None,
) -> Store:
    """Change a store's details; None leaves a field as it is. Its operator, status and signage are
    not changed here (a store never moves to another data controller; signage and going live have
    their own services)."""
    store = Store.objects.select_for_update().select_related("operator").get(pk=store.pk)
    changed = _changes(store, {"name": name, "slug": slug, "address": address, "mode": mode})
    if not changed:
        return store
    _slug_check(store)
    store.full_clean()
    _save_claiming_slug(store, update_fields=changed)
    audit_entry_create(
        actor=actor,
        action="store.changed",
        target=store,
        data={"fields": sorted(changed), **({"mode": store.mode} if "mode" in changed else {})},
    )
    return store


@transaction.atomic
def store_delete(*, actor: Actor, store: Store) -> None:
    """Delete a store set up by mistake: only while it has no devices (and so no visits)."""
    store = Store.objects.select_for_update().select_related("operator").get(pk=store.pk)
    if store.devices.exists() or store.visits.exists():
        raise Conflict(
            _("%(store)s has devices or visits, so it cannot be deleted.") % {"store": store}, code="store_in_use"
        )
    target = (store._meta.label_lower, str(store.pk))
    store.delete()
    audit_entry_create(
        actor=actor, action="store.deleted", target=target, data={"operator": store.operator.slug, "slug": store.slug}
    )


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


def device_location_check(*, location: str) -> None:
    """Devices never watch private spaces (fitting rooms, toilets): 400 `private_space`."""
    if location in Device.PRIVATE_LOCATIONS:
        raise ValidationFailed(
            _("Devices cannot be placed in private spaces such as fitting rooms or toilets."),
            code="private_space",
            fields={"location": [_("Not allowed in a private space.")]},
        )


@transaction.atomic
def device_register(*, actor: Actor, store: Store, name: str, kind: str, location: str) -> IssuedDevice:
    device_location_check(location=location)
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
def device_update(*, actor: Actor, device: Device, name: str | None = None, location: str | None = None) -> Device:
    """Rename or move a device; None leaves a field as it is. Its store, kind and secret stay."""
    device = Device.objects.select_for_update().get(pk=device.pk)
    if location is not None:
        device_location_check(location=location)
    changed = _changes(device, {"name": name, "location": location})
    if not changed:
        return device
    device.full_clean(exclude=["secret_nonce", "secret_ciphertext"])
    device.save(update_fields=changed)
    audit_entry_create(
        actor=actor,
        action="device.changed",
        target=device,
        data={"fields": sorted(changed), **({"location": location} if "location" in changed else {})},
    )
    return device


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


def _plain(row: Any) -> dict[str, Any]:
    """A figures row as JSON can hold it (numpy numbers become Python's)."""
    return {name: value.item() if hasattr(value, "item") else value for name, value in asdict(row).items()}


@transaction.atomic
def gallery_check_record(
    *, operator_id: int, trigger: str, check: Any, point: Any, thresholds: list[float], tir_floor: float
) -> GalleryCheck | None:
    """Store one gallery check (a `biometrics.identification.SelfCheck` and the `OperatingPoint` chosen from
    it) as the operator's operating point, from now on. When 1:N stops or resumes, the operator's
    privacy officer is told and the log says why (docs/decisions/0025). None if the operator is gone."""
    operator = Operator.objects.select_for_update().filter(pk=operator_id).first()
    if operator is None:
        return None
    previous = GalleryCheck.objects.filter(operator=operator).order_by("-id").first()
    recorded = GalleryCheck.objects.create(
        operator=operator,
        trigger=trigger,
        gallery_size=check.gallery_size,
        sampled=check.sampled,
        thresholds=list(thresholds),
        margin=check.margin,
        target_fpir=operator_target_fpir(operator),
        tir_floor=tir_floor,
        figures=[_plain(row) for row in check.figures],
        threshold=point.threshold,
        one_to_n=point.one_to_n,
        reason=point.reason,
    )
    audit_entry_create(
        actor=Actor.system(),
        action="gallery_check.recorded",
        target=recorded,
        data={
            "operator": operator.slug,
            "trigger": trigger,
            "gallery_size": recorded.gallery_size,
            "sampled": recorded.sampled,
            "threshold": recorded.threshold,
            "one_to_n": recorded.one_to_n,
            "fpir_upper": point.fpir_upper,
            "tir": point.tir,
        },
    )
    was_on = previous.one_to_n if previous is not None else True
    if recorded.one_to_n != was_on:
        audit_entry_create(
            actor=Actor.system(),
            action="operator.one_to_n_resumed" if recorded.one_to_n else "operator.one_to_n_stopped",
            target=operator,
            data={"gallery_check": recorded.pk, "reason": recorded.reason, "target_fpir": recorded.target_fpir},
        )
        one_to_n_changed_notify(operator=operator, check=recorded)
    return recorded
