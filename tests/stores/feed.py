"""What the feed tests share: a live door with a named store and device, and shoppers it recognises
(by an encoding, the match running in this process) or lets in with an entry pass, through the services."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biometrics.keys import key_ring
from biometrics.models import FaceTemplate
from consent.services import entry_pass_issue
from core.audit import Actor
from stores.door.services import DoorAnswer, door_entry_pass, door_match
from stores.models import Device
from stores.services import device_register
from tests.factories import OperatorFactory, face_consent, live_store


@dataclass
class Door:
    device: Device

    @property
    def operator(self):
        return self.device.store.operator


def a_door(*, operator_name: str = "Demo Mart", time_zone: str = "Asia/Shanghai") -> Door:
    operator = OperatorFactory(name=operator_name, time_zone=time_zone)
    store = live_store(operator, name="Central", slug="central")
    issued = device_register(
        actor=Actor.system(), store=store, name="Central door", kind="entrance", location="entrance"
    )
    return Door(issued.device)


def encoding_for(number: int) -> np.ndarray:
    """A template far from every other number's."""
    rng = np.random.default_rng(number)
    vector = rng.normal(size=128)
    return vector / np.linalg.norm(vector) * 0.6


def enrolled(door: Door, shopper, number: int = 1) -> np.ndarray:
    """The shopper consents to the door's operator and holds a template (sealed as the worker seals it)."""
    face_consent(shopper, door.operator)
    encoding = encoding_for(number)
    sealed = key_ring().seal(encoding, owner=str(shopper.public_id))
    FaceTemplate.objects.create(shopper=shopper, key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext)
    return encoding


def recognise(door: Door, encoding: np.ndarray) -> DoorAnswer:
    answer = door_match(device=door.device, encoding=encoding.tolist())
    assert answer.matched
    return answer


def let_in_with_a_pass(door: Door, shopper) -> DoorAnswer:
    token = entry_pass_issue(shopper=shopper, channel="app").token
    return door_entry_pass(device=door.device, token=token)
