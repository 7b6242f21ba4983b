"""F5, F3: an access request is answered with the same export as the footprint page's, delivered by a link
mailed to the account's address that works once and expires after 7 days (decision 0036). A signed-in shopper
gets it at once; a caller, once staff have verified them by the identity code."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from core.audit import Actor, audit_chain_verify
from core.errors import DomainError
from core.models import AuditEntry
from portal.erasure.services import account_erase
from portal.models import AccessLink, PrivacyRequest
from portal.privacy import services
from tests.factories import UserFactory, live_store
from tests.portal.test_export import unzip
from tests.portal.test_footprint import footprint
from tests.portal.test_privacy_requests import code_in

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("F5")]

API = "/api/v1/me/requests"


def link_in(mail) -> str:
    return re.search(r"(http\S+/access/[\w-]+/)", mail.body).group(1)


def path_of(link: str) -> str:
    return link[link.index("/access/") :]


@pytest.fixture
def shopper():
    shopper = UserFactory(display_name="Chen Jing")
    footprint(shopper, live_store(name="Central"), visits=2)
    footprint(UserFactory(), live_store(name="Elsewhere"), visits=1)  # never in this shopper's copy
    return shopper


def ask_in_the_app(api_client, shopper, capture) -> dict:
    api_client.force_authenticate(shopper)
    with capture(execute=True):
        answer = api_client.post(API, {"kind": "access"}, format="json")
    assert answer.status_code == 201, answer.content
    api_client.force_authenticate(None)
    return answer.json()


class TestTheShopperAsks:
    @pytest.mark.requirement("F3")
    def test_the_app_gets_the_link_by_mail_and_it_downloads_the_export_once(
        self, api_client, client, shopper, mailoutbox, django_capture_on_commit_callbacks
    ):
        body = ask_in_the_app(api_client, shopper, django_capture_on_commit_callbacks)

        assert (body["kind"], body["status"]) == ("access", "completed")
        (mail,) = mailoutbox
        assert mail.to == [shopper.email] and mail.subject == "Your copy of your FaceConsent data"
        path = path_of(link_in(mail))
        # Opening the link shows what it gives and spends nothing (a mail scanner may open it).
        page = client.get(path)
        assert page.status_code == 200 and b"Download my data" in page.content
        assert page["Referrer-Policy"] == "same-origin" and "no-store" in page["Cache-Control"]
        assert client.get(path).status_code == 200

        files = unzip(client.post(path))  # no sign-in: the link is the proof

        assert set(files) >= {"README.md", "account.json", "visits.json", "visits.csv", "receipts.json"}
        assert shopper.email.encode() in files["account.json"]
        assert b"Elsewhere" not in b"".join(files.values())
        again = client.post(path)
        assert again.status_code == 410 and b"access_link_used" in again.content
        assert client.get(path).status_code == 410
        entries = AuditEntry.objects.filter(target_type="portal.privacyrequest").values_list("action", "actor_type")
        assert list(entries) == [
            ("privacy_request.received", "shopper"),
            ("privacy_request.completed", "shopper"),
            ("privacy_request.copy_downloaded", "shopper"),
        ]
        assert audit_chain_verify().intact

    def test_the_token_is_in_the_mail_only(self, api_client, shopper, mailoutbox, django_capture_on_commit_callbacks):
        ask_in_the_app(api_client, shopper, django_capture_on_commit_callbacks)
        token = path_of(link_in(mailoutbox[0])).split("/")[2]
        assert token not in str(list(AccessLink.objects.values_list("token_hash", flat=True)))
        assert token not in str(list(AuditEntry.objects.values_list("data", flat=True)))
        assert token not in str(list(PrivacyRequest.objects.values_list("result", flat=True)))

    def test_the_web_page_asks_and_lists_the_requests(
        self, client, shopper, mailoutbox, django_capture_on_commit_callbacks
    ):
        client.force_login(shopper)
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post("/profile/requests/", {"kind": "access"}, follow=True)
        assert b"A link to download your copy is on its way" in answer.content
        assert len(mailoutbox) == 1
        client.post("/profile/requests/", {"kind": "erasure"})
        page = client.get("/profile/requests/").content.decode()
        assert 'data-kind="access" data-status="completed"' in page
        assert 'data-kind="erasure" data-status="identity_verified"' in page
        assert b"due" in client.get("/profile/requests/").content
        refused = client.post("/profile/requests/", {"kind": "everything"}, follow=True)
        assert b"A request is for erasure or access." in refused.content
        client.logout()
        assert client.get("/profile/requests/").status_code == 302


class TestTheLinkRefuses:
    def test_an_expired_link(self, api_client, client, shopper, mailoutbox, django_capture_on_commit_callbacks):
        ask_in_the_app(api_client, shopper, django_capture_on_commit_callbacks)
        path = path_of(link_in(mailoutbox[0]))
        link = AccessLink.objects.get()
        assert link.expires_at - link.created_at == timedelta(days=7)
        AccessLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        answer = client.post(path)
        assert answer.status_code == 410 and b"access_link_expired" in answer.content
        assert AccessLink.objects.get().used_at is None

    def test_an_unknown_token(self, client):
        answer = client.post("/access/not-a-token-we-sent/")
        assert answer.status_code == 404 and b"access_link_unknown" in answer.content
        assert client.get("/access/x/").status_code == 404

    def test_a_link_whose_account_was_erased_since(
        self, api_client, client, shopper, mailoutbox, django_capture_on_commit_callbacks
    ):
        ask_in_the_app(api_client, shopper, django_capture_on_commit_callbacks)
        path = path_of(link_in(mailoutbox[0]))
        account_erase(shopper=shopper, actor=Actor.system())
        answer = client.post(path)
        assert answer.status_code == 410 and b"access_link_account_gone" in answer.content

    def test_the_service_refuses_with_codes(self, api_client, shopper, mailoutbox, django_capture_on_commit_callbacks):
        ask_in_the_app(api_client, shopper, django_capture_on_commit_callbacks)
        token = path_of(link_in(mailoutbox[0])).split("/")[2]
        assert services.access_link_use(token=token) == shopper
        with pytest.raises(DomainError) as used:
            services.access_link_use(token=token)
        assert (used.value.status, used.value.code) == (410, "access_link_used")


class TestStaffAnswerACaller:
    @pytest.mark.requirement("F3")
    def test_after_the_identity_code_the_link_goes_to_the_account(
        self, client, mailoutbox, django_capture_on_commit_callbacks
    ):
        staff = UserFactory(is_staff=True)
        caller = UserFactory()
        opened = services.privacy_request_open(shopper=caller, kind="access", channel="staff", opened_by=staff)
        assert opened.status == "received"
        with pytest.raises(services.Conflict) as early:
            services.privacy_access_deliver(request=opened, staff=staff)
        assert early.value.code == "request_state_invalid"
        with django_capture_on_commit_callbacks(execute=True):
            services.identity_code_send(request=opened, staff=staff)
        services.identity_code_verify(request=opened, code=code_in(mailoutbox[0]), staff=staff)

        with django_capture_on_commit_callbacks(execute=True):
            delivered = services.privacy_access_deliver(request=opened, staff=staff)

        assert delivered.status == "completed" and delivered.result["delivered"] == "download_link"
        assert mailoutbox[1].to == [caller.email]
        assert unzip(client.post(path_of(link_in(mailoutbox[1]))))["account.json"]
        with pytest.raises(services.Conflict):
            services.privacy_access_deliver(request=opened, staff=staff)  # answered once
        staff_steps = AuditEntry.objects.filter(target_id=str(opened.pk), actor_type="staff").values_list(
            "action", flat=True
        )
        assert list(staff_steps) == [
            "privacy_request.received",
            "privacy_request.identity_code_sent",
            "privacy_request.identity_verified",
            "privacy_request.completed",
        ]

    def test_an_erasure_request_is_not_answered_with_a_link(self):
        staff = UserFactory(is_staff=True)
        opened = services.privacy_request_open(shopper=UserFactory(), kind="erasure", channel="app")
        with pytest.raises(services.Conflict):
            services.privacy_access_deliver(request=opened, staff=staff)
