"""Real Celery worker processes for the integration tests (their fixtures are made available in conftest).

They run the project's code in their own processes, laid out as everywhere else (portal/workers.py:
door matches in one, the other queues in another), on the broker CI gives (Redis) or, in the
embedded default, on a broker made of files, against the same test database as the tests.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from portal import workers
from portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]
WORKER_START_TIMEOUT = 60
# Fewer than in production: the tests send one thing at a time to a small machine.
CONCURRENCY = {workers.MATCH: 2, workers.BACKGROUND: 1}


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _key_file_spec(path: Path) -> str:
    from biometrics.keys import key_ring

    with override_settings(TEMPLATE_KEYS_FILE=path):
        key_ring()  # creates the file when it is not there yet
    return path.read_text().strip()


def _point_celery_at(*, broker_url: str, result_backend: str, transport_options: dict, eager: bool) -> None:
    """Reconfigure this process's Celery app; drop the connections made for the old broker."""
    celery_app.conf.update(
        broker_url=broker_url,
        result_backend=result_backend,
        broker_transport_options=transport_options,
        task_always_eager=eager,
    )
    celery_app._pool = None
    celery_app._local = threading.local()
    if "amqp" in celery_app.__dict__:
        celery_app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory, template_keys_file):
    workdir = tmp_path_factory.mktemp("worker")
    mail_dir = workdir / "mail"
    mail_dir.mkdir()
    if settings.REDIS_URL:
        broker_url = result_backend = settings.REDIS_URL
        transport_options: dict = {}
    else:
        broker_url = "filesystem://"
        folders = {name: workdir / "celery" / name for name in ("broker", "control", "results")}
        for folder in folders.values():
            folder.mkdir(parents=True)
        result_backend = f"file://{folders['results']}"
        transport_options = {
            "data_folder_in": str(folders["broker"]),
            "data_folder_out": str(folders["broker"]),
            "control_folder": str(folders["control"]),
            "polling_interval": 0.05,
        }
    with django_db_blocker.unblock():
        database_url = _database_url()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "VAR_DIR": str(workdir),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": result_backend,
        "EMAIL_FILE_PATH": str(mail_dir),
        # The same template keys as the tests: the worker seals what the tests open.
        "TEMPLATE_KEYS": settings.TEMPLATE_KEYS or _key_file_spec(template_keys_file),
        # Tests change consents round after round; the worker's indexes follow within 50 ms.
        "MATCH_INDEX_POLL_SECONDS": "0.05",
    }
    log_path = workdir / "worker.log"
    processes = {}
    for role in workers.ROLES:
        with open(log_path, "ab") as log:  # both write to one log: the tests scan it whole
            processes[role.name] = subprocess.Popen(
                workers.worker_command(
                    role, concurrency=CONCURRENCY[role], hostname=f"integration-{role.name}@%h", quiet=True
                ),
                cwd=ROOT,
                # The session's match worker serves shard `a`, where every operator goes while it is the only
                # one; tests/integration/test_match_shards.py starts the workers of its own shards.
                env={**env, "MATCH_SHARDS": "a"} if role is workers.MATCH else env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    previous = {
        "broker_url": celery_app.conf.broker_url,
        "result_backend": celery_app.conf.result_backend,
        "transport_options": celery_app.conf.broker_transport_options,
        "eager": celery_app.conf.task_always_eager,
    }
    _point_celery_at(
        broker_url=broker_url, result_backend=result_backend, transport_options=transport_options, eager=False
    )
    try:
        celery_app.control.purge()  # nothing queued before this run reaches its worker
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while len(celery_app.control.ping(timeout=0.5)) < len(processes):
            if any(process.poll() is not None for process in processes.values()) or time.monotonic() > deadline:
                raise RuntimeError(f"the workers did not start:\n{log_path.read_text()[-4000:]}")
        yield {"processes": processes, "mail_dir": mail_dir, "log": log_path, "env": env, "workdir": workdir}
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        _point_celery_at(
            broker_url=previous["broker_url"],
            result_backend=previous["result_backend"],
            transport_options=previous["transport_options"],
            eager=previous["eager"],
        )


@pytest.fixture
def real_worker(celery_worker_process, transactional_db, settings):
    """A test that uses the worker: its data is committed, so the worker's process can see it."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # The door's production timeout is short; on a loaded two-core CI machine correctness, not
    # latency, is what these tests check (bench/match_http.py measures latency).
    settings.MATCH_TIMEOUT_SECONDS = 15
    return celery_worker_process
