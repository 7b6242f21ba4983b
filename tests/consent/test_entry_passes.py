"""Entry passes as consent services and selectors: found by their token, used once, each use audited."""

import pytest

from consent.models import EntryPass
from consent.selectors import entry_pass_get_by_token
from consent.services import entry_pass_issue, entry_pass_use
from core.audit import Actor, audit_chain_verify
from core.errors import DomainError
from core.models import AuditEntry
from tests.factories import OperatorFactory, UserFactory, registered_device

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("C9")]


def test_a_pass_is_found_by_its_token_at_any_operator_when_unscoped():
    issued = entry_pass_issue(shopper=UserFactory(), channel="app")
    assert entry_pass_get_by_token(token=issued.token, operator_id=OperatorFactory().pk) == issued.entry_pass


def test_using_a_pass_marks_it_used_and_leaves_its_own_audit_entry():
    device, _secret = registered_device()
    issued = entry_pass_issue(shopper=UserFactory(), channel="app")
    used = entry_pass_use(entry_pass=issued.entry_pass, actor=Actor.device(device))
    assert used.used_at is not None and EntryPass.objects.get().used_at == used.used_at
    entry = AuditEntry.objects.get(action="entry_pass.used")
    assert (entry.actor_type, entry.actor_id, entry.channel) == ("device", device.device_id, "device")
    assert (entry.target_type, entry.target_id, entry.data) == ("consent.entrypass", str(issued.entry_pass.pk), {})
    assert audit_chain_verify().intact


def test_a_pass_is_used_once_only():
    device, _secret = registered_device()
    issued = entry_pass_issue(shopper=UserFactory(), channel="app")
    entry_pass_use(entry_pass=issued.entry_pass, actor=Actor.device(device))
    with pytest.raises(DomainError) as raised:
        entry_pass_use(entry_pass=issued.entry_pass, actor=Actor.device(device))
    assert (raised.value.code, raised.value.status) == ("pass_used", 409)
    assert raised.value.message == "This entry pass has already been used; show a fresh one."
    assert AuditEntry.objects.filter(action="entry_pass.used").count() == 1
