"""The shopper is mailed when a consent is given, withdrawn, runs out or ends with a material notice
change (or a corrected age), and when the face template is deleted: after the change commits, in the
profile's language, and a mail that fails never undoes the change."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from biometrics.services import templates_delete
from consent.models import Consent
from consent.services import consent_expire_due, consent_withdraw, consents_end_below_minimum_age
from core.audit import Actor
from tests.core.audit_world import World
from tests.factories import DEFAULT_PASSWORD, OperatorFactory, UserFactory, face_consent, published_notice

pytestmark = pytest.mark.django_db


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise RuntimeError("the mail server is down")


@pytest.fixture
def operator():
    operator = OperatorFactory(name="Green Mart")
    published_notice(operator)
    return operator


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def test_a_consent_given_is_mailed_after_the_commit_only(shopper, operator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        face_consent(shopper, operator)
    assert mail.outbox == []  # nothing is sent inside the transaction
    for callback in callbacks:
        callback()
    (message,) = mail.outbox
    assert message.to == [shopper.email]
    assert message.subject == "You gave a consent on FaceConsent"
    assert "you gave Green Mart your consent for: Recognised at the door." in message.body
    assert "It runs until " in message.body and "You can withdraw it at any time, in one step" in message.body


def test_given_through_the_api(api_client, shopper, operator, django_capture_on_commit_callbacks):
    token = api_client.post(
        "/api/v1/auth/login", {"email": shopper.email, "password": DEFAULT_PASSWORD}, format="json"
    ).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = {
        "operator": operator.slug,
        "purpose": "face_entry",
        "notice_version": operator.notices.get().versions.get().pk,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/consents", body, format="json")
    assert response.status_code == 201, response.content
    assert subjects() == ["You gave a consent on FaceConsent"]


def test_a_withdrawal_and_the_template_deleted_with_the_last_face_consent(
    shopper, operator, settings, django_capture_on_commit_callbacks
):
    given = face_consent(shopper, operator)
    World(settings).template(shopper)
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(consent=given, channel="web")
    assert subjects() == ["Your face template on FaceConsent was deleted", "You withdrew a consent on FaceConsent"]
    assert "No store can recognise you by your face any more." in mail.outbox[0].body
    assert 'your consent to Green Mart for "Recognised at the door" was withdrawn' in mail.outbox[1].body


def test_a_template_deleted_at_the_shoppers_request(shopper, settings, django_capture_on_commit_callbacks):
    World(settings).template(shopper)
    with django_capture_on_commit_callbacks(execute=True):
        templates_delete(shopper=shopper, actor=Actor.shopper(shopper, "web"), reason="asked")
    assert subjects() == ["Your face template on FaceConsent was deleted"]


def test_no_template_no_mail(shopper, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        templates_delete(shopper=shopper, actor=Actor.shopper(shopper, "web"), reason="asked")
    assert mail.outbox == []


def test_the_expiry_job_mails_each_consent_that_ran_out(shopper, operator, django_capture_on_commit_callbacks):
    given = face_consent(shopper, operator)
    Consent.objects.filter(pk=given.pk).update(expires_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert consent_expire_due() == 1
    assert subjects() == ["A consent of yours on FaceConsent has run out"]
    assert 'Your consent to Green Mart for "Recognised at the door" ran out on' in mail.outbox[0].body


@pytest.mark.requirement("C3")
def test_a_material_notice_change_asks_for_renewal(shopper, operator, django_capture_on_commit_callbacks):
    face_consent(shopper, operator)
    with django_capture_on_commit_callbacks(execute=True):
        published_notice(operator, material=True)
    assert subjects() == ["A consent of yours on FaceConsent has ended"]
    body = mail.outbox[0].body
    assert "Green Mart has published a new version of its notice" in body
    assert "To renew it, read the new notice and answer again on FaceConsent:" in body


def test_a_change_that_is_not_material_mails_nothing(shopper, operator, django_capture_on_commit_callbacks):
    face_consent(shopper, operator)
    with django_capture_on_commit_callbacks(execute=True):
        published_notice(operator, material=False)
    assert mail.outbox == []


def test_a_corrected_age_below_the_minimum_says_why(shopper, operator, django_capture_on_commit_callbacks):
    face_consent(shopper, operator)
    type(shopper).objects.filter(pk=shopper.pk).update(date_of_birth=timezone.localdate())
    shopper.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        consents_end_below_minimum_age(shopper=shopper, actor=Actor.shopper(shopper, "web"))
    assert subjects() == ["A consent of yours on FaceConsent has ended"]
    assert "under the minimum age for face recognition" in mail.outbox[0].body
    assert "renew" not in mail.outbox[0].body


def test_mails_speak_the_profiles_language(operator, django_capture_on_commit_callbacks):
    shopper = UserFactory(language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        given = face_consent(shopper, operator)
        consent_withdraw(consent=given, channel="app")
    assert subjects() == ["您已在 FaceConsent 上给出一项同意", "您已在 FaceConsent 上撤回一项同意"]
    assert "同意 Green Mart 进行：入口处人脸识别。" in mail.outbox[0].body


def test_a_mail_that_fails_undoes_nothing(api_client, shopper, operator, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.consent.test_notifications.BrokenBackend"
    given = face_consent(shopper, operator)
    token = api_client.post(
        "/api/v1/auth/login", {"email": shopper.email, "password": DEFAULT_PASSWORD}, format="json"
    ).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"/api/v1/consents/{given.public_id}/withdraw")
    assert response.status_code == 200, response.content
    given.refresh_from_db()
    assert given.status == "withdrawn"


def test_withdrawing_everything_sends_one_mail_listing_each_consent(
    shopper, operator, django_capture_on_commit_callbacks
):
    from consent.services import consent_give, consents_withdraw_all

    face_consent(shopper, operator)
    other = OperatorFactory(name="Blue Mart")
    version = published_notice(other, purpose="store_analytics")
    consent_give(shopper=shopper, operator=other, purpose="store_analytics", notice_version=version, channel="web")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        consents_withdraw_all(shopper=shopper, channel="web")
    assert subjects() == ["You withdrew your consents on FaceConsent"]
    body = mail.outbox[0].body
    assert "- Green Mart · Recognised at the door" in body
    assert "- Blue Mart · Visits and shelf dwell kept" in body


def test_mail_times_are_in_the_shoppers_zone_else_the_operators(operator, django_capture_on_commit_callbacks):
    from datetime import UTC, datetime

    from consent.notifications import consent_ended_notify

    operator.time_zone = "Asia/Shanghai"
    operator.save(update_fields=["time_zone"])
    # Withdrawn at 23:30 UTC on 3 December: already 4 December in Shanghai, still 3 December in London.
    ended_at = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    for time_zone, day in (("", "4 Dec 2026"), ("Europe/London", "3 Dec 2026")):
        shopper = UserFactory(time_zone=time_zone)
        given = face_consent(shopper, operator)
        given.ended_at = ended_at
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            consent_ended_notify(consent=given, kind="withdrawn")
        assert f"On {day} your consent to Green Mart" in mail.outbox[0].body, (time_zone, mail.outbox[0].body)
