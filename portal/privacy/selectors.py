"""Reads for privacy requests: the deadline a request gets, and the requests as a shopper or the queue sees them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Consent
from core.errors import NotFound
from portal.models import PrivacyRequest, User

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


def privacy_requests_of(*, shopper: User) -> QuerySet[PrivacyRequest]:
    return PrivacyRequest.objects.filter(shopper=shopper).order_by("-received_at", "-pk")


def privacy_request_of(*, shopper: User, public_id: Any) -> PrivacyRequest:
    request = privacy_requests_of(shopper=shopper).filter(public_id=public_id).first()
    if request is None:
        raise NotFound(_("You have no request with this id."), code="request_not_found")
    return request


def privacy_request_overdue(request: PrivacyRequest) -> bool:
    return request.is_open and request.due_at <= timezone.now()
