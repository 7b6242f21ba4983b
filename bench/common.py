"""Shared set-up for the benchmarks: a throwaway database, keys and a real worker process."""

from __future__ import annotations

import csv
import functools
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT.parent / "shared" / "faces"
sys.path.insert(0, str(ROOT))


def kit_rows(*, single_faces_only: bool = True, min_face_px: int = 80) -> list[dict[str, str]]:
    if not (FACES / "LABELS.csv").exists():
        sys.exit(f"The benchmarks need the face kit at {FACES}.")
    rows = list(csv.DictReader((FACES / "LABELS.csv").open()))
    if single_faces_only:
        rows = [row for row in rows if row["faces_found"] == "1" and int(row["largest_face_px"]) >= min_face_px]
    return rows


def setup_django(workdir: Path) -> dict[str, str]:
    """Point Django at a fresh SQLite file in `workdir` (or the given PostgreSQL), migrate, return the env."""
    from biometrics.protection import generate_key

    env = {
        "VAR_DIR": str(workdir),
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"),
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "TEMPLATE_KEYS": f"bench:{generate_key()}",
        "DEBUG": "false",
        "LOG_LEVEL": "ERROR",
    }
    if os.environ.get("REDIS_URL"):
        env["CELERY_BROKER_URL"] = env["CELERY_RESULT_BACKEND"] = os.environ["REDIS_URL"]
    else:
        env["CELERY_BROKER_URL"] = "filesystem://"
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def start_worker(env: dict[str, str], role, *, concurrency: int | None = None, log: Path) -> subprocess.Popen:
    """One worker process of `role` (portal/workers.py), started the way the server starts it."""
    from portal import workers
    from portal.celery import app

    app.control.purge()
    command = workers.worker_command(
        role, concurrency=concurrency, hostname=f"bench{os.getpid()}@%h", loglevel="WARNING", quiet=True
    )
    with open(log, "wb") as out:
        worker = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"The worker did not start:\n{log.read_text()[-3000:]}")
    return worker


def stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def web_server(env: dict[str, str], folder: Path, **settings: str) -> tuple[subprocess.Popen, str]:
    """One web process as the server runs it, on a free port, with `settings` beside `env`; its base URL once
    it answers. Its output goes to server.log in `folder`."""
    from portal.workers import web_command

    port = free_port()
    server_env = {**os.environ, **env, "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false", **settings}
    with open(folder / "server.log", "wb") as log:
        server = subprocess.Popen(
            [*web_command(bind=f"127.0.0.1:{port}", threads=4), "--log-level", "warning"],
            cwd=ROOT,
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except Exception:
            time.sleep(0.2)
    return server, base


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="faceconsent-bench-"))


def live_store_with_door(*, name: str = "Bench Mart", slug: str = "bench-mart", store_name: str = "Central"):
    """An operator with a live store, its entrance device and a published face_entry notice, through the
    services; returns (operator, issued device, notice version)."""
    from core.audit import Actor
    from stores.services import device_register, operator_create, store_confirm_signage, store_create, store_go_live

    system = Actor.system()
    operator = operator_create(
        actor=system,
        name=name,
        slug=slug,
        contact_email="p@bench.example",
        privacy_officer_name="P",
        privacy_officer_email="p@bench.example",
    )
    store = store_create(actor=system, operator=operator, name=store_name, slug="central")
    store_confirm_signage(actor=system, store=store, confirmed_by="bench")
    store_go_live(actor=system, store=store)
    issued = device_register(actor=system, store=store, name="Door", kind="entrance", location="entrance")
    version = notice_publish(operator)
    return operator, issued, version


def notice_publish(operator, purpose: str = "face_entry", data_categories: tuple[str, ...] = ("face",)):
    """A published notice of `operator` for `purpose`, through the services; its version."""
    from consent.services import notice_version_create_draft, notice_version_publish
    from core.audit import Actor

    texts = {
        f"{field}_{lang}": "x"
        for field in ("title", "purpose", "method", "retention", "rights")
        for lang in ("en", "zh_hans")
    }
    version = notice_version_create_draft(
        actor=Actor.system(),
        operator=operator,
        purpose=purpose,
        contact="x",
        retention_days=365,
        data_categories=list(data_categories),
        **texts,
    )
    notice_version_publish(actor=Actor.system(), version=version)
    version.refresh_from_db()
    return version


def bulk_gallery(operator, version, size: int, *, seed: int = 7, prefix: str = "g", encodings=None) -> dict:
    """`size` consenting shoppers of `operator`, written in bulk (a benchmark shortcut, not how accounts are made):
    each holds the templates `encodings` gives for it (a list of arrays of encodings, one entry per shopper), or one
    random encoding. Returns shopper id -> encodings, as a match worker holds them."""
    from datetime import timedelta

    import numpy as np
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from biometrics.keys import key_ring
    from biometrics.models import FaceTemplate
    from consent.models import Consent

    users, now = get_user_model(), timezone.now()
    people = users.objects.bulk_create(  # with their ids: PostgreSQL and SQLite 3.35+ return them
        [
            users(email=f"{prefix}.{n}@bench.example", display_name="G", password="!", email_verified_at=now)
            for n in range(size)
        ],
        batch_size=5000,
    )
    Consent.objects.bulk_create(
        [
            Consent(
                shopper=user,
                operator=operator,
                purpose="face_entry",
                notice_version=version,
                channel="app",
                given_at=now,
                expires_at=now + timedelta(days=365),
            )
            for user in people
        ],
        batch_size=5000,
    )
    if encodings is None:
        encodings = np.random.default_rng(seed).normal(0, 0.05, (size, 1, 128))
    ring, templates, gallery = key_ring(), [], {}
    for user, held in zip(people, encodings, strict=True):
        gallery[user.pk] = np.asarray(held, dtype=np.float64)
        for encoding in gallery[user.pk]:
            sealed = ring.seal(encoding, owner=str(user.public_id))
            templates.append(
                FaceTemplate(shopper=user, key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext)
            )
    FaceTemplate.objects.bulk_create(templates, batch_size=5000)
    return gallery


@functools.cache
def kit_encoding(photo: str):
    """The enrollment encoding of one photo of the kit, computed once however many shoppers enroll from it."""
    from biometrics import engine

    return engine.analyse_for_enrollment((FACES / photo).read_bytes()).encoding


def enrolled_face(operator, version, *photos: str, email: str = "face@bench.example"):
    """One real person, consenting through the services and enrolled from `photos` of the kit (obama_1 if none)."""
    from datetime import date

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from biometrics.keys import key_ring
    from biometrics.models import FaceTemplate
    from consent.services import consent_give

    face = get_user_model().objects.create_user(
        email,
        "x" * 12,
        display_name="Face",
        date_of_birth=date(1980, 1, 1),
        email_verified_at=timezone.now(),
    )
    consent_give(shopper=face, operator=operator, purpose="face_entry", notice_version=version, channel="app")
    for photo in photos or ("obama/obama_1.jpg",):
        sealed = key_ring().seal(kit_encoding(photo), owner=str(face.public_id))
        FaceTemplate.objects.create(
            shopper=face, key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext
        )
    return face
