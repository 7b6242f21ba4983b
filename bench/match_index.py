"""Our match index against face_recognition's own face_distance, on a 1,000,000-encoding gallery.

    .venv/bin/python bench/match_index.py [--encodings 1000000] [--probes 1000] [--baseline-probes 20]

The gallery is synthetic but shaped like real encodings: one centre per person (spread so that
different people sit about 0.8 apart) plus per-photo noise (photos of one person about 0.35
apart), around the mean of the real kit encodings when ../shared/faces is there. Prints, side
by side, per-probe p50/p95 of face_distance over the whole gallery and of our index, recall@1
of our index against exact search, build time and memory. Goal: at least 200x faster than
face_distance at recall@1 >= 0.99, built in under 60 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from biometrics.match_index import MatchIndex

TEMPLATES_PER_PERSON = 2
CENTRE_SPREAD = 0.8 / np.sqrt(2 * 128)  # different people ~0.8 apart
PHOTO_NOISE = 0.35 / np.sqrt(2 * 128)  # photos of one person ~0.35 apart


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def kit_mean() -> np.ndarray:
    """The mean of the real kit's encodings, so synthetic ones sit where real ones do."""
    faces = Path(__file__).resolve().parents[2] / "shared" / "faces"
    if not (faces / "LABELS.csv").exists():
        return np.zeros(128)
    from common import kit_rows

    from biometrics import engine

    encodings = [engine.probe_encoding((faces / row["path"]).read_bytes()) for row in kit_rows()[:12]]
    return np.mean(encodings, axis=0)


def synthetic_gallery(count: int, rng: np.random.Generator, centre: np.ndarray):
    people = count // TEMPLATES_PER_PERSON
    centres = (centre + rng.normal(0, CENTRE_SPREAD, (people, 128))).astype(np.float32)
    gallery = np.repeat(centres, TEMPLATES_PER_PERSON, axis=0)
    gallery += rng.normal(0, PHOTO_NOISE, gallery.shape).astype(np.float32)
    owners = np.repeat(np.arange(people), TEMPLATES_PER_PERSON)
    return centres, gallery, owners


def percentiles(seconds: list[float]) -> tuple[float, float]:
    return float(np.percentile(seconds, 50) * 1000), float(np.percentile(seconds, 95) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encodings", type=int, default=1_000_000)
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--baseline-probes", type=int, default=20, help="face_distance is slow: fewer probes")
    args = parser.parse_args()

    import face_recognition
    import faiss

    rng = np.random.default_rng(2026)
    centres, gallery, owners = synthetic_gallery(args.encodings, rng, kit_mean())
    picked = rng.integers(0, len(centres), args.probes)
    probes = (centres[picked] + rng.normal(0, PHOTO_NOISE, (args.probes, 128))).astype(np.float32)

    # Exact search: the ground truth for recall@1.
    exact = faiss.IndexFlatL2(128)
    exact.add(gallery)
    _, truth = exact.search(probes, 1)
    true_owner = owners[truth[:, 0]]
    del exact
    sample = gallery[:2000]
    same = [np.linalg.norm(gallery[i] - gallery[i + 1]) for i in range(0, 2000, 2)]
    different = [np.linalg.norm(sample[i] - sample[i + 2]) for i in range(0, 1998, 2)]

    # face_recognition's own face_distance over the whole gallery (float64, as it takes it).
    gallery64 = gallery.astype(np.float64)
    baseline = []
    for probe in probes[: args.baseline_probes].astype(np.float64):
        started = time.perf_counter()
        distances = face_recognition.face_distance(gallery64, probe)
        int(np.argmin(distances))
        baseline.append(time.perf_counter() - started)
    del gallery64

    before = rss_mb()
    started = time.perf_counter()
    index = MatchIndex()
    items = (
        (person, gallery[person * TEMPLATES_PER_PERSON : (person + 1) * TEMPLATES_PER_PERSON])
        for person in range(len(centres))
    )
    index.build(items)
    build_seconds = time.perf_counter() - started
    memory = rss_mb() - before

    ours, hits = [], 0
    for probe, owner in zip(probes, true_owner, strict=True):
        started = time.perf_counter()
        best = index.search(probe)
        ours.append(time.perf_counter() - started)
        hits += bool(best) and best[0].shopper_id == owner
    recall = hits / len(probes)

    base_p50, base_p95 = percentiles(baseline)
    our_p50, our_p95 = percentiles(ours)
    print(
        f"Gallery: {len(gallery):,} encodings ({len(centres):,} people x {TEMPLATES_PER_PERSON}); "
        f"same-person distance median {np.median(same):.2f}, different-person median {np.median(different):.2f}"
    )
    print(f"{'':34s} {'p50 ms':>9s} {'p95 ms':>9s} {'recall@1':>9s} {'build s':>8s} {'memory MB':>10s}")
    print(
        f"{'face_recognition.face_distance':34s} {base_p50:9.2f} {base_p95:9.2f} {1.0:9.3f} {0.0:8.1f} "
        f"{gallery.nbytes * 2 / 2**20:10.0f}"
    )
    print(
        f"{'our index (' + index.kind + f', nprobe {index.nprobe})':34s} {our_p50:9.3f} {our_p95:9.3f} "
        f"{recall:9.3f} {build_seconds:8.1f} {memory:10.0f}"
    )
    print(
        f"speed-up at p50: {base_p50 / our_p50:.0f}x (goal >= 200x); recall@1 {recall:.3f} (goal >= 0.99); "
        f"build {build_seconds:.1f} s (goal < 60 s)"
    )
    print(
        f"(face_distance over {args.baseline_probes} probes, our index over {args.probes}; memory is the "
        f"process's growth while building; face_distance's is its float64 gallery copy)"
    )


if __name__ == "__main__":
    main()
