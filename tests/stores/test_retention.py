"""Retention by schedule (F7; docs/decisions/0030-retention.md), acceptance 5: with the clock moved
forward, the scheduled jobs remove exactly what is past its period (the operator's or the shopper's,
whichever is shorter) and nothing else.

The services take `now`: the world is built around a moment 1,000 days ahead, with items a minute inside
and a minute outside each period, for two operators with different periods and shoppers with each choice.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

import numpy as np
import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

import consent.tasks  # noqa: F401  (registers the tasks the schedule names)
import stores.tasks  # noqa: F401
from biometrics.keys import key_ring
from biometrics.models import FaceTemplate, MatchIndexChange
from consent.models import Consent, EntryPass
from consent.services import consent_expire_due, entry_passes_purge
from core.audit import Actor, audit_chain_verify
from core.models import AuditEntry
from portal.celery import app as celery_app
from stores.models import EventCounter, MatchEvent, Operator, ProbeCounter, PurchaseItem, StoreEvent, Visit
from stores.retention.services import (
    counters_purge_old,
    face_consents_end_not_recognised,
    footprint_purge_past_retention,
)
from stores.services import operator_update
from tests.factories import OperatorFactory, UserFactory, face_consent, live_store, registered_device

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("F7")]

MINUTE = timedelta(minutes=1)
# The moment the clock is moved to.
NOW = timezone.now().replace(microsecond=0) + timedelta(days=1000)


def run_retention(now: datetime) -> None:
    """Every retention job, in the order of the beat schedule's day (consent expiry runs every 15 minutes)."""
    consent_expire_due(now=now)
    footprint_purge_past_retention(now=now)
    face_consents_end_not_recognised(now=now)
    counters_purge_old(now=now)
    entry_passes_purge(now=now)


@dataclass
class Place:
    operator: Operator
    store: object
    device: object


@dataclass
class World:
    places: dict[str, Place] = field(default_factory=dict)
    shoppers: dict[str, object] = field(default_factory=dict)
    kept: set[int] = field(default_factory=set)  # visit ids that must remain
    removed: set[int] = field(default_factory=set)

    def visit(self, *, shopper, place: Place, at: datetime, consent: Consent | None = None) -> Visit:
        """A visit with a purchase (one line) and, for a face entry, its match event."""
        visit = Visit.objects.create(
            shopper=shopper,
            store=place.store,
            device=place.device,
            method=Visit.Method.FACE if consent else Visit.Method.ENTRY_PASS,
            entered_at=at,
        )
        event = StoreEvent.objects.create(
            visit=visit,
            shopper=shopper,
            store=place.store,
            device=place.device,
            event_id=f"p{visit.pk}",
            kind=StoreEvent.Kind.PURCHASE,
            occurred_at=at + MINUTE,
            total=Decimal("3.00"),
            currency="CNY",
        )
        PurchaseItem.objects.create(event=event, sku="tea", name="Tea", quantity=1, unit_price=Decimal("3.00"))
        if consent is not None:
            MatchEvent.objects.create(
                visit=visit,
                shopper=shopper,
                device=place.device,
                store=place.store,
                distance=0.4,
                mode="1:N",
                consent=consent,
                notice_version=consent.notice_version,
                occurred_at=at,
            )
        return visit


def place(**periods) -> Place:
    operator = OperatorFactory(**periods)
    store = live_store(operator)
    device, _secret = registered_device(store)
    return Place(operator, store, device)


def template(shopper) -> None:
    sealed = key_ring().seal(np.zeros(128), owner=str(shopper.public_id))
    FaceTemplate.objects.create(shopper=shopper, key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext)


def consent_dated(shopper, operator, *, given: datetime, reaffirmed: datetime | None = None) -> Consent:
    """A face consent given (and reaffirmed) at these moments, still valid at NOW."""
    consent = face_consent(shopper, operator)
    Consent.objects.filter(pk=consent.pk).update(
        given_at=given, reaffirmed_at=reaffirmed, expires_at=NOW + timedelta(days=30)
    )
    consent.refresh_from_db()
    return consent


