"""Mail to a shopper that a door recognised them or let them in with an entry pass: where, when, and how
to turn the mail off. Sent after the commit; a mail that fails undoes nothing."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from core.mail import mail_shopper_after_commit
from stores.models import Notification


def notification_mail(*, notification: Notification) -> None:
    shopper = notification.shopper
    visit = notification.visit
    store = visit.store
    recognised = notification.kind == Notification.Kind.RECOGNISED
    with translation.override(shopper.language):
        subject = (
            _("FaceConsent: you were recognised at %(store)s")
            if recognised
            else _("FaceConsent: your entry pass let you in at %(store)s")
        ) % {"store": store.name}
    mail_shopper_after_commit(
        shopper,
        operators=[store.operator],
        subject=subject,
        template="stores/email/notification.txt",
        context={
            "name": shopper.display_name,
            "recognised": recognised,
            "store": store.name,
            "operator": store.operator.name,
            "door": visit.device.name,
            "at": notification.created_at,
            "first_visit": notification.first_visit,
        },
    )
