"""`POST /api/v1/device/events`: what store devices report about visits (F1), each event answered on its own:
stored, already stored, dropped and counted without `store_analytics` consent, or refused with its code."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from consent.services import consent_withdraw, entry_pass_issue
from core.audit import audit_chain_verify
from core.models import AuditEntry
from stores.models import EventCounter, PurchaseItem, StoreEvent, Visit
from tests.conftest import assert_error
from tests.factories import UserFactory, consent_to, live_store, registered_device
from tests.stores.device import match_encoding, signed_post

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("F1")]

EVENTS = "/api/v1/device/events"


@pytest.fixture
def shop():
    store = live_store()
    return store, *registered_device(store)


def visit_by_pass(client, store, device, secret, shopper=None):
    """A shopper let in at `store` with an entry pass: the visit events are reported against."""
    shopper = shopper or UserFactory()
    token = entry_pass_issue(shopper=shopper, channel="app").token
    answer = signed_post(client, device, secret, "/api/v1/device/entry-pass", {"entry_pass": token})
    assert answer.status_code == 200, answer.content
    # The shopper came in an hour ago: the devices report on the visit as it goes on.
    Visit.objects.filter(public_id=answer.json()["visit_id"]).update(entered_at=timezone.now() - timedelta(hours=1))
    return Visit.objects.get(public_id=answer.json()["visit_id"])


def at(visit, minutes: int) -> str:
    return (visit.entered_at + timedelta(minutes=minutes)).isoformat()


def dwell(visit, event_id="d1", *, shelf="A3", seconds=42, minutes=2) -> dict:
    return {
        "event_id": event_id,
        "visit_id": str(visit.public_id),
        "kind": "shelf_dwell",
        "occurred_at": at(visit, minutes),
        "shelf": shelf,
        "seconds": seconds,
    }


def purchase(visit, event_id="p1", *, total="7.50", minutes=5) -> dict:
    return {
        "event_id": event_id,
        "visit_id": str(visit.public_id),
        "kind": "purchase",
        "occurred_at": at(visit, minutes),
        "items": [
            {"sku": "tea-500", "name": "Green tea 500 ml", "quantity": 2, "unit_price": "3.00"},
            {"sku": "bun", "name": "Red bean bun", "quantity": 1, "unit_price": "1.50"},
        ],
        "total": total,
        "currency": "CNY",
    }


def leave(visit, event_id="x1", *, minutes=9) -> dict:
    return {"event_id": event_id, "visit_id": str(visit.public_id), "kind": "exit", "occurred_at": at(visit, minutes)}


def send(client, device, secret, *events):
    return signed_post(client, device, secret, EVENTS, {"events": list(events)})


def statuses(response) -> list[tuple]:
    return [
        (result["event_id"], result["status"], result.get("error", {}).get("code"))
        for result in response.json()["results"]
    ]


class TestWithAnalyticsConsent:
    def test_exit_dwell_and_purchase_are_stored_and_audited_once_for_the_batch(self, client, shop):
        store, device, secret = shop
        visit = visit_by_pass(client, store, device, secret)
        consent_to(visit.shopper, store.operator, "store_analytics")

        response = send(client, device, secret, dwell(visit), purchase(visit), leave(visit))

        assert response.status_code == 200
        assert response.json() == {
            "results": [
                {"event_id": "d1", "status": "stored"},
                {"event_id": "p1", "status": "stored", "for_offers": False},
                {"event_id": "x1", "status": "stored"},
            ],
            "stored": 3,
            "already_stored": 0,
            "dropped": 0,
            "refused": 0,
        }
        stored = {event.kind: event for event in StoreEvent.objects.all()}
        assert (stored["shelf_dwell"].shelf, stored["shelf_dwell"].dwell_seconds) == ("A3", 42)
        assert (stored["purchase"].total, stored["purchase"].currency) == (Decimal("7.50"), "CNY")
        assert [(item.sku, item.quantity, item.unit_price) for item in PurchaseItem.objects.all()] == [
            ("tea-500", 2, Decimal("3.00")),
            ("bun", 1, Decimal("1.50")),
        ]
        assert all(event.shopper_id == visit.shopper_id and event.store_id == store.pk for event in stored.values())
        visit.refresh_from_db()
        assert visit.exited_at == visit.entered_at + timedelta(minutes=9)
        entry = AuditEntry.objects.get(action="store_events.recorded")
        assert entry.data == {"stored": 3, "already_stored": 0, "dropped": 0, "refused": 0}
        assert (entry.actor_type, entry.target_id) == ("device", str(device.pk))
        assert audit_chain_verify().intact

    def test_a_shelf_device_of_the_store_reports_dwell_but_cannot_match(self, client, shop):
        store, door, door_secret = shop
        visit = visit_by_pass(client, store, door, door_secret)
        consent_to(visit.shopper, store.operator, "store_analytics")
        shelf, shelf_secret = registered_device(store, kind="shelf", location="sales_floor")

        assert statuses(send(client, shelf, shelf_secret, dwell(visit))) == [("d1", "stored", None)]
        assert_error(
            match_encoding(client, shelf, shelf_secret, [0.0] * 128),
            403,
            "device_cannot_match",
            "Only entrance devices may recognise shoppers.",
        )


@pytest.mark.requirement("C2")
class TestWithoutAnalyticsConsent:
    def test_dwell_and_exit_are_dropped_and_counted_and_the_purchase_is_kept(self, client, shop):
        store, device, secret = shop
        visit = visit_by_pass(client, store, device, secret)

        response = send(client, device, secret, dwell(visit), leave(visit), purchase(visit))

        assert response.status_code == 200
        assert statuses(response) == [("d1", "dropped", None), ("x1", "dropped", None), ("p1", "stored", None)]
        assert list(StoreEvent.objects.values_list("kind", flat=True)) == ["purchase"]
        assert EventCounter.objects.get(device=device, day=timezone.localdate()).dropped == 2
        visit.refresh_from_db()
        assert visit.exited_at is None

    def test_after_a_withdrawal_the_next_dwell_is_dropped(self, client, shop):
        store, device, secret = shop
        visit = visit_by_pass(client, store, device, secret)
        analytics = consent_to(visit.shopper, store.operator, "store_analytics")
        assert statuses(send(client, device, secret, dwell(visit, "d1"))) == [("d1", "stored", None)]
        consent_withdraw(consent=analytics, channel="app")

        assert statuses(send(client, device, secret, dwell(visit, "d2"))) == [("d2", "dropped", None)]
        assert StoreEvent.objects.count() == 1

    def test_another_operators_analytics_consent_does_not_count(self, client, shop):
        store, device, secret = shop
        visit = visit_by_pass(client, store, device, secret)
        consent_to(visit.shopper, live_store().operator, "store_analytics")
        assert statuses(send(client, device, secret, dwell(visit))) == [("d1", "dropped", None)]


class TestRefusals:
    def test_a_mixed_batch_refuses_each_bad_event_with_its_code_and_keeps_the_rest(self, client, shop):
        store, device, secret = shop
        visit = visit_by_pass(client, store, device, secret)
        consent_to(visit.shopper, store.operator, "store_analytics")
        unknown = {**dwell(visit, "u1"), "visit_id": "00000000-0000-4000-8000-000000000000"}
        wrong_total = purchase(visit, "p2", total="9.99")
        stray_field = {**leave(visit, "x2"), "shelf": "A3"}
        no_seconds = {key: value for key, value in dwell(visit, "d2").items() if key != "seconds"}
        too_early = dwell(visit, "d3", minutes=-30)

        response = send(
            client,
            device,
            secret,
            dwell(visit),
            unknown,
            wrong_total,
            "not an event",
            stray_field,
            no_seconds,
            too_early,
        )

        assert response.status_code == 207
        assert statuses(response) == [
            ("d1", "stored", None),
            ("u1", "refused", "visit_unknown"),
            ("p2", "refused", "purchase_total_mismatch"),
            (None, "refused", "invalid"),
            ("x2", "refused", "invalid"),
            ("d2", "refused", "invalid"),
            ("d3", "refused", "event_time_invalid"),
        ]
        results = response.json()["results"]
        assert results[4]["error"]["fields"] == {
            "shelf": [{"code": "invalid", "message": "Not a field of this kind of event."}]
        }
        assert results[5]["error"]["fields"] == {"seconds": [{"code": "invalid", "message": "This field is required."}]}
        assert response.json()["stored"] == 1 and response.json()["refused"] == 6
        assert list(StoreEvent.objects.values_list("event_id", flat=True)) == ["d1"]

    def test_an_event_id_sent_twice_is_stored_once(self, client, shop):
        store, device, secret = shop
        visit = visit_by_pass(client, store, device, secret)

        first = send(client, device, secret, purchase(visit), purchase(visit))
        again = send(client, device, secret, purchase(visit))

        assert statuses(first) == [("p1", "stored", None), ("p1", "already_stored", None)]
        assert statuses(again) == [("p1", "already_stored", None)]
        assert StoreEvent.objects.count() == 1 and PurchaseItem.objects.count() == 2
        assert AuditEntry.objects.filter(action="store_events.recorded").count() == 1  # nothing new, nothing logged

    def test_a_device_of_another_store_gets_a_code(self, client, shop):
        store, device, secret = shop
        visit = visit_by_pass(client, store, device, secret)
        elsewhere, elsewhere_secret = registered_device(live_store(store.operator))
        assert statuses(send(client, elsewhere, elsewhere_secret, purchase(visit))) == [
            ("p1", "refused", "visit_other_store")
        ]
        assert not StoreEvent.objects.exists()

    def test_a_second_exit_is_refused(self, client, shop):
        store, device, secret = shop
        visit = visit_by_pass(client, store, device, secret)
        consent_to(visit.shopper, store.operator, "store_analytics")
        send(client, device, secret, leave(visit, "x1"))
        assert statuses(send(client, device, secret, leave(visit, "x2", minutes=12))) == [
            ("x2", "refused", "visit_already_exited")
        ]

    def test_a_batch_must_hold_one_to_a_hundred_events(self, client, shop):
        store, device, secret = shop
        visit = visit_by_pass(client, store, device, secret)
        too_many = [purchase(visit, f"p{n}") for n in range(101)]
        assert_error(
            send(client, device, secret, *too_many), 400, "too_many_events", "Send at most 100 events at once."
        )
        empty = signed_post(client, device, secret, EVENTS, {"events": []})
        assert empty.status_code == 400 and empty.json()["error"]["code"] == "invalid"
        assert not StoreEvent.objects.exists()

    def test_an_unsigned_batch_is_refused(self, client, shop):
        response = client.post(EVENTS, {"events": []}, content_type="application/json")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "signature_missing"
