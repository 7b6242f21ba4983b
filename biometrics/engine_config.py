"""The face engine's settings as this deployment sets them, for the workers that run the engine
(enrollment and the door's match worker); web processes never import it."""

from __future__ import annotations

from django.conf import settings

from biometrics import engine


def engine_settings() -> engine.EngineSettings:
    """The engine's limits and quality gate, as this deployment sets them (enrollment and door alike)."""
    return engine.EngineSettings(
        max_bytes=settings.ENROLL_MAX_PHOTO_BYTES,
        max_pixels=settings.ENROLL_MAX_PIXELS,
        work_max_side=settings.FACE_WORK_MAX_SIDE,
        detect_max_side=settings.FACE_DETECT_MAX_SIDE,
        min_face_px=settings.ENROLL_MIN_FACE_PX,
        min_sharpness=settings.ENROLL_MIN_SHARPNESS,
        min_brightness=settings.ENROLL_MIN_BRIGHTNESS,
    )
