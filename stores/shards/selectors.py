"""Reads of the shard map (decision 0041): where a new operator goes, and which operators a match worker of
some shards holds."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q

from stores.models import MatchShard, Operator


def shard_queue(shard: str) -> str:
    """The Celery queue, and the name of the door's probe list, of a match shard."""
    return f"match.{shard}"


def shard_least_loaded() -> MatchShard:
    return MatchShard.least_loaded()


def shards_served() -> list[str] | None:
    """The shards this match worker process serves (`MATCH_SHARDS`, names separated by commas), or None: all."""
    names = [name.strip() for name in settings.MATCH_SHARDS.split(",") if name.strip()]
    return names or None


def operators_served(shards: list[str] | None = None) -> set[int] | None:
    """The operators whose indexes a worker of these shards holds: those on them, and those moving to them (it
    builds them before their route switches). None: every operator (a worker of all shards)."""
    shards = shards if shards is not None else shards_served()
    if shards is None:
        return None
    on = Operator.objects.filter(Q(match_shard__name__in=shards) | Q(moving_to__name__in=shards))
    return set(on.values_list("pk", flat=True))
