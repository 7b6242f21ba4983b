"""`manage.py serve` (what `make run` ends with): which worker process takes which queue, and the
address its processes link to."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
from celery import Celery
from django.conf import settings

from portal import workers
from portal.services import api_token_create
from tests.factories import UserFactory, face_consent
from tests.worker import ROOT, _database_url, _key_file_spec

pytestmark = pytest.mark.integration

START_TIMEOUT = 90


def routed_queues() -> set[str]:
    """Every queue a task can be sent to."""
    return {settings.CELERY_TASK_DEFAULT_QUEUE, *(route["queue"] for route in settings.CELERY_TASK_ROUTES.values())}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def all_queues_taken(app: Celery) -> bool:
    replies = app.control.inspect(timeout=1).active_queues() or {}
    return {queue["name"] for consumed in replies.values() for queue in consumed} >= routed_queues()


@pytest.fixture
def served(transactional_db, django_db_blocker, tmp_path, template_keys_file):
    """`serve` running with no broker configured, on the test database: its address, and a Celery app to
    ask its workers."""
    with django_db_blocker.unblock():
        database_url = _database_url()
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("CELERY_", "REDIS_URL", "CACHE_"))
    } | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "TEMPLATE_KEYS": settings.TEMPLATE_KEYS or _key_file_spec(template_keys_file),
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "VAR_DIR": str(tmp_path),
        # No broker, but the tests' cache: on a server database a deployment refuses to run without Redis.
        **({"CACHE_REDIS_URL": settings.CACHE_REDIS_URL} if settings.CACHE_REDIS_URL else {}),
    }
    log_path = tmp_path / "serve.log"
    bind = f"127.0.0.1:{free_port()}"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--bind", bind],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # With nothing configured, serve's processes share a broker made of files under its var/.
    folders = {name: tmp_path / "celery" / name for name in ("broker", "control")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    app = Celery(
        set_as_current=False,  # tasks sent by later tests still go through the project's app
        broker="filesystem://",
        broker_transport_options={
            "data_folder_in": str(folders["broker"]),
            "data_folder_out": str(folders["broker"]),
            "control_folder": str(folders["control"]),
            "polling_interval": 0.05,
        },
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not all_queues_taken(app):
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve's workers did not take every queue:\n{log_path.read_text()[-4000:]}")
        yield SimpleNamespace(app=app, url=f"http://{bind}")
    finally:
        server.send_signal(signal.SIGTERM)  # serve stops its web server and workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def test_door_matches_have_a_worker_process_of_their_own(served):
    inspect = served.app.control.inspect(timeout=2)
    queues = {name: sorted(queue["name"] for queue in consumed) for name, consumed in inspect.active_queues().items()}
    stats = inspect.stats()

    assert sorted(queues.values()) == sorted(sorted(role.queues) for role in workers.ROLES)
    match_worker = next(name for name, consumed in queues.items() if consumed == list(workers.MATCH.queues))
    other_worker = next(name for name in queues if name != match_worker)
    assert stats[match_worker]["pid"] != stats[other_worker]["pid"]
    # One process, one copy of the match indexes, several doors at once.
    assert "thread" in stats[match_worker]["pool"]["implementation"]


def test_links_point_where_the_server_listens(served):
    """Nothing names SITE_URL: a receipt served by `serve --bind` links to that address, not to port 8000."""
    shopper = UserFactory()
    consent = face_consent(shopper)
    request = urllib.request.Request(
        f"{served.url}/api/v1/consents/{consent.public_id}/receipt",
        headers={"Authorization": f"Bearer {api_token_create(user=shopper).key}", "Accept": "application/json"},
    )
    deadline = time.monotonic() + START_TIMEOUT
    while True:  # the workers may be ready before the web server is
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                receipt = json.loads(response.read())
            break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, "the web server did not start"
            time.sleep(0.5)
    links = [value for value in json.dumps(receipt).split('"') if value.startswith("http")]
    assert links and all(link.startswith(f"{served.url}/") for link in links), links
