"""Withdrawing says what it does to the face template (C6), before the click and after; "withdraw
everything" for one operator or for all, in the service, the API and on the page."""

import numpy as np
import pytest

from biometrics.keys import key_ring
from biometrics.models import FaceTemplate
from consent.models import Consent, ConsentEvent
from consent.services import consent_give, consent_withdraw, consents_withdraw_all
from core.models import AuditEntry
from tests.conftest import assert_error
from tests.factories import OperatorFactory, UserFactory, face_consent, published_notice

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("C6")]


def held_template(shopper):
    """A face template stored for the shopper, sealed as the enrollment worker seals it."""
    sealed = key_ring().seal(np.linspace(-0.2, 0.2, 128), owner=str(shopper.public_id))
    FaceTemplate.objects.create(shopper=shopper, key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext)


def has_template(shopper) -> bool:
    return FaceTemplate.objects.filter(shopper=shopper).exists()


@pytest.fixture
def fresh_mart():
    return OperatorFactory(name="Fresh Mart", slug="fresh-mart")


@pytest.fixture
def corner_shop():
    return OperatorFactory(name="Corner Shop", slug="corner-shop")


def analytics_consent(shopper, operator):
    version = published_notice(operator, "store_analytics")
    return consent_give(
        shopper=shopper, operator=operator, purpose="store_analytics", notice_version=version, channel="app"
    )


