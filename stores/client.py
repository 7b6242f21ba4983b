"""Reference client for store integrators: signs requests to the FaceConsent device API.

Usable without Django (standard library only). As a command:

    python -m stores.client --url http://127.0.0.1:8000 --device DEVICE_ID --secret SECRET match --photo face.jpg
    python -m stores.client ... match --encoding encoding.json      # 128 numbers computed on the device
    python -m stores.client ... entry-pass --token TOKEN_FROM_QR

Credentials may also come from FACECONSENT_URL, FACECONSENT_DEVICE and FACECONSENT_SECRET. The exit
status is 0 when the server accepted the request, 1 when it refused it (its answer is printed), and 2
when it could not be reached or the command line is wrong (one line on stderr).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import sys
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.images import CONTENT_TYPES, image_format
from stores.signing import signed_headers

MATCH_PATH = "/api/v1/device/match"
ENTRY_PASS_PATH = "/api/v1/device/entry-pass"
EVENTS_PATH = "/api/v1/device/events"


def photo_content_type(photo: bytes) -> str:
    """The image type from the photo's first bytes (the server checks the image itself either way)."""
    return CONTENT_TYPES.get(image_format(photo) or "", "application/octet-stream")


@dataclass
class DeviceResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def server_timing(self) -> dict[str, float]:
        """Milliseconds by part from the Server-Timing header, e.g. {"worker": 101.2, "record": 4.8}."""
        timings = {}
        for metric in filter(None, (part.strip() for part in self.headers.get("server-timing", "").split(","))):
            name, *params = (param.strip() for param in metric.split(";"))
            for param in params:
                if param.startswith("dur="):
                    timings[name] = float(param[4:])
        return timings


