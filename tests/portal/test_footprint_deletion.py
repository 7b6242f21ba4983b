"""F4: the shopper deletes one event, one visit with everything in it, the visits of some days, or the whole
footprint; each is confirmed on the page first, audited with counts only, and ends with a receipt by mail."""

from datetime import UTC, datetime

import pytest

from core.models import AuditEntry
from stores.models import MatchEvent, PurchaseItem, StoreEvent, Visit
from tests.factories import UserFactory, live_store
from tests.portal.test_footprint import footprint

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("F4")]

API = "/api/v1/me/footprint"


@pytest.fixture
def shopper():
    return UserFactory(time_zone="Asia/Shanghai", display_name="Li Wei")


@pytest.fixture
def visits(shopper):
    # 1 Nov, 15:00 to 18:00 UTC: 23:00 on the 1st, then 00:00, 01:00, 02:00 on the 2nd in Shanghai.
    return footprint(shopper, live_store(), visits=4, start=datetime(2026, 11, 1, 15, 0, tzinfo=UTC))


@pytest.fixture
def someone_else():
    other = UserFactory()
    footprint(other, live_store(), visits=2)
    return other


def left(shopper) -> tuple[int, int, int, int]:
    return (
        Visit.objects.filter(shopper=shopper).count(),
        MatchEvent.objects.filter(shopper=shopper).count(),
        StoreEvent.objects.filter(shopper=shopper).count(),
        PurchaseItem.objects.filter(event__shopper=shopper).count(),
    )


class TestApi:
    def test_one_event_one_visit_some_days_then_everything(
        self, api_client, shopper, visits, someone_else, mailoutbox, django_capture_on_commit_callbacks
    ):
        api_client.force_authenticate(shopper)
        purchase = StoreEvent.objects.filter(visit=visits[0], kind="purchase").get()

        with django_capture_on_commit_callbacks(execute=True):
            one_event = api_client.delete(f"{API}/events/{purchase.public_id}").json()
        assert (one_event["scope"], one_event["counts"]) == (
            "event",
            {"visits": 0, "match_events": 0, "store_events": 1, "purchase_items": 2},
        )
        assert left(shopper) == (4, 4, 11, 6)

        one_visit = api_client.delete(f"{API}/visits/{visits[1].public_id}").json()
        assert one_visit["counts"] == {"visits": 1, "match_events": 1, "store_events": 3, "purchase_items": 2}
        assert left(shopper) == (3, 3, 8, 4)

        # 2 Nov in the shopper's zone: the visits at 01:00 and 02:00 (00:00 went with the visit above).
        days = api_client.post(
            f"{API}/delete", {"date_from": "2026-11-02", "date_to": "2026-11-02"}, format="json"
        ).json()
        assert days["scope"] == "range" and days["counts"]["visits"] == 2
        assert list(Visit.objects.filter(shopper=shopper)) == [visits[0]]

        everything = api_client.post(f"{API}/delete", {"all": True}, format="json").json()
        assert everything["counts"] == {"visits": 1, "match_events": 1, "store_events": 2, "purchase_items": 0}
        assert left(shopper) == (0, 0, 0, 0)
        assert left(someone_else) == (2, 2, 6, 4)  # nobody else's footprint moved

        entries = AuditEntry.objects.filter(action="footprint.deleted").order_by("sequence")
        assert [entry.data["scope"] for entry in entries] == ["event", "visit", "range", "all"]
        assert entries[0].data == {
            "scope": "event",
            "visits": 0,
            "match_events": 0,
            "store_events": 1,
            "purchase_items": 2,
        }
        assert mailoutbox[0].to == [shopper.email]
        assert mailoutbox[0].subject == "Your deletion receipt from FaceConsent"
        assert "you deleted one event from your footprint" in mailoutbox[0].body
        assert "- Purchase lines: 2" in mailoutbox[0].body

    def test_another_shoppers_visit_or_event_is_not_found(self, api_client, shopper, someone_else):
        api_client.force_authenticate(shopper)
        theirs = Visit.objects.filter(shopper=someone_else).first()
        assert api_client.delete(f"{API}/visits/{theirs.public_id}").json()["error"]["code"] == "visit_not_found"
        event = StoreEvent.objects.filter(shopper=someone_else).first()
        assert api_client.delete(f"{API}/events/{event.public_id}").json()["error"]["code"] == "event_not_found"
        assert left(someone_else) == (2, 2, 6, 4)

    def test_a_deletion_says_what_to_delete(self, api_client, shopper, visits):
        api_client.force_authenticate(shopper)
        nothing = api_client.post(f"{API}/delete", {}, format="json")
        assert (nothing.status_code, nothing.json()["error"]["code"]) == (400, "deletion_scope_required")
        both = api_client.post(f"{API}/delete", {"all": True, "date_from": "2026-11-01"}, format="json")
        assert both.status_code == 400 and set(both.json()["error"]["fields"]) == {"all"}
        backwards = api_client.post(
            f"{API}/delete", {"date_from": "2026-11-03", "date_to": "2026-11-01"}, format="json"
        )
        assert backwards.json()["error"]["code"] == "range_invalid"
        assert left(shopper) == (4, 4, 12, 8)
        api_client.force_authenticate(None)
        assert api_client.post(f"{API}/delete", {"all": True}, format="json").status_code == 401


