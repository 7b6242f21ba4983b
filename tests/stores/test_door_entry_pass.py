"""Entry passes at the door: alone (no face, no consent), with a face in 1:1 stores, and their operator scope."""

import pytest

from consent.models import EntryPass
from consent.services import entry_pass_issue
from core.models import AuditEntry
from stores.models import MatchEvent, ProbeCounter, Store, Visit
from tests.biometrics.photos import astronaut_jpeg, kit_photo
from tests.conftest import assert_error
from tests.factories import UserFactory, face_consent, live_store, registered_device
from tests.stores.conftest import other_astronaut_photo
from tests.stores.device import match_photo, signed_post

pytestmark = pytest.mark.django_db


class TestEntryPasses:
    @pytest.mark.requirement("C9")
    def test_a_pass_lets_a_shopper_in_without_a_face_once(self, client, door):
        device, secret = door
        shopper = UserFactory()  # no consent to anything
        token = entry_pass_issue(shopper=shopper, channel="app").token
        response = signed_post(client, device, secret, "/api/v1/device/entry-pass", {"entry_pass": token})
        # No face was recognised, so no collection notice is due (C11): the first face recognition still shows it.
        assert response.json()["result"] == "match" and response.json()["first_visit"] is False
        assert Visit.objects.get().method == "entry_pass"
        again = signed_post(client, device, secret, "/api/v1/device/entry-pass", {"entry_pass": token})
        assert_error(again, 409, "pass_used", "This entry pass has already been used; show a fresh one.")

    @pytest.mark.requirement("C9")
    def test_the_door_uses_the_pass_through_consent_with_its_own_audit_entry(self, client, door):
        device, secret = door
        issued = entry_pass_issue(shopper=UserFactory(), channel="app")
        response = signed_post(client, device, secret, "/api/v1/device/entry-pass", {"entry_pass": issued.token})
        assert response.status_code == 200
        entries = list(AuditEntry.objects.filter(channel="device").order_by("sequence"))
        assert [(entry.action, entry.actor_type, entry.actor_id) for entry in entries] == [
            ("entry_pass.used", "device", device.device_id),
            ("visit.entry_pass", "device", device.device_id),
        ]
        assert entries[0].target_id == str(issued.entry_pass.pk)
        issued.entry_pass.refresh_from_db()
        assert issued.entry_pass.used_at is not None

    @pytest.mark.requirement("C9", "M4")
    def test_one_to_one_checks_the_face_against_the_pass(self, client, enroll):
        store = live_store(mode=Store.Mode.ONE_TO_ONE)
        device, secret = registered_device(store)
        owner, other = UserFactory(), UserFactory()
        for shopper, photo in ((owner, astronaut_jpeg()), (other, kit_photo("obama/obama_1.jpg"))):
            face_consent(shopper, store.operator)
            enroll(shopper, photo)
        assert_error(match_photo(client, device, secret, astronaut_jpeg()), 400, "entry_pass_required")
        # Someone else's face with the owner's pass: refused.
        refused = entry_pass_issue(shopper=owner, channel="app")
        assert match_photo(client, device, secret, kit_photo("obama/obama_2.jpg"), entry_pass=refused.token).json() == {
            "result": "no_match"
        }
        refused.entry_pass.refresh_from_db()
        assert refused.entry_pass.used_at is None  # a face that is not the holder's uses nothing up
        # The owner's face with the owner's pass.
        token = entry_pass_issue(shopper=owner, channel="app").token
        response = match_photo(client, device, secret, other_astronaut_photo(), entry_pass=token)
        assert response.json()["result"] == "match"
        assert MatchEvent.objects.get().mode == "1:1"
        used = AuditEntry.objects.get(action="entry_pass.used")
        assert (used.actor_id, used.target_id) == (
            device.device_id,
            str(EntryPass.objects.get(used_at__isnull=False).pk),
        )


@pytest.mark.requirement("C9")
class TestEntryPassScope:
    """A pass the shopper scoped to one operator lets no other operator's door recognise them."""

    WRONG_OPERATOR = "This entry pass does not work at this store."

    def issue(self, api_client, shopper, operator=None) -> str:
        api_client.force_authenticate(shopper)
        response = api_client.post(
            "/api/v1/entry-passes", {"operator": operator.slug} if operator else {}, format="json"
        )
        assert response.status_code == 201, response.content
        return response.json()["token"]

    def assert_refused_without_trace(self, response):
        assert response.json() == {
            "error": {"code": "pass_wrong_operator", "message": self.WRONG_OPERATOR, "fields": {}}
        }
        assert response.status_code == 403
        assert not Visit.objects.exists() and not MatchEvent.objects.exists()
        assert not AuditEntry.objects.filter(action__startswith="visit.").exists()
        assert not AuditEntry.objects.filter(action="entry_pass.used").exists()  # the pass is not used up
        assert not ProbeCounter.objects.exists()  # no worker was asked

    def test_a_pass_for_one_operator_is_refused_at_another_operators_door(self, client, api_client):
        ours, theirs = registered_device(), registered_device()
        shopper = UserFactory()  # no consent to anything
        token = self.issue(api_client, shopper, ours[0].store.operator)
        response = signed_post(client, *theirs, "/api/v1/device/entry-pass", {"entry_pass": token})
        self.assert_refused_without_trace(response)
        # Refused elsewhere, the pass is not used up: it still lets the shopper in where it was meant for.
        response = signed_post(client, *ours, "/api/v1/device/entry-pass", {"entry_pass": token})
        assert response.status_code == 200 and response.json()["result"] == "match"
        assert Visit.objects.get().store == ours[0].store

    def test_a_pass_for_any_operator_works_at_every_door(self, client, api_client):
        shopper = UserFactory()
        for device, secret in (registered_device(), registered_device()):
            token = self.issue(api_client, shopper)
            response = signed_post(client, device, secret, "/api/v1/device/entry-pass", {"entry_pass": token})
            assert response.json()["result"] == "match"
        assert Visit.objects.filter(shopper=shopper).count() == 2

    @pytest.mark.requirement("M4")
    def test_one_to_one_refuses_a_pass_for_another_operator_before_matching(self, client, api_client, enroll):
        ours = registered_device(live_store(mode=Store.Mode.ONE_TO_ONE))
        theirs = registered_device(live_store(mode=Store.Mode.ONE_TO_ONE))
        shopper = UserFactory()
        face_consent(shopper, ours[0].store.operator)
        face_consent(shopper, theirs[0].store.operator)  # even where they do consent to a face
        enroll(shopper, astronaut_jpeg())
        token = self.issue(api_client, shopper, ours[0].store.operator)
        response = match_photo(client, *theirs, other_astronaut_photo(), entry_pass=token)
        self.assert_refused_without_trace(response)
        response = match_photo(client, *ours, other_astronaut_photo(), entry_pass=token)
        assert response.json()["result"] == "match"
        assert Visit.objects.get().store == ours[0].store
