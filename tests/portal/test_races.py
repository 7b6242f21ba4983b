"""Two requests at once that only one may win: the loser gets its 4xx code, never a 500.

Each test sends both requests from two threads (two database connections) and holds both at a
barrier after the service's own "already there?" check, so on PostgreSQL both pass it and the
database's unique constraint decides. On SQLite a writing transaction holds the database's write
lock from its start (IMMEDIATE), so the second request cannot reach the barrier until the first has
committed: the barrier gives up after a moment and the second finds the first's row the ordinary
way. The answer must be the same either way.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import pytest
from django.db import connections
from django.test import Client
from rest_framework.test import APIClient

from consent.models import Consent, ConsentEvent
from consent.services import consents as consent_services
from portal import services as account_services
from portal.models import User
from tests.conftest import assert_error
from tests.factories import DEFAULT_PASSWORD, OperatorFactory, UserFactory, published_notice

# Long enough for two threads to meet on PostgreSQL; on SQLite the second thread never arrives.
BARRIER_TIMEOUT = 2.0


def hold_both_after(monkeypatch, owner, name: str) -> None:
    """Make `owner.name` wait for the other request before going on (at most BARRIER_TIMEOUT)."""
    barrier = threading.Barrier(2)
    original = getattr(owner, name)

    def wait_then_call(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=BARRIER_TIMEOUT)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wait_then_call)


def at_once(request: Callable[[], object]) -> list:
    """Run `request` in two threads at once; each thread's answer (or what it raised)."""
    answers: list = [None, None]

    def run(index: int) -> None:
        try:
            answers[index] = request()
        except Exception as error:  # a 500 would surface here: the test client re-raises
            answers[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


REGISTRATION = {
    "email": "same@example.com",
    "password": "a long enough passphrase",
    "display_name": "Same Person",
    "date_of_birth": "1990-05-06",
    "language": "en",
}


@pytest.mark.django_db(transaction=True)
def test_two_api_sign_ups_with_one_email_make_one_account(monkeypatch):
    hold_both_after(monkeypatch, account_services, "_validate_date_of_birth")
    answers = at_once(lambda: APIClient().post("/api/v1/auth/register", REGISTRATION, format="json"))
    assert all(not isinstance(answer, Exception) for answer in answers), answers
    assert sorted(answer.status_code for answer in answers) == [201, 409]
    loser = next(answer for answer in answers if answer.status_code == 409)
    error = assert_error(loser, 409, "email_taken", "An account with this email already exists.")
    assert [field["message"] for field in error["fields"]["email"]] == ["An account with this email already exists."]
    assert User.objects.filter(email="same@example.com").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_web_sign_ups_with_one_email_make_one_account(monkeypatch):
    hold_both_after(monkeypatch, account_services, "_validate_date_of_birth")
    answers = at_once(lambda: Client().post("/signup/", REGISTRATION))
    assert all(not isinstance(answer, Exception) for answer in answers), answers
    assert sorted(answer.status_code for answer in answers) == [302, 400]
    loser = next(answer for answer in answers if answer.status_code == 400)
    assert "An account with this email already exists." in loser.content.decode()
    assert User.objects.filter(email="same@example.com").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_consents_to_one_purpose_at_once_make_one(monkeypatch):
    shopper = UserFactory()
    operator = OperatorFactory()
    notice = published_notice(operator)
    hold_both_after(monkeypatch, consent_services, "_check_shopper")

    def give():
        client = APIClient()
        login = client.post("/api/v1/auth/login", {"email": shopper.email, "password": DEFAULT_PASSWORD}, format="json")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['token']}")
        body = {"operator": operator.slug, "purpose": "face_entry", "notice_version": notice.pk}
        return client.post("/api/v1/consents", body, format="json")

    answers = at_once(give)
    assert all(not isinstance(answer, Exception) for answer in answers), answers
    assert sorted(answer.status_code for answer in answers) == [201, 409]
    loser = next(answer for answer in answers if answer.status_code == 409)
    assert_error(loser, 409, "consent_already_active", "You have already given this consent.")
    assert Consent.objects.filter(shopper=shopper, status="active").count() == 1
    assert ConsentEvent.objects.filter(shopper=shopper, kind="given").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["operator", "store"])
def test_two_operators_or_stores_with_one_slug_make_one(monkeypatch, kind):
    """Staff adding the same operator (or store) twice at once: one is made, the other is told
    `slug_taken` (the admin shows it as a message), never a 500."""
    from core.audit import Actor
    from core.errors import Conflict
    from stores import services as store_services
    from stores.models import Operator, Store

    operator = OperatorFactory(slug="first") if kind == "store" else None
    hold_both_after(monkeypatch, Store if kind == "store" else Operator, "full_clean")

    def create():
        try:
            if kind == "store":
                return store_services.store_create(actor=Actor.system(), operator=operator, name="Door", slug="door")
            return store_services.operator_create(
                actor=Actor.system(),
                name="Same Mart",
                slug="same-mart",
                contact_email="c@example.com",
                privacy_officer_name="P",
                privacy_officer_email="p@example.com",
            )
        except Conflict as refusal:
            return refusal

    answers = at_once(create)
    refusals = [answer for answer in answers if isinstance(answer, Conflict)]
    assert len(refusals) == 1, answers
    assert refusals[0].code == "slug_taken"
    made = Store.objects.filter(slug="door") if kind == "store" else Operator.objects.filter(slug="same-mart")
    assert made.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_showings_of_one_notice_at_once_make_one_event(monkeypatch):
    shopper = UserFactory()
    notice = published_notice(OperatorFactory())
    hold_both_after(monkeypatch, consent_services, "shopper_lock")

    def show():
        client = APIClient()
        client.force_authenticate(shopper)
        return client.post(f"/api/v1/notices/{notice.pk}/shown")

    answers = at_once(show)
    assert all(not isinstance(answer, Exception) for answer in answers), answers
    assert sorted(answer.status_code for answer in answers) == [200, 201]
    assert ConsentEvent.objects.filter(kind="notice_shown").count() == 1
