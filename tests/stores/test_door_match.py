"""The door's match: recognising consenting shoppers only, at their operator only, and nothing else."""

from unittest import mock

import numpy as np
import pytest
from django.core.cache import caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.db import connection

from biometrics import engine
from consent.services import consent_withdraw
from core.models import AuditEntry
from stores.models import MatchEvent, ProbeCounter, Visit
from tests.biometrics.photos import astronaut_jpeg, encode, kit_photo
from tests.conftest import assert_error
from tests.factories import UserFactory, face_consent, live_store, registered_device
from tests.stores.conftest import other_astronaut_photo
from tests.stores.device import match_encoding, match_photo, match_photo_body, signed_post

pytestmark = pytest.mark.django_db


class TestMatch:
    @pytest.mark.requirement("M1", "M6", "C11")
    def test_a_consenting_shopper_is_recognised_and_the_visit_recorded(self, client, door, astronaut):
        device, secret = door
        response = match_photo(client, device, secret, other_astronaut_photo())
        body = response.json()
        assert response.status_code == 200, body
        assert set(body) == {"result", "shopper_ref", "visit_id", "first_visit", "notice_version"}
        assert body["result"] == "match" and body["first_visit"] is True
        assert body["shopper_ref"].startswith("shp_")
        visit = Visit.objects.get(public_id=body["visit_id"])
        assert (visit.shopper, visit.store, visit.device, visit.method) == (astronaut, device.store, device, "face")
        assert visit.notice_shown_at is None  # until the door confirms it showed the notice (C11)
        event = MatchEvent.objects.get(visit=visit)
        consent = astronaut.consents.get()
        assert body["notice_version"] == consent.notice_version_id
        assert (event.consent, event.notice_version, event.device) == (consent, consent.notice_version, device)
        assert 0 <= event.distance <= 0.55
        assert AuditEntry.objects.filter(action="visit.recognised", target_id=str(visit.pk)).exists()
        second = match_photo(client, device, secret, astronaut_jpeg()).json()
        assert second["first_visit"] is False and second["shopper_ref"] == body["shopper_ref"]

    def test_a_recorded_match_stays_a_handful_of_queries(self, client, door, astronaut):
        from django.test.utils import CaptureQueriesContext

        device, secret = door
        encoding = engine.analyse_for_enrollment(other_astronaut_photo()).encoding.tolist()
        assert match_encoding(client, device, secret, encoding).json()["result"] == "match"
        with CaptureQueriesContext(connection) as captured:
            assert match_encoding(client, device, secret, encoding).json()["result"] == "match"
        statements = [query["sql"] for query in captured.captured_queries if "SAVEPOINT" not in query["sql"]]
        # The nonce, where the cache is a table of the database (the embedded default), and now
        # and then the deletion of expired entries.
        in_cache = [statement for statement in statements if "core_cacheentry" in statement]
        nonces = [statement for statement in in_cache if statement.startswith("INSERT")]
        assert len(nonces) == (1 if isinstance(caches["default"], BaseDatabaseCache) else 0), in_cache
        statements = [statement for statement in statements if statement not in in_cache]
        # The device, the operator's gallery check in force (1:N), the index's change notes (the worker
        # runs in this process here), one query to confirm and lock, the visit, its match event, the
        # shopper's notification, the day's counter, and the audit entry (3).
        assert len(statements) == 11, statements
        locks = [statement.rsplit("FOR UPDATE", 1)[1].strip() for statement in statements if "FOR UPDATE" in statement]
        assert locks in ([], ['OF "consent_consent"', ""])  # SQLite has no row locks; the chain head is one row

    def test_the_door_is_told_where_its_wait_went(self, client, door, astronaut):
        from stores.client import DeviceResponse

        device, secret = door
        matched = match_photo(client, device, secret, other_astronaut_photo())
        timings = DeviceResponse(200, matched.json(), {"server-timing": matched["Server-Timing"]}).server_timing()
        assert set(timings) == {"worker", "engine", "record"} and all(value > 0 for value in timings.values())
        assert timings["engine"] <= timings["worker"]  # the engine runs inside the worker's time
        assert 'desc="waiting for the match worker"' in matched["Server-Timing"]
        stranger = match_photo(client, device, secret, kit_photo("obama/obama_1.jpg"))
        assert stranger["Server-Timing"].startswith("worker;dur=") and "record" not in stranger["Server-Timing"]
        assert "engine;dur=" in stranger["Server-Timing"]
        # A device's own encoding needs no engine at the server.
        encoding = engine.analyse_for_enrollment(other_astronaut_photo()).encoding.tolist()
        encoded = match_encoding(client, device, secret, encoding)
        assert encoded.json()["result"] == "match" and "engine" not in encoded["Server-Timing"]

    @pytest.mark.requirement("M1")
    def test_an_encoding_made_on_the_device(self, client, door, astronaut):
        device, secret = door
        encoding = engine.analyse_for_enrollment(other_astronaut_photo()).encoding
        assert match_encoding(client, device, secret, encoding.tolist()).json()["result"] == "match"

    @pytest.mark.requirement("M1", "M3")
    def test_a_stranger_is_no_match_and_leaves_only_a_counter(self, client, door, astronaut):
        device, secret = door
        response = match_photo(client, device, secret, kit_photo("obama/obama_1.jpg"))
        assert response.json() == {"result": "no_match"}
        assert not Visit.objects.exists() and not MatchEvent.objects.exists()
        counter = ProbeCounter.objects.get(device=device)
        assert (counter.matched, counter.no_match, counter.no_face) == (0, 1, 0)

    @pytest.mark.requirement("M3")
    def test_no_face_is_no_match(self, client, door, astronaut):
        device, secret = door
        blank = encode(np.full((300, 300, 3), 200, np.uint8), "PNG")
        assert match_photo(client, device, secret, blank).json() == {"result": "no_match"}
        assert ProbeCounter.objects.get(device=device).no_face == 1

    @pytest.mark.requirement("C1", "M2")
    def test_without_consent_nobody_is_recognised(self, client, door, enroll):
        device, secret = door
        shopper = UserFactory()
        consent = face_consent(shopper, device.store.operator)
        enroll(shopper, astronaut_jpeg())
        consent_withdraw(consent=consent, channel="app")
        assert match_photo(client, device, secret, astronaut_jpeg()).json() == {"result": "no_match"}

    @pytest.mark.requirement("M2")
    def test_consent_to_another_operator_is_not_enough(self, client, door, enroll):
        device, secret = door
        shopper = UserFactory()
        face_consent(shopper)  # a different operator
        enroll(shopper, astronaut_jpeg())
        assert match_photo(client, device, secret, astronaut_jpeg()).json() == {"result": "no_match"}

    @pytest.mark.requirement("M1")
    def test_each_operator_sees_its_own_reference(self, client, door, enroll):
        device, secret = door
        other_device, other_secret = registered_device()
        shopper = UserFactory()
        face_consent(shopper, device.store.operator)
        face_consent(shopper, other_device.store.operator)
        enroll(shopper, astronaut_jpeg())
        first = match_photo(client, device, secret, astronaut_jpeg()).json()["shopper_ref"]
        second = match_photo(client, other_device, other_secret, astronaut_jpeg()).json()["shopper_ref"]
        assert first != second

    @pytest.mark.requirement("C6", "M2")
    def test_a_stale_index_cannot_return_a_withdrawn_shopper(self, client, door, astronaut):
        device, secret = door
        assert match_photo(client, device, secret, astronaut_jpeg()).json()["result"] == "match"
        # The worker would still propose the shopper (its index is not refreshed) ...
        with mock.patch("stores.door.matching.OperatorIndexes.refresh"):
            consent_withdraw(consent=astronaut.consents.get(), channel="app")
            response = match_photo(client, device, secret, astronaut_jpeg())
        # ... but the door confirms against the database.
        assert response.json() == {"result": "no_match"}


