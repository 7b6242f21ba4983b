"""Bytes sealed under the active template key for a trip through a task queue or Redis: an
enrollment's photos on their way to the enrollment worker, a door's probe photo to a match worker.

One format for both (docs/decisions/0017-one-rule-one-place.md):

    format (1 byte, 1) | key id length (1 byte) | key id (ASCII) | nonce (12 bytes) | AES-256-GCM ciphertext

kept as bytes where bytes can travel (Redis) and, in a JSON task message, as the same bytes in
base64 text. The context binds the sealed bytes to one use (an enrollment's n-th photo, one door
probe): they open nowhere else. Anything else, the photos' old `{"k", "n", "c"}` form included,
does not open (TemplateDecryptionError).
"""

from __future__ import annotations

import base64
import binascii

from biometrics.keys import key_ring
from biometrics.protection import NONCE_BYTES, SealedTemplate, TemplateDecryptionError

FORMAT = 1


def bytes_seal(data: bytes, *, context: str) -> bytes:
    box = key_ring().seal_bytes(data, context=context)
    key_id = box.key_id.encode("ascii")
    return bytes([FORMAT, len(key_id)]) + key_id + box.nonce + box.ciphertext


def bytes_open(sealed: bytes, *, context: str) -> bytes:
    """The bytes sealed for `context`; TemplateDecryptionError when they are not, or not in this format."""
    if not isinstance(sealed, bytes) or len(sealed) < 2 or sealed[0] != FORMAT:
        raise TemplateDecryptionError("These are not sealed bytes of this format.")
    nonce_at = 2 + sealed[1]
    if len(sealed) < nonce_at + NONCE_BYTES:
        raise TemplateDecryptionError("These sealed bytes are cut short.")
    box = SealedTemplate(
        sealed[2:nonce_at].decode("ascii", errors="replace"),
        sealed[nonce_at : nonce_at + NONCE_BYTES],
        sealed[nonce_at + NONCE_BYTES :],
    )
    return key_ring().open_bytes(box, context=context)


def sealed_text(sealed: bytes) -> str:
    """Sealed bytes as text, for a JSON task message."""
    return base64.b64encode(sealed).decode("ascii")


def sealed_from_text(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError) as error:
        raise TemplateDecryptionError("This text is not sealed bytes.") from error
