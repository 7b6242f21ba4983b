"""Chinese pages say everything in Chinese: the notice's data list and contact, labels, colons."""

import pytest

from biometrics.models import Enrollment
from consent.services import consent_give
from portal.demo_notices import CONTACT, CONTACT_ZH, DEMO_NOTICES
from tests.factories import OperatorFactory, UserFactory, published_notice

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return OperatorFactory(name="Demo Mart", slug="demo-mart", privacy_officer_name="Dana Officer")


@pytest.fixture
def notice(operator):
    return published_notice(operator, **DEMO_NOTICES["face_entry"], contact=CONTACT, contact_zh_hans=CONTACT_ZH)


@pytest.mark.requirement("C3")
def test_the_notice_lists_its_data_and_contact_in_the_readers_language(client, operator, notice):
    chinese = client.get(f"/operators/demo-mart/notices/{notice.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = chinese.content.decode()
    assert "<li>人脸特征模板（生物识别信息）</li>" in html and "<li>进店时间</li>" in html
    assert "facial template" not in html and "entry time" not in html
    assert CONTACT_ZH in html and "privacy office" not in html

    english = client.get(f"/operators/demo-mart/notices/{notice.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<li>facial template (biometric)</li>" in english
    assert CONTACT in english


def test_a_category_no_label_knows_and_a_contact_with_no_chinese_version_are_shown_as_written(client, operator):
    version = published_notice(operator, data_categories=["loyalty card number"], contact="privacy@demo-mart.example")
    html = client.get(f"/operators/demo-mart/notices/{version.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "<li>loyalty card number</li>" in html
    assert "privacy@demo-mart.example" in html


@pytest.mark.requirement("C3", "C5")
def test_the_public_api_and_the_receipt_give_the_contact_in_each_language(client, api_client, operator, notice):
    entry = api_client.get("/api/v1/operators/demo-mart/notices").json()["results"][0]
    assert (entry["text"]["en"]["contact"], entry["text"]["zh-hans"]["contact"]) == (CONTACT, CONTACT_ZH)
    shopper = UserFactory(language="zh-hans")
    consent = consent_give(
        shopper=shopper, operator=operator, purpose="face_entry", notice_version=notice, channel="web"
    )
    client.force_login(shopper)
    receipt = client.get(f"/consents/{consent.public_id}/receipt/").json()
    assert receipt["controller"]["contact"] == CONTACT_ZH


def test_chinese_pages_use_chinese_colons(client, operator, notice):
    shopper = UserFactory(language="zh-hans")
    consent_give(shopper=shopper, operator=operator, purpose="face_entry", notice_version=notice, channel="app")
    Enrollment.objects.create(
        shopper=shopper,
        channel="web",
        photo_count=1,
        status=Enrollment.Status.REFUSED,
        reason="no_usable_photo",
        results=[{"photo": 1, "accepted": False, "code": "too_dark", "message": ""}],
    )
    client.force_login(shopper)
    assert "个人信息保护负责人：Dana Officer" in client.get("/operators/demo-mart/retention/").content.decode()
    assert "<li>Demo Mart：" in client.get("/").content.decode()
    face = client.get("/face/").content.decode()
    assert "照片 1：照片太暗" in face
    assert 'data-photo-line="照片 {number}：{outcome}"' in face
    assert "· 手机应用</li>" in client.get("/consents/").content.decode()  # the channel, not "App"