class TestPage:
    def test_the_page_shows_what_would_go_and_deletes_only_when_confirmed(self, client, shopper, visits):
        client.force_login(shopper)
        asked = client.get("/footprint/delete/", {"all": "on"})
        assert asked.status_code == 200
        text = asked.content.decode()
        assert "You are about to delete your whole footprint" in text
        assert "Visits: 4" in text and "Purchase lines: 8" in text
        assert left(shopper) == (4, 4, 12, 8)  # looking deletes nothing

        done = client.post("/footprint/delete/", {"all": "on"}, follow=True)
        assert left(shopper) == (0, 0, 0, 0)
        assert "Deleted: 4 visits, 12 events, 8 purchase lines." in done.content.decode()

    def test_one_visit_from_its_link_in_chinese(self, client, shopper, visits):
        shopper.language = "zh-hans"
        shopper.save(update_fields=["language"])
        client.force_login(shopper)
        page = client.get("/footprint/").content.decode()
        assert f"/footprint/delete/?visit={visits[0].public_id}" in page
        asked = client.get("/footprint/delete/", {"visit": str(visits[0].public_id)}).content.decode()
        assert "您将删除一次到店及其全部内容" in asked and "到店：1" in asked
        client.post("/footprint/delete/", {"visit": str(visits[0].public_id)})
        assert left(shopper)[0] == 3

    def test_someone_elses_visit_or_a_muddled_request_is_not_found(self, client, shopper, visits, someone_else):
        client.force_login(shopper)
        theirs = Visit.objects.filter(shopper=someone_else).first()
        assert client.get("/footprint/delete/", {"visit": str(theirs.public_id)}).status_code == 404
        assert client.post("/footprint/delete/", {"visit": str(theirs.public_id)}).status_code == 404
        assert client.get("/footprint/delete/", {"visit": str(visits[0].public_id), "all": "on"}).status_code == 404
        assert client.get("/footprint/delete/").status_code == 404
        assert left(someone_else) == (2, 2, 6, 4) and left(shopper)[0] == 4


def test_the_deletion_knows_every_table_that_refers_to_a_visit_or_an_event():
    """Each table is emptied with one statement, leaves first: a new table referring to a visit or an event
    must join `footprint_rows`, or its rows would block the deletion (or be left behind)."""
    from stores.footprint.selectors import footprint_rows

    referring = {relation.related_model for model in (Visit, StoreEvent) for relation in model._meta.related_objects}
    handled = {rows.model for rows in footprint_rows(events=StoreEvent.objects.none(), visits=Visit.objects.none())}
    assert referring <= handled


def test_switches_take_json_booleans_only(api_client, shopper, visits):
    """DRF's BooleanField takes "yes", "on", 1 and "1" too: an app that sends them meant something else."""
    api_client.force_authenticate(shopper)
    for almost in ("true", "yes", 1, "on"):
        answer = api_client.post(f"{API}/delete", {"all": almost}, format="json")
        assert answer.status_code == 400 and answer.json()["error"]["fields"]["all"][0]["message"] == (
            "Must be true or false."
        )
        profile = api_client.patch("/api/v1/me", {"recognition_email": almost}, format="json")
        assert profile.status_code == 400
    assert api_client.patch("/api/v1/me", {"footprint_retention_months": "18"}, format="json").status_code == 400
    assert left(shopper) == (4, 4, 12, 8)
