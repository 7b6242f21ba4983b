"""A staff member signed in with a password only reaches the pages that set up or ask for the second factor
(decision 0035). Everything else, the admin and the door simulator included, sends them there first; a
call under /api/ answers 403 `second_factor_required`."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from core.exception_handler import error_body
from portal.staff.services import staff_has_second_factor

# What a staff member without the second factor may reach: the two pages themselves, logging out, the
# language switch, and the site's plumbing.
REACHABLE = {
    "portal:staff_second_factor_setup",
    "portal:staff_second_factor",
    "portal:logout",
    "set_language",
    "healthz",
    "favicon",
}


class StaffSecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff and not user.is_verified():
            try:
                name = resolve(request.path_info).view_name
            except Resolver404:
                name = ""
            if name not in REACHABLE and not request.path_info.startswith("/static/"):
                return self._send_to_second_factor(request, user)
        return self.get_response(request)

    def _send_to_second_factor(self, request: HttpRequest, user) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            message = _("Staff members confirm their second factor on the web first.")
            return JsonResponse(error_body("second_factor_required", message), status=403)
        page = "portal:staff_second_factor" if staff_has_second_factor(user) else "portal:staff_second_factor_setup"
        return redirect(f"{reverse(page)}?{urlencode({'next': request.get_full_path()})}")
