"""The account security pages: change the password or the email address, see and sign out the
browsers and apps signed in to the account. Each view validates a form and calls a service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.audit import Actor
from core.errors import DomainError, NotFound
from core.http import client_address
from core.models import Channel
from portal import forms
from portal.account.selectors import (
    api_token_get_for_user,
    email_change_pending,
    signed_in_list,
    web_session_get_for_user,
)
from portal.account.services import (
    email_change_cancel,
    email_change_confirm,
    email_change_request,
    password_change,
)
from portal.erasure.selectors import account_holdings
from portal.erasure.services import CATEGORIES, account_delete
from portal.services import api_token_revoke, sessions_end_others, web_session_end, web_session_rekey
from portal.views import _show_error


def _actor(request: HttpRequest) -> Actor:
    return Actor.shopper(request.user, Channel.WEB)


def _keep_signed_in(request: HttpRequest, user) -> None:
    """After a password change this browser stays signed in, under a new session key."""
    old_key = request.session.session_key
    update_session_auth_hash(request, user)
    web_session_rekey(old_key=old_key, new_key=request.session.session_key)


@login_required
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordChangeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            ended = password_change(
                user=request.user,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
                client_ip=client_address(request),
                channel=Channel.WEB,
                keep_session_key=request.session.session_key or "",
            )
        except DomainError as error:
            _show_error(form, error)
            status = error.status if error.status == 429 else 400
        else:
            _keep_signed_in(request, request.user)
            messages.success(
                request,
                _("Your password is changed. Other browsers and apps signed out: %(count)d.") % {"count": ended},
            )
            return redirect("portal:profile")
    elif form.errors:
        status = 400
    return render(request, "portal/account/password.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def email_change_view(request: HttpRequest) -> HttpResponse:
    form = forms.EmailChangeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            email_change_request(
                user=request.user,
                new_email=form.cleaned_data["new_email"],
                password=form.cleaned_data["password"],
                client_ip=client_address(request),
                channel=Channel.WEB,
            )
        except DomainError as error:
            _show_error(form, error)
            status = error.status if error.status in (409, 429) else 400
        else:
            messages.info(request, _("We sent a code to the new address. Enter it here to make the change."))
            return redirect("portal:email_change_confirm")
    elif form.errors:
        status = 400
    context = {"form": form, "pending": email_change_pending(user=request.user)}
    return render(request, "portal/account/email.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def email_change_confirm_view(request: HttpRequest) -> HttpResponse:
    pending = email_change_pending(user=request.user)
    form = forms.CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            email_change_confirm(user=request.user, code=form.cleaned_data["code"], channel=Channel.WEB)
        except DomainError as error:
            _show_error(form, error)
            status = error.status if error.status in (409, 429) else 400
        else:
            messages.success(request, _("Your email address is changed to %(email)s.") % {"email": request.user.email})
            return redirect("portal:profile")
    elif form.errors:
        status = 400
    context = {"form": form, "pending": pending}
    return render(request, "portal/account/email_confirm.html", context, status=status)


@login_required
@require_POST
def email_change_cancel_view(request: HttpRequest) -> HttpResponse:
    if email_change_cancel(user=request.user, channel=Channel.WEB):
        messages.info(request, _("The change of your email address is cancelled."))
    return redirect("portal:email_change")


@login_required
@require_safe
def sessions_view(request: HttpRequest) -> HttpResponse:
    signed_in = signed_in_list(user=request.user, current_session_key=request.session.session_key or "")
    return render(request, "portal/account/sessions.html", {"signed_in": signed_in})


@login_required
@require_POST
def web_session_sign_out(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        session = web_session_get_for_user(user=request.user, pk=session_id)
    except NotFound as error:
        raise Http404 from error
    current = session.session_key == request.session.session_key
    web_session_end(session=session, actor=_actor(request), reason="signed_out")
    if current:
        logout(request)
        messages.info(request, _("You are logged out."))
        return redirect("portal:login")
    messages.success(request, _("That browser is signed out."))
    return redirect("portal:sessions")


@login_required
@require_POST
def api_token_sign_out(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = api_token_get_for_user(user=request.user, pk=token_id)
    except NotFound as error:
        raise Http404 from error
    api_token_revoke(token=token, actor=_actor(request), reason="signed_out")
    messages.success(request, _("That app is signed out."))
    return redirect("portal:sessions")


@login_required
@require_POST
def sessions_sign_out_others(request: HttpRequest) -> HttpResponse:
    ended = sessions_end_others(
        user=request.user,
        actor=_actor(request),
        reason="signed_out",
        keep_session_key=request.session.session_key or "",
    )
    messages.success(request, _("Other browsers and apps signed out: %(count)d.") % {"count": ended})
    return redirect("portal:sessions")


@login_required
@require_http_methods(["GET", "POST"])
def account_delete_view(request: HttpRequest) -> HttpResponse:
    """Show everything the account holds that would go (GET); delete it all once the password confirms
    (POST), then show the receipt to the browser, now signed out."""
    form = forms.AccountDeleteForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            erased = account_delete(
                user=request.user,
                password=form.cleaned_data["password"],
                client_ip=client_address(request),
                channel=Channel.WEB,
            )
        except DomainError as error:
            _show_error(form, error)
            status = error.status if error.status in (403, 429) else 400
        else:
            logout(request)
            return render(
                request,
                "portal/account/deleted.html",
                {"counts": _by_category(erased.counts), "deleted_at": erased.deleted_at},
            )
    elif form.errors:
        status = 400
    holdings = account_holdings(user=request.user)
    return render(
        request, "portal/account/delete.html", {"form": form, "counts": _by_category(holdings)}, status=status
    )


def _by_category(counts: dict[str, int]) -> list[tuple[str, int]]:
    return [(label, counts[category]) for category, label in CATEGORIES.items() if counts.get(category)]
