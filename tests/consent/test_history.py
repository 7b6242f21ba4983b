"""A tidy history: a notice shown once per version, shopper and channel; withdrawal dates and expiry
in the consent rows; reaffirming only in the last days of a consent's validity."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import Consent, ConsentEvent
from consent.services import consent_answer, consent_give, consent_reaffirm, consent_withdraw, notice_shown_record
from core.errors import DomainError
from core.models import AuditEntry
from tests.conftest import assert_error
from tests.factories import OperatorFactory, UserFactory, published_notice

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return OperatorFactory(name="Fresh Mart", slug="fresh-mart")


@pytest.fixture
def notice(operator):
    return published_notice(operator)


def shown_events():
    return list(ConsentEvent.objects.filter(kind="notice_shown").values_list("shopper", "notice_version", "channel"))


class TestNoticeShownOnce:
    @pytest.mark.requirement("C4")
    def test_showing_the_same_version_again_adds_no_event(self, shopper, notice):
        first = notice_shown_record(shopper=shopper, notice_version=notice, channel="app")
        again = notice_shown_record(shopper=shopper, notice_version=notice, channel="app")

        assert (first.created, again.created) == (True, False)
        assert again.event.pk == first.event.pk
        assert shown_events() == [(shopper.pk, notice.pk, "app")]
        assert AuditEntry.objects.filter(action="consent.notice_shown").count() == 1

    @pytest.mark.requirement("C4")
    def test_another_version_channel_or_shopper_is_a_new_showing(self, shopper, operator, notice):
        notice_shown_record(shopper=shopper, notice_version=notice, channel="app")
        notice_shown_record(shopper=shopper, notice_version=notice, channel="web")
        other = UserFactory()
        notice_shown_record(shopper=other, notice_version=notice, channel="app")
        newer = published_notice(operator, material=False)
        notice_shown_record(shopper=shopper, notice_version=newer, channel="app")

        assert sorted(shown_events()) == sorted(
            [
                (shopper.pk, notice.pk, "app"),
                (shopper.pk, notice.pk, "web"),
                (other.pk, notice.pk, "app"),
                (shopper.pk, newer.pk, "app"),
            ]
        )

    @pytest.mark.requirement("C4")
    def test_the_showing_with_a_decision_is_kept(self, shopper, operator, notice):
        notice_shown_record(shopper=shopper, notice_version=notice, channel="web")
        consent_answer(
            shopper=shopper,
            operator=operator,
            purpose="face_entry",
            notice_version=notice,
            decision="refuse",
            channel="web",
        )
        kinds = list(ConsentEvent.objects.order_by("id").values_list("kind", flat=True))
        assert kinds == ["notice_shown", "notice_shown", "refused"]

    @pytest.mark.requirement("C4")
    def test_the_api_answers_200_with_the_event_already_on_record(self, api_client, shopper, notice):
        api_client.force_authenticate(shopper)
        first = api_client.post(f"/api/v1/notices/{notice.pk}/shown")
        assert first.status_code == 201
        for _ in range(3):
            again = api_client.post(f"/api/v1/notices/{notice.pk}/shown")
            assert again.status_code == 200
            assert again.json() == first.json()
        assert len(shown_events()) == 1

    def test_the_schema_documents_both_answers(self):
        from drf_spectacular.generators import SchemaGenerator

        schema = SchemaGenerator().get_schema(request=None, public=True)
        operation = schema["paths"]["/api/v1/notices/{notice_version_id}/shown"]["post"]
        assert {"200", "201"} <= set(operation["responses"])
        assert "once" in operation["description"]


def give(shopper, notice):
    return consent_give(
        shopper=shopper, operator=notice.notice.operator, purpose="face_entry", notice_version=notice, channel="app"
    )


def expiring_in(consent, days: float):
    Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() + timedelta(days=days))
    consent.refresh_from_db()
    return consent


@pytest.mark.requirement("C7")
class TestReaffirmWindow:
    def test_before_the_last_30_days_reaffirming_is_refused(self, shopper, notice):
        consent = expiring_in(give(shopper, notice), 31)
        with pytest.raises(DomainError) as raised:
            consent_reaffirm(consent=consent, notice_version=notice, channel="app")
        assert (raised.value.code, raised.value.status) == ("reaffirm_too_early", 409)
        assert raised.value.extra == {"reaffirm_from": (consent.expires_at - timedelta(days=30)).isoformat()}
        assert list(consent.events.values_list("kind", flat=True)) == ["given"]

    def test_within_the_last_30_days_it_renews(self, shopper, notice):
        consent = expiring_in(give(shopper, notice), 29)
        consent_reaffirm(consent=consent, notice_version=notice, channel="app")
        consent.refresh_from_db()
        assert consent.expires_at > timezone.now() + timedelta(days=364)

    def test_the_window_is_a_setting(self, shopper, notice, settings):
        settings.CONSENT_REAFFIRM_WINDOW = timedelta(days=60)
        consent = expiring_in(give(shopper, notice), 45)
        consent_reaffirm(consent=consent, notice_version=notice, channel="app")

    def test_the_api_answers_409_before_the_window(self, api_client, shopper, notice):
        consent = give(shopper, notice)
        api_client.force_authenticate(shopper)
        response = api_client.post(
            f"/api/v1/consents/{consent.public_id}/reaffirm", {"notice_version": notice.pk}, format="json"
        )
        error = assert_error(response, 409, "reaffirm_too_early")
        assert "30 days" in error["message"] and error["reaffirm_from"]

    def test_the_api_rows_say_when_reaffirming_opens_and_when_it_was_withdrawn(self, api_client, shopper, notice):
        consent = give(shopper, notice)
        api_client.force_authenticate(shopper)
        row = api_client.get("/api/v1/consents").json()["results"][0]
        assert row["expires_at"] and row["withdrawn_at"] is None
        assert row["reaffirm_from"] == api_client.get(f"/api/v1/consents/{consent.public_id}").json()["reaffirm_from"]
        assert row["can_reaffirm"] is False
        expiring_in(consent, 10)
        assert api_client.get("/api/v1/consents").json()["results"][0]["can_reaffirm"] is True
        consent_withdraw(consent=consent, channel="app")
        consent.refresh_from_db()
        row = api_client.get("/api/v1/consents").json()["results"][0]
        assert row["withdrawn_at"] is not None and row["withdrawn_at"] == row["ended_at"]
        assert row["can_reaffirm"] is False


@pytest.mark.requirement("C7")
class TestConsentsPage:
    def test_reaffirm_is_offered_only_in_the_last_30_days(self, client, shopper, notice):
        consent = give(shopper, notice)
        client.force_login(shopper)
        html = client.get("/consents/").content.decode()
        assert f"/consents/{consent.public_id}/reaffirm/" not in html
        assert "You can reaffirm from" in html
        expiring_in(consent, 20)
        html = client.get("/consents/").content.decode()
        assert f"/consents/{consent.public_id}/reaffirm/" in html

    def test_reaffirming_too_early_on_the_web_says_why(self, client, shopper, notice):
        consent = give(shopper, notice)
        client.force_login(shopper)
        response = client.post(f"/consents/{consent.public_id}/reaffirm/", follow=True)
        assert "in the last 30 days" in response.content.decode()

    def test_the_rows_show_the_expiry_and_the_withdrawal_date(self, client, shopper, notice):
        consent = give(shopper, notice)
        consent_withdraw(consent=consent, channel="app")
        active = give(shopper, notice)
        client.force_login(shopper)
        html = client.get("/consents/").content.decode()
        assert "Expires on" in html and "Withdrawn on" in html
        consent.refresh_from_db()
        assert f'class="withdrawn-at"><time datetime="{timezone.localtime(consent.ended_at).isoformat()}' in html
        assert f'class="expires-at"><time datetime="{timezone.localtime(active.expires_at).isoformat()}' in html


def test_the_history_columns_and_the_window_speak_chinese(client, api_client, notice):
    shopper = UserFactory(language="zh-hans")
    consent = give(shopper, notice)
    client.force_login(shopper)
    html = client.get("/consents/").content.decode()
    assert "到期日期" in html and "撤回日期" in html and "起重新确认。" in html
    api_client.force_authenticate(shopper)
    response = api_client.post(
        f"/api/v1/consents/{consent.public_id}/reaffirm",
        {"notice_version": notice.pk},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert assert_error(response, 409, "reaffirm_too_early")["message"] == "只能在同意有效期的最后 30 天内重新确认。"
