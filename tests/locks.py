"""Row locks seen from two transactions at once (PostgreSQL): one holds, the other gives up instead of queuing."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection, connections, transaction


@contextlib.contextmanager
def held_in_another_transaction(take: Callable[[], Any]) -> Iterator[None]:
    """Run `take` in a transaction of another thread and keep that transaction open, with whatever it
    locked, for the duration of the block."""
    locked, release, failures = threading.Event(), threading.Event(), []

    def hold() -> None:
        try:
            with transaction.atomic():
                take()
                locked.set()
                release.wait(10)
        except Exception as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10), failures
        yield
    finally:
        release.set()
        holder.join(10)
    assert failures == []


def waited_out(change: Callable[[], Any]) -> Any:
    """Run `change` in a transaction that raises DatabaseError, instead of queuing, when another
    transaction holds a lock it needs for more than 300 ms."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '300ms'")
        return change()
