"""The shopper row is the one lock that orders a shopper's face changes: starting an enrollment and
ending the last face consent both wait for it (the enrollment worker takes it before storing templates)."""

import pytest
from django.db import DatabaseError, connection

from biometrics.services import enrollment_start
from biometrics.shoppers import shopper_lock
from consent.services import consent_withdraw
from tests.biometrics.photos import astronaut_jpeg
from tests.factories import UserFactory, face_consent
from tests.locks import held_in_another_transaction, waited_out


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite locks the file")
@pytest.mark.django_db(transaction=True)
def test_face_changes_wait_for_the_shopper_lock_of_their_own_shopper_only():
    held, free = UserFactory(), UserFactory()
    held_consent, free_consent = face_consent(held), face_consent(free)
    with held_in_another_transaction(lambda: shopper_lock(shopper_id=held.pk)):
        with pytest.raises(DatabaseError):
            waited_out(lambda: consent_withdraw(consent=held_consent, channel="app"))
        with pytest.raises(DatabaseError):
            waited_out(lambda: enrollment_start(shopper=held, photos=[astronaut_jpeg()], channel="app"))
        waited_out(lambda: consent_withdraw(consent=free_consent, channel="app"))
