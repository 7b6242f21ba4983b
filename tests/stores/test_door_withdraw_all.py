"""After "withdraw everything", no door can return the shopper (C6), even from a stale index."""

from unittest import mock

import pytest

from biometrics.models import FaceTemplate
from tests.biometrics.photos import astronaut_jpeg
from tests.factories import face_consent, registered_device
from tests.stores.device import match_photo

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("C6")]


@pytest.mark.parametrize("scope", ["operator", "all"])
def test_no_match_returns_the_shopper_after_withdrawing_everything(client, api_client, door, astronaut, scope):
    device, secret = door
    assert match_photo(client, device, secret, astronaut_jpeg()).json()["result"] == "match"
    other_device, other_secret = registered_device()
    face_consent(astronaut, other_device.store.operator)  # a second operator also holds face consent
    api_client.force_authenticate(astronaut)
    payload = {"operator": device.store.operator.slug} if scope == "operator" else {}
    # The worker's index is not refreshed: the door still has to refuse.
    with mock.patch("stores.door.matching.OperatorIndexes.refresh"):
        response = api_client.post("/api/v1/consents/withdraw-all", payload, format="json")
        assert response.status_code == 200
        assert match_photo(client, device, secret, astronaut_jpeg()).json() == {"result": "no_match"}
    other = match_photo(client, other_device, other_secret, astronaut_jpeg()).json()
    if scope == "operator":
        assert response.json()["templates_deleted"] is False
        assert other["result"] == "match"
    else:
        assert response.json()["templates_deleted"] is True
        assert other == {"result": "no_match"}
        assert not FaceTemplate.objects.filter(shopper=astronaut).exists()
