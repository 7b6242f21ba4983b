"""The staff's second factor on the web: set up the authenticator app, then give a code at each sign-in."""

from __future__ import annotations

import base64
import functools

import segno
from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from core.errors import DomainError
from portal.staff.roles import SUPPORT_AGENT, has_role
from portal.staff.services import (
    staff_has_second_factor,
    staff_second_factor_check,
    staff_totp_confirm,
    staff_totp_start,
)
from portal.views import _show_error


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _next(request: HttpRequest) -> str:
    target = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) and target.startswith("/"):
        return target
    return reverse("portal:staff_requests" if has_role(request.user, SUPPORT_AGENT) else "admin:index")


def _staff(view):
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            return redirect("portal:profile")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def role_required(*roles: str):
    """A staff page for these roles only (an admin holds every role); other staff get 403."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return _staff(wrapped)

    return decorate


@_staff
@require_http_methods(["GET", "POST"])
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    if staff_has_second_factor(request.user):
        return redirect(f"{reverse('portal:staff_second_factor')}?{request.GET.urlencode()}")
    device = staff_totp_start(user=request.user)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            confirmed = staff_totp_confirm(user=request.user, code=form.cleaned_data["code"])
        except DomainError as error:
            _show_error(form, error)
            status = error.status if error.status == 429 else 400
        else:
            otp_login(request, confirmed.device)
            return render(
                request,
                "portal/staff/backup_codes.html",
                {"codes": confirmed.backup_codes, "next": _next(request)},
            )
    elif form.errors:
        status = 400
    key = base64.b32encode(device.bin_key).decode()
    qr = segno.make(device.config_url, error="m").svg_inline(scale=4, title=_("Your authenticator app's key"))
    return render(
        request,
        "portal/staff/second_factor_setup.html",
        {"form": form, "key": " ".join(key[i : i + 4] for i in range(0, len(key), 4)), "qr": qr},
        status=status,
    )


@_staff
@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    if not staff_has_second_factor(request.user):
        return redirect(f"{reverse('portal:staff_second_factor_setup')}?{request.GET.urlencode()}")
    if request.user.is_verified():
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device = staff_second_factor_check(user=request.user, code=form.cleaned_data["code"])
        except DomainError as error:
            _show_error(form, error)
            status = error.status if error.status == 429 else 400
        else:
            otp_login(request, device)
            return redirect(_next(request))
    elif form.errors:
        status = 400
    return render(request, "portal/staff/second_factor.html", {"form": form}, status=status)
