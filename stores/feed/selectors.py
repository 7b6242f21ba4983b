"""Reads of a shopper's feed: newest first, and how many are unread."""

from __future__ import annotations

from django.db.models import QuerySet

from stores.models import Notification


def notification_list_for_shopper(*, shopper) -> QuerySet[Notification]:
    """The shopper's notifications, newest first, with what a list shows of each (one query per page)."""
    return (
        Notification.objects.filter(shopper=shopper)
        .select_related("visit__store__operator", "visit__device", "notice_version__notice__operator")
        .order_by("-created_at", "-id")
    )


def notification_unread_count(*, shopper) -> int:
    """One COUNT on the partial index of unread notifications."""
    return Notification.objects.filter(shopper=shopper, read_at__isnull=True).count()