class DeviceClient:
    """Signs and sends device requests over one kept-alive connection (reopened when the server closed it)."""

    def __init__(self, base_url: str, device_id: str, secret: str, *, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("The URL must start with http:// or https://.")
        self.base_url = base_url.rstrip("/")
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, parts.port
        self._prefix = parts.path.rstrip("/")
        self.device_id = device_id
        self.secret = secret
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            self._connection = kind(self._host, self._port, timeout=self.timeout)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> DeviceClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def send(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> DeviceResponse:
        """Send `payload` as JSON, or `body` as it is with its `content_type`."""
        full_path = self._prefix + path
        if body is None:
            body = json.dumps(payload or {}, separators=(",", ":")).encode()
        status, data, response_headers = self._exchange(
            method,
            full_path,
            body,
            lambda: {
                "Content-Type": content_type,
                "Accept": "application/json",
                **signed_headers(self.device_id, self.secret, method, full_path, body),
            },
        )
        return DeviceResponse(status, json.loads(data or b"{}"), response_headers)

    def _exchange(self, method: str, path: str, body: bytes, headers) -> tuple[int, bytes, dict[str, str]]:
        """One request over the kept-alive connection: status, body and lower-cased headers. `headers()` is
        called for each attempt, so each is signed afresh: a nonce is good for one request only."""
        for attempt in (1, 2):
            try:
                connection = self._connect()
                connection.request(method, path, body=body, headers=headers())
                response = connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # the server closed an idle connection: open a new one, once
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.close()
            return response.status, data, {name.lower(): value for name, value in response.getheaders()}
        raise AssertionError("unreachable")

    def match_photo(self, photo: bytes, entry_pass: str | None = None) -> DeviceResponse:
        if not entry_pass:  # the photo itself is the body: nothing to encode here or decode there
            return self.send("POST", MATCH_PATH, body=photo, content_type=photo_content_type(photo))
        return self.send("POST", MATCH_PATH, {"photo": base64.b64encode(photo).decode(), "entry_pass": entry_pass})

    def match_encoding(self, encoding: list[float], entry_pass: str | None = None) -> DeviceResponse:
        payload: dict[str, Any] = {"encoding": [float(value) for value in encoding]}
        if entry_pass:
            payload["entry_pass"] = entry_pass
        return self.send("POST", MATCH_PATH, payload)

    def match_frames(
        self,
        *,
        photos: list[bytes] | None = None,
        encodings: list[list[float]] | None = None,
        entry_pass: str | None = None,
    ) -> DeviceResponse:
        """Up to 3 frames of one approach (photos, or encodings computed on the device): a match only when
        every frame with a face names the same shopper."""
        payload: dict[str, Any] = {}
        if photos is not None:
            payload["photos"] = [base64.b64encode(photo).decode() for photo in photos]
        if encodings is not None:
            payload["encodings"] = [[float(value) for value in encoding] for encoding in encodings]
        if entry_pass:
            payload["entry_pass"] = entry_pass
        return self.send("POST", MATCH_PATH, payload)

    def entry_pass(self, token: str) -> DeviceResponse:
        return self.send("POST", ENTRY_PASS_PATH, {"entry_pass": token})

    def events(self, events: list[dict[str, Any]]) -> DeviceResponse:
        """Report up to 100 events about visits (exit, shelf_dwell, purchase, notice_shown); see the API docs."""
        return self.send("POST", EVENTS_PATH, {"events": events})

    def notice_shown(self, visit_id: str, notice_version: int, event_id: str | None = None) -> DeviceResponse:
        """Confirm the door showed a first visit's collection notice (the `notice_version` the match answered)."""
        event = {
            "event_id": event_id or f"notice-{visit_id}",
            "visit_id": visit_id,
            "kind": "notice_shown",
            "occurred_at": datetime.now(UTC).isoformat(),
            "notice_version": notice_version,
        }
        return self.events([event])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stores.client", description="Call the FaceConsent device API.")
    parser.add_argument("--url", default=os.environ.get("FACECONSENT_URL", "http://127.0.0.1:8000"))
    parser.add_argument(
        "--device", default=os.environ.get("FACECONSENT_DEVICE"), required="FACECONSENT_DEVICE" not in os.environ
    )
    parser.add_argument(
        "--secret", default=os.environ.get("FACECONSENT_SECRET"), required="FACECONSENT_SECRET" not in os.environ
    )
    commands = parser.add_subparsers(dest="command", required=True)
    match = commands.add_parser("match", help="recognise a face at the door")
    probe = match.add_mutually_exclusive_group(required=True)
    probe.add_argument("--photo", help="a JPEG, PNG or WebP file")
    probe.add_argument("--encoding", help="a JSON file with the 128 numbers computed on the device")
    match.add_argument("--entry-pass", help="1:1 mode: the token from the shopper's QR code")
    entry = commands.add_parser("entry-pass", help="let a shopper in with an entry pass, no face")
    entry.add_argument("--token", required=True)
    args = parser.parse_args(argv)

    try:
        client = DeviceClient(args.url, args.device, args.secret)
    except ValueError as error:
        parser.error(str(error))
    probe: bytes | list[float] | None = None
    source = (args.photo or args.encoding) if args.command == "match" else None
    try:
        if args.command == "match" and args.photo:
            with open(args.photo, "rb") as photo:
                probe = photo.read()
        elif args.command == "match":
            with open(args.encoding) as encoding:
                probe = json.load(encoding)
    except (OSError, ValueError) as error:
        parser.error(f"cannot read {source}: {getattr(error, 'strerror', None) or error}")
    try:
        with client:
            if isinstance(probe, bytes):
                response = client.match_photo(probe, args.entry_pass)
            elif probe is not None:
                response = client.match_encoding(probe, args.entry_pass)
            else:
                response = client.entry_pass(args.token)
    except (OSError, http.client.HTTPException) as error:
        # No server there, a wrong port or host, a broken connection: one line saying so, not a traceback.
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        print(f"{parser.prog}: cannot reach {client.base_url}: {reason}", file=sys.stderr)
        return 2
    print(json.dumps({"status": response.status, **response.body}, indent=2, ensure_ascii=False))
    return 0 if response.status < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
