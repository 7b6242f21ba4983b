"""Photos for the face tests: the shared face kit, and pictures made here for edge cases."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FACES = Path(__file__).resolve().parents[3] / "shared" / "faces"


def faces_dir() -> Path:
    """The labelled face kit beside the project; CI requires it (FACES_REQUIRED=1)."""
    if not (FACES / "LABELS.csv").exists():
        message = f"These tests need the labelled face kit at {FACES} (several real people); it is missing."
        if os.environ.get("FACES_REQUIRED"):
            pytest.fail(message)
        pytest.skip(message)
    return FACES


def kit_photo(relative: str) -> bytes:
    return (faces_dir() / relative).read_bytes()


def astronaut_array() -> np.ndarray:
    """A real face that ships with scikit-image; the top half avoids a false second face."""
    from skimage import data

    return data.astronaut()[:256]


def encode(array: np.ndarray, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def astronaut_jpeg() -> bytes:
    return encode(astronaut_array(), "JPEG", quality=95)
