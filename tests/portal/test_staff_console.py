"""The staff console's request pages (F5, S2): the queue with deadlines (overdue ones stand out), opening a
request for a shopper who called, verifying them by the code mailed to the account, and carrying out the
erasure; every step audited with the staff member. Shoppers' addresses show masked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import AuditEntry
from portal.models import PrivacyRequest, User
from portal.privacy.services import privacy_request_open
from tests.conftest import staff_signed_in
from tests.factories import UserFactory, staff_member
from tests.portal.test_account_deletion import full_account

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("F5")]

QUEUE = "/staff/requests/"


@pytest.fixture
def staff():
    return staff_member("Support agent")


@pytest.fixture
def console(client, staff):
    return staff_signed_in(client, staff)


@pytest.mark.requirement("S2")
def test_shoppers_do_not_reach_it(client):
    client.force_login(UserFactory())
    assert client.get(QUEUE)["Location"] == "/profile/"


@pytest.mark.requirement("S2")
def test_the_queue_shows_deadlines_and_overdue_requests_stand_out(console):
    late = privacy_request_open(shopper=UserFactory(email="mei.lin@example.com"), kind="erasure", channel="app")
    PrivacyRequest.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=1))
    on_time = privacy_request_open(shopper=UserFactory(), kind="erasure", channel="app")

    html = console.get(QUEUE).content.decode()
    assert html.index(str(late.public_id)) < html.index(str(on_time.public_id))  # the earliest due first
    row = re.search(rf'<tr class="overdue" data-id="{late.public_id}">.*?</tr>', html, re.S).group()
    assert "Overdue" in row and "m***@example.com" in row and "mei.lin" not in html

    overdue = console.get(QUEUE, {"status": "overdue"}).content.decode()
    assert str(late.public_id) in overdue and str(on_time.public_id) not in overdue


@pytest.mark.requirement("F6")
def test_a_request_for_a_caller_end_to_end(console, staff, mailoutbox, django_capture_on_commit_callbacks):
    shopper = full_account()
    email = shopper.email
    assert console.post("/staff/requests/new/", {"email": "nobody@example.com", "kind": "erasure"}).status_code == 400
    opened = console.post("/staff/requests/new/", {"email": email.upper(), "kind": "erasure"})
    item = PrivacyRequest.objects.get()
    assert opened["Location"] == f"/staff/requests/{item.public_id}/"
    page = f"/staff/requests/{item.public_id}/"
    assert "Mail an identity code" in console.get(page).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        console.post(page + "send-code/")
    code = re.search(r"^(\d{6})$", mailoutbox[-1].body, re.M).group(1)
    assert mailoutbox[-1].to == [email]
    wrong = console.post(page + "verify/", {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 400 and "The identity code is wrong." in wrong.content.decode()
    assert console.post(page + "verify/", {"code": code}).status_code == 302
    assert "Erase the account" in console.get(page).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        console.post(page + "start/")

    item.refresh_from_db()
    assert item.status == "completed" and item.result["nothing_left"] is True
    assert not User.objects.filter(email=email).exists()
    html = console.get(page).content.decode()
    assert "Shopper: no longer held (erased)" in html
    assert "The check afterwards found nothing of the shopper in any table." in html
    staff_steps = AuditEntry.objects.filter(target_id=str(item.pk), actor_type="staff")
    assert list(staff_steps.values_list("action", "actor_id")) == [
        ("privacy_request.received", str(staff.pk)),
        ("privacy_request.identity_code_sent", str(staff.pk)),
        ("privacy_request.identity_code_refused", str(staff.pk)),
        ("privacy_request.identity_verified", str(staff.pk)),
        ("privacy_request.started", str(staff.pk)),
    ]
    for action in ("privacy_request.started", "privacy_request.completed"):
        assert f'data-action="{action}"' in html
    assert "Erasure started" in html


def test_a_refusal_with_its_reason(console):
    item = privacy_request_open(shopper=UserFactory(), kind="erasure", channel="app")
    page = f"/staff/requests/{item.public_id}/"
    console.post(page + "refuse/", {"reason": "legal_hold"})
    item.refresh_from_db()
    assert (item.status, item.refusal_reason) == ("refused", "legal_hold")
    assert "Refused because: A law requires us to keep this data for now." in console.get(page).content.decode()


def test_an_unknown_request_is_404(console):
    assert console.get("/staff/requests/00000000-0000-0000-0000-000000000000/").status_code == 404


@pytest.mark.requirement("S2")
class TestShopperSearchAndRecord:
    def test_search_shows_masked_addresses_only_and_needs_three_letters(self, console):
        UserFactory(email="mei.lin@example.com")
        UserFactory(email="mei.wang@example.com")
        found = console.get("/staff/shoppers/", {"q": "mei"}).content.decode()
        assert found.count("m***@example.com") == 2 and "mei.lin" not in found
        assert "m***@example.com" not in console.get("/staff/shoppers/", {"q": "me"}).content.decode()

    def test_a_record_opens_only_for_an_open_request_and_the_opening_is_logged(self, console, staff):
        shopper = full_account()
        record = f"/staff/shoppers/{shopper.public_id}/"
        asked = console.get(record).content.decode()
        assert "has no open request" in asked and shopper.email not in asked

        other = privacy_request_open(shopper=UserFactory(), kind="erasure", channel="app")
        refused = console.post(record, {"request": str(other.public_id)})
        assert shopper.email not in refused.content.decode()
        assert not AuditEntry.objects.filter(action="shopper.record_viewed").exists()

        reason = privacy_request_open(shopper=shopper, kind="erasure", channel="app")
        shown = console.post(record, {"request": str(reason.public_id)}).content.decode()
        assert shopper.email in shown and "A face template is held (it is never shown)." in shown
        entry = AuditEntry.objects.get(action="shopper.record_viewed")
        assert (entry.actor_id, entry.target_id, entry.data) == (
            str(staff.pk),
            str(shopper.pk),
            {"request": str(reason.public_id), "kind": "erasure"},
        )
