"""Retention by schedule (F7; docs/decisions/0030-retention.md). Each function takes `now` so a test
can move the clock, is safe to run twice (a second run finds nothing more), and leaves audit entries
with counts, zero included, so the log shows the schedule ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from biometrics.services import match_index_notes_purge
from consent.selectors import consent_lock_for_retention, face_consents_unrenewed_since
from consent.services import consent_end_not_recognised
from core.audit import Actor, audit_entry_create
from stores.footprint.selectors import footprint_rows
from stores.models import (
    EventCounter,
    MatchEvent,
    Notification,
    Operator,
    ProbeCounter,
    PurchaseItem,
    StoreEvent,
    Visit,
)

# The shopper's own period, a field of the user model (portal): months, 0 for the operator's period.
SHOPPER_MONTHS_FIELD = "footprint_retention_months"
# How long the per-device, per-day counts of unmatched probes and dropped events are kept.
COUNTER_RETENTION_DAYS = 90
# Visits deleted per transaction (each with its events, purchase lines and match event).
VISITS_PER_BATCH = 1000


def shopper_period_choices() -> list[int]:
    """The periods in months a shopper may choose (0, the operator's period, left out)."""
    field_ = get_user_model()._meta.get_field(SHOPPER_MONTHS_FIELD)
    return sorted(value for value, _label in field_.choices if value)


def _footprint_cutoff_q(*, operator: Operator, now: datetime) -> Q:
    """Visits at this operator's stores past their period: entered before the later of the operator's
    cutoff and the cutoff of the period their shopper chose (the shorter period wins)."""
    operator_cutoff = now - timedelta(days=operator.footprint_retention_days)
    past = Q(entered_at__lt=operator_cutoff)
    for months in shopper_period_choices():
        shopper_cutoff = now - relativedelta(months=months)
        if shopper_cutoff > operator_cutoff:
            past |= Q(**{f"shopper__{SHOPPER_MONTHS_FIELD}": months}, entered_at__lt=shopper_cutoff)
    return past


@dataclass
class FootprintPurged:
    """What a footprint purge deleted, in all and per operator (visits)."""

    visits: int = 0
    store_events: int = 0
    purchase_items: int = 0
    match_events: int = 0
    notifications: int = 0
    visits_by_operator: dict[int, int] = field(default_factory=dict)


# What each table of a footprint is called in the counts.
_COUNTED = {
    PurchaseItem: "purchase_items",
    StoreEvent: "store_events",
    MatchEvent: "match_events",
    Notification: "notifications",
    Visit: "visits",
}


def _visit_rows(ids: list[int]) -> dict[str, QuerySet]:
    """What goes with these visits, leaves first, as a shopper's own deletion takes it (`footprint_rows`):
    when a table's turn comes nothing refers to its rows any more, so each is one DELETE statement."""
    rows = footprint_rows(events=StoreEvent.objects.none(), visits=Visit.objects.filter(pk__in=ids))
    return {_COUNTED[table.model]: table for table in rows}


def _no_counts() -> dict[str, int]:
    return dict.fromkeys(_COUNTED.values(), 0)


@transaction.atomic
def _visits_delete_batch(*, operator: Operator, past: Q, now: datetime) -> dict[str, int]:
    """Delete up to VISITS_PER_BATCH of the operator's visits past their period, with their audit entry."""
    ids = list(
        Visit.objects.select_for_update(of=("self",))
        .filter(past, store__operator_id=operator.pk)
        .order_by("pk")
        .values_list("pk", flat=True)[:VISITS_PER_BATCH]
    )
    if not ids:
        return _no_counts()
    counts = _no_counts()
    for name, rows in _visit_rows(ids).items():
        counts[name] = rows.count()
        rows._raw_delete(rows.db)
    audit_entry_create(
        actor=Actor.system(),
        action="retention.footprint_purged",
        target=operator,
        data={**counts, "footprint_retention_days": operator.footprint_retention_days, "run_at": now.isoformat()},
    )
    return counts


def footprint_purge_past_retention(*, now: datetime | None = None) -> FootprintPurged:
    """Delete every visit past its period, with its store events, purchase lines and match event (they
    cascade), per operator: the shorter of the operator's `footprint_retention_days` and the months its
    shopper chose. One audit entry per batch of visits (target: the operator, with the counts); a run
    that finds nothing leaves one entry with zeros."""
    now = now or timezone.now()
    purged = FootprintPurged()
    for operator in Operator.objects.order_by("pk"):
        past = _footprint_cutoff_q(operator=operator, now=now)
        while True:
            counts = _visits_delete_batch(operator=operator, past=past, now=now)
            for name, count in counts.items():
                setattr(purged, name, getattr(purged, name) + count)
            if counts["visits"]:
                purged.visits_by_operator[operator.pk] = (
                    purged.visits_by_operator.get(operator.pk, 0) + counts["visits"]
                )
            if counts["visits"] < VISITS_PER_BATCH:
                break
    if not purged.visits:
        with transaction.atomic():
            audit_entry_create(
                actor=Actor.system(),
                action="retention.footprint_purged",
                target=("stores.visit", "*"),
                data={**_no_counts(), "run_at": now.isoformat()},
            )
    return purged


def _last_face_recognition(*, shopper_id: int, operator_id: int) -> datetime | None:
    return (
        MatchEvent.objects.filter(shopper_id=shopper_id, store__operator_id=operator_id)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def face_consents_end_not_recognised(*, now: datetime | None = None) -> int:
    """Per operator, end each face_entry consent of a shopper its doors have not recognised by face for its
    `template_retention_days`, counted from the later of the consent's giving or reaffirming and the last
    recognition on record at its stores (docs/decisions/0030). Each ends as invalidated, reason
    `not_recognised`, with its mail; with the shopper's last face consent the templates go and the match
    workers are told at once (consent_end). One summary audit entry per run with the count, zero included.
    Returns how many ended."""
    now = now or timezone.now()
    ended = 0
    by_operator: dict[str, int] = {}
    for operator in Operator.objects.order_by("pk"):
        since = now - timedelta(days=operator.template_retention_days)
        last_recognised = Subquery(
            MatchEvent.objects.filter(shopper_id=OuterRef("shopper_id"), store__operator_id=operator.pk)
            .order_by("-occurred_at")
            .values("occurred_at")[:1]
        )
        candidates = (
            face_consents_unrenewed_since(operator_id=operator.pk, since=since, now=now)
            .annotate(last_recognised=last_recognised)
            .filter(Q(last_recognised__isnull=True) | Q(last_recognised__lt=since))
            .values_list("pk", "shopper_id")
        )
        for consent_id, shopper_id in candidates.iterator(chunk_size=500):
            with transaction.atomic():
                consent = consent_lock_for_retention(consent_id=consent_id)
                if consent is None:
                    continue
                # Read under the lock: a match recorded meanwhile is seen and keeps the consent.
                result = consent_end_not_recognised(
                    consent=consent,
                    last_recognised_at=_last_face_recognition(shopper_id=shopper_id, operator_id=operator.pk),
                    period_days=operator.template_retention_days,
                    now=now,
                )
            if result is not None:
                ended += 1
                by_operator[str(operator.pk)] = by_operator.get(str(operator.pk), 0) + 1
    with transaction.atomic():
        audit_entry_create(
            actor=Actor.system(),
            action="retention.face_consents_ended",
            target=("consent.consent", "*"),
            data={"ended": ended, "by_operator": by_operator, "run_at": now.isoformat()},
        )
    return ended


@dataclass(frozen=True)
class CountersPurged:
    probe_counters: int
    event_counters: int
    before: date
    match_index_notes: int = 0


@transaction.atomic
def counters_purge_old(*, now: datetime | None = None) -> CountersPurged:
    """Delete the per-device daily counts of unmatched probes and dropped events older than
    COUNTER_RETENTION_DAYS (kept: the last 90 days and today), and the match workers' index notes older
    than MATCH_INDEX_NOTES_KEPT_HOURS, with one audit entry, zero included."""
    now = now or timezone.now()
    before = timezone.localdate(now) - timedelta(days=COUNTER_RETENTION_DAYS)
    probe_counters, _ = ProbeCounter.objects.filter(day__lt=before).delete()
    event_counters, _ = EventCounter.objects.filter(day__lt=before).delete()
    notes = match_index_notes_purge(before=now - timedelta(hours=settings.MATCH_INDEX_NOTES_KEPT_HOURS))
    audit_entry_create(
        actor=Actor.system(),
        action="retention.counters_purged",
        target=("stores.probecounter", "*"),
        data={
            "probe_counters": probe_counters,
            "event_counters": event_counters,
            "match_index_notes": notes,
            "before": before.isoformat(),
        },
    )
    return CountersPurged(
        probe_counters=probe_counters, event_counters=event_counters, before=before, match_index_notes=notes
    )
