"""S3, S2: the console's audit log viewer (admins): the entries newest first, narrowed by action (or a family of
actions), target or actor, paged by sequence, with audit_verify's verdict read on each view."""

from __future__ import annotations

import re

import pytest

from core.audit import Actor, audit_entry_create
from core.models import AuditEntry
from portal.privacy.services import privacy_request_open
from tests.conftest import staff_signed_in
from tests.factories import UserFactory, staff_member

pytestmark = pytest.mark.django_db

AUDIT = "/staff/audit/"


@pytest.fixture
def admin_console(client):
    return staff_signed_in(client, staff_member("Admin"))


def sequences(html: str) -> list[int]:
    return [int(number) for number in re.findall(r'data-sequence="(\d+)"', html)]


@pytest.mark.requirement("S3")
def test_newest_first_with_the_chains_verdict(admin_console):
    opened = privacy_request_open(shopper=UserFactory(), kind="erasure", channel="app")
    html = admin_console.get(AUDIT).content.decode()
    everything = list(AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True))
    assert sequences(html) == everything
    assert 'data-audit="intact"' in html and f"All {len(everything)} entries hold together" in html
    assert f"portal.privacyrequest:{opened.pk}" in html
    AuditEntry.objects.filter(sequence=1).update(data={"changed": "afterwards"})
    html = admin_console.get(AUDIT).content.decode()
    assert 'data-audit="broken"' in html and "Broken at entry #1" in html


def test_narrowed_by_action_family_target_and_actor(admin_console):
    staff = UserFactory(is_staff=True)
    first = privacy_request_open(shopper=UserFactory(), kind="erasure", channel="staff", opened_by=staff)
    second = privacy_request_open(shopper=UserFactory(), kind="erasure", channel="app")
    entry = lambda **where: set(AuditEntry.objects.filter(**where).values_list("sequence", flat=True))  # noqa: E731

    by_action = sequences(admin_console.get(AUDIT, {"action": "privacy_request.received"}).content.decode())
    assert set(by_action) == entry(action="privacy_request.received") and len(by_action) == 2
    family = sequences(admin_console.get(AUDIT, {"action": "privacy_request."}).content.decode())
    assert set(family) == entry(action__startswith="privacy_request.")
    target = {"target_type": "portal.privacyrequest", "target_id": str(second.pk)}
    assert set(sequences(admin_console.get(AUDIT, target).content.decode())) == entry(**target)
    by_actor = sequences(admin_console.get(AUDIT, {"actor_id": str(staff.pk)}).content.decode())
    assert set(by_actor) == entry(actor_id=str(staff.pk)) and by_actor
    assert (
        str(first.pk) and "No entry matches." in admin_console.get(AUDIT, {"action": "nothing.such"}).content.decode()
    )


def test_paged_by_sequence(admin_console):
    for number in range(120):
        audit_entry_create(actor=Actor.system(), action="test.filler", target=("test.thing", str(number)))
    first = admin_console.get(AUDIT).content.decode()
    newest = AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True)
    assert sequences(first) == list(newest[:50])
    older = re.search(r'href="\?([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = admin_console.get(f"{AUDIT}?{older}").content.decode()
    assert sequences(second) == list(newest[50:100])
    last_link = re.search(r'href="\?([^"]+)" rel="next"', second).group(1).replace("&amp;", "&")
    last = admin_console.get(f"{AUDIT}?{last_link}").content.decode()
    assert sequences(last) == list(newest[100:]) and 'rel="next"' not in last


def test_bad_filters_are_a_400_never_a_500(admin_console):
    answer = admin_console.get(AUDIT, {"before": "not-a-number", "action": "x" * 200})
    assert answer.status_code == 400
    assert sequences(answer.content.decode()) == list(
        AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True)[:50]
    )


@pytest.mark.requirement("S2")
@pytest.mark.parametrize("role", ["Support agent", "Privacy officer"])
def test_only_admins_read_it(client, role):
    staff_signed_in(client, staff_member(role))
    assert client.get(AUDIT).status_code == 403
    assert b"/staff/audit/" not in client.get("/staff/").content
