"""Device authentication: every way a request can be unsigned, wrong, old, replayed or revoked."""

import time

import pytest

from core.audit import Actor
from stores import signing
from stores.services import device_revoke, device_rotate_secret
from tests.conftest import assert_error
from tests.factories import registered_device
from tests.stores.device import signed_post

pytestmark = pytest.mark.django_db

PATH = "/api/v1/device/entry-pass"


@pytest.fixture
def device():
    return registered_device()


def test_unsigned(client, device):
    response = client.post(PATH, {"entry_pass": "x"}, content_type="application/json")
    assert_error(response, 401, "signature_missing", "This API needs a signed request.")


def test_unknown_device(client, device):
    other = type(device[0])(device_id="dev_nobody")
    assert_error(signed_post(client, other, "fcs_guess", PATH, {"entry_pass": "x"}), 401, "device_unknown")


def test_wrong_secret(client, device):
    _device, _secret = device
    response = signed_post(client, _device, "fcs_wrong", PATH, {"entry_pass": "x"})
    assert_error(response, 401, "signature_invalid", "The signature does not match.")


def test_body_changed_after_signing(client, device):
    _device, secret = device
    response = signed_post(client, _device, secret, PATH, body=b'{"entry_pass": "a"}', sent_body=b'{"entry_pass": "b"}')
    assert_error(response, 401, "signature_invalid")


def test_expired(client, device, settings):
    _device, secret = device
    old = int(time.time()) - settings.DEVICE_CLOCK_SKEW_SECONDS - 5
    response = signed_post(client, _device, secret, PATH, {"entry_pass": "x"}, timestamp=old)
    assert_error(response, 401, "request_expired", "The request is too old or from the future; check the clock.")


def test_timestamp_not_a_number(client, device):
    _device, secret = device
    response = signed_post(
        client, _device, secret, PATH, {"entry_pass": "x"}, headers={signing.TIMESTAMP_HEADER: "yesterday"}
    )
    assert_error(response, 401, "timestamp_invalid")


def test_replayed(client, device):
    _device, secret = device
    first = signed_post(client, _device, secret, PATH, {"entry_pass": "x"}, nonce="same-nonce")
    assert first.status_code == 403 and first.json()["error"]["code"] == "pass_invalid"  # signed fine
    again = signed_post(client, _device, secret, PATH, {"entry_pass": "x"}, nonce="same-nonce")
    assert_error(again, 401, "request_replayed", "This request was already received.")


def test_revoked(client, device):
    _device, secret = device
    device_revoke(actor=Actor.system(), device=_device)
    assert_error(
        signed_post(client, _device, secret, PATH, {"entry_pass": "x"}),
        403,
        "device_revoked",
        "This device has been revoked.",
    )


def test_rotated_secret(client, device):
    _device, old_secret = device
    new_secret = device_rotate_secret(actor=Actor.system(), device=_device).secret
    assert_error(signed_post(client, _device, old_secret, PATH, {"entry_pass": "x"}), 401, "signature_invalid")
    assert signed_post(client, _device, new_secret, PATH, {"entry_pass": "x"}).json()["error"]["code"] == "pass_invalid"


def test_malformed_json_once_signed(client, device):
    _device, secret = device
    assert_error(signed_post(client, _device, secret, PATH, body=b"{nope"), 400, "malformed_json")


def test_a_person_cannot_use_the_device_api(api_client, shopper, token_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(shopper)}")
    assert_error(api_client.post(PATH, {"entry_pass": "x"}, format="json"), 401, "signature_missing")


def test_the_body_limit(client, device, settings):
    settings.DEVICE_MAX_BODY_BYTES = 100
    _device, secret = device
    assert_error(signed_post(client, _device, secret, PATH, {"entry_pass": "x" * 200}), 413, "payload_too_large")
