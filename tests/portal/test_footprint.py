"""F2: the shopper's footprint as a timeline of visits with their events, over the API and on a page;
filters, cursor pagination, and a cost per page that does not grow with the footprint."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stores.models import MatchEvent, PurchaseItem, StoreEvent, Visit
from tests.factories import UserFactory, face_consent, live_store, registered_device

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("F2")]

API = "/api/v1/me/footprint"


def footprint(shopper, store, *, visits: int, events_each: int = 3, start=None, method="face"):
    """`visits` visits of `shopper` at `store`, an hour apart, newest last, each with a match event (by face)
    and `events_each` events (a dwell, a purchase with two lines, an exit, ...), written in bulk."""
    device, _ = registered_device(store)
    consent = shopper.consents.filter(operator=store.operator, purpose="face_entry").first() or face_consent(
        shopper, store.operator
    )
    start = start or datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    made = Visit.objects.bulk_create(
        Visit(shopper=shopper, store=store, device=device, method=method, entered_at=start + timedelta(hours=n))
        for n in range(visits)
    )
    if method != "entry_pass":
        MatchEvent.objects.bulk_create(
            MatchEvent(
                visit=visit,
                shopper=shopper,
                device=device,
                store=store,
                distance=0.3,
                mode="1:N",
                consent=consent,
                notice_version=consent.notice_version,
                occurred_at=visit.entered_at,
            )
            for visit in made
        )
    kinds = ["shelf_dwell", "purchase", "exit"]
    events = StoreEvent.objects.bulk_create(
        StoreEvent(
            visit=visit,
            shopper=shopper,
            store=store,
            device=device,
            event_id=f"{visit.pk}-{n}",
            kind=kinds[n % 3],
            occurred_at=visit.entered_at + timedelta(minutes=n + 1),
            shelf="A3" if n % 3 == 0 else "",
            dwell_seconds=42 if n % 3 == 0 else None,
            total=Decimal("7.50") if n % 3 == 1 else None,
            currency="CNY" if n % 3 == 1 else "",
        )
        for visit in made
        for n in range(events_each)
    )
    PurchaseItem.objects.bulk_create(
        PurchaseItem(event=event, sku=sku, name=name, quantity=quantity, unit_price=Decimal(price))
        for event in events
        if event.kind == "purchase"
        for sku, name, quantity, price in (("tea", "Green tea", 2, "3.00"), ("bun", "Red bean bun", 1, "1.50"))
    )
    return made


@pytest.fixture
def shopper():
    return UserFactory(time_zone="Asia/Shanghai")


@pytest.fixture
def mart():
    return live_store(name="Central")


class TestApi:
    @pytest.mark.requirement("M6")
    def test_each_visit_comes_with_its_door_match_consent_and_events(self, api_client, shopper, mart):
        visit = footprint(shopper, mart, visits=1)[0]
        api_client.force_authenticate(shopper)

        body = api_client.get(API).json()

        assert body["previous"] is None and body["next"] is None
        [shown] = body["results"]
        consent = shopper.consents.get()
        assert shown["id"] == str(visit.public_id)
        assert (shown["operator"], shown["store"], shown["method"]) == (mart.operator.name, "Central", "face")
        assert shown["entered_at"] == "2026-11-01T08:00:00Z"  # ISO 8601, UTC
        assert shown["match"]["mode"] == "1:N" and shown["match"]["consent"] == str(consent.public_id)
        assert shown["match"]["notice_version"]["id"] == consent.notice_version_id
        assert [event["kind"] for event in shown["events"]] == ["shelf_dwell", "purchase", "exit"]
        assert shown["events"][0]["shelf"] == "A3" and shown["events"][0]["seconds"] == 42
        assert shown["events"][1]["total"] == "7.50" and shown["events"][1]["items"] == [
            {"sku": "tea", "name": "Green tea", "quantity": 2, "unit_price": "3.00"},
            {"sku": "bun", "name": "Red bean bun", "quantity": 1, "unit_price": "1.50"},
        ]

    def test_a_shopper_sees_only_their_own_footprint(self, api_client, shopper, mart):
        footprint(shopper, mart, visits=2)
        api_client.force_authenticate(UserFactory())
        assert api_client.get(API).json()["results"] == []
        api_client.force_authenticate(None)
        assert api_client.get(API).status_code == 401

    def test_filters_by_operator_store_kind_and_days_in_the_shoppers_zone(self, api_client, shopper, mart):
        footprint(shopper, mart, visits=3, start=datetime(2026, 11, 1, 15, 0, tzinfo=UTC))  # 23:00, 00:00, 01:00
        elsewhere = live_store(name="Harbour", slug="harbour")
        footprint(shopper, elsewhere, visits=1, events_each=1, method="entry_pass")
        api_client.force_authenticate(shopper)

        def ids(**query) -> list[str]:
            return [
                visit["store"] + visit["entered_at"][11:16] for visit in api_client.get(API, query).json()["results"]
            ]

        assert len(ids()) == 4
        assert ids(operator=elsewhere.operator.slug) == ["Harbour08:00"]
        assert ids(store="harbour") == ["Harbour08:00"]
        assert ids(kind="entry_pass") == ["Harbour08:00"]
        assert ids(kind="face") == ["Central17:00", "Central16:00", "Central15:00"]
        # 2 Nov in Shanghai: 16:00 UTC on the 1st to 16:00 UTC on the 2nd.
        assert ids(date_from="2026-11-02", date_to="2026-11-02", store=mart.slug) == ["Central17:00", "Central16:00"]
        purchases = api_client.get(API, {"kind": "purchase"}).json()["results"]
        assert len(purchases) == 3 and all([e["kind"] for e in v["events"]] == ["purchase"] for v in purchases)

    def test_bad_filters_get_codes(self, api_client, shopper):
        api_client.force_authenticate(shopper)
        wrong = api_client.get(API, {"kind": "teleport", "date_from": "2026-11-05", "date_to": "2026-11-01"})
        assert wrong.status_code == 400
        assert wrong.json()["error"]["code"] == "invalid"
        assert set(wrong.json()["error"]["fields"]) == {"kind"}
        backwards = api_client.get(API, {"date_from": "2026-11-05", "date_to": "2026-11-01"}).json()["error"]
        assert backwards["fields"]["date_to"][0]["message"] == "The last day comes before the first."
        assert api_client.get(API, {"cursor": "not-a-cursor"}).status_code == 404

    def test_pages_follow_by_cursor_newest_first(self, api_client, shopper, mart):
        made = footprint(shopper, mart, visits=5, events_each=0)
        api_client.force_authenticate(shopper)
        first = api_client.get(API, {"page_size": 2}).json()
        second = api_client.get(first["next"]).json()
        third = api_client.get(second["next"]).json()
        seen = [visit["id"] for page in (first, second, third) for visit in page["results"]]
        assert seen == [str(visit.public_id) for visit in reversed(made)]
        assert third["next"] is None

    def test_a_page_costs_the_same_queries_at_10_and_at_1000_events(self, api_client, shopper, mart):
        api_client.force_authenticate(shopper)
        footprint(shopper, mart, visits=4, events_each=3)  # 12 events
        with CaptureQueriesContext(connection) as small:
            assert api_client.get(API).status_code == 200
        footprint(shopper, mart, visits=100, events_each=10)  # 1,000 more
        with CaptureQueriesContext(connection) as large:
            assert len(api_client.get(API).json()["results"]) == 20
        assert len(large.captured_queries) == len(small.captured_queries)


class TestPage:
    def test_the_page_shows_the_timeline_in_english_and_chinese(self, client, shopper, mart):
        footprint(shopper, mart, visits=1)
        client.force_login(shopper)

        english = client.get("/footprint/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "My footprint" in english and "Central" in english
        assert "1 Nov 2026, 16:00 (Asia/Shanghai)" in english
        assert "At shelf A3 for 42 s" in english and "Purchase, total 7.50 CNY" in english
        assert "2 \N{MULTIPLICATION SIGN} Green tea (tea) @ 3.00" in english

        shopper.language = "zh-hans"
        shopper.save(update_fields=["language"])
        chinese = client.get("/footprint/").content.decode()
        assert "我的足迹" in chinese and "在货架 A3 前停留 42 秒" in chinese

    def test_the_page_filters_and_stays_a_few_queries(self, client, shopper, mart, django_assert_max_num_queries):
        footprint(shopper, mart, visits=30, events_each=4)
        client.force_login(shopper)
        with CaptureQueriesContext(connection) as counted:
            page = client.get("/footprint/", {"kind": "exit"})
        assert page.status_code == 200 and page.content.decode().count('data-kind="exit"') == 20
        footprint(shopper, mart, visits=60, events_each=8)
        with django_assert_max_num_queries(len(counted.captured_queries)):
            assert client.get("/footprint/", {"kind": "exit"}).status_code == 200

    def test_the_page_needs_a_login(self, client):
        response = client.get("/footprint/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")
