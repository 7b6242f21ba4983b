"""Every consent state change, the event it leaves, and its audit entry."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import Consent, ConsentEvent, NoticeVersion
from consent.selectors import consent_choices_for_shopper, consent_is_active
from consent.services import (
    consent_expire_due,
    consent_give,
    consent_reaffirm,
    consent_refuse,
    consent_withdraw,
    notice_shown_record,
    notice_version_create_draft,
    notice_version_publish,
    notice_version_update_draft,
)
from core.audit import Actor, audit_chain_verify
from core.errors import DomainError
from core.models import AuditEntry
from tests.factories import NOTICE_TEXTS, OperatorFactory, UserFactory, published_notice

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return OperatorFactory()


@pytest.fixture
def notice(operator):
    return published_notice(operator)


def give(shopper, notice, channel="app"):
    return consent_give(
        shopper=shopper,
        operator=notice.notice.operator,
        purpose=notice.notice.purpose,
        notice_version=notice,
        channel=channel,
    )


def kinds(consent):
    return list(consent.events.values_list("kind", flat=True))


def audited(action, target):
    return AuditEntry.objects.filter(action=action, target_type=target._meta.label_lower, target_id=str(target.pk))


def refused_with(code, call):
    with pytest.raises(DomainError) as raised:
        call()
    assert raised.value.code == code, raised.value.code
    return raised.value


class TestGive:
    @pytest.mark.requirement("C3", "C4", "C7")
    def test_give_records_the_version_an_event_and_an_audit_entry(self, shopper, notice):
        consent = give(shopper, notice, channel="web")

        assert consent.status == Consent.Status.ACTIVE
        assert consent.notice_version == notice
        assert consent.channel == "web"
        assert consent.expires_at - consent.given_at == timedelta(days=365)
        event = consent.events.get()
        assert (event.kind, event.channel, event.actor_type, event.actor_id) == (
            "given",
            "web",
            "shopper",
            str(shopper.pk),
        )
        assert event.notice_version == notice
        assert audited("consent.given", consent).count() == 1
        assert consent_is_active(shopper=shopper, operator=notice.notice.operator, purpose="face_entry")

    @pytest.mark.requirement("C7")
    def test_validity_is_a_setting(self, shopper, notice, settings):
        settings.CONSENT_VALIDITY = timedelta(days=30)
        consent = give(shopper, notice)
        assert consent.expires_at - consent.given_at == timedelta(days=30)

    def test_a_second_active_consent_is_refused(self, shopper, notice):
        give(shopper, notice)
        error = refused_with("consent_already_active", lambda: give(shopper, notice))
        assert error.status == 409
        assert Consent.objects.count() == 1

    @pytest.mark.requirement("C3")
    def test_unpublished_version_is_refused(self, shopper, operator, notice):
        draft = notice_version_create_draft(
            actor=Actor.system(), operator=operator, purpose="face_entry", **NOTICE_TEXTS
        )
        refused_with("notice_version_not_published", lambda: give(shopper, draft))
        assert not Consent.objects.exists()

    @pytest.mark.requirement("C3")
    def test_another_operators_version_is_refused(self, shopper, notice):
        other = published_notice(OperatorFactory())
        refused_with(
            "notice_version_mismatch",
            lambda: consent_give(
                shopper=shopper,
                operator=notice.notice.operator,
                purpose="face_entry",
                notice_version=other,
                channel="app",
            ),
        )

    @pytest.mark.requirement("C2", "C3")
    def test_another_purposes_version_is_refused(self, shopper, operator, notice):
        analytics = published_notice(operator, "store_analytics")
        refused_with(
            "notice_version_mismatch",
            lambda: consent_give(
                shopper=shopper, operator=operator, purpose="face_entry", notice_version=analytics, channel="app"
            ),
        )

    @pytest.mark.requirement("C3")
    def test_a_superseded_version_is_refused(self, shopper, operator, notice):
        newer = published_notice(operator, material=False)
        error = refused_with("notice_version_superseded", lambda: give(shopper, notice))
        assert error.extra == {"current_notice_version": newer.pk}

    def test_unverified_email_cannot_consent(self, notice):
        shopper = UserFactory(email_verified_at=None)
        error = refused_with("email_not_verified", lambda: give(shopper, notice))
        assert error.status == 403

    @pytest.mark.requirement("C8")
    def test_under_fourteen_cannot_consent_to_face_recognition(self, operator, notice):
        today = timezone.localdate()
        child = UserFactory(date_of_birth=date(today.year - 13, today.month, 1))
        refused_with("under_minimum_age", lambda: give(child, notice))
        # The other purposes follow the operator's law: tests/consent/test_minors.py.

    @pytest.mark.requirement("C8")
    def test_the_age_limit_is_a_setting(self, notice, settings):
        settings.MINIMUM_AGE = 18
        today = timezone.localdate()
        refused_with("under_minimum_age", lambda: give(UserFactory(date_of_birth=date(today.year - 16, 1, 1)), notice))

    def test_consent_to_one_operator_is_not_consent_to_another(self, shopper, notice):
        other_operator = OperatorFactory()
        published_notice(other_operator)
        give(shopper, notice)
        assert not consent_is_active(shopper=shopper, operator=other_operator, purpose="face_entry")


class TestWithdraw:
    @pytest.mark.requirement("C4", "C6")
    def test_withdraw_ends_it_at_once(self, shopper, notice):
        consent = give(shopper, notice)
        consent_withdraw(consent=consent, channel="app")

        consent.refresh_from_db()
        assert consent.status == Consent.Status.WITHDRAWN and consent.ended_at is not None
        assert kinds(consent) == ["given", "withdrawn"]
        assert audited("consent.withdrawn", consent).count() == 1
        assert not consent_is_active(shopper=shopper, operator=notice.notice.operator, purpose="face_entry")

    def test_withdrawing_twice_is_refused(self, shopper, notice):
        consent = give(shopper, notice)
        consent_withdraw(consent=consent, channel="app")
        error = refused_with("consent_not_active", lambda: consent_withdraw(consent=consent, channel="app"))
        assert error.extra == {"status": "withdrawn"}
        assert kinds(consent) == ["given", "withdrawn"]

    def test_consent_can_be_given_again_after_withdrawal(self, shopper, notice):
        first = give(shopper, notice)
        consent_withdraw(consent=first, channel="app")
        second = give(shopper, notice)
        assert second.pk != first.pk and second.status == "active"
        assert Consent.objects.filter(shopper=shopper).count() == 2


class TestRefuseAndShown:
    @pytest.mark.requirement("C4")
    def test_refuse_records_a_no_without_a_consent(self, shopper, notice):
        event = consent_refuse(
            shopper=shopper, operator=notice.notice.operator, purpose="face_entry", notice_version=notice, channel="web"
        )
        assert (event.kind, event.consent, event.notice_version) == ("refused", None, notice)
        assert not Consent.objects.exists()
        assert audited("consent.refused", event).count() == 1

    def test_refusing_an_active_consent_asks_for_a_withdrawal(self, shopper, notice):
        give(shopper, notice)
        refused_with(
            "consent_already_active",
            lambda: consent_refuse(
                shopper=shopper,
                operator=notice.notice.operator,
                purpose="face_entry",
                notice_version=notice,
                channel="web",
            ),
        )

    @pytest.mark.requirement("C4")
    def test_notice_shown_is_recorded(self, shopper, notice):
        event = notice_shown_record(shopper=shopper, notice_version=notice, channel="app").event
        assert (event.kind, event.purpose, event.notice_version) == ("notice_shown", "face_entry", notice)
        assert audited("consent.notice_shown", event).count() == 1


@pytest.mark.requirement("C7")
class TestExpiryAndReaffirm:
    @pytest.mark.requirement("C4")
    def test_expiry_ends_consents_past_their_validity(self, shopper, notice):
        consent = give(shopper, notice)
        fresh = give(UserFactory(), notice)
        Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

        # Already not active before the scheduled job runs.
        assert not consent_is_active(shopper=shopper, operator=notice.notice.operator, purpose="face_entry")
        assert consent_expire_due() == 1
        assert consent_expire_due() == 0  # running twice does no harm

        consent.refresh_from_db()
        fresh.refresh_from_db()
        assert consent.status == "expired" and fresh.status == "active"
        assert kinds(consent) == ["given", "expired"]
        assert consent.events.last().actor_type == "system"
        assert audited("consent.expired", consent).count() == 1

    @pytest.mark.requirement("C4")
    def test_reaffirm_extends_the_validity(self, shopper, notice):
        consent = give(shopper, notice)
        Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() + timedelta(days=3))
        consent_reaffirm(consent=consent, notice_version=notice, channel="app")

        consent.refresh_from_db()
        assert consent.expires_at > timezone.now() + timedelta(days=364)
        assert consent.reaffirmed_at is not None
        assert kinds(consent) == ["given", "reaffirmed"]
        assert audited("consent.reaffirmed", consent).count() == 1

    def test_an_expired_consent_cannot_be_reaffirmed(self, shopper, notice):
        consent = give(shopper, notice)
        Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        error = refused_with(
            "consent_not_active", lambda: consent_reaffirm(consent=consent, notice_version=notice, channel="app")
        )
        assert error.extra == {"status": "expired"}

    def test_giving_again_after_unrecorded_expiry_records_it(self, shopper, notice):
        old = give(shopper, notice)
        Consent.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        new = give(shopper, notice)
        old.refresh_from_db()
        assert old.status == "expired" and new.status == "active"

    @pytest.mark.requirement("C3")
    def test_reaffirm_on_a_non_material_new_version_moves_to_it(self, shopper, operator, notice):
        consent = give(shopper, notice)
        Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() + timedelta(days=3))
        newer = published_notice(operator, material=False)
        consent_reaffirm(consent=consent, notice_version=newer, channel="app")
        consent.refresh_from_db()
        assert consent.notice_version == newer


@pytest.mark.requirement("C3")
class TestNoticeVersions:
    @pytest.mark.requirement("C4")
    def test_a_material_new_version_invalidates_and_asks_again(self, shopper, operator, notice):
        consent = give(shopper, notice)
        other_purpose = give(shopper, published_notice(operator, "store_analytics"))

        newer = published_notice(operator, material=True)

        consent.refresh_from_db()
        other_purpose.refresh_from_db()
        assert consent.status == "invalidated" and other_purpose.status == "active"
        invalidated = consent.events.get(kind="invalidated")
        assert invalidated.notice_version == newer
        assert audited("consent.invalidated", consent).count() == 1
        choice = next(c for c in consent_choices_for_shopper(shopper=shopper) if c.purpose == "face_entry")
        assert choice.needs_answer and choice.notice_version == newer
        # The shopper answers the new version.
        assert give(shopper, newer).status == "active"

    def test_a_non_material_new_version_keeps_old_consents_working(self, shopper, operator, notice):
        consent = give(shopper, notice)
        newer = published_notice(operator, material=False)
        consent.refresh_from_db()
        assert consent.status == "active" and consent.notice_version == notice
        choice = next(c for c in consent_choices_for_shopper(shopper=shopper) if c.purpose == "face_entry")
        assert not choice.needs_answer and choice.on_older_notice and choice.notice_version == newer

    def test_published_versions_are_immutable(self, notice):
        error = refused_with(
            "notice_version_immutable",
            lambda: notice_version_update_draft(actor=Actor.system(), version=notice, title_en="Changed"),
        )
        assert error.status == 409
        notice.refresh_from_db()
        assert notice.title_en == NOTICE_TEXTS["title_en"]
        refused_with("notice_version_immutable", lambda: notice_version_publish(actor=Actor.system(), version=notice))

    def test_drafts_can_be_edited_and_versions_count_up(self, operator, notice):
        draft = notice_version_create_draft(
            actor=Actor.system(), operator=operator, purpose="face_entry", **NOTICE_TEXTS
        )
        assert draft.version == 2
        notice_version_update_draft(actor=Actor.system(), version=draft, title_en="Better title")
        draft.refresh_from_db()
        assert draft.title_en == "Better title" and draft.status == NoticeVersion.Status.DRAFT
        refused_with(
            "notice_draft_exists",
            lambda: notice_version_create_draft(
                actor=Actor.system(), operator=operator, purpose="face_entry", **NOTICE_TEXTS
            ),
        )

    def test_a_draft_missing_its_chinese_text_is_refused(self, operator):
        texts = {**NOTICE_TEXTS, "purpose_zh_hans": ""}
        with pytest.raises(ValidationError) as raised:
            notice_version_create_draft(actor=Actor.system(), operator=operator, purpose="face_entry", **texts)
        assert raised.value.message_dict == {"purpose_zh_hans": ["This field cannot be blank."]}
        assert not NoticeVersion.objects.filter(notice__operator=operator).exists()


@pytest.mark.requirement("S3")
def test_every_change_above_keeps_the_audit_chain_intact(shopper, notice):
    consent = give(shopper, notice)
    Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() + timedelta(days=3))
    consent_reaffirm(consent=consent, notice_version=notice, channel="app")
    consent_withdraw(consent=consent, channel="app")
    assert audit_chain_verify().intact
    assert ConsentEvent.objects.filter(shopper=shopper).count() == 3


@pytest.mark.requirement("C7")
def test_expiry_runs_on_schedule_as_a_task(shopper, notice):
    from consent.tasks import consent_expire_due_task
    from portal.celery import app

    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "consent.expire_due" in schedule
    assert "consent.expire_due" in app.tasks
    consent = give(shopper, notice)
    Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert consent_expire_due_task.delay().get() == 1
    consent.refresh_from_db()
    assert consent.status == "expired"
