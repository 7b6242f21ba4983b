"""Real web server processes (gunicorn, as deployed) for tests that need more than one process.

They run against the test database, the cache and the broker the integration worker uses
(`tests/worker.py`), so what one process stores, every other one must see.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from portal.workers import web_command

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(taken: set[int]) -> int:
    """A free port on 127.0.0.1: within TEST_SERVER_PORTS ("8730-8739") when set, else any the system gives."""
    wanted = os.environ.get("TEST_SERVER_PORTS", "")
    if wanted:
        first, _, last = wanted.partition("-")
        for port in range(int(first), int(last or first) + 1):
            if port not in taken and _port_is_free(port):
                return port
        raise RuntimeError(f"no free port in TEST_SERVER_PORTS={wanted}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Answer:
    status: int
    body: dict

    @property
    def code(self) -> str | None:
        return self.body.get("error", {}).get("code")


@dataclass
class WebServer:
    """One gunicorn process with one worker; `restart` stops it and starts a new one on the same port."""

    name: str
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)
    access_log: bool = False  # gunicorn's access log too, into the same log

    def start(self) -> None:
        self.launch()
        self.wait_until_serving()

    def launch(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                web_command(bind=f"127.0.0.1:{self.port}", threads=4, graceful_timeout=2, access_log=self.access_log),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                # Any answer will do: this one is refused before it reaches the database or a worker.
                self.request("GET", "/api/v1/device/match")
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start:\n{self.log_path.read_text()[-4000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        return Answer(response.status, json.loads(data) if data else {})

    def post_json(self, path: str, payload: dict, headers: dict[str, str] | None = None) -> Answer:
        body = json.dumps(payload).encode()
        return self.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})


def web_servers(worker: dict, count: int, *, access_log: bool = False, **extra_env: str) -> list[WebServer]:
    """`count` servers started beside the integration worker (the dict its fixture yields); each writes
    its log (and with `access_log`, gunicorn's access log) to `server-N.log` in the worker's folder."""
    env = {
        **worker["env"],
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        # Correctness, not latency, on a loaded machine (as the worker fixture's tests).
        "MATCH_TIMEOUT_SECONDS": "15",
        **extra_env,
    }
    servers: list[WebServer] = []
    taken: set[int] = set()
    try:
        for number in range(1, count + 1):
            port = free_port(taken)
            taken.add(port)
            log_path = worker["workdir"] / f"server-{number}.log"
            server = WebServer(f"server {number}", env, port, log_path, access_log=access_log)
            servers.append(server)
            server.launch()
        for server in servers:
            server.wait_until_serving()
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers
