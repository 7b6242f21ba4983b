"""The measurements behind the enrollment quality gate (docs/decisions/0005).

    .venv/bin/python bench/quality_gate.py

For every single-face photo of the face kit, prints the face size, sharpness and brightness the
engine measures, then the same for blurred (sigma 2% of the face size) and darkened (x0.2)
copies, next to the thresholds in settings.
"""

from __future__ import annotations

import cv2
import numpy as np
from common import FACES, kit_rows

from biometrics import engine


def measure(image: np.ndarray, scale: float) -> engine.Quality | None:
    locations = engine.locate_faces(image)
    return engine.measure_quality(image, locations[0], scale=scale) if len(locations) == 1 else None


def main() -> None:
    settings = engine.EngineSettings()
    print(f"{'photo':45s} {'face px':>7s} {'sharp':>7s} {'bright':>7s} | {'blurred sharp':>13s} | {'dark bright':>11s}")
    sharp, bright, blurred_sharp, dark_bright = [], [], [], []
    for row in kit_rows(min_face_px=0):
        # The engine's working copy; face sizes in the photo's own pixels, as the gate counts them.
        photo = engine.decode_photo((FACES / row["path"]).read_bytes())
        image, scale = photo.pixels, photo.scale
        quality = measure(image, scale)
        blurred = measure(cv2.GaussianBlur(image, (0, 0), quality.face_px * scale * 0.02), scale)
        dark = measure((image * 0.2).astype(np.uint8), scale)
        blurred_value = blurred.sharpness if blurred else float("nan")
        dark_value = dark.brightness if dark else float("nan")
        print(
            f"{row['path']:45s} {quality.face_px:7d} {quality.sharpness:7.1f} {quality.brightness:7.1f} | "
            f"{blurred_value:13.1f} | {dark_value:11.1f}"
        )
        if quality.face_px >= settings.min_face_px:
            sharp.append(quality.sharpness)
            bright.append(quality.brightness)
            blurred_sharp.append(blurred.sharpness if blurred else 0.0)
            dark_bright.append(dark.brightness if dark else 0.0)
    print()
    print(
        f"sharpness:  real photos min {min(sharp):.1f}, blurred copies max {max(blurred_sharp):.1f}, "
        f"threshold {settings.min_sharpness}"
    )
    print(
        f"brightness: real photos min {min(bright):.1f}, darkened copies max {max(dark_bright):.1f}, "
        f"threshold {settings.min_brightness}"
    )


if __name__ == "__main__":
    main()