class TestPhotoAsTheBody:
    """The photo itself as the request body: what the reference client sends without an entry pass."""

    @pytest.mark.requirement("M1")
    @pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream"])
    def test_recognised_like_the_json_request(self, client, door, astronaut, content_type):
        device, secret = door
        response = match_photo_body(client, device, secret, other_astronaut_photo(), content_type)
        body = response.json()
        assert response.status_code == 200, body
        assert body["result"] == "match" and body["first_visit"] is True
        assert Visit.objects.get(public_id=body["visit_id"]).shopper == astronaut
        json_answer = match_photo(client, device, secret, astronaut_jpeg()).json()
        assert json_answer["shopper_ref"] == body["shopper_ref"] and json_answer["first_visit"] is False

    @pytest.mark.requirement("M1")
    def test_a_stranger_is_no_match(self, client, door, astronaut):
        device, secret = door
        response = match_photo_body(client, device, secret, kit_photo("obama/obama_1.jpg"))
        assert response.json() == {"result": "no_match"}
        assert ProbeCounter.objects.get(device=device).no_match == 1

    @pytest.mark.parametrize("photo", [b"hello world", astronaut_jpeg()[:2000]])
    def test_what_is_not_an_image_is_refused(self, client, door, photo):
        device, secret = door
        response = match_photo_body(client, device, secret, photo)
        assert_error(response, 400, "unreadable_image", "The file is not a readable JPEG, PNG or WebP image.")

    def test_an_empty_body_is_no_probe(self, client, door):
        device, secret = door
        response = signed_post(client, device, secret, "/api/v1/device/match", body=b"", content_type="image/jpeg")
        assert_error(response, 400, "probe_required", "Send either a photo or an encoding.")

    def test_a_photo_over_the_limit(self, client, door, settings):
        device, secret = door
        settings.ENROLL_MAX_PHOTO_BYTES = 1000
        response = match_photo_body(client, device, secret, astronaut_jpeg())
        assert_error(response, 400, "image_too_large", "The image is too large.")
        settings.DEVICE_MAX_BODY_BYTES = 1000
        response = match_photo_body(client, device, secret, astronaut_jpeg())
        assert_error(response, 413, "payload_too_large", "The request body is too large.")

    @pytest.mark.requirement("M4")
    def test_a_one_to_one_store_still_needs_its_pass(self, client):
        device, secret = registered_device(live_store(mode="1:1"))
        response = match_photo_body(client, device, secret, astronaut_jpeg())
        assert_error(response, 400, "entry_pass_required")

    def test_the_signature_covers_the_photo(self, client, door, astronaut):
        device, secret = door
        photo = astronaut_jpeg()
        changed = photo[:-10] + bytes(10)
        response = signed_post(
            client, device, secret, "/api/v1/device/match", body=photo, sent_body=changed, content_type="image/jpeg"
        )
        assert_error(response, 401, "signature_invalid")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite locks the file")
@pytest.mark.django_db(transaction=True)
def test_a_door_match_locks_only_its_own_consent():
    """Recording a match locks the shopper's consent (a withdrawal waits for it), never the notice version
    or anything else another door needs, so matches at a busy store do not queue behind one another."""
    from django.db import DatabaseError

    from consent.selectors import face_consent_for_match
    from tests.locks import held_in_another_transaction, waited_out

    operator = registered_device()[0].store.operator
    first, second = UserFactory(), UserFactory()
    face_consent(first, operator), face_consent(second, operator)

    def match(shopper):
        return face_consent_for_match(shopper_id=shopper.pk, operator_id=operator.pk).first()

    def hold_first() -> None:
        assert match(first) is not None

    with held_in_another_transaction(hold_first):
        assert waited_out(lambda: match(second)) is not None
        with pytest.raises(DatabaseError):
            waited_out(lambda: match(first))
