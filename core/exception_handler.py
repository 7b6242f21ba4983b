"""One error shape for every failure: {"error": {"code", "message", "fields"}}.

`api_exception_handler` is DRF's handler; the `*_view` functions are Django's handler400/403/
404/500, answering JSON under /api/ (and to clients that ask for JSON) and a page elsewhere.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf
from rest_framework.response import Response

from core.errors import DomainError, TooManyRequests

FieldErrors = dict[str, list[dict[str, str]]]


def error_body(code: str, message: str, fields: FieldErrors | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": str(message), "fields": fields or {}, **extra}}


def field_errors(detail: Any, prefix: str = "") -> FieldErrors:
    """Flatten DRF's nested error detail into {"field.sub": [{"code", "message"}]}."""
    fields: FieldErrors = {}
    if isinstance(detail, dict):
        for name, value in detail.items():
            key = f"{prefix}.{name}" if prefix else str(name)
            for sub_key, errors in field_errors(value, key).items():
                fields.setdefault(sub_key, []).extend(errors)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                for sub_key, errors in field_errors(item, f"{prefix}.{index}" if prefix else str(index)).items():
                    fields.setdefault(sub_key, []).extend(errors)
            else:
                fields.setdefault(prefix or "non_field_errors", []).append(_one_error(item))
    else:
        fields.setdefault(prefix or "non_field_errors", []).append(_one_error(detail))
    return fields


def _one_error(item: Any) -> dict[str, str]:
    return {"code": str(getattr(item, "code", None) or "invalid"), "message": str(item)}


def _django_validation_fields(error: DjangoValidationError) -> FieldErrors:
    if hasattr(error, "error_dict"):
        return {
            "non_field_errors" if name == "__all__" else name: [
                {"code": item.code or "invalid", "message": " ".join(item.messages)} for item in items
            ]
            for name, items in error.error_dict.items()
        }
    return {
        "non_field_errors": [
            {"code": item.code or "invalid", "message": " ".join(item.messages)} for item in error.error_list
        ]
    }


# DRF's exception classes mapped to our stable codes.
DRF_CODES: dict[type[drf.APIException], str] = {
    drf.ParseError: "malformed_body",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "authentication_failed",
    drf.PermissionDenied: "forbidden",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.Throttled: "throttled",
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        if isinstance(exc, TooManyRequests) and exc.retry_after:
            headers["Retry-After"] = str(exc.retry_after)
        body = error_body(
            exc.code,
            exc.message,
            {k: [{"code": exc.code, "message": m} for m in v] for k, v in exc.fields.items()},
            **exc.extra,
        )
        return Response(body, status=exc.status, headers=headers)
    if isinstance(exc, SuspiciousOperation):
        return _suspicious_request(exc)
    if isinstance(exc, DjangoValidationError):
        return Response(
            error_body("invalid", _("Some fields are not valid."), _django_validation_fields(exc)), status=400
        )
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    if not isinstance(exc, drf.APIException):
        return None  # A real bug: Django's handler500 answers it in the same shape.

    if isinstance(exc, drf.ValidationError):
        body = error_body("invalid", _("Some fields are not valid."), field_errors(exc.detail))
    else:
        code = _api_exception_code(exc)
        message = exc.detail if isinstance(exc.detail, str) else exc.default_detail
        if isinstance(exc, drf.ParseError) and "JSON" in str(exc.detail):
            code, message = "malformed_json", _("The request body is not valid JSON.")
        body = error_body(code, str(message))
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    return Response(body, status=exc.status_code, headers=headers)


def _suspicious_request(exc: SuspiciousOperation) -> Response:
    """Django's refusals of a request it will not read (too big, too many parts) as 4xx answers."""
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("payload_too_large", _("The request body is too large.")), status=413)
    if isinstance(exc, TooManyFilesSent):
        return Response(error_body("too_many_files", _("The request holds too many files.")), status=400)
    if isinstance(exc, TooManyFieldsSent):
        return Response(error_body("too_many_fields", _("The request holds too many fields.")), status=400)
    return Response(error_body("bad_request", _("The request could not be understood.")), status=400)


def _api_exception_code(exc: drf.APIException) -> str:
    detail_code = getattr(exc.detail, "code", None)
    default_code = getattr(exc, "default_code", None)
    # A code set on purpose (raise AuthenticationFailed(..., code="token_expired")) wins.
    if detail_code and detail_code != default_code:
        return str(detail_code)
    if isinstance(exc, drf.PermissionDenied) and str(exc.detail).startswith("CSRF Failed"):
        return "csrf_failed"
    for cls in type(exc).__mro__:
        if cls in DRF_CODES:
            return DRF_CODES[cls]
    return str(default_code or "error")


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def _error_view(request: HttpRequest, status: int, code: str, message: str, template: str) -> HttpResponse:
    if wants_json(request):
        return JsonResponse(error_body(code, message), status=status)
    return render(request, template, {"message": message}, status=status)


def bad_request_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_view(request, 400, "bad_request", _("The request could not be understood."), "400.html")


def permission_denied_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_view(request, 403, "forbidden", _("You are not allowed to do this."), "403.html")


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_view(request, 404, "not_found", _("Not found."), "404.html")


# A service the request needs is unreachable (the database restarting, Redis stopped): no fault of the
# request and no bug of ours, so 503 with a code and a time to come back, never a 500.
OUTAGES: tuple[type[BaseException], ...] = (
    DatabaseOperationalError,
    DatabaseInterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
)
OUTAGE_RETRY_AFTER = 5


def server_error_view(request: HttpRequest) -> HttpResponse:
    """The 500 page: no context processors (the failure may be the database a processor reads, or
    a processor itself), yet in the request's language, which the language middleware gave it. Django calls it
    while handling the exception, so the exception is at hand: an outage answers 503 `service_unavailable`."""
    language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(request)
    outage = isinstance(sys.exc_info()[1], OUTAGES)
    with translation.override(language):
        if outage:
            message = _("A service we depend on is unavailable for a moment; try again in a few seconds.")
            status, body = 503, error_body("service_unavailable", message)
        else:
            message = _("Something went wrong on our side; it has been logged.")
            status, body = 500, error_body("server_error", message)
        if wants_json(request):
            response = JsonResponse(body, status=status)
        else:
            page = loader.render_to_string(
                "500.html", {"message": message, "LANGUAGE_CODE": translation.get_language()}
            )
            response = HttpResponse(page, status=status)
    if outage:
        response["Retry-After"] = str(OUTAGE_RETRY_AFTER)
    return response


def csrf_failure_view(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error_view(
        request,
        403,
        "csrf_failed",
        _("The form expired or came from elsewhere; reload the page and try again."),
        "403.html",
    )
