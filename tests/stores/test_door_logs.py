"""S3: what Django and our code log during door matches holds no photo bytes and no encodings.

Every logger is captured at DEBUG (django.request included, which the settings keep at ERROR, and every
SQL statement with its parameters), while the door matches every probe form, refuses bad ones, and a match
worker fails; then every record is scanned as it would be written, arguments and traceback included."""

import logging
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from biometrics import engine
from consent.services import entry_pass_issue
from tests.biometrics.leaks import leaks
from tests.biometrics.photos import astronaut_jpeg
from tests.stores.conftest import other_astronaut_photo
from tests.stores.device import match_encoding, match_photo, match_photo_body, signed_post

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("E2", "S3")]


def written(records: list[logging.LogRecord]) -> bytes:
    """Each record as a handler would write it, and its raw arguments besides."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    lines = []
    for record in records:
        sql, params = getattr(record, "sql", ""), getattr(record, "params", "")
        lines.append(f"{formatter.format(record)}\n{record.args!r}\n{sql}\n{params!r}".encode())
    return b"\n".join(lines)


def test_the_logs_of_door_matches_hold_no_photo_and_no_encoding(client, door, astronaut, caplog):
    device, secret = door
    photo = other_astronaut_photo()
    encoding = engine.probe_encoding(photo)
    frames = {"encodings": [encoding.tolist(), encoding.tolist()]}
    token = entry_pass_issue(shopper=astronaut, channel="app").token
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.request")
    caplog.set_level(logging.DEBUG, logger="django.db.backends")

    with CaptureQueriesContext(connection) as queries:
        answers = [
            match_photo(client, device, secret, photo),
            match_photo_body(client, device, secret, photo, content_type="image/png"),
            match_photo(client, device, secret, photo, entry_pass=token),
            match_encoding(client, device, secret, encoding.tolist()),
            signed_post(client, device, secret, "/api/v1/device/match", frames),
            match_encoding(client, device, secret, [*encoding.tolist(), 0.25]),
            match_photo(client, device, secret, photo[:900]),
        ]
        # A match worker that breaks on a probe: the door answers 503 and the worker logs the fault.
        with mock.patch("stores.door.matching.match_probe", side_effect=RuntimeError("the index broke")):
            answers.append(match_encoding(client, device, secret, encoding.tolist()))

    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 200, 400, 400, 503]
    assert [answer.json().get("result") for answer in answers[:5]] == ["match"] * 5
    assert any(record.name == "django.db.backends" for record in caplog.records)  # SQL was captured
    assert any(record.name == "django.request" for record in caplog.records)  # so were the refusals
    assert any(record.exc_info for record in caplog.records)  # and the worker's traceback
    captured = written(caplog.records)
    statements = "\n".join(f"{query['sql']}" for query in queries.captured_queries).encode()
    assert leaks(photo, encoding, extra=[("captured log", captured), ("SQL", statements)]) == []
    # The first enrollment photo, too: the door never had it, and no log has it.
    assert leaks(astronaut_jpeg(), encoding, extra=[("captured log", captured)]) == []
