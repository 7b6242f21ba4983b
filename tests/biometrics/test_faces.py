"""What web processes know of faces without the engine: reason codes, the encoding check (no Django needed)."""

import pytest

from biometrics import engine, faces
from core.errors import DomainError


@pytest.mark.requirement("M1")
class TestEncodingInput:
    def test_a_valid_encoding(self):
        assert faces.validate_encoding([0.01] * 128).shape == (128,)

    @pytest.mark.parametrize("values", [[0.1] * 127, [0.1] * 129, ["a"] * 128, [float("nan")] * 128, None, "text"])
    def test_invalid_encodings(self, values):
        with pytest.raises(DomainError) as raised:
            faces.validate_encoding(values)
        assert raised.value.code == "invalid_encoding"


@pytest.mark.requirement("E1")
def test_the_engine_refuses_with_the_codes_and_messages_kept_here():
    """One list of reason codes and messages: the engine's refusals are this module's."""
    with pytest.raises(faces.FaceRefused) as raised:
        engine.decode_photo(b"not an image")
    assert raised.value.code == "unreadable_image"
    assert raised.value.message == faces.REASONS["unreadable_image"]
    assert engine.FaceRefused is faces.FaceRefused


@pytest.mark.requirement("E1")
def test_every_reason_an_enrollment_ends_with_has_its_message_here():
    """The codes the worker writes into Enrollment.reason are answered with the messages beside them."""
    import re
    from pathlib import Path

    import biometrics

    root = Path(biometrics.__file__).parent
    written = {
        code
        for name in ("processing.py", "tasks.py")
        for code in re.findall(r'reason\s*=\s*"([a-z_]+)"', (root / name).read_text())
    }
    assert written >= {"no_usable_photo", "processing_failed", "timed_out"}
    assert written <= set(faces.ENROLLMENT_REASONS)
