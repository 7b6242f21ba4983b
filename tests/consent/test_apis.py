"""The consent API for the app: happy paths, other shoppers (404), bad input, receipts, passes."""

import base64
import io
import json
import time
import uuid
from datetime import timedelta
from xml.etree import ElementTree

import cv2
import numpy as np
import pytest
from django.utils import timezone
from PIL import Image

from consent.models import Consent, ConsentEvent, EntryPass
from consent.selectors import entry_pass_get_by_token
from consent.services import notice_version_create_draft
from core.audit import Actor
from core.errors import DomainError
from core.models import AuditEntry
from tests.conftest import assert_error
from tests.factories import NOTICE_TEXTS, OperatorFactory, UserFactory, published_notice

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return OperatorFactory(
        name="Fresh Mart",
        slug="fresh-mart",
        legal_name="Fresh Mart Ltd.",
        contact_address="2 Market Road",
        jurisdiction="CN",
    )


@pytest.fixture
def notice(operator):
    return published_notice(operator)


@pytest.fixture
def client_for(api_client):
    def login(user):
        api_client.force_authenticate(user)
        return api_client

    return login


def give(client, notice, **overrides):
    payload = {
        "operator": notice.notice.operator.slug,
        "purpose": notice.notice.purpose,
        "notice_version": notice.pk,
        **overrides,
    }
    return client.post("/api/v1/consents", payload, format="json")


class TestGiveAndWithdraw:
    @pytest.mark.requirement("C6")
    def test_give_then_withdraw(self, client_for, shopper, notice):
        client = client_for(shopper)
        response = give(client, notice)
        assert response.status_code == 201
        body = response.json()
        assert body["operator"] == "fresh-mart" and body["purpose"] == "face_entry"
        assert body["status"] == "active" and body["notice_version"] == notice.pk
        assert body["notice_version_number"] == 1 and body["channel"] == "app"

        response = client.post(f"/api/v1/consents/{body['id']}/withdraw")

        assert response.status_code == 200
        assert response.json()["status"] == "withdrawn"
        assert Consent.objects.get(public_id=body["id"]).status == "withdrawn"

    def test_list_and_filter(self, client_for, shopper, operator, notice):
        client = client_for(shopper)
        face = give(client, notice).json()
        give(client, published_notice(operator, "store_analytics"))
        client.post(f"/api/v1/consents/{face['id']}/withdraw")

        everything = client.get("/api/v1/consents").json()
        assert everything["count"] == 2 and {"next", "previous", "results"} <= set(everything)
        active = client.get("/api/v1/consents?status=active").json()["results"]
        assert [consent["purpose"] for consent in active] == ["store_analytics"]
        face_only = client.get("/api/v1/consents?purpose=face_entry").json()["results"]
        assert [consent["status"] for consent in face_only] == ["withdrawn"]
        assert_error(client.get("/api/v1/consents?status=maybe"), 400, "invalid")

    @pytest.mark.requirement("C4")
    def test_detail_shows_the_event_history(self, client_for, shopper, notice):
        client = client_for(shopper)
        consent_id = give(client, notice).json()["id"]
        Consent.objects.filter(public_id=consent_id).update(expires_at=timezone.now() + timedelta(days=3))
        client.post(f"/api/v1/consents/{consent_id}/reaffirm", {"notice_version": notice.pk}, format="json")
        client.post(f"/api/v1/consents/{consent_id}/withdraw")
        events = client.get(f"/api/v1/consents/{consent_id}").json()["events"]
        assert [event["kind"] for event in events] == ["given", "reaffirmed", "withdrawn"]

    @pytest.mark.requirement("C4")
    def test_refuse_and_notice_shown_show_in_the_event_list(self, client_for, shopper, notice):
        client = client_for(shopper)
        assert client.post(f"/api/v1/notices/{notice.pk}/shown").status_code == 201
        payload = {"operator": "fresh-mart", "purpose": "face_entry", "notice_version": notice.pk}
        response = client.post("/api/v1/consents/refuse", payload, format="json")
        assert response.status_code == 201 and response.json()["kind"] == "refused"
        events = client.get("/api/v1/consent-events").json()["results"]
        assert [event["kind"] for event in events] == ["refused", "notice_shown"]
        assert not Consent.objects.exists()


