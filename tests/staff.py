"""Staff members as tests meet them: the code an authenticator app would show for a key."""

from __future__ import annotations

import base64
import time

from django_otp.oath import TOTP


def app_code(key: bytes | str, *, steps_ahead: int = 0) -> str:
    """The six digits an authenticator app shows for this key (raw bytes, or base32 with spaces as the setup
    page shows it), now or `steps_ahead` 30-second steps from now."""
    if isinstance(key, str):
        key = base64.b32decode(key.replace(" ", ""))
    generator = TOTP(key, step=30, t0=0, digits=6)
    generator.time = time.time() + 30 * steps_ahead
    return f"{generator.token():06d}"
