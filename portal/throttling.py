"""One limit for the anonymous ways into an account, whichever door they come through.

The API's account endpoints and the web forms that do the same (sign-up, verification, password
reset) draw on one counter per client address, kept in the shared cache; the address comes from
`core.http.client_address`, never from a header the client writes itself.
"""

from __future__ import annotations

import functools
import math

from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

from core.http import client_address


class AnonymousAccountThrottle(SimpleRateThrottle):
    """Counts the requests that can do something (POST); a GET or HEAD, answered 405, counts nothing
    and writes nothing."""

    scope = "anonymous_account"

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


def anonymous_account_throttle(view):
    """The API's limit on a web form: each POST counts; over the limit the page answers 429."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            throttle = AnonymousAccountThrottle()
            if not throttle.allow_request(request, None):
                response = render(
                    request,
                    "429.html",
                    {"message": _("Too many requests from your network; wait a while and try again.")},
                    status=429,
                )
                response["Retry-After"] = str(math.ceil(throttle.wait() or 1))
                return response
        return view(request, *args, **kwargs)

    return wrapper
