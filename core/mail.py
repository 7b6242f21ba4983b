"""Mail to people: rendered in their language and sent once the transaction commits.

A mail never undoes what it reports: it is rendered and handed to the mail task after the commit,
and a failure there (a broken template, a broker or mail server that is down) is logged, not raised.
"""

from __future__ import annotations

import logging
import zoneinfo
from contextlib import nullcontext
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.functional import Promise

from core.tasks import email_send
from core.time_zones import time_zone_for

logger = logging.getLogger(__name__)


def mail_render(
    *, language: str, subject: Promise | str, template: str, context: dict[str, Any], time_zone: str = ""
) -> tuple[str, str]:
    """The subject and plain-text body of a mail, in this language, with times in this zone (else the site's)."""
    try:
        zone = timezone.override(zoneinfo.ZoneInfo(time_zone)) if time_zone else nullcontext()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = nullcontext()
    with translation.override(language), zone:
        return str(subject), render_to_string(template, {"site_url": settings.SITE_URL, **context})


def mail_after_commit(
    *, to: str, language: str, subject: Promise | str, template: str, context: dict[str, Any], time_zone: str = ""
) -> None:
    """Send one mail after the current transaction commits (at once outside a transaction).

    `context` is taken as it is now: pass plain values, not rows that may change before the send.
    """

    def send() -> None:
        subject_text, body = mail_render(
            language=language, subject=subject, template=template, context=context, time_zone=time_zone
        )
        email_send.delay(to=to, subject=subject_text, body=body)

    # robust: a failure is logged by Django and the caller's answer stands (the change is committed).
    transaction.on_commit(send, robust=True)


def mail_shopper_after_commit(
    shopper: Any, *, subject: Promise | str, template: str, context: dict[str, Any], operators: Any = ()
) -> None:
    """`mail_after_commit` to a shopper's address, in their language and time zone (or the zone of the
    `operators` the mail is about, when the shopper has none)."""
    mail_after_commit(
        to=shopper.email,
        language=shopper.language,
        time_zone=time_zone_for(shopper=shopper, operators=list(operators)),
        subject=subject,
        template=template,
        context=context,
    )