class TestWithdrawSaysWhatHappensToTheFace:
    def test_the_last_face_consent_deletes_the_template_and_says_so(self, shopper, fresh_mart):
        consent = face_consent(shopper, fresh_mart)
        held_template(shopper)
        ended = consent_withdraw(consent=consent, channel="app")
        assert ended.templates_deleted is True
        assert ended.consent.status == "withdrawn"
        assert not has_template(shopper)

    def test_while_another_operator_holds_face_consent_the_template_stays(self, shopper, fresh_mart, corner_shop):
        consent = face_consent(shopper, fresh_mart)
        face_consent(shopper, corner_shop)
        held_template(shopper)
        assert consent_withdraw(consent=consent, channel="app").templates_deleted is False
        assert has_template(shopper)

    @pytest.mark.requirement("C2")
    def test_another_purpose_never_deletes_it(self, shopper, fresh_mart):
        face_consent(shopper, fresh_mart)
        held_template(shopper)
        analytics = analytics_consent(shopper, fresh_mart)
        assert consent_withdraw(consent=analytics, channel="app").templates_deleted is False
        assert has_template(shopper)

    def test_the_api_answer_says_it(self, api_client, shopper, fresh_mart, corner_shop):
        first, second = face_consent(shopper, fresh_mart), face_consent(shopper, corner_shop)
        held_template(shopper)
        api_client.force_authenticate(shopper)
        kept = api_client.post(f"/api/v1/consents/{first.public_id}/withdraw").json()
        assert (kept["status"], kept["templates_deleted"]) == ("withdrawn", False)
        deleted = api_client.post(f"/api/v1/consents/{second.public_id}/withdraw").json()
        assert (deleted["status"], deleted["templates_deleted"]) == ("withdrawn", True)

    def test_the_schema_documents_it(self):
        from drf_spectacular.generators import SchemaGenerator

        schema = SchemaGenerator().get_schema(request=None, public=True)
        withdraw = schema["paths"]["/api/v1/consents/{public_id}/withdraw"]["post"]
        reference = withdraw["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        field = schema["components"]["schemas"][reference]["properties"]["templates_deleted"]
        assert field["type"] == "boolean" and "face templates" in field["description"]
        assert "templates_deleted" in withdraw["description"]

    def test_the_page_warns_beside_the_button_before_the_click(self, client, shopper, fresh_mart, corner_shop):
        face_consent(shopper, fresh_mart)
        held_template(shopper)
        client.force_login(shopper)
        warning = "Withdrawing this also deletes your face template"
        assert client.get("/consents/").content.decode().count(warning) == 1
        face_consent(shopper, corner_shop)  # now another operator still holds face consent
        assert warning not in client.get("/consents/").content.decode()

    def test_without_a_template_there_is_nothing_to_warn_about(self, client, shopper, fresh_mart):
        face_consent(shopper, fresh_mart)
        client.force_login(shopper)
        assert "Withdrawing this also deletes your face template" not in client.get("/consents/").content.decode()

    def test_the_page_says_it_after_the_click(self, client, shopper, fresh_mart):
        consent = face_consent(shopper, fresh_mart)
        held_template(shopper)
        client.force_login(shopper)
        html = client.post(f"/consents/{consent.public_id}/withdraw/", follow=True).content.decode()
        assert "Your face template has been deleted" in html
        assert not has_template(shopper)

    def test_the_page_says_nothing_of_the_face_when_it_stays(self, client, shopper, fresh_mart, corner_shop):
        consent = face_consent(shopper, fresh_mart)
        face_consent(shopper, corner_shop)
        held_template(shopper)
        client.force_login(shopper)
        html = client.post(f"/consents/{consent.public_id}/withdraw/", follow=True).content.decode()
        assert "Withdrawn." in html and "Your face template has been deleted" not in html


@pytest.fixture
def consents(shopper, fresh_mart, corner_shop):
    """Face and analytics consent to Fresh Mart, face consent to Corner Shop, a template; another
    shopper's consent to Fresh Mart that nothing here may touch."""
    given = {
        "fresh_face": face_consent(shopper, fresh_mart),
        "fresh_analytics": analytics_consent(shopper, fresh_mart),
        "corner_face": face_consent(shopper, corner_shop),
        "someone_else": face_consent(UserFactory(), fresh_mart),
    }
    held_template(shopper)
    return given


def statuses(given):
    return {name: Consent.objects.get(pk=consent.pk).status for name, consent in given.items()}


class TestWithdrawAllService:
    def test_one_operator(self, shopper, fresh_mart, consents):
        result = consents_withdraw_all(shopper=shopper, channel="web", operator=fresh_mart)
        assert {consent.pk for consent in result.consents} == {
            consents["fresh_face"].pk,
            consents["fresh_analytics"].pk,
        }
        assert result.templates_deleted is False and has_template(shopper)
        assert statuses(consents) == {
            "fresh_face": "withdrawn",
            "fresh_analytics": "withdrawn",
            "corner_face": "active",
            "someone_else": "active",
        }

    def test_each_withdrawal_has_its_own_event_and_audit_entry(self, shopper, fresh_mart, consents):
        consents_withdraw_all(shopper=shopper, channel="web", operator=fresh_mart)
        for name in ("fresh_face", "fresh_analytics"):
            consent = consents[name]
            assert list(consent.events.values_list("kind", "channel")) == [("given", "app"), ("withdrawn", "web")]
            assert AuditEntry.objects.filter(action="consent.withdrawn", target_id=str(consent.pk)).count() == 1

    def test_every_operator_and_the_template_goes(self, shopper, consents):
        result = consents_withdraw_all(shopper=shopper, channel="app")
        assert len(result.consents) == 3 and result.templates_deleted is True
        assert not has_template(shopper)
        assert statuses(consents)["someone_else"] == "active"
        assert AuditEntry.objects.filter(action="templates.deleted").count() == 1

    def test_the_last_operator_with_face_consent_takes_the_template(self, shopper, fresh_mart, corner_shop, consents):
        consents_withdraw_all(shopper=shopper, channel="app", operator=corner_shop)
        assert has_template(shopper)
        assert consents_withdraw_all(shopper=shopper, channel="app", operator=fresh_mart).templates_deleted is True
        assert not has_template(shopper)

    def test_nothing_to_withdraw_writes_nothing(self, shopper, fresh_mart):
        before = (ConsentEvent.objects.count(), AuditEntry.objects.count())
        result = consents_withdraw_all(shopper=shopper, channel="app", operator=fresh_mart)
        assert (result.consents, result.templates_deleted) == ([], False)
        assert (ConsentEvent.objects.count(), AuditEntry.objects.count()) == before


class TestWithdrawAllApi:
    def test_for_one_operator(self, api_client, shopper, consents):
        api_client.force_authenticate(shopper)
        response = api_client.post("/api/v1/consents/withdraw-all", {"operator": "fresh-mart"}, format="json")
        assert response.status_code == 200
        body = response.json()
        assert body["templates_deleted"] is False
        assert sorted(row["purpose"] for row in body["withdrawn"]) == ["face_entry", "store_analytics"]
        assert {row["status"] for row in body["withdrawn"]} == {"withdrawn"}
        assert {row["operator"] for row in body["withdrawn"]} == {"fresh-mart"}
        assert statuses(consents)["corner_face"] == "active"

    def test_for_every_operator(self, api_client, shopper, consents):
        api_client.force_authenticate(shopper)
        body = api_client.post("/api/v1/consents/withdraw-all", {}, format="json").json()
        assert len(body["withdrawn"]) == 3 and body["templates_deleted"] is True
        assert statuses(consents)["someone_else"] == "active"

    def test_again_withdraws_nothing(self, api_client, shopper, consents):
        api_client.force_authenticate(shopper)
        api_client.post("/api/v1/consents/withdraw-all", {}, format="json")
        again = api_client.post("/api/v1/consents/withdraw-all", {}, format="json")
        assert again.status_code == 200 and again.json() == {"withdrawn": [], "templates_deleted": False}

    def test_an_unknown_operator_is_refused(self, api_client, shopper, consents):
        api_client.force_authenticate(shopper)
        response = api_client.post("/api/v1/consents/withdraw-all", {"operator": "nobody"}, format="json")
        error = assert_error(response, 400, "invalid")
        assert "operator" in error["fields"]
        assert set(statuses(consents).values()) == {"active"}

    def test_anonymous(self, api_client, consents):
        assert_error(api_client.post("/api/v1/consents/withdraw-all", {}, format="json"), 401, "not_authenticated")
        assert set(statuses(consents).values()) == {"active"}


class TestWithdrawAllPage:
    def test_the_consents_page_offers_one_button_per_operator_and_one_for_all(self, client, shopper, consents):
        client.force_login(shopper)
        html = client.get("/consents/").content.decode()
        assert "/consents/withdraw-all/?operator=fresh-mart" in html
        assert "/consents/withdraw-all/?operator=corner-shop" in html
        assert 'href="/consents/withdraw-all/"' in html

    def test_the_confirmation_says_what_will_happen_and_changes_nothing(self, client, shopper, consents):
        client.force_login(shopper)
        before = (ConsentEvent.objects.count(), AuditEntry.objects.count())
        html = client.get("/consents/withdraw-all/?operator=fresh-mart").content.decode()
        assert html.count("<li data-consent=") == 2
        assert "From then on no store of Fresh Mart can recognise you" in html
        assert "Your face template is deleted too" not in html  # Corner Shop still holds face consent
        everything = client.get("/consents/withdraw-all/").content.decode()
        assert everything.count("<li data-consent=") == 3
        assert "Your face template is deleted too" in everything
        assert (ConsentEvent.objects.count(), AuditEntry.objects.count()) == before
        assert set(statuses(consents).values()) == {"active"}

    def test_confirming_withdraws_them_and_says_so(self, client, shopper, consents):
        client.force_login(shopper)
        response = client.post("/consents/withdraw-all/", {"operator": "fresh-mart"}, follow=True)
        html = response.content.decode()
        assert "Withdrawn: 2 consents. From now on Fresh Mart cannot use them." in html
        assert "Your face template has been deleted" not in html
        assert statuses(consents)["corner_face"] == "active"
        response = client.post("/consents/withdraw-all/", {"operator": ""}, follow=True)
        html = response.content.decode()
        assert "Withdrawn: 1 consent. From now on no store can use it." in html
        assert "Your face template has been deleted" in html
        assert not has_template(shopper)

    def test_an_unknown_operator_is_not_found(self, client, shopper, consents):
        client.force_login(shopper)
        assert client.get("/consents/withdraw-all/?operator=nobody").status_code == 404
        assert client.post("/consents/withdraw-all/", {"operator": "nobody"}).status_code == 404
        assert set(statuses(consents).values()) == {"active"}

    def test_it_needs_login(self, client, consents):
        assert client.post("/consents/withdraw-all/", {}).status_code == 302
        assert set(statuses(consents).values()) == {"active"}


def test_the_withdrawal_pages_speak_chinese(client, fresh_mart):
    shopper = UserFactory(language="zh-hans")
    face_consent(shopper, fresh_mart)
    held_template(shopper)
    client.force_login(shopper)
    overview = client.get("/consents/").content.decode()
    assert "撤回此项同意也会删除您的人脸特征模板" in overview and "全部撤回" in overview
    confirmation = client.get("/consents/withdraw-all/").content.decode()
    assert "您的人脸特征模板也会被删除" in confirmation and "是的，全部撤回" in confirmation
    done = client.post("/consents/withdraw-all/", {"operator": ""}, follow=True).content.decode()
    assert "已撤回 1 项同意。" in done and "您的人脸特征模板已删除" in done
