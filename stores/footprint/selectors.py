"""Reading a shopper's footprint: their visits, newest first, each with what the door and the store's devices
recorded (F2). A page costs the same few queries however large the footprint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from stores.models import PurchaseItem, StoreEvent, Visit

# What `kind` filters by: how the shopper came in, or what a device reported during the visit.
VISIT_KINDS = tuple(Visit.Method.values)
EVENT_KINDS = tuple(StoreEvent.Kind.values)
KINDS = VISIT_KINDS + EVENT_KINDS


@dataclass(frozen=True)
class FootprintFilters:
    operator: str | None = None  # an operator's slug
    store: str | None = None  # a store's slug (with the operator's, or at any operator)
    kind: str | None = None  # one of KINDS
    date_from: date | None = None  # first day, in `time_zone`
    date_to: date | None = None  # last day, in `time_zone`
    time_zone: str = "UTC"


def _day_start(day: date, zone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))


def footprint_visits(*, shopper, filters: FootprintFilters | None = None) -> QuerySet[Visit]:
    """The shopper's visits, newest first, with store, door, the match that recognised them (consent and notice
    version) and their events in order (purchase lines too); filtered by operator, store, kind and days.
    With an event kind, only the visits holding such an event, showing those events only."""
    filters = filters or FootprintFilters()
    events = StoreEvent.objects.order_by("occurred_at", "id").select_related("notice_version")
    visits = Visit.objects.filter(shopper=shopper)
    if filters.operator:
        visits = visits.filter(store__operator__slug=filters.operator)
    if filters.store:
        visits = visits.filter(store__slug=filters.store)
    if filters.kind in VISIT_KINDS:
        visits = visits.filter(method=filters.kind)
    elif filters.kind in EVENT_KINDS:
        events = events.filter(kind=filters.kind)
        visits = visits.filter(Exists(StoreEvent.objects.filter(visit=OuterRef("pk"), kind=filters.kind)))
    if filters.date_from:
        visits = visits.filter(entered_at__gte=_day_start(filters.date_from, filters.time_zone))
    if filters.date_to:
        visits = visits.filter(entered_at__lt=_day_start(filters.date_to + timedelta(days=1), filters.time_zone))
    return visits.select_related(
        "store__operator", "device", "match_event__consent", "match_event__notice_version__notice"
    ).prefetch_related(
        Prefetch("events", queryset=events.prefetch_related(Prefetch("items", PurchaseItem.objects.order_by("id"))))
    )


def footprint_stores(*, shopper) -> list[tuple[str, str, str, str]]:
    """The stores the shopper has visited (operator slug and name, store slug and name), for the filter."""
    return list(
        Visit.objects.filter(shopper=shopper)
        .values_list("store__operator__slug", "store__operator__name", "store__slug", "store__name")
        .distinct()
        .order_by("store__operator__name", "store__name")
    )
