"""Signed requests to the device API through Django's test client."""

from __future__ import annotations

import base64
import json

from stores import signing


def signed_post(
    client,
    device,
    secret: str,
    path: str,
    payload: dict | None = None,
    *,
    body: bytes | None = None,
    timestamp: int | None = None,
    nonce: str | None = None,
    headers: dict | None = None,
    content_type: str | None = "application/json",
    sent_body: bytes | None = None,
):
    """Sign `payload` (as JSON) or `body` and post it; `sent_body` posts other bytes under that signature.
    The content type goes with every request, an empty one too, as a device's HTTP client sends it;
    `content_type=None` sends none."""
    raw = body if body is not None else json.dumps(payload or {}).encode()
    signed = signing.signed_headers(device.device_id, secret, "POST", path, raw, timestamp=timestamp, nonce=nonce)
    signed.update(headers or {})
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in signed.items()}
    meta["CONTENT_TYPE"] = content_type or ""
    sent = raw if sent_body is None else sent_body
    return client.generic("POST", path, sent, **meta)


def match_photo(client, device, secret, photo: bytes, **extra):
    return signed_post(
        client, device, secret, "/api/v1/device/match", {"photo": base64.b64encode(photo).decode(), **extra}
    )


def match_photo_body(client, device, secret, photo: bytes, content_type: str = "image/jpeg"):
    """The photo itself as the request body, as the reference client sends it."""
    return signed_post(client, device, secret, "/api/v1/device/match", body=photo, content_type=content_type)


def match_encoding(client, device, secret, encoding, **extra):
    return signed_post(client, device, secret, "/api/v1/device/match", {"encoding": list(encoding), **extra})
