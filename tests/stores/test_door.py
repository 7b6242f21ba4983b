"""The door: recognising consenting shoppers only, at their operator only, and nothing else."""

import contextlib
import threading
import time
from unittest import mock

import numpy as np
import pytest
from django.core.cache import caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.db import IntegrityError, connection, transaction

from biometrics import engine
from biometrics.models import FaceTemplate
from consent.services import consent_withdraw, entry_pass_issue
from core.audit import Actor
from core.errors import DomainError
from core.models import AuditEntry
from stores.models import Device, MatchEvent, ProbeCounter, Store, Visit
from stores.services import device_register, store_go_live
from tests.biometrics.photos import astronaut_array, astronaut_jpeg, encode, kit_photo
from tests.conftest import assert_error
from tests.factories import StoreFactory, UserFactory, face_consent, live_store, registered_device
from tests.stores.device import match_encoding, match_photo, match_photo_body, signed_post

pytestmark = pytest.mark.django_db

NO_WORKER = "No match worker answered in time; let the shopper in another way."


@pytest.fixture
def enroll(api_client, django_capture_on_commit_callbacks):
    def run(shopper, photo: bytes):
        from django.core.files.uploadedfile import SimpleUploadedFile

        api_client.force_authenticate(shopper)
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(
                "/api/v1/enrollments", {"photos": [SimpleUploadedFile("me.jpg", photo)]}, format="multipart"
            )
        assert response.status_code == 202
        assert FaceTemplate.objects.filter(shopper=shopper).exists()
        return shopper

    return run


@pytest.fixture
def door():
    device, secret = registered_device()
    return device, secret


@pytest.fixture
def astronaut(door, enroll):
    shopper = UserFactory()
    face_consent(shopper, door[0].store.operator)
    return enroll(shopper, astronaut_jpeg())


def other_astronaut_photo() -> bytes:
    # Another photo of the same face: mirrored, slightly smaller, saved as PNG.
    flipped = np.ascontiguousarray(astronaut_array()[:, ::-1])
    return encode(flipped, "PNG")


class TestMatch:
    def test_a_consenting_shopper_is_recognised_and_the_visit_recorded(self, client, door, astronaut):
        device, secret = door
        response = match_photo(client, device, secret, other_astronaut_photo())
        body = response.json()
        assert response.status_code == 200, body
        assert set(body) == {"result", "shopper_ref", "visit_id", "first_visit"}
        assert body["result"] == "match" and body["first_visit"] is True
        assert body["shopper_ref"].startswith("shp_")
        visit = Visit.objects.get(public_id=body["visit_id"])
        assert (visit.shopper, visit.store, visit.device, visit.method) == (astronaut, device.store, device, "face")
        assert visit.notice_shown_at is not None
        event = MatchEvent.objects.get(visit=visit)
        consent = astronaut.consents.get()
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
        # The device, the index's change notes (the worker runs in this process here), one query to
        # confirm and lock, the visit, its match event, the day's counter, and the audit entry (3).
        assert len(statements) == 9, statements
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

    def test_an_encoding_made_on_the_device(self, client, door, astronaut):
        device, secret = door
        encoding = engine.analyse_for_enrollment(other_astronaut_photo()).encoding
        assert match_encoding(client, device, secret, encoding.tolist()).json()["result"] == "match"

    def test_a_stranger_is_no_match_and_leaves_only_a_counter(self, client, door, astronaut):
        device, secret = door
        response = match_photo(client, device, secret, kit_photo("obama/obama_1.jpg"))
        assert response.json() == {"result": "no_match"}
        assert not Visit.objects.exists() and not MatchEvent.objects.exists()
        counter = ProbeCounter.objects.get(device=device)
        assert (counter.matched, counter.no_match, counter.no_face) == (0, 1, 0)

    def test_no_face_is_no_match(self, client, door, astronaut):
        device, secret = door
        blank = encode(np.full((300, 300, 3), 200, np.uint8), "PNG")
        assert match_photo(client, device, secret, blank).json() == {"result": "no_match"}
        assert ProbeCounter.objects.get(device=device).no_face == 1

    def test_without_consent_nobody_is_recognised(self, client, door, enroll):
        device, secret = door
        shopper = UserFactory()
        consent = face_consent(shopper, device.store.operator)
        enroll(shopper, astronaut_jpeg())
        consent_withdraw(consent=consent, channel="app")
        assert match_photo(client, device, secret, astronaut_jpeg()).json() == {"result": "no_match"}

    def test_consent_to_another_operator_is_not_enough(self, client, door, enroll):
        device, secret = door
        shopper = UserFactory()
        face_consent(shopper)  # a different operator
        enroll(shopper, astronaut_jpeg())
        assert match_photo(client, device, secret, astronaut_jpeg()).json() == {"result": "no_match"}

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

    def test_a_stale_index_cannot_return_a_withdrawn_shopper(self, client, door, astronaut):
        device, secret = door
        assert match_photo(client, device, secret, astronaut_jpeg()).json()["result"] == "match"
        # The worker would still propose the shopper (its index is not refreshed) ...
        with mock.patch("stores.matching.OperatorIndexes.refresh"):
            consent_withdraw(consent=astronaut.consents.get(), channel="app")
            response = match_photo(client, device, secret, astronaut_jpeg())
        # ... but the door confirms against the database.
        assert response.json() == {"result": "no_match"}


