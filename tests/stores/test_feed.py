"""The moment of recognition: the door writes the shopper's notification with the visit, mails it only
to shoppers who turned the mail on, and the shopper marks notifications read (audited, one entry a call)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import NotFound, ValidationFailed
from core.models import AuditEntry
from portal.models import User
from stores.feed.services import notifications_mark_read
from stores.feed.tasks import notification_mail_task
from stores.models import Notification
from tests.factories import UserFactory
from tests.stores.feed import a_door, enrolled, let_in_with_a_pass, recognise

pytestmark = pytest.mark.django_db


@pytest.fixture
def door():
    return a_door()


class TestTheDoorWritesTheFeed:
    @pytest.mark.requirement("C11")
    def test_a_first_recognised_visit_names_the_notice_the_door_showed(self, door):
        shopper = UserFactory()
        encoding = enrolled(door, shopper)

        first = recognise(door, encoding)
        again = recognise(door, encoding)

        consent = shopper.consents.get()
        notifications = {n.visit_id: n for n in Notification.objects.filter(shopper=shopper)}
        assert set(notifications) == {first.visit.pk, again.visit.pk}
        earlier, later = notifications[first.visit.pk], notifications[again.visit.pk]
        assert (earlier.kind, earlier.first_visit, earlier.notice_version) == (
            "recognised",
            True,
            consent.notice_version,
        )
        assert earlier.created_at == first.visit.entered_at and earlier.read_at is None
        assert (later.kind, later.first_visit, later.notice_version) == ("recognised", False, None)

    @pytest.mark.requirement("C11")
    def test_an_entry_pass_visit_has_no_notice(self, door):
        shopper = UserFactory()
        answer = let_in_with_a_pass(door, shopper)
        notification = Notification.objects.get(shopper=shopper)
        assert (notification.visit, notification.kind, notification.first_visit, notification.notice_version) == (
            answer.visit,
            "entry_pass",
            False,  # a pass alone recognises nobody: no collection notice is due (C11)
            None,
        )

    def test_the_feed_costs_the_door_one_insert_and_no_query_for_the_mail(self, door):
        quiet, mailed = UserFactory(), UserFactory(recognition_email=True)
        encodings = {quiet: enrolled(door, quiet, 1), mailed: enrolled(door, mailed, 2)}
        for shopper in encodings:
            recognise(door, encodings[shopper])  # the first visits: the day's counter and the index are made
        counts = {}
        for shopper, encoding in encodings.items():
            with CaptureQueriesContext(connection) as captured:
                recognise(door, encoding)
            statements = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
            assert sum('INSERT INTO "stores_notification"' in statement for statement in statements) == 1
            counts[shopper] = len(statements)
        assert counts[quiet] == counts[mailed]


class TestTheMail:
    def test_none_when_off(self, door, mailoutbox, django_capture_on_commit_callbacks):
        shopper = UserFactory()
        encoding = enrolled(door, shopper)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            recognise(door, encoding)
            let_in_with_a_pass(door, shopper)
        assert callbacks == [] and mailoutbox == []

    def test_where_and_when_and_how_to_turn_it_off(
        self, door, mailoutbox, django_capture_on_commit_callbacks, settings
    ):
        shopper = UserFactory(recognition_email=True, display_name="Ann")
        encoding = enrolled(door, shopper)
        with django_capture_on_commit_callbacks(execute=True):
            answer = recognise(door, encoding)
        Notification.objects.update(created_at=answer.visit.entered_at)
        assert len(mailoutbox) == 1
        mail = mailoutbox[0]
        assert mail.to == [shopper.email]
        assert mail.subject == "FaceConsent: you were recognised at Central"
        assert "Hello Ann," in mail.body
        assert "A door recognised your face and let you in." in mail.body
        assert "Store: Central (Demo Mart)\nDoor: Central door\n" in mail.body
        assert "(Asia/Shanghai)" in mail.body  # the operator's zone: the shopper chose none
        assert "This was your first visit to this store." in mail.body
        assert f"{settings.SITE_URL}/notifications/" in mail.body
        assert (
            'To stop it, untick "Email me when a store recognises me" on your profile: '
            f"{settings.SITE_URL}/profile/" in mail.body
        )

    def test_in_the_shoppers_language_and_zone(self, door, mailoutbox, django_capture_on_commit_callbacks):
        shopper = UserFactory(recognition_email=True, language="zh-hans", time_zone="Europe/Berlin")
        with django_capture_on_commit_callbacks(execute=True):
            let_in_with_a_pass(door, shopper)
        mail = mailoutbox[0]
        assert mail.subject == "FaceConsent：您的入店通行码已让您进入 Central"
        assert "您的入店通行码已让您进入。" in mail.body
        assert "（Europe/Berlin）" in mail.body
        assert "门店：Central（Demo Mart）" in mail.body

    def test_none_when_turned_off_before_the_worker_sends_it(
        self, door, mailoutbox, django_capture_on_commit_callbacks
    ):
        shopper = UserFactory(recognition_email=True)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            let_in_with_a_pass(door, shopper)
        assert len(callbacks) == 1
        User.objects.filter(pk=shopper.pk).update(recognition_email=False)
        callbacks[0]()
        assert mailoutbox == []

    def test_none_when_the_visit_is_gone(self, mailoutbox):
        notification_mail_task(notification_id=987654)
        assert mailoutbox == []


class TestMarkRead:
    def test_named_ones_then_all_one_audit_entry_per_call(self, door):
        shopper = UserFactory()
        for _ in range(3):
            let_in_with_a_pass(door, shopper)
        first, second, third = Notification.objects.filter(shopper=shopper).order_by("id")

        assert notifications_mark_read(shopper=shopper, channel="app", ids=[first.public_id]) == 1
        assert notifications_mark_read(shopper=shopper, channel="app", ids=[first.public_id, second.public_id]) == 1
        assert notifications_mark_read(shopper=shopper, channel="web", read_all=True) == 1

        assert not Notification.objects.filter(shopper=shopper, read_at__isnull=True).exists()
        entries = list(AuditEntry.objects.filter(action="notifications.read").order_by("sequence"))
        assert [(e.target_id, e.channel, e.data) for e in entries] == [
            (str(shopper.pk), "app", {"count": 1, "all": False}),
            (str(shopper.pk), "app", {"count": 1, "all": False}),
            (str(shopper.pk), "web", {"count": 1, "all": True}),
        ]
        assert third.pk  # read by the last call

    def test_another_shoppers_id_is_not_found_and_nothing_is_marked(self, door):
        shopper, other = UserFactory(), UserFactory()
        let_in_with_a_pass(door, shopper)
        let_in_with_a_pass(door, other)
        mine = Notification.objects.get(shopper=shopper)
        theirs = Notification.objects.get(shopper=other)
        for ids in ([theirs.public_id], [mine.public_id, theirs.public_id], [uuid.uuid4()]):
            with pytest.raises(NotFound) as refused:
                notifications_mark_read(shopper=shopper, channel="app", ids=ids)
            assert refused.value.code == "notification_not_found"
        assert Notification.objects.filter(read_at__isnull=True).count() == 2
        assert not AuditEntry.objects.filter(action="notifications.read").exists()

    @pytest.mark.parametrize(
        ("arguments", "code"),
        [
            ({}, "notification_ids_or_all"),
            ({"ids": []}, "notification_ids_or_all"),
            ({"ids": [uuid.uuid4()], "read_all": True}, "notification_ids_or_all"),
            ({"ids": [uuid.uuid4() for _ in range(101)]}, "too_many_notification_ids"),
        ],
    )
    def test_bad_input(self, shopper, arguments, code):
        with pytest.raises(ValidationFailed) as refused:
            notifications_mark_read(shopper=shopper, channel="app", **arguments)
        assert refused.value.code == code
