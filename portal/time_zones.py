"""Which time zone a page shows its times in, made active for the request (the rule is
core.time_zones.time_zone_for)."""

from __future__ import annotations

import zoneinfo

from django.http import HttpRequest
from django.utils import timezone

from core.time_zones import time_zone_for


def time_zone_activate(request: HttpRequest, *operators) -> None:
    """The shopper's zone, else, for a page about these operators, theirs when they share one, else
    the site's. The middleware calls it with none for every page; a view about operators calls it
    again with them. The middleware deactivates it when the answer is made."""
    user = getattr(request, "user", None)
    shopper = user if user is not None and user.is_authenticated else None
    timezone.activate(zoneinfo.ZoneInfo(time_zone_for(shopper=shopper, operators=operators)))