class TestBadInput:
    def test_notice_version_is_required(self, client_for, shopper, notice):
        response = client_for(shopper).post(
            "/api/v1/consents", {"operator": "fresh-mart", "purpose": "face_entry"}, format="json"
        )
        error = assert_error(response, 400, "invalid")
        assert error["fields"]["notice_version"][0]["code"] == "required"

    def test_unknown_notice_version(self, client_for, shopper, notice):
        error = assert_error(give(client_for(shopper), notice, notice_version=999999), 400, "invalid")
        assert error["fields"]["notice_version"][0]["code"] == "does_not_exist"

    @pytest.mark.requirement("C3")
    def test_unpublished_notice_version(self, client_for, shopper, operator, notice):
        draft = notice_version_create_draft(
            actor=Actor.system(), operator=operator, purpose="face_entry", **NOTICE_TEXTS
        )
        assert_error(
            give(client_for(shopper), notice, notice_version=draft.pk),
            400,
            "notice_version_not_published",
            "This notice version is not published.",
        )

    @pytest.mark.requirement("C3")
    def test_other_operators_notice_version(self, client_for, shopper, notice):
        other = published_notice(OperatorFactory())
        assert_error(
            give(client_for(shopper), notice, notice_version=other.pk),
            400,
            "notice_version_mismatch",
            "This notice version is not the operator's notice for this purpose.",
        )

    def test_second_active_consent(self, client_for, shopper, notice):
        client = client_for(shopper)
        give(client, notice)
        assert_error(give(client, notice), 409, "consent_already_active", "You have already given this consent.")

    def test_unknown_purpose_and_operator(self, client_for, shopper, notice):
        error = assert_error(
            give(client_for(shopper), notice, purpose="mind_reading", operator="nobody"), 400, "invalid"
        )
        assert error["fields"]["purpose"][0]["code"] == "invalid_choice"
        assert error["fields"]["operator"][0]["code"] == "does_not_exist"

    def test_withdrawing_twice(self, client_for, shopper, notice):
        client = client_for(shopper)
        consent_id = give(client, notice).json()["id"]
        client.post(f"/api/v1/consents/{consent_id}/withdraw")
        error = assert_error(client.post(f"/api/v1/consents/{consent_id}/withdraw"), 409, "consent_not_active")
        assert error["status"] == "withdrawn"

    def test_not_a_uuid(self, client_for, shopper):
        assert_error(client_for(shopper).get("/api/v1/consents/not-a-uuid"), 404, "not_found")

    def test_anonymous(self, api_client, notice):
        assert_error(give(api_client, notice), 401, "not_authenticated")


class TestOtherShoppers:
    """Shopper B can never read or change shopper A's consents, receipts or pass: 404, never data."""

    @pytest.fixture
    def a_consent(self, shopper, notice):
        from consent.services import consent_give

        return consent_give(
            shopper=shopper, operator=notice.notice.operator, purpose="face_entry", notice_version=notice, channel="app"
        )

    @pytest.mark.parametrize(
        "method, suffix",
        [
            ("get", ""),
            ("post", "/withdraw"),
            ("post", "/reaffirm"),
            ("get", "/receipt"),
        ],
    )
    def test_someone_elses_consent_is_not_found(self, client_for, other_shopper, a_consent, notice, method, suffix):
        client = client_for(other_shopper)
        response = getattr(client, method)(
            f"/api/v1/consents/{a_consent.public_id}{suffix}",
            {"notice_version": notice.pk} if method == "post" else None,
            format="json",
        )
        assert_error(response, 404, "consent_not_found", "No such consent.")
        a_consent.refresh_from_db()
        assert a_consent.status == "active" and a_consent.events.count() == 1

    def test_someone_elses_consents_are_not_listed(self, client_for, other_shopper, a_consent):
        assert client_for(other_shopper).get("/api/v1/consents").json()["count"] == 0
        assert client_for(other_shopper).get("/api/v1/consent-events").json()["count"] == 0

    def test_someone_elses_pass_cannot_be_revoked(self, client_for, shopper, other_shopper):
        pass_id = client_for(shopper).post("/api/v1/entry-passes").json()["id"]
        response = client_for(other_shopper).post(f"/api/v1/entry-passes/{pass_id}/revoke")
        assert_error(response, 404, "entry_pass_not_found")
        assert EntryPass.objects.get(pk=pass_id).revoked_at is None

    def test_unknown_consent_id(self, client_for, shopper):
        assert_error(client_for(shopper).get(f"/api/v1/consents/{uuid.uuid4()}/receipt"), 404, "consent_not_found")