class TestPhotoAsTheBody:
    """The photo itself as the request body: what the reference client sends without an entry pass."""

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


class TestEntryPasses:
    def test_a_pass_lets_a_shopper_in_without_a_face_once(self, client, door):
        device, secret = door
        shopper = UserFactory()  # no consent to anything
        token = entry_pass_issue(shopper=shopper, channel="app").token
        response = signed_post(client, device, secret, "/api/v1/device/entry-pass", {"entry_pass": token})
        assert response.json()["result"] == "match" and response.json()["first_visit"] is True
        assert Visit.objects.get().method == "entry_pass"
        again = signed_post(client, device, secret, "/api/v1/device/entry-pass", {"entry_pass": token})
        assert_error(again, 409, "pass_used", "This entry pass has already been used; show a fresh one.")

    def test_one_to_one_checks_the_face_against_the_pass(self, client, enroll):
        store = live_store(mode=Store.Mode.ONE_TO_ONE)
        device, secret = registered_device(store)
        owner, other = UserFactory(), UserFactory()
        for shopper, photo in ((owner, astronaut_jpeg()), (other, kit_photo("obama/obama_1.jpg"))):
            face_consent(shopper, store.operator)
            enroll(shopper, photo)
        assert_error(match_photo(client, device, secret, astronaut_jpeg()), 400, "entry_pass_required")
        # Someone else's face with the owner's pass: refused.
        token = entry_pass_issue(shopper=owner, channel="app").token
        assert match_photo(client, device, secret, kit_photo("obama/obama_2.jpg"), entry_pass=token).json() == {
            "result": "no_match"
        }
        # The owner's face with the owner's pass.
        token = entry_pass_issue(shopper=owner, channel="app").token
        response = match_photo(client, device, secret, other_astronaut_photo(), entry_pass=token)
        assert response.json()["result"] == "match"
        assert MatchEvent.objects.get().mode == "1:1"


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


