"""Entry passes: a signed, short-lived QR a shopper shows at the door instead of a face (C9).

The token carries only a random id, signed with a key derived from SECRET_KEY, and a
timestamp; who the pass belongs to, and which operator's doors accept it, is known only to
the database (docs/decisions/0009-entry-pass-scope.md).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import EntryPass
from core.audit import Actor, audit_entry_create
from core.errors import DomainError

SIGNING_SALT = "faceconsent.entry-pass.v1"


class EntryPassRefused(DomainError):
    status = 403
    code = "pass_invalid"
    message = "This entry pass is not valid."


@dataclass(frozen=True)
class IssuedEntryPass:
    entry_pass: EntryPass
    token: str


@transaction.atomic
def entry_pass_issue(*, shopper: Any, channel: str, operator: Any = None) -> IssuedEntryPass:
    """A new pass for the shopper; any shopper may have one, whatever they consented to.

    With an operator, only that operator's doors accept it; without, any operator's do.
    """
    now = timezone.now()
    entry_pass = EntryPass.objects.create(
        token_id=secrets.token_urlsafe(32),
        shopper=shopper,
        operator=operator,
        issued_at=now,
        expires_at=now + settings.ENTRY_PASS_LIFETIME,
    )
    token = signing.dumps({"i": entry_pass.token_id}, salt=SIGNING_SALT)
    audit_entry_create(
        actor=Actor.shopper(shopper, channel),
        action="entry_pass.issued",
        target=entry_pass,
        data={"expires_at": entry_pass.expires_at.isoformat(), "operator": entry_pass.operator_id},
    )
    return IssuedEntryPass(entry_pass=entry_pass, token=token)


def entry_pass_verify(*, token: str, operator_id: int) -> EntryPass:
    """The pass behind a token shown at one of this operator's doors, or a refusal: pass_invalid,
    pass_wrong_operator, pass_revoked or pass_expired."""
    max_age = settings.ENTRY_PASS_LIFETIME.total_seconds()
    try:
        payload = signing.loads(token, salt=SIGNING_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise EntryPassRefused(_("This entry pass has expired; show a fresh one."), code="pass_expired") from error
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise EntryPassRefused(_("This entry pass is not valid."), code="pass_invalid") from error
    token_id = payload.get("i") if isinstance(payload, dict) else None
    entry_pass = EntryPass.objects.select_related("shopper").filter(token_id=str(token_id)).first()
    if entry_pass is None:
        raise EntryPassRefused(_("This entry pass is not valid."), code="pass_invalid")
    # First, so that a door the shopper did not choose learns nothing else about the pass or its holder.
    if entry_pass.operator_id is not None and entry_pass.operator_id != operator_id:
        raise EntryPassRefused(_("This entry pass does not work at this store."), code="pass_wrong_operator")
    if not entry_pass.shopper.is_active:
        raise EntryPassRefused(_("This entry pass is not valid."), code="pass_invalid")
    if entry_pass.revoked_at is not None:
        raise EntryPassRefused(_("This entry pass has been revoked."), code="pass_revoked")
    if entry_pass.expires_at <= timezone.now():
        raise EntryPassRefused(_("This entry pass has expired; show a fresh one."), code="pass_expired")
    return entry_pass


@transaction.atomic
def entry_pass_revoke(*, entry_pass: EntryPass, channel: str) -> EntryPass:
    entry_pass = EntryPass.objects.select_for_update().get(pk=entry_pass.pk)
    if entry_pass.revoked_at is None:
        entry_pass.revoked_at = timezone.now()
        entry_pass.save(update_fields=["revoked_at"])
        audit_entry_create(
            actor=Actor.shopper(entry_pass.shopper, channel), action="entry_pass.revoked", target=entry_pass
        )
    return entry_pass
