"""The Celery worker processes, the queues each takes and the command lines that start them and the
web server.

One home for the layout that `manage.py serve`, the integration tests, the benchmarks and the
README's production commands share (docs/decisions/0013-worker-layout.md): door matches have a
worker process of their own, so enrollments and mails never stand between a door and
its answer.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WorkerRole:
    name: str
    queues: tuple[str, ...]
    pool: str
    concurrency: int
    # Above 0: started with `nice`; at 10, while processes at normal priority (the web server, the
    # door's match worker) want the processors, Linux gives it about a tenth of their share.
    niceness: int = 0

    @property
    def queue_list(self) -> str:
        return ",".join(self.queues)


# Door probes: a thread pool in one process holds one copy of the match indexes; the face encoder
# holds the GIL, so more photo throughput means more such processes (docs/decisions/0006-matching.md).
MATCH = WorkerRole(name="match", queues=("match",), pool="threads", concurrency=4)
# Everything else: enrollments (seconds of engine work each), mails, periodic jobs and erasures (the
# `erasure` queue). Nobody stands waiting on them with a 3 s timeout, so they yield the processors
# to the door.
BACKGROUND = WorkerRole(
    name="background", queues=("default", "enroll", "erasure"), pool="prefork", concurrency=2, niceness=10
)
ROLES = (MATCH, BACKGROUND)


def worker_command(
    role: WorkerRole,
    *,
    concurrency: int | None = None,
    hostname: str | None = None,
    loglevel: str = "INFO",
    beat_schedule: Path | None = None,
    quiet: bool = False,
) -> list[str]:
    """The command line of one worker process of `role`, run with this interpreter.

    `beat_schedule` also runs the periodic jobs in it (one process per installation may);
    `quiet` leaves out the start-up exchange with other workers, which a single test or
    benchmark worker does not need.
    """
    command = ["nice", "-n", str(role.niceness)] if role.niceness else []
    command += [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "--queues",
        role.queue_list,
        "--pool",
        role.pool,
        "--concurrency",
        str(concurrency or role.concurrency),
        "--hostname",
        hostname or f"{role.name}@%h",
        "--loglevel",
        loglevel,
    ]
    if beat_schedule is not None:
        command += ["--beat", "--schedule", str(beat_schedule)]
    if quiet:
        command += ["--without-gossip", "--without-mingle"]
    return command


def web_command(*, bind: str, threads: int, graceful_timeout: int = 5, access_log: bool = False) -> list[str]:
    """The command line of one gunicorn web process (gthread, `threads` threads; the rest of its
    settings are gunicorn.conf.py's), run with this interpreter from the project folder."""
    command = [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", bind, "--workers", "1"]
    command += ["--threads", str(threads), "--graceful-timeout", str(graceful_timeout)]
    if access_log:
        command += ["--access-logfile", "-"]
    return command
