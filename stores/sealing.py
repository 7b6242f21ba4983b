"""Server-side keys derived from SECRET_KEY: sealing device secrets, and per-operator shopper references."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

DEVICE_SECRET_KEY_ID = "sk1"


def _derived_key(purpose: str) -> bytes:
    return _derive(purpose, settings.SECRET_KEY)


@functools.lru_cache(maxsize=16)
def _derive(purpose: str, secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"faceconsent/{purpose}/v1".encode()).derive(
        secret_key.encode()
    )


def device_secret_seal(secret: str, *, device_id: str) -> tuple[str, bytes, bytes]:
    nonce = os.urandom(12)
    ciphertext = AESGCM(_derived_key("device-secret")).encrypt(nonce, secret.encode(), device_id.encode())
    return DEVICE_SECRET_KEY_ID, nonce, ciphertext


def device_secret_open(nonce: bytes, ciphertext: bytes, *, device_id: str) -> str:
    return AESGCM(_derived_key("device-secret")).decrypt(bytes(nonce), bytes(ciphertext), device_id.encode()).decode()


def shopper_reference(*, operator_id: int, shopper_public_id) -> str:
    """A stable pseudonym for one shopper at one operator; two operators never see the same one."""
    digest = hmac.new(
        _derived_key("shopper-reference"), f"{operator_id}:{shopper_public_id}".encode(), hashlib.sha256
    ).digest()
    return "shp_" + base64.b32encode(digest[:20]).decode().lower().rstrip("=")
