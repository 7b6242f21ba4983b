"""Door probes on their Redis list (docs/decisions/0026): taken by a free thread of a match worker and
answered, or dropped unanswered once the door has stopped waiting; the photo never outlives the probe."""

import time
import uuid
from unittest import mock

import pytest
from redis.exceptions import RedisError

from portal.celery import app as celery_app
from stores.models import ProbeCounter
from tests.conftest import assert_error
from tests.stores.conftest import NO_WORKER, other_astronaut_photo
from tests.stores.device import match_photo, signed_post

# The threads read the match indexes from the database on their own connections: the rows must be committed.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("probe_channel", ["in_redis"], indirect=True),
]


@pytest.fixture
def probe_list(probe_channel, monkeypatch):
    """Doors send probes to match workers (tasks do not run in this process), on a list of this test's own."""
    from stores.door import probes

    monkeypatch.setattr(probes, "QUEUE_KEY", f"test-door-probes:{uuid.uuid4().hex}")
    celery_app.conf.task_always_eager = False  # set back after each test (tests/conftest.py)
    return probe_channel


def ready(channel, shard: str = "a") -> None:
    """Wait until a match worker thread of the shard has built its indexes and said it takes probes."""
    from stores.door.probes import READY_KEY

    deadline = time.monotonic() + 10
    while not channel.exists(READY_KEY + shard):
        assert time.monotonic() < deadline, "no match worker thread said it was ready"
        time.sleep(0.01)


@pytest.fixture
def match_worker_threads(probe_list):
    from stores.door.consumers import ProbeConsumers

    consumers = ProbeConsumers()
    consumers.start(2)
    ready(probe_list)
    yield consumers
    consumers.stop()


def waiting_photos(channel) -> list:
    from stores.door.probes import KEY_PREFIX

    return list(channel.scan_iter(match=KEY_PREFIX + "*"))


def test_a_free_match_worker_thread_takes_the_probe_and_the_door_gets_its_answer(
    client, door, astronaut, match_worker_threads, probe_list
):
    from stores.door import probes

    device, secret = door
    response = match_photo(client, device, secret, other_astronaut_photo())

    assert response.status_code == 200
    assert response.json()["result"] == "match"
    assert "worker;dur=" in response["Server-Timing"]
    assert probe_list.llen(probes._queue_key("a")) == 0
    assert waiting_photos(probe_list) == []  # taken by the worker, and gone
    stranger = signed_post(client, device, secret, "/api/v1/device/match", {"encoding": [0.0] * 128})
    assert stranger.json() == {"result": "no_match"}
    assert ProbeCounter.objects.get().no_match == 1


def test_a_door_that_stops_waiting_takes_its_photo_back_and_a_late_thread_drops_the_probe(
    client, door, astronaut, probe_list, settings
):
    from stores.door import probes
    from stores.door.consumers import probe_take_and_answer

    settings.MATCH_TIMEOUT_SECONDS = 0.5
    device, secret = door
    probe_list.set(probes.READY_KEY + "a", 1, ex=3)  # a worker said it was ready, and is slow
    response = match_photo(client, device, secret, other_astronaut_photo())  # none takes the probe

    assert_error(response, 503, "match_unavailable", NO_WORKER)
    assert probe_list.llen(probes._queue_key("a")) == 1
    assert waiting_photos(probe_list) == []  # the door withdrew the photo as it gave up
    time.sleep(0.05)
    with (
        mock.patch("stores.door.consumers.probe_serve") as serve,
        mock.patch("stores.door.consumers.probe_answer_send") as answer,
    ):
        assert probe_take_and_answer(timeout=1) is True
    serve.assert_not_called()
    answer.assert_not_called()
    assert probe_list.llen(probes._queue_key("a")) == 0
    assert not ProbeCounter.objects.exists()


def test_threads_keep_taking_probes_after_redis_was_away(client, door, astronaut, probe_list, caplog):
    from stores.door import consumers
    from stores.door.probes import probe_next

    failures = iter([RedisError("connection refused"), RedisError("connection refused")])

    def next_probe(*, shards, timeout):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return probe_next(shards=shards, timeout=timeout)

    device, secret = door
    threads = consumers.ProbeConsumers()
    with mock.patch.object(consumers, "probe_next", side_effect=next_probe):
        threads.start(1)
        try:
            ready(probe_list)
            response = match_photo(client, device, secret, other_astronaut_photo())
        finally:
            threads.stop()

    assert response.json()["result"] == "match"
    logged = [record for record in caplog.records if "Taking door probes failed" in record.getMessage()]
    assert len(logged) == 1  # once per outage, not once per retry


def test_a_message_a_thread_cannot_read_leaves_it_serving_the_next(client, door, astronaut, probe_list, caplog):
    from stores.door import consumers, probes

    probe_list.lpush(probes._queue_key("a"), '{"probe_id": "odd", "expires_at": 9999999999, "not": "a probe"}')
    device, secret = door
    threads = consumers.ProbeConsumers()
    threads.start(1)
    try:
        ready(probe_list)
        response = match_photo(client, device, secret, other_astronaut_photo())
    finally:
        threads.stop()

    assert response.json()["result"] == "match"
    assert any("A door probe could not be served" in record.getMessage() for record in caplog.records)


def test_with_no_worker_of_its_shard_ready_the_door_answers_at_once_and_sends_nothing(
    client, door, astronaut, probe_list
):
    """Decision 0041: no match worker of the operator's shard has said it is ready in the last few seconds, so
    the door does not wait out its timeout, and no probe or photo is left anywhere."""
    from stores.door import probes
    from stores.models import MatchShard, Operator

    device, secret = door
    # A shard of its own: no worker of this machine (an integration test's serves `a`) has said it is ready.
    lonely = MatchShard.objects.create(name=f"lonely-{uuid.uuid4().hex[:8]}")
    Operator.objects.filter(pk=device.store.operator_id).update(match_shard=lonely)
    with mock.patch("stores.door.services.probe_answer_wait", side_effect=AssertionError("the door waited")) as wait:
        response = match_photo(client, device, secret, other_astronaut_photo())
    assert_error(response, 503, "match_unavailable", NO_WORKER)
    wait.assert_not_called()
    assert probe_list.llen(probes._queue_key(lonely.name)) == 0 and waiting_photos(probe_list) == []
