"""One age rule for every purpose the operator's law treats as sensitive for a minor (PIPL 28, 31):
under the minimum age, no consent to it (docs/decisions/0021-one-age-rule.md)."""

from datetime import date

import pytest
from django.utils import timezone

from consent.models import Consent
from consent.services import consent_give, consents_end_below_minimum_age
from core.audit import Actor
from core.errors import DomainError
from tests.conftest import assert_error
from tests.factories import OperatorFactory, UserFactory, published_notice

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("C8")]

PURPOSES = ["face_entry", "store_analytics", "personalised_offers"]


def aged(years: int):
    today = timezone.localdate()
    return UserFactory(date_of_birth=date(today.year - years, 1, 1))  # a birthday already had this year


def give(shopper, operator, purpose):
    version = published_notice(operator, purpose)
    return consent_give(shopper=shopper, operator=operator, purpose=purpose, notice_version=version, channel="app")


@pytest.fixture
def chinese_operator():
    return OperatorFactory(slug="fresh-mart", name="Fresh Mart", jurisdiction="CN")


@pytest.fixture
def other_law_operator():
    return OperatorFactory(slug="corner-shop", name="Corner Shop", jurisdiction="US")


@pytest.mark.parametrize("purpose", PURPOSES)
def test_under_chinese_law_an_eleven_year_old_cannot_consent_to_any_purpose(chinese_operator, purpose):
    with pytest.raises(DomainError) as raised:
        give(aged(11), chinese_operator, purpose)
    assert (raised.value.code, raised.value.status) == ("under_minimum_age", 403)
    assert "14" in raised.value.message
    assert not Consent.objects.exists()


@pytest.mark.parametrize("purpose", PURPOSES)
def test_at_the_minimum_age_every_purpose_is_open(chinese_operator, purpose):
    assert give(aged(14), chinese_operator, purpose).status == "active"


@pytest.mark.parametrize("purpose", PURPOSES)
def test_without_a_date_of_birth_the_rule_refuses(chinese_operator, purpose):
    with pytest.raises(DomainError) as raised:
        give(UserFactory(date_of_birth=None), chinese_operator, purpose)
    assert raised.value.code == "under_minimum_age"


def test_elsewhere_the_face_still_needs_the_age_and_other_purposes_do_not(other_law_operator):
    child = aged(11)
    with pytest.raises(DomainError) as raised:
        give(child, other_law_operator, "face_entry")
    assert raised.value.code == "under_minimum_age"
    assert give(child, other_law_operator, "store_analytics").status == "active"
    assert give(child, other_law_operator, "personalised_offers").status == "active"


@pytest.mark.parametrize("purpose", PURPOSES)
def test_the_age_is_one_setting_for_every_purpose(chinese_operator, purpose, settings):
    settings.MINIMUM_AGE = 18
    with pytest.raises(DomainError) as raised:
        give(aged(16), chinese_operator, purpose)
    assert raised.value.code == "under_minimum_age" and "18" in raised.value.message


@pytest.mark.parametrize("purpose", PURPOSES)
def test_the_api_answers_403_under_minimum_age(api_client, chinese_operator, purpose):
    version = published_notice(chinese_operator, purpose)
    api_client.force_authenticate(aged(11))
    response = api_client.post(
        "/api/v1/consents",
        {"operator": "fresh-mart", "purpose": purpose, "notice_version": version.pk},
        format="json",
    )
    assert_error(response, 403, "under_minimum_age")


def test_the_page_says_why_instead_of_asking(client, chinese_operator):
    for purpose in PURPOSES:
        published_notice(chinese_operator, purpose)
    client.force_login(aged(11))
    html = client.get("/consents/").content.decode()
    assert html.count("From the age of 14") == 3
    assert "/consents/fresh-mart/store_analytics/decide/" not in html
    response = client.post(
        "/consents/fresh-mart/store_analytics/decide/",
        {
            "notice_version": chinese_operator.notices.get(purpose="store_analytics").versions.get().pk,
            "decision": "give",
        },
    )
    assert response.status_code == 400
    assert not Consent.objects.exists()


def test_a_corrected_birth_date_ends_every_sensitive_consent(chinese_operator, other_law_operator):
    shopper = aged(30)
    given = {
        (operator.slug, purpose): give(shopper, operator, purpose)
        for operator in (chinese_operator, other_law_operator)
        for purpose in PURPOSES
    }
    type(shopper).objects.filter(pk=shopper.pk).update(date_of_birth=timezone.localdate())
    shopper.refresh_from_db()
    assert consents_end_below_minimum_age(shopper=shopper, actor=Actor.shopper(shopper, "app")) == 4
    statuses = {key: Consent.objects.get(pk=consent.pk).status for key, consent in given.items()}
    assert statuses == {
        ("fresh-mart", "face_entry"): "invalidated",
        ("fresh-mart", "store_analytics"): "invalidated",
        ("fresh-mart", "personalised_offers"): "invalidated",
        ("corner-shop", "face_entry"): "invalidated",
        ("corner-shop", "store_analytics"): "active",
        ("corner-shop", "personalised_offers"): "active",
    }


def test_the_refusal_and_the_page_speak_chinese(client, api_client, chinese_operator):
    child = aged(11)
    child.language = "zh-hans"
    child.save(update_fields=["language"])
    version = published_notice(chinese_operator, "store_analytics")
    client.force_login(child)
    assert "年满 14 周岁可用" in client.get("/consents/").content.decode()
    api_client.force_authenticate(child)
    response = api_client.post(
        "/api/v1/consents",
        {"operator": "fresh-mart", "purpose": "store_analytics", "notice_version": version.pk},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    error = assert_error(response, 403, "under_minimum_age")
    assert error["message"].startswith("年满 14 周岁方可给予此项同意")