@pytest.mark.requirement("C5")
class TestReceipt:
    def test_a_receipt_carries_every_field_with_real_values(self, client_for, shopper, notice, operator):
        client = client_for(shopper)
        consent_id = give(client, notice).json()["id"]

        response = client.get(f"/api/v1/consents/{consent_id}/receipt?download=1")

        assert response.status_code == 200
        assert response["Content-Disposition"] == f'attachment; filename="consent-receipt-{consent_id}.json"'
        receipt = response.json()
        uuid.UUID(receipt["receipt_id"])
        assert receipt["schema_version"].startswith("ISO/IEC TS 27560:2023 + Kantara Consent Receipt 1.1")
        assert timezone.datetime.fromisoformat(receipt["timestamp"]).tzinfo is not None
        assert receipt["jurisdiction"] == "CN"
        assert receipt["collection_method"]["type"] == "explicit opt-in"
        assert receipt["collection_method"]["channel"] == "app"
        assert receipt["principal_id"] == str(shopper.public_id)
        assert receipt["controller"]["name"] == "Fresh Mart"
        assert receipt["controller"]["legal_name"] == "Fresh Mart Ltd."
        assert receipt["controller"]["email"] == operator.contact_email
        assert receipt["controller"]["address"] == "2 Market Road"
        assert receipt["controller"]["contact"] == "dpo@example.com"
        assert receipt["controller"]["privacy_officer"] == {
            "name": "Pat Officer",
            "email": operator.privacy_officer_email,
        }
        assert receipt["consent"]["id"] == consent_id and receipt["consent"]["status"] == "active"
        purpose = receipt["purposes"][0]
        assert purpose["purpose"] == "face_entry" and purpose["consent_type"] == "explicit"
        assert purpose["description"] == "To recognise you at the door."
        assert "PIPL" in purpose["legal_basis"]
        assert receipt["data_categories"] == ["facial template (biometric)"]
        assert receipt["sensitive"] is True and receipt["special_categories"] == ["biometric"]
        assert receipt["retention"]["days"] == 365
        assert receipt["retention"]["description"] == "Kept until you withdraw."
        assert receipt["retention"]["schedule_url"].endswith("/operators/fresh-mart/retention/")
        assert receipt["withdrawal"]["api"] == f"POST /api/v1/consents/{consent_id}/withdraw"
        assert receipt["notice"]["id"] == notice.pk and receipt["notice"]["version"] == 1
        assert receipt["notice"]["url"].endswith(f"/operators/fresh-mart/notices/{notice.pk}/")
        assert [event["kind"] for event in receipt["events"]] == ["given"]

    def test_the_receipt_follows_the_shoppers_language(self, client_for, notice):
        shopper = UserFactory(language="zh-hans")
        client = client_for(shopper)
        consent_id = give(client, notice).json()["id"]
        receipt = client.get(f"/api/v1/consents/{consent_id}/receipt").json()
        assert receipt["language"] == "zh-hans"
        assert receipt["purposes"][0]["description"] == "在入口识别您。"

    def test_a_new_state_gets_a_new_receipt_id(self, client_for, shopper, notice):
        client = client_for(shopper)
        consent_id = give(client, notice).json()["id"]
        first = client.get(f"/api/v1/consents/{consent_id}/receipt").json()["receipt_id"]
        assert client.get(f"/api/v1/consents/{consent_id}/receipt").json()["receipt_id"] == first
        client.post(f"/api/v1/consents/{consent_id}/withdraw")
        assert client.get(f"/api/v1/consents/{consent_id}/receipt").json()["receipt_id"] != first


