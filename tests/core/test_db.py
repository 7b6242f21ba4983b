"""Prepared queries: the ORM's SQL, written once, answers exactly as the ORM does."""

from datetime import date, datetime, timedelta

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from consent.models import Consent
from consent.selectors import consent_active_q
from core.db import PreparedQuery, columns, loaded
from portal.models import User
from stores.models import Device, ProbeCounter, Store
from tests.factories import OperatorFactory, UserFactory, face_consent, registered_device

pytestmark = pytest.mark.django_db


def consents_of(shopper_id, operator_id, now):
    return (
        Consent.objects.filter(consent_active_q(now=now), shopper_id=shopper_id, operator_id=operator_id)
        .values("pk", "status", "given_at", "shopper__public_id")
        .order_by("pk")
    )


active_consents = PreparedQuery(consents_of, shopper_id=int, operator_id=int, now=datetime)


def test_rows_are_the_orms_rows_for_every_argument():
    operator, other = OperatorFactory(), OperatorFactory()
    shoppers = [UserFactory() for _ in range(3)]
    consents = [face_consent(shopper, operator) for shopper in shoppers[:2]] + [face_consent(shoppers[0], other)]
    now = timezone.now()
    for shopper in shoppers:
        for some_operator in (operator, other):
            for moment in (now, consents[0].expires_at + timedelta(seconds=1)):
                expected = list(consents_of(shopper.pk, some_operator.pk, moment))
                found = active_consents.rows(shopper_id=shopper.pk, operator_id=some_operator.pk, now=moment)
                assert found == expected
    # Converted as the ORM converts: a UUID, an aware datetime, on SQLite as on PostgreSQL.
    row = active_consents.rows(shopper_id=shoppers[1].pk, operator_id=operator.pk, now=now)[0]
    assert row["shopper__public_id"] == shoppers[1].public_id
    assert row["given_at"] == consents[1].given_at


def test_an_expired_consent_is_not_returned():
    shopper, operator = UserFactory(), OperatorFactory()
    consent = face_consent(shopper, operator)
    assert active_consents.rows(shopper_id=shopper.pk, operator_id=operator.pk, now=consent.expires_at) == []


def test_update_changes_what_the_orms_update_would():
    device, _ = registered_device()
    other_device, _ = registered_device()
    today, tomorrow = date(2026, 11, 30), date(2026, 12, 1)
    for some_device in (device, other_device):
        for day in (today, tomorrow):
            ProbeCounter.objects.create(device=some_device, day=day)
    bump = PreparedQuery(
        lambda device_id, day: ProbeCounter.objects.filter(device_id=device_id, day=day),
        updates=lambda **_: {"no_match": F("no_match") + 1},
        device_id=int,
        day=date,
    )
    assert bump.update(device_id=device.pk, day=today) == 1
    assert bump.update(device_id=device.pk, day=today) == 1
    assert bump.update(device_id=device.pk, day=date(2027, 1, 1)) == 0
    counts = {(c.device_id, c.day): c.no_match for c in ProbeCounter.objects.all()}
    assert counts == {
        (device.pk, today): 2,
        (device.pk, tomorrow): 0,
        (other_device.pk, today): 0,
        (other_device.pk, tomorrow): 0,
    }


def test_a_locking_select_runs_in_the_callers_transaction():
    shopper, operator = UserFactory(), OperatorFactory()
    consent = face_consent(shopper, operator)
    locked = PreparedQuery(lambda pk: Consent.objects.select_for_update().filter(pk=pk).values("pk"), pk=int)
    with transaction.atomic():
        assert locked.rows(pk=consent.pk) == [{"pk": consent.pk}]


def test_a_builder_that_ignores_an_argument_is_refused():
    ignoring = PreparedQuery(
        lambda shopper_id, operator_id: Consent.objects.filter(shopper_id=shopper_id).values("pk"),
        shopper_id=int,
        operator_id=int,
    )
    with pytest.raises(TypeError, match=r"does not use \['operator_id'\]"):
        ignoring.rows(shopper_id=1, operator_id=2)


def test_arguments_must_be_the_declared_ones():
    with pytest.raises(TypeError, match="takes"):
        active_consents.rows(shopper_id=1, operator_id=2)


def test_a_select_names_its_columns():
    unnamed = PreparedQuery(lambda pk: Consent.objects.filter(pk=pk), pk=int)
    with pytest.raises(TypeError, match=r"\.values\(\)"):
        unnamed.rows(pk=1)


def test_a_loaded_row_is_the_instance_the_orm_would_load():
    device, _ = registered_device()
    consent = face_consent(UserFactory(), device.store.operator)
    with_store = (*columns(Device), *columns(Store, "store__"))
    devices = PreparedQuery(
        lambda device_id: Device.objects.filter(device_id=device_id).values(*with_store), device_id=str
    )
    consents = PreparedQuery(
        lambda pk: Consent.objects.filter(pk=pk).values(*columns(Consent), *columns(User, "shopper__")), pk=int
    )

    row = devices.rows(device_id=device.device_id)[0]
    found, store = loaded(Device, row), loaded(Store, row, prefix="store__")
    expected = Device.objects.select_related("store").get(pk=device.pk)
    for instance, orm in ((found, expected), (store, expected.store)):
        assert type(instance) is type(orm) and not instance._state.adding and instance._state.db == "default"
        assert {name: getattr(instance, name) for name in columns(type(orm))} == {
            name: getattr(orm, name) for name in columns(type(orm))
        }
    assert bytes(found.secret_ciphertext) == bytes(expected.secret_ciphertext)
    # Dates, UUIDs and choices come back converted, as from the ORM (SQLite keeps them as text).
    row = consents.rows(pk=consent.pk)[0]
    shopper = loaded(User, row, prefix="shopper__")
    assert loaded(Consent, row).expires_at == Consent.objects.get(pk=consent.pk).expires_at
    assert shopper.public_id == consent.shopper.public_id and shopper.date_joined == consent.shopper.date_joined
