"""Writes to the shard map (decision 0041): each operator's gallery is held by the match workers of one shard, and the
door sends its probes there. New operators go to the least loaded shard; an operator moves only through
`operator_shard_move`, and its route switches (`operator_shard_move_complete`) only once a worker of the new
shard holds its index, so no door is ever answered from an index that is not ready.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import Actor, audit_entry_create
from core.errors import Conflict, ValidationFailed
from stores.models import MatchShard, Operator

# A shard's name is spelled into a worker's MATCH_SHARDS (names separated by commas), its Celery queue
# (`match.<name>`) and its Redis keys: lowercase letters, digits and hyphens only, as long as the column holds.
SHARD_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


@transaction.atomic
def match_shard_create(*, actor: Actor, name: str) -> MatchShard:
    if not SHARD_NAME.fullmatch(name):
        message = _(
            "A shard's name is 1 to 32 lowercase letters, digits and hyphens, starting with a letter or a digit."
        )
        raise ValidationFailed(message, code="shard_name_invalid", fields={"name": [message]})
    if MatchShard.objects.filter(name=name).exists():
        raise Conflict(_("There is already a shard of this name."), code="shard_exists")
    shard = MatchShard.objects.create(name=name)
    audit_entry_create(actor=actor, action="match_shard.created", target=shard, data={"name": name})
    return shard


@transaction.atomic
def operator_shard_move(*, actor: Actor, operator: Operator, shard: MatchShard) -> Operator:
    """Start moving an operator's gallery to `shard`: its workers build the index first, and the route switches
    when one of them holds it (`operator_shard_move_complete`); until then the old shard answers."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    if shard.pk == operator.match_shard_id:
        message = _("The operator is on this shard already.")
        raise ValidationFailed(message, code="shard_unchanged", fields={"shard": [message]})
    operator.moving_to = shard
    operator.save(update_fields=["moving_to"])
    audit_entry_create(
        actor=actor,
        action="operator.shard_move_started",
        target=operator,
        data={"from": operator.match_shard.name, "to": shard.name},
    )
    return operator


@transaction.atomic
def operator_shard_move_complete(*, operator_id: int, shard_name: str) -> bool:
    """A worker of `shard_name` holds the moving operator's index: switch its route. False if it is not moving
    there (any more)."""
    operator = (
        Operator.objects.select_for_update(of=("self",))
        .select_related("match_shard", "moving_to")
        .filter(pk=operator_id, moving_to__name=shard_name)
        .first()
    )
    if operator is None:
        return False
    before = operator.match_shard.name
    operator.match_shard, operator.moving_to = operator.moving_to, None
    operator.save(update_fields=["match_shard", "moving_to"])
    audit_entry_create(
        actor=Actor.system(), action="operator.shard_moved", target=operator, data={"from": before, "to": shard_name}
    )
    return True
