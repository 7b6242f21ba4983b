"""The shopper's side of privacy requests on the web: their requests with the date each is due, asking for a
copy of everything or for erasure, and the mailed one-time link that downloads the copy (F5)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import DomainError
from core.models import Channel
from portal.export_views import export_response
from portal.models import PrivacyRequest
from portal.privacy.selectors import (
    access_link_find,
    access_link_refusal,
    privacy_request_overdue,
    privacy_requests_of,
)
from portal.privacy.services import access_link_use, privacy_request_open


@login_required
@require_http_methods(["GET", "POST"])
def privacy_requests_view(request: HttpRequest) -> HttpResponse:
    """GET: the shopper's requests; POST `kind`: ask for a copy (the link is mailed at once) or an erasure."""
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        try:
            opened = privacy_request_open(shopper=request.user, kind=kind, channel=Channel.WEB)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("portal:privacy_requests")
        if opened.status == PrivacyRequest.Status.DUPLICATE:
            messages.info(request, _("You already have a request of this kind open; this one is noted with it."))
        elif opened.kind == PrivacyRequest.Kind.ACCESS:
            messages.success(
                request,
                _("A link to download your copy is on its way to %(email)s. It works once, for 7 days.")
                % {"email": request.user.email},
            )
        else:
            messages.success(request, _("Your erasure request is received; the date it is due is shown below."))
        return redirect("portal:privacy_requests")
    rows = [
        {"request": item, "overdue": privacy_request_overdue(item)}
        for item in privacy_requests_of(shopper=request.user)[:50]
    ]
    return render(request, "portal/privacy_requests.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
def access_link_view(request: HttpRequest, token: str) -> HttpResponse:
    """The mailed link. GET shows what it gives and writes nothing (a mail scanner may open it); POST spends it
    and streams the export. It needs no sign-in: whoever called support may not be able to sign in."""
    if request.method == "POST":
        try:
            shopper = access_link_use(token=token)
        except DomainError as error:
            return _link_page(request, None, error)
        return export_response(shopper)
    link = access_link_find(token)
    return _link_page(request, link, access_link_refusal(link))


def _link_page(request: HttpRequest, link, refusal: DomainError | None) -> HttpResponse:
    response = render(
        request,
        "portal/access_link.html",
        {"link": link, "refusal": refusal},
        status=refusal.status if refusal is not None else 200,
    )
    # The token is in the address: no copy of the page is kept, and the site's referrer policy (same-origin)
    # sends it to no other site. Not `no-referrer`: the browser would then send the form's POST with
    # `Origin: null`, which the CSRF check refuses.
    response["Cache-Control"] = "no-store"
    return response
