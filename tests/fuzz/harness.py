"""The fuzz run's plumbing: the Django handler it calls, the device signer and the tally it prints.

One handler and one tally for the session; `conftest.py` wires them to pytest, `test_api.py` to
schemathesis.
"""

from __future__ import annotations

import io
import sys
import threading
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signals import got_request_exception
from werkzeug.test import Client

from stores import signing
from tests.factories import DEFAULT_PASSWORD

ANONYMOUS, SHOPPER, DEVICE = "anonymous", "shopper", "device"
IDENTITIES = (ANONYMOUS, SHOPPER, DEVICE)

# The device identity sends this in its four X-FC-* headers; the handler puts the device's id, the
# time, a fresh nonce and the signature over the bytes that arrived in their place. A request that
# lost one of them (a negative case without a required header, a check probing without or with
# forged credentials) stays as it is, unsigned, as a forger's request would.
SIGN_ME = "sign-me"
SIGNED_HEADERS = tuple("HTTP_" + name.upper().replace("-", "_") for name in signing.HEADERS)

# The checks that hold a response against the schema. The others (negative_data_rejection,
# ignored_auth, use_after_free ...) judge behaviour; they fail the run too, counted apart.
SCHEMA_CHECKS = frozenset(
    {
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    }
)


@dataclass
class ServerError:
    identity: str
    method: str
    path: str
    status: int
    traceback: str


@dataclass
class Tally:
    """What the run sent and what came back wrong, across all tests of the session."""

    identity: str = ANONYMOUS
    seed: int | None = None
    requests: Counter = field(default_factory=Counter)
    server_errors: list[ServerError] = field(default_factory=list)
    schema_violations: Counter = field(default_factory=Counter)
    other_failures: Counter = field(default_factory=Counter)
    tolerated: Counter = field(default_factory=Counter)
    # identity -> operation -> status class ("2xx", "4xx" ...) -> responses checked
    statuses: defaultdict = field(default_factory=lambda: defaultdict(lambda: defaultdict(Counter)))

    def record_results(self, operation: str, status: int, results) -> None:
        self.statuses[self.identity][operation][f"{status // 100}xx"] += 1
        for result in results:
            if result.failure is None:
                continue
            key = (self.identity, operation, result.name, result.failure.title)
            if result.name in SCHEMA_CHECKS:
                self.schema_violations[key] += 1
            elif result.name != "not_a_server_error":  # counted by the handler, with its traceback
                self.other_failures[key] += 1

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def failed(self) -> bool:
        return bool(self.server_errors or self.schema_violations or self.other_failures)

    def summary_line(self) -> str:
        by_identity = ", ".join(f"{name} {self.requests[name]}" for name in IDENTITIES)
        return (
            f"fuzz: {self.total_requests} requests ({by_identity}), {len(self.server_errors)} 5xx, "
            f"{sum(self.schema_violations.values())} schema violations, "
            f"{sum(self.other_failures.values())} other check failures"
        )

    def detail_lines(self) -> list[str]:
        lines = [f"seed {self.seed}: FUZZ_SEED={self.seed} make fuzz generates the same cases"]
        seen = set()
        for error in self.server_errors:
            key = (error.identity, error.method, error.path, error.traceback)
            if key in seen:
                continue
            seen.add(key)
            lines.append(f"5xx {error.status} as {error.identity}: {error.method} {error.path}")
            lines.extend(f"    {line}" for line in error.traceback.splitlines())
        for title, failures in (("schema violation", self.schema_violations), ("check failure", self.other_failures)):
            for (identity, operation, check, name), count in sorted(failures.items()):
                lines.append(f"{title} as {identity}: {operation}: {check}: {name} (x{count})")
        for (identity, operation, reason), count in sorted(self.tolerated.items()):
            lines.append(f"tolerated as {identity}: {operation}: {reason} (x{count})")
        for identity in IDENTITIES:
            operations = self.statuses.get(identity, {})
            answered = [label for label, classes in operations.items() if classes["2xx"]]
            # The operations this identity is for: a shopper's are all but the device API's.
            unanswered = sorted(
                label
                for label in operations
                if label not in answered and identity != ANONYMOUS and ((identity == DEVICE) == ("/device/" in label))
            )
            lines.append(
                f"{identity}: a 2xx from {len(answered)} of {len(operations)} operations"
                + (f"; none from {', '.join(unanswered)}" if unanswered else "")
            )
        return lines


