"""The door while shoppers enroll large photos, in the embedded default: before and after.

    .venv/bin/python bench/door_under_enrollment.py [--door-requests 60] [--megapixels 38]

Runs the stack the way `make run` does (no database or broker configured: SQLite and the file
broker under a throwaway var/ folder) in three set-ups, one after the other:

  before      the previous layout, one worker process on every queue (`--concurrency 2`), and the
              engine at full resolution (FACE_WORK_MAX_SIDE above any photo)
  match only  `manage.py serve` (door matches in a worker process of their own), full resolution
  after       `manage.py serve` as it is, photos reduced to FACE_WORK_MAX_SIDE as they are decoded

In each, a device sends signed door photos (720p, one every quarter second) while two shoppers
enroll three PNGs of --megapixels each over HTTP, again as soon as the last one finished. Prints
the door's p50/p95 alone and under enrollment (the door answers 503 after MATCH_TIMEOUT_SECONDS,
3 s), how long each enrollment took, and what one large PNG at the door costs by itself.
Goal: door p95 under 1 s while the enrollments run.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from common import FACES, ROOT, workdir
from PIL import Image

# The command line `manage.py serve` ran for the web server before door matches had a worker process
# of their own; its one worker then took every queue (`previous_worker`).
PREVIOUS_WEB = "-m gunicorn portal.wsgi:application --workers 1 --threads 8 --access-logfile - --graceful-timeout 5"
FULL_RESOLUTION = "1000000"
ENROLLING = {
    "kit": [f"kit_harington/kit_harington_{n}.jpg" for n in (1, 2, 3)],
    "alex": [
        "alex_lacamoire/alex_lacamoire_1.png",
        "alex_lacamoire/alex_lacamoire_2.jpg",
        "alex_lacamoire/alex_lacamoire_3.jpg",
    ],
}
DOOR_PHOTO = "obama/obama_720p.jpg"
DOOR_PAUSE_SECONDS = 0.25


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def large_png(relative: str, megapixels: float) -> bytes:
    """A kit photo enlarged to `megapixels` (each pixel a block of pixels: it stays a few MB, as an
    attacker's would, under the 10 MB upload limit)."""
    image = Image.open(FACES / relative).convert("RGB")
    times = math.sqrt(megapixels * 1e6 / (image.width * image.height))
    enlarged = image.resize((round(image.width * times), round(image.height * times)), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    enlarged.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def setup_embedded(folder) -> dict[str, str]:
    """What `make run` gives `manage.py serve`: nothing but the file broker; the var/ folder is ours."""
    env = {"VAR_DIR": str(folder), "CELERY_BROKER_URL": "filesystem://"}
    for name in ("DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL", "SECRET_KEY", "TEMPLATE_KEYS"):
        os.environ.pop(name, None)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def enrolling_shoppers(issued) -> list[str]:
    """Two shoppers with face_entry consent at the bench's operator; their API tokens."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from consent.models import Consent
    from consent.services import consent_give
    from portal.services import api_token_create

    version = Consent.objects.filter(purpose="face_entry").first().notice_version
    tokens = []
    for name in ENROLLING:
        user = get_user_model().objects.create_user(
            f"{name}@bench.example",
            "x" * 12,
            display_name=name,
            date_of_birth=date(1985, 1, 1),
            email_verified_at=timezone.now(),
        )
        operator = issued.device.store.operator
        consent_give(shopper=user, operator=operator, purpose="face_entry", notice_version=version, channel="app")
        tokens.append(api_token_create(user=user, label="bench").key)
    return tokens


def api(base: str, token: str, method: str, path: str, body: bytes | None = None, content_type: str = "") -> dict:
    request = urllib.request.Request(base + path, data=body, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    for _ in range(5):
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            return json.loads(error.read())
        except OSError:  # a busy server may drop a connection: try again
            time.sleep(1)
    return {}


def multipart(photos: list[bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for index, photo in enumerate(photos, 1):
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{index}.png"\r\n'
            f"Content-Type: image/png\r\n\r\n".encode()
            + photo
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@dataclass
class Enrolling:
    """Shoppers enrolling, again and again, until told to stop; how long each enrollment took."""

    base: str
    photos: dict[str, list[bytes]]
    tokens: list[str]
    stop: threading.Event = field(default_factory=threading.Event)
    seconds: list[float] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for token, photos in zip(self.tokens, self.photos.values(), strict=True):
            thread = threading.Thread(target=self.shopper, args=(token, photos), daemon=True)
            thread.start()
            self.threads.append(thread)

    def shopper(self, token: str, photos: list[bytes]) -> None:
        body, content_type = multipart(photos)
        while not self.stop.is_set():
            started = time.perf_counter()
            answer = api(self.base, token, "POST", "/api/v1/enrollments", body, content_type)
            if "id" not in answer:
                raise RuntimeError(f"enrollment refused at upload: {answer}")
            while True:
                time.sleep(0.2)
                state = api(self.base, token, "GET", f"/api/v1/enrollments/{answer['id']}")
                if state.get("status") not in ("queued", "processing"):
                    break
            self.seconds.append(time.perf_counter() - started)
            self.statuses.append(state.get("status", "?"))

    def finish(self) -> None:
        """Stop starting enrollments and let the running ones end, so the next set-up starts clean."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=300)


@dataclass
class Stack:
    name: str
    processes: list[subprocess.Popen]
    workers: int


def previous_worker():
    """The one worker process of the layout before: every queue, with beat, two processes."""
    from portal import workers

    queues = tuple(queue for role in workers.ROLES for queue in role.queues)
    return workers.WorkerRole(name="all", queues=queues, pool="prefork", concurrency=2)


def start_stack(name: str, env: dict[str, str], port: int, log) -> Stack:
    from portal import workers
    from portal.celery import app

    app.control.purge()
    if name == "before":
        schedule = Path(env["VAR_DIR"]) / "celerybeat-schedule"
        commands = [
            workers.worker_command(previous_worker(), beat_schedule=schedule),
            [sys.executable, *PREVIOUS_WEB.split(), "--bind", f"127.0.0.1:{port}"],
        ]
        processes = [
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) for command in commands
        ]
        stack = Stack(name, processes, workers=1)
    else:
        serve = [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}"]
        processes = [subprocess.Popen(serve, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)]
        stack = Stack(name, processes, workers=2)
    deadline = time.monotonic() + 180
    while len(app.control.ping(timeout=1)) < stack.workers:
        if time.monotonic() > deadline or any(process.poll() is not None for process in processes):
            stop_stack(stack)
            sys.exit(f"The {name} stack did not start; see {log.name}")
    return stack


def stop_stack(stack: Stack) -> None:
    for process in stack.processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in stack.processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class DoorAnswers:
    seconds: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # 0: no answer, or one that was not JSON
    timings: list[dict[str, float]] = field(default_factory=list)  # Server-Timing, by part


def door_requests(client, photo: bytes, count: int, pause: float = DOOR_PAUSE_SECONDS) -> DoorAnswers:
    answers = DoorAnswers()
    for _ in range(count):
        started = time.perf_counter()
        try:
            answer = client.match_photo(photo)
        except (OSError, ValueError):
            client.close()
            answers.statuses.append(0)
        else:
            answers.statuses.append(answer.status)
            answers.timings.append(answer.server_timing())
        answers.seconds.append(time.perf_counter() - started)
        time.sleep(pause)
    return answers


def run(name: str, args, env, issued, tokens, photos, door_photo, big_door_photos, folder) -> dict:
    from stores.client import DeviceClient

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    overrides = {"FACE_WORK_MAX_SIDE": FULL_RESOLUTION} if name in ("before", "match only") else {}
    with open(folder / f"{name.replace(' ', '-')}.log", "wb") as log:
        stack = start_stack(name, {**os.environ, **env, **overrides}, port, log)
        try:
            client = DeviceClient(base, issued.device.device_id, issued.secret, timeout=60)
            for _ in range(60):  # the web server is up and the match worker has built its index
                try:
                    if client.match_photo(door_photo).status == 200:
                        break
                except OSError:
                    pass
                time.sleep(1)
            alone = door_requests(client, door_photo, args.door_requests // 3)
            big = {label: door_requests(client, data, 2, pause=0) for label, data in big_door_photos.items()}
            enrolling = Enrolling(base, photos, tokens)
            enrolling.start()
            time.sleep(2)  # the uploads are in and the worker has started on them
            loaded = door_requests(client, door_photo, args.door_requests)
            enrolling.finish()
        finally:
            stop_stack(stack)
    return {"alone": alone, "loaded": loaded, "big": big, "enrolling": enrolling}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--door-requests", type=int, default=60, help="door photos sent while the shoppers enroll")
    parser.add_argument("--megapixels", type=float, default=38.0)
    parser.add_argument("--only", choices=["before", "match only", "after"], action="append")
    args = parser.parse_args()

    folder = workdir()
    env = setup_embedded(folder)
    from match_http import populate

    door_photo = (FACES / DOOR_PHOTO).read_bytes()
    issued = populate(0, door_photo)
    tokens = enrolling_shoppers(issued)
    photos = {name: [large_png(path, args.megapixels) for path in paths] for name, paths in ENROLLING.items()}
    big_door_photos = {
        "one face": large_png("obama/obama_1.jpg", args.megapixels),
        "two people": large_png("multi/two_people.jpg", args.megapixels),
    }
    sizes = [len(photo) / 1e6 for shopper in photos.values() for photo in shopper]
    print(
        f"Two shoppers each enrolling 3 PNGs of {args.megapixels:.0f} MP ({min(sizes):.1f}-{max(sizes):.1f} MB) "
        f"while a door sends {DOOR_PHOTO} every {DOOR_PAUSE_SECONDS} s; embedded default (SQLite, file broker), "
        f"{os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.1f}"
    )
    results = {}
    for name in args.only or ["before", "match only", "after"]:
        results[name] = run(name, args, env, issued, tokens, photos, door_photo, big_door_photos, folder)
        print(f"  {name}: done (load average {os.getloadavg()[0]:.1f})", flush=True)

    names = list(results)
    print(f"\n{'door, 720p photo':44s}" + "".join(f"{name:>24s}" for name in names))

    def row(label: str, values) -> None:
        print(f"{label:44s}" + "".join(f"{value:>24s}" for value in values))

    def percentiles(values: list[float], scale: float = 1.0) -> str:
        return f"{np.percentile(values, 50) * scale:.0f} / {np.percentile(values, 95) * scale:.0f}" if values else "-"

    for part, label in (("alone", "alone"), ("loaded", "while two shoppers enroll")):
        answers = {n: results[n][part] for n in names}
        row(f"{label}: p50 / p95 ms", [percentiles(answers[n].seconds, 1000) for n in names])
        row(f"{label}: slowest ms", [f"{max(answers[n].seconds) * 1000:.0f}" for n in names])
        row(
            f"{label}: answers other than 200",
            [f"{sum(s != 200 for s in answers[n].statuses)} of {len(answers[n].statuses)}" for n in names],
        )
    for part, label in (
        ("worker", "waiting for the match worker"),
        ("engine", "of which the engine"),
        ("record", "recording the visit"),
    ):
        timings = {n: [t[part] for t in results[n]["loaded"].timings if part in t] for n in names}
        row(f"  {label}, p50 / p95 ms", [percentiles(timings[n]) for n in names])
    enrolling = {n: results[n]["enrolling"] for n in names}
    row(
        "enrollments finished",
        [f"{len(enrolling[n].seconds)} ({', '.join(sorted(set(enrolling[n].statuses)))})" for n in names],
    )
    row("  each, upload to done, median s", [f"{np.median(enrolling[n].seconds):.1f}" for n in names])

    def each(answers: DoorAnswers) -> str:
        pairs = zip(answers.seconds, answers.statuses, strict=True)
        return " / ".join(f"{t * 1000:.0f}{'' if status == 200 else f' ({status})'}" for t, status in pairs)

    for label in big_door_photos:
        row(
            f"a {args.megapixels:.0f} MP PNG at the door ({label}), ms", [each(results[n]["big"][label]) for n in names]
        )
    if "after" in results:
        p95 = np.percentile(results["after"]["loaded"].seconds, 95) * 1000
        print(f"\nGoal: door p95 under 1 s while two shoppers enroll; after: {p95:.0f} ms")


if __name__ == "__main__":
    main()
