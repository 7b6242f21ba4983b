"""Privacy officers write and publish notices in the admin; published versions cannot change."""

import pytest

from consent.models import Consent, NoticeVersion
from consent.services import consent_give
from core.models import AuditEntry
from tests.factories import NOTICE_TEXTS, OperatorFactory, published_notice

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {key: value for key, value in NOTICE_TEXTS.items() if key != "data_categories"}
    return {**data, "data_categories": '["facial template (biometric)"]', "material": "on", **overrides}


@pytest.mark.requirement("C3")
def test_draft_then_publish_through_the_admin(admin_client, shopper):
    operator = OperatorFactory()
    old = published_notice(operator)
    consent = consent_give(shopper=shopper, operator=operator, purpose="face_entry", notice_version=old, channel="app")

    response = admin_client.post(
        "/admin/consent/noticeversion/add/", form_data(operator=operator.pk, purpose="face_entry")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    draft = NoticeVersion.objects.get(status="draft")
    assert draft.version == 2
    assert AuditEntry.objects.filter(action="notice.draft_created", actor_type="staff").exists()

    response = admin_client.post("/admin/consent/noticeversion/", {"action": "publish", "_selected_action": [draft.pk]})
    assert response.status_code == 302
    draft.refresh_from_db()
    consent.refresh_from_db()
    assert draft.is_published
    assert consent.status == Consent.Status.INVALIDATED


@pytest.mark.requirement("C3")
def test_a_published_version_is_read_only_in_the_admin(admin_client):
    version = published_notice(OperatorFactory())
    page = admin_client.get(f"/admin/consent/noticeversion/{version.pk}/change/").content.decode()
    assert 'name="title_en"' not in page  # shown, not editable
    response = admin_client.post(
        f"/admin/consent/noticeversion/{version.pk}/change/", form_data(title_en="Sneaky edit")
    )
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.title_en == NOTICE_TEXTS["title_en"]


def test_a_second_draft_is_refused_with_a_message_not_a_500(admin_client):
    operator = OperatorFactory()
    admin_client.post("/admin/consent/noticeversion/add/", form_data(operator=operator.pk, purpose="face_entry"))
    response = admin_client.post(
        "/admin/consent/noticeversion/add/", form_data(operator=operator.pk, purpose="face_entry"), follow=True
    )

    assert response.redirect_chain == [("/admin/consent/noticeversion/add/", 302)]
    errors = [message.message for message in response.context["messages"] if message.level_tag == "error"]
    assert errors == ["This notice already has a draft; edit or publish it first."]
    assert NoticeVersion.objects.count() == 1
    assert AuditEntry.objects.filter(action="notice.draft_created").count() == 1


def test_saving_an_untouched_draft_logs_nothing(admin_client):
    operator = OperatorFactory()
    admin_client.post("/admin/consent/noticeversion/add/", form_data(operator=operator.pk, purpose="face_entry"))
    draft = NoticeVersion.objects.get()
    response = admin_client.post(f"/admin/consent/noticeversion/{draft.pk}/change/", form_data())
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action="notice.draft_changed").exists()

    admin_client.post(f"/admin/consent/noticeversion/{draft.pk}/change/", form_data(title_en="A clearer title"))
    assert AuditEntry.objects.get(action="notice.draft_changed").data == {"fields": ["title_en"]}
