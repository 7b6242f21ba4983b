"""The console's page of the match shards (decision 0041): each shard with its load, whether a worker of it is
ready and its operators; privacy officers and admins move an operator there, admins add a shard. Each change
goes through the audited service with the staff member as its actor; a refusal is a form error, never a 500,
and reading the page writes nothing."""

from __future__ import annotations

import re
import uuid
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.audit import Actor
from core.models import AuditEntry
from stores.models import MatchShard, Operator
from stores.shards.services import match_shard_create, operator_shard_move
from tests.conftest import staff_signed_in
from tests.factories import OperatorFactory, UserFactory, face_consent, staff_member
from tests.stores.conftest import _Redis

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("M2")]

PAGE, MOVE, CREATE = "/staff/shards/", "/staff/shards/move/", "/staff/shards/new/"


@pytest.fixture
def officer():
    return staff_member("Privacy officer")


@pytest.fixture
def officer_console(client, officer):
    return staff_signed_in(client, officer)


@pytest.fixture
def admin_console(client):
    return staff_signed_in(client, staff_member("Admin"))


@pytest.fixture
def workers_say(settings):
    """Where match workers say they are ready: the tests' Redis, else the door channel's stand-in for one."""
    from stores.door import probes

    if settings.REDIS_URL:
        settings.CELERY_BROKER_URL = settings.REDIS_URL
        yield probes._client(settings.REDIS_URL)
        return
    settings.CELERY_BROKER_URL = "redis://probe-channel.invalid:6379/0"
    with mock.patch.object(probes, "_client", return_value=_Redis()) as client:
        yield client.return_value


def row(html: str, attribute: str, value: str) -> str:
    found = re.search(rf'<tr[^>]* {attribute}="{re.escape(value)}"[^>]*>.*?</tr>', html, re.S)
    assert found, (attribute, value)
    return found.group()


def operator_rows(html: str, shard: str) -> list[str]:
    section = re.search(rf'<article id="shard-{shard}".*?</article>', html, re.S).group()
    return re.findall(r'<tr data-operator="([^"]+)"', section)


def test_each_shard_with_its_load_its_operators_and_a_move_in_progress(officer_console):
    busy = OperatorFactory(name="Busy Mart")
    for _ in range(2):
        face_consent(UserFactory(), busy)
    b = match_shard_create(actor=Actor.system(), name="b")
    quiet = OperatorFactory(name="Quiet Mart")  # the least loaded shard: b
    moving = OperatorFactory(name="Moving Mart")
    Operator.objects.filter(pk=moving.pk).update(match_shard=MatchShard.objects.get(name="a"))
    operator_shard_move(actor=Actor.system(), operator=moving, shard=b)

    response = officer_console.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-load="2"' in row(html, "data-shard", "a") and 'data-load="0"' in row(html, "data-shard", "b")
    assert operator_rows(html, "a") == [busy.slug, moving.slug] and operator_rows(html, "b") == [quiet.slug]
    assert 'data-moving-to="b"' in row(html, "data-operator", moving.slug)
    assert "moving to b" in row(html, "data-operator", moving.slug)
    assert "data-moving-to" not in row(html, "data-operator", busy.slug)
    assert f'data-arriving="{moving.slug}"' in html and "Moving Mart (from a)" in html
    # Each operator's form offers only the other shards, and the page links here from the console's menu.
    assert '<option value="a"' not in row(html, "data-operator", busy.slug)
    assert '<option value="b"' in row(html, "data-operator", busy.slug)
    assert f'href="{PAGE}" aria-current="page"' in html


def test_a_worker_ready_now_is_read_from_the_key_the_door_reads(officer_console, workers_say):
    from stores.door.probes import shards_ready_say

    up, down = (f"console-{which}-{uuid.uuid4().hex[:8]}" for which in ("up", "down"))
    for name in (up, down):
        match_shard_create(actor=Actor.system(), name=name)
    shards_ready_say([up])  # what a worker of `up` says every second once its indexes are built

    html = officer_console.get(PAGE).content.decode()

    assert 'data-ready="yes"' in row(html, "data-shard", up) and "Ready" in row(html, "data-shard", up)
    assert 'data-ready="no"' in row(html, "data-shard", down) and "None ready" in row(html, "data-shard", down)


@pytest.mark.parametrize("broker", ["", "redis://127.0.0.1:1/0"], ids=["without_redis", "redis_down"])
def test_without_an_answer_from_redis_readiness_is_not_known(officer_console, settings, broker):
    settings.CELERY_BROKER_URL = broker
    response = officer_console.get(PAGE)
    assert response.status_code == 200
    assert 'data-ready="unknown"' in row(response.content.decode(), "data-shard", "a")


