"""What a web process needs to know of faces, without the face engine: the engine's refusal codes and
their messages, the encoding size and the check of an encoding a device computed.

Plain Python and numpy (no Django, no dlib, no OpenCV), so web processes never load the engine;
the engine imports this module, never the other way (docs/decisions/0014-layers.md).
"""

from __future__ import annotations

import numpy as np

from core.errors import DomainError

ENCODING_SIZE = 128
# Frames of one approach a door may send in one request (decided together: identification.frames_decide).
MAX_FRAMES = 3


def gettext_noop(message: str) -> str:
    """Marks a message for translation where it is shown (this module stays Django-free)."""
    return message


# Refusal messages for the engine's reason codes, beside the codes; translated where they are shown.
REASONS = {
    "no_face": gettext_noop("No face was found in the photo."),
    "several_faces": gettext_noop("The photo shows more than one face; use a photo of you alone."),
    "face_too_small": gettext_noop("The face is too small; come closer to the camera."),
    "too_blurred": gettext_noop("The photo is too blurred; hold still and try again."),
    "too_dark": gettext_noop("The photo is too dark; find more light."),
    "unreadable_image": gettext_noop("The file is not a readable JPEG, PNG or WebP image."),
    "image_too_large": gettext_noop("The image is too large."),
}

# Why a whole enrollment was refused or failed (Enrollment.reason), beside the codes.
ENROLLMENT_REASONS = {
    "no_usable_photo": gettext_noop("None of the photos could be used."),
    "faces_do_not_match": gettext_noop("The photos do not show the same person."),
    "consent_required": gettext_noop("Face recognition consent was withdrawn before the photos were processed."),
    "processing_failed": gettext_noop("Something went wrong while processing; please try again."),
    "timed_out": gettext_noop("Processing took too long; please try again."),
    "worker_lost": gettext_noop(
        "The server processing your photos stopped before it finished; please send them again."
    ),
}


class FaceRefused(DomainError):
    """A photo the engine cannot use; `code` says why."""

    status = 422


def refuse(code: str) -> FaceRefused:
    return FaceRefused(REASONS[code], code=code)


def validate_encoding(values) -> np.ndarray:
    """A device-computed encoding: exactly 128 finite numbers, else `invalid_encoding`.

    Numbers only: JSON strings and booleans are not numbers, however numpy would read them, and an
    integer too large for a float is refused rather than overflowing.
    """
    invalid = DomainError("The encoding must be a list of 128 numbers.", code="invalid_encoding")
    if isinstance(values, np.ndarray):
        if values.dtype.kind not in "fi":
            raise invalid
        encoding = values.astype(np.float64)
    elif isinstance(values, list | tuple) and len(values) == ENCODING_SIZE:
        if not all(type(value) in (int, float) for value in values):
            raise invalid
        try:
            encoding = np.array(values, dtype=np.float64)
        except OverflowError as error:
            raise invalid from error
    else:
        raise invalid
    if encoding.shape != (ENCODING_SIZE,) or not np.all(np.isfinite(encoding)):
        raise invalid
    return encoding
