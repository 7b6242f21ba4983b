"""An operator's security protection document for the authorities (S4), as plain values: its stores and devices
with their signage and location, the data inventory, encryption and the template key ids in use, the number of
people holding a template against the 100,000 filing threshold, consents given and withdrawn per month, privacy
requests and the share answered in time, the audit log's verdict, the last gallery self-check, the record of
processing activities (GDPR art. 30) and the signed impact assessment (PIPL art. 56).

The same dict is the JSON (validated against `protection_document_schema.json`), the printable page and the
PDF, and is what an issued version keeps. Texts are in the active language; keys and codes are not.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from biometrics.keys import key_ring
from biometrics.models import FaceTemplate
from consent.models import Consent, Purpose
from consent.selectors import consent_active_q
from core.audit import audit_chain_verify
from core.models import AuditEntry
from portal.models import ImpactAssessment, IssuedDocument, PrivacyRequest
from stores.models import Device, Operator
from stores.retention.services import COUNTER_RETENTION_DAYS
from stores.selectors import gallery_check_latest

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("protection_document_schema.json")
FILING_THRESHOLD = 100_000  # China's 2025 measures: a filing once an operator holds the faces of 100,000 people
WARNING_FROM = 80_000
MONTHS = 12


def document_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def gallery_shoppers(operator: Operator, *, now: datetime | None = None):
    """The shoppers whose template this operator's doors may search: a template and an active face consent."""
    active = Consent.objects.filter(consent_active_q(now=now), operator=operator, purpose=Purpose.FACE_ENTRY)
    return FaceTemplate.objects.filter(shopper__in=active.values("shopper")).order_by().values("shopper").distinct()


def _stores(operator: Operator) -> list[dict[str, Any]]:
    stores = []
    for store in operator.stores.order_by("name").prefetch_related("devices"):
        devices = sorted(store.devices.all(), key=lambda device: device.name)
        stores.append(
            {
                "name": store.name,
                "address": store.address,
                "status": store.status,
                "status_label": str(store.get_status_display()),
                "mode": store.mode,
                "signage_confirmed_at": _iso(store.signage_confirmed_at),
                "signage_confirmed_by": store.signage_confirmed_by,
                "devices": [
                    {
                        "name": device.name,
                        "kind": device.kind,
                        "kind_label": str(device.get_kind_display()),
                        "location": device.location,
                        "location_label": str(device.get_location_display()),
                        "in_private_space": device.location in Device.PRIVATE_LOCATIONS,
                        "revoked": device.revoked_at is not None,
                    }
                    for device in devices
                ],
            }
        )
    return stores


def _inventory(operator: Operator) -> list[dict[str, str]]:
    """Each kind of data this operator's stores produce: where it is kept, who can reach it, how long."""
    no_staff = _("No staff role: the enrollment and match workers only, through the template key.")
    support = _("The shopper; support agents see that it exists, for a request they serve; admins.")
    consent_days = settings.CONSENT_VALIDITY.days
    return [
        {
            "kind": "face_template",
            "label": _("Face templates (128 numbers computed from a photo)"),
            "where": _(
                "The database, encrypted with AES-256-GCM under a key kept outside it; in the memory of the "
                "match workers while consent is active."
            ),
            "who": no_staff,
            "retention": _(
                "Until the shopper's last consent to face recognition ends (withdrawn, expired after "
                "%(consent)s days, or %(days)s days without a recognition here), or the shopper deletes "
                "it."
            )
            % {"consent": consent_days, "days": operator.template_retention_days},
        },
        {
            "kind": "photo",
            "label": _("Photos (enrollment and door)"),
            "where": _("Only in the memory of the worker computing the template, sealed while queued."),
            "who": no_staff,
            "retention": _("Never kept: deleted once the template is computed; a door photo is never stored."),
        },
        {
            "kind": "consent",
            "label": _("Consents and their history, with the notice version shown"),
            "where": _("The database; each change also in the hash-chained audit log."),
            "who": support,
            "retention": _("While the account exists; a consent runs out after %(days)s days unless reaffirmed.")
            % {"days": consent_days},
        },
        {
            "kind": "visit",
            "label": _("Visits and match events (store, door, time, how the shopper entered)"),
            "where": _("The database."),
            "who": support,
            "retention": _("%(days)s days, or the shorter period the shopper chose.")
            % {"days": operator.footprint_retention_days},
        },
        {
            "kind": "store_event",
            "label": _("Shelf dwell and purchases"),
            "where": _("The database, only while the shopper's consent to store analytics is active."),
            "who": support,
            "retention": _("With the visit they belong to: %(days)s days, or the shorter period the shopper chose.")
            % {"days": operator.footprint_retention_days},
        },
        {
            "kind": "counter",
            "label": _("Counts of unmatched door photos and dropped events, per device and day"),
            "where": _("The database; nothing about any person."),
            "who": _("Privacy officers and admins."),
            "retention": _("%(days)s days.") % {"days": COUNTER_RETENTION_DAYS},
        },
        {
            "kind": "account",
            "label": _("Shopper accounts (email address, name, date of birth, language)"),
            "where": _("The database."),
            "who": support,
            "retention": _("Until the shopper deletes the account or an erasure request is carried out."),
        },
        {
            "kind": "audit",
            "label": _("The audit log (who changed what, when)"),
            "where": _(
                "The database, hash-chained; no biometric data, and no address or name once an account is erased."
            ),
            "who": _("Admins."),
            "retention": _("Kept: it is the proof of every consent and erasure."),
        },
    ]


