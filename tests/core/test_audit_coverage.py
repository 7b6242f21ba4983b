"""Every write path leaves exactly its audit entries: each service that writes, and each admin add,
change, inline add/change/delete, delete, bulk delete and action.

Nothing can be added silently: every public function of every services module (found by
introspection) needs a row in SERVICES or a reason in WITHOUT_AN_ENTRY, and every write the
registered admins allow (their permissions, inlines and actions, also found by introspection)
needs a row in ADMIN_PATHS. A row is one line: what to set up, what to call, which entries follow.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.auth.tokens import default_token_generator
from django.contrib.messages import get_messages
from django.db import models
from django.test import RequestFactory
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from biometrics import services as biometrics
from biometrics.keys import key_ring
from biometrics.models import Enrollment, FaceTemplate
from biometrics.protection import generate_key
from consent import services as consent
from consent.models import Consent, NoticeVersion
from consent.services import consents
from core.admin import ReadOnlyAdmin, ServiceAdmin
from core.audit import Actor, audit_chain_verify
from core.errors import ValidationFailed
from core.models import AuditEntry
from portal import services as portal
from portal.models import EmailVerification
from stores import services as stores
from stores.models import Device, Operator, Store
from tests.factories import (
    NOTICE_TEXTS,
    OperatorFactory,
    StoreFactory,
    UserFactory,
    face_consent,
    live_store,
    published_notice,
    registered_device,
)
from tests.stores.admin_pages import StoreChange, operator_form, store_form

pytestmark = pytest.mark.django_db

STAFF = Actor.system()  # the actor a service is called with here; the admin rows check the staff member


# What the tests set up, made on first use.


class World:
    def __init__(self, settings):
        self.settings = settings

    @cached_property
    def operator(self) -> Operator:
        return OperatorFactory()

    @cached_property
    def notice(self) -> NoticeVersion:
        return published_notice(self.operator)

    @cached_property
    def shopper(self):
        return UserFactory()

    @cached_property
    def store(self) -> Store:
        return live_store(self.operator)

    @cached_property
    def device(self) -> Device:
        return registered_device(self.store)[0]

    def consent(self, shopper=None) -> Consent:
        self.notice  # noqa: B018  (published first)
        return face_consent(shopper or self.shopper, self.operator)

    def draft(self) -> NoticeVersion:
        return consent.notice_version_create_draft(
            actor=STAFF, operator=self.operator, purpose="face_entry", **NOTICE_TEXTS
        )

    def consent_of_a_minor(self) -> Consent:
        """A face consent whose shopper's date of birth turns out to be today's."""
        given = self.consent()
        type(self.shopper).objects.filter(pk=self.shopper.pk).update(date_of_birth=timezone.localdate())
        self.shopper.refresh_from_db()
        return given

    def consent_past_expiry(self) -> Consent:
        given = self.consent()
        Consent.objects.filter(pk=given.pk).update(expires_at=timezone.now())
        return given

    def template(self, shopper=None, encoding=None) -> np.ndarray:
        """A face template held for the shopper (sealed as the worker seals it); returns its encoding."""
        shopper = shopper or self.shopper
        encoding = np.linspace(-0.2, 0.2, 128) if encoding is None else encoding
        sealed = key_ring().seal(encoding, owner=str(shopper.public_id))
        FaceTemplate.objects.create(
            shopper=shopper, key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext
        )
        return encoding

    def unverified(self):
        return UserFactory(email_verified_at=None)

    def code(self, user, code: str = "123456") -> str:
        """A verification code waiting for the user (as email_verification_send leaves it, minus the mail)."""
        EmailVerification.objects.create(
            user=user,
            code_hash=hashlib.sha256(f"{user.pk}:{code}".encode()).hexdigest(),
            expires_at=timezone.now() + timedelta(hours=1),
        )
        return code

    def unverified_with_code(self):
        user = self.unverified()
        self.code(user)
        return user

    def old_key_templates(self) -> None:
        """A template sealed under a key that is then no longer the active one."""
        self.settings.TEMPLATE_KEYS = f"old:{generate_key()}"
        self.template()
        self.settings.TEMPLATE_KEYS += f",new:{generate_key()}"


@pytest.fixture
def world(settings):
    return World(settings)


# The expected entries: an action, and its target as a function of (world, given, result).

Target = Callable[[World, Any, Any], "models.Model | tuple[str, str]"]


def RESULT(w, g, r):
    return r


def GIVEN(w, g, r):
    return g


def SHOPPER(w, g, r):
    return w.shopper


@dataclass(frozen=True)
class Row:
    call: Callable[[World, Any], Any]
    entries: list[tuple[str, Target]]
    given: Callable[[World], Any] = field(default=lambda w: None)


def _registered(w):
    return portal.user_register(
        email="new@example.com",
        password="a long enough passphrase",
        display_name="New",
        date_of_birth=w.shopper.date_of_birth,
        channel="app",
    )


def _wrong_code(user) -> None:
    with pytest.raises(ValidationFailed):
        portal.email_verify(email=user.email, code="000000", channel="web")


SERVICES: dict[str, Row] = {
    # stores: operators, stores and devices
    "operator_create": Row(
        lambda w, g: stores.operator_create(
            actor=STAFF,
            name="Mart",
            slug="mart",
            contact_email="a@mart.example",
            privacy_officer_name="Pat",
            privacy_officer_email="dpo@mart.example",
        ),
        [("operator.created", RESULT)],
    ),
    "operator_update": Row(
        lambda w, g: stores.operator_update(actor=STAFF, operator=g, name="Renamed", template_retention_days=30),
        [("operator.changed", GIVEN)],
        given=lambda w: w.operator,
    ),
    "operator_update: nothing changed": Row(
        lambda w, g: stores.operator_update(actor=STAFF, operator=g, name=g.name), [], given=lambda w: w.operator
    ),
    "operator_delete": Row(
        lambda w, g: stores.operator_delete(actor=STAFF, operator=g),
        [("operator.deleted", GIVEN)],
        given=lambda w: w.operator,
    ),
    "store_create": Row(
        lambda w, g: stores.store_create(actor=STAFF, operator=w.operator, name="Central", slug="central"),
        [("store.created", RESULT)],
    ),
    "store_update": Row(
        lambda w, g: stores.store_update(actor=STAFF, store=g, mode="1:1"),
        [("store.changed", GIVEN)],
        given=lambda w: w.store,
    ),
    "store_delete": Row(
        lambda w, g: stores.store_delete(actor=STAFF, store=g), [("store.deleted", GIVEN)], given=lambda w: w.store
    ),
    "store_confirm_signage": Row(
        lambda w, g: stores.store_confirm_signage(actor=STAFF, store=g, confirmed_by="Manager"),
        [("store.signage_confirmed", GIVEN)],
        given=lambda w: StoreFactory(),
    ),
    "store_go_live": Row(
        lambda w, g: stores.store_go_live(actor=STAFF, store=g),
        [("store.live", GIVEN)],
        given=lambda w: stores.store_confirm_signage(actor=STAFF, store=StoreFactory(), confirmed_by="Manager"),
    ),
    "device_register": Row(
        lambda w, g: stores.device_register(
            actor=STAFF, store=w.store, name="Door", kind="entrance", location="entrance"
        ),
        [("device.registered", lambda w, g, r: r.device)],
        given=lambda w: w.store,
    ),
    "device_update": Row(
        lambda w, g: stores.device_update(actor=STAFF, device=g, name="Side door", location="sales_floor"),
        [("device.changed", GIVEN)],
        given=lambda w: w.device,
    ),
    "device_rotate_secret": Row(
        lambda w, g: stores.device_rotate_secret(actor=STAFF, device=g),
        [("device.secret_rotated", GIVEN)],
        given=lambda w: w.device,
    ),
    "device_revoke": Row(
        lambda w, g: stores.device_revoke(actor=STAFF, device=g), [("device.revoked", GIVEN)], given=lambda w: w.device
    ),
    # stores: the door
    "door_match": Row(
        lambda w, g: stores.door_match(device=w.device, photo=None, encoding=g.tolist(), entry_pass=None),
        [("visit.recognised", lambda w, g, r: r.visit)],
        given=lambda w: (w.device, w.consent(), w.template())[2],
    ),
    "door_entry_pass": Row(
        lambda w, g: stores.door_entry_pass(device=w.device, token=g),
        [("visit.entry_pass", lambda w, g, r: r.visit)],
        given=lambda w: (w.device, consent.entry_pass_issue(shopper=w.shopper, channel="app").token)[1],
    ),
    # consent: notices
    "notice_version_create_draft": Row(
        lambda w, g: consent.notice_version_create_draft(
            actor=STAFF, operator=w.operator, purpose="face_entry", **NOTICE_TEXTS
        ),
        [("notice.draft_created", RESULT)],
    ),
    "notice_version_update_draft": Row(
        lambda w, g: consent.notice_version_update_draft(actor=STAFF, version=g, title_en="New title"),
        [("notice.draft_changed", GIVEN)],
        given=lambda w: w.draft(),
    ),
    "notice_version_update_draft: nothing changed": Row(
        lambda w, g: consent.notice_version_update_draft(actor=STAFF, version=g, title_en=g.title_en),
        [],
        given=lambda w: w.draft(),
    ),
    "notice_version_publish": Row(
        lambda w, g: consent.notice_version_publish(actor=STAFF, version=g),
        [("notice.published", GIVEN)],
        given=lambda w: w.draft(),
    ),
    # consent: consents
    "notice_shown_record": Row(
        lambda w, g: consent.notice_shown_record(shopper=w.shopper, notice_version=w.notice, channel="app"),
        [("consent.notice_shown", RESULT)],
        given=lambda w: w.notice,
    ),
    "consent_give": Row(
        lambda w, g: consent.consent_give(
            shopper=w.shopper, operator=w.operator, purpose="face_entry", notice_version=w.notice, channel="app"
        ),
        [("consent.given", RESULT)],
        given=lambda w: w.notice,
    ),
    "consent_refuse": Row(
        lambda w, g: consent.consent_refuse(
            shopper=w.shopper, operator=w.operator, purpose="face_entry", notice_version=w.notice, channel="app"
        ),
        [("consent.refused", RESULT)],
        given=lambda w: w.notice,
    ),
    "consent_reaffirm": Row(
        lambda w, g: consent.consent_reaffirm(consent=g, notice_version=w.notice, channel="app"),
        [("consent.reaffirmed", GIVEN)],
        given=lambda w: w.consent(),
    ),
    "consent_withdraw": Row(
        lambda w, g: consent.consent_withdraw(consent=g, channel="app"),
        [("consent.withdrawn", GIVEN)],
        given=lambda w: w.consent(),
    ),
    "consent_withdraw: the last face consent takes the templates": Row(
        lambda w, g: consent.consent_withdraw(consent=g, channel="app"),
        [("templates.deleted", SHOPPER), ("consent.withdrawn", GIVEN)],
        given=lambda w: (w.consent(), w.template())[0],
    ),
    "consent_end": Row(
        lambda w, g: consents.consent_end(
            consent=g, status="withdrawn", kind="withdrawn", actor=STAFF, now=timezone.now()
        ),
        [("consent.withdrawn", GIVEN)],
        given=lambda w: w.consent(),
    ),
    "consents_invalidate": Row(
        lambda w, g: consents.consents_invalidate(Consent.objects.filter(pk=g.pk), actor=STAFF, now=timezone.now()),
        [("consent.invalidated", GIVEN)],
        given=lambda w: w.consent(),
    ),
    "consents_end_below_minimum_age": Row(
        lambda w, g: consent.consents_end_below_minimum_age(shopper=w.shopper, actor=STAFF),
        [("consent.invalidated", GIVEN)],
        given=lambda w: w.consent_of_a_minor(),
    ),
    "consent_expire_due": Row(
        lambda w, g: consent.consent_expire_due(), [("consent.expired", GIVEN)], given=lambda w: w.consent_past_expiry()
    ),
    # consent: entry passes
    "entry_pass_issue": Row(
        lambda w, g: consent.entry_pass_issue(shopper=w.shopper, channel="app"),
        [("entry_pass.issued", lambda w, g, r: r.entry_pass)],
    ),
    "entry_pass_revoke": Row(
        lambda w, g: consent.entry_pass_revoke(entry_pass=g, channel="app"),
        [("entry_pass.revoked", GIVEN)],
        given=lambda w: consent.entry_pass_issue(shopper=w.shopper, channel="app").entry_pass,
    ),
    # biometrics
    "enrollment_start": Row(
        lambda w, g: biometrics.enrollment_start(shopper=w.shopper, photos=[b"a photo"], channel="app"),
        [("enrollment.queued", RESULT)],
        given=lambda w: w.consent(),
    ),
    "enrollment_process": Row(
        lambda w, g: biometrics.enrollment_process(
            enrollment_id=g.pk,
            sealed_photos=[biometrics.photo_seal(b"not a photo", context=biometrics._photo_context(g, 1))],
        ),
        [("enrollment.refused", GIVEN)],
        given=lambda w: Enrollment.objects.create(shopper=w.shopper, channel="app", photo_count=1),
    ),
    "enrollment_fail": Row(
        lambda w, g: biometrics.enrollment_fail(enrollment_id=g.pk, reason="worker_lost"),
        [("enrollment.failed", GIVEN)],
        given=lambda w: Enrollment.objects.create(shopper=w.shopper, channel="app", photo_count=1),
    ),
    "templates_delete": Row(
        lambda w, g: biometrics.templates_delete(shopper=w.shopper, actor=STAFF, reason="asked"),
        [("templates.deleted", SHOPPER)],
        given=lambda w: w.template(),
    ),
    "templates_rotate_key": Row(
        lambda w, g: biometrics.templates_rotate_key(),
        [("templates.rekeyed", lambda w, g, r: ("biometrics.facetemplate", "*"))],
        given=lambda w: w.old_key_templates(),
    ),
    # portal: accounts
    "user_register": Row(
        lambda w, g: _registered(w), [("account.registered", RESULT), ("account.verification_code_sent", RESULT)]
    ),
    "email_verification_send": Row(
        lambda w, g: portal.email_verification_send(user=g, channel="web"),
        [("account.verification_code_sent", GIVEN)],
        given=lambda w: w.unverified(),
    ),
    "email_verification_resend": Row(
        lambda w, g: portal.email_verification_resend(email=g.email, channel="web"),
        [("account.verification_code_sent", GIVEN)],
        given=lambda w: w.unverified(),
    ),
    "email_verification_resend: unknown address": Row(
        lambda w, g: portal.email_verification_resend(email="nobody@example.com", channel="web"), []
    ),
    "email_verify": Row(
        lambda w, g: portal.email_verify(email=g.email, code=w.code(g), channel="web"),
        [("account.email_verified", GIVEN)],
        given=lambda w: w.unverified(),
    ),
    "email_verify: a wrong code uses up a try": Row(
        lambda w, g: _wrong_code(g),
        [("account.verification_code_refused", GIVEN)],
        given=lambda w: w.unverified_with_code(),
    ),
    "user_email_mark_verified": Row(
        lambda w, g: portal.user_email_mark_verified(user=g, actor=STAFF),
        [("account.email_verified", GIVEN)],
        given=lambda w: w.unverified(),
    ),
    "api_token_create": Row(
        lambda w, g: portal.api_token_create(user=w.shopper), [("account.token_issued", lambda w, g, r: r.token)]
    ),
    "api_token_revoke": Row(
        lambda w, g: portal.api_token_revoke(token=g),
        [("account.token_revoked", GIVEN)],
        given=lambda w: portal.api_token_create(user=w.shopper).token,
    ),
    "password_reset_request": Row(
        lambda w, g: portal.password_reset_request(email=w.shopper.email, channel="web"),
        [("account.password_reset_requested", SHOPPER)],
    ),
    "password_reset_confirm": Row(
        lambda w, g: portal.password_reset_confirm(
            uidb64=g[0], token=g[1], new_password="another long passphrase", channel="web"
        ),
        [("account.password_reset", SHOPPER)],
        given=lambda w: (
            urlsafe_base64_encode(force_bytes(w.shopper.pk)),
            default_token_generator.make_token(w.shopper),
        ),
    ),
    "user_profile_update": Row(
        lambda w, g: portal.user_profile_update(user=w.shopper, channel="app", display_name="Another name"),
        [("account.profile_updated", SHOPPER)],
    ),
}

# Public functions of services modules that leave no entry of their own, and why.
WITHOUT_AN_ENTRY: dict[str, str] = {
    "engine_settings": "reads settings",
    "face_consent_given": "reads",
    "shopper_old_enough_for_face": "reads",
    "check_old_enough_for_face": "checks, writes nothing",
    "photo_seal": "encrypts bytes in memory",
    "photo_open": "decrypts bytes in memory",
    "template_encodings_by_shopper": "reads (for a match worker's memory)",
    "template_encodings": "reads",
    "match_index_change_record": (
        "a note to the match workers, written only inside a service that audits the change"
        " (consent_give, consent_end, templates_delete, enrollment)"
    ),
    "enrollment_mark_processing": (
        "the queued-to-processing step is not audited yet: the enrollment audit work gives it"
        " its entry, and it moves to SERVICES"
    ),
    "entry_pass_verify": "reads and checks a token",
    "api_token_find": "reads",
    "password_reset_user": "reads and checks a link",
    "login_throttle_check": "reads the shared cache",
    "login_failure_record": "counts in the shared cache, which forgets on its own; no state of the product",
    "login_success_record": "clears a counter in the shared cache",
    "user_authenticate": "checks credentials; its only writes are the cache counters above",
}


def _service_functions() -> dict[str, str]:
    """Every public function defined in a services module of the project's own apps: name -> module."""
    found: dict[str, str] = {}
    root = Path(django_settings.BASE_DIR).resolve()
    for config in apps.get_app_configs():
        app_path = Path(config.path).resolve()
        if root not in app_path.parents:
            continue  # Django's and third-party apps
        files = [*app_path.rglob("services.py"), *app_path.rglob("services/*.py")]
        for path in files:
            module_name = ".".join(path.relative_to(root).with_suffix("").parts)
            module = importlib.import_module(module_name.removesuffix(".__init__"))
            for name, function in inspect.getmembers(module, inspect.isfunction):
                if function.__module__ == module.__name__ and not name.startswith("_"):
                    assert found.get(name, module.__name__) == module.__name__, f"{name} is defined twice"
                    found[name] = module.__name__
    return found


