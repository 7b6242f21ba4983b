"""Part 12, decision 0041: two shards, each with a real match worker process of its own. Each worker holds only
its operators' indexes, every door is answered by its own operator's shard, a shopper of one operator is never
searched by the other's shard; an operator moved between shards under door traffic never gets a wrong answer or
a `no_match` for an index not ready; a shard with two workers goes on answering when one is killed; and a shard
whose worker is gone answers 503 at once, the other unaffected.
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time

import numpy as np
import pytest
from django.conf import settings
from django.db import connections

from core.audit import Actor
from portal import workers
from stores.client import DeviceClient
from stores.models import Operator
from stores.shards.services import match_shard_create, operator_shard_move
from tests.consent.test_withdrawal import held_template
from tests.factories import UserFactory, face_consent, live_store, registered_device
from tests.worker import ROOT

pytestmark = [
    pytest.mark.integration,
    pytest.mark.requirement("M2"),
    pytest.mark.skipif(not settings.REDIS_URL, reason="shards route door probes through Redis"),
]

PROBE = np.linspace(-0.2, 0.2, 128).tolist()  # the encoding every held template of these tests was made from


def shard_worker(real_worker, shard: str, number: int = 1) -> tuple[subprocess.Popen, object]:
    log = real_worker["workdir"] / f"match-{shard}-{number}.log"
    process = subprocess.Popen(
        workers.worker_command(workers.MATCH, concurrency=2, hostname=f"shard-{shard}-{number}@%h", quiet=True),
        cwd=ROOT,
        env={**real_worker["env"], "MATCH_SHARDS": shard},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    return process, log


def ready(shard: str, timeout: float = 60) -> None:
    import redis

    from stores.door.probes import READY_KEY

    client = redis.Redis.from_url(settings.REDIS_URL)
    deadline = time.monotonic() + timeout
    while not client.exists(READY_KEY + shard):
        assert time.monotonic() < deadline, f"no worker of shard {shard} became ready"
        time.sleep(0.1)


def door_of(operator, live_server):
    device, secret = registered_device(live_store(operator))
    return DeviceClient(live_server.url, device.device_id, secret, timeout=30)


def with_a_shopper(operator):
    shopper = UserFactory()
    face_consent(shopper, operator)
    held_template(shopper)
    return shopper


def built(log) -> list[tuple[int, int]]:
    """(operators, shoppers) of each index build the worker logged."""
    return [
        (int(a), int(b))
        for a, b in re.findall(r"Match indexes built: (\d+) operators, (\d+) shoppers", log.read_text())
    ]


def stop(process) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=20)


@pytest.fixture
def two_shards(real_worker, live_server):
    system = Actor.system()
    shards = {name: match_shard_create(actor=system, name=name) for name in ("b", "c")}
    operators = {}
    for name, shard in shards.items():
        operators[name] = operator = live_store().operator
        Operator.objects.filter(pk=operator.pk).update(match_shard=shard)
    shoppers = {name: with_a_shopper(operator) for name, operator in operators.items()}
    started = {name: shard_worker(real_worker, name) for name in shards}
    try:
        for name in shards:
            ready(name)
        yield {"operators": operators, "shoppers": shoppers, "workers": started, "shards": shards}
    finally:
        for process, _ in started.values():
            if process.poll() is None:
                stop(process)


def test_each_worker_holds_its_own_shard_and_every_door_is_answered_there(two_shards, live_server):
    operators, shoppers = two_shards["operators"], two_shards["shoppers"]
    for name in ("b", "c"):
        with door_of(operators[name], live_server) as door:
            answer = door.match_encoding(PROBE)
        assert (answer.status, answer.body["result"]) == (200, "match"), answer.body
        assert answer.body["shopper_ref"]
    for name, (_, log) in two_shards["workers"].items():
        assert built(log) and built(log)[-1] == (1, 1), f"shard {name} built {built(log)}"
    # A shopper of operator b only, at c's door: c's worker holds c's shopper alone, so the answer is c's
    # shopper (the same encoding) and never b's.
    from stores.models import MatchEvent

    with door_of(operators["c"], live_server) as door:
        door.match_encoding(PROBE)
    assert set(MatchEvent.objects.filter(store__operator=operators["c"]).values_list("shopper", flat=True)) == {
        shoppers["c"].pk
    }


def test_moving_an_operator_under_door_traffic_never_answers_wrong_or_not_ready(two_shards, live_server):
    operators, shoppers = two_shards["operators"], two_shards["shoppers"]
    moving = operators["b"]
    answers: list[tuple[int, str]] = []
    halt = threading.Event()

    def traffic() -> None:
        with door_of(moving, live_server) as door:
            while not halt.is_set():
                answer = door.match_encoding(PROBE)
                answers.append((answer.status, answer.body.get("result") or answer.body["error"]["code"]))
        connections.close_all()

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        time.sleep(1)
        operator_shard_move(actor=Actor.system(), operator=moving, shard=two_shards["shards"]["c"])
        deadline = time.monotonic() + 30
        while Operator.objects.get(pk=moving.pk).match_shard.name != "c":
            assert time.monotonic() < deadline, "the move never completed"
            time.sleep(0.1)
        time.sleep(2)
    finally:
        halt.set()
        sender.join(timeout=60)
    assert answers and all(answer == (200, "match") or answer == (503, "match_unavailable") for answer in answers)
    assert (200, "match") in answers[-3:]
    assert not any(result == "no_match" for _, result in answers)
    from stores.models import MatchEvent

    recognised = set(MatchEvent.objects.filter(store__operator=moving).values_list("shopper", flat=True))
    assert recognised == {shoppers["b"].pk}


def test_a_shard_without_a_worker_answers_at_once_and_the_other_is_unaffected(two_shards, live_server, settings):
    operators = two_shards["operators"]
    process, _ = two_shards["workers"]["b"]
    stop(process)
    time.sleep(4)  # its last "ready" lapses (3 s)
    settings.MATCH_TIMEOUT_SECONDS = 30
    with door_of(operators["b"], live_server) as door:
        started = time.monotonic()
        answer = door.match_encoding(PROBE)
        waited = time.monotonic() - started
    assert (answer.status, answer.body["error"]["code"]) == (503, "match_unavailable")
    assert waited < 10, waited  # not the 30 s the door would wait for a worker that is there
    with door_of(operators["c"], live_server) as door:
        assert door.match_encoding(PROBE).body["result"] == "match"


def test_a_shard_with_two_workers_goes_on_answering_when_one_is_killed(two_shards, real_worker, live_server, settings):
    operators = two_shards["operators"]
    settings.MATCH_TIMEOUT_SECONDS = 3  # how long the door waits on the probe the killed worker took
    second, log = shard_worker(real_worker, "b", number=2)
    try:
        deadline = time.monotonic() + 60
        while not built(log):
            assert second.poll() is None and time.monotonic() < deadline, "the second worker of b never built"
            time.sleep(0.1)
        answers: list[tuple[float, int, str]] = []
        halt = threading.Event()

        def traffic() -> None:
            with door_of(operators["b"], live_server) as door:
                while not halt.is_set():
                    sent = time.monotonic()
                    answer = door.match_encoding(PROBE)
                    answers.append((sent, answer.status, answer.body.get("result") or answer.body["error"]["code"]))
            connections.close_all()

        sender = threading.Thread(target=traffic)
        sender.start()
        try:
            time.sleep(1)
            killed = time.monotonic()
            stop(two_shards["workers"]["b"][0])
            time.sleep(settings.MATCH_TIMEOUT_SECONDS + 3)
        finally:
            halt.set()
            sender.join(timeout=60)
    finally:
        stop(second)
    after = [(status, result) for sent, status, result in answers if sent >= killed]
    assert after and not any(result == "no_match" for _, result in after)
    # Only what the killed worker had taken is lost, answered 503 once the door stops waiting (one door, one
    # probe at a time); every other probe, and every one sent since, the other worker answers.
    assert sum(answer != (200, "match") for answer in after) <= 1, after
    assert after[-5:] == [(200, "match")] * 5, after[-5:]
