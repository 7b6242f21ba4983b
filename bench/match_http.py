"""The door over HTTP: signed match requests to a real server and match worker, next to the engine alone.

    .venv/bin/python bench/match_http.py [--gallery 100000] [--requests 200] [--doors 4]

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/3): the door's queue, photos and answers go
through it, as in production. The database is a throwaway SQLite file, or the empty PostgreSQL
database named by BENCH_DATABASE_URL (production's kind). Starts gunicorn and a match worker with
a gallery of consenting shoppers (written in bulk: a benchmark shortcut, not how accounts are
made), then prints p50/p95 for (a) photo requests next to the same photo through the engine in
this process, so the difference is the cost of HTTP, signing, queue, index and recording (also
per request: its time minus the engine time its worker reports in Server-Timing, which does not
assume the engine runs as fast in the worker as here), (b) encoding-only requests, and (c) what
one match worker process sustains with `--doors` devices sending photos at once. Goals:
overhead under 15 ms at p50; encoding requests under 25 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from common import (
    FACES,
    bulk_gallery,
    enrolled_face,
    live_store_with_door,
    setup_django,
    start_worker,
    stop,
    web_server,
    workdir,
)

from portal.workers import MATCH

# Threads of the bench's one match worker process.
WORKER_THREADS = 2


def redis_available(url: str) -> bool:
    import redis

    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return False


def populate(gallery: int, probe_photo: bytes):
    """A live store with a device, `gallery` consenting shoppers with one template each, and one real face."""
    operator, issued, version = live_store_with_door(store_name="Bench Central")
    bulk_gallery(operator, version, gallery)
    enrolled_face(operator, version)  # from another photo of the probe's face
    return issued


def gallery_check(slug: str, *, since: float) -> None:
    """What `manage.py gallery_check` does: the match worker checks the gallery and stores the rule."""
    import io

    from django.core.management import call_command

    printed = io.StringIO()
    call_command("gallery_check", slug, timeout=600, stdout=printed)
    lines = printed.getvalue().splitlines()
    print(f"gallery check stored {time.monotonic() - since:.1f} s after the worker started: {lines[0]}; {lines[-2]}")


def timed(call, count: int) -> tuple[list[float], list]:
    seconds, answers = [], []
    for _ in range(count):
        started = time.perf_counter()
        answers.append(call())
        seconds.append(time.perf_counter() - started)
    return seconds, answers


def doors_at_once(new_client, photo: bytes, *, doors: int, each: int) -> tuple[list[float], list, float]:
    """`doors` devices each sending `each` photos back to back, all at once: what one worker sustains."""
    from concurrent.futures import ThreadPoolExecutor

    if doors < 1:
        return [], [], 0.0

    def door() -> tuple[list[float], list]:
        with new_client() as client:
            return timed(lambda: client.match_photo(photo), each)

    started = time.perf_counter()
    with ThreadPoolExecutor(doors) as pool:
        results = list(pool.map(lambda _: door(), range(doors)))
    wall = time.perf_counter() - started
    return [t for seconds, _ in results for t in seconds], [a for _, answers in results for a in answers], wall


def ms(values: list[float], q: int) -> float:
    return float(np.percentile(values, q) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--photo", default="obama/obama_720p.jpg")
    parser.add_argument("--doors", type=int, default=4, help="doors sending photos at once, for throughput")
    args = parser.parse_args()

    redis_url = os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")
    if not redis_available(redis_url):
        sys.exit(f"This benchmark needs Redis at {redis_url} (set REDIS_URL).")
    folder = workdir()
    env = setup_django(folder)
    os.environ["CACHE_REDIS_URL"] = env["CACHE_REDIS_URL"] = redis_url
    photo = (FACES / args.photo).read_bytes()
    started = time.perf_counter()
    issued = populate(args.gallery, photo)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # planner statistics, as autovacuum keeps them on a live database
    print(f"gallery of {args.gallery:,} written in {time.perf_counter() - started:.0f} s")

    # Match workers run a thread pool: one process, one copy of the index, no hop through a pipe.
    started_worker = time.monotonic()
    worker = start_worker(env, MATCH, concurrency=WORKER_THREADS, log=folder / "worker.log")
    server, base = web_server(env, folder, MATCH_TIMEOUT_SECONDS="30")
    try:
        from biometrics import engine
        from stores.client import DeviceClient

        client = DeviceClient(base, issued.device.device_id, issued.secret, timeout=60)
        # A gallery this large answers 1:N only once its gallery check has run (docs/decisions/0025).
        gallery_check("bench-mart", since=started_worker)
        warm = client.match_photo(photo)  # the worker builds its index before the first answer
        assert warm.status == 200 and warm.body["result"] == "match", warm.body
        encoding = engine.probe_encoding(photo).tolist()
        stranger = np.random.default_rng(9).normal(0, 0.05, 128).tolist()

        # Engine and photo requests alternate, so a machine that speeds up or slows down during the
        # run moves both columns alike; the overhead is also shown as the median of paired differences.
        engine_seconds, photo_seconds, photo_answers = [], [], []
        for _ in range(args.requests // 2):  # as many photo requests as encoding ones
            seconds, _ = timed(lambda: engine.probe_encoding(photo), 1)
            engine_seconds += seconds
            seconds, answers = timed(lambda: client.match_photo(photo), 1)
            photo_seconds += seconds
            photo_answers += answers
        encoding_seconds, encoding_answers = timed(lambda: client.match_encoding(encoding), args.requests)
        miss_seconds, miss_answers = timed(lambda: client.match_encoding(stranger), args.requests)
        crowd_seconds, crowd_answers, crowd_wall = doors_at_once(
            lambda: DeviceClient(base, issued.device.device_id, issued.secret, timeout=60),
            photo,
            doors=args.doors,
            each=max(1, args.requests // (2 * max(1, args.doors))),
        )
    finally:
        server.terminate()
        stop(worker)
        server.wait(timeout=20)

    assert all(answer.body["result"] == "match" for answer in photo_answers + encoding_answers + crowd_answers)
    assert all(answer.body["result"] == "no_match" for answer in miss_answers)
    overhead = ms(photo_seconds, 50) - ms(engine_seconds, 50)
    paired = float(np.median(np.subtract(photo_seconds, engine_seconds)) * 1000)
    # The server says (Server-Timing) how long it waited for the worker, of which the engine, and
    # spent recording the visit.
    timings = [answer.server_timing() for answer in photo_answers]
    worker, engine_in_worker, record = (
        float(np.median([timing[part] for timing in timings])) for part in ("worker", "engine", "record")
    )
    # Each photo request's own overhead: its time at the device minus its engine time in the worker.
    own = [seconds * 1000 - timing["engine"] for seconds, timing in zip(photo_seconds, timings, strict=True)]
    print(f"Door over HTTP, gallery {args.gallery + 1:,} consenting shoppers, photo {args.photo}, Redis broker")
    print(f"{'':52s} {'p50 ms':>8s} {'p95 ms':>8s}")
    engine_line = "engine alone, this process (probe_encoding)"
    print(f"{engine_line:52s} {ms(engine_seconds, 50):8.1f} {ms(engine_seconds, 95):8.1f}")
    print(
        f"{'photo: signed HTTP + queue + worker + index + record':52s} {ms(photo_seconds, 50):8.1f} "
        f"{ms(photo_seconds, 95):8.1f}"
    )
    print(f"{'encoding only, match (recorded)':52s} {ms(encoding_seconds, 50):8.1f} {ms(encoding_seconds, 95):8.1f}")
    print(f"{'encoding only, no match (counter only)':52s} {ms(miss_seconds, 50):8.1f} {ms(miss_seconds, 95):8.1f}")
    print(
        f"overhead at p50 (photo request minus engine): {overhead:.1f} ms, median of paired differences "
        f"{paired:.1f} ms (goal < 15 ms); encoding requests p50 {ms(encoding_seconds, 50):.1f} ms (goal < 25 ms)"
    )
    print(
        f"photo requests, medians from Server-Timing: waiting for the worker {worker:.1f} ms, of which the engine "
        f"{engine_in_worker:.1f} ms; confirming and recording the visit {record:.1f} ms"
    )
    print(
        f"overhead of each photo request over its own engine time (HTTP, signing, queue, index and recording): "
        f"p50 {np.percentile(own, 50):.1f} ms, p95 {np.percentile(own, 95):.1f} ms; without the recording "
        f"{np.percentile(own, 50) - record:.1f} ms"
    )
    if crowd_seconds:
        print(
            f"{args.doors} doors sending photos at once to one match worker process ({WORKER_THREADS} threads): p50 "
            f"{ms(crowd_seconds, 50):.0f} ms, p95 {ms(crowd_seconds, 95):.0f} ms, "
            f"{len(crowd_seconds) / crowd_wall:.1f} photos a second"
        )


if __name__ == "__main__":
    main()
