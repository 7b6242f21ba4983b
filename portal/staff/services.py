"""A staff member's second factor: an authenticator app (TOTP) confirmed with a first code, ten one-time
backup codes, and the check at each sign-in (decision 0035).

django-otp keeps the devices and checks the codes: a TOTP code is accepted once (a replay of the same
time step is refused) and failures slow further tries down, per device, exponentially.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.audit import Actor, audit_entry_create
from core.errors import Conflict, Forbidden, TooManyRequests, ValidationFailed

TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10


def _staff_only(user: Any) -> None:
    if not (user.is_authenticated and user.is_staff):
        raise Forbidden(_("Only staff members have a second factor here."), code="staff_only")


def staff_has_second_factor(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@transaction.atomic
def staff_totp_start(*, user: Any) -> TOTPDevice:
    """The authenticator app waiting for its first code: the one already waiting, or a new one."""
    _staff_only(user)
    if staff_has_second_factor(user):
        raise Conflict(_("Your second factor is already set up."), code="second_factor_exists")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
        audit_entry_create(actor=Actor.staff(user), action="staff.second_factor_started", target=device)
    return device


def _throttled() -> TooManyRequests:
    return TooManyRequests(
        _("Too many wrong codes: wait a little before the next try."), code="second_factor_throttled"
    )


def _code_wrong() -> ValidationFailed:
    message = _("This code is not right, or it was used already.")
    return ValidationFailed(message, code="second_factor_code_wrong", fields={"code": [message]})


@dataclass(frozen=True)
class SecondFactorConfirmed:
    device: TOTPDevice
    backup_codes: list[str]  # shown once, never stored in the clear elsewhere


def staff_totp_confirm(*, user: Any, code: str) -> SecondFactorConfirmed:
    """The first code from the app confirms it; ten backup codes come with it. A wrong code leaves the app
    unconfirmed (and counts towards the device's throttle, which must survive the refusal: no transaction
    around the check)."""
    device = staff_totp_start(user=user)
    if not device.verify_is_allowed()[0]:
        raise _throttled()
    if not device.verify_token(code.strip()):
        raise _code_wrong()
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _backup_codes_replace(user)
        audit_entry_create(
            actor=Actor.staff(user),
            action="staff.second_factor_confirmed",
            target=device,
            data={"backup_codes": len(codes)},
        )
    return SecondFactorConfirmed(device=device, backup_codes=codes)


def _backup_codes_replace(user: Any) -> list[str]:
    backup, _created = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True}
    )
    backup.token_set.all().delete()
    codes = [f"{secrets.randbelow(10**8):08d}" for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=backup, token=code) for code in codes)
    return codes


@transaction.atomic
def staff_backup_codes_renew(*, user: Any) -> list[str]:
    """Ten new backup codes; the old ones stop working."""
    _staff_only(user)
    if not staff_has_second_factor(user):
        raise Conflict(_("Set up your authenticator app first."), code="second_factor_missing")
    codes = _backup_codes_replace(user)
    audit_entry_create(
        actor=Actor.staff(user), action="staff.backup_codes_renewed", target=user, data={"count": len(codes)}
    )
    return codes


def staff_second_factor_check(*, user: Any, code: str) -> Device:
    """The code at sign-in: from the app, or one of the backup codes (each works once). Returns the device
    that accepted it, for `django_otp.login`."""
    _staff_only(user)
    totp = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if totp is None:
        raise Conflict(_("Set up your authenticator app first."), code="second_factor_missing")
    code = code.strip().replace(" ", "")
    if not totp.verify_is_allowed()[0]:
        raise _throttled()
    if totp.verify_token(code):
        return totp
    backup = StaticDevice.objects.filter(user=user, name=BACKUP_DEVICE_NAME, confirmed=True).first()
    if backup is not None and backup.verify_is_allowed()[0] and backup.verify_token(code):
        audit_entry_create(
            actor=Actor.staff(user),
            action="staff.backup_code_used",
            target=user,
            data={"left": backup.token_set.count()},
        )
        return backup
    raise _code_wrong()


@transaction.atomic
def staff_roles_set(*, actor: Actor, user: Any, roles: list[str]) -> set[str]:
    """Give a staff member exactly these roles (decision 0037); audited with the roles before and after."""
    from django.contrib.auth.models import Group

    from portal.staff.roles import ROLES

    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        message = _("Unknown roles: %(roles)s. The roles are: %(known)s.") % {
            "roles": ", ".join(unknown),
            "known": ", ".join(ROLES),
        }
        raise ValidationFailed(message, code="role_unknown", fields={"roles": [message]})
    if not user.is_staff:
        raise Conflict(_("Only a staff account holds a role."), code="not_staff")
    before = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    user.groups.remove(*Group.objects.filter(name__in=set(ROLES) - set(roles)))
    user.groups.add(*Group.objects.filter(name__in=roles))
    audit_entry_create(
        actor=actor,
        action="staff.roles_set",
        target=user,
        data={"before": sorted(before), "after": sorted(set(roles))},
    )
    return set(roles)
