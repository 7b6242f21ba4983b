"""The feed over the API: the list (newest first, with the notice of a first visit and the unread count),
the unread count to poll, marking read; and the mail choice on the profile."""

from __future__ import annotations

import uuid

import pytest

from core.models import AuditEntry
from stores.models import Notification
from tests.conftest import assert_error
from tests.factories import UserFactory
from tests.stores.feed import a_door, enrolled, let_in_with_a_pass, recognise

pytestmark = pytest.mark.django_db


@pytest.fixture
def door():
    return a_door()


@pytest.fixture
def app(api_client, token_for):
    def signed_in(user):
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
        return api_client

    return signed_in


def feed_of(door, shopper, passes: int = 1):
    """A first recognised visit, then `passes` entry-pass visits."""
    recognise(door, enrolled(door, shopper))
    for _ in range(passes):
        let_in_with_a_pass(door, shopper)


class TestList:
    def test_newest_first_with_the_first_visits_notice_and_the_unread_count(self, app, door):
        shopper = UserFactory()
        feed_of(door, shopper)
        recognised, passed = Notification.objects.order_by("id")

        response = app(shopper).get("/api/v1/me/notifications")

        assert response.status_code == 200
        body = response.json()
        assert (body["count"], body["unread"], body["next"], body["previous"]) == (2, 2, None, None)
        assert body["results"][0] == {
            "id": str(passed.public_id),
            "kind": "entry_pass",
            "at": body["results"][0]["at"],
            "read": False,
            "first_visit": False,
            "store": "Central",
            "operator": "Demo Mart",
            "door": "Central door",
            "method": "entry_pass",
            "notice": None,
        }
        first = body["results"][1]
        version = shopper.consents.get().notice_version
        assert (first["id"], first["kind"], first["method"], first["first_visit"]) == (
            str(recognised.public_id),
            "recognised",
            "face",
            True,
        )
        assert first["notice"] == {
            "version": version.version,
            "notice_version": version.pk,
            "title": version.title_en,
            "purpose": version.purpose_en,
            "method": version.method_en,
            "retention": version.retention_en,
            "rights": version.rights_en,
            "contact": version.contact,
        }

    def test_the_notice_in_the_shoppers_language(self, app, door):
        shopper = UserFactory(language="zh-hans")
        feed_of(door, shopper, passes=0)
        notice = app(shopper).get("/api/v1/me/notifications").json()["results"][0]["notice"]
        version = shopper.consents.get().notice_version
        assert (notice["title"], notice["purpose"]) == (version.title_zh_hans, version.purpose_zh_hans)

    def test_reading_writes_nothing(self, app, door):
        shopper = UserFactory()
        feed_of(door, shopper)
        client = app(shopper)  # the login is audited
        before = AuditEntry.objects.count()
        client.get("/api/v1/me/notifications")
        client.get("/api/v1/me/notifications/unread")
        assert Notification.objects.filter(read_at__isnull=True).count() == 2
        assert AuditEntry.objects.count() == before

    def test_another_shoppers_notifications_are_not_listed(self, app, door):
        shopper, other = UserFactory(), UserFactory()
        let_in_with_a_pass(door, other)
        body = app(shopper).get("/api/v1/me/notifications").json()
        assert (body["count"], body["results"], body["unread"]) == (0, [], 0)

    def test_signed_out(self, api_client):
        assert_error(api_client.get("/api/v1/me/notifications"), 401, "not_authenticated")
        assert_error(api_client.get("/api/v1/me/notifications/unread"), 401, "not_authenticated")
        assert_error(api_client.post("/api/v1/me/notifications/read", {"all": True}), 401, "not_authenticated")

    def test_a_page_past_the_end(self, app, door):
        shopper = UserFactory()
        let_in_with_a_pass(door, shopper)
        assert_error(app(shopper).get("/api/v1/me/notifications?page=9"), 404, "not_found")

    def test_the_same_queries_for_3_and_30(self, app, door, django_assert_num_queries):
        shopper = UserFactory()
        feed_of(door, shopper, passes=2)
        client = app(shopper)
        # The token (and its user), the count, the page, the unread count.
        with django_assert_num_queries(4):
            assert client.get("/api/v1/me/notifications?page_size=30").json()["count"] == 3
        for _ in range(27):
            let_in_with_a_pass(door, shopper)
        with django_assert_num_queries(4):
            body = client.get("/api/v1/me/notifications?page_size=30").json()
        assert (body["count"], len(body["results"])) == (30, 30)


