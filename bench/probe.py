"""Door probes: the engine (detect on a reduced copy, encode at full size) next to stock face_recognition.

    .venv/bin/python bench/probe.py [--repeat 5]

Prints per-resolution times on the 480p, 720p and 1080p photos of ../shared/faces/obama/
(median of --repeat runs) next to `face_recognition.face_encodings(image)`, then checks that
both give the same match decision for every photo of the kit (one photo of each person
enrolled, the threshold from settings). Goal: at least 2.5x faster at 720p and above, with
identical decisions.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np
from common import FACES, kit_rows
from PIL import Image

from biometrics import engine

THRESHOLD = 0.55  # MATCH_THRESHOLD's default
ENROLLED = {
    "alex_lacamoire": "alex_lacamoire/alex_lacamoire_1.png",
    "biden": "biden/biden_1.jpg",
    "kit_harington": "kit_harington/kit_harington_1.jpg",
    "obama": "obama/obama_1.jpg",
    "rose_leslie": "rose_leslie/rose_leslie_1.jpg",
}


def stock_encoding(data: bytes) -> np.ndarray | None:
    """face_recognition as its README shows it; with several faces, the one the door picks."""
    import face_recognition

    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    encodings = face_recognition.face_encodings(image)
    if len(encodings) <= 1:
        return np.asarray(encodings[0]) if encodings else None
    # Several faces (the multi/ photos only; timings use single faces): same rule as the door.
    boxes = [engine.FaceLocation(*location) for location in face_recognition.face_locations(image)]
    chosen = engine.door_face(boxes, image.shape[1], image.shape[0])
    return np.asarray(encodings[boxes.index(chosen)])


def median_seconds(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def decision(encoding: np.ndarray | None, gallery: dict[str, np.ndarray]) -> str:
    if encoding is None:
        return "no_face"
    person, distance = min(
        ((name, float(np.linalg.norm(enc - encoding))) for name, enc in gallery.items()), key=lambda item: item[1]
    )
    return person if distance <= THRESHOLD else "no_match"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    print(f"{'photo':24s} {'size':>10s} {'stock s':>8s} {'engine s':>9s} {'speed-up':>9s}")
    for name in ("obama_480p.jpg", "obama_720p.jpg", "obama_1080p.jpg"):
        data = (FACES / "obama" / name).read_bytes()
        width, height = Image.open(io.BytesIO(data)).size
        stock_encoding(data)  # warm up
        stock = median_seconds(lambda data=data: stock_encoding(data), args.repeat)
        ours = median_seconds(lambda data=data: engine.probe_encoding(data), args.repeat)
        print(f"{name:24s} {f'{width}x{height}':>10s} {stock:8.3f} {ours:9.3f} {stock / ours:8.1f}x")

    stock_gallery = {person: stock_encoding((FACES / path).read_bytes()) for person, path in ENROLLED.items()}
    our_gallery = {person: engine.probe_encoding((FACES / path).read_bytes()) for person, path in ENROLLED.items()}
    differences = []
    rows = kit_rows(single_faces_only=False, min_face_px=0)
    for row in rows:
        data = (FACES / row["path"]).read_bytes()
        ours = decision(engine.probe_encoding(data), our_gallery)
        theirs = decision(stock_encoding(data), stock_gallery)
        if ours != theirs:
            differences.append((row["path"], theirs, ours))
    print()
    print(
        f"match decisions on all {len(rows)} photos of the kit: "
        f"{len(rows) - len(differences)} identical, {len(differences)} different"
    )
    for path, theirs, ours in differences:
        print(f"  {path}: stock {theirs}, engine {ours}")


if __name__ == "__main__":
    main()
