"""Template protection: authenticated encryption (AES-256-GCM) of face encodings, with a key ring.

Plain Python (no Django). Keys come from outside the database (the environment, or a key file
in the embedded default); each sealed template carries the id of the key that sealed it, and
is bound to its owner: a ciphertext moved to another shopper's row does not open.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from biometrics.faces import ENCODING_SIZE

NONCE_BYTES = 12
KEY_BYTES = 32


class TemplateKeyError(Exception):
    """A key ring that cannot be used: missing, malformed, or without the needed key."""


class TemplateDecryptionError(Exception):
    """A sealed template that does not open: wrong key, altered bytes, or another owner's."""


@dataclass(frozen=True)
class SealedTemplate:
    key_id: str
    nonce: bytes
    ciphertext: bytes


def generate_key() -> str:
    """A new key, base64 (URL-safe) encoded, for the TEMPLATE_KEYS variable."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


class KeyRing:
    """Named AES-256 keys; one of them (`active_key_id`) seals new templates."""

    def __init__(self, keys: dict[str, bytes], active_key_id: str) -> None:
        if not keys:
            raise TemplateKeyError("No template key is configured.")
        for key_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise TemplateKeyError(f"Template key {key_id!r} is not {KEY_BYTES} bytes.")
        if active_key_id not in keys:
            raise TemplateKeyError(f"The active template key {active_key_id!r} is not in the key ring.")
        self._keys = dict(keys)
        self.active_key_id = active_key_id

    @classmethod
    def parse(cls, spec: str, active_key_id: str | None = None) -> KeyRing:
        """From "id1:base64key,id2:base64key"; the active key defaults to the last one listed."""
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key_id, _, encoded = item.partition(":")
            if not key_id or not encoded:
                raise TemplateKeyError("TEMPLATE_KEYS entries must look like id:base64key.")
            try:
                keys[key_id] = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except ValueError as error:
                raise TemplateKeyError(f"Template key {key_id!r} is not valid base64.") from error
        if not keys:
            raise TemplateKeyError("No template key is configured.")
        return cls(keys, active_key_id or list(keys)[-1])

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def seal(self, encoding: np.ndarray, *, owner: str) -> SealedTemplate:
        values = np.asarray(encoding, dtype="<f8")
        if values.shape != (ENCODING_SIZE,):
            raise ValueError("An encoding has 128 numbers.")
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self._keys[self.active_key_id]).encrypt(
            nonce, values.tobytes(), _associated_data("template", owner, self.active_key_id)
        )
        return SealedTemplate(self.active_key_id, nonce, ciphertext)

    def open(self, sealed: SealedTemplate, *, owner: str) -> np.ndarray:
        key = self._keys.get(sealed.key_id)
        if key is None:
            raise TemplateDecryptionError(f"Key {sealed.key_id!r} is not in the key ring.")
        try:
            plain = AESGCM(key).decrypt(
                sealed.nonce, sealed.ciphertext, _associated_data("template", owner, sealed.key_id)
            )
        except InvalidTag as error:
            raise TemplateDecryptionError("The template does not open (altered, or not its owner's).") from error
        return np.frombuffer(plain, dtype="<f8").astype(np.float64)

    def seal_bytes(self, data: bytes, *, context: str) -> SealedTemplate:
        """Seal arbitrary bytes (a photo on its way to the worker) under the active key."""
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self._keys[self.active_key_id]).encrypt(
            nonce, data, _associated_data("bytes", context, self.active_key_id)
        )
        return SealedTemplate(self.active_key_id, nonce, ciphertext)

    def open_bytes(self, sealed: SealedTemplate, *, context: str) -> bytes:
        key = self._keys.get(sealed.key_id)
        if key is None:
            raise TemplateDecryptionError(f"Key {sealed.key_id!r} is not in the key ring.")
        try:
            return AESGCM(key).decrypt(
                sealed.nonce, sealed.ciphertext, _associated_data("bytes", context, sealed.key_id)
            )
        except InvalidTag as error:
            raise TemplateDecryptionError("The sealed data does not open with its key.") from error


def _associated_data(kind: str, owner: str, key_id: str) -> bytes:
    # Binds each ciphertext to what it is, whose it is and which key sealed it.
    return f"faceconsent/{kind}/v1|{owner}|{key_id}".encode()
