"""The mail that tells a shopper a door let them in, built by a worker from the notification's id so the
door itself only sends the id (and only for shoppers who turned the mail on)."""

from __future__ import annotations

from celery import shared_task

from stores.feed.notifications import notification_mail
from stores.models import Notification

NOTIFICATION_MAIL_TASK = "stores.notification_mail"


@shared_task(name=NOTIFICATION_MAIL_TASK, soft_time_limit=30, time_limit=45)
def notification_mail_task(notification_id: int) -> None:
    """Mail one notification, if it still exists and its shopper still wants the mail."""
    notification = (
        Notification.objects.select_related("shopper", "visit__store__operator", "visit__device")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or not notification.shopper.recognition_email:
        return  # the visit was deleted, or the shopper turned the mail off in between
    notification_mail(notification=notification)
