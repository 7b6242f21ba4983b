"""The match worker's indexes: kept current by their own thread, so a match only searches memory."""

import itertools
import time
from unittest import mock

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from biometrics.services import enrollment_start
from consent.services import consent_withdraw
from stores.door.matching import OperatorIndexes
from stores.tasks import _consumes_match_queue
from tests.biometrics.photos import astronaut_jpeg
from tests.factories import OperatorFactory, UserFactory, face_consent


def wait_until(condition, timeout: float = 10.0) -> None:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "not within the time allowed"
        time.sleep(0.02)


@pytest.mark.requirement("M2")
@pytest.mark.django_db(transaction=True)
def test_the_keeper_brings_changes_in_without_any_match_asking(settings):
    settings.MATCH_INDEX_POLL_SECONDS = 0.05
    indexes, operator, shopper = OperatorIndexes(), OperatorFactory(), UserFactory()
    consent = face_consent(shopper, operator)
    indexes.keep_fresh()
    try:
        wait_until(lambda: indexes.built_in is not None)
        assert indexes.index_for(operator.pk) is None
        enrollment_start(shopper=shopper, photos=[astronaut_jpeg()], channel="app")
        wait_until(lambda: indexes.index_for(operator.pk) is not None and shopper.pk in indexes.index_for(operator.pk))
        consent_withdraw(consent=consent, channel="app")
        wait_until(lambda: shopper.pk not in indexes.index_for(operator.pk))
        # While the keeper looks, a match reads nothing from the database.
        with CaptureQueriesContext(connection) as captured:
            indexes.refresh_unless_kept()
        assert captured.captured_queries == []
    finally:
        indexes.stop_keeping()
    assert not indexes._keeper.is_alive()


@pytest.mark.django_db
def test_without_a_keeper_each_match_reads_the_changes_first(settings):
    indexes = OperatorIndexes()
    indexes.refresh()
    with CaptureQueriesContext(connection) as captured:
        indexes.refresh_unless_kept()
    assert len(captured.captured_queries) == 1 and "matchindexchange" in captured.captured_queries[0]["sql"]


@pytest.mark.django_db
def test_a_worker_that_has_not_looked_for_half_the_notes_life_rebuilds_instead_of_reading_notes(settings):
    """The daily retention job deletes index notes older than MATCH_INDEX_NOTES_KEPT_HOURS: a worker that
    stalled for half of that may have missed some, so it reads the templates afresh."""
    indexes = OperatorIndexes()
    indexes.refresh()
    with mock.patch.object(indexes, "build") as build:
        indexes.refresh()
        build.assert_not_called()
        indexes._refreshed_at -= settings.MATCH_INDEX_NOTES_KEPT_HOURS * 3600 / 2 + 1
        indexes.refresh()
        build.assert_called_once()


@pytest.mark.parametrize(
    "consume_from, holds_indexes",
    [(None, True), ({"match": "q"}, True), ({"match": "q", "default": "q"}, True), ({"enroll": "q"}, False)],
)
def test_only_workers_of_the_match_queue_hold_templates(consume_from, holds_indexes):
    app = mock.Mock()
    app.amqp.queues.consume_from = consume_from
    assert _consumes_match_queue(app) is holds_indexes


@pytest.mark.django_db(transaction=True)
def test_the_keeper_outlives_a_database_outage(settings, caplog):
    from django.db import OperationalError

    settings.MATCH_INDEX_POLL_SECONDS = 0.01
    looks: list[float] = []

    class AwayThenBack(OperatorIndexes):
        def refresh(self) -> None:
            looks.append(time.monotonic())
            if len(looks) <= 3:
                raise OperationalError("the database is away")
            super().refresh()

    indexes = AwayThenBack()
    indexes.keep_fresh()
    try:
        wait_until(lambda: indexes.built_in is not None)
    finally:
        indexes.stop_keeping()
    gaps = [later - earlier for earlier, later in itertools.pairwise(looks[:4])]
    assert gaps == sorted(gaps) and gaps[-1] >= 0.07  # it backs off: 0.02 s, 0.04 s, 0.08 s
    assert caplog.text.count("Refreshing the match indexes failed") == 1


@pytest.mark.django_db
def test_the_index_is_built_from_more_shoppers_than_one_statement_can_name():
    """PostgreSQL takes at most 65,535 parameters per statement; a gallery is read in batches."""
    from biometrics.keys import key_ring
    from biometrics.models import FaceTemplate
    from biometrics.services import template_encodings_by_shopper

    rng = np.random.default_rng(3)
    shoppers = [UserFactory() for _ in range(3)]
    encodings = {}
    for shopper in shoppers:
        encodings[shopper.pk] = rng.normal(0, 0.1, 128)
        sealed = key_ring().seal(encodings[shopper.pk], owner=str(shopper.public_id))
        FaceTemplate.objects.create(
            shopper=shopper, key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext
        )
    asked = [shopper.pk for shopper in shoppers] + list(range(10**6, 10**6 + 70_000))
    opened = template_encodings_by_shopper(shopper_ids=asked)
    assert opened.keys() == encodings.keys()
    for shopper_id, encoding in encodings.items():
        np.testing.assert_allclose(opened[shopper_id][0], encoding, atol=1e-6)
