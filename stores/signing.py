"""How an entrance device signs a request: HMAC-SHA256 over method, path, time, nonce and body.

Plain Python, shared by the server and the reference client (`stores/client.py`).

    canonical = "fc1", METHOD, path?query, unix seconds, nonce, hex(sha256(body)), joined by newlines
    X-FC-Signature = hex(hmac_sha256(secret, canonical))
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

VERSION = "fc1"
DEVICE_HEADER = "X-FC-Device"
TIMESTAMP_HEADER = "X-FC-Timestamp"
NONCE_HEADER = "X-FC-Nonce"
SIGNATURE_HEADER = "X-FC-Signature"
HEADERS = (DEVICE_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)


def canonical_request(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([VERSION, method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()]).encode()


def signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(
        secret.encode(), canonical_request(method, path, timestamp, nonce, body), hashlib.sha256
    ).hexdigest()


def signed_headers(
    device_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four headers that make a request the device's own."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(16)
    return {
        DEVICE_HEADER: device_id,
        TIMESTAMP_HEADER: stamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(secret, method, path, stamp, nonce, body),
    }


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
