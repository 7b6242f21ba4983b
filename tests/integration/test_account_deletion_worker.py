"""F4 end to end: a shopper recognised at a door through a real match worker deletes their footprint and
then their account; the scans find nothing of them, and the same face at the same door is a stranger
from the very next request."""

import pytest

from portal.erasure.selectors import shopper_traces
from stores.client import DeviceClient
from stores.models import Visit
from tests.biometrics.photos import kit_photo
from tests.factories import (
    DEFAULT_PASSWORD,
    UserFactory,
    consent_to,
    face_consent,
    live_store,
    published_notice,
    registered_device,
)
from tests.integration.test_door_worker import enroll
from tests.integration.test_feed_worker import recognised
from tests.portal.test_account_security import app_login
from tests.stores.test_device_events import dwell

pytestmark = [pytest.mark.integration, pytest.mark.requirement("F4")]


def test_after_the_footprint_and_then_the_account_go_nothing_is_left_and_the_face_is_a_stranger(
    real_worker, api_client, live_server
):
    store = live_store(name="Central", slug="central")
    published_notice(store.operator)
    device, secret = registered_device(store)
    shopper = UserFactory(display_name="Erased Person", email="erased.person@example.com")
    who = {"shopper_id": shopper.pk, "public_id": str(shopper.public_id), "email": shopper.email}
    face_consent(shopper, store.operator)
    consent_to(shopper, store.operator, "store_analytics")
    enroll(api_client, shopper, kit_photo("obama/obama_1.jpg"))
    app = app_login(shopper)

    with DeviceClient(live_server.url, device.device_id, secret) as door:
        visit_id = recognised(door, kit_photo("obama/obama_2.jpg"))["visit_id"]
        visit = Visit.objects.get(public_id=visit_id)
        answer = door.events([dwell(visit)])
        assert answer.status == 200, answer.body
        assert app.get("/api/v1/me/footprint").json()["results"], "the visit is in the footprint"

        # The whole footprint goes: no table of the stores names the shopper; they are still recognised.
        assert app.post("/api/v1/me/footprint/delete", {"all": True}, format="json").status_code == 200
        left = shopper_traces(**who)
        assert not [table for table in left.rows if table.startswith("stores.")], left.rows
        assert door.match_photo(kit_photo("obama/obama_3.jpg")).body["result"] == "match"

        # The account goes: the very next request at the door is a stranger's.
        deleted = app.post("/api/v1/me/delete", {"password": DEFAULT_PASSWORD}, format="json")
        assert deleted.status_code == 200, deleted.content
        after = door.match_photo(kit_photo("obama/obama_2.jpg"))
        assert (after.status, after.body["result"]) == (200, "no_match"), after.body

    left = shopper_traces(**who)
    assert left.clean, left.rows
