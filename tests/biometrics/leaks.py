"""Looks for photo bytes or clear encodings anywhere they must never be."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from django.apps import apps


def needles(photo: bytes, encoding: np.ndarray | None) -> dict[str, bytes]:
    """Byte strings that would give a photo or an encoding (None: a photo without one) away, whatever
    form they were kept in."""
    found = {}
    for offset in (0, len(photo) // 3, len(photo) // 2, len(photo) - 48):
        window = photo[offset : offset + 48]
        found[f"photo bytes at {offset}"] = window
        found[f"photo base64 at {offset}"] = base64.b64encode(photo[offset - offset % 3 :][:48])
    if encoding is None:
        return found
    for dtype in ("<f8", "<f4"):
        values = np.asarray(encoding, dtype=dtype)
        found[f"encoding as {dtype}"] = values[:8].tobytes()
        found[f"encoding as {dtype} base64"] = base64.b64encode(values[:6].tobytes())
    found["encoding as text"] = f"{encoding[0]:.6f}".encode()[:-1]
    found["encoding as json"] = json.dumps([float(v) for v in encoding[:2]])[1:-1].encode()
    return found


def _database_values() -> Iterator[tuple[str, bytes]]:
    for model in apps.get_models():
        for row in model.objects.all().values():
            for column, value in row.items():
                if value is None:
                    continue
                if isinstance(value, memoryview | bytes | bytearray):
                    data = bytes(value)
                elif isinstance(value, str):
                    data = value.encode()
                else:
                    data = json.dumps(value, default=str).encode()
                yield f"{model._meta.db_table}.{column}", data


def _files(folder: Path) -> Iterator[tuple[str, bytes]]:
    if folder.exists():
        for path in folder.rglob("*"):
            if path.is_file():
                yield str(path), path.read_bytes()


def leaks(
    photo: bytes, encoding: np.ndarray | None, *, folders: Iterable[Path] = (), extra: Iterable[tuple[str, bytes]] = ()
) -> list[str]:
    """Every place where a needle was found: tables, files under `folders`, and `extra` blobs."""
    found = []
    places = [*_database_values(), *(item for folder in folders for item in _files(folder)), *extra]
    for place, data in places:
        for name, needle in needles(photo, encoding).items():
            if needle and needle in data:
                found.append(f"{name} in {place}")
        if data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or b"RIFF" in data[:4]:
            found.append(f"an image file in {place}")
    return found
