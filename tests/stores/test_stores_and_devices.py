"""Stores and devices: signage before going live, no device in a private space, sealed secrets, counters."""

import pytest
from django.db import IntegrityError, transaction

from core.audit import Actor
from core.errors import DomainError
from stores.models import Device, ProbeCounter, Store
from stores.services import device_register, store_go_live
from tests.biometrics.photos import astronaut_jpeg, kit_photo
from tests.factories import StoreFactory, live_store, registered_device
from tests.stores.device import match_photo

pytestmark = pytest.mark.django_db


class TestStoresAndDevices:
    @pytest.mark.requirement("S5")
    def test_a_store_cannot_go_live_without_signage(self):
        store = StoreFactory()
        with pytest.raises(DomainError) as raised:
            store_go_live(actor=Actor.system(), store=store)
        assert raised.value.code == "signage_not_confirmed"
        with pytest.raises(IntegrityError), transaction.atomic():
            Store.objects.filter(pk=store.pk).update(status="live")

    @pytest.mark.requirement("S5")
    @pytest.mark.parametrize("location", ["fitting_room", "toilet"])
    def test_no_device_in_private_spaces(self, location):
        store = live_store()
        with pytest.raises(DomainError) as raised:
            device_register(actor=Actor.system(), store=store, name="Cam", kind="entrance", location=location)
        assert raised.value.code == "private_space"
        assert not Device.objects.exists()

    def test_the_secret_is_shown_once_and_kept_sealed(self):
        device, secret = registered_device()
        stored = bytes(device.secret_ciphertext)
        assert secret.encode() not in stored and device.secret_key_id == "sk1"

    def test_counters_by_day(self, client, door, astronaut):
        device, secret = door
        match_photo(client, device, secret, astronaut_jpeg())
        match_photo(client, device, secret, kit_photo("obama/obama_1.jpg"))
        counter = ProbeCounter.objects.get(device=device)
        assert (counter.matched, counter.no_match) == (1, 1)
