"""Template protection: authenticated encryption bound to key id and owner."""

import numpy as np
import pytest

from biometrics.protection import KeyRing, TemplateDecryptionError, TemplateKeyError, generate_key


@pytest.fixture
def encoding():
    return np.random.default_rng(3).normal(0, 0.1, 128)


@pytest.fixture
def ring():
    return KeyRing.parse(f"a:{generate_key()},b:{generate_key()}")


@pytest.mark.requirement("E3")
def test_a_template_opens_to_the_same_encoding(ring, encoding):
    sealed = ring.seal(encoding, owner="owner-1")
    assert sealed.key_id == "b"  # the last key listed seals
    assert len(sealed.nonce) == 12 and encoding.tobytes() not in sealed.ciphertext
    assert np.array_equal(ring.open(sealed, owner="owner-1"), encoding)


@pytest.mark.requirement("E3")
def test_every_seal_uses_a_fresh_nonce(ring, encoding):
    first, second = ring.seal(encoding, owner="o"), ring.seal(encoding, owner="o")
    assert first.nonce != second.nonce and first.ciphertext != second.ciphertext


@pytest.mark.requirement("E3")
def test_wrong_key_fails_loudly(ring, encoding):
    sealed = ring.seal(encoding, owner="o")
    impostor = KeyRing.parse(f"b:{generate_key()}")
    with pytest.raises(TemplateDecryptionError):
        impostor.open(sealed, owner="o")


@pytest.mark.requirement("E3")
def test_another_owner_cannot_open_it(ring, encoding):
    with pytest.raises(TemplateDecryptionError):
        ring.open(ring.seal(encoding, owner="alice"), owner="bob")


@pytest.mark.requirement("E3")
def test_altered_ciphertext_fails(ring, encoding):
    sealed = ring.seal(encoding, owner="o")
    altered = type(sealed)(sealed.key_id, sealed.nonce, bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:])
    with pytest.raises(TemplateDecryptionError):
        ring.open(altered, owner="o")


@pytest.mark.requirement("E3")
def test_a_key_id_not_in_the_ring(ring, encoding):
    sealed = ring.seal(encoding, owner="o")
    with pytest.raises(TemplateDecryptionError, match="'b' is not in the key ring"):
        KeyRing.parse(f"a:{generate_key()}").open(sealed, owner="o")


@pytest.mark.requirement("E3")
def test_the_active_key_can_be_named(encoding):
    ring = KeyRing.parse(f"a:{generate_key()},b:{generate_key()}", active_key_id="a")
    assert ring.seal(encoding, owner="o").key_id == "a"


@pytest.mark.requirement("E3")
@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "No template key is configured."),
        ("nokey", "entries must look like id:base64key"),
        ("a:c2hvcnQ=", "is not 32 bytes"),
    ],
)
def test_bad_key_rings(spec, message):
    with pytest.raises(TemplateKeyError, match=message):
        KeyRing.parse(spec)


@pytest.mark.requirement("E3")
def test_an_active_key_outside_the_ring():
    with pytest.raises(TemplateKeyError, match="not in the key ring"):
        KeyRing.parse(f"a:{generate_key()}", active_key_id="z")


def test_photos_are_sealed_apart_from_templates(ring):
    sealed = ring.seal_bytes(b"\xff\xd8\xff photo bytes", context="enrollment-photo|1|1")
    assert b"photo bytes" not in sealed.ciphertext
    assert ring.open_bytes(sealed, context="enrollment-photo|1|1") == b"\xff\xd8\xff photo bytes"
    with pytest.raises(TemplateDecryptionError):
        ring.open_bytes(sealed, context="enrollment-photo|1|2")
