"""A large footprint: the export's time and memory, the timeline's first page, and deleting it all.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/EMPTY_DB .venv/bin/python bench/footprint.py \
        [--sizes 100000 1000000]

For each size, one shopper with that many store events (ten per visit: shelf dwells, a purchase with two
lines, an exit; each visit recognised by face), written in bulk (a benchmark shortcut, not how devices
report). Prints, beside the goals of Part 9: the export's time and its peak memory growth (the process's
resident memory, sampled every 10 ms while the zip is made and thrown away), the timeline's first page
over the API (p50 of 50), and the time to delete the whole footprint. Goals: export memory growth under
50 MB at every size; first page under 50 ms at 1,000,000; deleting 100,000 events under 5 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from common import live_store_with_door, setup_django, workdir

EVENTS_PER_VISIT = 10
BATCH = 20_000


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakMemory:
    """The highest resident memory while the block runs, over what it was when it began."""

    def __enter__(self):
        self.start = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def populate(events: int):
    """A shopper with `events` store events over events/10 visits at one store, in bulk."""
    from consent.services import consent_give
    from portal.models import User
    from stores.models import MatchEvent, PurchaseItem, StoreEvent, Visit

    stamp = f"{events}-{time.time_ns()}"
    operator, issued, version = live_store_with_door(name=f"Bench Mart {stamp}", slug=f"bench-{stamp}")
    store, device = issued.device.store, issued.device
    shopper = User.objects.create_user(
        f"shopper-{stamp}@bench.example",
        "x" * 12,
        display_name="Bench",
        date_of_birth=datetime(1980, 1, 1).date(),
        email_verified_at=datetime.now(UTC),
    )
    consent = consent_give(
        shopper=shopper, operator=operator, purpose="face_entry", notice_version=version, channel="app"
    )
    start = datetime(2025, 1, 1, tzinfo=UTC)
    visits_total = events // EVENTS_PER_VISIT
    for first in range(0, visits_total, BATCH // EVENTS_PER_VISIT):
        count = min(BATCH // EVENTS_PER_VISIT, visits_total - first)
        visits = Visit.objects.bulk_create(
            Visit(
                shopper=shopper,
                store=store,
                device=device,
                method="face",
                entered_at=start + timedelta(minutes=first + n),
            )
            for n in range(count)
        )
        MatchEvent.objects.bulk_create(
            MatchEvent(
                visit=visit,
                shopper=shopper,
                device=device,
                store=store,
                distance=0.3,
                mode="1:N",
                consent=consent,
                notice_version=version,
                occurred_at=visit.entered_at,
            )
            for visit in visits
        )
        made = StoreEvent.objects.bulk_create(
            StoreEvent(
                visit=visit,
                shopper=shopper,
                store=store,
                device=device,
                event_id=f"{visit.pk}-{n}",
                kind="purchase" if n == 8 else "exit" if n == 9 else "shelf_dwell",
                occurred_at=visit.entered_at + timedelta(seconds=n + 1),
                shelf=f"A{n}" if n < 8 else "",
                dwell_seconds=30 + n if n < 8 else None,
                total=Decimal("7.50") if n == 8 else None,
                currency="CNY" if n == 8 else "",
            )
            for visit in visits
            for n in range(EVENTS_PER_VISIT)
        )
        PurchaseItem.objects.bulk_create(
            PurchaseItem(event=event, sku=sku, name=name, quantity=quantity, unit_price=Decimal(price))
            for event in made
            if event.kind == "purchase"
            for sku, name, quantity, price in (("tea", "Green tea", 2, "3.00"), ("bun", "Red bean bun", 1, "1.50"))
        )
    return shopper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    if not os.environ.get("BENCH_DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set BENCH_DATABASE_URL to an empty PostgreSQL database (the goals are PostgreSQL's).")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")
    os.environ.update(ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="false")  # the API called in-process
    env = setup_django(workdir())
    os.environ["CACHE_REDIS_URL"] = env.get("CACHE_REDIS_URL", os.environ["REDIS_URL"])
    from django.db import connection
    from rest_framework.test import APIClient

    from portal.export import export_stream
    from stores.footprint.services import footprint_delete
    from stores.models import StoreEvent

    rows = []
    for size in args.sizes:
        started = time.perf_counter()
        shopper = populate(size)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        written = time.perf_counter() - started

        client = APIClient()
        client.force_authenticate(shopper)
        client.get("/api/v1/me/footprint")  # warm
        pages = []
        for _ in range(50):
            began = time.perf_counter()
            answer = client.get("/api/v1/me/footprint")
            pages.append(time.perf_counter() - began)
            assert answer.status_code == 200 and len(answer.json()["results"]) == 20

        with PeakMemory() as memory:
            began = time.perf_counter()
            size_bytes = sum(len(chunk) for chunk in export_stream(shopper))
            exported = time.perf_counter() - began

        events = StoreEvent.objects.filter(shopper=shopper).count()
        began = time.perf_counter()
        receipt = footprint_delete(shopper=shopper, channel="app", everything=True)
        deleted = time.perf_counter() - began
        assert receipt.counts["store_events"] == events == size
        rows.append(
            (size, written, exported, size_bytes, memory.growth_mb, float(np.percentile(pages, 50)) * 1000, deleted)
        )

    print(f"Footprint of one shopper on PostgreSQL ({EVENTS_PER_VISIT} events a visit)")
    print(
        f"{'events':>10} {'written s':>9} {'export s':>8} {'zip MB':>7} {'export mem MB':>13} "
        f"{'page p50 ms':>11} {'delete s':>8}"
    )
    for size, written, exported, size_bytes, growth, page, deleted in rows:
        print(
            f"{size:>10,} {written:>9.0f} {exported:>8.1f} {size_bytes / 2**20:>7.1f} {growth:>13.1f} "
            f"{page:>11.1f} {deleted:>8.1f}"
        )
    print(
        "goals: export memory growth < 50 MB at every size; first page < 50 ms at 1,000,000; "
        "deleting 100,000 events < 5 s"
    )


if __name__ == "__main__":
    main()
