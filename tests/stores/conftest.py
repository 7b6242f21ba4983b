"""What the door tests share: a live entrance, an enrolled consenting shopper, both ways a probe travels."""

import contextlib
import fnmatch
import time
from unittest import mock

import numpy as np
import pytest

from biometrics.models import FaceTemplate
from tests.biometrics.photos import astronaut_array, astronaut_jpeg, encode
from tests.factories import UserFactory, face_consent, registered_device

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


class _Redis:
    """Enough of a Redis client for the door's channel, where no Redis runs (the embedded default).
    Tasks run eagerly there, so an answer is always pushed before the door pops it."""

    def __init__(self) -> None:
        self.data: dict[str, bytes | list] = {}
        self.expiries: list[int] = []

    def set(self, key, value, px=None, ex=None):
        self.expiries.append(px if px is not None else ex * 1000)
        self.data[key] = value

    def exists(self, key):
        return int(key in self.data)

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

    def llen(self, key):
        return len(self.data.get(key, []))

    def scan_iter(self, match):
        return [key for key in list(self.data) if fnmatch.fnmatchcase(key, match)]

    def lpush(self, key, value):
        self.data.setdefault(key, []).insert(0, value.encode())

    def blpop(self, keys, timeout):
        return self._pop(keys, timeout, 0)

    def brpop(self, keys, timeout):
        return self._pop(keys, timeout, -1)

    def _pop(self, keys, timeout, end):
        # A match worker's thread may block on an empty list, as on Redis, until something comes.
        deadline = time.monotonic() + timeout
        while True:
            for key in keys:
                if self.data.get(key):
                    return key.encode(), self.data[key].pop(end)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.005)

    def pipeline(self, transaction):
        # Each command runs at once; execute() answers their results in order, as Redis's pipeline does.
        results = []

        def queued(command):
            return lambda *args, **kwargs: results.append(command(*args, **kwargs))

        names = ("set", "lpush", "rpush", "pexpire", "exists")
        commands = mock.Mock(**{name: queued(getattr(self, name)) for name in names})
        commands.execute = lambda: list(results)
        return contextlib.nullcontext(commands)


@pytest.fixture(params=["in_message", "in_redis"])
def probe_channel(request, settings):
    """Both ways a probe photo reaches the worker: inside the task message, or beside it in Redis."""
    from stores.door import probes

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
