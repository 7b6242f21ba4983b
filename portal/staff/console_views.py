"""The staff console's request pages: the queue with its deadlines, a request with its history and the steps
it is ready for, and opening one for a shopper who called (decision 0036). Each step is a service call,
audited with the staff member."""

from __future__ import annotations

import json
from datetime import datetime

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.errors import DomainError
from portal.erasure.services import CATEGORIES
from portal.models import PrivacyRequest
from portal.privacy.selectors import (
    mask_email,
    privacy_request_get,
    privacy_request_history,
    privacy_request_overdue,
    privacy_request_queue,
    privacy_requests_of,
    shopper_by_email,
    shopper_get,
    shopper_record,
    shoppers_search,
)
from portal.privacy.services import (
    REFUSAL_REASONS,
    identity_code_send,
    identity_code_verify,
    privacy_access_deliver,
    privacy_erasure_start,
    privacy_request_open,
    privacy_request_refuse,
    shopper_record_open,
)
from portal.staff.dashboard import (
    AuditFilters,
    audit_actions,
    audit_entries_page,
    audit_verdict,
    consent_weeks,
    gallery_checks_latest,
    request_counts,
)
from portal.staff.roles import ADMIN, PRIVACY_OFFICER, SUPPORT_AGENT
from portal.staff.views import role_required

# The request's history in words; an entry with another action shows its code.
HISTORY = {
    "privacy_request.received": gettext_lazy("Request received"),
    "privacy_request.identity_code_sent": gettext_lazy("Identity code mailed to the account"),
    "privacy_request.identity_code_refused": gettext_lazy("A wrong identity code was given"),
    "privacy_request.identity_verified": gettext_lazy("Identity verified"),
    "privacy_request.started": gettext_lazy("Erasure started"),
    "privacy_request.completed": gettext_lazy("Completed"),
    "privacy_request.copy_downloaded": gettext_lazy("The shopper downloaded the copy (the link is spent)"),
    "privacy_request.refused": gettext_lazy("Refused"),
}

QUEUE_FILTERS = {
    "open": gettext_lazy("Open"),
    "overdue": gettext_lazy("Overdue"),
    "closed": gettext_lazy("Closed"),
    "all": gettext_lazy("All"),
}


class OpenForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("The shopper's email address"))
    kind = forms.ChoiceField(label=gettext_lazy("Request"), choices=PrivacyRequest.Kind.choices)


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("The code the shopper reads out"), max_length=12)


class RefuseForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=list(REFUSAL_REASONS.items()))


def _get(public_id) -> PrivacyRequest:
    try:
        return privacy_request_get(public_id=public_id)
    except DomainError as error:
        raise Http404 from error


@role_required(SUPPORT_AGENT)
@require_safe
def request_queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    status = status if status in QUEUE_FILTERS else "open"
    kind = request.GET.get("kind", "")
    rows = [
        {
            "request": item,
            "overdue": privacy_request_overdue(item),
            "email": mask_email(item.shopper.email) if item.shopper else "",
        }
        for item in privacy_request_queue(status=status, kind=kind)[:200]
    ]
    return render(
        request,
        "portal/staff/requests.html",
        {"rows": rows, "status": status, "kind": kind, "filters": QUEUE_FILTERS, "kinds": PrivacyRequest.Kind.choices},
    )


@role_required(SUPPORT_AGENT)
@require_http_methods(["GET", "POST"])
def request_open(request: HttpRequest) -> HttpResponse:
    form = OpenForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        shopper = shopper_by_email(form.cleaned_data["email"])
        if shopper is None:
            form.add_error("email", _("No shopper has this address."))
            status = 400
        else:
            opened = privacy_request_open(
                shopper=shopper, kind=form.cleaned_data["kind"], channel="staff", opened_by=request.user
            )
            return redirect("portal:staff_request", public_id=opened.public_id)
    elif form.errors:
        status = 400
    return render(request, "portal/staff/request_open.html", {"form": form}, status=status)


@role_required(SUPPORT_AGENT)
@require_safe
def request_detail(request: HttpRequest, public_id) -> HttpResponse:
    item = _get(public_id)
    return _detail(request, item)


def _detail(request: HttpRequest, item: PrivacyRequest, *, code_form=None, status: int = 200) -> HttpResponse:
    return render(
        request,
        "portal/staff/request.html",
        {
            "item": item,
            "overdue": privacy_request_overdue(item),
            "email": mask_email(item.shopper.email) if item.shopper else "",
            "history": [(entry, HISTORY.get(entry.action)) for entry in privacy_request_history(item)],
            "went": [(label, item.result["counts"].get(category, 0)) for category, label in CATEGORIES.items()]
            if item.result.get("counts")
            else [],
            "link_expires_at": datetime.fromisoformat(item.result["link_expires_at"])
            if item.result.get("link_expires_at")
            else None,
            "refusal": REFUSAL_REASONS.get(item.refusal_reason, item.refusal_reason),
            "code_form": code_form or CodeForm(),
            "refuse_form": RefuseForm(),
            "can_send_code": item.status == PrivacyRequest.Status.RECEIVED and item.shopper is not None,
            "can_start": item.kind == PrivacyRequest.Kind.ERASURE
            and item.status == PrivacyRequest.Status.IDENTITY_VERIFIED,
            "can_deliver": item.kind == PrivacyRequest.Kind.ACCESS
            and item.status == PrivacyRequest.Status.IDENTITY_VERIFIED,
            "can_refuse": item.status in (PrivacyRequest.Status.RECEIVED, PrivacyRequest.Status.IDENTITY_VERIFIED),
        },
        status=status,
    )


def _step(request: HttpRequest, public_id, act) -> HttpResponse:
    item = _get(public_id)
    try:
        act(item)
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("portal:staff_request", public_id=item.public_id)


