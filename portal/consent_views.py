"""Shopper pages for notices, consents, receipts and the entry pass; public retention pages."""

from __future__ import annotations

import json

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from consent.models import Purpose
from consent.selectors import (
    consent_choices_for_shopper,
    consent_events_for_shopper,
    consent_get_for_shopper,
    consent_list_for_shopper,
    consenting_operators,
    face_withdrawal_outlook,
    notice_version_current,
    notice_version_get_published,
    notice_versions_current,
)
from consent.services import (
    consent_answer,
    consent_reaffirm,
    consent_withdraw,
    consents_withdraw_all,
    entry_pass_issue,
)
from core.errors import DomainError, NotFound
from core.minors import minimum_age
from core.models import Channel
from portal.forms import EntryPassForm
from portal.receipts import consent_receipt, receipt_language
from portal.time_zones import time_zone_activate
from stores.selectors import operator_get_by_slug


@login_required
@require_GET
def consent_overview(request: HttpRequest) -> HttpResponse:
    """Every operator's purposes with the shopper's answer, and the history of every decision; beside
    each withdrawal, whether it would delete the face template."""
    choices = consent_choices_for_shopper(shopper=request.user)
    consents = list(consent_list_for_shopper(shopper=request.user)[:50])
    # The operators the shopper dealt with, else those asking: their zone if they share one.
    time_zone_activate(request, *[consent.operator for consent in consents] or [choice.operator for choice in choices])
    return render(
        request,
        "portal/consents/overview.html",
        {
            "choices": choices,
            "minimum_age": minimum_age(),
            "consenting_operators": consenting_operators(choices),
            "consents": consents,
            "events": consent_events_for_shopper(shopper=request.user)[:50],
        },
    )


def _decide(request: HttpRequest, operator, purpose: str) -> None:
    """The shopper's answer (`consent_answer` records the notice as shown with it)."""
    decision = request.POST.get("decision")
    try:
        shown = notice_version_get_published(pk=int(request.POST.get("notice_version", "0")))
    except ValueError as error:
        raise DomainError(_("Choose yes or no."), code="decision_required") from error
    consent_answer(
        shopper=request.user,
        operator=operator,
        purpose=purpose,
        notice_version=shown,
        decision=decision,
        channel=Channel.WEB,
    )
    if decision == "give":
        messages.success(request, _("Thank you. Your consent is recorded; you can withdraw it here at any time."))
    else:
        messages.info(request, _("Your answer is recorded: no. Nothing else about your account changes."))


@login_required
@require_http_methods(["GET", "POST"])
def consent_decide(request: HttpRequest, slug: str, purpose: str) -> HttpResponse:
    """The consent step of its own: the notice in full, then an explicit yes or no."""
    if purpose not in Purpose.values:
        raise Http404
    try:
        operator = operator_get_by_slug(slug=slug)
        version = notice_version_current(operator=operator, purpose=purpose)
    except NotFound as error:
        raise Http404 from error
    time_zone_activate(request, operator)
    status = 200
    if request.method == "POST":
        try:
            _decide(request, operator, purpose)
            return redirect("portal:consents")
        except DomainError as error:
            messages.error(request, error.message)
            status = 400
    return render(
        request,
        "portal/consents/decide.html",
        {
            "operator": operator,
            "purpose": purpose,
            "purpose_label": Purpose(purpose).label,
            "version": version,
            "language": get_language(),
        },
        status=status,
    )


def _own_consent(request: HttpRequest, public_id):
    try:
        return consent_get_for_shopper(shopper=request.user, public_id=public_id)
    except NotFound as error:
        raise Http404 from error


@login_required
@require_POST
def consent_withdraw_view(request: HttpRequest, public_id) -> HttpResponse:
    consent = _own_consent(request, public_id)
    try:
        ended = consent_withdraw(consent=consent, channel=Channel.WEB)
        messages.success(
            request,
            _("Withdrawn. From now on %(operator)s cannot use this consent.") % {"operator": consent.operator.name},
        )
        if ended.templates_deleted:
            messages.info(request, _templates_deleted_message())
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("portal:consents")


def _templates_deleted_message() -> str:
    return _(
        "Your face template has been deleted: no store operator holds your face recognition consent any more. "
        "To be recognised again, give that consent and enroll your face anew."
    )


def _withdraw_all_scope(slug: str):
    """The operator named by the form or the address, or None: every operator."""
    if not slug:
        return None
    try:
        return operator_get_by_slug(slug=slug)
    except NotFound as error:
        raise Http404 from error


