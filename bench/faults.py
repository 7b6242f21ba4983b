"""Faults under door traffic, against real services this script starts and breaks on purpose:

    .venv/bin/python bench/faults.py [--seconds 6]

Starts a PostgreSQL cluster and a Redis server of its own (on free ports, in a temporary folder, so the
machine's are never touched), a web process and a match worker, and a door that keeps asking, then:

1. Redis stopped during door traffic: every answer while it is down is a 503 with a code within 2 s, and
   the door is answered correctly again within 5 s of Redis coming back, by itself.
2. PostgreSQL restarted under load (two doors, and shoppers giving and withdrawing consent): requests
   fail with a code (503), none with a 500, and recover by themselves; afterwards every recognised visit
   has its match event and consent, every consent event its consent, and `audit_verify` passes.
3. The match worker restarted: from the moment it is killed until the new one has built its indexes the
   door gets 503 `match_unavailable`, never `no_match` for a shopper it holds, and the first answer after
   is `match`.

A worker killed during an enrollment is shown by tests/integration/test_enrollment_worker_killed.py and
tests/biometrics/test_enrollment_lost.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path

from common import (
    FACES,
    ROOT,
    bulk_gallery,
    enrolled_face,
    free_port,
    live_store_with_door,
    setup_django,
    start_worker,
    stop,
    web_server,
    workdir,
)

from portal.workers import MATCH, worker_command

GALLERY = 15  # consenting shoppers beside the one real face (few enough to need no gallery check: 20)


class Postgres:
    """A throwaway cluster, run as the `postgres` user when this runs as root (initdb refuses root)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder / "pg", free_port()
        self.bin = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.folder.mkdir()
        if os.geteuid() == 0:
            folder.chmod(0o755)  # the postgres user reaches its folder through this one
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.folder), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        # Into a file, not a pipe: the server pg_ctl starts keeps its output open, and a pipe would never end.
        with open(self.folder.parent / f"{tool}.out", "w") as out:
            done = subprocess.run([*self.as_postgres, str(self.bin / tool), *args], stdout=out, stderr=out)
        if done.returncode:
            sys.exit(f"{tool} failed: {(self.folder.parent / f'{tool}.out').read_text()[-2000:]}")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.folder), "-o", options, "-l", str(self.folder / "log"), "-w", "start")

    def pid(self) -> int:
        """The server's process (its backends are its children)."""
        return int((self.folder / "postmaster.pid").read_text().split()[0])

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder), "-m", "fast", "-l", str(self.folder / "log"), "-w", "restart")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder), "-m", "immediate", "stop")


