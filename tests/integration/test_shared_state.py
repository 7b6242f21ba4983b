"""Nonces, failed-login counters and throttles hold across web processes and their restarts.

Two gunicorn processes serve the same database: a signed door request is accepted once
whichever process receives each copy, and a lockout earned on one holds on the other and
after a restart.
"""

import json
import threading

import numpy as np
import pytest

from stores import signing
from tests.factories import registered_device
from tests.servers import web_servers

pytestmark = pytest.mark.integration

MATCH_PATH = "/api/v1/device/match"


@pytest.fixture(scope="module")
def servers(celery_worker_process):
    started = web_servers(celery_worker_process, 2, THROTTLE_ANONYMOUS_ACCOUNT="4/hour")
    yield started
    for server in started:
        server.stop()


def stranger_encoding() -> list[float]:
    encoding = np.random.default_rng(5).normal(size=128)
    return (encoding / np.linalg.norm(encoding)).tolist()


def test_a_signed_request_is_accepted_once_by_all_processes_and_after_a_restart(real_worker, servers):
    device, secret = registered_device()
    body = json.dumps({"encoding": stranger_encoding()}).encode()
    headers = {
        "Content-Type": "application/json",
        **signing.signed_headers(device.device_id, secret, "POST", MATCH_PATH, body),
    }
    answers = []

    def send(server):
        answers.append(server.request("POST", MATCH_PATH, body, headers))

    # Eight copies at once, four to each process.
    copies = [threading.Thread(target=send, args=(servers[number % 2],)) for number in range(8)]
    for copy in copies:
        copy.start()
    for copy in copies:
        copy.join()
    servers[0].restart()
    send(servers[0])
    send(servers[1])

    accepted = [answer for answer in answers if answer.status == 200]
    assert [answer.body for answer in accepted] == [{"result": "no_match"}]
    assert (
        sorted((answer.status, answer.code) for answer in answers if answer.status != 200)
        == [(401, "request_replayed")] * 9
    )


def test_a_login_lockout_holds_in_every_process_and_after_a_restart(transactional_db, servers):
    first, second = servers
    login = {"email": "someone@example.com", "password": "not the password"}
    for server in (first, second, first, second, first):  # the limit: 5 failures in the window
        answer = server.post_json("/api/v1/auth/login", login)
        assert (answer.status, answer.code) == (401, "invalid_credentials")
    answer = second.post_json("/api/v1/auth/login", login)
    assert (answer.status, answer.code) == (429, "too_many_login_attempts")
    first.restart()
    answer = first.post_json("/api/v1/auth/login", login)
    assert (answer.status, answer.code) == (429, "too_many_login_attempts")


def test_a_throttle_counts_the_requests_of_every_process(transactional_db, servers):
    first, second = servers
    # Another address each time: reset mails are also limited per address, which is not what this counts.
    for number, server in enumerate((first, second, first, second)):  # the servers' rate: 4 an hour
        assert server.post_json("/api/v1/auth/password-reset", {"email": f"nobody{number}@example.com"}).status == 202
    answer = first.post_json("/api/v1/auth/password-reset", {"email": "nobody5@example.com"})
    assert (answer.status, answer.code) == (429, "throttled")
    second.restart()
    answer = second.post_json("/api/v1/auth/password-reset", {"email": "nobody6@example.com"})
    assert (answer.status, answer.code) == (429, "throttled")
