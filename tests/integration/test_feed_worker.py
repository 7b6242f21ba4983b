"""The moment of recognition end to end: a face matched at the door over real HTTP by a real match
worker lands in the shopper's feed, and a real background worker mails it to those who turned it on."""

import time

import pytest

from stores.client import DeviceClient
from stores.models import Notification
from tests.biometrics.photos import kit_photo
from tests.factories import UserFactory, face_consent, live_store, published_notice, registered_device
from tests.integration.test_door_worker import enroll
from tests.integration.test_worker import wait_for_mail

pytestmark = pytest.mark.integration


SUBJECT = "FaceConsent: you were recognised at Central"


def recognition_mail(mail_dir, to: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [mail for mail in wait_for_mail(mail_dir, to, timeout) if mail["Subject"] == SUBJECT]
        if found:
            assert len(found) == 1
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no recognition mail to {to}")


def recognised(client, photo: bytes, timeout: float = 5) -> dict:
    """Match until the worker's index holds the new template (within a second), then answer."""
    started = time.monotonic()
    while (answer := client.match_photo(photo)).body.get("result") != "match":
        assert answer.status == 200, answer.body
        assert time.monotonic() - started < timeout, "not recognised"
    return answer.body


def test_after_a_match_the_feed_holds_it_and_the_mail_goes_when_turned_on(real_worker, api_client, live_server):
    store = live_store(name="Central", slug="central")
    published_notice(store.operator)
    device, secret = registered_device(store)
    quiet = UserFactory()
    mailed = UserFactory(recognition_email=True, display_name="Ann")
    for shopper, photo in ((quiet, "obama/obama_1.jpg"), (mailed, "biden/biden_1.jpg")):
        face_consent(shopper, store.operator)
        enroll(api_client, shopper, kit_photo(photo))

    with DeviceClient(live_server.url, device.device_id, secret) as client:
        quiet_visit = recognised(client, kit_photo("obama/obama_2.jpg"))["visit_id"]
        mailed_visit = recognised(client, kit_photo("biden/biden_2.jpg"))["visit_id"]

    for shopper, visit_id in ((quiet, quiet_visit), (mailed, mailed_visit)):
        api_client.force_authenticate(shopper)
        body = api_client.get("/api/v1/me/notifications").json()
        assert (body["count"], body["unread"]) == (1, 1)
        entry = body["results"][0]
        assert (entry["kind"], entry["store"], entry["door"], entry["first_visit"]) == (
            "recognised",
            "Central",
            "Door 1",
            True,
        )
        assert entry["notice"]["version"] == shopper.consents.get().notice_version.version
        assert str(Notification.objects.get(shopper=shopper).visit.public_id) == visit_id

    message = recognition_mail(real_worker["mail_dir"], mailed.email)
    body = message.get_payload(decode=True).decode()
    assert "A door recognised your face and let you in." in body and "Door: Door 1" in body
    assert "/profile/" in body
    # The quiet shopper's match came first, through the same queue: no such mail went to them (only
    # the one for the consent they gave).
    assert all(mail["Subject"] != SUBJECT for mail in wait_for_mail(real_worker["mail_dir"], quiet.email))
    assert "stores.notification_mail" in real_worker["log"].read_text()