def test_every_service_is_in_the_table():
    functions = _service_functions()
    listed = {key.split(":")[0] for key in SERVICES}
    missing = sorted(set(functions) - listed - set(WITHOUT_AN_ENTRY))
    assert not missing, f"services with no row in SERVICES (or reason in WITHOUT_AN_ENTRY): {missing}"
    gone = sorted((listed | set(WITHOUT_AN_ENTRY)) - set(functions))
    assert not gone, f"rows for services that no longer exist: {gone}"
    assert not listed & set(WITHOUT_AN_ENTRY)


def _key(target) -> tuple[str, str]:
    if isinstance(target, models.Model):
        return target._meta.label_lower, str(target.pk)
    return target


def _last_sequence() -> int:
    return AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


def _entries_after(sequence: int) -> list[tuple[str, str, str]]:
    return list(
        AuditEntry.objects.filter(sequence__gt=sequence)
        .order_by("sequence")
        .values_list("action", "target_type", "target_id")
    )


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_leaves_exactly_its_entries(world, name):
    row = SERVICES[name]
    given = row.given(world)
    before = _last_sequence()

    result = row.call(world, given)

    expected = [(action, *_key(target(world, given, result))) for action, target in row.entries]
    assert _entries_after(before) == expected
    assert audit_chain_verify().intact