# The shoppers and the months they chose (0: the operator's period).
CHOICES = {"default": 0, "three": 3, "eighteen": 18, "thirty_six": 36}
# Operator "short" keeps visits 100 days (3 months is shorter), "long" 800 days (3 and 18 months are
# shorter, 36 months is longer).
FOOTPRINT_DAYS = {"short": 100, "long": 800}


def cutoff(operator_days: int, months: int) -> datetime:
    """The shorter period wins: the later of the two cutoffs."""
    operator_cutoff = NOW - timedelta(days=operator_days)
    return max(operator_cutoff, NOW - relativedelta(months=months)) if months else operator_cutoff


@pytest.fixture
def world():
    world = World()
    world.places = {
        "short": place(footprint_retention_days=100, template_retention_days=200),
        "long": place(footprint_retention_days=800, template_retention_days=60),
    }
    for name, months in CHOICES.items():
        world.shoppers[name] = UserFactory(footprint_retention_months=months)
    for place_name, place_ in world.places.items():
        for shopper_name, shopper in world.shoppers.items():
            edge = cutoff(FOOTPRINT_DAYS[place_name], CHOICES[shopper_name])
            world.kept.add(world.visit(shopper=shopper, place=place_, at=edge + MINUTE).pk)
            world.kept.add(world.visit(shopper=shopper, place=place_, at=edge).pk)  # exactly the period: kept
            world.removed.add(world.visit(shopper=shopper, place=place_, at=edge - MINUTE).pk)
    return world


def test_the_cutoffs_differ_as_the_world_needs():
    """The world covers each case: the shopper's choice shorter than, and longer than, the operator's."""
    assert cutoff(100, 3) == NOW - relativedelta(months=3) > NOW - timedelta(days=100)
    assert cutoff(100, 18) == NOW - timedelta(days=100)
    assert cutoff(800, 18) == NOW - relativedelta(months=18)
    assert cutoff(800, 36) == NOW - timedelta(days=800)


class TestFootprint:
    def test_exactly_the_visits_past_the_shorter_period_go_with_everything_in_them(self, world):
        purged = footprint_purge_past_retention(now=NOW)

        assert set(Visit.objects.values_list("pk", flat=True)) == world.kept
        assert set(StoreEvent.objects.values_list("visit_id", flat=True)) == world.kept
        assert set(PurchaseItem.objects.values_list("event__visit_id", flat=True)) == world.kept
        assert set(MatchEvent.objects.values_list("visit_id", flat=True)) == set()  # entry-pass visits here
        removed = len(world.removed)
        assert (purged.visits, purged.store_events, purged.purchase_items) == (removed, removed, removed)

    def test_match_events_go_with_their_visit(self, world):
        shopper = world.shoppers["three"]
        short = world.places["short"]
        consent = consent_dated(shopper, short.operator, given=NOW - timedelta(days=10))
        edge = cutoff(100, 3)
        inside = world.visit(shopper=shopper, place=short, at=edge + MINUTE, consent=consent)
        outside = world.visit(shopper=shopper, place=short, at=edge - MINUTE, consent=consent)

        purged = footprint_purge_past_retention(now=NOW)

        assert list(MatchEvent.objects.values_list("visit_id", flat=True)) == [inside.pk]
        assert not Visit.objects.filter(pk=outside.pk).exists()
        assert purged.match_events == 1

    def test_each_operators_purge_is_audited_with_its_counts(self, world):
        footprint_purge_past_retention(now=NOW)
        entries = AuditEntry.objects.filter(action="retention.footprint_purged").order_by("sequence")
        per_operator = {entry.target_id: entry.data for entry in entries}
        for name, place_ in world.places.items():
            removed = len(CHOICES)  # one visit per shopper a minute outside
            assert per_operator[str(place_.operator.pk)] == {
                "visits": removed,
                "store_events": removed,
                "purchase_items": removed,
                "match_events": 0,
                "notifications": 0,
                "footprint_retention_days": FOOTPRINT_DAYS[name],
                "run_at": NOW.isoformat(),
            }
        assert {entry.actor_type for entry in entries} == {"system"}
        assert audit_chain_verify().intact

    def test_a_second_run_removes_nothing_and_says_so(self, world):
        footprint_purge_past_retention(now=NOW)
        before = AuditEntry.objects.filter(action="retention.footprint_purged").count()

        again = footprint_purge_past_retention(now=NOW)

        assert again.visits == 0
        assert set(Visit.objects.values_list("pk", flat=True)) == world.kept
        entry = AuditEntry.objects.filter(action="retention.footprint_purged").latest("sequence")
        assert AuditEntry.objects.filter(action="retention.footprint_purged").count() == before + 1
        assert (entry.target_type, entry.target_id) == ("stores.visit", "*")
        assert entry.data == {
            "visits": 0,
            "store_events": 0,
            "purchase_items": 0,
            "match_events": 0,
            "notifications": 0,
            "run_at": NOW.isoformat(),
        }

    def test_batches_of_visits_each_leave_their_entry(self, world, monkeypatch):
        from stores.retention import services

        monkeypatch.setattr(services, "VISITS_PER_BATCH", 3)
        purged = footprint_purge_past_retention(now=NOW)
        assert purged.visits == len(world.removed) == 8
        counts = [
            entry.data["visits"]
            for entry in AuditEntry.objects.filter(action="retention.footprint_purged").order_by("sequence")
        ]
        assert counts == [3, 1, 3, 1]  # 4 visits per operator, in batches of 3
        assert set(Visit.objects.values_list("pk", flat=True)) == world.kept

    def test_a_change_of_choice_applies_at_the_next_run(self, world):
        shopper = world.shoppers["thirty_six"]
        long = world.places["long"]
        in_18_months = world.visit(shopper=shopper, place=long, at=NOW - relativedelta(months=18) + MINUTE)
        past_18_months = world.visit(shopper=shopper, place=long, at=NOW - relativedelta(months=18) - MINUTE)
        footprint_purge_past_retention(now=NOW)
        assert Visit.objects.filter(pk__in=[in_18_months.pk, past_18_months.pk]).count() == 2

        shopper.footprint_retention_months = 18
        shopper.save(update_fields=["footprint_retention_months"])
        footprint_purge_past_retention(now=NOW)

        assert list(Visit.objects.filter(pk__in=[in_18_months.pk, past_18_months.pk]).values_list("pk", flat=True)) == [
            in_18_months.pk
        ]


