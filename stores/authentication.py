"""Signed requests from store devices: each failure has its own code."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from core.db import PreparedQuery, columns, loaded
from core.errors import PayloadTooLarge
from stores import signing
from stores.models import Device, Operator, Store
from stores.sealing import device_secret_open

# Unix seconds as plain ASCII digits: int() would also take "+1_796_229_067", " 17 " or Arabic-Indic
# digits, and a number of 400 digits that no clock comparison can handle.
TIMESTAMP = re.compile(r"[0-9]{1,12}")
# Device ids are "dev_" and hex; anything else is unknown without a query (PostgreSQL would refuse
# a NUL character with an error rather than find nothing).
DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class DevicePrincipal:
    """Who a signed request comes from: a device, never a person."""

    device: Device
    is_authenticated: bool = True
    is_staff: bool = False


# Every device request starts by finding its device, store and operator (the door needs the operator's match
# rule, decision 0025); the ORM writes that query once.
_device_lookup = PreparedQuery(
    lambda device_id: Device.objects.filter(device_id=device_id).values(
        *columns(Device), *columns(Store, "store__"), *columns(Operator, "store__operator__")
    ),
    device_id=str,
)


def _device(device_id: str) -> Device | None:
    if not DEVICE_ID.fullmatch(device_id):
        return None
    found = _device_lookup.rows(device_id=device_id)
    if not found:
        return None
    device = loaded(Device, found[0])
    device.store = loaded(Store, found[0], prefix="store__")
    device.store.operator = loaded(Operator, found[0], prefix="store__operator__")
    return device


def _header(request, name: str) -> str:
    return request.META.get("HTTP_" + name.upper().replace("-", "_"), "")


class DeviceSignatureAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        values = {name: _header(request, name) for name in signing.HEADERS}
        if not all(values.values()):
            raise exceptions.AuthenticationFailed(_("This API needs a signed request."), code="signature_missing")
        device = _device(values[signing.DEVICE_HEADER])
        if device is None:
            raise exceptions.AuthenticationFailed(_("Unknown device."), code="device_unknown")
        if not TIMESTAMP.fullmatch(values[signing.TIMESTAMP_HEADER]):
            raise exceptions.AuthenticationFailed(
                _("The timestamp is not a number of seconds."), code="timestamp_invalid"
            )
        stamp = int(values[signing.TIMESTAMP_HEADER])
        if abs(time.time() - stamp) > settings.DEVICE_CLOCK_SKEW_SECONDS:
            raise exceptions.AuthenticationFailed(
                _("The request is too old or from the future; check the clock."), code="request_expired"
            )
        body = self._body(request._request)
        secret = device_secret_open(device.secret_nonce, device.secret_ciphertext, device_id=device.device_id)
        expected = signing.signature(
            secret,
            request.method,
            request._request.get_full_path(),
            values[signing.TIMESTAMP_HEADER],
            values[signing.NONCE_HEADER],
            body,
        )
        if not signing.signatures_match(expected, values[signing.SIGNATURE_HEADER]):
            raise exceptions.AuthenticationFailed(_("The signature does not match."), code="signature_invalid")
        # Checked after the signature, so nobody else can use up a device's nonces.
        nonce_key = f"device-nonce:{device.device_id}:{values[signing.NONCE_HEADER]}"
        if not cache.add(nonce_key, 1, timeout=2 * settings.DEVICE_CLOCK_SKEW_SECONDS):
            raise exceptions.AuthenticationFailed(_("This request was already received."), code="request_replayed")
        if device.is_revoked:
            raise exceptions.PermissionDenied(_("This device has been revoked."), code="device_revoked")
        request._request.signed_body = body
        return DevicePrincipal(device), device

    @staticmethod
    def _body(django_request) -> bytes:
        """The exact bytes that were signed, read once, within the device body limit."""
        if hasattr(django_request, "signed_body"):
            return django_request.signed_body
        declared = django_request.META.get("CONTENT_LENGTH") or "0"
        length = int(declared) if declared.isascii() and declared.isdigit() else 0
        if length > settings.DEVICE_MAX_BODY_BYTES:
            raise PayloadTooLarge(_("The request body is too large."))
        return django_request.read(length) if length else b""

    def authenticate_header(self, request) -> str:
        return "FC-HMAC-SHA256"


class IsDevice(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Device)


class DeviceSignatureScheme(OpenApiAuthenticationExtension):
    """The four headers a signed request carries, all required together (one security requirement)."""

    target_class = "stores.authentication.DeviceSignatureAuthentication"
    name = ["deviceId", "deviceTimestamp", "deviceNonce", "deviceSignature"]

    def get_security_definition(self, auto_schema):
        descriptions = {
            signing.DEVICE_HEADER: "The device's id, e.g. dev_0123456789abcdef.",
            signing.TIMESTAMP_HEADER: "When the request was signed, in unix seconds.",
            signing.NONCE_HEADER: "A value used once, for this request only.",
            signing.SIGNATURE_HEADER: (
                "HMAC-SHA256 with the device secret over the method, path, timestamp, nonce and the "
                "body's SHA-256; see stores/signing.py and the reference client stores/client.py."
            ),
        }
        return [
            {"type": "apiKey", "in": "header", "name": header, "description": description}
            for header, description in descriptions.items()
        ]
