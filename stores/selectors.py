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


@dataclass(frozen=True)
class MatchRule:
    """The operator's own match rule: its ceiling (never above MATCH_THRESHOLD) and margin (never below
    MATCH_MARGIN); the site's settings where it has none."""

    ceiling: float
    margin: float


def operator_match_rule(operator: Operator) -> MatchRule:
    ceiling = operator.match_threshold if operator.match_threshold is not None else settings.MATCH_THRESHOLD
    margin = operator.match_margin if operator.match_margin is not None else settings.MATCH_MARGIN
    # The services keep both on the safe side; a setting changed since is held to as well.
    return MatchRule(min(ceiling, settings.MATCH_THRESHOLD), max(margin, settings.MATCH_MARGIN))


# Read on every 1:N probe at the door, in one round trip; the ORM writes it once (core.db.PreparedQuery).
_in_force = PreparedQuery(
    lambda operator_id: Operator.objects.filter(pk=operator_id).values(
        "target_fpir",
        threshold=Subquery(
            GalleryCheck.objects.filter(operator=OuterRef("pk")).order_by("-id").values("threshold")[:1]
        ),
        one_to_n=Subquery(GalleryCheck.objects.filter(operator=OuterRef("pk")).order_by("-id").values("one_to_n")[:1]),
        margin=Subquery(GalleryCheck.objects.filter(operator=OuterRef("pk")).order_by("-id").values("margin")[:1]),
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
    margin: float | None = None  # the margin the check was measured with; None before any check


def door_rule(*, operator_id: int) -> DoorRule:
    rows = _in_force.rows(operator_id=operator_id)
    row = rows[0] if rows else {"target_fpir": None, "threshold": None, "one_to_n": None, "margin": None}
    checked = row["one_to_n"] is not None
    return DoorRule(
        checked, bool(row["one_to_n"]) if checked else True, row["threshold"], row["target_fpir"], row["margin"]
    )


def door_probe_rule(*, rule: MatchRule, in_force: DoorRule | None) -> dict[str, float | None]:
    """What a probe's message carries to the match worker (docs/decisions/0025). 1:1 (`in_force` None):
    the operator's ceiling. 1:N: the check's threshold, never above the operator's ceiling, and the larger
    of the check's margin and the operator's, so a rule made stricter applies at once and one made looser
    waits for the check it triggers; before any check, the target, ceiling and margin (the worker decides
    by the gallery's size)."""
    if in_force is None:
        return {"ceiling": rule.ceiling}
    if in_force.checked:
        threshold = None if in_force.threshold is None else min(in_force.threshold, rule.ceiling)
        return {"threshold": threshold, "margin": max(in_force.margin or 0.0, rule.margin)}
    return {"target_fpir": in_force.target_fpir, "ceiling": rule.ceiling, "margin": rule.margin}


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
