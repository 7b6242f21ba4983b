"""Match workers sharded by operator, measured (decision 0041):

    .venv/bin/python bench/scale.py [--operators 300] [--shoppers 3000] [--shards 3] [--requests 200]

Starts a PostgreSQL cluster and a Redis of its own (as bench/faults.py does) and writes `--operators` operators of
`--shoppers` consenting shoppers each, spread over `--shards` shards round robin. Each operator's gallery is a
synthetic population of its own (`biometrics.synthetic_faces`, a third of its shoppers with several templates), and
the first `--doors` operators also have a door and one real face from the kit, a shopper of that operator alone.
Every gallery is checked once as its match workers would (`gallery_check_over`), so 1:N is on where the check
allows it and no worker starts checks of its own while it is measured. Then:

1. memory: the resident size of a match worker once its indexes are built, for one of an empty shard (the engine
   and the process alone), one unsharded worker and one of each shard; the growth beyond the empty one is the
   index. Goal: each shard worker's growth at most 40% of the unsharded one's;
2. the doors, over HTTP to one web process, with one worker per shard: p50 and p95 of encoding and photo probes,
   and routing: every probe answered `match` with its own operator's shopper, whom only that operator's shard
   holds (a probe a worker of another shard took would be answered `not_served`, 503);
3. one shard's only worker killed and restarted while a door of that shard and one of another keep asking: what
   each gets, until the new worker's first match.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from common import (
    FACES,
    ROOT,
    bulk_gallery,
    enrolled_face,
    kit_encoding,
    live_store_with_door,
    notice_publish,
    setup_django,
    web_server,
    workdir,
)
from faults import Door, first_match_after, services_of_its_own, summary

from portal.workers import MATCH, worker_command

PHOTO = "obama/obama_720p.jpg"  # the door's photo; the face was enrolled from obama_1


def populate(operators: int, shoppers: int, shards: int, doors: int) -> dict:
    from biometrics.synthetic_faces import synthetic_gallery
    from consent.services import consent_give
    from core.audit import Actor
    from stores.door.matching import gallery_check_over
    from stores.models import GalleryCheck, Operator
    from stores.shards.services import match_shard_create

    names = [f"s{n + 1}" for n in range(shards)]
    made = [match_shard_create(actor=Actor.system(), name=name) for name in names]
    at_doors, started = [], time.monotonic()
    for number in range(operators):
        operator, issued, version = live_store_with_door(name=f"Op {number}", slug=f"op-{number}")
        # Round robin, so the shards hold equal shares (a new operator goes to the least loaded one anyway).
        Operator.objects.filter(pk=operator.pk).update(match_shard=made[number % shards])
        faces = synthetic_gallery(shoppers, seed=1000 + number)
        gallery = bulk_gallery(
            operator, version, shoppers, prefix=f"o{number}", encodings=list(faces.encodings_by_shopper.values())
        )
        if number < doors:
            face = enrolled_face(operator, version, email=f"face{number}@bench.example")
            # Their visits' dwells and exits are kept, not only counted: the most a visit writes.
            analytics = notice_publish(operator, "store_analytics", ("visits",))
            consent_give(
                shopper=face, operator=operator, purpose="store_analytics", notice_version=analytics, channel="app"
            )
            gallery[face.pk] = np.asarray([kit_encoding("obama/obama_1.jpg")])
            at_doors.append((operator, issued, face, names[number % shards]))
        operator.refresh_from_db()
        gallery_check_over(operator, gallery, trigger=GalleryCheck.Trigger.ON_DEMAND, threads=2)
        if (number + 1) % 25 == 0:
            print(f"  {number + 1} operators written, {time.monotonic() - started:.0f} s", flush=True)
    return {"shards": names, "doors": at_doors}


def start(env: dict, shards: str, log: Path) -> subprocess.Popen:
    """One match worker process of `shards` (empty: every shard), as the server starts it."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            worker_command(MATCH, hostname=f"scale-{shards or 'all'}-{time.time_ns()}@%h", loglevel="INFO", quiet=True),
            cwd=ROOT,
            env={**os.environ, **env, "MATCH_SHARDS": shards},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def built(process: subprocess.Popen, log: Path, timeout: float = 1800) -> tuple[int, int, float]:
    """Wait for the worker's indexes; its log's figures: operators, shoppers, seconds."""
    deadline = time.monotonic() + timeout
    while not (found := re.search(r"Match indexes built: (\d+) operators, (\d+) shoppers, in ([\d.]+)s", _read(log))):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the worker did not build its indexes:\n{_read(log)[-3000:]}")
        time.sleep(0.5)
    time.sleep(3)  # the build's temporaries freed, the probe threads started
    return int(found[1]), int(found[2]), float(found[3])


