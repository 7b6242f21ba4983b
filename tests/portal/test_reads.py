"""A GET never writes: every route the URLconf has, read by anybody, leaves the database as it was.

The routes are not listed by hand: the test walks the URLconf, so a route added later is read too,
and one whose path parameters it cannot fill fails the test until a value is named below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from biometrics.models import Enrollment
from consent.services import consent_refuse, entry_pass_issue
from portal.services import api_token_create, web_session_start
from stores import signing
from stores.models import GalleryCheck, MatchEvent, ProbeCounter, StoreEvent, Visit
from tests.conftest import assert_error, staff_signed_in
from tests.factories import (
    OperatorFactory,
    UserFactory,
    face_consent,
    live_store,
    published_notice,
    registered_device,
)

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|TRUNCATE)\b", re.IGNORECASE)


def _routes(patterns, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, URLPattern]]:
    """(route as written, namespaced name, pattern) for every route, included ones too."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if pattern.namespace and namespace else pattern.namespace
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), inner or namespace)
        else:
            name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")
            yield prefix + str(pattern.pattern), name, pattern


PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>|\(\?P<(?P<regex_name>\w+)>[^)]*\)")


def _fill(route: str, values: dict[str, str]) -> str:
    """The route as a path, each parameter replaced by its value; `^`, `$` and `\\` of regex routes dropped."""
    path = PARAMETER.sub(lambda match: values[match.group("name") or match.group("regex_name")], route)
    return "/" + path.lstrip("^").replace("$", "").replace("\\", "")


@pytest.fixture
def world():
    """One of everything a route can name: operators with notices, consents, passes, an enrollment,
    a store with its door, visits and a staff member."""
    operator = OperatorFactory()
    notice = published_notice(operator)
    published_notice(operator, "store_analytics")
    shopper = UserFactory()
    consent = face_consent(shopper, operator)
    consent_refuse(
        shopper=shopper,
        operator=operator,
        purpose="store_analytics",
        notice_version=operator.notices.get(purpose="store_analytics").versions.get(),
        channel="web",
    )
    issued_pass = entry_pass_issue(shopper=shopper, channel="app")
    enrollment = Enrollment.objects.create(shopper=shopper, channel="app", photo_count=1)
    store = live_store(operator)
    device, secret = registered_device(store)
    visit = Visit.objects.create(store=store, device=device, shopper=shopper, method=Visit.Method.FACE)
    MatchEvent.objects.create(
        visit=visit,
        shopper=shopper,
        device=device,
        store=store,
        distance=0.3,
        mode=store.mode,
        consent=consent,
        notice_version=notice,
    )
    ProbeCounter.objects.create(device=device, day=visit.entered_at.date(), no_match=1)
    store_event = StoreEvent.objects.create(
        visit=visit,
        shopper=shopper,
        store=store,
        device=device,
        event_id="e1",
        kind="exit",
        occurred_at=visit.entered_at,
    )
    GalleryCheck.objects.create(
        operator=operator,
        trigger="nightly",
        gallery_size=700,
        sampled=False,
        thresholds=[0.55],
        margin=0.05,
        target_fpir=0.01,
        tir_floor=0.9,
        figures=[{"threshold": 0.55, "strangers": 700, "false_matches": 0}],
        threshold=0.55,
        one_to_n=True,
        reason="target_met",
    )
    staff = UserFactory(is_staff=True, is_superuser=True)
    issued = api_token_create(user=shopper)
    browser = SessionStore()
    browser.create()
    web_session = web_session_start(user=shopper, session_key=browser.session_key, user_agent="Firefox/120.0")
    return {
        "operator": operator,
        "notice": notice,
        "shopper": shopper,
        "consent": consent,
        "entry_pass": issued_pass.entry_pass,
        "entry_pass_token": issued_pass.token,
        "enrollment": enrollment,
        "visit": visit,
        "store_event": store_event,
        "staff": staff,
        "token": issued.key,
        "api_token": issued.token,
        "web_session": web_session,
        "device": (device, secret),
        "reset": (urlsafe_base64_encode(force_bytes(shopper.pk)), default_token_generator.make_token(shopper)),
    }


