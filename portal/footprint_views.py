"""The shopper's footprint page: every visit the operators' stores recorded, newest first (F2)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from rest_framework.exceptions import NotFound as CursorNotFound
from rest_framework.request import Request

from portal.footprint_apis import FilterSerializer, FootprintPagination, footprint_filters
from portal.time_zones import time_zone_activate
from stores.footprint.selectors import EVENT_KINDS, VISIT_KINDS, footprint_stores, footprint_visits
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
