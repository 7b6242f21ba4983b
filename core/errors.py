"""The domain error every service raises: a stable machine-readable code and an HTTP status.

Plain Python, no Django, so the face engine and other pure modules can raise it too.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the caller can act on. `code` is stable; `message` is for people."""

    status = 400
    code = "invalid"
    message = "The request is invalid."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = str(message) if message is not None else str(self.message)
        self.code = code or self.code
        self.fields = fields or {}
        self.status = status or self.status
        self.extra = extra or {}
        super().__init__(self.message)


class ValidationFailed(DomainError):
    status = 400
    code = "invalid"
    message = "Some fields are not valid."


class AuthenticationRequired(DomainError):
    status = 401
    code = "not_authenticated"
    message = "Authentication is required."


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "Not found."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "This conflicts with the current state."


class Gone(DomainError):
    status = 410
    code = "gone"
    message = "This is no longer available."


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    message = "The request body is too large."


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"
    message = "This content type is not accepted here."


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"
    message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"
    message = "The service is not available right now."