class TestRefused:
    def test_shelf_devices_never_match(self, client):
        device, secret = registered_device(kind="shelf", location="sales_floor")
        assert_error(match_photo(client, device, secret, astronaut_jpeg()), 403, "device_cannot_match")

    def test_a_store_that_is_not_live(self, client):
        store = StoreFactory()
        device, secret = registered_device(store)
        assert_error(match_photo(client, device, secret, astronaut_jpeg()), 403, "store_not_live")

    @pytest.mark.parametrize(
        "payload, code",
        [
            ({}, "probe_required"),
            ({"photo": "aGVsbG8=", "encoding": [0.1] * 128}, "probe_required"),
            ({"encoding": [0.1] * 127}, "invalid_encoding"),
            ({"encoding": [0.1] * 129}, "invalid_encoding"),
            ({"photo": "not base64!"}, "unreadable_image"),
            ({"photo": "aGVsbG8gd29ybGQ="}, "unreadable_image"),
        ],
    )
    def test_bad_probes(self, client, door, payload, code):
        device, secret = door
        response = signed_post(client, device, secret, "/api/v1/device/match", payload)
        assert_error(response, 400, code)

    def test_encoding_with_text(self, client, door):
        device, secret = door
        response = signed_post(client, device, secret, "/api/v1/device/match", {"encoding": ["a"] * 128})
        assert_error(response, 400, "invalid_encoding", "The encoding must be a list of 128 numbers.")
        response = signed_post(client, device, secret, "/api/v1/device/match", {"encoding": {"0": 0.1}})
        assert_error(response, 400, "invalid_encoding", "The encoding must be a list of 128 numbers.")
        # NaN is not JSON at all; a number beyond a float's range parses as infinite, which is no encoding.
        response = signed_post(client, device, secret, "/api/v1/device/match", {"encoding": [float("nan")] * 128})
        assert_error(response, 400, "malformed_json", "The request body is not valid JSON.")
        body = ('{"encoding": [' + ", ".join(["1e400"] * 128) + "]}").encode()
        response = signed_post(client, device, secret, "/api/v1/device/match", body=body)
        assert_error(response, 400, "invalid_encoding", "The encoding must be a list of 128 numbers.")

    def test_a_worker_that_fails_answers_at_once(self, client, door, astronaut, probe_channel, settings):
        device, secret = door
        settings.MATCH_TIMEOUT_SECONDS = 30  # the door must not wait it out
        started = time.monotonic()
        with mock.patch("stores.matching.match_probe", side_effect=RuntimeError("the index is unreadable")):
            response = match_photo(client, device, secret, astronaut_jpeg())
        assert_error(response, 503, "match_unavailable", NO_WORKER)
        assert time.monotonic() - started < 10
        assert not ProbeCounter.objects.exists()

    def test_no_broker_to_reach(self, client, door, settings):
        device, secret = door
        settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
        response = match_photo(client, device, secret, astronaut_jpeg())
        assert_error(response, 503, "match_unavailable", NO_WORKER)

    def test_no_worker_answers(self, client, door, probe_channel, settings):
        from celery.exceptions import TimeoutError as CeleryTimeoutError

        device, secret = door
        settings.MATCH_TIMEOUT_SECONDS = 0.2
        result = mock.Mock(get=mock.Mock(side_effect=CeleryTimeoutError()))  # a task no worker takes
        with mock.patch("stores.tasks.match_probe_task.apply_async", return_value=result) as sent:
            response = match_photo(client, device, secret, astronaut_jpeg())
        assert_error(response, 503, "match_unavailable", NO_WORKER)
        result.revoke.assert_called_once()
        assert not ProbeCounter.objects.exists()
        if probe_channel is not None:  # the photo nobody took is gone with the door's patience
            from stores.probes import KEY_PREFIX

            assert probe_channel.get(KEY_PREFIX + sent.call_args.kwargs["kwargs"]["probe_id"]) is None

    def test_a_probe_that_expired_in_the_queue(self, client, door, probe_channel):
        """Waiting behind slower work, the task reached a worker after its expiry: the worker drops it
        and the result says so; the door answers 503 like any other unanswered probe."""
        from celery.exceptions import TaskRevokedError

        device, secret = door
        result = mock.Mock(get=mock.Mock(side_effect=TaskRevokedError("expired")))
        with mock.patch("stores.tasks.match_probe_task.apply_async", return_value=result):
            response = match_photo(client, device, secret, astronaut_jpeg())
        assert_error(response, 503, "match_unavailable", NO_WORKER)
        assert not ProbeCounter.objects.exists()


class TestStoresAndDevices:
    def test_a_store_cannot_go_live_without_signage(self):
        store = StoreFactory()
        with pytest.raises(DomainError) as raised:
            store_go_live(actor=Actor.system(), store=store)
        assert raised.value.code == "signage_not_confirmed"
        with pytest.raises(IntegrityError), transaction.atomic():
            Store.objects.filter(pk=store.pk).update(status="live")

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


def test_no_probe_is_kept(client, door, astronaut, settings):
    from pathlib import Path

    from tests.biometrics.leaks import leaks

    device, secret = door
    probe = kit_photo("obama/obama_2.jpg")
    match_photo(client, device, secret, probe)
    assert leaks(probe, engine.probe_encoding(probe), folders=[Path(settings.MEDIA_ROOT)]) == []


class _Redis:
    """Enough of a Redis client for the door's channel, where no Redis runs (the embedded default).
    Tasks run eagerly there, so an answer is always pushed before the door pops it."""

    def __init__(self) -> None:
        self.data: dict[str, bytes | list] = {}
        self.expiries: list[int] = []

    def set(self, key, value, px):
        self.expiries.append(px)
        self.data[key] = value

    def get(self, key):
        return self.data.get(key)

    def getdel(self, key):
        return self.data.pop(key, None)

    def delete(self, key):
        self.data.pop(key, None)

    def rpush(self, key, value):
        self.data.setdefault(key, []).append(value.encode())

    def pexpire(self, key, px):
        self.expiries.append(px)

    def blpop(self, keys, timeout):
        for key in keys:
            if self.data.get(key):
                return key.encode(), self.data[key].pop(0)
        return None

    def pipeline(self, transaction):
        return contextlib.nullcontext(mock.Mock(rpush=self.rpush, pexpire=self.pexpire, execute=lambda: None))


