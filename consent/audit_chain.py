"""How an audit entry is hashed: one canonical form, used by the writer and the verifier."""

import hashlib
import json
from datetime import datetime
from typing import Any


def audit_entry_digest(
    *,
    sequence: int,
    occurred_at: datetime,
    actor_type: str,
    actor_id: str,
    channel: str,
    action: str,
    target_type: str,
    target_id: str,
    data: dict[str, Any],
    previous_hash: str,
) -> str:
    canonical = json.dumps(
        [
            sequence,
            occurred_at.isoformat(timespec="microseconds"),
            actor_type,
            actor_id,
            channel,
            action,
            target_type,
            target_id,
            data,
            previous_hash,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
