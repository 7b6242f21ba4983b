"""A service the request needs is unreachable (PostgreSQL restarting, Redis stopped): the answer is 503
`service_unavailable` with Retry-After, in the API's error shape or as a page, never a 500 (Part 11's faults;
bench/faults.py shows it against real services)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "outage",
    [
        OperationalError("server closed the connection unexpectedly"),
        InterfaceError("connection already closed"),
        RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
    ],
)
def test_an_outage_is_a_503_with_a_code_in_the_api_and_on_a_page(client, api_client, outage):
    api_client.force_authenticate(UserFactory())
    api_client.raise_request_exception = False
    with mock.patch("portal.privacy.apis.privacy_requests_of", side_effect=outage):
        answer = api_client.get("/api/v1/me/requests")
    assert answer.status_code == 503 and answer["Retry-After"] == "5"
    assert answer.json()["error"]["code"] == "service_unavailable"

    client.raise_request_exception = False
    with mock.patch("portal.views.render", side_effect=outage):
        page = client.get("/")
    assert page.status_code == 503 and b"unavailable for a moment" in page.content


def test_a_bug_is_still_a_500(api_client):
    api_client.force_authenticate(UserFactory())
    api_client.raise_request_exception = False
    with mock.patch("portal.privacy.apis.privacy_requests_of", side_effect=KeyError("a bug")):
        answer = api_client.get("/api/v1/me/requests")
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "server_error"
    assert "Retry-After" not in answer
