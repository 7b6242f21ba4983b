"""The notifications page in both languages, the unread count in the navigation, "Mark all as read",
and the mail choice on the profile page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEntry
from stores.models import Notification
from tests.factories import UserFactory
from tests.stores.feed import a_door, enrolled, let_in_with_a_pass, recognise

pytestmark = pytest.mark.django_db

AT = datetime(2026, 12, 3, 2, 32, tzinfo=UTC)  # 10:32 in Shanghai


@pytest.fixture
def door():
    return a_door()


def a_first_visit_then_a_pass(door, shopper) -> None:
    recognise(door, enrolled(door, shopper))
    let_in_with_a_pass(door, shopper)
    Notification.objects.filter(shopper=shopper).update(created_at=AT)


def test_recognised_where_and_when_with_the_notice_shown_and_unread_marked(client, door):
    shopper = UserFactory(display_name="Ann")
    a_first_visit_then_a_pass(door, shopper)
    client.force_login(shopper)

    html = client.get("/notifications/").content.decode()

    assert "Recognised at Central, Central door, 3 Dec 2026, 10:32 (Asia/Shanghai)" in html
    assert "Let in with your entry pass at Central, Central door, 3 Dec 2026, 10:32 (Asia/Shanghai)" in html
    assert html.count('class="feed-item unread"') == 2 and html.count(">New</span>") == 2
    version = shopper.consents.get().notice_version
    assert f"The collection notice the door showed you (version {version.version})" in html
    assert version.title_en in html and version.purpose_en in html
    assert "your first visit to this store" in html
    assert 'class="nav-notifications">Notifications <span class="badge count"' in html
    assert ">2</span></a>" in html
    assert 'action="/notifications/read-all/"' in html and "Mark all as read" in html


def test_in_chinese(client, door):
    shopper = UserFactory(language="zh-hans")
    a_first_visit_then_a_pass(door, shopper)
    client.force_login(shopper)

    html = client.get("/notifications/").content.decode()

    assert 'lang="zh-hans"' in html
    assert "2026年12月3日 10:32（Asia/Shanghai） 在 Central（Central door）被识别" in html
    assert "2026年12月3日 10:32（Asia/Shanghai） 凭入店通行码进入 Central（Central door）" in html
    assert "全部标为已读" in html and ">通知 <span" in html
    version = shopper.consents.get().notice_version
    assert version.title_zh_hans in html and version.purpose_zh_hans in html


def test_the_shoppers_own_zone_wins(client, door):
    shopper = UserFactory(time_zone="Europe/Berlin")
    a_first_visit_then_a_pass(door, shopper)
    client.force_login(shopper)
    assert "3 Dec 2026, 03:32 (Europe/Berlin)" in client.get("/notifications/").content.decode()


def test_nothing_yet(client, shopper):
    client.force_login(shopper)
    html = client.get("/notifications/").content.decode()
    assert "Nothing yet: when a store" in html
    assert "Mark all as read" not in html
    assert '<span class="badge count"' not in html


def test_another_shoppers_notifications_are_not_shown(client, door):
    shopper, other = UserFactory(), UserFactory()
    let_in_with_a_pass(door, other)
    client.force_login(shopper)
    html = client.get("/notifications/").content.decode()
    assert "Nothing yet" in html
    assert str(Notification.objects.get().public_id) not in html


def test_reading_the_page_marks_nothing_read(client, door):
    shopper = UserFactory()
    a_first_visit_then_a_pass(door, shopper)
    client.force_login(shopper)
    before = AuditEntry.objects.count()
    client.get("/notifications/")
    assert Notification.objects.filter(read_at__isnull=True).count() == 2
    assert AuditEntry.objects.count() == before


def test_mark_all_as_read(client, door):
    shopper = UserFactory()
    a_first_visit_then_a_pass(door, shopper)
    client.force_login(shopper)

    response = client.post("/notifications/read-all/", follow=True)

    assert response.redirect_chain == [("/notifications/", 302)]
    html = response.content.decode()
    assert "2 notifications marked as read." in html
    assert 'class="feed-item unread"' not in html and '<span class="badge count"' not in html
    entry = AuditEntry.objects.get(action="notifications.read")
    assert (entry.actor_id, entry.channel, entry.data) == (str(shopper.pk), "web", {"count": 2, "all": True})


def test_mark_all_is_a_post(client, shopper):
    client.force_login(shopper)
    assert client.get("/notifications/read-all/").status_code == 405


def test_signed_out(client):
    for path in ("/notifications/", "/notifications/read-all/"):
        response = client.get(path) if path == "/notifications/" else client.post(path)
        assert response.status_code == 302 and response["Location"] == f"/login/?next={path}"


def test_the_same_queries_for_3_and_30(client, door, django_assert_num_queries):
    shopper = UserFactory()
    recognise(door, enrolled(door, shopper))
    for _ in range(2):
        let_in_with_a_pass(door, shopper)
    client.force_login(shopper)
    # The session, the user, the page's count and its notifications, the navigation's unread count.
    with django_assert_num_queries(5):
        assert client.get("/notifications/").content.decode().count('class="feed-item') == 3
    for _ in range(17):
        let_in_with_a_pass(door, shopper)
    with django_assert_num_queries(5):
        assert client.get("/notifications/").content.decode().count('class="feed-item') == 20
    for _ in range(10):
        let_in_with_a_pass(door, shopper)
    with django_assert_num_queries(5):
        assert client.get("/notifications/?page=2").content.decode().count('class="feed-item') == 10


@pytest.mark.parametrize("path", ["/", "/consents/", "/profile/", "/notifications/"])
def test_the_navigation_counts_once_on_every_page(client, door, path):
    shopper = UserFactory()
    let_in_with_a_pass(door, shopper)
    client.force_login(shopper)
    with CaptureQueriesContext(connection) as captured:
        html = client.get(path).content.decode()
    counts = [query["sql"] for query in captured.captured_queries if "COUNT(*)" in query["sql"]]
    assert len([sql for sql in counts if "read_at" in sql]) == 1  # shown twice (badge, label), counted once
    assert ">1</span></a>" in html


class TestTheMailChoiceOnTheProfile:
    def test_turned_on_and_off(self, client, shopper):
        client.force_login(shopper)
        assert 'name="recognition_email"' in client.get("/profile/").content.decode()
        fields = {"display_name": shopper.display_name, "date_of_birth": "1990-01-01", "language": "en"}
        assert client.post("/profile/", {**fields, "recognition_email": "on"}).status_code == 302
        shopper.refresh_from_db()
        assert shopper.recognition_email is True
        assert re.search(
            r'<input type="checkbox" name="recognition_email"[^>]* checked', client.get("/profile/").content.decode()
        )
        assert client.post("/profile/", fields).status_code == 302
        shopper.refresh_from_db()
        assert shopper.recognition_email is False
        entries = AuditEntry.objects.filter(action="account.profile_updated").order_by("sequence")
        assert [entry.data for entry in entries] == [{"fields": ["recognition_email"]}] * 2

    def test_in_chinese(self, client):
        shopper = UserFactory(language="zh-hans")
        client.force_login(shopper)
        html = client.get("/profile/").content.decode()
        assert "门店识别到我时发邮件通知我" in html
