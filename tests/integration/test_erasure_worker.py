"""Part 10's erasure on PostgreSQL, Redis and real workers: a shopper with consents, a template in the match
workers' index and a footprint is erased through the `erasure` queue; the check finds nothing, the same face
is a stranger at the door, and the receipt lists what went. And an erasure whose worker is killed (SIGKILL)
half-way: the next worker process finishes it, exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest
from django.db import connection, transaction

from consent.models import EntryPass
from consent.services import entry_pass_issue
from core.audit import audit_chain_verify
from core.models import AuditEntry
from portal.erasure.selectors import shopper_traces
from portal.models import PrivacyRequest
from portal.privacy.services import privacy_erasure_start, privacy_request_open
from stores.client import DeviceClient
from stores.models import Visit
from tests.biometrics.photos import kit_photo
from tests.consent.test_withdrawal import held_template
from tests.factories import UserFactory, consent_to, face_consent, live_store, published_notice, registered_device
from tests.integration.test_door_worker import enroll
from tests.integration.test_feed_worker import recognised
from tests.integration.test_worker import wait_for_mail
from tests.stores.test_device_events import dwell

pytestmark = [pytest.mark.integration, pytest.mark.requirement("F6")]


def completed(request: PrivacyRequest, timeout: float = 60) -> PrivacyRequest:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request.refresh_from_db()
        if request.status == "completed":
            return request
        time.sleep(0.1)
    raise AssertionError(f"the erasure did not complete: {request.status}")


def test_an_erasure_through_the_queue_leaves_nothing_and_the_face_is_a_stranger(real_worker, api_client, live_server):
    store = live_store(name="Central", slug="central")
    published_notice(store.operator)
    device, secret = registered_device(store)
    shopper = UserFactory(display_name="Wang Fang", email="wang.fang@example.com")
    who = {"shopper_id": shopper.pk, "public_id": str(shopper.public_id), "email": shopper.email}
    face_consent(shopper, store.operator)
    consent_to(shopper, store.operator, "store_analytics")
    enroll(api_client, shopper, kit_photo("obama/obama_1.jpg"))
    staff = UserFactory(is_staff=True)

    with DeviceClient(live_server.url, device.device_id, secret) as door:
        visit_id = recognised(door, kit_photo("obama/obama_2.jpg"))["visit_id"]
        assert door.events([dwell(Visit.objects.get(public_id=visit_id))]).status == 200

        request = privacy_request_open(shopper=shopper, kind="erasure", channel="app")
        privacy_erasure_start(request=request, staff=staff)  # committed: the task goes to the erasure queue
        done = completed(request)
        after = door.match_photo(kit_photo("obama/obama_3.jpg"))

    assert (after.status, after.body["result"]) == (200, "no_match"), after.body
    assert done.result["nothing_left"] is True and done.shopper is None
    assert done.result["counts"]["templates"] == 1 and done.result["counts"]["visits"] == 1
    assert shopper_traces(**who).clean
    receipt = [m for m in wait_for_mail(real_worker["mail_dir"], who["email"]) if "deleted" in m["Subject"]]
    body = receipt[0].get_payload(decode=True).decode()
    assert "Face templates: 1" in body and "Visits: 1" in body and "Events reported by the stores: 1" in body
    assert "portal.erasure_carry_out" in real_worker["log"].read_text()


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def _waiting_for_a_lock() -> list[int]:
    """This database's sessions other than ours that wait for a row lock."""
    with connection.cursor() as cursor:
        # Inside a transaction the activity view is a snapshot taken at its first read: take a new one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="holds a row lock: PostgreSQL's")
def test_a_worker_killed_half_way_through_an_erasure_is_finished_by_the_next_exactly_once(real_worker):
    shopper = UserFactory()
    face_consent(shopper)
    held_template(shopper)
    entry_pass = entry_pass_issue(shopper=shopper, channel="app").entry_pass
    staff = UserFactory(is_staff=True)
    request = privacy_request_open(shopper=shopper, kind="erasure", channel="app")
    background = real_worker["processes"]["background"]
    (child,) = _children(background.pid)

    # Holding the entry pass's row stops the erasure when it comes to delete it: by then its transaction has
    # deleted the templates and the footprint and ended the consents, none of it committed.
    with transaction.atomic():
        EntryPass.objects.select_for_update().get(pk=entry_pass.pk)
        _in_another_session(lambda: privacy_erasure_start(request=request, staff=staff))
        deadline = time.monotonic() + 30
        while not (waiting := _waiting_for_a_lock()):
            assert time.monotonic() < deadline, "the erasure never came to the entry pass"
            time.sleep(0.05)
        os.kill(child, signal.SIGKILL)
        with connection.cursor() as cursor:  # the dead process's database session, ended as the server would
            for pid in waiting:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

    done = completed(request)
    assert child not in _children(background.pid)
    assert done.result["nothing_left"] is True and done.result["counts"]["templates"] == 1
    assert AuditEntry.objects.filter(action="account.deleted").count() == 1
    assert AuditEntry.objects.filter(action="templates.deleted").count() == 1
    assert AuditEntry.objects.filter(action="privacy_request.completed", target_id=str(request.pk)).count() == 1
    assert audit_chain_verify().intact
    assert "WorkerLostError" in real_worker["log"].read_text()


def _in_another_session(work) -> None:
    """Run `work` in its own database session (a thread), so it commits while this test holds a lock."""
    from django.db import connections

    def run() -> None:
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
