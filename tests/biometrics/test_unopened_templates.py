"""A template that does not open (altered in the database, or sealed under a key no longer configured) is left
out of matching and logged by row id: one bad row makes one shopper a stranger, never every door unavailable.
When none opens, the keys are wrong: that raises, so doors answer 503 rather than call everyone a stranger."""

from __future__ import annotations

import logging

import pytest

from biometrics.models import FaceTemplate
from biometrics.protection import TemplateDecryptionError
from biometrics.services import template_encodings_by_shopper
from tests.consent.test_withdrawal import held_template
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("E3", "M2")]


def test_one_altered_template_is_left_out_and_logged(caplog):
    good, altered = UserFactory(), UserFactory()
    held_template(good)
    held_template(altered)
    row = FaceTemplate.objects.get(shopper=altered)
    FaceTemplate.objects.filter(pk=row.pk).update(ciphertext=bytes(row.ciphertext)[:-1] + b"\x00")

    with caplog.at_level(logging.ERROR, logger="biometrics.services"):
        opened = template_encodings_by_shopper()

    assert set(opened) == {good.pk}
    assert f"rows [{row.pk}]" in caplog.text


def test_when_none_opens_the_keys_are_wrong_and_it_raises(settings):
    held_template(UserFactory())
    settings.TEMPLATE_KEYS = "other:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    settings.TEMPLATE_ACTIVE_KEY_ID = "other"
    FaceTemplate.objects.update(key_id="other")
    with pytest.raises(TemplateDecryptionError):
        template_encodings_by_shopper()
