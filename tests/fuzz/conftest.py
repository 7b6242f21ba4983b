"""The fuzz run's world and tally: who calls, what exists, and the summary printed at the end."""

from __future__ import annotations

import os

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from tests.factories import OperatorFactory, UserFactory, face_consent, live_store, published_notice, registered_device
from tests.fuzz.harness import HANDLER, SHOPPER, TALLY, login

# Fewer requests than this prove too little: the run fails.
MIN_REQUESTS = int(os.environ.get("FUZZ_MIN_REQUESTS", "2000"))


@pytest.fixture
def _one_connection():
    """Keep the test's transaction open across requests, as Django's own test client does: a WSGI
    handler otherwise closes the database connection when each request starts and finishes."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(db, settings, _one_connection):
    """An operator with published notices, a live 1:N store with an entrance device, and a verified
    shopper with face_entry consent, logged in through the API."""
    # Werkzeug's client calls the application as http://localhost; a deployment's settings name
    # their own host only, and would redirect plain HTTP to HTTPS.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    settings.SECURE_SSL_REDIRECT = False
    operator = OperatorFactory()
    for purpose in ("face_entry", "store_analytics", "personalised_offers"):
        published_notice(operator, purpose)
    store = live_store(operator)
    device, secret = registered_device(store)
    HANDLER.device_id, HANDLER.device_secret = device.device_id, secret
    shopper = UserFactory()
    face_consent(shopper, operator)
    TALLY.identity = SHOPPER
    return {"operator": operator, "store": store, "device": device, "shopper": shopper, "token": login(shopper)}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """After pytest's own summary, so that the fuzz summary line is the last before the counts."""
    result = yield
    if TALLY.total_requests and not config.option.collectonly:
        terminalreporter.section("fuzz")
        for line in TALLY.detail_lines():
            terminalreporter.write_line(line)
        if too_few_requests(config):
            terminalreporter.write_line(f"fuzz: FAILED: {TALLY.total_requests} requests, fewer than {MIN_REQUESTS}")
        terminalreporter.write_line(TALLY.summary_line())
    return result


def too_few_requests(config) -> bool:
    """The minimum holds for the whole run; a run narrowed with -k or to one test is for debugging, and one
    that only collects (`make requirements`) sends nothing but the schema's own request."""
    narrowed = config.option.keyword or any("::" in argument for argument in config.args)
    return not narrowed and not config.option.collectonly and TALLY.total_requests < MIN_REQUESTS


def pytest_sessionfinish(session, exitstatus):
    """Fail the run on any 5xx, violation or check failure, even one no test raised (a 5xx answered
    to a check's own probe), and on too few requests."""
    if TALLY.total_requests and exitstatus == 0 and (TALLY.failed or too_few_requests(session.config)):
        session.exitstatus = 1
