"""Enrollment throughput: photos per second through the real enrollment task on a real worker,
next to plain face_recognition on the same photos in one process.

    .venv/bin/python bench/enroll.py [--rounds N]

Uses a throwaway SQLite database (or BENCH_DATABASE_URL's PostgreSQL, which needs REDIS_URL) and
Redis when REDIS_URL is set, else the file broker. The worker runs with one process, like the plain baseline.
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import FACES, kit_rows, setup_django, start_worker, stop, workdir

from portal.workers import BACKGROUND


def plain_face_recognition(photos: list[bytes]) -> float:
    """face_recognition as its README shows it: load the image, face_encodings (detects, then encodes)."""
    import io

    import face_recognition

    started = time.perf_counter()
    for data in photos:
        image = face_recognition.load_image_file(io.BytesIO(data))
        assert len(face_recognition.face_encodings(image)) == 1
    return time.perf_counter() - started


def enrollment_path(photos: list[bytes], shoppers: list) -> tuple[float, list[float]]:
    """Queue one enrollment per photo (the real service and task), wait until the worker finished all."""
    from biometrics.models import Enrollment
    from biometrics.services import enrollment_start

    started = time.perf_counter()
    ids = [
        enrollment_start(shopper=shopper, photos=[data], channel="app").pk
        for shopper, data in zip(shoppers, photos, strict=True)
    ]
    while Enrollment.objects.filter(pk__in=ids, finished_at__isnull=True).exists():
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    done = Enrollment.objects.filter(pk__in=ids)
    assert all(enrollment.status == "done" for enrollment in done), [e.status for e in done]
    per_photo = [(e.finished_at - e.started_at).total_seconds() for e in done]
    return elapsed, per_photo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    folder = workdir()
    env = setup_django(folder)
    from datetime import date

    from consent.services import consent_give, notice_version_create_draft, notice_version_publish
    from core.audit import Actor
    from portal.models import User
    from stores.models import Operator

    rows = kit_rows()
    photos = [(FACES / row["path"]).read_bytes() for row in rows]
    operator = Operator.objects.create(
        name="Bench",
        slug="bench",
        contact_email="b@example.com",
        privacy_officer_name="B",
        privacy_officer_email="b@example.com",
    )
    texts = {
        f"{field}_{lang}": "x"
        for field in ("title", "purpose", "method", "retention", "rights")
        for lang in ("en", "zh_hans")
    }
    version = notice_version_create_draft(
        actor=Actor.system(),
        operator=operator,
        purpose="face_entry",
        contact="x",
        retention_days=1,
        data_categories=["face"],
        **texts,
    )
    notice_version_publish(actor=Actor.system(), version=version)
    version.refresh_from_db()

    def shoppers(round_number: int) -> list:
        made = []
        for index in range(len(photos)):
            user = User.objects.create_user(
                f"r{round_number}s{index}@bench.example",
                "x" * 12,
                display_name="B",
                date_of_birth=date(1990, 1, 1),
                email_verified_at="2026-01-01T00:00Z",
            )
            consent_give(shopper=user, operator=operator, purpose="face_entry", notice_version=version, channel="app")
            made.append(user)
        return made

    worker = start_worker(env, BACKGROUND, concurrency=1, log=folder / "worker.log")
    try:
        enrollment_path(photos[:2], shoppers(0)[:2])  # warm the worker (models loaded)
        plain_face_recognition(photos[:2])
        plain, ours, per_photo = [], [], []
        for round_number in range(1, args.rounds + 1):
            plain.append(plain_face_recognition(photos))
            elapsed, times = enrollment_path(photos, shoppers(round_number))
            ours.append(elapsed)
            per_photo.extend(times)
    finally:
        stop(worker)

    count = len(photos)
    plain_rate = count / statistics.median(plain)
    our_rate = count / statistics.median(ours)
    broker = env["CELERY_BROKER_URL"].split("://")[0]
    print(f"Enrollment throughput on {count} photos of {FACES} (median of {args.rounds} rounds)")
    print(f"{'path':58s} {'photos/s':>9s} {'s/photo':>8s}")
    print(f"{'plain face_recognition, one process':58s} {plain_rate:9.2f} {1 / plain_rate:8.3f}")
    print(f"{'enrollment task on a real worker (' + broker + ', 1 process)':58s} {our_rate:9.2f} {1 / our_rate:8.3f}")
    print(f"ratio enrollment / plain: {our_rate / plain_rate:.2f}  (goal: at least 0.90)")
    print(f"worker time per photo (started to finished): median {statistics.median(per_photo) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
