"""A door probe's photo: sealed on its way to the worker, gone once taken, never kept."""

from unittest import mock

import pytest

from biometrics import engine
from stores.models import ProbeCounter
from tests.biometrics.photos import astronaut_jpeg, kit_photo
from tests.conftest import assert_error
from tests.stores.conftest import NO_WORKER
from tests.stores.device import match_photo

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("M3")]


def test_no_probe_is_kept(client, door, astronaut, settings):
    from pathlib import Path

    from tests.biometrics.leaks import leaks

    device, secret = door
    probe = kit_photo("obama/obama_2.jpg")
    match_photo(client, device, secret, probe)
    assert leaks(probe, engine.probe_encoding(probe), folders=[Path(settings.MEDIA_ROOT)]) == []


def test_the_probe_photo_travels_sealed(client, door, astronaut, probe_channel):
    import base64

    from stores.door.probes import KEY_PREFIX
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
        assert set(kwargs["photo"]) == {"sealed"}
        ciphertext = base64.b64decode(kwargs["photo"]["sealed"])
    else:
        # The message says where the sealed photo waited (in Redis, for the worker to take).
        assert kwargs["photo"] == {"in": "redis"}
        ciphertext = waiting[0]
        assert ciphertext is not None and len(ciphertext) > len(probe)
        assert probe_channel.get(KEY_PREFIX + kwargs["probe_id"]) is None
    for offset in (0, 1000, len(probe) // 2):
        assert probe[offset : offset + 48] not in ciphertext
    assert base64.b64encode(probe[:48]).decode() not in str(kwargs)
    assert sent.call_args.kwargs["kwargsrepr"].endswith("probe hidden)")


@pytest.mark.parametrize("probe_channel", ["in_redis"], indirect=True)
def test_a_worker_that_comes_too_late_finds_no_photo(client, door, probe_channel):
    from stores.door.probes import probe_photo_send, probe_photo_withdraw
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
        "nearest_other": None,
    }
    # Should that answer still reach a door, the door says the worker was too late, not "no match".
    with mock.patch("stores.door.services._ask_match_worker", return_value=answer):
        response = match_photo(client, device, secret, astronaut_jpeg())
    assert_error(response, 503, "match_unavailable", NO_WORKER)
    assert not ProbeCounter.objects.exists()
