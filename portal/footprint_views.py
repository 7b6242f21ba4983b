"""The shopper's footprint page: every visit the operators' stores recorded, newest first (F2)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe
from rest_framework.exceptions import NotFound as CursorNotFound
from rest_framework.request import Request

from core.errors import DomainError
from core.time_zones import time_zone_for
from portal.footprint_apis import FilterSerializer, FootprintPagination, footprint_filters
from portal.time_zones import time_zone_activate
from stores.footprint.notifications import CATEGORIES, SCOPES
from stores.footprint.selectors import (
    EVENT_KINDS,
    VISIT_KINDS,
    day_bounds,
    footprint_deletion_plan,
    footprint_events_attach,
    footprint_stores,
    footprint_visits,
)
from stores.footprint.services import footprint_delete
from stores.models import StoreEvent, Visit


@login_required
@require_safe
def footprint(request: HttpRequest) -> HttpResponse:
    given = FilterSerializer(data={key: value for key, value in request.GET.items() if value})
    valid = given.is_valid()
    filters = footprint_filters(given.validated_data if valid else {}, shopper=request.user)
    paginator = FootprintPagination()
    try:
        visits = paginator.paginate_queryset(footprint_visits(shopper=request.user, filters=filters), Request(request))
    except CursorNotFound:  # a cursor edited by hand: start again from the newest
        paginator = FootprintPagination()
        visits = paginator.paginate_queryset(
            footprint_visits(shopper=request.user, filters=filters), Request(_without_cursor(request))
        )
    footprint_events_attach(visits, kind=filters.kind)
    time_zone_activate(request, *{visit.store.operator for visit in visits})
    stores = footprint_stores(shopper=request.user)
    return render(
        request,
        "portal/footprint.html",
        {
            "visits": visits,
            "errors": given.errors if not valid else {},
            "chosen": filters,
            "stores": stores,
            "operators": sorted({(slug, name) for slug, name, _, _ in stores}, key=lambda pair: pair[1]),
            "visit_kinds": [(kind, Visit.Method(kind).label) for kind in VISIT_KINDS],
            "event_kinds": [(kind, StoreEvent.Kind(kind).label) for kind in EVENT_KINDS],
            "newer": _relative(paginator.get_previous_link()),
            "older": _relative(paginator.get_next_link()),
        },
    )


def _without_cursor(request: HttpRequest) -> HttpRequest:
    request.GET = request.GET.copy()
    request.GET.pop("cursor", None)
    return request


def _relative(link: str | None) -> str | None:
    """A page link without the scheme and host (the page is served wherever the site is)."""
    if not link:
        return None
    return "?" + link.split("?", 1)[1] if "?" in link else "?"


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def footprint_delete_view(request: HttpRequest) -> HttpResponse:
    """Show what a deletion would remove (GET), then remove it once confirmed (POST): one event, one visit,
    the visits of some days, or everything."""
    source = request.POST if request.method == "POST" else request.GET
    given = DeleteScopeForm(source)
    if not given.is_valid():
        raise Http404
    scope = given.scope(shopper=request.user)
    try:
        plan = footprint_deletion_plan(shopper=request.user, **scope)
    except DomainError as error:
        if error.status == 404:
            raise Http404 from error
        messages.error(request, error.message)
        return redirect("portal:footprint")
    if request.method == "POST":
        receipt = footprint_delete(shopper=request.user, channel="web", **scope)
        messages.success(
            request,
            _("Deleted: %(visits)d visits, %(events)d events, %(items)d purchase lines. Your receipt is on its way.")
            % {
                "visits": receipt.counts["visits"],
                "events": receipt.counts["store_events"],
                "items": receipt.counts["purchase_items"],
            },
        )
        return redirect("portal:footprint")
    counts = [(CATEGORIES[category], count) for category, count in plan.counts.items()]
    return render(
        request,
        "portal/footprint_delete.html",
        {
            "scope": SCOPES[plan.scope],
            "counts": counts,
            "fields": given.cleaned_data,
            "empty": not any(plan.counts.values()),
        },
    )


class DeleteScopeForm(forms.Form):
    visit = forms.UUIDField(required=False)
    event = forms.UUIDField(required=False)
    date_from = forms.DateField(required=False)
    date_to = forms.DateField(required=False)
    all = forms.BooleanField(required=False)

    def clean(self):
        cleaned = super().clean()
        chosen = [name for name in ("visit", "event", "all") if cleaned.get(name)]
        days = cleaned.get("date_from") or cleaned.get("date_to")
        if len(chosen) + bool(days) != 1:
            raise forms.ValidationError("one scope", code="invalid")
        return cleaned

    def scope(self, *, shopper) -> dict:
        data = self.cleaned_data
        if data.get("visit"):
            return {"visit_id": data["visit"]}
        if data.get("event"):
            return {"event_id": data["event"]}
        if data.get("all"):
            return {"everything": True}
        since, until = day_bounds(data.get("date_from"), data.get("date_to"), time_zone_for(shopper=shopper))
        return {"since": since, "until": until}
