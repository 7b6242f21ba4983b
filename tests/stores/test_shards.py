"""Match workers sharded by operator (decision 0041): the shard map, changed only through audited services; a
worker of some shards holds only their operators' indexes and never answers for another's; an operator moving
shards is built by the new shard's worker before its route switches."""

from __future__ import annotations

import numpy as np
import pytest

from core.audit import Actor
from core.errors import Conflict, ValidationFailed
from core.models import AuditEntry
from stores.door.matching import INDEXES, match_probe
from stores.models import Operator
from stores.shards.selectors import operators_served, shard_least_loaded
from stores.shards.services import match_shard_create, operator_shard_move, operator_shard_move_complete
from tests.consent.test_withdrawal import held_template
from tests.factories import OperatorFactory, UserFactory, face_consent

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("M2")]

STAFF = Actor.system()


@pytest.fixture(autouse=True)
def fresh_indexes():
    INDEXES.reset()
    yield
    INDEXES.reset()


def consenting(operator, count: int = 1) -> list:
    shoppers = []
    for _ in range(count):
        shopper = UserFactory()
        face_consent(shopper, operator)
        held_template(shopper)
        shoppers.append(shopper)
    return shoppers


def test_every_operator_starts_on_shard_a_and_new_ones_go_to_the_least_loaded():
    busy = OperatorFactory()
    assert busy.match_shard.name == "a"
    consenting(busy, 2)
    b = match_shard_create(actor=STAFF, name="b")
    assert shard_least_loaded() == b
    newcomer = OperatorFactory()
    assert newcomer.match_shard == b
    assert AuditEntry.objects.filter(action="match_shard.created").count() == 1
    with pytest.raises(Conflict) as again:
        match_shard_create(actor=STAFF, name="b")
    assert again.value.code == "shard_exists"


@pytest.mark.parametrize("name", ["", "B", "b,c", "b.c", "-b", "b c", "b_c", "分片", "b" * 33])
def test_a_shard_name_is_what_match_shards_queues_and_keys_can_spell(name):
    """MATCH_SHARDS splits on commas, a shard's queue is `match.<name>`: a name is lowercase letters, digits and
    hyphens, at most 32."""
    with pytest.raises(ValidationFailed) as refused:
        match_shard_create(actor=STAFF, name=name)
    assert refused.value.code == "shard_name_invalid" and "name" in refused.value.fields
    assert not AuditEntry.objects.filter(action="match_shard.created").exists()
    assert match_shard_create(actor=STAFF, name="north-2" + "x" * 25).name == "north-2" + "x" * 25


def test_a_move_is_audited_and_switches_only_when_completed_there():
    operator = OperatorFactory()
    b = match_shard_create(actor=STAFF, name="b")
    with pytest.raises(ValidationFailed):
        operator_shard_move(actor=STAFF, operator=operator, shard=operator.match_shard)
    operator_shard_move(actor=STAFF, operator=operator, shard=b)
    operator.refresh_from_db()
    assert (operator.match_shard.name, operator.moving_to) == ("a", b)  # the old shard still answers
    assert operator_shard_move_complete(operator_id=operator.pk, shard_name="c") is False
    assert operator_shard_move_complete(operator_id=operator.pk, shard_name="b") is True
    operator.refresh_from_db()
    assert (operator.match_shard, operator.moving_to) == (b, None)
    actions = list(AuditEntry.objects.filter(target_type="stores.operator").values_list("action", "data"))
    assert ("operator.shard_move_started", {"from": "a", "to": "b"}) in actions
    assert ("operator.shard_moved", {"from": "a", "to": "b"}) in actions
    assert operator_shard_move_complete(operator_id=operator.pk, shard_name="b") is False  # once


def test_a_worker_of_one_shard_holds_only_its_operators_and_never_answers_for_another(settings):
    here, there = OperatorFactory(), OperatorFactory()
    b = match_shard_create(actor=STAFF, name="b")
    Operator.objects.filter(pk=there.pk).update(match_shard=b)
    (mine,), (theirs,) = consenting(here), consenting(there)
    settings.MATCH_SHARDS = "a"

    INDEXES.refresh()

    assert INDEXES.shards == ["a"] and operators_served(["a"]) == {here.pk}
    assert INDEXES.serves(here.pk) and not INDEXES.serves(there.pk)
    assert set(INDEXES.gallery_sizes()) == {here.pk}
    probe = np.linspace(-0.2, 0.2, 128).tolist()  # the encoding every held template here was made from
    assert match_probe(operator_id=here.pk, encoding=probe).shopper_id == mine.pk
    # The other shard's operator: not no_match from an index this worker does not hold, but "not served".
    assert match_probe(operator_id=there.pk, encoding=probe).error == "not_served"
    assert theirs.pk not in INDEXES.encodings_for(here.pk)


def test_an_operator_moving_here_is_built_first_then_its_route_switches(settings):
    operator = OperatorFactory()
    (shopper,) = consenting(operator)
    b = match_shard_create(actor=STAFF, name="b")
    settings.MATCH_SHARDS = "b"
    INDEXES.refresh()
    assert not INDEXES.serves(operator.pk)

    operator_shard_move(actor=STAFF, operator=operator, shard=b)
    INDEXES.refresh(shards_now=True)

    assert INDEXES.serves(operator.pk)
    operator.refresh_from_db()
    assert (operator.match_shard, operator.moving_to) == (b, None)
    probe = np.linspace(-0.2, 0.2, 128).tolist()
    assert match_probe(operator_id=operator.pk, encoding=probe).shopper_id == shopper.pk


def test_the_old_shard_lets_go_once_the_operator_has_moved(settings):
    operator = OperatorFactory()
    consenting(operator)
    b = match_shard_create(actor=STAFF, name="b")
    settings.MATCH_SHARDS = "a"
    INDEXES.refresh()
    assert INDEXES.serves(operator.pk)
    operator_shard_move(actor=STAFF, operator=operator, shard=b)
    INDEXES.refresh(shards_now=True)
    assert INDEXES.serves(operator.pk)  # still answering until the new shard holds it
    operator_shard_move_complete(operator_id=operator.pk, shard_name="b")
    INDEXES.refresh(shards_now=True)
    assert not INDEXES.serves(operator.pk) and operator.pk not in INDEXES.gallery_sizes()


def test_admins_list_create_and_move_with_the_command():
    import io

    from django.core.management import call_command

    operator = OperatorFactory(slug="fresh-mart")
    consenting(operator)
    out = io.StringIO()
    call_command("match_shards", "create", "b", stdout=out)
    call_command("match_shards", "move", "fresh-mart", "b", stdout=out)
    assert "a: 1 face consents; operators: fresh-mart (moving to b)" in out.getvalue()
    assert "b: 0 face consents; operators: -" in out.getvalue()
    assert AuditEntry.objects.filter(action="operator.shard_move_started").count() == 1
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("match_shards", "move", "fresh-mart", "a", stdout=out)  # already there
