"""Mail to shoppers about their consents: given, withdrawn, run out, or ended by a material notice
change (to be renewed) or by age. Sent after the change commits; a mail that fails undoes nothing."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from consent.models import Consent, ConsentEvent, Purpose
from core.mail import mail_after_commit, mail_shopper_after_commit
from core.time_zones import time_zone_for

_SUBJECTS = {
    "given": _("You gave a consent on FaceConsent"),
    ConsentEvent.Kind.WITHDRAWN: _("You withdrew a consent on FaceConsent"),
    ConsentEvent.Kind.EXPIRED: _("A consent of yours on FaceConsent has run out"),
    ConsentEvent.Kind.INVALIDATED: _("A consent of yours on FaceConsent has ended"),
}


def _notify(*, consent: Consent, kind: str, reason: str = "") -> None:
    shopper = consent.shopper
    mail_shopper_after_commit(
        shopper,
        operators=[consent.operator],
        subject=_SUBJECTS[kind],
        template=f"consent/email/consent_{kind}.txt",
        context={
            "name": shopper.display_name,
            "operator": consent.operator.name,
            # Lazy: rendered in the shopper's language with the rest of the mail.
            "purpose": Purpose(consent.purpose).label,
            "given_at": consent.given_at,
            "expires_at": consent.expires_at,
            "ended_at": consent.ended_at,
            "reason": reason,
            # The period a `not_recognised` ending names (stores.Operator.template_retention_days).
            "operator_template_retention_days": consent.operator.template_retention_days,
        },
    )


def consent_given_notify(*, consent: Consent) -> None:
    _notify(consent=consent, kind="given")


def consents_withdrawn_notify(*, shopper, consents: list[Consent]) -> None:
    """One mail for a "withdraw everything": every consent it ended, listed."""
    if not consents:
        return
    time_zone = time_zone_for(shopper=shopper, operators=[consent.operator for consent in consents])
    mail_after_commit(
        to=shopper.email,
        language=shopper.language,
        time_zone=time_zone,
        subject=_("You withdrew your consents on FaceConsent"),
        template="consent/email/consents_withdrawn_all.txt",
        context={
            "name": shopper.display_name,
            "ended_at": consents[0].ended_at,
            "consents": [
                {"operator": consent.operator.name, "purpose": Purpose(consent.purpose).label} for consent in consents
            ],
        },
    )


def consent_ended_notify(*, consent: Consent, kind: str, reason: str = "") -> None:
    """Withdrawn, expired or invalidated (a material new notice version, or an age below the limit)."""
    if kind in _SUBJECTS:
        _notify(consent=consent, kind=kind, reason=reason)