@role_required(SUPPORT_AGENT)
@require_POST
def request_send_code(request: HttpRequest, public_id) -> HttpResponse:
    def act(item):
        identity_code_send(request=item, staff=request.user)
        messages.success(request, _("A code is on its way to the account's address; it works for 10 minutes."))

    return _step(request, public_id, act)


@role_required(SUPPORT_AGENT)
@require_POST
def request_verify(request: HttpRequest, public_id) -> HttpResponse:
    item = _get(public_id)
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _detail(request, item, code_form=form, status=400)
    try:
        identity_code_verify(request=item, code=form.cleaned_data["code"], staff=request.user)
    except DomainError as error:
        form.add_error("code", error.message)
        return _detail(request, _get(public_id), code_form=form, status=error.status if error.status == 429 else 400)
    messages.success(request, _("The shopper's identity is verified."))
    return redirect("portal:staff_request", public_id=item.public_id)


@role_required(SUPPORT_AGENT)
@require_POST
def request_start(request: HttpRequest, public_id) -> HttpResponse:
    def act(item):
        privacy_erasure_start(request=item, staff=request.user)
        messages.success(request, _("The erasure has started; this page shows it completed once it has."))

    return _step(request, public_id, act)


@role_required(SUPPORT_AGENT)
@require_POST
def request_deliver(request: HttpRequest, public_id) -> HttpResponse:
    def act(item):
        privacy_access_deliver(request=item, staff=request.user)
        messages.success(request, _("The download link is mailed to the account's address; it works once, for 7 days."))

    return _step(request, public_id, act)


@role_required(SUPPORT_AGENT)
@require_POST
def request_refuse(request: HttpRequest, public_id) -> HttpResponse:
    form = RefuseForm(request.POST)
    if not form.is_valid():
        raise Http404

    def act(item):
        privacy_request_refuse(request=item, reason=form.cleaned_data["reason"], staff=request.user)
        messages.success(request, _("The request is refused."))

    return _step(request, public_id, act)


# The chart's drawing box, in SVG units: one group of two bars a week.
CHART_HEIGHT, BAR, GAP = 120, 10, 8


@role_required(SUPPORT_AGENT, PRIVACY_OFFICER)
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    weeks = consent_weeks()
    top = max([1, *(week.given for week in weeks), *(week.withdrawn for week in weeks)])
    bars = []
    for index, week in enumerate(weeks):
        x = index * (2 * BAR + GAP)
        for offset, kind, count in ((0, "given", week.given), (BAR, "withdrawn", week.withdrawn)):
            height = round(CHART_HEIGHT * count / top)
            bars.append(
                {
                    "x": x + offset,
                    "y": CHART_HEIGHT - height,
                    "height": height,
                    "kind": kind,
                    "count": count,
                    "week": week.starts,
                }
            )
    return render(
        request,
        "portal/staff/dashboard.html",
        {
            "requests": request_counts(),
            "weeks": weeks,
            "bars": bars,
            "chart_width": len(weeks) * (2 * BAR + GAP),
            "chart_height": CHART_HEIGHT,
            "bar_width": BAR,
            "checks": gallery_checks_latest(),
            "audit": audit_verdict(),
        },
    )


@role_required(SUPPORT_AGENT)
@require_safe
def shopper_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    found = [{"shopper": shopper, "email": mask_email(shopper.email)} for shopper in shoppers_search(query=query)]
    return render(request, "portal/staff/shoppers.html", {"query": query, "found": found})


@role_required(SUPPORT_AGENT)
@require_http_methods(["GET", "POST"])
def shopper_record_view(request: HttpRequest, public_id) -> HttpResponse:
    """GET: which of the shopper's open requests the record is opened for; POST: the record, once audited."""
    try:
        shopper = shopper_get(public_id=public_id)
    except DomainError as error:
        raise Http404 from error
    open_requests = [item for item in privacy_requests_of(shopper=shopper) if item.is_open]
    if request.method == "POST":
        chosen = next((item for item in open_requests if str(item.public_id) == request.POST.get("request")), None)
        if chosen is not None:
            shopper_record_open(staff=request.user, shopper=shopper, request=chosen)
            return render(
                request,
                "portal/staff/shopper.html",
                {"shopper": shopper, "reason": chosen, **shopper_record(shopper)},
            )
        messages.error(request, _("Choose the request this record is opened for."))
    return render(
        request,
        "portal/staff/shopper_reason.html",
        {"shopper": shopper, "email": mask_email(shopper.email), "open_requests": open_requests},
    )


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=gettext_lazy("Action"), required=False, max_length=64)
    target_type = forms.CharField(label=gettext_lazy("Target type"), required=False, max_length=64)
    target_id = forms.CharField(label=gettext_lazy("Target id"), required=False, max_length=64)
    actor_id = forms.CharField(label=gettext_lazy("Actor id"), required=False, max_length=64)
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


@role_required(ADMIN)
@require_safe
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit log, newest first, narrowed by action, target or actor, with the chain's verdict read now."""
    form = AuditFilterForm(request.GET or None)
    filters = AuditFilters(**form.cleaned_data) if form.is_valid() else AuditFilters()
    entries, next_before = audit_entries_page(filters)
    older = None
    if next_before is not None:
        query = request.GET.copy()
        query["before"] = str(next_before)
        older = query.urlencode()
    return render(
        request,
        "portal/staff/audit.html",
        {
            "form": form,
            "entries": [(entry, json.dumps(entry.data, ensure_ascii=False) if entry.data else "") for entry in entries],
            "older": older,
            "actions": audit_actions(),
            "audit": audit_verdict(),
        },
        status=200 if form.is_bound is False or form.is_valid() else 400,
    )