class TestFaceConsents:
    """Per operator: a face consent its doors have not used for its template period, counted from the later
    of the consent's giving or reaffirming and the last recognition on record, ends; templates go with the
    shopper's last face consent."""

    @pytest.fixture
    def places(self):
        # "short" keeps templates 200 days without a recognition, "long" 60 days.
        return place(footprint_retention_days=365, template_retention_days=200), place(
            footprint_retention_days=365, template_retention_days=60
        )

    def test_exactly_the_consents_past_their_period_end(self, places, django_capture_on_commit_callbacks):
        a, b = places
        world = World()
        # Recognised at A a minute inside its 200 days, at B a minute outside its 60: B's consent ends.
        both = UserFactory()
        both_a = consent_dated(both, a.operator, given=NOW - timedelta(days=300))
        both_b = consent_dated(both, b.operator, given=NOW - timedelta(days=300))
        world.visit(shopper=both, place=a, at=NOW - timedelta(days=200) + MINUTE, consent=both_a)
        world.visit(shopper=both, place=b, at=NOW - timedelta(days=60) - MINUTE, consent=both_b)
        template(both)
        # Given a minute inside B's period, never recognised: kept.
        fresh = UserFactory()
        fresh_b = consent_dated(fresh, b.operator, given=NOW - timedelta(days=60) + MINUTE)
        # Given long ago, reaffirmed a minute inside: kept.
        renewed = UserFactory()
        renewed_b = consent_dated(
            renewed, b.operator, given=NOW - timedelta(days=400), reaffirmed=NOW - timedelta(days=60) + MINUTE
        )
        # Given long ago, reaffirmed a minute outside, never recognised: ends; its only face consent, so
        # its template goes.
        lapsed = UserFactory()
        lapsed_b = consent_dated(
            lapsed, b.operator, given=NOW - timedelta(days=400), reaffirmed=NOW - timedelta(days=60) - MINUTE
        )
        template(lapsed)
        # Recognised recently, but at the other operator's store: B's consent still ends.
        elsewhere = UserFactory()
        elsewhere_a = consent_dated(elsewhere, a.operator, given=NOW - timedelta(days=10))
        elsewhere_b = consent_dated(elsewhere, b.operator, given=NOW - timedelta(days=61))
        world.visit(shopper=elsewhere, place=a, at=NOW - timedelta(days=1), consent=elsewhere_a)
        template(elsewhere)
        mail.outbox.clear()
        changes_before = MatchIndexChange.objects.count()

        with django_capture_on_commit_callbacks(execute=True):
            assert face_consents_end_not_recognised(now=NOW) == 3

        status = dict(Consent.objects.values_list("pk", "status"))
        assert {pk for pk, value in status.items() if value == "invalidated"} == {
            both_b.pk,
            lapsed_b.pk,
            elsewhere_b.pk,
        }
        assert {pk for pk, value in status.items() if value == "active"} == {
            both_a.pk,
            fresh_b.pk,
            renewed_b.pk,
            elsewhere_a.pk,
        }
        # Templates: only the shopper left with no face consent loses them.
        assert set(FaceTemplate.objects.values_list("shopper_id", flat=True)) == {both.pk, elsewhere.pk}
        # Each ending tells the match workers, and the template deletion once more for the lapsed shopper.
        new_changes = list(MatchIndexChange.objects.order_by("pk").values_list("shopper_id", "operator_id"))[
            changes_before:
        ]
        assert sorted(new_changes, key=str) == sorted(
            [(both.pk, b.operator.pk), (lapsed.pk, b.operator.pk), (lapsed.pk, None), (elsewhere.pk, b.operator.pk)],
            key=str,
        )
        # The reason is on record, and each shopper is mailed like any other consent ending.
        ended = AuditEntry.objects.filter(action="consent.invalidated").order_by("sequence")
        assert [entry.data["reason"] for entry in ended] == ["not_recognised"] * 3
        assert {entry.actor_type for entry in ended} == {"system"}
        summary = AuditEntry.objects.get(action="retention.face_consents_ended")
        assert summary.data == {"ended": 3, "by_operator": {str(b.operator.pk): 3}, "run_at": NOW.isoformat()}
        recipients = sorted(message.to[0] for message in mail.outbox if "has ended" in message.subject)
        assert recipients == sorted([both.email, lapsed.email, elsewhere.email])
        (lapsed_mail,) = [m for m in mail.outbox if m.to == [lapsed.email] and "has ended" in m.subject]
        assert "none of its doors recognised you by face for 60 days" in lapsed_mail.body

    def test_a_second_run_ends_nothing_more(self, places):
        a, _b = places
        shopper = UserFactory()
        consent_dated(shopper, a.operator, given=NOW - timedelta(days=201))
        assert face_consents_end_not_recognised(now=NOW) == 1
        assert face_consents_end_not_recognised(now=NOW) == 0
        summaries = AuditEntry.objects.filter(action="retention.face_consents_ended").order_by("sequence")
        assert [entry.data["ended"] for entry in summaries] == [1, 0]

    def test_a_recognition_recorded_after_the_candidates_were_read_keeps_the_consent(self, places):
        """The service reads the last recognition again under the consent's lock, as the door takes it."""
        from consent.services import consent_end_not_recognised

        a, _b = places
        shopper = UserFactory()
        consent = consent_dated(shopper, a.operator, given=NOW - timedelta(days=300))
        assert (
            consent_end_not_recognised(
                consent=consent,
                last_recognised_at=NOW - timedelta(days=5),
                period_days=200,
                now=NOW,
            )
            is None
        )
        assert Consent.objects.get(pk=consent.pk).status == "active"

    def test_a_recognition_whose_visit_was_purged_no_longer_counts(self, places):
        """Decision 0030: the last recognition is the one on record; once the footprint purge took the
        visit, the period counts from the consent."""
        a, _b = places
        Operator.objects.filter(pk=a.operator.pk).update(footprint_retention_days=100)
        shopper = UserFactory()
        consent = consent_dated(shopper, a.operator, given=NOW - timedelta(days=300))
        World().visit(shopper=shopper, place=a, at=NOW - timedelta(days=150), consent=consent)

        footprint_purge_past_retention(now=NOW)
        assert face_consents_end_not_recognised(now=NOW) == 1

    def test_consents_for_other_purposes_and_ended_ones_are_left_alone(self, places):
        from tests.factories import consent_to

        a, _b = places
        shopper = UserFactory()
        analytics = consent_to(shopper, a.operator, "store_analytics")
        Consent.objects.filter(pk=analytics.pk).update(
            given_at=NOW - timedelta(days=300), expires_at=NOW + timedelta(days=1)
        )
        assert face_consents_end_not_recognised(now=NOW) == 0
        assert Consent.objects.get(pk=analytics.pk).status == "active"