def _read(log: Path) -> str:
    return log.read_text(errors="replace")


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident size now and at its highest (VmRSS, VmHWM), MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def ms(values: list[float], q: int) -> float:
    return float(np.percentile(values, q) * 1000) if values else float("nan")


def memory(env: dict, folder: Path, shards: list[str], templates: int) -> dict[str, subprocess.Popen]:
    """Part 1; returns the shard workers, left running for the doors."""
    rows, running = {}, {}
    # "a" is the shard the migration made, which holds no operator here: a worker with no gallery.
    for label, served in [("no gallery", "a"), ("unsharded", ""), *[(name, name) for name in shards]]:
        log = folder / f"worker-{label.replace(' ', '-')}.log"
        worker = start(env, served, log)
        operators, shoppers, seconds = built(worker, log)
        rows[label] = (*memory_mb(worker.pid), operators, shoppers, seconds)
        if label in shards:
            running[label] = worker
        else:
            kill(worker)
    base_rss, base_peak = rows["no gallery"][:2]
    unsharded = rows["unsharded"][0] - base_rss
    print("\n1. match worker memory (MB) once its indexes are built; growth: beyond the worker with no gallery")
    print(
        f"{'worker':12s} {'operators':>9s} {'shoppers':>9s} {'build':>7s} {'RSS':>7s} {'growth':>7s} "
        f"{'of unsharded':>12s} {'peak growth':>11s}"
    )
    for label, (rss, peak, operators, shoppers, seconds) in rows.items():
        growth = rss - base_rss
        share = f"{100 * growth / unsharded:11.0f}%" if label != "no gallery" else f"{'':12s}"
        print(
            f"{label:12s} {operators:9d} {shoppers:9,d} {seconds:6.1f}s {rss:7.0f} {growth:7.0f} {share} "
            f"{peak - base_peak:11.0f}"
        )
    worst = max(rows[name][0] - base_rss for name in shards)
    print(
        f"largest shard worker's growth: {100 * worst / unsharded:.0f}% of the unsharded worker's (goal: at most 40%); "
        f"{unsharded * 1024 / rows['unsharded'][3]:.2f} KB per shopper held, {unsharded * 1024 / templates:.2f} KB "
        f"per template"
    )
    return running


def doors(clients: list, photo: bytes, encoding: list[float], requests: int, shards: int) -> None:
    """Part 2."""
    from stores.models import MatchEvent

    timings, outcomes = {"encoding": [], "photo": []}, Counter()
    for number in range(requests):
        client = clients[number % len(clients)][3]
        kind = "photo" if number % 2 else "encoding"
        sent = time.perf_counter()
        answer = client.match_photo(photo) if kind == "photo" else client.match_encoding(encoding)
        timings[kind].append(time.perf_counter() - sent)
        outcomes[answer.body.get("result") or answer.body.get("error", {}).get("code", str(answer.status))] += 1
    faces = {operator.pk: face.pk for operator, face, _, _ in clients}
    recognised = list(MatchEvent.objects.values_list("store__operator", "shopper"))
    own = sum(1 for operator_id, shopper_id in recognised if faces.get(operator_id) == shopper_id)
    print(
        f"\n2. doors over HTTP: {len(clients)} operators' doors on {shards} shards, {requests} requests one after "
        f"another, one web process, one match worker per shard"
    )
    for kind, values in timings.items():
        print(f"{kind:9s} p50 {ms(values, 50):7.1f} ms   p95 {ms(values, 95):7.1f} ms   ({len(values)} requests)")
    print(
        f"routing: answers {dict(outcomes)}; {own} of {len(recognised)} recorded matches name their own operator's "
        f"shopper, whom only that operator's shard holds"
    )