class TestUnread:
    def test_one_count(self, app, door, django_assert_num_queries):
        shopper = UserFactory()
        feed_of(door, shopper, passes=2)
        Notification.objects.filter(kind="recognised").update(
            read_at=Notification.objects.get(kind="recognised").created_at
        )
        client = app(shopper)
        with django_assert_num_queries(2):  # the token (and its user), the count
            response = client.get("/api/v1/me/notifications/unread")
        assert response.json() == {"unread": 2}


class TestMarkRead:
    def test_by_ids_then_all(self, app, door):
        shopper = UserFactory()
        feed_of(door, shopper, passes=2)
        first, second, third = Notification.objects.order_by("id")
        client = app(shopper)

        response = client.post("/api/v1/me/notifications/read", {"ids": [str(first.public_id)]}, format="json")
        assert response.status_code == 200
        assert response.json() == {"marked": 1, "unread": 2}
        listed = {entry["id"]: entry["read"] for entry in client.get("/api/v1/me/notifications").json()["results"]}
        assert listed == {str(first.public_id): True, str(second.public_id): False, str(third.public_id): False}

        response = client.post("/api/v1/me/notifications/read", {"all": True}, format="json")
        assert response.json() == {"marked": 2, "unread": 0}
        entries = AuditEntry.objects.filter(action="notifications.read").order_by("sequence")
        assert [(e.actor_id, e.channel, e.data) for e in entries] == [
            (str(shopper.pk), "app", {"count": 1, "all": False}),
            (str(shopper.pk), "app", {"count": 2, "all": True}),
        ]

    def test_another_shoppers_ids_are_not_found(self, app, door):
        shopper, other = UserFactory(), UserFactory()
        let_in_with_a_pass(door, shopper)
        let_in_with_a_pass(door, other)
        theirs = Notification.objects.get(shopper=other)
        mine = Notification.objects.get(shopper=shopper)
        response = app(shopper).post(
            "/api/v1/me/notifications/read", {"ids": [str(mine.public_id), str(theirs.public_id)]}, format="json"
        )
        assert_error(response, 404, "notification_not_found", "No such notification.")
        assert Notification.objects.filter(read_at__isnull=True).count() == 2
        assert not AuditEntry.objects.filter(action="notifications.read").exists()

    @pytest.mark.parametrize(
        ("payload", "code", "message"),
        [
            ({}, "notification_ids_or_all", "Send either the ids of the notifications to mark read, or all: true."),
            ({"all": False}, "notification_ids_or_all", None),
            ({"ids": []}, "notification_ids_or_all", None),
            ({"ids": [str(uuid.uuid4())], "all": True}, "notification_ids_or_all", None),
            ({"ids": [str(uuid.uuid4()) for _ in range(101)]}, "too_many_notification_ids", None),
            ({"ids": ["not-a-uuid"]}, "invalid", None),
            ({"ids": "everything"}, "invalid", None),
            ({"all": "maybe"}, "invalid", None),
        ],
    )
    def test_bad_input(self, app, shopper, payload, code, message):
        response = app(shopper).post("/api/v1/me/notifications/read", payload, format="json")
        assert_error(response, 400, code, message)
        assert not AuditEntry.objects.filter(action="notifications.read").exists()


class TestTheMailChoice:
    def test_off_by_default_turned_on_over_the_api_and_audited(self, app, shopper):
        client = app(shopper)
        assert client.get("/api/v1/me").json()["recognition_email"] is False
        response = client.patch("/api/v1/me", {"recognition_email": True}, format="json")
        assert response.status_code == 200 and response.json()["recognition_email"] is True
        shopper.refresh_from_db()
        assert shopper.recognition_email is True
        entry = AuditEntry.objects.filter(action="account.profile_updated").get()
        assert entry.data == {"fields": ["recognition_email"]}

    def test_not_a_boolean(self, app, shopper):
        response = app(shopper).patch("/api/v1/me", {"recognition_email": "often"}, format="json")
        assert_error(response, 400, "invalid")
        shopper.refresh_from_db()
        assert shopper.recognition_email is False