class TestTemplatePeriodLimit:
    def test_an_operator_cannot_keep_templates_longer_than_36_months(self):
        operator = OperatorFactory()
        with pytest.raises(ValidationError) as refused:
            operator_update(actor=Actor.system(), operator=operator, template_retention_days=3 * 365 + 1)
        assert refused.value.message_dict == {
            "template_retention_days": ["Ensure this value is less than or equal to 1095."]
        }
        operator.refresh_from_db()
        assert operator.template_retention_days == 365
        operator_update(actor=Actor.system(), operator=operator, template_retention_days=3 * 365)
        operator.refresh_from_db()
        assert operator.template_retention_days == 1095

    def test_nor_can_a_write_past_the_services(self):
        operator = OperatorFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            Operator.objects.filter(pk=operator.pk).update(template_retention_days=1096)

    def test_the_default_is_12_months(self):
        assert OperatorFactory().template_retention_days == 365


class TestCounters:
    def test_counters_older_than_90_days_go(self):
        device = place().device
        today = timezone.localdate(NOW)
        for days in (0, 90, 91, 400):
            ProbeCounter.objects.create(device=device, day=today - timedelta(days=days), no_match=1)
            EventCounter.objects.create(device=device, day=today - timedelta(days=days), dropped=1)

        purged = counters_purge_old(now=NOW)

        kept = [today, today - timedelta(days=90)]
        assert sorted(ProbeCounter.objects.values_list("day", flat=True), reverse=True) == kept
        assert sorted(EventCounter.objects.values_list("day", flat=True), reverse=True) == kept
        assert (purged.probe_counters, purged.event_counters) == (2, 2)
        entry = AuditEntry.objects.get(action="retention.counters_purged")
        assert entry.data == {
            "probe_counters": 2,
            "event_counters": 2,
            "match_index_notes": 0,
            "before": (today - timedelta(days=90)).isoformat(),
        }
        assert counters_purge_old(now=NOW).probe_counters == 0

    def test_index_notes_older_than_a_day_go(self, settings):
        old = MatchIndexChange.objects.create(shopper_id=7, created_at=NOW - timedelta(hours=25))
        fresh = MatchIndexChange.objects.create(shopper_id=8, created_at=NOW - timedelta(hours=23))
        assert settings.MATCH_INDEX_NOTES_KEPT_HOURS == 24
        assert counters_purge_old(now=NOW).match_index_notes == 1
        assert list(MatchIndexChange.objects.values_list("pk", flat=True)) == [fresh.pk]
        assert not MatchIndexChange.objects.filter(pk=old.pk).exists()


