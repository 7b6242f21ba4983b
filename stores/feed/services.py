"""Writes to a shopper's feed: the notification the door leaves, and marking notifications read."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import Actor, audit_entry_create
from core.errors import NotFound, ValidationFailed
from stores.feed.tasks import notification_mail_task
from stores.models import Notification, Visit

# The most ids one call may mark read: a page of the list holds at most 100.
MAX_IDS_PER_CALL = 100


def notification_record(
    *, visit: Visit, kind: str, notice_version_id: int | None = None, email: bool = False
) -> Notification:
    """The feed entry for a visit the door just recorded: one INSERT in the door's transaction.

    `notice_version_id` is kept for a first recognised visit only (the notice the door showed, C11).
    With `email` (the shopper's choice, read by the door's own query) the mail is sent by a worker
    once the visit commits; the door sends only the notification's id.
    """
    notification = Notification.objects.create(
        shopper_id=visit.shopper_id,
        visit=visit,
        kind=kind,
        created_at=visit.entered_at,
        first_visit=visit.first_visit,
        notice_version_id=notice_version_id if kind == Notification.Kind.RECOGNISED and visit.first_visit else None,
    )
    if email:
        # robust: a broker that is down costs the shopper a mail, never the door its answer.
        transaction.on_commit(lambda: notification_mail_task.delay(notification.pk), robust=True)
    return notification


@transaction.atomic
def notifications_mark_read(
    *, shopper, channel: str, ids: list[uuid.UUID] | None = None, read_all: bool = False
) -> int:
    """Mark the shopper's notifications read: those named by `ids`, or every one with `read_all`.

    Any id that is not one of the shopper's notifications answers not found and marks nothing.
    Returns how many were unread and are read now; one audit entry per call, with that count.
    """
    naming = ids is not None
    if naming == read_all or (naming and not ids):  # both, neither, or an empty list
        message = _("Send either the ids of the notifications to mark read, or all: true.")
        raise ValidationFailed(message, code="notification_ids_or_all")
    mine = Notification.objects.filter(shopper=shopper)
    if ids is not None:
        if len(ids) > MAX_IDS_PER_CALL:
            raise ValidationFailed(
                _("Mark at most %(count)d notifications read in one call.") % {"count": MAX_IDS_PER_CALL},
                code="too_many_notification_ids",
            )
        wanted = set(ids)
        mine = mine.filter(public_id__in=wanted)
        if mine.count() != len(wanted):
            raise NotFound(_("No such notification."), code="notification_not_found")
    marked = mine.filter(read_at__isnull=True).update(read_at=timezone.now())
    audit_entry_create(
        actor=Actor.shopper(shopper, channel),
        action="notifications.read",
        target=shopper,
        data={"count": marked, "all": read_all},
    )
    return marked