@login_required
@require_http_methods(["GET", "POST"])
def consent_withdraw_all_view(request: HttpRequest) -> HttpResponse:
    """Withdraw everything, for one operator (`operator`) or for all: the page says what will happen,
    the button does it."""
    if request.method == "POST":
        operator = _withdraw_all_scope(request.POST.get("operator", ""))
        withdrawn = consents_withdraw_all(shopper=request.user, channel=Channel.WEB, operator=operator)
        count = len(withdrawn.consents)
        if operator is None:
            done = ngettext(
                "Withdrawn: %(count)d consent. From now on no store can use it.",
                "Withdrawn: %(count)d consents. From now on no store can use them.",
                count,
            ) % {"count": count}
        else:
            done = ngettext(
                "Withdrawn: %(count)d consent. From now on %(operator)s cannot use it.",
                "Withdrawn: %(count)d consents. From now on %(operator)s cannot use them.",
                count,
            ) % {"count": count, "operator": operator.name}
        messages.success(request, done)
        if withdrawn.templates_deleted:
            messages.info(request, _templates_deleted_message())
        return redirect("portal:consents")
    operator = _withdraw_all_scope(request.GET.get("operator", ""))
    filters = {"status": "active", **({"operator": operator.slug} if operator else {})}
    return render(
        request,
        "portal/consents/withdraw_all.html",
        {
            "operator": operator,
            "consents": consent_list_for_shopper(shopper=request.user, filters=filters),
            "deletes_templates": face_withdrawal_outlook(shopper=request.user).withdrawing_all_deletes_templates(
                operator
            ),
        },
    )


@login_required
@require_POST
def consent_reaffirm_view(request: HttpRequest, public_id) -> HttpResponse:
    consent = _own_consent(request, public_id)
    try:
        version = notice_version_current(operator=consent.operator, purpose=consent.purpose)
        consent_reaffirm(consent=consent, notice_version=version, channel=Channel.WEB)
        messages.success(request, _("Reaffirmed. Your consent is valid for another period."))
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("portal:consents")


@login_required
@require_GET
def consent_receipt_download(request: HttpRequest, public_id) -> HttpResponse:
    consent = _own_consent(request, public_id)
    try:
        language = receipt_language(request, shopper=request.user, accept_language=False)
    except DomainError as error:
        return render(request, "400.html", {"message": error.message}, status=400)
    body = json.dumps(consent_receipt(consent=consent, language=language), indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{consent.public_id}.json"'
    return response


def _duration(seconds: int) -> str:
    """A lifetime as people say it: whole minutes when it is, seconds otherwise."""
    if seconds % 60:
        return ngettext("%(count)s second", "%(count)s seconds", seconds) % {"count": seconds}
    minutes = seconds // 60
    return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}


@login_required
@require_http_methods(["GET", "POST"])
def entry_pass(request: HttpRequest) -> HttpResponse:
    """Asking (POST) shows a fresh pass for where the shopper chose; the page asks again by itself,
    for the same place, shortly before it expires."""
    context = {"issued": None, "lifetime": _duration(int(settings.ENTRY_PASS_LIFETIME.total_seconds()))}
    if request.method == "GET":
        return render(request, "portal/consents/entry_pass.html", {**context, "form": EntryPassForm()})
    form = EntryPassForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/consents/entry_pass.html", {**context, "form": form}, status=400)
    issued = entry_pass_issue(shopper=request.user, channel=Channel.WEB, operator=form.cleaned_data["operator"])
    time_zone_activate(request, issued.entry_pass.operator)
    qr_svg = segno.make(issued.token, error="m").svg_inline(scale=5, title=_("Your entry pass"))
    seconds = int((issued.entry_pass.expires_at - issued.entry_pass.issued_at).total_seconds())
    return render(
        request,
        "portal/consents/entry_pass.html",
        {
            **context,
            "issued": issued,
            "qr_svg": qr_svg,
            "renew_after": max(seconds - 15, 5),
        },
    )


@require_GET
def operator_retention(request: HttpRequest, slug: str) -> HttpResponse:
    """Public, no login: how long this operator keeps face data and when it is destroyed (C10)."""
    try:
        operator = operator_get_by_slug(slug=slug)
    except NotFound as error:
        raise Http404 from error
    time_zone_activate(request, operator)
    return render(
        request,
        "portal/public/retention.html",
        {
            "operator": operator,
            "versions": notice_versions_current(operator=operator),
            "consent_validity_days": settings.CONSENT_VALIDITY.days,
            "language": get_language(),
        },
    )


@require_GET
def notice_version_public(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Public, no login: one published notice version, as it was shown."""
    try:
        version = notice_version_get_published(pk=pk)
    except NotFound as error:
        raise Http404 from error
    if version.notice.operator.slug != slug:
        raise Http404
    time_zone_activate(request, version.notice.operator)
    return render(
        request,
        "portal/public/notice.html",
        {
            "operator": version.notice.operator,
            "version": version,
            "language": get_language(),
        },
    )