def test_acceptance_every_job_with_the_clock_moved_forward_removes_exactly_what_is_past_its_period(
    world, django_capture_on_commit_callbacks
):
    """The whole schedule at once: visits, face consents (with templates), consents past their validity,
    entry passes, counters; what is inside its period stays."""
    short, long = world.places["short"], world.places["long"]
    # Face consents: "default" was recognised at the long operator (template period 60 days) a minute
    # outside it, and at the short operator (200 days) a minute inside it.
    shopper = world.shoppers["default"]
    short_consent = consent_dated(shopper, short.operator, given=NOW - timedelta(days=99))
    long_consent = consent_dated(shopper, long.operator, given=NOW - timedelta(days=300))
    kept_match = world.visit(shopper=shopper, place=short, at=NOW - timedelta(days=99), consent=short_consent)
    gone_match = world.visit(shopper=shopper, place=long, at=NOW - timedelta(days=60) - MINUTE, consent=long_consent)
    world.kept |= {kept_match.pk, gone_match.pk}  # both within 100 and 800 days of footprint
    template(shopper)
    # A consent past its validity (recorded by the 15-minute job) and its shopper's template.
    expiring = world.shoppers["eighteen"]
    expired = consent_dated(expiring, long.operator, given=NOW - timedelta(days=10))
    Consent.objects.filter(pk=expired.pk).update(expires_at=NOW - MINUTE)
    template(expiring)
    # Entry passes: past their lifetime (used, revoked, unused) go; a used one within it stays.
    passes = {}
    for name, expires, used, revoked in [
        ("used_past", NOW - MINUTE, NOW - 2 * MINUTE, None),
        ("revoked_past", NOW - MINUTE, None, NOW - 2 * MINUTE),
        ("unused_past", NOW - MINUTE, None, None),
        ("used_within", NOW + MINUTE, NOW - MINUTE, None),
        ("unused_within", NOW + MINUTE, None, None),
    ]:
        passes[name] = EntryPass.objects.create(
            token_id=f"token-{name}",
            shopper=world.shoppers["three"],
            issued_at=expires - timedelta(minutes=5),
            expires_at=expires,
            used_at=used,
            revoked_at=revoked,
        )
    today = timezone.localdate(NOW)
    ProbeCounter.objects.create(device=short.device, day=today - timedelta(days=90))
    ProbeCounter.objects.create(device=short.device, day=today - timedelta(days=91))
    EventCounter.objects.create(device=long.device, day=today - timedelta(days=90))
    EventCounter.objects.create(device=long.device, day=today - timedelta(days=91))

    with django_capture_on_commit_callbacks(execute=True):
        run_retention(NOW)

    assert set(Visit.objects.values_list("pk", flat=True)) == world.kept
    assert set(StoreEvent.objects.values_list("visit_id", flat=True)) == world.kept
    assert set(PurchaseItem.objects.values_list("event__visit_id", flat=True)) == world.kept
    assert set(MatchEvent.objects.values_list("visit_id", flat=True)) == {kept_match.pk, gone_match.pk}
    assert dict(Consent.objects.values_list("pk", "status")) == {
        short_consent.pk: "active",
        long_consent.pk: "invalidated",
        expired.pk: "expired",
    }
    assert list(FaceTemplate.objects.values_list("shopper_id", flat=True)) == [shopper.pk]
    assert set(EntryPass.objects.values_list("token_id", flat=True)) == {"token-used_within", "token-unused_within"}
    assert list(ProbeCounter.objects.values_list("day", flat=True)) == [today - timedelta(days=90)]
    assert list(EventCounter.objects.values_list("day", flat=True)) == [today - timedelta(days=90)]
    assert AuditEntry.objects.get(action="retention.entry_passes_purged").data == {
        "used": 1,
        "revoked": 1,
        "unused": 1,
        "expired_by": NOW.isoformat(),
    }

    # Nothing more goes on a second run at the same moment.
    with django_capture_on_commit_callbacks(execute=True):
        run_retention(NOW)
    assert set(Visit.objects.values_list("pk", flat=True)) == world.kept
    assert EntryPass.objects.count() == 2
    assert Consent.objects.filter(status="active").count() == 1
    assert audit_chain_verify().intact


