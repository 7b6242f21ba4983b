"""Reading a shopper's footprint: their visits, newest first, each with what the door and the store's devices
recorded (F2). A page costs the same few queries however large the footprint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from consent.models import Purpose
from consent.selectors import consents_active_since
from core.errors import NotFound, ValidationFailed
from stores.models import MatchEvent, Notification, PurchaseItem, StoreEvent, Visit

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
    """The shopper's visits, newest first, with store, door and the match that recognised them (consent and
    notice version); filtered by operator, store, kind and days. With an event kind, only the visits
    holding such an event. Their events come with `footprint_events_attach`, once a page is cut."""
    filters = filters or FootprintFilters()
    visits = Visit.objects.filter(shopper=shopper)
    if filters.operator:
        visits = visits.filter(store__operator__slug=filters.operator)
    if filters.store:
        visits = visits.filter(store__slug=filters.store)
    if filters.kind in VISIT_KINDS:
        visits = visits.filter(method=filters.kind)
    elif filters.kind in EVENT_KINDS:
        visits = visits.filter(Exists(StoreEvent.objects.filter(visit=OuterRef("pk"), kind=filters.kind)))
    since, until = day_bounds(filters.date_from, filters.date_to, filters.time_zone)
    if since is not None:
        visits = visits.filter(entered_at__gte=since)
    if until is not None:
        visits = visits.filter(entered_at__lt=until)
    return visits.select_related(
        "store__operator", "device", "match_event__consent", "match_event__notice_version__notice"
    )


def footprint_events_attach(visits: list[Visit], *, kind: str | None = None) -> list[Visit]:
    """Give each visit of a page its events in order (`event_list`, only those of `kind` when it is an event
    kind), each purchase its lines (`item_list`) and whether the store may use it for offers (`for_offers`):
    three queries for the page. Django's prefetch builds a
    queryset per row to cache, which cost more than the queries at 200 events a page."""
    events = StoreEvent.objects.filter(visit__in=[visit.pk for visit in visits]).select_related("notice_version")
    if kind in EVENT_KINDS:
        events = events.filter(kind=kind)
    events = list(events.order_by("occurred_at", "id"))
    items: dict[int, list[PurchaseItem]] = {}
    purchases = [event.pk for event in events if event.kind == StoreEvent.Kind.PURCHASE]
    for item in PurchaseItem.objects.filter(event__in=purchases).order_by("id") if purchases else []:
        items.setdefault(item.event_id, []).append(item)
    # C2: a purchase is one the store may use for offers while the consent given before it stays active.
    offers_since = (
        consents_active_since(shopper_id=visits[0].shopper_id, purpose=Purpose.PERSONALISED_OFFERS) if purchases else {}
    )
    operator_of = {visit.pk: visit.store.operator_id for visit in visits}
    by_visit: dict[int, list[StoreEvent]] = {}
    for event in events:
        event.item_list = items.get(event.pk, [])
        since = offers_since.get(operator_of[event.visit_id])
        event.for_offers = event.kind == StoreEvent.Kind.PURCHASE and since is not None and since <= event.occurred_at
        by_visit.setdefault(event.visit_id, []).append(event)
    for visit in visits:
        visit.event_list = by_visit.get(visit.pk, [])
    return visits


def footprint_stores(*, shopper) -> list[tuple[str, str, str, str]]:
    """The stores the shopper has visited (operator slug and name, store slug and name), for the filter."""
    return list(
        Visit.objects.filter(shopper=shopper)
        .values_list("store__operator__slug", "store__operator__name", "store__slug", "store__name")
        .distinct()
        .order_by("store__operator__name", "store__name")
    )


@dataclass(frozen=True)
class DeletionPlan:
    scope: str  # event, visit, range, all
    visits: QuerySet[Visit]  # deleted with their match, events and purchase lines
    events: QuerySet[StoreEvent]  # deleted on their own (one event)
    counts: dict[str, int]  # by category, before anything is deleted


def footprint_deletion_plan(
    *,
    shopper,
    event_id: uuid.UUID | None = None,
    visit_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    everything: bool = False,
) -> DeletionPlan:
    """What a deletion by the shopper would remove, counted: shown before they confirm, then removed."""
    visits = Visit.objects.filter(shopper=shopper)
    events = StoreEvent.objects.none()
    if event_id is not None:
        scope, visits = "event", Visit.objects.none()
        events = StoreEvent.objects.filter(shopper=shopper, public_id=event_id)
        if not events.exists():
            raise NotFound(_("You have no event with this id."), code="event_not_found")
    elif visit_id is not None:
        scope, visits = "visit", visits.filter(public_id=visit_id)
        if not visits.exists():
            raise NotFound(_("You have no visit with this id."), code="visit_not_found")
    elif since is not None or until is not None:
        if since is not None and until is not None and since >= until:
            raise ValidationFailed(_("The last day comes before the first."), code="range_invalid")
        scope = "range"
        if since is not None:
            visits = visits.filter(entered_at__gte=since)
        if until is not None:
            visits = visits.filter(entered_at__lt=until)
    elif everything:
        scope = "all"
    else:
        raise ValidationFailed(_("Say what to delete."), code="deletion_scope_required")
    counts = {
        "visits": visits.count(),
        "match_events": MatchEvent.objects.filter(visit__in=visits).count(),
        "store_events": StoreEvent.objects.filter(visit__in=visits).count() + events.count(),
        "purchase_items": PurchaseItem.objects.filter(event__visit__in=visits).count()
        + PurchaseItem.objects.filter(event__in=events).count(),
    }
    return DeletionPlan(scope, visits, events, counts)


def day_bounds(date_from: date | None, date_to: date | None, zone: str) -> tuple[datetime | None, datetime | None]:
    """[first day's start, the day after the last's start) in the shopper's zone."""
    since = _day_start(date_from, zone) if date_from else None
    until = _day_start(date_to + timedelta(days=1), zone) if date_to else None
    return since, until


def footprint_rows(*, events, visits) -> list:
    """Every row of a footprint that refers to these events or visits, leaves first, then the visits: what
    deleting them removes (a test checks no other table refers to a visit or an event)."""
    return [
        PurchaseItem.objects.filter(Q(event__in=events) | Q(event__visit__in=visits)),
        StoreEvent.objects.filter(Q(pk__in=events) | Q(visit__in=visits)),
        MatchEvent.objects.filter(visit__in=visits),
        Notification.objects.filter(visit__in=visits),
        visits,
    ]
