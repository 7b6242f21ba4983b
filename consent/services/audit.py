"""The audit log: every state change appends a hash-chained entry inside its own transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from consent.audit_chain import audit_entry_digest
from consent.models import ActorType, AuditChainHead, AuditEntry, Channel


@dataclass(frozen=True)
class Actor:
    """Who did something, through which channel."""

    type: str
    id: str = ""
    channel: str = Channel.SYSTEM

    @classmethod
    def shopper(cls, user: Any, channel: str) -> Actor:
        return cls(ActorType.SHOPPER, str(user.pk), channel)

    @classmethod
    def staff(cls, user: Any) -> Actor:
        return cls(ActorType.STAFF, str(user.pk), Channel.STAFF)

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorType.SYSTEM, "", Channel.SYSTEM)


@transaction.atomic
def audit_entry_create(
    *, actor: Actor, action: str, target: models.Model | tuple[str, str], data: dict[str, Any] | None = None
) -> AuditEntry:
    """Append an entry to the chain, inside the caller's transaction.

    The chain head row is locked, so concurrent writers are chained one after the other
    and a rolled-back change leaves no entry behind.
    """
    if isinstance(target, models.Model):
        target_type, target_id = target._meta.label_lower, str(target.pk)
    else:
        target_type, target_id = target
    # Round-trip through JSON so the hash covers exactly what the database stores.
    clean_data = json.loads(json.dumps(data or {}, default=str))
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    occurred_at = timezone.now().astimezone(UTC)
    sequence = head.last_sequence + 1
    entry_hash = audit_entry_digest(
        sequence=sequence,
        occurred_at=occurred_at,
        actor_type=actor.type,
        actor_id=actor.id,
        channel=actor.channel,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=clean_data,
        previous_hash=head.last_hash,
    )
    entry = AuditEntry.objects.create(
        sequence=sequence,
        occurred_at=occurred_at,
        actor_type=actor.type,
        actor_id=actor.id,
        channel=actor.channel,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=clean_data,
        previous_hash=head.last_hash,
        entry_hash=entry_hash,
    )
    head.last_sequence, head.last_hash = sequence, entry_hash
    head.save(update_fields=["last_sequence", "last_hash"])
    return entry
