"""A consent still marked active past its expiry counts as expired everywhere, before the scheduled
expiry records it: the consent API, its filters, its receipt and the selectors."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import Consent
from consent.selectors import consent_is_active, consent_status_at
from consent.services import consent_expire_due
from tests.factories import UserFactory, face_consent

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("C7")]


@pytest.fixture
def lapsed(shopper):
    """A face consent whose validity ran out a second ago, not yet recorded as expired."""
    consent = face_consent(shopper)
    Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    consent.refresh_from_db()
    assert consent.status == "active"
    return consent


def test_the_api_shows_and_filters_it_as_expired(api_client, shopper, lapsed):
    api_client.force_authenticate(shopper)
    detail = api_client.get(f"/api/v1/consents/{lapsed.public_id}").json()
    assert detail["status"] == "expired"
    expired = api_client.get("/api/v1/consents?status=expired").json()["results"]
    assert [consent["id"] for consent in expired] == [str(lapsed.public_id)]
    assert api_client.get("/api/v1/consents?status=active").json()["results"] == []


def test_its_receipt_says_expired_before_and_after_expiry_is_recorded(api_client, shopper, lapsed):
    api_client.force_authenticate(shopper)
    receipt = api_client.get(f"/api/v1/consents/{lapsed.public_id}/receipt").json()
    assert receipt["consent"]["status"] == "expired"
    assert consent_expire_due() == 1
    recorded = api_client.get(f"/api/v1/consents/{lapsed.public_id}/receipt").json()
    assert recorded["consent"]["status"] == "expired"
    assert recorded["receipt_id"] != receipt["receipt_id"]  # the history gained its `expired` event


def test_one_rule_for_a_consent_in_hand_and_in_queries(shopper, lapsed):
    now = timezone.now()
    assert consent_status_at(lapsed, now=now) == "expired"
    assert consent_status_at(lapsed, now=lapsed.expires_at - timedelta(seconds=1)) == "active"
    assert not consent_is_active(shopper=shopper, operator=lapsed.operator, purpose=lapsed.purpose)
    fresh = face_consent(UserFactory(), lapsed.operator)
    assert consent_status_at(fresh) == "active"
