"""The template key ring of this deployment, from TEMPLATE_KEYS or, in the embedded default, a key file.

Keys never live in the database. The key file (var/template_keys) is re-read when it changes,
so a rotation done by `rotate_template_keys` reaches a running server and worker.
"""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings

from biometrics.protection import KeyRing, generate_key

_lock = threading.Lock()
_cache: dict[tuple, KeyRing] = {}


def _file_spec(path: Path) -> tuple[str, float]:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"k1:{generate_key()}\n")
        path.chmod(0o600)
    return path.read_text().strip(), path.stat().st_mtime


def key_ring() -> KeyRing:
    if settings.TEMPLATE_KEYS:
        spec, version = settings.TEMPLATE_KEYS, 0.0
    else:
        spec, version = _file_spec(Path(settings.TEMPLATE_KEYS_FILE))
    cache_key = (spec, version, settings.TEMPLATE_ACTIVE_KEY_ID)
    with _lock:
        ring = _cache.get(cache_key)
        if ring is None:
            _cache.clear()
            ring = _cache[cache_key] = KeyRing.parse(spec, settings.TEMPLATE_ACTIVE_KEY_ID or None)
        return ring


def key_file_add(key_id: str) -> None:
    """Append a new key to the embedded key file; being last, it becomes the active one."""
    path = Path(settings.TEMPLATE_KEYS_FILE)
    spec, _version = _file_spec(path)
    path.write_text(f"{spec},{key_id}:{generate_key()}\n")
