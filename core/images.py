"""The image formats photos may come in, told by a file's own first bytes (standard library only, so
the reference device client shares it)."""

from __future__ import annotations

CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def image_format(data: bytes) -> str | None:
    """ "jpeg", "png" or "webp" by the data's signature (what a file says it is counts for nothing);
    None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None
