"""Reads of the shard map (decision 0041): where a new operator goes, and which operators a match worker of
some shards holds."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q

from stores.models import MatchShard, Operator


def shard_queue(shard: str) -> str:
    """The Celery queue, and the name of the door's probe list, of a match shard."""
    return f"match.{shard}"


def shard_least_loaded() -> MatchShard:
    return MatchShard.least_loaded()


@dataclass(frozen=True)
class ShardLoad:
    """A shard as the staff who move operators see it: its load, its operators (each with the shard it is moving
    to, if any) and the operators moving to it, whose indexes its workers build before their routes switch."""

    shard: MatchShard
    face_consents: int
    operators: list[Operator] = field(default_factory=list)
    arriving: list[Operator] = field(default_factory=list)


def shard_map() -> list[ShardLoad]:
    """Every shard by name with its load and operators (by name): three queries however many there are."""
    # The operators first: a shard is never deleted, so each one they name is among the shards read after them.
    operators = list(Operator.objects.select_related("match_shard", "moving_to").order_by("name", "pk"))
    loads = MatchShard.loads()
    rows = {shard.pk: ShardLoad(shard, loads.get(shard.pk, 0)) for shard in MatchShard.objects.order_by("name")}
    for operator in operators:
        rows[operator.match_shard_id].operators.append(operator)
        if operator.moving_to_id is not None:
            rows[operator.moving_to_id].arriving.append(operator)
    return list(rows.values())


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