def _encryption(operator: Operator) -> dict[str, Any]:
    ring = key_ring()
    in_use = sorted(
        FaceTemplate.objects.filter(shopper__in=gallery_shoppers(operator).values("shopper"))
        .order_by()
        .values_list("key_id", flat=True)
        .distinct()
    )
    return {
        "algorithm": "AES-256-GCM",
        "active_key_id": ring.active_key_id,
        "key_ids_in_use": in_use,
        "key_storage": _(
            "Keys are given to the workers from outside the database (TEMPLATE_KEYS); rotation by "
            "command re-seals every template under the active key."
        ),
    }


def _month_starts(today: date, months: int) -> list[date]:
    first = today.replace(day=1)
    starts = []
    for _n in range(months):
        starts.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return starts[::-1]


def _consents_by_month(operator: Operator, *, now: datetime) -> list[dict[str, Any]]:
    """Given and withdrawn per calendar month (the operator's own zone) for the last twelve, from the audit log,
    which keeps these entries after an erasure: a month's figures do not change when a shopper leaves."""
    starts = _month_starts(timezone.localdate(now), MONTHS)
    since = timezone.make_aware(datetime.combine(starts[0], datetime.min.time()))
    counts: dict[tuple[str, str], int] = {}
    entries = AuditEntry.objects.filter(
        action__in=["consent.given", "consent.withdrawn"], data__operator=operator.pk, occurred_at__gte=since
    ).values_list("action", "occurred_at")
    for action, occurred_at in entries.iterator():
        month = timezone.localtime(occurred_at).strftime("%Y-%m")
        counts[(month, action)] = counts.get((month, action), 0) + 1
    return [
        {
            "month": start.strftime("%Y-%m"),
            "given": counts.get((start.strftime("%Y-%m"), "consent.given"), 0),
            "withdrawn": counts.get((start.strftime("%Y-%m"), "consent.withdrawn"), 0),
        }
        for start in starts
    ]


def _requests(operator: Operator, *, now: datetime) -> dict[str, Any]:
    """The privacy requests that concerned this operator (duplicates not counted): how many came, were answered,
    were answered by their due date, and are open or late now."""
    requests = PrivacyRequest.objects.filter(operators=operator).exclude(status=PrivacyRequest.Status.DUPLICATE)
    answered = Q(status__in=[PrivacyRequest.Status.COMPLETED, PrivacyRequest.Status.REFUSED])
    figures = requests.aggregate(
        received=Count("pk"),
        answered=Count("pk", filter=answered),
        answered_in_time=Count("pk", filter=answered & Q(finished_at__lte=F("due_at"))),
        open=Count("pk", filter=Q(status__in=PrivacyRequest.OPEN)),
        overdue=Count("pk", filter=Q(status__in=PrivacyRequest.OPEN, due_at__lte=now)),
    )
    figures["share_answered_in_time"] = (
        round(figures["answered_in_time"] / figures["answered"], 4) if figures["answered"] else None
    )
    return figures


def _gallery_check(operator: Operator) -> dict[str, Any] | None:
    check = gallery_check_latest(operator=operator)
    if check is None:
        return None
    # The figures at the threshold in use (each row names its threshold); none when 1:N is stopped.
    chosen = next((row for row in check.figures if row.get("threshold") == check.threshold), {})
    return {
        "checked_at": _iso(check.checked_at),
        "gallery_size": check.gallery_size,
        "threshold": check.threshold,
        "target_fpir": check.target_fpir,
        "estimated_fpir": chosen.get("fpir"),
        "estimated_fpir_upper": chosen.get("fpir_upper"),
        "one_to_n": check.one_to_n,
        "reason": check.reason,
    }


