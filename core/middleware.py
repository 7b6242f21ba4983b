"""Every error under /api/ answers in the one JSON error shape, whatever produced it.

DRF's handler and Django's handler404/400/500 already answer JSON there, but some answers come from
neither: with DEBUG on, Django's technical 404 and 400 pages (an unknown path, a path converter that
refuses its value, too many files or fields in a form). This replaces any such page with the
error shape, keeping the status.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _

from core.exception_handler import error_body

_BY_STATUS = {
    400: ("bad_request", _("The request could not be understood.")),
    401: ("not_authenticated", _("Authentication is required.")),
    403: ("forbidden", _("You are not allowed to do this.")),
    404: ("not_found", _("Not found.")),
    405: ("method_not_allowed", _("This method is not allowed here.")),
    413: ("payload_too_large", _("The request body is too large.")),
    415: ("unsupported_media_type", _("This content type is not accepted here.")),
    429: ("throttled", _("Too many requests; try again later.")),
    500: ("server_error", _("Something went wrong on our side; it has been logged.")),
}


class ApiErrorShapeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code, message = _BY_STATUS.get(response.status_code, ("error", _("The request failed.")))
            shaped = JsonResponse(error_body(code, str(message)), status=response.status_code)
            for header in ("Retry-After", "Allow", "WWW-Authenticate"):
                if header in response:
                    shaped[header] = response[header]
            return shaped
        return response
