"""Fixtures for the biometrics tests."""

import pytest

from tests.factories import face_consent


@pytest.fixture
def consenting(shopper):
    """A shopper with face recognition consent to one operator: free to enroll."""
    face_consent(shopper)
    return shopper
