"""What every page's navigation shows a signed-in shopper: how many notifications are unread."""

from __future__ import annotations

from functools import cache

from stores.feed.selectors import notification_unread_count


def unread_notifications(request) -> dict:
    """A callable the template calls where it shows the count: one COUNT per page that shows it, none
    for pages that do not (or for someone not signed in)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": cache(lambda: notification_unread_count(shopper=user))}
