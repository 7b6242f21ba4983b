"""Security headers on everything Django answers: Content-Security-Policy, Permissions-Policy and
`Cache-Control: no-store` (docs/decisions/0012-security-headers.md).

The policy is the SECURE_CSP setting and a view replaces it with `csp_override`, the shape of
Django 6.0's own CSP support, so upgrading swaps this middleware for
django.middleware.csp.ContentSecurityPolicyMiddleware and the decorator's import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

Policy = Mapping[str, Sequence[str]]


def csp_override(policy: Policy):
    """This view answers under `policy` instead of SECURE_CSP."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response._csp_config = policy
            return response

        return wrapper

    return decorator


def permissions_policy_allow(**features: Sequence[str]):
    """Let this view's page use browser features that PERMISSIONS_POLICY denies everywhere else:
    `permissions_policy_allow(camera=["self"])`."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response._permissions_policy = {**settings.PERMISSIONS_POLICY, **features}
            return response

        return wrapper

    return decorator


def build_content_security_policy(policy: Policy) -> str:
    return "; ".join(f"{directive} {' '.join(sources)}".strip() for directive, sources in policy.items())


def build_permissions_policy(features: Policy) -> str:
    # Structured-field syntax: `self` is a token, an origin is a quoted string.
    def member(origin: str) -> str:
        return origin if origin in ("self", "*") else f'"{origin}"'

    return ", ".join(
        f"{feature}=({' '.join(member(origin) for origin in origins)})" for feature, origins in features.items()
    )


class SecurityHeadersMiddleware:
    """Just below WhiteNoise (static files keep their cache life and need none of this) and above
    every other middleware, so that answers they make or replace get the headers too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.content_security_policy = build_content_security_policy(settings.SECURE_CSP)
        self.permissions_policy = build_permissions_policy(settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Django's debug pages for 404 and 500 (DEBUG only) are built of inline script and style.
        debug_page = settings.DEBUG and response.status_code in (404, 500)
        if "Content-Security-Policy" not in response and not debug_page:
            override = getattr(response, "_csp_config", None)
            response["Content-Security-Policy"] = (
                build_content_security_policy(override) if override is not None else self.content_security_policy
            )
        if "Permissions-Policy" not in response:
            override = getattr(response, "_permissions_policy", None)
            response["Permissions-Policy"] = (
                build_permissions_policy(override) if override is not None else self.permissions_policy
            )
        # Every answer Django renders carries something of someone: a token, an entry pass, a
        # profile, a receipt, or at least the CSRF token of the language menu on every page.
        add_never_cache_headers(response)
        return response
