"""Shopper web pages for accounts. Each view validates a form and calls a service."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.i18n import set_language

from core.errors import DomainError
from core.http import client_address
from core.models import Channel
from portal import forms
from portal.account.services import web_session_logout
from portal.models import Language
from portal.selectors import password_reset_user_get
from portal.services import (
    email_verification_resend,
    email_verify,
    password_reset_confirm,
    password_reset_request,
    user_authenticate,
    user_profile_update,
    user_register,
    web_session_start,
)
from portal.throttling import anonymous_account_throttle
from stores.selectors import operator_list


def _show_error(form, error: DomainError) -> None:
    """Put a service's refusal on the form: on its fields where it names them."""
    placed = False
    for name, field_messages in error.fields.items():
        if name in form.fields:
            for message in field_messages:
                form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def _session_record(request: HttpRequest, user) -> None:
    """List this browser on the sessions page, named from its User-Agent."""
    # Login has just saved the session under a new key.
    web_session_start(
        user=user, session_key=request.session.session_key, user_agent=request.headers.get("User-Agent", "")
    )


# A language picked in the header before logging in: login makes it the profile's language.
LANGUAGE_CHOSEN_SESSION_KEY = "portal_language_chosen"


def _language_follow_profile(response: HttpResponse, user) -> HttpResponse:
    """From this answer on, pages and the header's menu speak the profile's language."""
    translation.activate(user.language)
    # With the attributes Django's own language switch gives it (secure where the site is HTTPS).
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        user.language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


@require_http_methods(["GET", "POST"])
def language_switch(request: HttpRequest) -> HttpResponse:
    """The header's language menu. The choice just made wins: signed in, it becomes the profile's
    language (audited); before login, login makes it so."""
    response = set_language(request)
    language = request.POST.get("language")
    if request.method == "POST" and language in Language.values:
        if request.user.is_authenticated:
            user_profile_update(user=request.user, channel=Channel.WEB, language=language)
        else:
            request.session[LANGUAGE_CHOSEN_SESSION_KEY] = language
    return response


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico where a page names no icon (the admin, an API answer)."""
    return redirect(static("portal/favicon.svg"))


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"operators": operator_list()})


@anonymous_account_throttle
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = forms.SignUpForm(request.POST or None, initial={"language": translation.get_language()})
    if request.method == "POST" and form.is_valid():
        try:
            user = user_register(**form.cleaned_data, channel=Channel.WEB)
        except DomainError as error:
            _show_error(form, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            _session_record(request, user)
            # The form's language field is the latest choice; it is already the profile's.
            request.session.pop(LANGUAGE_CHOSEN_SESSION_KEY, None)
            response = _language_follow_profile(redirect(f"{reverse('portal:verify_email')}?email={user.email}"), user)
            messages.success(request, _("Welcome! We sent a six-digit code to %(email)s.") % {"email": user.email})
            return response
    return render(request, "portal/signup.html", {"form": form}, status=400 if form.errors else 200)


@anonymous_account_throttle
@require_http_methods(["GET", "POST"])
def verify_email(request: HttpRequest) -> HttpResponse:
    initial = {"email": request.GET.get("email") or (request.user.email if request.user.is_authenticated else "")}
    form = forms.VerifyEmailForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            email_verify(**form.cleaned_data, channel=Channel.WEB)
        except DomainError as error:
            _show_error(form, error)
        else:
            messages.success(request, _("Your email address is verified."))
            return redirect("portal:profile" if request.user.is_authenticated else "portal:login")
    return render(request, "portal/verify_email.html", {"form": form}, status=400 if form.errors else 200)


@anonymous_account_throttle
@require_POST
def verify_email_resend(request: HttpRequest) -> HttpResponse:
    form = forms.EmailOnlyForm(request.POST)
    if form.is_valid():
        try:
            email_verification_resend(email=form.cleaned_data["email"], channel=Channel.WEB)
            messages.info(request, _("If that account waits for verification, a new code is on its way."))
        except DomainError as error:
            messages.error(request, error.message)
        return redirect(f"{reverse('portal:verify_email')}?email={form.cleaned_data['email']}")
    return redirect("portal:verify_email")


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = forms.LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = user_authenticate(**form.cleaned_data, client_ip=client_address(request))
        except DomainError as error:
            _show_error(form, error)
            status = error.status if error.status == 429 else 400
        else:
            chosen = request.session.get(LANGUAGE_CHOSEN_SESSION_KEY)
            login(request, user)
            _session_record(request, user)
            request.session.pop(LANGUAGE_CHOSEN_SESSION_KEY, None)
            if chosen in Language.values:
                # Chosen in this browser just before logging in: the shopper's latest word.
                user_profile_update(user=user, channel=Channel.WEB, language=chosen)
            target = request.GET.get("next", "")
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = reverse("portal:profile")
            return _language_follow_profile(redirect(target), user)
    elif form.errors:
        status = 400
    return render(request, "portal/login.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.session.session_key:
        web_session_logout(user=request.user, session_key=request.session.session_key)
    logout(request)
    messages.info(request, _("You are logged out."))
    return redirect("portal:home")


@anonymous_account_throttle
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = forms.EmailOnlyForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            password_reset_request(email=form.cleaned_data["email"], channel=Channel.WEB)
        except DomainError as error:
            _show_error(form, error)
            status = error.status
        else:
            return render(request, "portal/password_reset_sent.html")
    elif form.errors:
        status = 400
    return render(request, "portal/password_reset.html", {"form": form}, status=status)


@anonymous_account_throttle
@require_http_methods(["GET", "POST"])
def password_reset_confirm_view(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    try:
        password_reset_user_get(uidb64=uidb64, token=token)
    except DomainError as error:
        return render(request, "portal/password_reset_confirm.html", {"invalid": error.message}, status=400)
    form = forms.SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_reset_confirm(
                uidb64=uidb64, token=token, new_password=form.cleaned_data["new_password"], channel=Channel.WEB
            )
        except DomainError as error:
            _show_error(form, error)
            if "password" in error.fields:
                for message in error.fields["password"]:
                    form.add_error("new_password", message)
        else:
            messages.success(request, _("Your password is changed; log in with it."))
            return redirect("portal:login")
    return render(request, "portal/password_reset_confirm.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = forms.ProfileForm(
        request.POST or None,
        initial={
            "display_name": user.display_name,
            "date_of_birth": user.date_of_birth,
            "language": user.language,
            "time_zone": user.time_zone,
            "recognition_email": user.recognition_email,
            "footprint_retention_months": user.footprint_retention_months,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            user_profile_update(user=user, channel=Channel.WEB, **form.cleaned_data)
        except DomainError as error:
            _show_error(form, error)
        else:
            response = _language_follow_profile(redirect("portal:profile"), user)
            messages.success(request, _("Your profile is saved."))
            return response
    return render(request, "portal/profile.html", {"form": form}, status=400 if form.errors else 200)
