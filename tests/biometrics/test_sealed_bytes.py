"""One sealed-bytes format for enrollment photos and door probes, and what a message sealed in the
photos' old `{"k", "n", "c"}` form meets after a deploy (docs/decisions/0017-one-rule-one-place.md)."""

import base64

import pytest

from biometrics.keys import key_ring
from biometrics.protection import TemplateDecryptionError
from biometrics.sealed_bytes import bytes_open, bytes_seal, sealed_from_text, sealed_text
from biometrics.services import enrollment_start
from biometrics.tasks import enrollment_process_task
from tests.biometrics.photos import astronaut_jpeg
from tests.factories import face_consent, registered_device


def old_form(data: bytes, *, context: str) -> dict[str, str]:
    """How photos were sealed before this format: three base64 fields."""
    box = key_ring().seal_bytes(data, context=context)
    return {"k": box.key_id, "n": base64.b64encode(box.nonce).decode(), "c": base64.b64encode(box.ciphertext).decode()}


def test_sealed_bytes_name_their_key_and_open_for_their_context_only():
    sealed = bytes_seal(b"\xff\xd8\xff a photo", context="door-probe|1")
    key_id = key_ring().active_key_id.encode()
    assert sealed[0] == 1 and sealed[1] == len(key_id) and sealed[2 : 2 + len(key_id)] == key_id
    assert b"a photo" not in sealed
    assert bytes_open(sealed, context="door-probe|1") == b"\xff\xd8\xff a photo"
    assert bytes_open(sealed_from_text(sealed_text(sealed)), context="door-probe|1") == b"\xff\xd8\xff a photo"
    with pytest.raises(TemplateDecryptionError):
        bytes_open(sealed, context="door-probe|2")


@pytest.mark.parametrize(
    "sealed",
    [b"", b"\x01", b"\x02\x03ci1" + bytes(40), b"\x01\x03ci1" + bytes(5), "text", {"k": "ci1", "n": "", "c": ""}],
)
def test_anything_else_does_not_open(sealed):
    with pytest.raises(TemplateDecryptionError):
        bytes_open(sealed, context="door-probe|1")


@pytest.mark.parametrize("text", ["not base64!", {"k": "ci1"}, None])
def test_text_that_is_not_sealed_bytes(text):
    with pytest.raises(TemplateDecryptionError):
        sealed_from_text(text)


@pytest.mark.django_db
def test_an_enrollment_queued_in_the_old_form_fails_and_the_shopper_may_enroll_again(shopper):
    face_consent(shopper)
    enrollment = enrollment_start(shopper=shopper, photos=[astronaut_jpeg()], channel="app")
    old = [old_form(astronaut_jpeg(), context=f"enrollment-photo|{enrollment.public_id}|1")]
    with pytest.raises(TemplateDecryptionError):  # logged, the task failed, never retried
        enrollment_process_task.apply(args=[enrollment.pk, old], throw=True)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.reason) == ("failed", "processing_failed")
    assert enrollment_start(shopper=shopper, photos=[astronaut_jpeg()], channel="app").status == "queued"


@pytest.mark.django_db
def test_a_probe_queued_in_the_old_form_is_answered_as_a_failed_worker():
    from stores.tasks import match_probe_task

    device, _secret = registered_device()
    old = old_form(astronaut_jpeg(), context="door-probe|old")
    answer = match_probe_task.run(operator_id=device.store.operator_id, probe_id="old", photo=old)
    assert answer["error"] == "worker_failed" and answer["shopper_id"] is None
