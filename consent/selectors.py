"""Reads for consent and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from consent.audit import audit_entry_digest
from consent.models import AuditChainHead, AuditEntry


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
    """Recompute every entry's hash in order; report the first entry that does not hold."""
    previous_hash = "0" * 64
    expected_sequence = 1
    checked = 0
    for entry in AuditEntry.objects.order_by("sequence").iterator(chunk_size=2000):
        if entry.sequence != expected_sequence:
            return AuditChainReport(checked, entry.sequence, entry.pk, f"entry #{expected_sequence} is missing")
        if entry.previous_hash != previous_hash:
            return AuditChainReport(checked, entry.sequence, entry.pk, "it does not link to the entry before it")
        digest = audit_entry_digest(
            sequence=entry.sequence,
            occurred_at=entry.occurred_at.astimezone(UTC),
            actor_type=entry.actor_type,
            actor_id=entry.actor_id,
            channel=entry.channel,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            data=entry.data,
            previous_hash=entry.previous_hash,
        )
        if digest != entry.entry_hash:
            return AuditChainReport(checked, entry.sequence, entry.pk, "its content does not match its hash")
        previous_hash = entry.entry_hash
        expected_sequence += 1
        checked += 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head and (head.last_sequence != checked or head.last_hash != previous_hash):
        return AuditChainReport(
            checked,
            checked + 1 if head.last_sequence > checked else head.last_sequence,
            None,
            f"the chain ends at #{checked} but its head records #{head.last_sequence}",
        )
    return AuditChainReport(checked)
