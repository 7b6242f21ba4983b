"""The services behind operator, store and device administration: what they refuse, and why."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError

from consent.services import consent_refuse, entry_pass_issue
from core.audit import Actor
from core.errors import Conflict, ValidationFailed
from core.models import AuditEntry
from stores.models import Operator, Store
from stores.services import device_update, operator_delete, operator_update, store_delete, store_update
from tests.factories import OperatorFactory, StoreFactory, UserFactory, published_notice, registered_device

pytestmark = pytest.mark.django_db

STAFF = Actor.system()


def refused_operator_deletion(operator) -> Conflict:
    with pytest.raises(Conflict) as raised:
        operator_delete(actor=STAFF, operator=operator)
    assert raised.value.code == "operator_in_use"
    assert raised.value.message == f"{operator} has stores, notices, consents or entry passes, so it cannot be deleted."
    assert Operator.objects.filter(pk=operator.pk).exists()
    assert not AuditEntry.objects.filter(action="operator.deleted").exists()
    return raised.value


class TestOperatorDeletion:
    def test_with_a_store(self):
        refused_operator_deletion(StoreFactory().operator)

    def test_with_a_notice(self):
        operator = OperatorFactory()
        published_notice(operator)
        refused_operator_deletion(operator)

    def test_with_a_refusal_on_record(self):
        # The shopper's "no" is part of the consent history the operator answers for.
        operator = OperatorFactory()
        version = published_notice(operator)
        consent_refuse(
            shopper=UserFactory(), operator=operator, purpose="face_entry", notice_version=version, channel="app"
        )
        refused_operator_deletion(operator)

    def test_with_an_entry_pass(self):
        # Entry passes would go with the operator (on_delete CASCADE): refused, not silently deleted.
        operator = OperatorFactory()
        entry_pass_issue(shopper=UserFactory(), channel="app", operator=operator)
        refused_operator_deletion(operator)

    def test_an_operator_nothing_refers_to_is_deleted(self):
        operator = OperatorFactory(slug="typo")
        operator_delete(actor=STAFF, operator=operator)
        assert not Operator.objects.filter(pk=operator.pk).exists()
        entry = AuditEntry.objects.get(action="operator.deleted")
        assert (entry.target_type, entry.target_id, entry.data) == (
            "stores.operator",
            str(operator.pk),
            {"slug": "typo"},
        )


def test_a_store_with_a_device_is_not_deleted():
    device, _secret = registered_device()
    with pytest.raises(Conflict) as raised:
        store_delete(actor=STAFF, store=device.store)
    assert raised.value.code == "store_in_use"
    assert raised.value.message == f"{device.store} has devices or visits, so it cannot be deleted."
    assert Store.objects.filter(pk=device.store.pk).exists()


def test_updates_write_only_what_changes():
    store = StoreFactory(name="Central")
    assert store_update(actor=STAFF, store=store, name="Central", mode=store.mode) == store
    operator_update(actor=STAFF, operator=store.operator, name=store.operator.name)
    assert not AuditEntry.objects.exists()

    store_update(actor=STAFF, store=store, name="Central Station")
    assert AuditEntry.objects.get().data == {"fields": ["name"]}


def test_an_update_is_validated():
    first, second = StoreFactory(), StoreFactory()
    second.operator = first.operator
    second.save()
    with pytest.raises(Conflict) as taken:
        store_update(actor=STAFF, store=second, slug=first.slug)
    assert taken.value.code == "slug_taken"
    with pytest.raises(DjangoValidationError) as raised:
        store_update(actor=STAFF, store=second, mode="everyone")
    assert "mode" in raised.value.message_dict
    assert not AuditEntry.objects.exists()


@pytest.mark.requirement("S5")
@pytest.mark.parametrize("location", ["fitting_room", "toilet"])
def test_a_device_is_never_moved_into_a_private_space(location):
    device, _secret = registered_device()
    with pytest.raises(ValidationFailed) as raised:
        device_update(actor=STAFF, device=device, location=location)
    assert raised.value.code == "private_space"
    device.refresh_from_db()
    assert device.location == "entrance"
    assert not AuditEntry.objects.filter(action="device.changed").exists()
