"""What the door refuses, and how it answers when no match worker can."""

import time
from unittest import mock

import pytest

from stores.models import ProbeCounter
from tests.biometrics.photos import astronaut_jpeg
from tests.conftest import assert_error
from tests.factories import StoreFactory, registered_device
from tests.stores.conftest import NO_WORKER
from tests.stores.device import match_photo, signed_post

pytestmark = pytest.mark.django_db


class TestRefused:
    def test_shelf_devices_never_match(self, client):
        device, secret = registered_device(kind="shelf", location="sales_floor")
        assert_error(match_photo(client, device, secret, astronaut_jpeg()), 403, "device_cannot_match")

    @pytest.mark.requirement("S5")
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
        with mock.patch("stores.door.matching.match_probe", side_effect=RuntimeError("the index is unreadable")):
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
            from stores.door.probes import KEY_PREFIX

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