def cpu_seconds(pids: list[int]) -> float:
    """Processor time (user and system) of these processes and all their descendants so far."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0.0, list(pids)
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def cpu_per_probe(clients: list, photo: bytes, encoding: list[float], count: int, web: int, workers: list[int]) -> None:
    """Part 2c: processor time per door request, in the web process and in the match workers, photos then
    encodings; a match worker's engine holds the interpreter's lock, so one process serves at most one core's
    worth of photos."""
    print(f"\n2c. processor time per door request ({count} of each, one after another):")
    before, idle = (cpu_seconds([web]), cpu_seconds(workers)), time.monotonic()
    time.sleep(5)
    seconds = time.monotonic() - idle
    print(
        f"idle, per second: web {(cpu_seconds([web]) - before[0]) * 1000 / seconds:.1f} ms, the {len(workers)} match "
        f"workers {(cpu_seconds(workers) - before[1]) * 1000 / seconds:.1f} ms (counted in the figures below)"
    )
    print(f"{'probe':9s} {'web ms':>7s} {'match worker ms':>16s} {'probes/s per worker core':>25s}")
    for kind in ("photo", "encoding"):
        before = cpu_seconds([web]), cpu_seconds(workers)
        for number in range(count):
            client = clients[number % len(clients)][3]
            answer = client.match_photo(photo) if kind == "photo" else client.match_encoding(encoding)
            assert answer.body.get("result") == "match", answer.body
        web_ms = (cpu_seconds([web]) - before[0]) * 1000 / count
        worker_ms = (cpu_seconds(workers) - before[1]) * 1000 / count
        print(f"{kind:9s} {web_ms:7.1f} {worker_ms:16.1f} {1000 / worker_ms:25.1f}")


def database_written() -> Counter:
    """Rows inserted, updated and deleted so far in each table, the WAL's position and the database's size in bytes
    (keys "WAL" and "size"), from
    PostgreSQL's own counters (other processes' figures reach them within PGSTAT_IDLE_INTERVAL, 10 s)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables")
        written = Counter(dict(cursor.fetchall()))
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0'), pg_database_size(current_database())")
        wal, size = cursor.fetchone()
        written["WAL"], written["size"] = int(wal), int(size)
    return written


def visit_events(visit_id: str, answer: dict) -> list[dict]:
    """What a store's devices report of one visit: the notice shown on a first visit, six shelf dwells, a purchase
    of two lines and the exit (the footprint bench's ten events a visit)."""
    from datetime import UTC, datetime

    now = datetime.now(UTC).isoformat()
    events = [
        {
            "event_id": f"d{n}-{visit_id}",
            "visit_id": visit_id,
            "kind": "shelf_dwell",
            "occurred_at": now,
            "shelf": f"A{n}",
            "seconds": 30 + n,
        }
        for n in range(6)
    ]
    items = [
        {"sku": "tea-500", "name": "Green tea 500 ml", "quantity": 2, "unit_price": "3.00"},
        {"sku": "bun", "name": "Red bean bun", "quantity": 1, "unit_price": "1.50"},
    ]
    events.append(
        {
            "event_id": f"p-{visit_id}",
            "visit_id": visit_id,
            "kind": "purchase",
            "occurred_at": now,
            "items": items,
            "total": "7.50",
            "currency": "CNY",
        }
    )
    events.append({"event_id": f"x-{visit_id}", "visit_id": visit_id, "kind": "exit", "occurred_at": now})
    if answer.get("first_visit"):
        events.insert(
            0,
            {
                "event_id": f"n-{visit_id}",
                "visit_id": visit_id,
                "kind": "notice_shown",
                "occurred_at": now,
                "notice_version": answer["notice_version"],
            },
        )
    return events


def writes_per_visit(clients: list, encoding: list[float], count: int, web: int, database: int) -> None:
    """Part 2b: what one visit costs the database (rows, WAL, its processor time) and the web process, its match
    and then the events its store reports."""
    matched = reported = 0
    time.sleep(11)  # every process's counters flushed
    before, cpu_before = database_written(), (cpu_seconds([web]), cpu_seconds([database]))
    answers = []
    for number in range(count):
        client = clients[number % len(clients)][3]
        answer = client.match_encoding(encoding)
        matched += answer.body.get("result") == "match"
        answers.append((client, answer.body))
    cpu_middle = cpu_seconds([web]), cpu_seconds([database])
    time.sleep(11)
    middle = database_written()
    cpu_middle_after_sleep = cpu_seconds([web]), cpu_seconds([database])
    for client, body in answers:
        if body.get("result") == "match":
            result = client.events(visit_events(body["visit_id"], body))
            reported += sum(1 for event in result.body.get("results", []) if event.get("status") == "stored")
    cpu_after = cpu_seconds([web]), cpu_seconds([database])
    time.sleep(11)
    after = database_written()
    match, events = middle - before, after - middle
    visits = max(matched, 1)
    cpu = {
        "the door's match": [(m - b) * 1000 / visits for m, b in zip(cpu_middle, cpu_before, strict=True)],
        "its store's events": [(a - m) * 1000 / visits for a, m in zip(cpu_after, cpu_middle_after_sleep, strict=True)],
    }
    cpu["a visit in all"] = [m + e for m, e in zip(cpu["the door's match"], cpu["its store's events"], strict=True)]
    print(f"\n2b. what a visit costs ({matched} visits recognised by encoding, then {reported} events stored):")
    print(
        f"{'':20s} {'rows written':>12s} {'WAL bytes':>10s} {'size bytes':>10s} {'web ms':>7s} {'database ms':>11s}"
        "  rows by table"
    )
    for label, written in (
        ("the door's match", match),
        ("its store's events", events),
        ("a visit in all", match + events),
    ):
        tables = ", ".join(
            f"{name} {rows / visits:.1f}"
            for name, rows in written.most_common()
            if name not in ("WAL", "size") and rows >= visits / 2
        )
        rows = sum(rows for name, rows in written.items() if name not in ("WAL", "size"))
        web_ms, database_ms = cpu[label]
        figures = (
            f"{rows / visits:12.1f} {written['WAL'] / visits:10,.0f} {written['size'] / visits:10,.0f} {web_ms:7.1f} "
            f"{database_ms:11.1f}"
        )
        print(f"{label:20s} {figures}  {tables}")


