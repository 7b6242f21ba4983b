"""Serve the portal and API with gunicorn, and the Celery worker (with beat) beside it.

In the pure in-process mode (no broker configured) only the web server runs: tasks execute
in the request's process after its transaction commits.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

QUEUES = "default,enroll,match,erasure"


class Command(BaseCommand):
    help = "Run the web server and, when a broker is configured, a Celery worker with beat."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--web-threads", type=int, default=8)
        parser.add_argument("--worker-concurrency", type=int, default=2)

    def handle(self, *args, bind: str, web_threads: int, worker_concurrency: int, **options) -> None:
        processes: list[subprocess.Popen] = []
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "portal",
                        "worker",
                        "--beat",
                        "--queues",
                        QUEUES,
                        "--concurrency",
                        str(worker_concurrency),
                        "--loglevel",
                        "INFO",
                        "--schedule",
                        str(settings.VAR_DIR / "celerybeat-schedule"),
                    ]
                )
            )
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "portal.wsgi:application",
                    "--bind",
                    bind,
                    "--workers",
                    "1",
                    "--threads",
                    str(web_threads),
                    "--access-logfile",
                    "-",
                    "--graceful-timeout",
                    "5",
                ]
            )
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"FaceConsent is starting on http://{bind}/  (API docs at /api/docs/, health at /healthz)"
                + (
                    ""
                    if settings.CELERY_TASK_ALWAYS_EAGER
                    else f"; worker on {settings.CELERY_BROKER_URL.split('://')[0]}"
                )
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
