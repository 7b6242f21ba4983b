"""Consent events are append-only (C4, decision 0029): the model, its queryset and, on
PostgreSQL, the table itself refuse any change or deletion; staff acts are recorded as staff's."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.deletion import ProtectedError

from consent.models import Consent, ConsentEvent, NoticeVersion
from consent.services import consent_give
from core.errors import DomainError
from tests.factories import NOTICE_TEXTS, OperatorFactory, UserFactory, published_notice

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("C4")]

MESSAGE = "A consent event is a record of what happened: it cannot be changed or deleted."


@pytest.fixture
def event(shopper):
    notice = published_notice(OperatorFactory())
    consent = consent_give(
        shopper=shopper, operator=notice.notice.operator, purpose="face_entry", notice_version=notice, channel="app"
    )
    return consent.events.get()


def refused(call):
    with pytest.raises(DomainError) as raised:
        call()
    assert (raised.value.code, raised.value.status, raised.value.message) == ("consent_event_immutable", 409, MESSAGE)


def unchanged(event):
    stored = ConsentEvent.objects.get(pk=event.pk)
    assert (stored.kind, stored.channel, stored.actor_type) == ("given", "app", "shopper")


def test_saving_an_existing_event_is_refused(event):
    event.kind = ConsentEvent.Kind.WITHDRAWN
    refused(event.save)
    refused(lambda: event.save(update_fields=["kind"]))
    unchanged(event)


def test_deleting_an_event_is_refused(event):
    refused(event.delete)
    unchanged(event)


def test_the_queryset_refuses_update_bulk_update_and_delete(event):
    refused(lambda: ConsentEvent.objects.filter(pk=event.pk).update(kind="withdrawn"))
    refused(lambda: ConsentEvent.objects.all().delete())
    event.channel = "staff"
    refused(lambda: ConsentEvent.objects.bulk_update([event], ["channel"]))
    refused(lambda: event.consent.events.update(channel="staff"))
    unchanged(event)


def test_new_events_are_still_added(event):
    # Adding is the one write allowed; the services create every event this way.
    consent = event.consent
    assert ConsentEvent.objects.filter(consent=consent).count() == 1
    added = ConsentEvent.objects.create(
        consent=consent,
        shopper=consent.shopper,
        operator=consent.operator,
        purpose=consent.purpose,
        notice_version=consent.notice_version,
        kind=ConsentEvent.Kind.REAFFIRMED,
        channel="web",
        actor_type="shopper",
        actor_id=str(consent.shopper.pk),
    )
    assert list(consent.events.values_list("pk", flat=True)) == [event.pk, added.pk]


def test_deleting_a_shopper_or_a_consent_does_not_take_their_events(event, shopper):
    with pytest.raises(ProtectedError):
        shopper.delete()
    with pytest.raises(ProtectedError):
        Consent.objects.filter(pk=event.consent_id).delete()
    unchanged(event)
    # A shopper with no consent history can still be deleted.
    UserFactory().delete()


def test_the_database_itself_refuses_update_and_delete(event):
    table = ConsentEvent._meta.db_table
    statements = [
        f"UPDATE {table} SET kind = 'withdrawn' WHERE id = %s",
        f"DELETE FROM {table} WHERE id = %s",
    ]
    if connection.vendor == "postgresql":
        for statement in statements:
            refused_here = pytest.raises(
                IntegrityError, match=r"consent events are append-only: (UPDATE|DELETE) refused"
            )
            with refused_here, transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, [event.pk])
        unchanged(event)
    else:
        # The embedded default (SQLite) has no trigger: the model and queryset guards are its guard.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
            assert cursor.fetchone() == (0,)


def test_staff_acts_are_recorded_on_the_staff_channel(admin_client, admin_user, shopper):
    operator = OperatorFactory()
    old = published_notice(operator)
    consent = consent_give(shopper=shopper, operator=operator, purpose="face_entry", notice_version=old, channel="app")
    data = {key: value for key, value in NOTICE_TEXTS.items() if key != "data_categories"}
    data.update(operator=operator.pk, purpose="face_entry", material="on", data_categories='["facial template"]')
    assert admin_client.post("/admin/consent/noticeversion/add/", data).status_code == 302
    draft = NoticeVersion.objects.get(status="draft")

    response = admin_client.post("/admin/consent/noticeversion/", {"action": "publish", "_selected_action": [draft.pk]})

    assert response.status_code == 302
    events = list(consent.events.values_list("kind", "channel", "actor_type", "actor_id"))
    assert events == [
        ("given", "app", "shopper", str(shopper.pk)),
        ("invalidated", "staff", "staff", str(admin_user.pk)),
    ]