def test_reading_the_page_writes_nothing_and_costs_the_same_for_one_operator_or_twenty(officer_console):
    def page_queries() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert officer_console.get(PAGE).status_code == 200
        return [query["sql"] for query in queries.captured_queries]

    OperatorFactory()
    audited = AuditEntry.objects.count()
    few = page_queries()
    for _ in range(19):
        OperatorFactory()
    many = page_queries()

    assert len(few) == len(many)
    assert not [sql for sql in many if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert AuditEntry.objects.count() == audited


@pytest.mark.requirement("S3")
def test_a_privacy_officer_moves_an_operator_and_the_move_is_audited_with_them(officer_console, officer):
    operator = OperatorFactory(name="Fresh Mart")
    b = match_shard_create(actor=Actor.system(), name="b")

    response = officer_console.post(MOVE, {"operator": operator.slug, "shard": "b"}, follow=True)

    assert response.redirect_chain == [(PAGE, 302)]
    operator.refresh_from_db()
    assert (operator.match_shard.name, operator.moving_to) == ("a", b)  # the old shard answers until b is built
    entry = AuditEntry.objects.get(action="operator.shard_move_started")
    assert (entry.actor_type, entry.actor_id, entry.channel) == ("staff", str(officer.pk), "staff")
    assert (entry.target_id, entry.data) == (str(operator.pk), {"from": "a", "to": "b"})
    said = [str(message) for message in response.context["messages"]]
    assert said == [
        "Fresh Mart is moving to shard b. Its route switches once a worker of b has built its index; until then"
        " shard a answers its doors."
    ]


def test_moving_an_operator_to_its_own_shard_is_a_form_error_and_changes_nothing(officer_console):
    operator = OperatorFactory()
    match_shard_create(actor=Actor.system(), name="b")
    audited = AuditEntry.objects.count()

    response = officer_console.post(MOVE, {"operator": operator.slug, "shard": "a"})

    assert response.status_code == 400
    assert "The operator is on this shard already." in row(response.content.decode(), "data-operator", operator.slug)
    operator.refresh_from_db()
    assert (operator.match_shard.name, operator.moving_to) == ("a", None)
    assert AuditEntry.objects.count() == audited


def test_a_move_naming_no_operator_or_shard_we_have_is_a_form_error(officer_console):
    operator = OperatorFactory()
    invalid = "Select a valid choice. That choice is not one of the available choices."

    nobody = officer_console.post(MOVE, {"operator": "nobody", "shard": "a"})
    assert nobody.status_code == 400
    assert re.search(rf'<div class="errors" role="alert"><p>{invalid}</p></div>', nobody.content.decode())
    nowhere = officer_console.post(MOVE, {"operator": operator.slug, "shard": "nowhere"})
    assert nowhere.status_code == 400
    assert invalid in row(nowhere.content.decode(), "data-operator", operator.slug)
    assert officer_console.post(MOVE, {}).status_code == 400
    assert not AuditEntry.objects.filter(action="operator.shard_move_started").exists()


@pytest.mark.requirement("S2")
def test_a_support_agent_neither_sees_nor_moves(client):
    operator = OperatorFactory()
    match_shard_create(actor=Actor.system(), name="b")
    agent_console = staff_signed_in(client, staff_member("Support agent"))
    assert agent_console.get(PAGE).status_code == 403
    assert agent_console.post(MOVE, {"operator": operator.slug, "shard": "b"}).status_code == 403
    assert agent_console.post(CREATE, {"name": "c"}).status_code == 403
    assert "/staff/shards/" not in agent_console.get("/staff/").content.decode()
    operator.refresh_from_db()
    assert operator.moving_to is None and not MatchShard.objects.filter(name="c").exists()


@pytest.mark.requirement("S2", "S3")
def test_an_admin_creates_a_shard(admin_console):
    response = admin_console.post(CREATE, {"name": "north-2"}, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    shard = MatchShard.objects.get(name="north-2")
    entry = AuditEntry.objects.get(action="match_shard.created")
    assert (entry.actor_type, entry.target_id, entry.data) == ("staff", str(shard.pk), {"name": "north-2"})
    html = response.content.decode()
    assert "Shard north-2 is created. Start match workers with MATCH_SHARDS=north-2 now" in html
    assert 'data-shard="north-2"' in html


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("North 2", "A shard&#x27;s name is 1 to 32 lowercase letters, digits and hyphens"),
        ("b,c", "A shard&#x27;s name is 1 to 32 lowercase letters, digits and hyphens"),
        ("a", "There is already a shard of this name."),
        ("", "This field is required."),
    ],
)
def test_a_name_the_workers_could_not_spell_or_one_taken_is_refused_on_the_form(admin_console, name, message):
    response = admin_console.post(CREATE, {"name": name})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(MatchShard.objects.values_list("name", flat=True)) == ["a"]
    assert not AuditEntry.objects.filter(action="match_shard.created").exists()


@pytest.mark.requirement("S2")
def test_a_privacy_officer_moves_operators_but_does_not_add_shards(officer_console):
    assert "Create the shard" not in officer_console.get(PAGE).content.decode()
    assert officer_console.post(CREATE, {"name": "b"}).status_code == 403
    assert not MatchShard.objects.filter(name="b").exists()


def test_the_forms_need_the_csrf_token_and_a_get_changes_nothing(officer):
    operator = OperatorFactory()
    match_shard_create(actor=Actor.system(), name="b")
    strict = staff_signed_in(Client(enforce_csrf_checks=True), officer)
    assert strict.post(MOVE, {"operator": operator.slug, "shard": "b"}).status_code == 403
    assert strict.get(MOVE, {"operator": operator.slug, "shard": "b"}).status_code == 405
    operator.refresh_from_db()
    assert operator.moving_to is None
