"""The shopper's lists cost the same number of queries whether there is one operator or twenty."""

import pytest

from consent.services import consent_give, consent_refuse
from tests.factories import OperatorFactory, published_notice

pytestmark = pytest.mark.django_db

PURPOSES = ("face_entry", "store_analytics", "personalised_offers")


def operators_with_answers(shopper, count: int) -> None:
    """`count` operators, each with every notice published (face_entry twice, so an older version
    exists), the shopper's yes to face recognition and no to analytics."""
    for _ in range(count):
        operator = OperatorFactory()
        versions = {purpose: published_notice(operator, purpose) for purpose in PURPOSES}
        versions["face_entry"] = published_notice(operator, "face_entry", material=False)
        consent_give(
            shopper=shopper,
            operator=operator,
            purpose="face_entry",
            notice_version=versions["face_entry"],
            channel="web",
        )
        consent_refuse(
            shopper=shopper,
            operator=operator,
            purpose="store_analytics",
            notice_version=versions["store_analytics"],
            channel="web",
        )


@pytest.mark.parametrize("operators", [1, 20])
def test_the_consents_page(client, shopper, django_assert_num_queries, operators):
    operators_with_answers(shopper, operators)
    client.force_login(shopper)
    # The session, the user, the choices (2), whether withdrawing would delete the face template (2:
    # the templates, the face consents), the consents, the history and the navigation's unread count.
    with django_assert_num_queries(9):
        response = client.get("/consents/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-purpose="face_entry"') == operators
    assert html.count('data-purpose="personalised_offers"') == operators


@pytest.mark.parametrize("operators", [1, 20])
def test_the_consents_api_list(api_client, shopper, token_for, django_assert_num_queries, operators):
    operators_with_answers(shopper, operators)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(shopper)}")
    with django_assert_num_queries(3):
        response = api_client.get("/api/v1/consents")
    assert response.json()["count"] == operators


@pytest.mark.parametrize("operators", [1, 20])
def test_the_consent_events_api_list(api_client, shopper, token_for, django_assert_num_queries, operators):
    operators_with_answers(shopper, operators)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(shopper)}")
    with django_assert_num_queries(3):
        response = api_client.get("/api/v1/consent-events")
    assert response.json()["count"] == 2 * operators


@pytest.mark.parametrize("operators", [1, 20])
def test_the_operator_list(api_client, shopper, django_assert_num_queries, operators):
    operators_with_answers(shopper, operators)
    with django_assert_num_queries(2):
        response = api_client.get("/api/v1/operators")
    assert response.json()["count"] == operators
