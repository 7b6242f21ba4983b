"""C2: `personalised_offers` does something a shopper and a store can see (decision 0034). A purchase may be
used to choose offers only while the shopper's consent to that operator, given before the purchase, is
active: the device's answer says so for each purchase it reports, and the shopper's footprint shows it on
every purchase; a withdrawal ends it for all of them before its call returns."""

from datetime import timedelta
from unittest import mock

import pytest

from consent.services import consent_withdraw
from tests.factories import OperatorFactory, consent_to, live_store, registered_device
from tests.stores.test_device_events import purchase, send, visit_by_pass

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("C2")]


@pytest.fixture
def shop():
    store = live_store()
    return store, *registered_device(store)


def offers_consent(shopper, operator, *, at):
    with mock.patch("django.utils.timezone.now", return_value=at):
        return consent_to(shopper, operator, "personalised_offers")


def footprint_purchases(api_client, shopper) -> dict[str, bool]:
    api_client.force_authenticate(shopper)
    visits = api_client.get("/api/v1/me/footprint").json()["results"]
    return {
        str(event["total"]): event["for_offers"]
        for visit in visits
        for event in visit["events"]
        if event["kind"] == "purchase"
    }


def test_without_the_consent_no_purchase_is_for_offers(client, api_client, shop):
    store, device, secret = shop
    visit = visit_by_pass(client, store, device, secret)
    consent_to(visit.shopper, store.operator, "store_analytics")  # another purpose: no bearing on offers

    answer = send(client, device, secret, purchase(visit))

    assert answer.json()["results"] == [{"event_id": "p1", "status": "stored", "for_offers": False}]
    assert footprint_purchases(api_client, visit.shopper) == {"7.50": False}


def test_with_the_consent_a_purchase_after_it_is_for_offers_and_one_before_it_is_not(client, api_client, shop):
    store, device, secret = shop
    visit = visit_by_pass(client, store, device, secret)  # entered an hour ago
    offers_consent(visit.shopper, store.operator, at=visit.entered_at + timedelta(minutes=10))
    before = purchase(visit, "p-before", total="7.50", minutes=5)
    after = purchase(visit, "p-after", total="7.50", minutes=20)
    after["total"], after["items"][0]["quantity"] = "10.50", 3

    answer = send(client, device, secret, before, after)

    assert [(r["event_id"], r["for_offers"]) for r in answer.json()["results"]] == [
        ("p-before", False),
        ("p-after", True),
    ]
    assert footprint_purchases(api_client, visit.shopper) == {"7.50": False, "10.50": True}


def test_a_withdrawal_ends_it_for_every_purchase_before_it_returns(client, api_client, shop):
    store, device, secret = shop
    visit = visit_by_pass(client, store, device, secret)
    consent = offers_consent(visit.shopper, store.operator, at=visit.entered_at)
    send(client, device, secret, purchase(visit, minutes=5))
    assert footprint_purchases(api_client, visit.shopper) == {"7.50": True}

    consent_withdraw(consent=consent, channel="app")

    assert footprint_purchases(api_client, visit.shopper) == {"7.50": False}
    # The till asks again by sending the purchase again: nothing stored twice, today's answer.
    again = send(client, device, secret, purchase(visit, minutes=5))
    assert again.json()["results"] == [{"event_id": "p1", "status": "already_stored", "for_offers": False}]
    later = send(client, device, secret, purchase(visit, "p2", minutes=30))
    assert later.json()["results"] == [{"event_id": "p2", "status": "stored", "for_offers": False}]


def test_another_operators_consent_does_not_count(client, api_client, shop):
    store, device, secret = shop
    visit = visit_by_pass(client, store, device, secret)
    offers_consent(visit.shopper, OperatorFactory(), at=visit.entered_at)

    answer = send(client, device, secret, purchase(visit))
    assert answer.json()["results"][0]["for_offers"] is False


def test_the_footprint_page_says_it_on_each_purchase(client, shop):
    store, device, secret = shop
    visit = visit_by_pass(client, store, device, secret)
    offers_consent(visit.shopper, store.operator, at=visit.entered_at)
    send(client, device, secret, purchase(visit, minutes=5))

    client.force_login(visit.shopper)
    html = client.get("/footprint/").content.decode()

    assert 'data-for-offers="true"' in html
    assert "The store may use this purchase to choose offers for you" in html
