"""Consent receipts as this site serves them: consent builds the record, the portal knows its own pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from consent.models import Consent
from consent.receipts import ReceiptLinks, consent_receipt_build


def consent_receipt(*, consent: Consent) -> dict[str, Any]:
    """The receipt of a consent, linking to this site's retention, withdrawal and notice pages."""
    site, slug = settings.SITE_URL, consent.operator.slug
    links = ReceiptLinks(
        retention_schedule=site + reverse("portal:operator_retention", kwargs={"slug": slug}),
        withdrawal=site + reverse("portal:consents"),
        notice=site + reverse("portal:notice_version", kwargs={"slug": slug, "pk": consent.notice_version_id}),
    )
    return consent_receipt_build(consent=consent, links=links)
