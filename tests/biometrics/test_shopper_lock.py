"""The shopper row is the one lock that orders a shopper's face changes: starting an enrollment and
ending the last face consent both wait for it (the enrollment worker takes it before storing templates)."""

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from biometrics.services import enrollment_start
from biometrics.shoppers import shopper_lock
from consent.services import consent_withdraw
from tests.factories import UserFactory, face_consent


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite locks the file")
@pytest.mark.django_db(transaction=True)
def test_face_changes_wait_for_the_shopper_lock_of_their_own_shopper_only():
    held, free = UserFactory(), UserFactory()
    held_consent, free_consent = face_consent(held), face_consent(free)
    locked, release, failures = threading.Event(), threading.Event(), []

    def hold() -> None:
        try:
            with transaction.atomic():
                assert shopper_lock(shopper_id=held.pk).pk == held.pk
                locked.set()
                release.wait(10)
        except Exception as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            connections.close_all()

    def waited_out(change) -> None:
        # Refused instead of queued when another transaction holds what the change locks.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
            change()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        with pytest.raises(DatabaseError):
            waited_out(lambda: consent_withdraw(consent=held_consent, channel="app"))
        with pytest.raises(DatabaseError):
            waited_out(lambda: enrollment_start(shopper=held, photos=[b"a photo"], channel="app"))
        waited_out(lambda: consent_withdraw(consent=free_consent, channel="app"))
    finally:
        release.set()
        holder.join(10)
    assert failures == []