class FuzzHandler(WSGIHandler):
    """Django's own WSGI handler, counting each request and signing the device identity's ones.

    Signing happens here because only here are the body bytes and the path exactly those the
    server reads: after schemathesis serialised the generated case, before Django parses it.
    """

    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally
        self.device_id = ""
        self.device_secret = ""
        self._exception = threading.local()
        got_request_exception.connect(self._remember_exception, weak=False)

    def _remember_exception(self, sender, request=None, **kwargs) -> None:
        self._exception.text = _traceback_head(*sys.exc_info())

    def __call__(self, environ, start_response):
        if all(environ.get(name) == SIGN_ME for name in SIGNED_HEADERS):
            self._sign(environ)
        self.tally.requests[self.tally.identity] += 1
        self._exception.text = ""
        seen = {}

        def remember_status(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        response = super().__call__(environ, remember_status)
        if seen.get("status", 500) >= 500:
            self.tally.server_errors.append(
                ServerError(
                    identity=self.tally.identity,
                    method=environ.get("REQUEST_METHOD", ""),
                    path=environ.get("PATH_INFO", ""),
                    status=seen.get("status", 500),
                    traceback=self._exception.text or "(no exception: the view answered 5xx itself)",
                )
            )
        return response

    def _sign(self, environ) -> None:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        # The path and query exactly as the server will read them for its canonical request.
        path = WSGIRequest({**environ, "wsgi.input": io.BytesIO(body)}).get_full_path()
        headers = signing.signed_headers(self.device_id, self.device_secret, environ["REQUEST_METHOD"], path, body)
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value


TALLY = Tally()
HANDLER = FuzzHandler(TALLY)


def login(shopper) -> str:
    """A bearer token, the way the app gets one: POST /api/v1/auth/login."""
    response = Client(HANDLER).post("/api/v1/auth/login", json={"email": shopper.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.get_data()
    return response.get_json()["token"]


def _traceback_head(kind, error, trace) -> str:
    """The exception and the innermost frames of our own code: enough to tell one bug from another."""
    frames = traceback.extract_tb(trace)
    ours = [frame for frame in frames if "site-packages" not in frame.filename] or frames[-1:]
    lines = [f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}" for frame in ours[-3:]]
    return "\n".join([*lines, *traceback.format_exception_only(kind, error)]).strip()


def body_leaf_paths(raw_schema: dict) -> set[str]:
    """Every scalar field of every JSON request body, as schemathesis names it: `language`,
    `encoding[*]`, `user.email` ... (in a list of lists, each inner list: `encodings[*]`)"""
    components = raw_schema.get("components", {}).get("schemas", {})
    paths: set[str] = set()

    def walk(node: dict, prefix: str, seen: tuple[str, ...]) -> None:
        reference = node.get("$ref")
        if reference:
            name = reference.rsplit("/", 1)[-1]
            if name not in seen and name in components:
                walk(components[name], prefix, (*seen, name))
            return
        for branch in node.get("allOf", []) + node.get("oneOf", []) + node.get("anyOf", []):
            walk(branch, prefix, seen)
        if "properties" in node:
            for name, child in node["properties"].items():
                walk(child, f"{prefix}.{name}" if prefix else name, seen)
        elif "items" in node and prefix.endswith("[*]"):
            paths.add(prefix)  # a list of lists (frames of encodings): schemathesis names one level of [*]
        elif "items" in node:
            walk(node["items"], f"{prefix}[*]", seen)
        elif prefix:
            paths.add(prefix)

    for operations in raw_schema.get("paths", {}).values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            if "application/json" in content:
                walk(content["application/json"].get("schema", {}), "", ())
    return paths
