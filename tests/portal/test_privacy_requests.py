"""F5, F6: privacy requests. A shopper asks in the app or on the web (signed in: identity verified); staff open
one for a shopper who called, and verify them by a code mailed to the account (10 minutes, 3 tries, its own
request only). Each gets the deadline of the strictest law among the operators concerned. An erasure is
recorded as started, carried out on the `erasure` queue in one transaction, checked over every table, and
completed once (decision 0036)."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from core.audit import audit_chain_verify
from core.models import AuditEntry
from portal.erasure.selectors import shopper_traces
from portal.models import PrivacyRequest, User
from portal.privacy import services
from portal.privacy.selectors import response_days
from stores.models import Visit
from tests.conftest import assert_error
from tests.factories import OperatorFactory, UserFactory, face_consent
from tests.portal.test_account_deletion import full_account, identity

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("F5")]

API = "/api/v1/me/requests"


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


def code_in(mail) -> str:
    return re.search(r"^(\d{6})$", mail.body, re.M).group(1)


class TestTheShopperAsks:
    def test_a_request_from_the_app_is_verified_and_due_in_30_days_under_chinese_law(self, api_client):
        shopper = UserFactory()
        face_consent(shopper, OperatorFactory(jurisdiction="CN"))
        api_client.force_authenticate(shopper)
        answer = api_client.post(API, {"kind": "erasure"}, format="json")
        assert answer.status_code == 201, answer.content
        body = answer.json()
        assert (body["kind"], body["status"], body["overdue"]) == ("erasure", "identity_verified", False)
        opened = PrivacyRequest.objects.get()
        assert opened.due_at - opened.received_at == timedelta(days=30)
        assert api_client.get(API).json()[0]["id"] == body["id"]
        assert api_client.get(f"{API}/{body['id']}").json()["due_at"] == body["due_at"]

    def test_the_strictest_law_sets_the_deadline(self, api_client):
        shopper = UserFactory()
        face_consent(shopper, OperatorFactory(jurisdiction="CN"))
        face_consent(shopper, OperatorFactory(jurisdiction="DE"))
        api_client.force_authenticate(shopper)
        api_client.post(API, {"kind": "erasure"}, format="json")
        opened = PrivacyRequest.objects.get()
        assert (opened.jurisdiction, opened.due_at - opened.received_at) == ("DE", timedelta(days=28))
        assert (response_days("CN"), response_days("FR"), response_days("US")) == (30, 28, 28)

    def test_a_second_open_request_of_the_kind_is_a_duplicate(self, api_client):
        shopper = UserFactory()
        api_client.force_authenticate(shopper)
        first = api_client.post(API, {"kind": "erasure"}, format="json").json()
        second = api_client.post(API, {"kind": "erasure"}, format="json").json()
        assert second["status"] == "duplicate"
        assert str(PrivacyRequest.objects.get(public_id=second["id"]).duplicate_of.public_id) == first["id"]
        # Another kind is not a duplicate.
        other = services.privacy_request_open(shopper=shopper, kind="access", channel="staff", opened_by=shopper)
        assert other.status == "received"

    def test_bad_input_and_other_peoples_requests(self, api_client):
        api_client.force_authenticate(UserFactory())
        assert_error(api_client.post(API, {"kind": "everything"}, format="json"), 400, "invalid")
        theirs = services.privacy_request_open(shopper=UserFactory(), kind="access", channel="app")
        assert_error(api_client.get(f"{API}/{theirs.public_id}"), 404, "request_not_found")

    def test_overdue_once_past_its_date(self, api_client):
        shopper = UserFactory()
        opened = services.privacy_request_open(shopper=shopper, kind="erasure", channel="app")
        PrivacyRequest.objects.filter(pk=opened.pk).update(due_at=timezone.now() - timedelta(minutes=1))
        api_client.force_authenticate(shopper)
        assert api_client.get(API).json()[0]["overdue"] is True


class TestStaffOpenForAShopperWhoCalled:
    def test_the_code_mailed_to_the_account_verifies_them(self, staff, mailoutbox, django_capture_on_commit_callbacks):
        shopper = UserFactory()
        opened = services.privacy_request_open(shopper=shopper, kind="erasure", channel="staff", opened_by=staff)
        assert opened.status == "received"
        with django_capture_on_commit_callbacks(execute=True):
            services.identity_code_send(request=opened, staff=staff)
        (mail,) = mailoutbox
        assert mail.to == [shopper.email] and mail.subject == "Your FaceConsent identity code"

        verified = services.identity_code_verify(request=opened, code=code_in(mail), staff=staff)

        assert verified.status == "identity_verified"
        actions = [(e.action, e.actor_id) for e in AuditEntry.objects.filter(target_id=str(opened.pk))]
        assert actions == [
            ("privacy_request.received", str(staff.pk)),
            ("privacy_request.identity_code_sent", str(staff.pk)),
            ("privacy_request.identity_verified", str(staff.pk)),
        ]
        assert code_in(mail) not in str(list(AuditEntry.objects.values_list("data", flat=True)))

    def test_three_wrong_codes_use_it_up(self, staff, mailoutbox, django_capture_on_commit_callbacks):
        opened = services.privacy_request_open(shopper=UserFactory(), kind="erasure", channel="staff", opened_by=staff)
        with django_capture_on_commit_callbacks(execute=True):
            services.identity_code_send(request=opened, staff=staff)
        right = code_in(mailoutbox[0])
        wrong = f"{(int(right) + 1) % 10**6:06d}"
        for _ in range(2):
            with pytest.raises(services.ValidationFailed) as refused:
                services.identity_code_verify(request=opened, code=wrong, staff=staff)
            assert refused.value.code == "identity_code_wrong"
        with pytest.raises(services.TooManyRequests) as third:
            services.identity_code_verify(request=opened, code=wrong, staff=staff)
        assert third.value.code == "identity_code_attempts_exceeded"
        with pytest.raises(services.Conflict) as after:
            services.identity_code_verify(request=opened, code=right, staff=staff)
        assert after.value.code == "identity_code_missing"
        opened.refresh_from_db()
        assert opened.status == "received"

    def test_an_expired_code_is_refused(self, staff, mailoutbox, django_capture_on_commit_callbacks):
        opened = services.privacy_request_open(shopper=UserFactory(), kind="access", channel="staff", opened_by=staff)
        with django_capture_on_commit_callbacks(execute=True):
            services.identity_code_send(request=opened, staff=staff)
        later = timezone.now() + timedelta(minutes=10, seconds=1)
        with (
            mock.patch("django.utils.timezone.now", return_value=later),
            pytest.raises(services.ValidationFailed) as refused,
        ):
            services.identity_code_verify(request=opened, code=code_in(mailoutbox[0]), staff=staff)
        assert refused.value.code == "identity_code_expired"

    def test_a_code_of_another_request_is_wrong_here(self, staff, mailoutbox, django_capture_on_commit_callbacks):
        shopper = UserFactory()
        one = services.privacy_request_open(shopper=shopper, kind="access", channel="staff", opened_by=staff)
        other = services.privacy_request_open(shopper=shopper, kind="erasure", channel="staff", opened_by=staff)
        with django_capture_on_commit_callbacks(execute=True):
            services.identity_code_send(request=one, staff=staff)
            services.identity_code_send(request=other, staff=staff)
        with pytest.raises(services.ValidationFailed) as refused:
            services.identity_code_verify(request=other, code=code_in(mailoutbox[0]), staff=staff)
        assert refused.value.code == "identity_code_wrong"

    def test_a_refusal_names_its_reason(self, staff):
        opened = services.privacy_request_open(shopper=UserFactory(), kind="access", channel="staff", opened_by=staff)
        with pytest.raises(services.ValidationFailed):
            services.privacy_request_refuse(request=opened, reason="we would rather not", staff=staff)
        refused = services.privacy_request_refuse(request=opened, reason="identity_not_verified", staff=staff)
        assert (refused.status, refused.refusal_reason) == ("refused", "identity_not_verified")


@pytest.mark.requirement("F6")
class TestErasure:
    def test_recorded_carried_out_checked_and_completed_once(
        self, staff, mailoutbox, django_capture_on_commit_callbacks
    ):
        shopper = full_account()
        who = identity(shopper)
        opened = services.privacy_request_open(shopper=shopper, kind="erasure", channel="app")
        with pytest.raises(services.Conflict):  # an access request is not carried out as an erasure
            services.privacy_erasure_start(
                request=services.privacy_request_open(shopper=shopper, kind="access", channel="app"), staff=staff
            )

        with django_capture_on_commit_callbacks(execute=True):
            started = services.privacy_erasure_start(request=opened, staff=staff)
        assert started.status == "in_progress"

        done = PrivacyRequest.objects.get(pk=opened.pk)
        assert (done.status, done.shopper, done.result["nothing_left"]) == ("completed", None, True)
        assert done.result["counts"]["visits"] == 3 and done.result["counts"]["templates"] == 1
        assert not User.objects.filter(pk=who["shopper_id"]).exists()
        assert not Visit.objects.exists()
        assert shopper_traces(**who).clean
        assert [m.subject for m in mailoutbox if m.to == [who["email"]]] == ["Your FaceConsent account was deleted"]
        # A second delivery (a worker died after the commit, before the acknowledgement) changes nothing.
        assert services.privacy_erasure_carry_out(request_id=opened.pk).status == "completed"
        assert AuditEntry.objects.filter(action="account.deleted").count() == 1
        assert AuditEntry.objects.filter(action="privacy_request.completed", target_id=str(opened.pk)).count() == 1
        assert audit_chain_verify().intact
