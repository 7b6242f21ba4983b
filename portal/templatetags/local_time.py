"""Dates and times as pages show them: in the active time zone (portal.middleware), named, in the
one format of the page's language (portal/formats)."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _

register = template.Library()


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def _with_zone(text: str) -> str:
    return _("%(time)s (%(zone)s)") % {"time": text, "zone": timezone.get_current_timezone_name()}


@register.filter
def local_date(value: date | datetime | None) -> str:
    """The day, in the page's zone: 3 Dec 2026 / 2026年12月3日."""
    if value is None:
        return ""
    return date_format(_local(value) if isinstance(value, datetime) else value, "DATE_FORMAT")


@register.filter
def local_datetime(value: datetime | None) -> str:
    """Day and time with the zone named: 3 Dec 2026, 16:36 (Asia/Shanghai) / 2026年12月3日 16:36（Asia/Shanghai）."""
    if value is None:
        return ""
    return _with_zone(date_format(_local(value), "DATETIME_FORMAT"))


@register.filter
def local_time(value: datetime | None) -> str:
    """A time to the second with the zone named, for what lasts minutes (an entry pass): 16:36:50 (Asia/Shanghai)."""
    if value is None:
        return ""
    return _with_zone(time_format(_local(value), "H:i:s"))


@register.filter
def iso_datetime(value: str | None) -> str:
    """A time kept as ISO 8601 text (in a document's JSON), shown as `local_datetime` shows it."""
    if not value:
        return ""
    return local_datetime(datetime.fromisoformat(value))