def _values(name: str, pattern: URLPattern, world) -> dict[str, str]:
    """Real objects for each path parameter a route names."""
    values = {
        "slug": world["operator"].slug,
        "purpose": "face_entry",
        "pk": str(world["notice"].pk),
        "notice_version_id": str(world["notice"].pk),
        "public_id": str(world["consent"].public_id),
        "entry_pass_id": str(world["entry_pass"].pk),
        "uidb64": world["reset"][0],
        "token": world["reset"][1],
        "app_label": "stores",
        "url": "no-such-page/",
        "session_id": str(world["web_session"].pk),
        "token_id": str(world["api_token"].pk),
        "visit_id": str(world["visit"].public_id),
        "event_id": str(world["store_event"].public_id),
    }
    if name == "api:enrollment_detail":
        values["public_id"] = str(world["enrollment"].public_id)
    model_admin = getattr(pattern.callback, "model_admin", None)
    if model_admin is not None:
        instance = model_admin.model._default_manager.order_by("pk").first()
        assert instance is not None, f"no {model_admin.model._meta.label} for {name}: add one to `world`"
        values["object_id"] = str(instance.pk)
    if name == "admin:view_on_site":
        values["content_type_id"] = str(ContentType.objects.get_for_model(world["operator"]).pk)
        values["object_id"] = str(world["operator"].pk)
    return values


def _paths(world) -> list[tuple[str, str]]:
    paths = []
    for route, name, pattern in _routes(get_resolver().url_patterns):
        values = _values(name, pattern, world)
        missing = {match.group("name") or match.group("regex_name") for match in PARAMETER.finditer(route)} - set(
            values
        )
        assert not missing, f"{route} ({name}) names {missing}: give the test a real object for it"
        paths.append((name, _fill(route, values)))
    return paths


def _writes(client, method: str, path: str, headers: dict) -> list[str]:
    if "device" in headers:  # signed afresh for each request, as a device signs
        device, secret = headers["device"]
        headers = signing.signed_headers(device.device_id, secret, method.upper(), path, b"")
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(path, headers=headers)
    assert response.status_code < 500, (path, response.status_code)
    return [query["sql"] for query in queries.captured_queries if WRITE.match(query["sql"])]


@pytest.mark.parametrize("who", ["anonymous", "shopper", "staff", "device"])
def test_no_get_head_or_options_writes_anything(client, world, who):
    headers = {}
    if who == "shopper":
        client.force_login(world["shopper"])
        headers = {"Authorization": f"Bearer {world['token']}"}
    elif who == "staff":
        staff_signed_in(client, world["staff"])
    elif who == "device":
        headers = {"device": world["device"]}
    paths = _paths(world)
    assert len(paths) > 60  # the walk found the admin's routes, the pages' and the API's
    writes = [
        f"{method.upper()} {path} ({name}): {statement[:90]}"
        for name, path in paths
        for method in ("get", "head", "options")
        for statement in _writes(client, method, path, headers)
    ]
    assert not writes, "\n".join(writes)


def test_the_walk_reaches_pages_the_api_and_the_admin(world):
    names = {name for name, _path in _paths(world)}
    assert {"portal:consents", "portal:consent_decide", "api:consent_list", "api:enrollment_detail"} <= names
    assert {f"admin:{model._meta.app_label}_{model._meta.model_name}_change" for model in admin.site._registry} <= names


@pytest.mark.parametrize("method", ["get", "options"])
def test_a_signed_get_to_the_door_is_refused_before_its_signature_is_checked(client, world, method):
    device, secret = world["device"]
    headers = signing.signed_headers(
        device.device_id, secret, method.upper(), "/api/v1/device/match", b"", nonce="n" * 22
    )
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)("/api/v1/device/match", headers=headers)
    assert_error(response, 405, "method_not_allowed")
    assert not [query for query in queries.captured_queries if WRITE.match(query["sql"])]
    # Its nonce is not spent: the device may still use it for a request the door serves.
    body = json.dumps({"entry_pass": world["entry_pass_token"]}).encode()
    headers = signing.signed_headers(
        device.device_id, secret, "POST", "/api/v1/device/entry-pass", body, nonce="n" * 22
    )
    response = client.post("/api/v1/device/entry-pass", body, content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content
