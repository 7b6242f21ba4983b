"""A web process never loads the face engine: dlib, face_recognition, OpenCV and faiss are the workers'.

Each check runs in a fresh interpreter, as a web server starts: Django set up, every module a web
process may import imported, requests answered through the test client (an enrollment started and
a door probe sent, to a broker without a worker), then `sys.modules` read. The companion check
imports the worker modules, so the first one cannot pass by looking for the wrong names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from biometrics.protection import generate_key
from tests.biometrics.photos import astronaut_jpeg
from tests.factories import OperatorFactory, StoreFactory, UserFactory, face_consent
from tests.worker import _database_url

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ["dlib", "face_recognition", "cv2"]
INDEX = ["faiss"]
# Only the enroll and match workers import these; everything else in the apps is the web's too.
WORKER_MODULES = [
    "biometrics.engine",
    "biometrics.engine_config",
    "biometrics.processing",
    "biometrics.match_index",
    "biometrics.identification",
    "biometrics.synthetic_faces",
    "stores.door.matching",
    "stores.door.consumers",
]
APPS = ["portal", "consent", "stores", "biometrics", "core"]

WEB_PROCESS = """
import importlib, json, sys
from pathlib import Path

import django

django.setup()

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import get_resolver
from django_otp.plugins.otp_totp.models import TOTPDevice

shopper_email, photo_path, worker_modules = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))

from portal.wsgi import application  # noqa: E402,F401  what gunicorn loads

# Every module of the apps but the workers' own (a new module is covered without being named here).
imported = []
for app in sys.argv[4].split(","):
    for path in sorted(Path(app).rglob("*.py")):
        if {"migrations", "management"} & set(path.parts):
            continue
        name = ".".join(path.with_suffix("").parts).removesuffix(".__init__")
        if name not in worker_modules:
            importlib.import_module(name)
            imported.append(name)


def views(resolver):
    for pattern in resolver.url_patterns:
        yield from views(pattern) if hasattr(pattern, "url_patterns") else [pattern.callback]


routes = len(list(views(get_resolver())))
client = Client()
answers = {
    "healthz": client.get("/healthz").status_code,
    "home": client.get("/").status_code,
    "operators": client.get("/api/v1/operators").status_code,
    "operator notices": client.get("/api/v1/operators/fresh-mart/notices").status_code,
    "schema": client.get("/api/schema/").status_code,
}
client.force_login(get_user_model().objects.get(email=shopper_email))
photo = Path(photo_path).read_bytes()
answers["face page"] = client.get("/face/").status_code
answers["consents page"] = client.get("/consents/").status_code
answers["simulator"] = client.get("/simulator/").status_code
staff = Client()
staff_user = get_user_model().objects.get(email=sys.argv[6])
staff.force_login(staff_user)
session = staff.session  # past the second factor, as django_otp.login leaves it
session["otp_device_id"] = TOTPDevice.objects.create(user=staff_user, name="app", confirmed=True).persistent_id
session.save()
answers["simulator for staff"] = staff.get("/simulator/").status_code
answers["enrollment start"] = client.post(
    "/api/v1/enrollments", {"photos": [SimpleUploadedFile("face.jpg", photo, "image/jpeg")]}
).status_code
answers["face status"] = client.get("/api/v1/face").status_code

# The door's half of a match: the probe sent to the match queue as door_match sends it.
from stores.models import Store  # noqa: E402
from stores.tasks import match_probe_task  # noqa: E402

store = Store.objects.get()
match_probe_task.apply_async(kwargs={"operator_id": store.operator_id, "probe_id": "p1", "encoding": [0.0] * 128})
answers["door probe sent"] = True

print(json.dumps({
    "answers": answers,
    "imported": imported,
    "routes": routes,
    "loaded": sorted(set(sys.argv[5].split(",")) & set(sys.modules)),
}))
"""

WORKER_PROCESS = """
import sys

import django

django.setup()
for name in sys.argv[1].split(","):
    __import__(name)
print(",".join(sorted(set(sys.argv[2].split(",")) & set(sys.modules))))
"""


@pytest.fixture
def process_env(transactional_db, tmp_path, settings):
    """What a web process of this deployment is started with, on the test database; tasks go to an
    in-memory broker that no worker reads."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": _database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "true",  # pages from the static sources, without a collectstatic run first
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "ENTRANCE_SIMULATOR": "true",
        "VAR_DIR": str(tmp_path / "var"),
        "TEMPLATE_KEYS": f"web:{generate_key()}",
        "CELERY_BROKER_URL": "memory://",
        "CELERY_RESULT_BACKEND": "",
    }


def run(script: str, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_web_process_never_loads_the_face_engine_or_the_match_index(process_env, shopper, tmp_path):
    operator = OperatorFactory(slug="fresh-mart")
    face_consent(shopper, operator)
    StoreFactory(operator=operator)
    photo = tmp_path / "face.jpg"
    photo.write_bytes(astronaut_jpeg())

    report = json.loads(
        run(
            WEB_PROCESS,
            shopper.email,
            str(photo),
            ",".join(WORKER_MODULES),
            ",".join(APPS),
            ",".join(ENGINE + INDEX + WORKER_MODULES),
            UserFactory(is_staff=True).email,
            env=process_env,
        )
    )

    assert report["answers"] == {
        "healthz": 503,  # no worker reads this broker
        "home": 200,
        "operators": 200,
        "operator notices": 200,
        "schema": 200,
        "face page": 200,
        "consents page": 200,
        "simulator": 403,  # for staff only
        "simulator for staff": 200,
        "enrollment start": 202,
        "face status": 200,
        "door probe sent": True,
    }
    for module in ["portal.urls", "portal.wsgi", "biometrics.services", "biometrics.tasks", "stores.services"]:
        assert module in report["imported"]
    assert report["routes"] > 40
    assert report["loaded"] == []


def test_the_enroll_and_match_workers_do_load_them(process_env):
    loaded = run(
        WORKER_PROCESS, "biometrics.processing,stores.door.consumers", ",".join(ENGINE + INDEX), env=process_env
    )
    assert loaded.split(",") == sorted(ENGINE + INDEX)