class Redis:
    def __init__(self, folder: Path) -> None:
        self.folder, self.port, self.process = folder, free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen([*command, "--dir", str(self.folder)], stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        sys.exit("Redis did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def services_of_its_own(folder: Path) -> tuple[Postgres, Redis]:
    """A PostgreSQL cluster and a Redis server started in `folder`, and the benchmark's environment pointed at
    them (its database, its broker and its cache)."""
    postgres, redis_server = Postgres(folder), Redis(folder)
    postgres.start()
    redis_server.start()
    os.environ.update(
        BENCH_DATABASE_URL=postgres.url, REDIS_URL=f"{redis_server.url}/0", CACHE_REDIS_URL=f"{redis_server.url}/1"
    )
    return postgres, redis_server


def populate() -> tuple:
    """A live store and its door; GALLERY synthetic consenting shoppers and one real face, enrolled from another
    photo of the face the door shows."""
    from biometrics import engine

    operator, issued, version = live_store_with_door()
    bulk_gallery(operator, version, GALLERY)
    enrolled_face(operator, version)
    probe = engine.probe_encoding((FACES / "obama/obama_720p.jpg").read_bytes()).tolist()
    return operator, issued, version, probe


class Door(threading.Thread):
    """Asks with the enrolled face's encoding, back to back; records (time sent, seconds, status, code)."""

    def __init__(self, base: str, issued, probe: list[float]) -> None:
        super().__init__(daemon=True)
        from stores.client import DeviceClient

        self.client = DeviceClient(base, issued.device.device_id, issued.secret, timeout=10)
        self.probe, self.answers, self.halt = probe, [], threading.Event()
        self.started = time.monotonic()

    def run(self) -> None:
        while not self.halt.is_set():
            sent = time.monotonic()
            try:
                answer = self.client.match_encoding(self.probe)
                outcome = answer.body.get("result") or answer.body.get("error", {}).get("code", "?")
                status = answer.status
            except Exception as error:  # the web process itself unreachable: counted, never expected
                status, outcome = 0, type(error).__name__
                self.client.close()
            self.answers.append((sent, time.monotonic() - sent, status, outcome))
            time.sleep(0.05)

    def between(self, start: float, end: float) -> list[tuple]:
        return [answer for answer in self.answers if start <= answer[0] < end]


def first_match_after(door: Door, moment: float) -> float | None:
    for sent, seconds, status, outcome in door.answers:
        if sent >= moment and status == 200 and outcome == "match":
            return sent + seconds - moment
    return None


def summary(answers: list[tuple]) -> str:
    counts = Counter(f"{status} {outcome}" for _, _, status, outcome in answers)
    return ", ".join(f"{count} x {kind}" for kind, count in sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="how long each outage lasts")
    args = parser.parse_args()
    folder = workdir()
    postgres, redis_server = services_of_its_own(folder)
    os.environ["MATCH_TIMEOUT_SECONDS"] = "1.5"
    env = setup_django(folder)
    env |= {"CACHE_REDIS_URL": f"{redis_server.url}/1", "MATCH_TIMEOUT_SECONDS": "1.5"}
    operator, issued, version, probe = populate()
    from core.audit import audit_chain_verify

    assert audit_chain_verify().intact, "the chain is broken before any fault"
    worker = start_worker(env, MATCH, concurrency=2, log=folder / "worker.log")
    server, base = web_server(env, folder)
    door = Door(base, issued, probe)
    door.start()
    lines = []
    try:
        deadline = time.monotonic() + 60
        while first_match_after(door, 0) is None:
            if time.monotonic() > deadline:
                sys.exit(
                    f"the door never matched: {summary(door.answers)}\n{(folder / 'worker.log').read_text()[-3000:]}"
                )
            time.sleep(0.2)
        print(f"the door's first match came {first_match_after(door, door.started):.1f} s after it started asking")
        time.sleep(2)

        # 1. Redis stopped.
        down = time.monotonic()
        redis_server.kill()
        time.sleep(args.seconds)
        up = time.monotonic()
        redis_server.start()
        time.sleep(6)
        during = door.between(down + 0.5, up)
        slowest = max(seconds for _, seconds, _, _ in during)
        back = first_match_after(door, up)
        lines.append(("Redis stopped", f"{summary(during)}; slowest answer {slowest:.2f} s (goal < 2 s)"))
        lines.append(
            ("Redis back", f"first match {back:.2f} s after it came back (goal < 5 s)" if back else "no match")
        )

        # 2. PostgreSQL restarted under load: a second door and consent changes meanwhile.
        second = Door(base, issued, probe)
        second.start()
        churn = ConsentChurn(base, operator, version)
        churn.start()
        time.sleep(2)
        restarted = time.monotonic()
        postgres.restart()
        ready = time.monotonic()
        time.sleep(6)
        churn.halt.set()
        second.halt.set()
        around = door.between(restarted, ready + 6) + second.between(restarted, ready + 6)
        back = first_match_after(door, ready)
        lines.append(
            (
                "PostgreSQL restarted",
                f"restart took {ready - restarted:.1f} s; doors meanwhile and after: {summary(around)}; "
                f"consent calls: {summary(churn.answers)}",
            )
        )
        lines.append(("PostgreSQL back", f"first match {back:.2f} s after it was up" if back else "no match"))
        lines.append(("Nothing half-written", integrity()))

        # 3. The match worker restarted.
        killed = time.monotonic()
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        time.sleep(2)
        started = time.monotonic()
        # Started as the server starts it; whether it is ready is what the door finds out.
        with open(folder / "worker2.log", "wb") as log:
            worker = subprocess.Popen(
                worker_command(MATCH, concurrency=2, hostname="faults2@%h", loglevel="WARNING", quiet=True),
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while first_match_after(door, started) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        back = first_match_after(door, started)
        meanwhile = door.between(killed, started + (back or 60))
        wrong = [answer for answer in meanwhile if answer[3] == "no_match"]
        lines.append(("Match worker killed and restarted", f"{summary(meanwhile)}; no_match answers: {len(wrong)}"))
        lines.append(("New match worker", f"first match {back:.2f} s after it was started" if back else "no match"))
    finally:
        door.halt.set()
        server.terminate()
        stop(worker)
        server.wait(timeout=20)
        redis_server.kill()
        postgres.stop()
    print(f"Faults under door traffic (bench/faults.py, outages of {args.seconds:.0f} s)")
    for name, line in lines:
        print(f"{name:36s} {line}")
    print(f"all 500s: {sum(1 for a in door.answers if a[2] >= 500 and a[2] != 503)} (goal 0)")


class ConsentChurn(threading.Thread):
    """Shoppers giving and withdrawing a consent over the API, back to back, each with their own token."""

    def __init__(self, base: str, operator, version) -> None:
        super().__init__(daemon=True)
        from django.contrib.auth import get_user_model
        from django.utils import timezone

        from portal.services import api_token_create

        shopper = get_user_model().objects.create_user(
            "churn@bench.example",
            "y" * 12,
            display_name="Churn",
            date_of_birth=date(1980, 1, 1),
            email_verified_at=timezone.now(),
        )
        self.token = api_token_create(user=shopper, label="bench").key
        self.base, self.operator, self.version = base, operator, version
        self.answers, self.halt = [], threading.Event()

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
        import json

        request = urllib.request.Request(
            self.base + path,
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    @staticmethod
    def outcome(status: int, body: dict, done: str) -> str:
        return body.get("error", {}).get("code", "?") if status >= 400 else done

    def run(self) -> None:
        import json

        while not self.halt.is_set():
            sent = time.monotonic()
            try:
                status, body = self.call(
                    "POST",
                    "/api/v1/consents",
                    json.dumps(
                        {"operator": self.operator.slug, "purpose": "face_entry", "notice_version": self.version.pk}
                    ).encode(),
                )
                self.answers.append((sent, time.monotonic() - sent, status, self.outcome(status, body, "given")))
                sent = time.monotonic()
                status, body = self.call("POST", "/api/v1/consents/withdraw-all")
                outcome = self.outcome(status, body, "withdrawn")
            except Exception as error:
                status, outcome = 0, type(error).__name__
            self.answers.append((sent, time.monotonic() - sent, status, outcome))
            time.sleep(0.05)


def integrity() -> str:
    """After the restart: every recognised visit whole, every consent event with its consent, the chain whole."""
    from django.db import connections

    from consent.models import ConsentEvent
    from core.audit import audit_chain_verify
    from stores.models import MatchEvent, Visit

    connections.close_all()
    visits = Visit.objects.filter(method="face")
    orphans = visits.filter(match_event__isnull=True).count()
    events = ConsentEvent.objects.filter(consent__isnull=True).count()
    report = audit_chain_verify()
    return (
        f"{visits.count()} face visits, {MatchEvent.objects.count()} match events, {orphans} visits without "
        f"their match event; {events} consent events without a consent; audit_verify: "
        f"{'intact' if report.intact else f'BROKEN at #{report.broken_sequence} ({report.reason})'} over "
        f"{report.checked} entries"
    )


if __name__ == "__main__":
    main()
