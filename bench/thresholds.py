"""The match threshold and margin, from measured distances on the face kit (docs/decisions/0006).

    .venv/bin/python bench/thresholds.py

Encodes every single-face photo with the engine as the door does (largest face, detection on
a reduced copy), then prints the same-person and different-person distance ranges, the error
rates at candidate thresholds, and the smallest gap between a probe's true match and the
nearest other person (what the best-versus-second margin must stay under).
"""

from __future__ import annotations

import itertools

import numpy as np
from common import FACES, kit_rows

from biometrics import engine


def identity(row: dict[str, str]) -> str:
    # The edge/ partial faces are of the person in obama/.
    return "obama" if row["identity"] == "edge" else row["identity"]


def main() -> None:
    rows = kit_rows(min_face_px=0)
    encodings = {row["path"]: engine.probe_encoding((FACES / row["path"]).read_bytes()) for row in rows}
    people = {row["path"]: identity(row) for row in rows}
    same, different = [], []
    for a, b in itertools.combinations(encodings, 2):
        distance = float(np.linalg.norm(encodings[a] - encodings[b]))
        (same if people[a] == people[b] else different).append(distance)
    print(
        f"{len(rows)} photos, {len(set(people.values()))} people; {len(same)} same-person pairs, "
        f"{len(different)} different-person pairs"
    )
    print(f"same person:      min {min(same):.3f}  median {np.median(same):.3f}  max {max(same):.3f}")
    print(f"different people: min {min(different):.3f}  median {np.median(different):.3f}  max {max(different):.3f}")
    print()
    print(f"{'threshold':>9s} {'false non-match':>16s} {'false match':>12s}")
    for threshold in (0.45, 0.50, 0.55, 0.60, 0.65):
        false_non_match = sum(d > threshold for d in same) / len(same)
        false_match = sum(d <= threshold for d in different) / len(different)
        print(f"{threshold:9.2f} {false_non_match:16.3f} {false_match:12.3f}")
    gaps = []
    for probe, encoding in encodings.items():
        mates = [
            np.linalg.norm(encoding - other)
            for path, other in encodings.items()
            if path != probe and people[path] == people[probe]
        ]
        strangers = [
            np.linalg.norm(encoding - other) for path, other in encodings.items() if people[path] != people[probe]
        ]
        if mates:
            gaps.append(min(strangers) - min(mates))
    print()
    print(f"nearest stranger minus nearest true match, per probe: min {min(gaps):.3f}, median {np.median(gaps):.3f}")


if __name__ == "__main__":
    main()
