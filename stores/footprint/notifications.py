"""The mail a shopper gets after deleting part of their footprint: what went, how many, when."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.mail import mail_shopper_after_commit

CATEGORIES = {
    "visits": _("Visits"),
    "match_events": _("Face recognitions"),
    "store_events": _("Events reported by the stores"),
    "purchase_items": _("Purchase lines"),
}
SCOPES = {
    "event": _("one event"),
    "visit": _("one visit with everything in it"),
    "range": _("the visits of the days you chose"),
    "all": _("your whole footprint"),
}


def footprint_deleted_notify(*, shopper, receipt) -> None:
    mail_shopper_after_commit(
        shopper,
        subject=_("Your deletion receipt from FaceConsent"),
        template="stores/email/footprint_deleted.txt",
        context={
            "name": shopper.display_name,
            "scope": SCOPES[receipt.scope],
            "deleted_at": receipt.deleted_at,
            "counts": [(CATEGORIES[category], count) for category, count in receipt.counts.items()],
        },
    )
