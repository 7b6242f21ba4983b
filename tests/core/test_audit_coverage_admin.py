"""Every write the admin allows leaves exactly its audit entries: add, change, inline add, change and
delete, delete, bulk delete and each action; a new admin, permission or action without a row fails.

The writes are found by introspection of the registered admins (for a superuser); each needs a row
in ADMIN_PATHS (one dict entry: what to set up, what to post, which entries follow, in order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from consent.models import NoticeVersion
from core.admin import ReadOnlyAdmin, ServiceAdmin
from core.audit import audit_chain_verify
from core.models import AuditEntry
from stores import services as stores
from stores.models import Device, Operator, Store
from tests.core.audit_world import GIVEN, STAFF, Target, World, entries_after, last_sequence, target_key
from tests.factories import NOTICE_TEXTS, OperatorFactory, StoreFactory
from tests.stores.admin_pages import StoreChange, operator_form, store_form

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("S3")]


@pytest.fixture
def world(settings):
    return World(settings)


def notice_form(**overrides) -> dict:
    data = {key: value for key, value in NOTICE_TEXTS.items() if key != "data_categories"}
    return {**data, "data_categories": '["facial template (biometric)"]', "material": "on", **overrides}


def action(client, model: str, name: str, *objects):
    return client.post(
        f"/admin/{model}/", {"action": name, "_selected_action": [obj.pk for obj in objects], "post": "yes"}
    )


def empty_store(w) -> Store:
    return StoreFactory(operator=w.operator)


@dataclass(frozen=True)
class AdminRow:
    request: Callable[[Any, World, Any], Any]
    entries: list[tuple[str, Target]]
    given: Callable[[World], Any] = field(default=lambda w: None)


# Keys: "<app_label>.<model>: <path>", a path being add, change, delete, an action's name, or
# "inline <app_label>.<model> add|change|delete".
ADMIN_PATHS: dict[str, AdminRow] = {
    "stores.operator: add": AdminRow(
        lambda c, w, g: c.post("/admin/stores/operator/add/", operator_form()),
        [("operator.created", lambda w, g, r: Operator.objects.get(slug="mart"))],
    ),
    "stores.operator: change": AdminRow(
        lambda c, w, g: c.post(
            f"/admin/stores/operator/{g.pk}/change/", operator_form(g, name="Renamed", template_retention_days="30")
        ),
        [("operator.changed", GIVEN)],
        given=lambda w: w.operator,
    ),
    "stores.operator: delete": AdminRow(
        lambda c, w, g: c.post(f"/admin/stores/operator/{g.pk}/delete/", {"post": "yes"}),
        [("operator.deleted", GIVEN)],
        given=lambda w: w.operator,
    ),
    "stores.operator: delete_selected": AdminRow(
        lambda c, w, g: action(c, "stores/operator", "delete_selected", *g),
        [("operator.deleted", lambda w, g, r: g[0]), ("operator.deleted", lambda w, g, r: g[1])],
        given=lambda w: sorted([OperatorFactory(), OperatorFactory()], key=lambda o: o.name),
    ),
    "stores.operator: inline stores.store add": AdminRow(
        lambda c, w, g: c.post(f"/admin/stores/operator/{g.pk}/change/", operator_form(g, new=["Central"])),
        [("store.created", lambda w, g, r: g.stores.get())],
        given=lambda w: w.operator,
    ),
    "stores.operator: inline stores.store change": AdminRow(
        lambda c, w, g: c.post(
            f"/admin/stores/operator/{g.operator_id}/change/",
            operator_form(g.operator, change=StoreChange(g, name="Renamed", mode="1:1")),
        ),
        [("store.changed", GIVEN)],
        given=empty_store,
    ),
    "stores.operator: inline stores.store delete": AdminRow(
        lambda c, w, g: c.post(
            f"/admin/stores/operator/{g.operator_id}/change/", operator_form(g.operator, delete=[g])
        ),
        [("store.deleted", GIVEN)],
        given=empty_store,
    ),
    "stores.store: add": AdminRow(
        lambda c, w, g: c.post("/admin/stores/store/add/", store_form(operator=w.operator.pk)),
        [("store.created", lambda w, g, r: Store.objects.get(slug="central"))],
    ),
    "stores.store: change": AdminRow(
        lambda c, w, g: c.post(f"/admin/stores/store/{g.pk}/change/", store_form(g, name="Renamed")),
        [("store.changed", GIVEN)],
        given=empty_store,
    ),
    "stores.store: delete": AdminRow(
        lambda c, w, g: c.post(f"/admin/stores/store/{g.pk}/delete/", {"post": "yes"}),
        [("store.deleted", GIVEN)],
        given=empty_store,
    ),
    "stores.store: delete_selected": AdminRow(
        lambda c, w, g: action(c, "stores/store", "delete_selected", *g),
        [("store.deleted", lambda w, g, r: g[0]), ("store.deleted", lambda w, g, r: g[1])],
        given=lambda w: [StoreFactory(operator=w.operator, name="A"), StoreFactory(operator=w.operator, name="B")],
    ),
    "stores.store: confirm_signage": AdminRow(
        lambda c, w, g: action(c, "stores/store", "confirm_signage", g),
        [("store.signage_confirmed", GIVEN)],
        given=empty_store,
    ),
    "stores.store: go_live": AdminRow(
        lambda c, w, g: action(c, "stores/store", "go_live", g),
        [("store.live", GIVEN)],
        given=lambda w: stores.store_confirm_signage(actor=STAFF, store=empty_store(w), confirmed_by="Manager"),
    ),
    "stores.device: add": AdminRow(
        lambda c, w, g: c.post(
            "/admin/stores/device/add/",
            {"store": w.store.pk, "name": "Door", "kind": "entrance", "location": "entrance"},
        ),
        [("device.registered", lambda w, g, r: Device.objects.get())],
        given=lambda w: w.store,
    ),
    "stores.device: change": AdminRow(
        lambda c, w, g: c.post(
            f"/admin/stores/device/{g.pk}/change/", {"name": "Side door", "location": "sales_floor"}
        ),
        [("device.changed", GIVEN)],
        given=lambda w: w.device,
    ),
    "stores.device: rotate_secret": AdminRow(
        lambda c, w, g: action(c, "stores/device", "rotate_secret", g),
        [("device.secret_rotated", GIVEN)],
        given=lambda w: w.device,
    ),
    "stores.device: revoke": AdminRow(
        lambda c, w, g: action(c, "stores/device", "revoke", g), [("device.revoked", GIVEN)], given=lambda w: w.device
    ),
    "consent.noticeversion: add": AdminRow(
        lambda c, w, g: c.post(
            "/admin/consent/noticeversion/add/", notice_form(operator=w.operator.pk, purpose="face_entry")
        ),
        [("notice.draft_created", lambda w, g, r: NoticeVersion.objects.get())],
    ),
    "consent.noticeversion: change": AdminRow(
        lambda c, w, g: c.post(f"/admin/consent/noticeversion/{g.pk}/change/", notice_form(title_en="A clearer title")),
        [("notice.draft_changed", GIVEN)],
        given=lambda w: w.draft(),
    ),
    "consent.noticeversion: publish": AdminRow(
        lambda c, w, g: action(c, "consent/noticeversion", "publish", g),
        [("notice.published", GIVEN)],
        given=lambda w: w.draft(),
    ),
}


def _admin_paths(model_admin, request) -> set[str]:
    """What a superuser may write through this admin, as ADMIN_PATHS names it."""
    paths = {
        permission
        for permission in ["add", "change", "delete"]
        if getattr(model_admin, f"has_{permission}_permission")(request)
    }
    paths |= set(model_admin.get_actions(request))
    for inline in model_admin.get_inline_instances(request):
        label = inline.model._meta.label_lower
        paths |= {
            f"inline {label} {permission}"
            for permission in ["add", "change", "delete"]
            if getattr(inline, f"has_{permission}_permission")(request, None)
        }
    return paths


def test_every_admin_write_is_in_the_table(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    required = set()
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, ServiceAdmin | ReadOnlyAdmin), (
            f"{model._meta.label}'s admin writes with save(): make it a ServiceAdmin or a ReadOnlyAdmin"
        )
        required |= {f"{model._meta.label_lower}: {path}" for path in _admin_paths(model_admin, request)}
    assert sorted(required - set(ADMIN_PATHS)) == [], "admin writes with no row in ADMIN_PATHS"
    assert sorted(set(ADMIN_PATHS) - required) == [], "rows for admin writes that no longer exist"


@pytest.mark.parametrize("name", sorted(ADMIN_PATHS))
def test_each_admin_write_leaves_exactly_its_entries(world, admin_client, admin_user, name):
    row = ADMIN_PATHS[name]
    given = row.given(world)
    before = last_sequence()

    response = row.request(admin_client, world, given)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert "error" not in [message.level_tag for message in get_messages(response.wsgi_request)]
    expected = [(action, *target_key(target(world, given, response))) for action, target in row.entries]
    assert entries_after(before) == expected
    staff = set(AuditEntry.objects.filter(sequence__gt=before).values_list("actor_type", "actor_id"))
    assert staff <= {("staff", str(admin_user.pk))}
    assert audit_chain_verify().intact


def test_a_tampered_or_missing_admin_entry_is_caught(world, admin_client):
    store = empty_store(world)
    admin_client.post(f"/admin/stores/store/{store.pk}/change/", store_form(store, name="Renamed"))
    admin_client.post(f"/admin/stores/store/{store.pk}/delete/", {"post": "yes"})
    changed, deleted = AuditEntry.objects.filter(action__in=["store.changed", "store.deleted"]).order_by("sequence")
    call_command("audit_verify")

    AuditEntry.objects.filter(pk=changed.pk).update(data={"fields": ["address"]})
    with pytest.raises(CommandError) as raised:
        call_command("audit_verify")
    assert str(raised.value).startswith(
        f"Audit chain broken at entry #{changed.sequence} (id {changed.pk}): its content does not match its hash."
    )

    AuditEntry.objects.filter(pk=changed.pk).delete()
    with pytest.raises(CommandError) as raised:
        call_command("audit_verify")
    assert str(raised.value).startswith(
        f"Audit chain broken at entry #{deleted.sequence} (id {deleted.pk}): entry #{changed.sequence} is missing."
    )
