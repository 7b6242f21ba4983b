"""False identification at the gallery sizes stores have: the self-check against the truth (docs/decisions/0024).

    .venv/bin/python bench/identification.py [--sizes 1000,10000,100000,1000000]

First the face kit (`../shared/faces`, encoded as the door encodes), each person a shopper holding
every photo of them, checked leave-one-out as the product checks a gallery. Then synthetic galleries
whose strangers follow the published tail (about 5 in 10,000 within 0.6) and the kit's distances:
for each size, the FPIR the default rule (MATCH_THRESHOLD 0.55, margin 0.05) really has, measured
with strangers held out of the gallery; the self-check's estimate and 95% bound at 0.55; the
threshold the operating point picks (target 1%, TIR floor 90%) with its bound and estimated TIR;
what that threshold really does (FPIR with held-out strangers, TIR with new photos of enrolled
shoppers); and whether 1:N stays on. "x3" rows: three independent frames of one approach, a match
only when all three name the same shopper (`frames_decide`). Exact search on every core.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import FACES, kit_rows

from biometrics.identification import (
    GallerySearch,
    check_search,
    gallery_self_check,
    operating_point,
    rule_matches,
    synthetic_gallery,
)

DEFAULT_THRESHOLD = 0.55
MARGIN = 0.05
TARGET_FPIR = 0.01
TIR_FLOOR = 0.90
CANDIDATES = (0.35, 0.375, 0.40, 0.425, 0.45, 0.475, 0.50, 0.525, 0.55)
# Per size: stranger probes of the self-check (None: everyone), held-out strangers, visits of shoppers.
PLAN = {
    1_000: (None, 20_000, 5_000),
    10_000: (None, 10_000, 5_000),
    100_000: (10_000, 5_000, 3_000),
    1_000_000: (2_000, 1_000, 1_000),
}


def kit() -> None:
    from biometrics import engine

    rows = kit_rows(min_face_px=0)
    by_person: dict[str, list[np.ndarray]] = {}
    for row in rows:
        encoding = engine.probe_encoding((FACES / row["path"]).read_bytes())
        if encoding is not None:
            person = "obama" if row["identity"] == "edge" else row["identity"]  # edge/ holds obama's partial faces
            by_person.setdefault(person, []).append(encoding)
    people = sorted(by_person)
    gallery = {number: np.vstack(by_person[person]) for number, person in enumerate(people, 1)}
    check = gallery_self_check(gallery, thresholds=(0.45, 0.50, 0.55, 0.60), margin=MARGIN, max_probes=None)
    print(
        f"Face kit: {sum(map(len, gallery.values()))} photos of {len(people)} people, each a shopper holding them all"
    )
    print(f"{'threshold':>9s} {'strangers':>9s} {'false':>5s} {'FPIR':>6s} {'bound':>6s} {'genuine':>7s} {'TIR':>6s}")
    for figures in check.figures:
        print(
            f"{figures.threshold:9.2f} {figures.strangers:9d} {figures.false_matches:5d} {figures.fpir:6.3f}"
            f" {figures.fpir_upper:6.3f} {figures.genuine:7d} {figures.tir:6.3f}"
        )
    point = operating_point(check, target_fpir=TARGET_FPIR, max_threshold=DEFAULT_THRESHOLD, tir_floor=TIR_FLOOR)
    print(f"operating point: {point.reason}, threshold {point.threshold}, 1:N {'on' if point.one_to_n else 'off'}")
    print()


def population() -> None:
    gallery = synthetic_gallery(3_000, seed=99, several_templates_share=1.0, most_templates=2)
    first = np.vstack([encodings[0] for encodings in gallery.encodings_by_shopper.values()]).astype(np.float64)
    squared = (first * first).sum(axis=1)
    between = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * first @ first.T, 0))
    strangers = between[np.triu_indices(len(first), 1)]
    genuine = np.array([np.linalg.norm(pair[0] - pair[1]) for pair in gallery.encodings_by_shopper.values()])
    tail = ", ".join(f"{(strangers <= t).mean() * 10_000:.2f} in 10,000 within {t}" for t in (0.5, 0.55, 0.6))
    print(f"Synthetic population: strangers median {np.median(strangers):.3f}, {tail}")
    print(
        f"  one person's photos: median {np.median(genuine):.3f}, 99th percentile {np.percentile(genuine, 99):.3f}"
        f"; {len(strangers):,} stranger and {len(genuine):,} same-person pairs"
    )
    print()


def searched(search: GallerySearch, photos: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return [search.nearest_two(photos[:, frame]) for frame in range(photos.shape[1])]


def named(results: list[tuple[np.ndarray, np.ndarray, np.ndarray]], threshold: float, frames: int) -> np.ndarray:
    """Per approach, the shopper position the door names (-1: none): every one of `frames` frames must agree."""
    stack = np.vstack(
        [
            np.where(rule_matches(nearest, second, threshold=threshold, margin=MARGIN), owner, -1)
            for nearest, owner, second in results[:frames]
        ]
    )
    return np.where((stack == stack[0]).all(axis=0), stack[0], -1)


def synthetic(size: int) -> list[str]:
    max_probes, held_out, visits = PLAN.get(size, (10_000, 5_000, 3_000))
    started = time.perf_counter()
    gallery = synthetic_gallery(size, seed=size)
    search = GallerySearch(gallery.encodings_by_shopper)
    check = check_search(search, thresholds=CANDIDATES, margin=MARGIN, max_probes=max_probes, seed=1)
    point = operating_point(check, target_fpir=TARGET_FPIR, max_threshold=DEFAULT_THRESHOLD, tir_floor=TIR_FLOOR)
    default = check.at(DEFAULT_THRESHOLD)
    strangers = searched(search, gallery.strangers(held_out, seed=2, frames=3))
    shopper_ids, photos = gallery.visits(visits, seed=3, frames=3)
    truth = np.searchsorted(search.shopper_ids, shopper_ids)
    shoppers = searched(search, photos)
    chosen = point.threshold
    picked = check.at(chosen) if chosen is not None else None
    lines = []
    for frames in (1, 3):
        true_default = (named(strangers, DEFAULT_THRESHOLD, frames) >= 0).mean()
        tir_default = (named(shoppers, DEFAULT_THRESHOLD, frames) == truth).mean()
        if chosen is not None:
            true_chosen = f"{(named(strangers, chosen, frames) >= 0).mean():7.4f}"
            tir_chosen = f"{(named(shoppers, chosen, frames) == truth).mean():6.3f}"
            figures = f"{chosen:6.3f} {picked.fpir_upper:7.4f} {picked.tir:6.3f}"
        else:
            # 1:N stops: the figures the reason rests on (the bound at the lowest candidate, or the TIR
            # at the threshold that met the target).
            bound = f"{point.fpir_upper:7.4f}" if point.fpir_upper is not None else f"{'-':>7s}"
            tir = f"{point.tir:6.3f}" if point.tir is not None else f"{'-':>6s}"
            true_chosen, tir_chosen, figures = f"{'-':>7s}", f"{'-':>6s}", f"{'-':>6s} {bound} {tir}"
        lines.append(
            f"{size:>9,} {'x' + str(frames):>6s} {true_default:8.4f} {tir_default:7.3f} {default.fpir:8.4f}"
            f" {default.fpir_upper:8.4f} {'yes' if check.sampled else 'no':>7s} {figures}"
            f" {true_chosen} {tir_chosen} {'on' if point.one_to_n else 'OFF':>4s} {point.reason}"
        )
    lines.append(f"{'':>9s} ({time.perf_counter() - started:.0f} s; {check.figures[0].strangers:,} shoppers probed)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=",".join(map(str, PLAN)))
    parser.add_argument("--no-kit", action="store_true")
    arguments = parser.parse_args()
    if not arguments.no_kit:
        kit()
    population()
    print(
        f"Default rule: threshold {DEFAULT_THRESHOLD}, margin {MARGIN}; target FPIR {TARGET_FPIR:.0%} (95% bound),"
        f" TIR floor {TIR_FLOOR:.0%}"
    )
    print(
        f"{'shoppers':>9s} {'frames':>6s} {'FPIR@.55':>8s} {'TIR@.55':>7s} {'est@.55':>8s}"
        f" {'bnd@.55':>8s} {'sampled':>7s} {'picks':>6s} {'bound':>7s} {'estTIR':>6s}"
        f" {'FPIR@t':>7s} {'TIR@t':>6s} {'1:N':>4s} reason"
    )
    for size in (int(value) for value in arguments.sizes.split(",")):
        for line in synthetic(size):
            print(line, flush=True)
    print()
    print("FPIR@.55, TIR@.55: true (held-out strangers, new photos of shoppers); est/bnd@.55: the self-check's")
    print("estimate and 95% bound (one frame; it bounds x3 too).")
    print("picks: the operating point; bound, estTIR: its self-check figures; FPIR@t, TIR@t: true, at that threshold.")


if __name__ == "__main__":
    main()
