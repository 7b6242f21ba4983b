"""Threads in each match worker process that take door probes straight from their Redis list.

A thread pops a probe only when it is free, so with several match worker processes the next probe
goes to whichever has a free thread, and none waits behind a busy one. A probe the door no longer
waits for is dropped unanswered; its photos were withdrawn by the door or expire by themselves.
Imported in match workers only: it brings the face engine and the index (docs/decisions/0026).
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections, connections
from redis.exceptions import RedisError

from stores.door.matching import INDEXES, probe_serve
from stores.door.probes import probe_answer_send, probe_expired, probe_next, shards_ready_say

logger = logging.getLogger(__name__)

# How long a free thread blocks on the list before it looks whether it should stop.
WAIT_SECONDS = 1


def probe_take_and_answer(*, timeout: float = WAIT_SECONDS) -> bool:
    """Serve the oldest waiting probe, if one comes within `timeout` seconds; False when none came."""
    if not INDEXES.built:
        INDEXES.refresh_unless_kept()  # the keeper thread builds them at start; here if it has not yet
    _say_ready()
    message = probe_next(shards=INDEXES.shards, timeout=timeout)
    if message is None:
        return False
    if probe_expired(message):
        return True
    del message["expires_at"]
    answer = probe_serve(**message)
    probe_answer_send(answer, probe_id=message["probe_id"])
    return True


_said_at = 0.0


def _say_ready() -> None:
    """At most once a second: this worker's shards have a thread taking probes, from built indexes. A door
    whose shard nobody has said so of for READY_SECONDS answers 503 at once (decision 0041)."""
    global _said_at
    now = time.monotonic()
    if INDEXES.built and now - _said_at >= 1.0:
        _said_at = now
        shards_ready_say(INDEXES.shards)


class ProbeConsumers:
    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def start(self, count: int) -> None:
        """Start `count` threads (those already running count towards it)."""
        with self._lock:
            self._stop.clear()
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            for number in range(len(self._threads), count):
                thread = threading.Thread(target=self._consume, name=f"door-probes-{number}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        """Take no more probes; each thread finishes the probe in hand."""
        self._stop.set()
        with self._lock:
            for thread in self._threads:
                thread.join(timeout=WAIT_SECONDS + 10)
            self._threads = []

    @property
    def running(self) -> int:
        return sum(thread.is_alive() for thread in self._threads)

    def _consume(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                probe_take_and_answer()
                failures = 0
            except RedisError:  # Redis is away: the doors answer 503 meanwhile; take probes again once it is back
                if not failures:
                    logger.exception("Taking door probes failed; retrying with back-off")
                failures += 1
                self._stop.wait(min(5.0, 0.1 * 2**failures))
            except Exception:  # a message this worker cannot read: its door times out, the next probe is served
                logger.exception("A door probe could not be served")
            finally:
                close_old_connections()  # as around each task: drop broken or too old database connections
        connections.close_all()


CONSUMERS = ProbeConsumers()
