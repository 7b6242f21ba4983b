"""Consent receipts as this site serves them: consent builds the record, the portal knows its own pages
and which language a request asks for."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from consent.models import Consent
from consent.receipts import ReceiptLinks, consent_receipt_build
from core.errors import DomainError

# Longer than any language tag a person would send; longer ones are not looked up.
LANGUAGE_PARAMETER_MAX_LENGTH = 35


def receipt_language(request: HttpRequest, *, shopper, accept_language: bool) -> str:
    """The language a receipt is written in: `?lang=` when given (a language the portal does not
    speak is refused, 400 `language_unsupported`), else, with `accept_language`, the first of the
    request's Accept-Language the portal speaks, else the shopper's.

    The web download does not read Accept-Language: signed-in pages speak the profile's language
    (docs/decisions/0019-language-choice.md), and the receipt agrees with the page it came from.
    """
    asked = request.GET.get("lang")
    if asked is not None:
        try:
            if len(asked) > LANGUAGE_PARAMETER_MAX_LENGTH:
                raise LookupError(asked)
            return translation.get_supported_language_variant(asked.strip())
        except LookupError:
            message = _("Receipts are written in English (en) or Simplified Chinese (zh-hans).")
            raise DomainError(message, code="language_unsupported", fields={"lang": [message]}) from None
    if accept_language:
        for tag, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
            if tag == "*":
                continue
            try:
                return translation.get_supported_language_variant(tag)
            except LookupError:
                continue
    return translation.get_supported_language_variant(shopper.language)


def consent_receipt(*, consent: Consent, language: str | None = None) -> dict[str, Any]:
    """The receipt of a consent in `language` (the shopper's when not given), linking to this site's
    retention, withdrawal and notice pages."""
    site, slug = settings.SITE_URL, consent.operator.slug
    links = ReceiptLinks(
        retention_schedule=site + reverse("portal:operator_retention", kwargs={"slug": slug}),
        withdrawal=site + reverse("portal:consents"),
        notice=site + reverse("portal:notice_version", kwargs={"slug": slug, "pk": consent.notice_version_id}),
    )
    return consent_receipt_build(consent=consent, links=links, language=language)