@pytest.mark.requirement("C9")
class TestEntryPass:
    def issue(self, client):
        response = client.post("/api/v1/entry-passes")
        assert response.status_code == 201
        return response.json()

    def test_a_fresh_pass_verifies_and_holds_no_personal_data(self, client_for, shopper):
        issued = self.issue(client_for(shopper))
        assert issued["qr_svg"].startswith("<svg")
        assert entry_pass_get_by_token(token=issued["token"], operator_id=OperatorFactory().pk).shopper == shopper
        # The signed payload is one random id and nothing else.
        payload = json.loads(base64.urlsafe_b64decode(issued["token"].split(":")[0] + "=="))
        assert set(payload) == {"i"} and len(payload["i"]) >= 43
        assert payload["i"] == EntryPass.objects.get(pk=issued["id"]).token_id
        for personal in (shopper.email, str(shopper.public_id), shopper.display_name):
            assert personal not in issued["token"]

    def test_the_qr_svg_is_a_standalone_svg_document(self, client_for, shopper):
        # An app shows it as <img src="data:image/svg+xml,...">: an image, parsed as XML on its own.
        svg = self.issue(client_for(shopper))["qr_svg"]
        root = ElementTree.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert int(root.get("width")) == int(root.get("height")) >= 100

    def test_the_qr_comes_as_png_when_asked(self, client_for, shopper):
        response = client_for(shopper).post("/api/v1/entry-passes?qr=png")
        assert response.status_code == 201
        issued = response.json()
        prefix = "data:image/png;base64,"
        assert issued["qr_png"].startswith(prefix)
        png = base64.b64decode(issued["qr_png"].removeprefix(prefix), validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        image = Image.open(io.BytesIO(png))
        image.load()
        assert image.format == "PNG" and image.width == image.height >= 100
        decoded, _points, _straight = cv2.QRCodeDetector().detectAndDecode(
            cv2.cvtColor(np.array(image.convert("RGB")), cv2.COLOR_RGB2BGR)
        )
        assert decoded == issued["token"]
        assert ElementTree.fromstring(issued["qr_svg"]).tag == "{http://www.w3.org/2000/svg}svg"

    def test_without_asking_there_is_no_png(self, client_for, shopper):
        assert self.issue(client_for(shopper))["qr_png"] is None

    def test_an_unknown_qr_format_is_refused(self, client_for, shopper):
        response = client_for(shopper).post("/api/v1/entry-passes?qr=gif")
        assert_error(response, 400, "invalid")
        assert not EntryPass.objects.exists()

    def test_the_schema_documents_the_qr_formats(self):
        from drf_spectacular.generators import SchemaGenerator

        operation = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/api/v1/entry-passes"]["post"]
        (qr,) = [parameter for parameter in operation["parameters"] if parameter["name"] == "qr"]
        assert qr["in"] == "query" and set(qr["schema"]["enum"]) == {"svg", "png"} and qr["schema"]["default"] == "svg"

    def test_any_shopper_gets_one_without_consenting(self, client_for):
        shopper = UserFactory(email_verified_at=None)
        assert self.issue(client_for(shopper))["token"]

    def refused(self, token, code, operator_id=None):
        with pytest.raises(DomainError) as raised:
            entry_pass_get_by_token(token=token, operator_id=operator_id or OperatorFactory().pk)
        assert raised.value.code == code
        return raised.value

    def test_expired_by_its_signature(self, client_for, shopper, settings, monkeypatch):
        token = self.issue(client_for(shopper))["token"]
        later = time.time() + settings.ENTRY_PASS_LIFETIME.total_seconds() + 5
        monkeypatch.setattr("django.core.signing.time.time", lambda: later)
        error = self.refused(token, "pass_expired")
        assert error.message == "This entry pass has expired; show a fresh one."

    def test_expired_in_the_database(self, client_for, shopper):
        token = self.issue(client_for(shopper))["token"]
        EntryPass.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        self.refused(token, "pass_expired")

    def test_altered(self, client_for, shopper):
        token = self.issue(client_for(shopper))["token"]
        payload, timestamp, signature = token.split(":")
        self.refused(f"{payload}x:{timestamp}:{signature}", "pass_invalid")
        # A changed first character (all six of its bits count; the last character's lowest bits are
        # padding, so changing only those could leave the signature as it was).
        other = "B" if signature[0] == "A" else "A"
        self.refused(f"{payload}:{timestamp}:{other}{signature[1:]}", "pass_invalid")
        self.refused("not a pass at all", "pass_invalid")

    def test_revoked(self, client_for, shopper):
        client = client_for(shopper)
        issued = self.issue(client)
        assert client.post(f"/api/v1/entry-passes/{issued['id']}/revoke").status_code == 204
        self.refused(issued["token"], "pass_revoked")

    def test_anonymous(self, api_client, db):
        assert_error(api_client.post("/api/v1/entry-passes"), 401, "not_authenticated")

    def test_scoped_to_one_operator(self, client_for, shopper, operator):
        response = client_for(shopper).post("/api/v1/entry-passes", {"operator": "fresh-mart"}, format="json")
        assert response.status_code == 201
        issued = response.json()
        assert issued["operator"] == "fresh-mart"
        entry_pass = EntryPass.objects.get(pk=issued["id"])
        assert entry_pass.operator == operator
        assert entry_pass_get_by_token(token=issued["token"], operator_id=operator.pk) == entry_pass
        error = self.refused(issued["token"], "pass_wrong_operator", operator_id=OperatorFactory().pk)
        assert error.status == 403 and error.message == "This entry pass does not work at this store."
        # The token still carries only the random id: the scope lives with the pass, not in the code.
        payload = json.loads(base64.urlsafe_b64decode(issued["token"].split(":")[0] + "=="))
        assert set(payload) == {"i"}
        entry = AuditEntry.objects.get(action="entry_pass.issued")
        assert entry.data == {"expires_at": entry_pass.expires_at.isoformat(), "operator": operator.pk}

    def test_unscoped_by_default(self, client_for, shopper, operator):
        issued = self.issue(client_for(shopper))
        assert issued["operator"] is None
        assert EntryPass.objects.get(pk=issued["id"]).operator is None
        assert entry_pass_get_by_token(token=issued["token"], operator_id=OperatorFactory().pk).pk == issued["id"]
        assert AuditEntry.objects.get(action="entry_pass.issued").data["operator"] is None
        for any_operator in (None, ""):
            response = client_for(shopper).post("/api/v1/entry-passes", {"operator": any_operator}, format="json")
            assert response.status_code == 201 and response.json()["operator"] is None

    @pytest.mark.parametrize("operator", ["nobody", ["fresh-mart"], {"slug": "fresh-mart"}, 7])
    def test_an_unknown_operator_is_refused(self, client_for, shopper, operator):
        response = client_for(shopper).post("/api/v1/entry-passes", {"operator": operator}, format="json")
        error = assert_error(response, 400, "invalid")
        assert error["fields"]["operator"][0]["code"] == "does_not_exist"
        assert not EntryPass.objects.exists()


class TestPublicNotices:
    @pytest.mark.requirement("C3")
    def test_operators_and_their_notices_need_no_login(self, api_client, operator, notice):
        published_notice(operator, "store_analytics")
        operators = api_client.get("/api/v1/operators").json()
        assert [entry["slug"] for entry in operators["results"]] == ["fresh-mart"]
        page = api_client.get("/api/v1/operators/fresh-mart/notices").json()
        assert (page["count"], page["next"], page["previous"]) == (2, None, None)
        notices = page["results"]
        assert [entry["purpose"] for entry in notices] == ["face_entry", "store_analytics"]
        assert notices[0]["text"]["zh-hans"]["title"] == "入口人脸识别"
        assert notices[0]["text"]["en"]["rights"] == "Withdraw at any time."

    @pytest.mark.requirement("C3")
    def test_only_the_current_published_version_is_listed(self, api_client, operator, notice):
        newer = published_notice(operator, material=False)
        notice_version_create_draft(actor=Actor.system(), operator=operator, purpose="face_entry", **NOTICE_TEXTS)
        notices = api_client.get("/api/v1/operators/fresh-mart/notices").json()["results"]
        assert [entry["id"] for entry in notices] == [newer.pk]

    def test_unknown_operator(self, api_client, db):
        assert_error(api_client.get("/api/v1/operators/nobody/notices"), 404, "operator_not_found")


def test_notice_shown_for_an_unpublished_version_is_not_found(client_for, shopper, operator):
    draft = notice_version_create_draft(actor=Actor.system(), operator=operator, purpose="face_entry", **NOTICE_TEXTS)
    assert_error(client_for(shopper).post(f"/api/v1/notices/{draft.pk}/shown"), 404, "notice_version_not_found")
    assert not ConsentEvent.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/consents", "/api/v1/consent-events"])
def test_lists_do_not_grow_in_queries_with_the_data(client_for, shopper, path, django_assert_num_queries):
    from consent.services import consent_give, consent_withdraw

    client = client_for(shopper)

    def consent_to_new_operators(count):
        for _ in range(count):
            operator = OperatorFactory()
            consent = consent_give(
                shopper=shopper,
                operator=operator,
                purpose="face_entry",
                notice_version=published_notice(operator),
                channel="app",
            )
            consent_withdraw(consent=consent, channel="app")

    consent_to_new_operators(2)
    with django_assert_num_queries(2) as few:  # the count and the page
        assert client.get(path).status_code == 200
    consent_to_new_operators(8)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(client.get(path).json()["results"]) >= 10
