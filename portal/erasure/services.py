"""Deleting an account: everything held about the shopper goes in one transaction, before the call
returns, and a receipt says what went (F4, decision 0033).

What is left afterwards is the audit log, whose entries name the shopper by a row id that no longer
points at anything, and hold no name, address, photo or template (`shopper_traces` checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from biometrics.models import Enrollment
from biometrics.services import biometrics_erase
from biometrics.shoppers import shopper_lock
from consent.models import Consent
from consent.services.erasure import consent_history_erase
from core.audit import Actor, audit_entry_create
from core.errors import Forbidden
from core.mail import mail_after_commit
from core.time_zones import time_zone_for
from portal.account.services import _current_password_check
from portal.models import ApiToken, EmailChange, EmailVerification, User, WebSession
from stores.footprint.services import footprint_erase

# What the receipt and the log count, in the order the receipt lists them.
CATEGORIES = {
    "templates": _("Face templates"),
    "enrollments": _("Face enrollment records"),
    "visits": _("Visits"),
    "match_events": _("Face recognitions"),
    "store_events": _("Events reported by the stores"),
    "purchase_items": _("Purchase lines"),
    "notifications": _("Notifications"),
    "consents": _("Consents"),
    "consent_events": _("Consent history entries"),
    "entry_passes": _("Entry passes"),
    "web_sessions": _("Signed-in browsers"),
    "app_tokens": _("Signed-in apps"),
    "email_codes": _("Email confirmation codes"),
}


@dataclass(frozen=True)
class AccountErased:
    counts: dict[str, int]
    deleted_at: datetime


def _staff_account_refused() -> Forbidden:
    return Forbidden(
        _("Staff accounts are closed by an administrator, not from the portal."), code="staff_account_not_deletable"
    )


def account_delete(*, user: User, password: str, client_ip: str, channel: str) -> AccountErased:
    """The shopper deletes their own account, confirming with their password (under the login throttle; a
    wrong one is counted outside the erasure's transaction, so its rollback cannot undo the count)."""
    _current_password_check(user=user, password=password, client_ip=client_ip)
    return account_erase(shopper=user, actor=Actor.shopper(user, channel))


@transaction.atomic
def account_erase(*, shopper: User, actor: Actor) -> AccountErased:
    """Erase a shopper's account and everything held about them, in this transaction.

    Locks in the order every other writer takes them (enrollments, consents, then the shopper), so a
    door or an enrollment worker in flight either finishes first and its rows go too, or waits and
    finds nothing. Once this commits no door can recognise the shopper: their templates are gone and
    each match worker drops them on its next look at the index notes, and every consent is gone.
    """
    if shopper.is_staff:
        raise _staff_account_refused()
    list(Enrollment.objects.select_for_update().filter(shopper=shopper).values_list("pk", flat=True))
    list(Consent.objects.select_for_update().filter(shopper=shopper).values_list("pk", flat=True))
    shopper = shopper_lock(shopper_id=shopper.pk)
    now = timezone.now()
    counts = biometrics_erase(shopper=shopper, actor=actor)
    counts |= footprint_erase(shopper=shopper)
    counts |= consent_history_erase(shopper=shopper, actor=actor, now=now)
    sessions = WebSession.objects.filter(user=shopper)
    Session.objects.filter(session_key__in=sessions.values("session_key")).delete()
    counts["web_sessions"] = sessions.delete()[0]
    counts["app_tokens"] = ApiToken.objects.filter(user=shopper).delete()[0]
    changes, verifications = EmailChange.objects.filter(user=shopper), EmailVerification.objects.filter(user=shopper)
    counts["email_codes"] = changes.delete()[0] + verifications.delete()[0]
    counts = {category: counts.get(category, 0) for category in CATEGORIES}
    audit_entry_create(actor=actor, action="account.deleted", target=("portal.user", str(shopper.pk)), data=counts)
    # Taken now, as plain values: the row is about to go.
    to, language, zone, name = shopper.email, shopper.language, time_zone_for(shopper=shopper), shopper.display_name
    shopper.delete()
    mail_after_commit(
        to=to,
        language=language,
        time_zone=zone,
        subject=_("Your FaceConsent account was deleted"),
        template="portal/email/account_deleted.txt",
        context={
            "name": name,
            "deleted_at": now,
            "counts": [(CATEGORIES[category], count) for category, count in counts.items()],
        },
    )
    return AccountErased(counts=counts, deleted_at=now)
