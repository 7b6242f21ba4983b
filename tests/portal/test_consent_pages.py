"""Consent pages: the consent step of its own, one-button withdrawal, receipts, pass, public retention."""

import json

import pytest

from consent.models import Consent, ConsentEvent
from consent.services import consent_give
from tests.factories import OperatorFactory, UserFactory, published_notice

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return OperatorFactory(
        name="Fresh Mart", slug="fresh-mart", template_retention_days=400, footprint_retention_days=200
    )


@pytest.fixture
def notice(operator):
    return published_notice(operator)


def test_the_overview_lists_each_purpose_with_its_answer(client, shopper, operator, notice):
    published_notice(operator, "store_analytics")
    consent_give(shopper=shopper, operator=operator, purpose="face_entry", notice_version=notice, channel="web")
    client.force_login(shopper)
    html = client.get("/consents/").content.decode()
    assert 'data-operator="fresh-mart" data-purpose="face_entry"' in html
    assert "Withdraw" in html
    assert "/consents/fresh-mart/store_analytics/decide/" in html


def test_the_decision_page_shows_the_notice_and_records_it(client, shopper, notice):
    client.force_login(shopper)
    response = client.get("/consents/fresh-mart/face_entry/decide/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "To recognise you at the door." in html and "Kept until you withdraw." in html
    # Explicit and unticked: two buttons, no pre-ticked box.
    assert 'name="decision" value="give"' in html and 'name="decision" value="refuse"' in html
    assert "checked" not in html
    assert ConsentEvent.objects.get().kind == "notice_shown"


def test_the_notice_is_shown_in_chinese(client, notice):
    shopper = UserFactory(language="zh-hans")
    client.force_login(shopper)
    html = client.get("/consents/fresh-mart/face_entry/decide/").content.decode()
    assert "在入口识别您。" in html


def test_yes_gives_and_no_refuses(client, shopper, notice):
    client.force_login(shopper)
    response = client.post(
        "/consents/fresh-mart/face_entry/decide/", {"notice_version": notice.pk, "decision": "refuse"}
    )
    assert response.status_code == 302
    assert not Consent.objects.exists()
    response = client.post("/consents/fresh-mart/face_entry/decide/", {"notice_version": notice.pk, "decision": "give"})
    assert response.status_code == 302
    consent = Consent.objects.get()
    assert (consent.channel, consent.notice_version, consent.status) == ("web", notice, "active")


def test_no_decision_no_consent(client, shopper, notice):
    client.force_login(shopper)
    response = client.post("/consents/fresh-mart/face_entry/decide/", {"notice_version": notice.pk})
    assert response.status_code == 400
    assert not Consent.objects.exists()


def test_withdraw_is_one_button(client, shopper, notice, operator):
    consent = consent_give(
        shopper=shopper, operator=operator, purpose="face_entry", notice_version=notice, channel="web"
    )
    client.force_login(shopper)
    assert client.post(f"/consents/{consent.public_id}/withdraw/").status_code == 302
    consent.refresh_from_db()
    assert consent.status == "withdrawn"


def test_someone_elses_consent_is_not_found_on_the_web(client, shopper, notice, operator):
    consent = consent_give(
        shopper=shopper, operator=operator, purpose="face_entry", notice_version=notice, channel="web"
    )
    client.force_login(UserFactory())
    assert client.post(f"/consents/{consent.public_id}/withdraw/").status_code == 404
    assert client.get(f"/consents/{consent.public_id}/receipt/").status_code == 404
    consent.refresh_from_db()
    assert consent.status == "active"


def test_receipt_download(client, shopper, notice, operator):
    consent = consent_give(
        shopper=shopper, operator=operator, purpose="face_entry", notice_version=notice, channel="web"
    )
    client.force_login(shopper)
    response = client.get(f"/consents/{consent.public_id}/receipt/")
    assert response["Content-Disposition"].startswith("attachment;")
    assert json.loads(response.content)["consent"]["id"] == str(consent.public_id)


def test_entry_pass_page(client, shopper):
    client.force_login(shopper)
    assert "Show my entry pass" in client.get("/entry-pass/").content.decode()
    html = client.post("/entry-pass/").content.decode()
    assert "<svg" in html and "Valid until" in html


def test_public_retention_page_needs_no_login(client, operator, notice):
    response = client.get("/operators/fresh-mart/retention/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "400 days" in html and "200 days" in html
    assert "Kept until you withdraw." in html
    assert client.get(f"/operators/fresh-mart/notices/{notice.pk}/").status_code == 200
    assert client.get("/operators/nobody/retention/").status_code == 404


def test_consent_pages_need_login(client, notice):
    assert client.get("/consents/")["Location"].startswith("/login/")
    assert client.get("/consents/fresh-mart/face_entry/decide/")["Location"].startswith("/login/")
