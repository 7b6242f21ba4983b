"""Schemathesis against our own OpenAPI schema: every operation, as three identities, and the
shopper's linked operations as stateful scenarios.

Run with `make fuzz`; the default `make test` leaves this folder out (pyproject addopts). The set-up
and what each check means are in docs/decisions/0011-fuzzing-the-api.md.
"""

from __future__ import annotations

import itertools
import os

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.core.parameters import ParameterLocation
from werkzeug.test import Client

from tests.fuzz.harness import ANONYMOUS, DEVICE, HANDLER, SHOPPER, SIGN_ME, TALLY, body_leaf_paths, login

pytestmark = [
    pytest.mark.fuzz,
    # Werkzeug warns when a generated session cookie is larger than browsers keep; sending it is the point.
    pytest.mark.filterwarnings("ignore:The 'sessionid' cookie is too large:UserWarning"),
]

SCHEMA_PATH = "/api/schema/?format=json"
# The budget: generated cases per operation and identity in the fuzzing phase (the examples and
# coverage phases add their own). 12 gives 3,300-4,100 requests for under two minutes of CPU.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "12"))
STATEFUL_SCENARIOS = int(os.environ.get("FUZZ_STATEFUL_SCENARIOS", str(2 * MAX_EXAMPLES)))

# Hostile values mixed into every body field and parameter now and then: digits no float holds,
# NUL, and sizes past every limit we set. (Lone surrogates cannot go in: schemathesis validates
# dictionary entries with a validator that takes UTF-8 only.)
HOSTILE = [
    10**400,
    -(10**400),
    1e308,
    2**63,
    "1" + "0" * 400,
    "\x00",
    "A" * 10_000,
]


def load_schema():
    with override_settings(ALLOWED_HOSTS=["localhost"]):
        response = Client(HANDLER).get(SCHEMA_PATH)
    assert response.status_code == 200, response.get_data()
    raw = response.get_json()
    hostile = {"dictionary": "hostile", "probability": 0.05}
    config = schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "database": "none",
                "dictionaries": {"string": hostile, "integer": hostile, "number": hostile},
            },
            "dictionaries": {"hostile": {"values": HOSTILE}},
            "parameters": {f"body.{path}": hostile for path in body_leaf_paths(raw)},
            "checks": {
                # Our request schemas describe shapes; the rules beyond them (a verification code
                # that is wrong, a password the validators refuse, a photo or an encoding but not
                # both) answer 400 with a stable code, which each such operation documents. A
                # schema-valid request is not one the API must accept, so this check does not apply.
                "positive_data_acceptance": {"enabled": False},
            },
            **({"seed": int(os.environ["FUZZ_SEED"])} if os.environ.get("FUZZ_SEED") else {}),
        }
    )
    # What `schemathesis.openapi.from_wsgi` does, with the config built from the schema it serves.
    loaded = schemathesis.openapi.from_dict(raw, config=config)
    loaded.app = HANDLER
    loaded.location = SCHEMA_PATH
    return loaded


schema = load_schema()
TALLY.seed = schema.config.seed


@schema.hook
def after_validate(context, case, response, results):
    TALLY.record_results(case.operation.label, response.status_code, results)


@schema.hook
def filter_failure(context, failure, case, response):
    """Let through one reading DRF does on purpose: a JSON number sent for a text field is read as
    its text (CharField). Counted and printed; any other accepted schema-violating input fails."""
    if isinstance(failure, AcceptedNegativeData) and number_as_text_only(case):
        TALLY.tolerated[(TALLY.identity, case.operation.label, "number read as text")] += 1
        return False
    if isinstance(failure, AcceptedNegativeData) and event_refused_alone(case, response):
        TALLY.tolerated[(TALLY.identity, case.operation.label, "bad event refused alone (207)")] += 1
        return False
    return True


def event_refused_alone(case, response) -> bool:
    """A device's batch is answered event by event (docs/decisions/0027): an event that breaks the schema is
    refused in the 207 answer while the others are kept, and the batch as a whole is not refused."""
    if case.operation.label != "POST /api/v1/device/events" or response.status_code != 207:
        return False
    results = response.json().get("results", [])
    return any(result.get("status") == "refused" for result in results)


def number_as_text_only(case) -> bool:
    meta = case.meta
    if meta is None or not isinstance(case.body, dict) or not meta.is_negative_at(ParameterLocation.BODY):
        return False
    if any(
        component.mode.is_negative
        for location, component in meta.components.items()
        if location is not ParameterLocation.BODY
    ):
        return False
    body = case.operation.get_body_for_media_type(case.media_type)
    return body is not None and any(body.is_valid(candidate) for candidate in _numbers_read_as_text(case.body))


def _numbers_read_as_text(body: dict):
    """The body with its numbers read as text: all of them, or (a body that mixes text and integer fields,
    like the profile's) those of any set of its top-level fields."""
    yield _numbers_as_text(body)
    numeric = [key for key, value in body.items() if _numbers_as_text(value) != value]
    if len(numeric) > 6:
        return
    for chosen in itertools.chain.from_iterable(
        itertools.combinations(numeric, size) for size in range(1, len(numeric))
    ):
        yield {key: _numbers_as_text(value) if key in chosen else value for key, value in body.items()}


def _numbers_as_text(value):
    if isinstance(value, dict):
        return {key: _numbers_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers_as_text(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    # One database transaction per operation and identity, rolled back after it: what one
    # generated request creates, the next may find (as in production), and no test sees another's.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def identity_headers(identity: str, token: str) -> dict[str, str]:
    if identity == SHOPPER:
        return {"Authorization": f"Bearer {token}"}
    if identity == DEVICE:
        # The handler puts the device's id, the time, a fresh nonce and the signature in their place.
        return {"X-FC-Device": SIGN_ME, "X-FC-Timestamp": SIGN_ME, "X-FC-Nonce": SIGN_ME, "X-FC-Signature": SIGN_ME}
    return {}


def call(case, identity: str, world) -> None:
    TALLY.identity = identity
    case.call_and_validate(headers=identity_headers(identity, world["token"]))


@schema.parametrize()
@FUZZ_SETTINGS
def test_anonymous(case, fuzz_world):
    call(case, ANONYMOUS, fuzz_world)


@schema.parametrize()
@FUZZ_SETTINGS
def test_shopper(case, fuzz_world):
    call(case, SHOPPER, fuzz_world)


@schema.parametrize()
@FUZZ_SETTINGS
def test_device(case, fuzz_world):
    call(case, DEVICE, fuzz_world)


def test_shopper_stateful(fuzz_world):
    """Sequences along the links schemathesis infers from the schema: list operators, read their
    notices, record one shown, give a consent, read, reaffirm, withdraw it, fetch its receipt;
    issue an entry pass and revoke it. Each scenario logs in afresh, as an app would."""

    class ShopperWorkflow(schema.as_state_machine()):
        def setup(self):
            TALLY.identity = SHOPPER
            self.token = login(fuzz_world["shopper"])

        def get_call_kwargs(self, case):
            return {"headers": identity_headers(SHOPPER, self.token)}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Name the token as the caller's own, as `call_and_validate(headers=...)` does, so that
            # ignored_auth probes the operation without it instead of taking it for a generated one.
            case.validate_response(
                response,
                additional_checks=additional_checks,
                headers=kwargs.get("headers"),
                transport_kwargs=kwargs,
                recorder=self.recorder,
            )

    ShopperWorkflow.run(
        settings=settings(
            ShopperWorkflow.TestCase.settings,
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=6,
            deadline=None,
            database=None,
        )
    )