def test_no_entry_holds_a_code_a_token_or_a_secret(world, mailoutbox, django_capture_on_commit_callbacks):
    """What is sent to people (codes, links, passes, device secrets, API keys) never reaches the log."""
    user = world.unverified()
    with django_capture_on_commit_callbacks(execute=True):
        portal.email_verification_send(user=user, channel="web")
        portal.password_reset_request(email=world.shopper.email, channel="web")
    code = re.search(r"\b\d{6}\b", mailoutbox[0].body).group()
    reset_token = re.search(r"https?://\S+", mailoutbox[1].body).group().rstrip("/").split("/")[-1]
    assert len(reset_token) > 20
    secrets_sent = [
        code,
        reset_token,
        consent.entry_pass_issue(shopper=world.shopper, channel="app").token,
        stores.device_register(
            actor=STAFF, store=world.store, name="Door", kind="entrance", location="entrance"
        ).secret,
        portal.api_token_create(user=world.shopper).key,
    ]
    log = "\n".join(str(entry) for entry in AuditEntry.objects.values_list("data", "target_id", "actor_id"))
    assert AuditEntry.objects.filter(action="account.verification_code_sent").exists()
    for sent in secrets_sent:
        assert sent not in log


# The admin ----------------------------------------------------------------------------------------


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
    before = _last_sequence()

    response = row.request(admin_client, world, given)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert "error" not in [message.level_tag for message in get_messages(response.wsgi_request)]
    expected = [(action, *_key(target(world, given, response))) for action, target in row.entries]
    assert _entries_after(before) == expected
    staff = set(AuditEntry.objects.filter(sequence__gt=before).values_list("actor_type", "actor_id"))
    assert staff <= {("staff", str(admin_user.pk))}
    assert audit_chain_verify().intact


def test_a_tampered_or_missing_admin_entry_is_caught(world, admin_client):
    store = empty_store(world)
    admin_client.post(f"/admin/stores/store/{store.pk}/change/", store_form(store, name="Renamed"))
    admin_client.post(f"/admin/stores/store/{store.pk}/delete/", {"post": "yes"})
    changed, deleted = AuditEntry.objects.filter(action__in=["store.changed", "store.deleted"]).order_by("sequence")
    assert audit_chain_verify().intact

    AuditEntry.objects.filter(pk=changed.pk).update(data={"fields": ["address"]})
    report = audit_chain_verify()
    assert (report.broken_sequence, report.reason) == (changed.sequence, "its content does not match its hash")

    AuditEntry.objects.filter(pk=changed.pk).delete()
    report = audit_chain_verify()
    assert (report.broken_sequence, report.reason) == (deleted.sequence, f"entry #{changed.sequence} is missing")