def outage(env: dict, folder: Path, shard: str, victim: subprocess.Popen, clients: list, base: str, encoding) -> None:
    """Part 3: the shard's only worker killed and restarted, a door of it and of another shard asking meanwhile."""
    mine = next(entry for entry in clients if entry[2] == shard)
    other = next(entry for entry in clients if entry[2] != shard)
    door, neighbour = Door(base, mine[1], encoding), Door(base, other[1], encoding)
    door.start()
    neighbour.start()
    time.sleep(2)
    killed = time.monotonic()
    kill(victim)
    time.sleep(6)
    restarted = time.monotonic()
    replacement = start(env, shard, folder / f"worker-{shard}-again.log")
    deadline = time.monotonic() + 600
    while first_match_after(door, restarted) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    back = first_match_after(door, restarted)
    door.halt.set()
    neighbour.halt.set()
    kill(replacement)
    down = door.between(killed, restarted + (back or 600))
    slowest = max((seconds for _, seconds, _, _ in down), default=0)
    print(f"\n3. shard {shard}'s only worker killed, restarted {restarted - killed:.0f} s later:")
    print(f"its door meanwhile: {summary(down)}; slowest answer {slowest * 1000:.0f} ms")
    print(f"its door's first match {back:.1f} s after the new worker started" if back else "its door: no match")
    print(f"a door of another shard meanwhile: {summary(neighbour.between(killed, restarted + (back or 600)))}")
    print(f"all 500s: {sum(1 for a in door.answers + neighbour.answers if a[2] >= 500 and a[2] != 503)} (goal 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operators", type=int, default=300)
    parser.add_argument("--shoppers", type=int, default=3000)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--visits", type=int, default=300, help="visits whose database writes are counted")
    parser.add_argument("--doors", type=int, default=12, help="operators with a door and a real face")
    args = parser.parse_args()
    folder = workdir()
    postgres, redis_server = services_of_its_own(folder)
    env = setup_django(folder)
    env |= {"CACHE_REDIS_URL": f"{redis_server.url}/1"}
    processes: list[subprocess.Popen] = []
    try:
        started = time.monotonic()
        world = populate(args.operators, args.shoppers, args.shards, args.doors)
        from django.db import connection

        from biometrics import engine
        from biometrics.models import FaceTemplate
        from stores.client import DeviceClient
        from stores.models import GalleryCheck

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        reasons = Counter(GalleryCheck.objects.values_list("reason", flat=True))
        print(
            f"Scale (bench/scale.py): {args.operators} operators x {args.shoppers:,} shoppers "
            f"({FaceTemplate.objects.count():,} templates), {args.shards} shards, written and checked in "
            f"{time.monotonic() - started:.0f} s; their gallery checks: {dict(reasons)}"
        )
        running = memory(env, folder, world["shards"], FaceTemplate.objects.count())
        processes += running.values()
        server, base = web_server(env, folder)
        processes.append(server)
        photo = (FACES / PHOTO).read_bytes()
        encoding = engine.probe_encoding(photo).tolist()
        clients = [
            (operator, face, shard, DeviceClient(base, issued.device.device_id, issued.secret, timeout=30))
            for operator, issued, face, shard in world["doors"]
        ]
        doors(clients, photo, encoding, args.requests, len(running))
        cpu_per_probe(clients, photo, encoding, 40, server.pid, [worker.pid for worker in running.values()])
        writes_per_visit(clients, encoding, args.visits, server.pid, postgres.pid())
        shard = world["shards"][0]
        with_issued = [(operator, issued, shard_of) for operator, issued, _, shard_of in world["doors"]]
        outage(env, folder, shard, running[shard], with_issued, base, encoding)
    finally:
        for process in processes:
            if process.poll() is None:
                kill(process)
        redis_server.kill()
        postgres.stop()


if __name__ == "__main__":
    main()
