"""Time zone names: the IANA names zoneinfo knows, and one check for every field that holds one."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

TIME_ZONE_MAX_LENGTH = 64
UNKNOWN_TIME_ZONE = _("Unknown time zone: use an IANA name such as Asia/Shanghai.")


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every zone name this machine's time zone database knows, sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


# The areas of the IANA names people pick from: "Asia/Shanghai", not the database's legacy aliases
# ("PRC", "Factory", "Etc/GMT-8"), which stay valid but are not offered.
_AREAS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Arctic/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)
_LEGACY = {"America/Buenos_Aires", "Asia/Calcutta", "Asia/Katmandu", "Asia/Saigon", "Asia/Rangoon", "Europe/Kiev"}


@cache
def time_zone_choices() -> tuple[str, ...]:
    """The zone names a person picks from: UTC and every Area/Location name."""
    return ("UTC", *(name for name in time_zone_names() if name.startswith(_AREAS) and name not in _LEGACY))


@cache
def _known_names() -> frozenset[str]:
    return frozenset(time_zone_names())


def time_zone_is_known(name: str) -> bool:
    return name in _known_names()


def validate_time_zone(value: str) -> None:
    """A model field's validator: empty passes (the field's own `blank` decides), any other name must be known."""
    if value and not time_zone_is_known(value):
        raise ValidationError(UNKNOWN_TIME_ZONE, code="unknown_time_zone")


def site_time_zone() -> str:
    """The site's zone (settings.TIME_ZONE): where nothing closer applies, and a new operator's default."""
    return settings.TIME_ZONE


def time_zone_for(*, shopper=None, operators=()) -> str:
    """The zone a page or a mail shows its times in (docs/decisions/0022-time-zones-and-receipt-language.md):
    the shopper's own, if chosen; else the zone of the operator(s) it concerns, when they agree on
    one; else the site's (settings.TIME_ZONE)."""
    if shopper is not None and getattr(shopper, "time_zone", ""):
        return shopper.time_zone
    zones = {operator.time_zone for operator in operators if operator is not None}
    return zones.pop() if len(zones) == 1 else site_time_zone()
