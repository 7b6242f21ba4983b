"""The admin site: its login goes through the same failed-login throttle as the shoppers' doors."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm

from core.errors import TooManyRequests
from core.http import client_address
from portal.services import login_failure_record, login_success_record, login_throttle_check
from portal.staff.roles import ADMIN, PRIVACY_OFFICER, has_role

THROTTLED = "too_many_login_attempts"


class StaffLoginForm(AdminAuthenticationForm):
    def clean(self):
        email = self.cleaned_data.get("username") or ""
        client_ip = client_address(self.request)
        try:
            login_throttle_check(email=email, client_ip=client_ip)
        except TooManyRequests as error:
            raise forms.ValidationError(error.message, code=THROTTLED) from error
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            login_failure_record(email=email, client_ip=client_ip)
            raise
        login_success_record(email=email, client_ip=client_ip)
        return cleaned


class AdminSite(admin.AdminSite):
    login_form = StaffLoginForm

    def has_permission(self, request):
        """Staff past their second factor (decision 0035; the middleware sends the rest to it first) whose role
        works in the admin: privacy officers and admins (decision 0037)."""
        return (
            super().has_permission(request)
            and request.user.is_verified()
            and has_role(request.user, PRIVACY_OFFICER, ADMIN)
        )

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if form is not None and form.is_bound and form.has_error(forms.forms.NON_FIELD_ERRORS, THROTTLED):
            response.status_code = 429
        return response
