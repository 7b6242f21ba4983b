"""Entry passes: a signed, short-lived QR a shopper shows at the door instead of a face (C9).

The token carries only a random id, signed, and a timestamp (`consent.entry_pass_tokens`); who the
pass belongs to, and which operator's doors accept it, is known only to the database
(docs/decisions/0009-entry-pass-scope.md). Finding the pass behind a token shown at a door is a
selector (`consent.selectors.entry_pass_get_by_token`); letting someone in with it is `entry_pass_use`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.entry_pass_tokens import entry_pass_token
from consent.models import EntryPass
from core.audit import Actor, audit_entry_create
from core.errors import Conflict


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
    token = entry_pass_token(token_id=entry_pass.token_id)
    audit_entry_create(
        actor=Actor.shopper(shopper, channel),
        action="entry_pass.issued",
        target=entry_pass,
        data={"expires_at": entry_pass.expires_at.isoformat(), "operator": entry_pass.operator_id},
    )
    return IssuedEntryPass(entry_pass=entry_pass, token=token)


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


@transaction.atomic
def entry_pass_use(*, entry_pass: EntryPass, actor: Actor) -> EntryPass:
    """A door lets someone in with the pass: once only (409 `pass_used` after that)."""
    entry_pass = EntryPass.objects.select_for_update().get(pk=entry_pass.pk)
    if entry_pass.used_at is not None:
        raise Conflict(_("This entry pass has already been used; show a fresh one."), code="pass_used")
    entry_pass.used_at = timezone.now()
    entry_pass.save(update_fields=["used_at"])
    audit_entry_create(actor=actor, action="entry_pass.used", target=entry_pass)
    return entry_pass


@dataclass(frozen=True)
class EntryPassesPurged:
    """How many passes past their lifetime a purge deleted, by what had become of them."""

    used: int
    revoked: int
    unused: int

    @property
    def total(self) -> int:
        return self.used + self.revoked + self.unused


@transaction.atomic
def entry_passes_purge(*, now: datetime | None = None) -> EntryPassesPurged:
    """Delete every entry pass past its lifetime, used, revoked or never shown; run on schedule (F7).

    A used pass stays until its lifetime ends, so a copy shown again at a door within it still answers
    `pass_used`. Each run leaves one audit entry with the counts, zero included: the schedule's proof.
    Safe to run twice: the second finds nothing.
    """
    now = now or timezone.now()
    # The set is fixed by `now`: a pass past its lifetime can no longer be used or revoked.
    due = EntryPass.objects.filter(expires_at__lte=now)
    counts = due.aggregate(
        used=Count("pk", filter=Q(used_at__isnull=False)),
        revoked=Count("pk", filter=Q(used_at__isnull=True, revoked_at__isnull=False)),
        unused=Count("pk", filter=Q(used_at__isnull=True, revoked_at__isnull=True)),
    )
    purged = EntryPassesPurged(**counts)
    due.delete()
    audit_entry_create(
        actor=Actor.system(),
        action="retention.entry_passes_purged",
        target=("consent.entrypass", "*"),
        data={"used": purged.used, "revoked": purged.revoked, "unused": purged.unused, "expired_by": now.isoformat()},
    )
    return purged
