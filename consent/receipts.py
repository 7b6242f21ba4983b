"""Consent receipts: a machine-readable record of one consent (ISO/IEC TS 27560, Kantara CR 1.1).

The receipt links to pages people read (the notice, the retention schedule, where to withdraw); those
pages are the portal's, so whoever serves a receipt gives their addresses (`ReceiptLinks`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from consent.models import Consent, Purpose
from consent.selectors import consent_status_at

SCHEMA_VERSION = "ISO/IEC TS 27560:2023 + Kantara Consent Receipt 1.1 (faceconsent-receipt/1.0)"
RECEIPT_NAMESPACE = uuid.UUID("6f1c7a52-3d1e-4c55-9d0f-4f3b8a3e2c10")
LEGAL_BASIS = "explicit consent (PIPL art. 29; GDPR art. 9(2)(a); BIPA 15(b))"
# Every purpose here stems from recognising a face, so every receipt is of biometric processing.
SPECIAL_CATEGORIES = ["biometric"]


@dataclass(frozen=True)
class ReceiptLinks:
    """Absolute addresses of the pages a receipt names."""

    retention_schedule: str  # the operator's public retention page
    withdrawal: str  # where the shopper withdraws
    notice: str  # the notice version the consent was given on


def consent_receipt_build(*, consent: Consent, links: ReceiptLinks) -> dict[str, Any]:
    """The receipt of a consent as it stands now, with its whole event history.

    The receipt id is stable for one state of the consent: the same history gives the same id.
    """
    events = list(consent.events.select_related("notice_version").order_by("occurred_at", "id"))
    version = consent.notice_version
    operator = consent.operator
    language = consent.shopper.language
    last_event_id = events[-1].pk if events else 0
    status = consent_status_at(consent)
    return {
        "receipt_id": str(uuid.uuid5(RECEIPT_NAMESPACE, f"{consent.public_id}:{last_event_id}:{status}")),
        "schema_version": SCHEMA_VERSION,
        "timestamp": timezone.now().isoformat(),
        "jurisdiction": operator.jurisdiction,
        "language": language,
        "collection_method": {
            "type": "explicit opt-in",
            "channel": consent.channel,
            "description": (
                f"The shopper answered yes on a screen of its own in the {consent.channel} channel, "
                f"naming notice version {version.version}; never pre-ticked, never bundled with sign-up."
            ),
        },
        "principal_id": str(consent.shopper.public_id),
        "controller": {
            "name": operator.name,
            "legal_name": operator.legal_name or operator.name,
            "contact": version.text("contact", language),
            "email": operator.contact_email,
            "address": operator.contact_address,
            "privacy_officer": {"name": operator.privacy_officer_name, "email": operator.privacy_officer_email},
        },
        "consent": {
            "id": str(consent.public_id),
            "status": status,
            "given_at": consent.given_at.isoformat(),
            "expires_at": consent.expires_at.isoformat(),
            "reaffirmed_at": consent.reaffirmed_at.isoformat() if consent.reaffirmed_at else None,
            "ended_at": consent.ended_at.isoformat() if consent.ended_at else None,
        },
        "purposes": [
            {
                "purpose": consent.purpose,
                "name": str(Purpose(consent.purpose).label),
                "description": version.text("purpose", language),
                "method": version.text("method", language),
                "legal_basis": LEGAL_BASIS,
                "consent_type": "explicit",
                "primary_purpose": consent.purpose == Purpose.FACE_ENTRY,
                "termination": "on withdrawal, on expiry, or when a materially changed notice is published",
                "third_party_disclosure": False,
            }
        ],
        "data_categories": list(version.data_categories),
        "sensitive": True,
        "special_categories": SPECIAL_CATEGORIES,
        "retention": {
            "days": version.retention_days,
            "description": version.text("retention", language),
            "schedule_url": links.retention_schedule,
        },
        "withdrawal": {
            "method": "One action in the app or the web portal; it takes effect before the answer returns.",
            "api": f"POST /api/v1/consents/{consent.public_id}/withdraw",
            "url": links.withdrawal,
        },
        "rights": version.text("rights", language),
        "notice": {
            "id": version.pk,
            "version": version.version,
            "title": version.text("title", language),
            "published_at": version.published_at.isoformat() if version.published_at else None,
            "material_change": version.material,
            "url": links.notice,
        },
        "events": [
            {
                "kind": event.kind,
                "occurred_at": event.occurred_at.isoformat(),
                "channel": event.channel,
                "actor": event.actor_type,
                "notice_version": event.notice_version.version if event.notice_version else None,
            }
            for event in events
        ],
    }
