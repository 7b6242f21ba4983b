"""The audit log: every state change appends a hash-chained entry inside its own transaction.

`audit_entry_create` writes (callers pass their own transaction), `audit_chain_verify` reads
the whole chain back and names the first entry that does not hold.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from core.db import PreparedQuery
from core.models import ActorType, AuditChainHead, AuditEntry, Channel


def audit_entry_digest(entry: AuditEntry) -> str:
    """The hash of an entry's content and its link to the entry before it: one canonical form,
    used by the writer and the verifier alike."""
    canonical = json.dumps(
        [
            entry.sequence,
            entry.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            entry.actor_type,
            entry.actor_id,
            entry.channel,
            entry.action,
            entry.target_type,
            entry.target_id,
            entry.data,
            entry.previous_hash,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


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

    @classmethod
    def device(cls, device: Any) -> Actor:
        """A store device acting on its own signed request (the door), never a person."""
        return cls(ActorType.DEVICE, device.device_id, Channel.DEVICE)


# Every state change locks and moves the chain head, so the ORM writes these two statements once.
_chain_head_lock = PreparedQuery(
    lambda: AuditChainHead.objects.select_for_update().filter(id=1).values("last_sequence", "last_hash")
)
_chain_head_move = PreparedQuery(
    lambda sequence, entry_hash: AuditChainHead.objects.filter(id=1),
    updates=lambda sequence, entry_hash: {"last_sequence": sequence, "last_hash": entry_hash},
    sequence=int,
    entry_hash=str,
)


# Part of the caller's transaction (no savepoint of its own): it commits or rolls back with the change.
@transaction.atomic(savepoint=False)
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
    heads = _chain_head_lock.rows()
    if not heads:  # the chain's first entry
        AuditChainHead.objects.get_or_create(id=1)
        heads = _chain_head_lock.rows()
    last_sequence, last_hash = heads[0]["last_sequence"], heads[0]["last_hash"]
    entry = AuditEntry(
        sequence=last_sequence + 1,
        occurred_at=timezone.now().astimezone(UTC),
        actor_type=actor.type,
        actor_id=actor.id,
        channel=actor.channel,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=clean_data,
        previous_hash=last_hash,
    )
    entry.entry_hash = audit_entry_digest(entry)
    entry.save(force_insert=True)
    _chain_head_move.update(sequence=entry.sequence, entry_hash=entry.entry_hash)
    return entry


@dataclass(frozen=True)
class AuditChainReport:
    checked: int
    broken_sequence: int | None = None
    broken_entry_id: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_sequence is None


def audit_chain_verify() -> AuditChainReport:
    """Recompute every entry's hash in order; report the first entry that does not hold.

    The head is read first: entries written while the check runs (the doors do not stop for it) come after
    the head it read and are left to the next check, so a busy log is never reported broken for them."""
    head = AuditChainHead.objects.filter(id=1).first()
    entries = AuditEntry.objects.order_by("sequence")
    if head is not None:
        entries = entries.filter(sequence__lte=head.last_sequence)
    previous_hash = "0" * 64
    expected_sequence = 1
    checked = 0
    for entry in entries.iterator(chunk_size=2000):
        if entry.sequence != expected_sequence:
            return AuditChainReport(checked, entry.sequence, entry.pk, f"entry #{expected_sequence} is missing")
        if entry.previous_hash != previous_hash:
            return AuditChainReport(checked, entry.sequence, entry.pk, "it does not link to the entry before it")
        if audit_entry_digest(entry) != entry.entry_hash:
            return AuditChainReport(checked, entry.sequence, entry.pk, "its content does not match its hash")
        previous_hash = entry.entry_hash
        expected_sequence += 1
        checked += 1
    if head and (head.last_sequence != checked or head.last_hash != previous_hash):
        return AuditChainReport(
            checked,
            checked + 1 if head.last_sequence > checked else head.last_sequence,
            None,
            f"the chain ends at #{checked} but its head records #{head.last_sequence}",
        )
    return AuditChainReport(checked)
