"""What store devices report about a visit (F1): the exit, time at a shelf, purchases. Each event is
kept, dropped and counted (the shopper did not allow it), or refused with its code, on its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Purpose
from consent.selectors import consent_active_locked, consent_active_since_locked
from core.audit import Actor, audit_entry_create
from core.db import PreparedQuery
from core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from stores.footprint.notifications import footprint_deleted_notify
from stores.footprint.selectors import footprint_deletion_plan, footprint_rows
from stores.models import Device, EventCounter, Notification, PurchaseItem, StoreEvent, Visit

# Most events a device may send in one batch.
MAX_EVENTS = 100
# Events the shopper's `store_analytics` consent must allow: how long they stayed, where they lingered.
# The visit (entry) and purchases (payment) need no more than the door and the till (docs/decisions/0027).
NEEDS_ANALYTICS = frozenset({StoreEvent.Kind.EXIT, StoreEvent.Kind.SHELF_DWELL})
# How long before the visit's entry an event may say it happened (a device clock a little behind).
EARLY_SECONDS = 300


class Outcome:
    STORED = "stored"
    ALREADY_STORED = "already_stored"
    DROPPED = "dropped"
    REFUSED = "refused"


# Every outcome, in the order answers count them.
OUTCOMES = (Outcome.STORED, Outcome.ALREADY_STORED, Outcome.DROPPED, Outcome.REFUSED)


@dataclass(frozen=True)
class ReportedItem:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class ReportedEvent:
    event_id: str
    visit_id: uuid.UUID
    kind: str
    occurred_at: datetime
    shelf: str = ""
    dwell_seconds: int | None = None
    items: tuple[ReportedItem, ...] = ()
    total: Decimal | None = None
    currency: str = ""
    notice_version: int | None = None


@dataclass(frozen=True)
class EventOutcome:
    event_id: str
    status: str
    error: DomainError | None = None
    # A stored purchase: whether the store may use it to choose offers for the shopper (C2, decision 0034).
    for_offers: bool | None = None


_dropped_bump = PreparedQuery(
    lambda device_id, day: EventCounter.objects.filter(device_id=device_id, day=day),
    updates=lambda **_: {"dropped": F("dropped") + 1},
    device_id=int,
    day=date,
)


def _count_dropped(device: Device) -> None:
    today = timezone.localdate()
    if not _dropped_bump.update(device_id=device.pk, day=today):
        EventCounter.objects.get_or_create(device=device, day=today)  # the day's first
        _dropped_bump.update(device_id=device.pk, day=today)


@transaction.atomic
def store_events_record(*, device: Device, events: list[ReportedEvent]) -> list[EventOutcome]:
    """Record a device's batch of events, each on its own: stored, already stored (its `event_id` came
    before from this device), dropped and counted (the shopper's `store_analytics` consent is not active
    for an event that needs it), or refused with a code. One audit entry for the batch, with the counts."""
    if len(events) > MAX_EVENTS:
        raise ValidationFailed(
            _("Send at most %(count)d events at once.") % {"count": MAX_EVENTS}, code="too_many_events"
        )
    visits = {
        visit.public_id: visit
        for visit in Visit.objects.filter(public_id__in={event.visit_id for event in events}).select_related(
            "store", "match_event"
        )
    }
    before = set(
        StoreEvent.objects.filter(device=device, event_id__in=[event.event_id for event in events]).values_list(
            "event_id", flat=True
        )
    )
    analytics: dict[int, bool] = {}
    outcomes: list[EventOutcome] = []
    for event in events:
        visit = visits.get(event.visit_id)
        if event.event_id in before:
            status = Outcome.ALREADY_STORED
        else:
            try:
                status = _record_one(device=device, event=event, visit=visit, analytics=analytics)
            except DomainError as error:
                outcomes.append(EventOutcome(event.event_id, Outcome.REFUSED, error))
                continue
        if status == Outcome.STORED:
            before.add(event.event_id)
        # Sending a purchase again is how a till asks whether it may still be used for offers.
        purchase_kept = status != Outcome.DROPPED and event.kind == StoreEvent.Kind.PURCHASE
        for_offers = _for_offers(event, visit) if purchase_kept and _own_visit(device, visit) else None
        outcomes.append(EventOutcome(event.event_id, status, for_offers=for_offers))
    counts = {status: sum(outcome.status == status for outcome in outcomes) for status in OUTCOMES}
    if counts[Outcome.STORED] or counts[Outcome.DROPPED]:
        audit_entry_create(actor=Actor.device(device), action="store_events.recorded", target=device, data=counts)
    return outcomes


def _own_visit(device: Device, visit: Visit | None) -> bool:
    return visit is not None and visit.store_id == device.store_id


def _for_offers(event: ReportedEvent, visit: Visit) -> bool:
    """A purchase may be used to choose offers when the shopper's `personalised_offers` consent to the
    operator is active and was given before the purchase (a consent is never retroactive)."""
    since = consent_active_since_locked(
        shopper_id=visit.shopper_id, operator_id=visit.store.operator_id, purpose=Purpose.PERSONALISED_OFFERS
    )
    return since is not None and since <= event.occurred_at


def _record_one(*, device: Device, event: ReportedEvent, visit: Visit | None, analytics: dict[int, bool]) -> str:
    if visit is None:
        raise NotFound(_("No visit has this id."), code="visit_unknown")
    if visit.store_id != device.store_id:
        raise Forbidden(
            _("This visit is at another store; only its own store's devices report on it."), code="visit_other_store"
        )
    now = timezone.now()
    if event.occurred_at < visit.entered_at - timedelta(seconds=EARLY_SECONDS) or event.occurred_at > now + timedelta(
        seconds=settings.DEVICE_CLOCK_SKEW_SECONDS
    ):
        raise ValidationFailed(
            _("The event's time must fall between the visit's entry and now."), code="event_time_invalid"
        )
    if event.kind == StoreEvent.Kind.PURCHASE:
        _check_purchase(event)
    if event.kind == StoreEvent.Kind.NOTICE_SHOWN:
        _check_notice(event, visit)
    if event.kind in NEEDS_ANALYTICS:
        if visit.shopper_id not in analytics:
            analytics[visit.shopper_id] = consent_active_locked(
                shopper_id=visit.shopper_id, operator_id=visit.store.operator_id, purpose=Purpose.STORE_ANALYTICS
            )
        if not analytics[visit.shopper_id]:
            _count_dropped(device)
            return Outcome.DROPPED
    if event.kind == StoreEvent.Kind.EXIT and visit.exited_at is not None:
        raise Conflict(_("This visit's exit is already on record."), code="visit_already_exited")
    try:
        with transaction.atomic():
            stored = StoreEvent.objects.create(
                visit=visit,
                shopper_id=visit.shopper_id,
                store_id=visit.store_id,
                device=device,
                event_id=event.event_id,
                kind=event.kind,
                occurred_at=event.occurred_at,
                shelf=event.shelf,
                dwell_seconds=event.dwell_seconds,
                total=event.total,
                currency=event.currency,
                notice_version_id=event.notice_version,
            )
    except IntegrityError:  # the same event from the same device, in a batch sent at the same moment
        return Outcome.ALREADY_STORED
    if event.items:
        PurchaseItem.objects.bulk_create(
            PurchaseItem(event=stored, sku=item.sku, name=item.name, quantity=item.quantity, unit_price=item.unit_price)
            for item in event.items
        )
    if event.kind == StoreEvent.Kind.EXIT:
        Visit.objects.filter(pk=visit.pk).update(exited_at=event.occurred_at)
        visit.exited_at = event.occurred_at
    if event.kind == StoreEvent.Kind.NOTICE_SHOWN:  # the visit keeps the door's confirmation (C11)
        Visit.objects.filter(pk=visit.pk).update(notice_shown_at=event.occurred_at)
        visit.notice_shown_at = event.occurred_at
    return Outcome.STORED


def _check_notice(event: ReportedEvent, visit: Visit) -> None:
    """The door confirms it showed the collection notice of a first recognition: the version it was told."""
    match = getattr(visit, "match_event", None) if visit.first_visit else None
    if match is None:
        raise Conflict(_("This visit has no collection notice to show."), code="notice_not_due")
    if event.notice_version != match.notice_version_id:
        raise ValidationFailed(
            _("This visit's collection notice is version %(version)d.") % {"version": match.notice_version_id},
            code="notice_version_mismatch",
        )
    if visit.notice_shown_at is not None:
        raise Conflict(_("The door already confirmed this visit's notice."), code="notice_already_confirmed")


def _check_purchase(event: ReportedEvent) -> None:
    if not event.items:
        raise ValidationFailed(_("A purchase lists at least one item."), code="purchase_items_required")
    if sum(item.quantity * item.unit_price for item in event.items) != event.total:
        raise ValidationFailed(_("The purchase's total is not the sum of its items."), code="purchase_total_mismatch")


# --- deletion by the shopper (F4) -------------------------------------------------------------------


@dataclass(frozen=True)
class DeletionReceipt:
    """What a deletion removed, by category, and when: mailed to the shopper and kept in the log (counts
    only, nothing about what the rows said)."""

    scope: str  # event, visit, range, all
    counts: dict[str, int]
    deleted_at: datetime

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _plan_carry_out(plan) -> None:
    for rows in footprint_rows(events=plan.events, visits=plan.visits):
        # Leaves first: when a table's turn comes nothing refers to its rows any more, so each is one DELETE
        # statement. Django's cascade would load every row to look for what refers to it, and then name
        # them all in one IN list, which PostgreSQL refuses beyond 65,535 (a footprint of 100,000 events).
        rows._raw_delete(rows.db)


def footprint_erase(*, shopper) -> dict[str, int]:
    """An account's erasure (portal.erasure.services): the whole footprint with the notifications of its visits, in
    the caller's transaction; no audit entry or mail of its own (the erasure writes one for everything)."""
    plan = footprint_deletion_plan(shopper=shopper, everything=True)
    notifications = Notification.objects.filter(shopper=shopper).count()
    _plan_carry_out(plan)
    return {**plan.counts, "notifications": notifications}


@transaction.atomic
def footprint_delete(*, shopper, channel: str, **scope) -> DeletionReceipt:
    """The shopper deletes part of their footprint (`footprint_deletion_plan` says which: one event, one visit
    with everything in it, the visits begun within some days, or all of it). Audited with the counts; the
    receipt is mailed after commit."""
    plan = footprint_deletion_plan(shopper=shopper, **scope)
    _plan_carry_out(plan)
    scope, counts = plan.scope, plan.counts
    receipt = DeletionReceipt(scope=scope, counts=counts, deleted_at=timezone.now())
    audit_entry_create(
        actor=Actor.shopper(shopper, channel),
        action="footprint.deleted",
        target=shopper,
        data={"scope": scope, **counts},
    )
    footprint_deleted_notify(shopper=shopper, receipt=receipt)
    return receipt