class TestSchedule:
    RETENTION = {
        "stores.retention_footprint": "daily",
        "stores.retention_face_consents": "daily",
        "stores.retention_counters": "daily",
        "consent.entry_passes_purge": "hourly",
        "consent.expire_due": "every 15 minutes",
    }

    def entries(self):
        return {entry["task"]: entry["schedule"] for entry in celery_app.conf.beat_schedule.values()}

    def test_each_retention_job_is_declared_once_in_the_beat_schedule(self):
        tasks = [entry["task"] for entry in celery_app.conf.beat_schedule.values()]
        for task in self.RETENTION:
            assert tasks.count(task) == 1, task
            assert task in celery_app.tasks, task

    def test_daily_and_hourly_as_the_retention_page_says(self):
        schedules = self.entries()
        for task, every in self.RETENTION.items():
            schedule = schedules[task]
            if every == "daily":
                assert (len(schedule.hour), len(schedule.minute)) == (1, 1), task
                assert len(schedule.day_of_week) == 7 and len(schedule.day_of_month) == 31
            elif every == "hourly":
                assert (len(schedule.hour), len(schedule.minute)) == (24, 1), task
            else:
                assert sorted(schedule.minute) == [0, 15, 30, 45]

    def test_the_tasks_run_the_services_and_may_run_twice(self):
        shopper = UserFactory()
        a = place(footprint_retention_days=10)
        World().visit(shopper=shopper, place=a, at=timezone.now() - timedelta(days=11))
        EntryPass.objects.create(
            token_id="t", shopper=shopper, expires_at=timezone.now() - MINUTE, issued_at=timezone.now()
        )
        ProbeCounter.objects.create(device=a.device, day=timezone.localdate() - timedelta(days=91))
        consent_dated(shopper, a.operator, given=timezone.now() - timedelta(days=400))
        Consent.objects.filter(shopper=shopper).update(expires_at=timezone.now() + timedelta(days=1))

        results = {name: celery_app.tasks[name].apply().get() for name in self.RETENTION}

        assert results == {
            "stores.retention_footprint": 1,
            "stores.retention_face_consents": 1,
            "stores.retention_counters": 1,
            "consent.entry_passes_purge": 1,
            "consent.expire_due": 0,
        }
        again = {name: celery_app.tasks[name].apply().get() for name in self.RETENTION}
        assert set(again.values()) == {0}


