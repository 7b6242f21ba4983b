"""Reading what a request says about itself without trusting what anyone can forge.

The client's address comes from `X-Forwarded-For` only when the deployment says how many proxies
of its own stand in front (`TRUSTED_PROXY_COUNT`, default none); media types are compared as
media types (case and parameters aside); JSON bodies are parsed with limits on depth and on text
that is not Unicode.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.utils.http import parse_header_parameters

# Deeper than any body the API accepts, far shallower than Python's recursion limit.
MAX_JSON_DEPTH = 32


def client_address(request: Any) -> str:
    """The address the request came from: REMOTE_ADDR, or the one the last trusted proxy saw.

    With N trusted proxies each appending the address it received from, the client's address is
    the Nth entry from the right of X-Forwarded-For; entries further left are the client's own word.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    return forwarded[-min(proxies, len(forwarded))]


def media_type(content_type: str | None) -> str:
    """`IMAGE/JPEG; charset=binary` -> `image/jpeg`; empty when there is none."""
    main, _params = parse_header_parameters(content_type or "")
    return main.strip().lower()


class JsonRefused(ValueError):
    """A body that is not JSON the API can take; `reason` is `malformed` or `too_deep`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def json_parse(text: str | bytes) -> Any:
    """Parse a JSON body, refusing what would hurt later: NaN and Infinity, nesting deeper than
    MAX_JSON_DEPTH (checked without recursion) and lone surrogates, which no UTF-8 answer can echo."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as error:  # nested beyond the interpreter's limit
        raise JsonRefused("too_deep") from error
    except ValueError as error:  # includes UnicodeDecodeError and integers of too many digits
        raise JsonRefused("malformed") from error
    _check_parsed(value)
    return value


def _check_parsed(value: Any) -> None:
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise JsonRefused("too_deep")
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key)
                pending.append((child, depth + 1))
        else:
            pending.extend((child, depth + 1) for child in item if isinstance(child, str | dict | list))


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise JsonRefused("malformed") from error
