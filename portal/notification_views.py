"""The shopper's notifications page: each time a door recognised them or let them in with an entry pass,
with the collection notice a first visit showed; marking them all read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, ngettext
from django.views.decorators.http import require_GET, require_POST

from core.models import Channel
from core.pagination import PageNumberPagination
from portal.time_zones import time_zone_activate
from stores.feed.selectors import notification_list_for_shopper
from stores.feed.services import notifications_mark_read


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    """Newest first, a page at a time; reading the page marks nothing read (a GET never writes)."""
    paginator = Paginator(notification_list_for_shopper(shopper=request.user), PageNumberPagination.page_size)
    page = paginator.get_page(request.GET.get("page"))
    # The shopper's zone, else that of the operators on this page when they share one, else the site's.
    time_zone_activate(request, *{notification.visit.store.operator for notification in page})
    return render(request, "portal/notifications.html", {"page": page, "language": get_language()})


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    marked = notifications_mark_read(shopper=request.user, channel=Channel.WEB, read_all=True)
    messages.success(
        request,
        ngettext("%(count)d notification marked as read.", "%(count)d notifications marked as read.", marked)
        % {"count": marked},
    )
    return redirect("portal:notifications")
