"""Writes for operators, stores and devices (the door's are in `stores.door.services`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import Actor, audit_entry_create
from core.errors import Conflict, ValidationFailed
from stores.models import Device, Operator, Store
from stores.sealing import device_secret_seal


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