def test_the_ending_is_mailed_in_the_shoppers_language(django_capture_on_commit_callbacks):
    a = place(template_retention_days=30)
    shopper = UserFactory(language="zh-hans")
    consent_dated(shopper, a.operator, given=NOW - timedelta(days=31))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert face_consents_end_not_recognised(now=NOW) == 1
    (message,) = [m for m in mail.outbox if m.to == [shopper.email]]
    assert f"您对 {a.operator.name} 的" in message.body
    assert "其任何入口在 30 天内都未通过人脸识别出您，因此不再保留您的同意。" in message.body


@pytest.mark.requirement("M2")
class TestAtTheDoor:
    """What the face-consent job ends, no door recognises any more, even from an index not yet refreshed;
    a recognition at the door keeps the consent."""

    def test_a_consent_ended_for_want_of_a_recognition_stops_the_door(self, client, door, astronaut):
        from tests.biometrics.photos import astronaut_jpeg
        from tests.stores.device import match_photo

        device, secret = door
        operator = device.store.operator
        assert match_photo(client, device, secret, astronaut_jpeg()).json()["result"] == "match"
        # The recognition just made keeps the consent, however old it is.
        Consent.objects.filter(shopper=astronaut).update(given_at=timezone.now() - timedelta(days=400))
        assert face_consents_end_not_recognised() == 0
        # A year without a recognition at this operator's doors: the match event is a year old.
        MatchEvent.objects.filter(shopper=astronaut).update(occurred_at=timezone.now() - timedelta(days=366))

        with mock.patch("stores.door.matching.OperatorIndexes.refresh"):
            assert face_consents_end_not_recognised() == 1
            assert match_photo(client, device, secret, astronaut_jpeg()).json() == {"result": "no_match"}

        assert Consent.objects.get(shopper=astronaut, operator=operator).status == "invalidated"
        assert not FaceTemplate.objects.filter(shopper=astronaut).exists()


def test_the_footprint_purge_costs_the_same_queries_for_10_visits_as_for_100():
    """Set-based: per operator, a batch's ids, then one count and one DELETE per table, whatever the number
    of visits or shoppers."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    a = place(footprint_retention_days=30)
    cost = {}
    for visits in (10, 100):
        shoppers = [UserFactory(footprint_retention_months=months) for months in (0, 3, 18, 36)]
        for index in range(visits):
            World().visit(shopper=shoppers[index % 4], place=a, at=NOW - timedelta(days=31))
        with CaptureQueriesContext(connection) as queries:
            assert footprint_purge_past_retention(now=NOW).visits == visits
        cost[visits] = len(queries)
    assert cost[10] == cost[100]
