"""Reads for privacy requests: the deadline a request gets, and the requests as a shopper or the queue sees them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Consent
from core.errors import DomainError, Gone, NotFound
from core.models import AuditEntry
from portal.models import AccessLink, PrivacyRequest, User
from portal.selectors import sha256_hex

# The EU's member states: the GDPR's one month (art. 12(3)) is counted as 28 days, the shortest month, so the
# date shown is never later than the law's.
EU = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)
# China: PIPL art. 50 asks for a timely answer; GB/T 35273-2020 8.7 sets 30 days.
DAYS_BY_JURISDICTION = {"CN": 30}
EU_DAYS = 28


def response_days(jurisdiction: str) -> int:
    """How many days a request under this law may take; any other law: the shortest we know."""
    if jurisdiction in EU:
        return EU_DAYS
    return DAYS_BY_JURISDICTION.get(jurisdiction, min(EU_DAYS, *DAYS_BY_JURISDICTION.values()))


def jurisdiction_for(shopper: User) -> str:
    """The law a request of this shopper answers to: of the operators they ever consented to, the one with the
    shortest deadline; with none, the site's (`PRIVACY_REQUEST_JURISDICTION`)."""
    laws = set(Consent.objects.filter(shopper=shopper).values_list("operator__jurisdiction", flat=True).distinct())
    if not laws:
        return settings.PRIVACY_REQUEST_JURISDICTION
    return min(sorted(laws), key=response_days)


def operators_of(shopper: User) -> list[int]:
    """The ids of the operators the shopper ever consented to (a request concerns each)."""
    return list(Consent.objects.filter(shopper=shopper).order_by().values_list("operator_id", flat=True).distinct())


def privacy_requests_of(*, shopper: User) -> QuerySet[PrivacyRequest]:
    return PrivacyRequest.objects.filter(shopper=shopper).order_by("-received_at", "-pk")


def privacy_request_of(*, shopper: User, public_id: Any) -> PrivacyRequest:
    request = privacy_requests_of(shopper=shopper).filter(public_id=public_id).first()
    if request is None:
        raise NotFound(_("You have no request with this id."), code="request_not_found")
    return request


def privacy_request_overdue(request: PrivacyRequest) -> bool:
    return request.is_open and request.due_at <= timezone.now()


def mask_email(email: str) -> str:
    """What staff see of an address in lists: its first letter and the domain (m***@example.com)."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def privacy_request_queue(*, status: str = "open", kind: str = "") -> QuerySet[PrivacyRequest]:
    """The staff's queue: open requests (or `overdue`, `closed`, `all`), the earliest due first."""
    requests = PrivacyRequest.objects.select_related("shopper", "opened_by")
    if status == "open":
        requests = requests.filter(status__in=PrivacyRequest.OPEN)
    elif status == "overdue":
        requests = requests.filter(status__in=PrivacyRequest.OPEN, due_at__lte=timezone.now())
    elif status == "closed":
        requests = requests.exclude(status__in=PrivacyRequest.OPEN)
    if kind in PrivacyRequest.Kind.values:
        requests = requests.filter(kind=kind)
    return requests.order_by("due_at", "pk")


def privacy_request_get(*, public_id: Any) -> PrivacyRequest:
    request = PrivacyRequest.objects.select_related("shopper", "opened_by").filter(public_id=public_id).first()
    if request is None:
        raise NotFound(_("There is no such request."), code="request_not_found")
    return request


def privacy_request_history(request: PrivacyRequest) -> QuerySet[AuditEntry]:
    """The request's history: the audit log's entries about it, oldest first."""
    return AuditEntry.objects.filter(target_type="portal.privacyrequest", target_id=str(request.pk)).order_by(
        "sequence"
    )


def shopper_by_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip(), is_staff=False).first()


def shoppers_search(*, query: str, limit: int = 20) -> QuerySet[User]:
    """Shoppers whose address is the one given, or starts with it (at least 3 characters): staff search by
    what a caller tells them, never browse."""
    query = query.strip().lower()
    if len(query) < 3:
        return User.objects.none()
    return User.objects.filter(is_staff=False, email__istartswith=query).order_by("email")[:limit]


def shopper_get(*, public_id: Any) -> User:
    shopper = User.objects.filter(public_id=public_id, is_staff=False).first()
    if shopper is None:
        raise NotFound(_("There is no such shopper."), code="shopper_not_found")
    return shopper


def shopper_record(shopper: User) -> dict:
    """What a staff member sees on a shopper's record: the account, consents and how much the footprint holds.
    Whether a face template is held, never the template."""
    from biometrics.models import FaceTemplate
    from stores.models import StoreEvent, Visit

    return {
        "consents": list(Consent.objects.filter(shopper=shopper).select_related("operator").order_by("-given_at")[:50]),
        "has_template": FaceTemplate.objects.filter(shopper=shopper).exists(),
        "visits": Visit.objects.filter(shopper=shopper).count(),
        "events": StoreEvent.objects.filter(shopper=shopper).count(),
        "requests": list(privacy_requests_of(shopper=shopper)),
    }


def access_token_hash(token: str) -> str:
    return sha256_hex(f"access-link:{token}")


def access_link_find(token: str) -> AccessLink | None:
    return AccessLink.objects.select_related("request__shopper").filter(token_hash=access_token_hash(token)).first()


def access_link_refusal(link: AccessLink | None) -> DomainError | None:
    """Why a link cannot be used now (unknown, used, expired, or its account erased since), or None."""
    if link is None:
        return NotFound(_("This download link is not known. Ask for a new copy."), code="access_link_unknown")
    if link.used_at is not None:
        return Gone(_("This download link has been used: it works once. Ask for a new copy."), code="access_link_used")
    if link.expires_at <= timezone.now():
        return Gone(_("This download link has expired. Ask for a new copy."), code="access_link_expired")
    if link.request.shopper is None:
        return Gone(_("The account this link was for no longer exists."), code="access_link_account_gone")
    return None
