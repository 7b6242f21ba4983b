"""Serve the portal and API with gunicorn, beside the Celery workers of portal/workers.py.

Door matches get a worker process of their own; the other queues (enrollments, erasures, mails)
and the periodic jobs share a second one. With no broker configured the workers take their
tasks from files under var/ (as `make run` sets up), so a door never waits behind an enrollment
in any mode this command runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from portal import workers


class Command(BaseCommand):
    help = "Run the web server, a Celery worker for door matches and one for the other queues (with beat)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind",
            default=os.environ.get("BIND", "127.0.0.1:8000"),
            help="HOST:PORT to listen at (default: BIND); unless SITE_URL is set, the site's address in links",
        )
        parser.add_argument("--web-threads", type=int, default=8)
        parser.add_argument(
            "--worker-concurrency",
            type=int,
            default=workers.BACKGROUND.concurrency,
            help="processes of the worker for enrollments, erasures and mails",
        )
        parser.add_argument(
            "--match-threads", type=int, default=workers.MATCH.concurrency, help="threads of the door's match worker"
        )

    def handle(
        self, *args, bind: str, web_threads: int, worker_concurrency: int, match_threads: int, **options
    ) -> None:
        # Every process links to where the web server listens (settings.SITE_URL), unless SITE_URL says otherwise.
        env = dict(os.environ, BIND=bind)
        if settings.CELERY_TASK_ALWAYS_EAGER:
            # Nothing configured: tasks run in the caller's process, which would put enrollments
            # in the web server beside the doors. A broker made of files keeps them apart.
            env["CELERY_BROKER_URL"] = "filesystem://"
        commands = [
            workers.worker_command(workers.MATCH, concurrency=match_threads),
            workers.worker_command(
                workers.BACKGROUND,
                concurrency=worker_concurrency,
                beat_schedule=settings.VAR_DIR / "celerybeat-schedule",
            ),
            workers.web_command(bind=bind, threads=web_threads, access_log=True),
        ]
        processes = [subprocess.Popen(command, env=env) for command in commands]
        broker = env.get("CELERY_BROKER_URL") or settings.CELERY_BROKER_URL
        self.stdout.write(
            self.style.SUCCESS(
                f"FaceConsent is starting on http://{bind}/  (API docs at /api/docs/, health at /healthz); "
                f"workers on {broker.split('://')[0]}: {workers.MATCH.queue_list} in one, "
                f"{workers.BACKGROUND.queue_list} in another"
            )
        )

        def stop(*_):
            for process in processes:
                if process.poll() is None:
                    process.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        failed = [process.args[2] for process in processes if process.returncode not in (0, -signal.SIGTERM, None)]
        if failed:
            sys.exit(1)
