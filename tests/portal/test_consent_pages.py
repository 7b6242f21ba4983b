"""Consent pages: the consent step of its own, one-button withdrawal, receipts, pass, public retention."""

import json
from datetime import timedelta

import pytest

from consent.models import Consent, ConsentEvent, EntryPass
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


@pytest.mark.requirement("C2")
def test_the_overview_lists_each_purpose_with_its_answer(client, shopper, operator, notice):
    published_notice(operator, "store_analytics")
    consent_give(shopper=shopper, operator=operator, purpose="face_entry", notice_version=notice, channel="web")
    client.force_login(shopper)
    html = client.get("/consents/").content.decode()
    assert 'data-operator="fresh-mart" data-purpose="face_entry"' in html
    assert "Withdraw" in html
    assert "/consents/fresh-mart/store_analytics/decide/" in html


@pytest.mark.requirement("C1")
def test_the_decision_page_shows_the_notice_and_records_nothing(client, shopper, notice):
    client.force_login(shopper)
    response = client.get("/consents/fresh-mart/face_entry/decide/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "To recognise you at the door." in html and "Kept until you withdraw." in html
    # Explicit and unticked: two buttons, no pre-ticked box.
    assert 'name="decision" value="give"' in html and 'name="decision" value="refuse"' in html
    assert "checked" not in html
    # A GET never writes: the notice goes on record with the answer to it.
    assert not ConsentEvent.objects.exists()


@pytest.mark.requirement("C3", "C4")
@pytest.mark.parametrize(("decision", "kind"), [("give", "given"), ("refuse", "refused")])
def test_an_answer_records_the_notice_it_answers_as_shown(client, shopper, notice, decision, kind):
    client.force_login(shopper)
    response = client.post(
        "/consents/fresh-mart/face_entry/decide/", {"notice_version": notice.pk, "decision": decision}
    )
    assert response.status_code == 302
    events = list(ConsentEvent.objects.order_by("id").values_list("kind", "notice_version", "channel"))
    assert events == [("notice_shown", notice.pk, "web"), (kind, notice.pk, "web")]


def test_a_failed_answer_records_nothing(client, shopper, notice, operator):
    consent_give(shopper=shopper, operator=operator, purpose="face_entry", notice_version=notice, channel="app")
    client.force_login(shopper)
    response = client.post("/consents/fresh-mart/face_entry/decide/", {"notice_version": notice.pk, "decision": "give"})
    assert response.status_code == 400
    assert "You have already given this consent." in response.content.decode()
    assert list(ConsentEvent.objects.values_list("kind", flat=True)) == ["given"]


def test_a_purpose_without_a_published_notice_is_not_found(client, shopper, notice):
    client.force_login(shopper)
    assert client.get("/consents/fresh-mart/personalised_offers/decide/").status_code == 404


@pytest.mark.requirement("C3")
def test_the_notice_is_shown_in_chinese(client, notice):
    shopper = UserFactory(language="zh-hans")
    client.force_login(shopper)
    html = client.get("/consents/fresh-mart/face_entry/decide/").content.decode()
    assert "在入口识别您。" in html


@pytest.mark.requirement("C1")
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


@pytest.mark.requirement("C1")
def test_no_decision_no_consent(client, shopper, notice):
    client.force_login(shopper)
    response = client.post("/consents/fresh-mart/face_entry/decide/", {"notice_version": notice.pk})
    assert response.status_code == 400
    assert not Consent.objects.exists()


@pytest.mark.requirement("C6")
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


@pytest.mark.requirement("C5")
def test_receipt_download(client, shopper, notice, operator):
    consent = consent_give(
        shopper=shopper, operator=operator, purpose="face_entry", notice_version=notice, channel="web"
    )
    client.force_login(shopper)
    response = client.get(f"/consents/{consent.public_id}/receipt/")
    assert response["Content-Disposition"].startswith("attachment;")
    assert json.loads(response.content)["consent"]["id"] == str(consent.public_id)


@pytest.mark.requirement("C9")
def test_entry_pass_page(client, shopper):
    client.force_login(shopper)
    assert "Show my entry pass" in client.get("/entry-pass/").content.decode()
    html = client.post("/entry-pass/").content.decode()
    assert "<svg" in html and "Valid until" in html
    assert "Works at any store that accepts entry passes." in html
    assert EntryPass.objects.get().operator is None


PASS_EXPLAINED = {
    "en": [
        "You need no face consent for a pass, and declining face recognition changes nothing else.",
        "Who can read it",
        "Anyone who scans the code sees only a random signed number: no name, no email, no photo.",
        "It lasts 5 minutes and works once.",
        "The store where you show it learns that it is you and records a visit there under a reference that "
        "stands for you at that operator only.",
        "Any store that accepts entry passes, unless you choose one operator.",
        "Other operators' doors then refuse it, learn nothing about you and leave it unused.",
    ],
    "zh-hans": [
        "使用入店通行码无需同意人脸识别，拒绝人脸识别也不会影响其他任何事项。",
        "谁能读取",
        "扫描此码的人只能看到一串带签名的随机数字：没有姓名、邮箱或照片。",
        "有效期 5 分钟，仅可使用一次。",
        "您在哪家门店出示，该门店就会知道是您，并在那里记录一次到店，使用的是仅在该门店运营方处代表您的化名标识。",
        "默认适用于所有接受入店通行码的门店，您也可以只选择一个门店运营方。",
        "其他门店运营方的入口将拒绝此码，无从得知您的任何信息，此码也不会被用掉。",
    ],
}


@pytest.mark.requirement("C9")
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_entry_pass_page_says_what_a_pass_does(client, operator, language):
    client.force_login(UserFactory(language=language))
    for html in (client.get("/entry-pass/").content.decode(), client.post("/entry-pass/").content.decode()):
        for sentence in PASS_EXPLAINED[language]:
            assert sentence in html


@pytest.mark.requirement("C9")
def test_the_lifetime_on_the_page_is_the_setting(client, shopper, settings):
    settings.ENTRY_PASS_LIFETIME = timedelta(seconds=90)
    client.force_login(shopper)
    assert "It lasts 90 seconds and works once." in client.get("/entry-pass/").content.decode()


@pytest.mark.requirement("C9")
def test_a_pass_scoped_to_one_operator_from_the_page(client, shopper, operator):
    OperatorFactory(name="Corner Shop", slug="corner-shop")
    client.force_login(shopper)
    html = client.get("/entry-pass/").content.decode()
    assert '<select name="operator"' in html
    assert '<option value="" selected>Any store</option>' in html
    assert '<option value="corner-shop">Corner Shop</option>' in html
    assert '<option value="fresh-mart">Fresh Mart</option>' in html
    html = client.post("/entry-pass/", {"operator": "fresh-mart"}).content.decode()
    assert EntryPass.objects.get().operator == operator
    assert "Works only at Fresh Mart's stores." in html
    # The pass the page renews by itself keeps the shopper's choice.
    assert '<input type="hidden" name="operator" value="fresh-mart">' in html


@pytest.mark.requirement("C9")
def test_a_pass_scoped_from_the_page_in_chinese(client, operator):
    client.force_login(UserFactory(language="zh-hans"))
    html = client.get("/entry-pass/").content.decode()
    assert '<label for="id_operator">适用范围</label>' in html
    assert '<option value="" selected>所有门店</option>' in html
    html = client.post("/entry-pass/", {"operator": "fresh-mart"}).content.decode()
    assert "仅适用于 Fresh Mart 的门店。" in html


@pytest.mark.requirement("C9")
def test_an_unknown_operator_on_the_page(client, shopper, operator):
    client.force_login(shopper)
    response = client.post("/entry-pass/", {"operator": "nobody"})
    assert response.status_code == 400
    assert "Choose one of the operators listed." in response.content.decode()
    assert not EntryPass.objects.exists()


@pytest.mark.requirement("C10")
def test_public_retention_page_needs_no_login(client, operator, notice):
    response = client.get("/operators/fresh-mart/retention/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Kept until you withdraw." in html and "365 days" in html
    assert client.get(f"/operators/fresh-mart/notices/{notice.pk}/").status_code == 200
    assert client.get("/operators/nobody/retention/").status_code == 404


def test_consent_pages_need_login(client, notice):
    assert client.get("/consents/")["Location"].startswith("/login/")
    assert client.get("/consents/fresh-mart/face_entry/decide/")["Location"].startswith("/login/")
