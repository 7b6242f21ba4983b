"""The shared cache: what a door's replay check and a login counter cost, and what Django's own
DatabaseCache gets wrong under concurrency (docs/decisions/0010-shared-cache.md).

    .venv/bin/python bench/shared_cache.py [--count 2000]

Runs on a throwaway SQLite file (the embedded default), or on BENCH_DATABASE_URL's PostgreSQL
(which needs REDIS_URL too); with REDIS_URL, Redis is measured beside it. Prints the median and
99th percentile of `add` of a fresh key (one nonce) and `incr`, then, with 6 threads each on its
own connection: increments lost out of 600, and rounds out of 50 where more than one `add` of an
expired key won.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid

from common import setup_django, workdir


def timed(action, count: int) -> tuple[float, float]:
    """Median and 99th percentile, in microseconds."""
    times = []
    for number in range(count):
        started = time.perf_counter()
        action(number)
        times.append((time.perf_counter() - started) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


def at_once(threads: int, action) -> list:
    from django.db import connections

    barrier = threading.Barrier(threads)
    results: list = [None] * threads

    def run(number: int) -> None:
        barrier.wait()
        try:
            results[number] = action()
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def lost_increments(make_cache, threads: int = 6, each: int = 100) -> int:
    make_cache().set("bench-counter", 0, timeout=600)

    def increment() -> None:
        cache = make_cache()
        for _ in range(each):
            cache.incr("bench-counter")

    at_once(threads, increment)
    return threads * each - make_cache().get("bench-counter")


def double_adds(make_cache, threads: int = 6, rounds: int = 50) -> int:
    doubled = 0
    for number in range(rounds):
        key = f"bench-expired-{number}"
        make_cache().set(key, 0, timeout=-10)
        winners = at_once(threads, lambda key=key: make_cache().add(key, 1, timeout=600))
        doubled += sum(winners) > 1
    return doubled


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    count = parser.parse_args().count
    redis_url = os.environ.get("REDIS_URL", "")
    setup_django(workdir())
    from django.core.cache.backends.db import DatabaseCache
    from django.core.cache.backends.redis import RedisCache
    from django.db import connection

    from core.cache import SharedDatabaseCache

    backends = {
        f"SharedDatabaseCache ({connection.vendor})": lambda: SharedDatabaseCache("core_cacheentry", {}),
        f"Django's DatabaseCache ({connection.vendor})": lambda: DatabaseCache("core_cacheentry", {}),
    }
    if redis_url:
        redis_prefix = f"bench-{uuid.uuid4().hex}"
        backends["RedisCache"] = lambda: RedisCache(redis_url, {"KEY_PREFIX": redis_prefix})
    print(f"{'backend':<36} {'add µs (median / p99)':>22} {'incr µs':>16} {'lost incr':>10} {'double add':>11}")
    for name, make_cache in backends.items():
        cache = make_cache()
        prefix = uuid.uuid4().hex
        add = timed(lambda number, cache=cache, prefix=prefix: cache.add(f"nonce:{prefix}:{number}", 1, 600), count)
        cache.set("bench-incr", 0, timeout=600)
        incr = timed(lambda number, cache=cache: cache.incr("bench-incr"), count)
        lost = lost_increments(make_cache)
        doubled = double_adds(make_cache)
        print(
            f"{name:<36} {add[0]:>10.0f} / {add[1]:<9.0f} {incr[0]:>6.0f} / {incr[1]:<7.0f}"
            f" {lost:>6} /600 {doubled:>6} /50"
        )


if __name__ == "__main__":
    main()