def _processing_record(operator: Operator) -> dict[str, Any]:
    """The record of processing activities (GDPR art. 30(1)) for face recognition at this operator's doors."""
    return {
        "controller": operator.legal_name or operator.name,
        "contact": operator.contact_email,
        "privacy_officer": f"{operator.privacy_officer_name} <{operator.privacy_officer_email}>",
        "purposes": [
            {"purpose": purpose.value, "label": str(purpose.label)}
            for purpose in (Purpose.FACE_ENTRY, Purpose.STORE_ANALYTICS, Purpose.PERSONALISED_OFFERS)
        ],
        "data_subjects": _("Shoppers who created an account and consented; nobody else is recognised."),
        "data_categories": _(
            "Face templates (biometric, sensitive), account details, consents, visits, shelf dwell and purchases."
        ),
        "recipients": _("None outside the operator and FaceConsent, its processor."),
        "transfers": _("None outside the country where the database is kept."),
        "retention": _("As in the data inventory above."),
        "security": _(
            "Templates encrypted at rest; photos never kept; signed device requests; staff behind a "
            "password and a second factor, with roles; every change in a hash-chained audit log."
        ),
    }


def assessment_defaults(operator: Operator) -> dict[str, str]:
    """The impact assessment's text before a privacy officer completes it, filled from what the product does."""
    return {
        "purpose": _(
            "Let shoppers who consented enter %(operator)s's stores by face, and keep their visits only "
            "as they allowed."
        )
        % {"operator": operator.name},
        "necessity": _(
            "Face recognition is never the only way in: every shopper can use an entry pass instead, "
            "and declining changes nothing else. Only shoppers with an active consent are searched."
        ),
        "impact": _(
            "A template is biometric data: if it leaked, it could identify the person elsewhere. A wrong "
            "match could let someone in under another's name. Visit records show where a person has been."
        ),
        "measures": _(
            "Templates encrypted with keys outside the database; photos never kept; 1:N only while the "
            "measured false identification rate is below its target; withdrawal effective before the "
            "answer; retention limits applied daily; every change audited."
        ),
    }


def _assessment(operator: Operator) -> dict[str, Any] | None:
    signed = ImpactAssessment.objects.filter(operator=operator).order_by("-version").first()
    if signed is None:
        return None
    return {
        "version": signed.version,
        "purpose": signed.purpose,
        "necessity": signed.necessity,
        "impact": signed.impact,
        "measures": signed.measures,
        "signed_by": signed.signer_name,
        "signed_at": _iso(signed.signed_at),
    }


def protection_document(operator: Operator, *, now: datetime | None = None) -> dict[str, Any]:
    """The document as the figures stand now, in the active language."""
    now = now or timezone.now()
    people = gallery_shoppers(operator, now=now).count()
    audit = audit_chain_verify()
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": now.isoformat(),
        "language": get_language(),
        "version": None,
        "operator": {
            "name": operator.name,
            "legal_name": operator.legal_name,
            "slug": operator.slug,
            "jurisdiction": operator.jurisdiction,
            "contact_email": operator.contact_email,
            "contact_address": operator.contact_address,
            "privacy_officer_name": operator.privacy_officer_name,
            "privacy_officer_email": operator.privacy_officer_email,
        },
        "stores": _stores(operator),
        "data_inventory": _inventory(operator),
        "encryption": _encryption(operator),
        "templates": {
            "people": people,
            "filing_threshold": FILING_THRESHOLD,
            "warning_from": WARNING_FROM,
            "filing_required": people >= FILING_THRESHOLD,
            "warning": people >= WARNING_FROM,
        },
        "consents_by_month": _consents_by_month(operator, now=now),
        "privacy_requests": _requests(operator, now=now),
        "audit": {"intact": audit.intact, "checked": audit.checked, "verified_at": now.isoformat()},
        "gallery_check": _gallery_check(operator),
        "processing_record": _processing_record(operator),
        "impact_assessment": _assessment(operator),
    }


def issued_documents(operator: Operator):
    return IssuedDocument.objects.filter(operator=operator).order_by("-version")


def issued_document(operator: Operator, version: int) -> IssuedDocument | None:
    return IssuedDocument.objects.filter(operator=operator, version=version).first()
