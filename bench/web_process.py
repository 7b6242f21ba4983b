"""A web process's start-up time (exec to its first answered request) and its memory, as gunicorn runs it.

Run from the project folder: `.venv/bin/python bench/web_process.py [--runs 5]`. It measures the tree
it is run in (the current directory), so the same script, copied elsewhere, compares two checkouts.
Each run starts a fresh gunicorn with one worker process on a throwaway SQLite database, asks for
/api/v1/operators until it answers, and reads the worker's resident memory (RSS) then and again after
the requests a shopper and a door make (pages, the enrollment and device APIs, refused before any
work). Medians of the runs are printed, with the heavy modules the worker had loaded.
Nothing is written to the measured tree: the database, keys and compiled bytecode go to a temporary
folder (one bytecode cache per tree, filled by a first run that is not counted).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path.cwd()
# Shared objects that show the face engine or the match index loaded in a process.
HEAVY = {"dlib": "_dlib_pybind11", "cv2": "/cv2/", "faiss": "_swigfaiss"}
FIRST = ("GET", "/api/v1/operators")
# What a shopper's browser, the app and a door ask of a web process; each is answered without a worker.
REQUESTS = [
    ("GET", "/"),
    ("GET", "/login/"),
    ("GET", "/api/v1/operators/fresh-mart/notices"),
    ("GET", "/api/v1/face"),
    ("POST", "/api/v1/enrollments"),
    ("POST", "/api/v1/device/match"),
    ("POST", "/api/v1/auth/login"),
]
START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(workdir: Path) -> dict[str, str]:
    tree_id = hashlib.sha1(str(ROOT).encode()).hexdigest()[:12]
    inherited = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "VAR_DIR": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "TEMPLATE_KEYS": "bench:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "CELERY_BROKER_URL": "memory://",
        "LOG_LEVEL": "ERROR",
        # Bytecode outside the measured tree, one cache per tree.
        "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / f"faceconsent-pycache-{tree_id}"),
    }


def prepare(env: dict[str, str]) -> None:
    """Migrate, collect the static files (pages need their manifest with DEBUG off), add one operator."""
    python = sys.executable
    for command in (["migrate", "--noinput", "-v", "0"], ["collectstatic", "--noinput", "-v", "0"]):
        subprocess.run([python, "manage.py", *command], cwd=ROOT, env=env, check=True)
    seed = (
        "from stores.models import Operator; Operator.objects.create(name='Fresh Mart', slug='fresh-mart', "
        "contact_email='a@example.com', privacy_officer_name='P', privacy_officer_email='p@example.com')"
    )
    subprocess.run([python, "manage.py", "shell", "-v", "0", "-c", seed], cwd=ROOT, env=env, check=True)


def ask(port: int, method: str, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = b"{}" if method == "POST" else None
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def heavy_modules(pid: int) -> list[str]:
    """The heavy libraries mapped into the process (their shared objects), without asking it."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return [name for name, marker in HEAVY.items() if marker in maps]


def one_run(env: dict[str, str], log: Path) -> dict:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--graceful-timeout", "2"]
    started = time.perf_counter()
    with open(log, "ab") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                status = ask(port, *FIRST)
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > START_TIMEOUT:
                    sys.exit(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.01)
        first_answer = time.perf_counter() - started
        if status != 200:
            sys.exit(f"{FIRST} answered {status}:\n{log.read_text()[-3000:]}")
        (worker,) = children(server.pid)
        after_first = rss_mib(worker)
        answers = {path: ask(port, method, path) for method, path in REQUESTS}
        if any(status >= 500 for status in answers.values()):
            sys.exit(f"a request failed: {answers}\n{log.read_text()[-3000:]}")
        return {
            "start": first_answer,
            "rss_first": after_first,
            "rss_after": rss_mib(worker),
            "heavy": heavy_modules(worker),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="faceconsent-bench-web-"))
    env = environment(workdir)
    prepare(env)
    one_run(env, workdir / "gunicorn.log")  # fills the bytecode cache; not counted
    runs = [one_run(env, workdir / "gunicorn.log") for _ in range(args.runs)]
    print(f"tree: {ROOT}  (commit {git_commit()}), {args.runs} runs, gunicorn with 1 worker, DEBUG off")
    print(
        f"start-up, exec to first answered request: median {statistics.median(r['start'] for r in runs):.2f} s "
        f"(min {min(r['start'] for r in runs):.2f}, max {max(r['start'] for r in runs):.2f})"
    )
    print(f"worker RSS after the first request:       median {statistics.median(r['rss_first'] for r in runs):.0f} MiB")
    print(
        f"worker RSS after {len(REQUESTS)} more requests:         "
        f"median {statistics.median(r['rss_after'] for r in runs):.0f} MiB"
    )
    print(f"heavy libraries in the worker: {', '.join(runs[-1]['heavy']) or 'none'}")


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


if __name__ == "__main__":
    main()