@pytest.fixture(params=["in_message", "in_redis"])
def probe_channel(request, settings):
    """Both ways a probe photo reaches the worker: inside the task message, or beside it in Redis."""
    from stores import probes

    if request.param == "in_message":
        settings.CELERY_BROKER_URL = ""
        yield None
        return
    if settings.REDIS_URL:
        settings.CELERY_BROKER_URL = settings.REDIS_URL
        yield probes._client(settings.REDIS_URL)
        return
    settings.CELERY_BROKER_URL = "redis://probe-channel.invalid:6379/0"
    fake = _Redis()
    with mock.patch.object(probes, "_client", return_value=fake):
        yield fake


def test_the_probe_photo_travels_sealed(client, door, astronaut, probe_channel):
    import base64

    from stores.probes import KEY_PREFIX
    from stores.tasks import match_probe_task

    device, secret = door
    probe = kit_photo("obama/obama_2.jpg")
    waiting, original = [], match_probe_task.apply_async

    def send(*args, **kwargs):
        probe_id = kwargs["kwargs"]["probe_id"]
        if probe_channel is not None:
            waiting.append(probe_channel.get(KEY_PREFIX + probe_id))
        return original(*args, **kwargs)

    with mock.patch.object(match_probe_task, "apply_async", side_effect=send) as sent:
        assert match_photo(client, device, secret, probe).json() == {"result": "no_match"}
    kwargs = sent.call_args.kwargs["kwargs"]
    if probe_channel is None:
        assert set(kwargs["photo"]) == {"k", "n", "c"}
        ciphertext = base64.b64decode(kwargs["photo"]["c"])
    else:
        # The message names the key; the sealed photo waited in Redis and the worker took it.
        assert kwargs["photo"] == {"k": kwargs["photo"]["k"], "in": "redis"}
        ciphertext = waiting[0]
        assert ciphertext is not None and len(ciphertext) > len(probe)
        assert probe_channel.get(KEY_PREFIX + kwargs["probe_id"]) is None
    for offset in (0, 1000, len(probe) // 2):
        assert probe[offset : offset + 48] not in ciphertext
    assert base64.b64encode(probe[:48]).decode() not in str(kwargs)
    assert sent.call_args.kwargs["kwargsrepr"].endswith("probe hidden)")


@pytest.mark.parametrize("probe_channel", ["in_redis"], indirect=True)
def test_a_worker_that_comes_too_late_finds_no_photo(client, door, probe_channel):
    from stores.probes import probe_photo_send, probe_photo_withdraw
    from stores.tasks import match_probe_task

    device, secret = door
    reference = probe_photo_send(astronaut_jpeg(), probe_id="late")
    probe_photo_withdraw(reference, probe_id="late")
    answer = match_probe_task.run(operator_id=device.store.operator_id, probe_id="late", photo=reference)
    assert answer == {
        "face_found": False,
        "shopper_id": None,
        "distance": None,
        "error": "probe_expired",
        "engine_ms": None,
    }
    # Should that answer still reach a door, the door says the worker was too late, not "no match".
    with mock.patch("stores.services._ask_match_worker", return_value=answer):
        response = match_photo(client, device, secret, astronaut_jpeg())
    assert_error(response, 503, "match_unavailable", NO_WORKER)
    assert not ProbeCounter.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite locks the file")
@pytest.mark.django_db(transaction=True)
def test_a_door_match_locks_only_its_own_consent():
    """Recording a match locks the shopper's consent (a withdrawal waits for it), never the notice version
    or anything else another door needs, so matches at a busy store do not queue behind one another."""
    from django.db import DatabaseError, connections

    from consent.selectors import face_consent_for_match

    operator = registered_device()[0].store.operator
    first, second = UserFactory(), UserFactory()
    face_consent(first, operator), face_consent(second, operator)
    locked, release, failures = threading.Event(), threading.Event(), []

    def hold_first() -> None:
        try:
            with transaction.atomic():
                assert face_consent_for_match(shopper_id=first.pk, operator_id=operator.pk).first() is not None
                locked.set()
                release.wait(10)
        except Exception as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            connections.close_all()

    def waited_out(query):
        # The door's own query, refused instead of queued when another transaction holds what it locks.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '300ms'")
        return query()

    holder = threading.Thread(target=hold_first)
    holder.start()
    try:
        assert locked.wait(10)
        with transaction.atomic():
            waited_out(lambda: face_consent_for_match(shopper_id=second.pk, operator_id=operator.pk).first())
        with pytest.raises(DatabaseError), transaction.atomic():
            waited_out(lambda: face_consent_for_match(shopper_id=first.pk, operator_id=operator.pk).first())
    finally:
        release.set()
        holder.join(10)
    assert failures == []
