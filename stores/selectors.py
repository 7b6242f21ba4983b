"""Reads for operators: the list shoppers choose from, one operator by its slug, and its gallery check in force.

Operators are this app's (docs/decisions/0014-layers.md): consent reaches them only through its
own foreign keys, never as a list or a lookup of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from core.db import PreparedQuery
from core.errors import NotFound
from stores.models import GalleryCheck, MatchEvent, Operator, Store, Visit


def operator_list() -> QuerySet[Operator]:
    """Every operator, by name."""
    return Operator.objects.order_by("name")


def operator_get_by_slug(*, slug: str) -> Operator:
    operator = Operator.objects.filter(slug=slug).first()
    if operator is None:
        raise NotFound(_("No such operator."), code="operator_not_found")
    return operator


def operator_target_fpir(operator: Operator) -> float:
    """The false identification rate the operator's doors are held to: its own, else the site's."""
    return operator.target_fpir if operator.target_fpir is not None else settings.MATCH_TARGET_FPIR


# Read on every 1:N probe at the door, in one round trip; the ORM writes it once (core.db.PreparedQuery).
_in_force = PreparedQuery(
    lambda operator_id: Operator.objects.filter(pk=operator_id).values(
        "target_fpir",
        threshold=Subquery(
            GalleryCheck.objects.filter(operator=OuterRef("pk")).order_by("-id").values("threshold")[:1]
        ),
        one_to_n=Subquery(GalleryCheck.objects.filter(operator=OuterRef("pk")).order_by("-id").values("one_to_n")[:1]),
    ),
    operator_id=int,
)


@dataclass(frozen=True)
class DoorRule:
    """What the door applies to 1:N for one operator: its latest gallery check's, or none yet."""

    checked: bool
    one_to_n: bool
    threshold: float | None  # the check's; None before any check (the match worker decides by size)
    target_fpir: float | None  # the operator's own target, None for the site's


def door_rule(*, operator_id: int) -> DoorRule:
    rows = _in_force.rows(operator_id=operator_id)
    row = rows[0] if rows else {"target_fpir": None, "threshold": None, "one_to_n": None}
    checked = row["one_to_n"] is not None
    return DoorRule(checked, bool(row["one_to_n"]) if checked else True, row["threshold"], row["target_fpir"])


def gallery_check_latest(*, operator: Operator) -> GalleryCheck | None:
    return GalleryCheck.objects.filter(operator=operator).order_by("-id").first()


def confirmed_entry_distances(*, operator_id: int, since: datetime, limit: int) -> list[tuple[float, float]]:
    """The latest confirmed pass-plus-face entries at the operator's stores since `since`, at most `limit`:
    each one's distance to the pass's shopper and to the nearest other shopper of the gallery then
    (the gallery check's genuine side, docs/decisions/0025). Entries from before those were recorded
    are left out."""
    return list(
        MatchEvent.objects.filter(
            store__operator_id=operator_id,
            mode=Store.Mode.ONE_TO_ONE,
            occurred_at__gte=since,
            nearest_other_distance__isnull=False,
        )
        .order_by("-id")
        .values_list("distance", "nearest_other_distance")[:limit]
    )


# How long a door has to confirm it showed the collection notice of a first recognition (C11).
NOTICE_CONFIRM_SECONDS = 60


def notice_unconfirmed_q(*, now: datetime | None = None) -> Q:
    """First recognitions whose door did not confirm showing the collection notice within a minute (C11):
    what the store's report flags. Visits younger than a minute are not judged yet."""
    late = timedelta(seconds=NOTICE_CONFIRM_SECONDS)
    return Q(first_visit=True, entered_at__lte=(now or timezone.now()) - late) & (
        Q(notice_shown_at__isnull=True) | Q(notice_shown_at__gt=F("entered_at") + late)
    )


def first_visits_without_notice(*, store_id: int | None = None, now: datetime | None = None) -> QuerySet[Visit]:
    visits = Visit.objects.filter(notice_unconfirmed_q(now=now))
    return visits.filter(store_id=store_id) if store_id is not None else visits
