"""The reference client store integrators use: signed requests over real HTTP, and its command line."""

import json
import socket
import subprocess
import sys

import pytest

from consent.services import entry_pass_issue
from stores import client as reference
from stores.models import Visit
from tests.factories import UserFactory, live_store, registered_device
from tests.worker import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def device():
    return registered_device(live_store())


@pytest.mark.requirement("C9")
def test_the_command_line_lets_a_shopper_in_with_an_entry_pass(live_server, device, capsys):
    door, secret = device
    token = entry_pass_issue(shopper=UserFactory(), channel="app").token
    arguments = ["--url", live_server.url, "--device", door.device_id, "--secret", secret]

    assert reference.main([*arguments, "entry-pass", "--token", token]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == 200 and answer["result"] == "match"
    assert Visit.objects.get(public_id=answer["visit_id"]).method == Visit.Method.ENTRY_PASS

    # Used once: the same pass again is refused, and the command says so by its exit status.
    assert reference.main([*arguments, "entry-pass", "--token", token]) == 1
    refused = json.loads(capsys.readouterr().out)
    assert refused["status"] == 409 and refused["error"]["code"] == "pass_used"


def test_one_connection_serves_a_door_and_closes_with_the_client(live_server, device):
    door, secret = device
    with reference.DeviceClient(live_server.url, door.device_id, secret) as client:
        first = client.entry_pass(entry_pass_issue(shopper=UserFactory(), channel="app").token)
        connection = client._connection
        second = client.entry_pass(entry_pass_issue(shopper=UserFactory(), channel="app").token)
        assert client._connection is connection  # kept alive between shoppers
    assert first.status == second.status == 200
    assert client._connection is None


def test_a_server_that_is_not_listening_is_one_line_and_exit_status_2():
    """What an integrator sees with the wrong port: why, in one line, not a traceback."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    arguments = ["--url", url, "--device", "dev_x", "--secret", "fcs_x", "entry-pass", "--token", "t"]
    done = subprocess.run(
        [sys.executable, "-m", "stores.client", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"python -m stores.client: cannot reach {url}: Connection refused\n"
