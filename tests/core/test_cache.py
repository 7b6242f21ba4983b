"""The database cache every process shares without Redis: one winner per key, no lost count, no live entry evicted.

It runs on the suite's database: SQLite in the embedded default, PostgreSQL in CI.
"""

import threading

import pytest
from django.db import connections

from core.cache import SharedDatabaseCache
from core.models import CacheEntry

TABLE = "core_cacheentry"


def shared_cache(**options) -> SharedDatabaseCache:
    return SharedDatabaseCache(TABLE, {"OPTIONS": options})


def at_once(count: int, action) -> list:
    """Run `action()` on `count` threads, each with its own database connection, released together."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            barrier.wait()
            results[number] = action()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


@pytest.mark.django_db
class TestValues:
    def test_set_get_and_delete(self):
        cache = shared_cache()
        cache.set("profile", {"name": "Wu", "visits": [1, 2]}, timeout=60)
        assert cache.get("profile") == {"name": "Wu", "visits": [1, 2]}
        cache.set("profile", "replaced", timeout=60)
        assert cache.get("profile") == "replaced"
        cache.delete("profile")
        assert cache.get("profile") is None

    def test_add_keeps_a_live_value_and_replaces_an_expired_one(self):
        cache = shared_cache()
        assert cache.add("nonce", 1, timeout=60) is True
        assert cache.add("nonce", 2, timeout=60) is False
        assert cache.get("nonce") == 1
        cache.set("old-nonce", 1, timeout=-10)  # expired ten seconds ago
        assert cache.add("old-nonce", 2, timeout=60) is True
        assert cache.get("old-nonce") == 2

    def test_without_a_timeout_a_value_never_expires(self):
        cache = shared_cache()
        cache.set("forever", 1, timeout=None)
        assert cache.get("forever") == 1
        assert cache.add("forever", 2, timeout=None) is False

    def test_incr_and_decr(self):
        cache = shared_cache()
        cache.set("failures", 1, timeout=60)
        assert cache.incr("failures") == 2
        assert cache.incr("failures", 3) == 5
        assert cache.decr("failures") == 4
        assert cache.get("failures") == 4

    def test_incr_of_a_missing_or_expired_key_is_refused(self):
        cache = shared_cache()
        with pytest.raises(ValueError, match="not found"):
            cache.incr("missing")
        cache.set("expired", 1, timeout=-10)
        with pytest.raises(ValueError, match="not found"):
            cache.incr("expired")

    def test_a_full_table_evicts_no_live_entry(self):
        """Django's DatabaseCache deletes a third of its entries past MAX_ENTRIES: live nonces too."""
        cache = shared_cache(MAX_ENTRIES=10)
        for number in range(30):
            assert cache.add(f"nonce-{number}", 1, timeout=60)
        cache.touch("nonce-0", timeout=120)  # the one write that still counts the table
        assert all(cache.get(f"nonce-{number}") == 1 for number in range(30))
        assert all(cache.add(f"nonce-{number}", 1, timeout=60) is False for number in range(30))

    def test_expired_rows_are_deleted_as_it_writes(self):
        cache = shared_cache(PURGE_INTERVAL=0)
        for number in range(5):
            cache.set(f"old-{number}", 1, timeout=-10)
        cache.set("live", 1, timeout=60)
        assert list(CacheEntry.objects.values_list("cache_key", flat=True)) == [cache.make_key("live")]

    def test_expired_rows_are_deleted_at_most_once_an_interval(self):
        cache = shared_cache(PURGE_INTERVAL=3600)
        cache.set("first", 1, timeout=60)  # a process's first write purges (a test before may have)
        cache.set("old", 1, timeout=-10)
        cache.set("live", 1, timeout=60)
        assert CacheEntry.objects.count() == 3
        assert cache.purge_expired() == 1
        assert CacheEntry.objects.count() == 2


@pytest.mark.django_db(transaction=True)
class TestConcurrency:
    """Each thread has its own database connection, as separate processes do."""

    def test_one_add_of_a_new_key_wins(self):
        for round_number in range(10):
            results = at_once(6, lambda key=f"nonce-{round_number}": shared_cache().add(key, 1, timeout=60))
            assert sorted(results) == [False] * 5 + [True]

    def test_one_add_over_an_expired_key_wins(self):
        for round_number in range(10):
            key = f"old-nonce-{round_number}"
            shared_cache().set(key, 0, timeout=-10)
            results = at_once(6, lambda key=key: shared_cache().add(key, 1, timeout=60))
            assert sorted(results) == [False] * 5 + [True]

    def test_no_increment_is_lost(self):
        shared_cache().set("failures", 0, timeout=60)

        def increment_ten_times():
            cache = shared_cache()
            return [cache.incr("failures") for _ in range(10)]

        results = at_once(6, increment_ten_times)
        assert shared_cache().get("failures") == 60
        assert sorted(value for values in results for value in values) == list(range(1, 61))
