"""What every page's navigation shows: a signed-in shopper how many notifications are unread, a staff member the
console's links their roles open."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from portal.staff.roles import staff_roles
from stores.feed.selectors import notification_unread_count


def unread_notifications(request) -> dict:
    """A callable the template calls where it shows the count: one COUNT per page that shows it, none
    for pages that do not (or for someone not signed in)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": cache(lambda: notification_unread_count(shopper=user))}


def staff_console(request) -> dict:
    """For a staff member's pages: their roles (the console's links follow them) and whether the door simulator
    is on. Nothing for anyone else."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    return {"staff_roles": staff_roles(user), "simulator": settings.ENTRANCE_SIMULATOR}
