"""How often would this gallery identify a stranger as one of its shoppers? (docs/decisions/0024)

Plain Python (numpy and faiss, no Django). The gallery self-check takes each shopper out in turn
and searches their face against everyone else with the door's rule (`match_index.decide`): any
`match` is a stranger taken for somebody. From those counts come the false-positive
identification rate (FPIR) at this gallery's size with an exact one-sided 95% upper bound, and,
from shoppers holding several templates, the true identification rate (TIR). `operating_point`
turns a check into the threshold the door may use, or says 1:N must stop; `frames_decide` is the
rule for several frames of one approach; `synthetic_gallery` (from biometrics/synthetic_faces.py)
makes galleries with a known stranger distribution for the tests and `bench/identification.py`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import faiss
import numpy as np

from biometrics.binomial_bounds import lower_bound, upper_bound
from biometrics.faces import MAX_FRAMES
from biometrics.match_index import DIMENSIONS, Decision
from biometrics.synthetic_faces import SyntheticGallery as SyntheticGallery
from biometrics.synthetic_faces import synthetic_gallery as synthetic_gallery

# Stranger probes beyond this are a random sample: a check costs probes x templates distance rows.
DEFAULT_MAX_PROBES = 10_000
# The published stranger tail of the face model: about 5 in 10,000 strangers within 0.6 (dlib issue
# 1944, 30 million faces); nothing is published below 0.6, so it stands for every threshold up to 0.6.
PRIOR_FALSE_MATCH_RATE = 5e-4
_BATCH = 2048


@contextlib.contextmanager
def _threads(count: int | None) -> Iterator[None]:
    """Search on `count` threads (None: every core); the setting belongs to the calling thread."""
    if count is None:
        yield
        return
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(max(1, count))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


# --- searching a whole gallery at once ------------------------------------------------------------


class GallerySearch:
    """Every template of a gallery in one exact faiss index, searched in batches on every core.

    `nearest_two` gives, per probe, the nearest and second-nearest distinct shoppers, each at their
    closest template, as `MatchIndex.search` does for one probe at the door.
    """

    def __init__(self, encodings_by_shopper: Mapping[int, np.ndarray]) -> None:
        shoppers, blocks, counts = [], [], []
        for shopper_id, encodings in encodings_by_shopper.items():
            block = np.atleast_2d(np.asarray(encodings, dtype=np.float32))
            if len(block):
                shoppers.append(shopper_id)
                blocks.append(block)
                counts.append(len(block))
        self.shopper_ids = np.asarray(shoppers, dtype=np.int64)
        self.counts = np.asarray(counts, dtype=np.int64)
        self.first_row = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)
        self.vectors = (
            np.ascontiguousarray(np.vstack(blocks)) if blocks else np.zeros((0, DIMENSIONS), dtype=np.float32)
        )
        self.owner_of_row = np.repeat(np.arange(len(shoppers), dtype=np.int64), self.counts)  # shopper position
        self._index = faiss.IndexFlatL2(DIMENSIONS)
        if len(self.vectors):
            self._index.add(self.vectors)

    def __len__(self) -> int:
        return len(self.shopper_ids)

    @property
    def most_templates(self) -> int:
        return int(self.counts.max()) if len(self.counts) else 0

    def nearest_two(
        self,
        probes: np.ndarray,
        *,
        excluded_shopper: np.ndarray | None = None,
        excluded_row: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distances to the nearest two distinct shoppers and the nearest one's position, per probe.

        `excluded_shopper` (a shopper position per probe, -1 for none) leaves that shopper's templates
        out; `excluded_row` (a template row per probe, -1 for none) leaves that one template out.
        Missing neighbours are at infinity; a probe with no neighbour has position -1.
        """
        probes = np.ascontiguousarray(np.atleast_2d(np.asarray(probes, dtype=np.float32)))
        count = len(probes)
        nearest = np.full(count, np.inf)
        second = np.full(count, np.inf)
        owner = np.full(count, -1, dtype=np.int64)
        if not count or not self._index.ntotal:
            return nearest, owner, second
        if excluded_shopper is None:
            excluded_shopper = np.full(count, -1, dtype=np.int64)
        if excluded_row is None:
            excluded_row = np.full(count, -1, dtype=np.int64)
        # Enough neighbours to pass the left-out templates and every template of the nearest other.
        neighbours = min(self._index.ntotal, 2 * self.most_templates + 2)
        for start in range(0, count, _BATCH):
            stop = min(start + _BATCH, count)
            squared, rows = self._index.search(probes[start:stop], neighbours)
            distances = np.sqrt(np.maximum(squared.astype(np.float64), 0.0))
            owners = np.where(rows >= 0, self.owner_of_row[np.maximum(rows, 0)], -1)
            valid = (
                (rows >= 0) & (owners != excluded_shopper[start:stop, None]) & (rows != excluded_row[start:stop, None])
            )
            has_first = valid.any(axis=1)
            first = np.argmax(valid, axis=1)
            line = np.arange(stop - start)
            first_owner = np.where(has_first, owners[line, first], -1)
            valid_second = valid & (owners != first_owner[:, None])
            has_second = valid_second.any(axis=1)
            second_at = np.argmax(valid_second, axis=1)
            nearest[start:stop] = np.where(has_first, distances[line, first], np.inf)
            owner[start:stop] = first_owner
            second[start:stop] = np.where(has_second, distances[line, second_at], np.inf)
        return nearest, owner, second


def rule_matches(nearest: np.ndarray, second: np.ndarray, *, threshold: float, margin: float) -> np.ndarray:
    """`match_index.decide` for many probes at once: within the threshold and clearly nearer than the next."""
    with np.errstate(invalid="ignore"):
        return (nearest <= threshold) & ~(second - nearest < margin)


# --- the self-check --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdFigures:
    threshold: float
    strangers: int  # stranger probes made (shoppers taken out of the gallery in turn)
    false_matches: int  # of them, those the door's rule would answer `match` (someone else)
    fpir: float  # estimated false-positive identification rate at this gallery size
    fpir_upper: float  # its one-sided 95% upper bound
    genuine: int  # genuine probes (a shopper's other template searched against the gallery)
    true_matches: int
    tir: float | None  # estimated true identification rate; None with no genuine probes
    tir_lower: float | None  # its one-sided 95% lower bound
    genuine_entries: int = 0  # of the genuine probes, confirmed pass-plus-face entries


@dataclass(frozen=True)
class SelfCheck:
    gallery_size: int  # shoppers
    sampled: bool  # True when the strangers are a random sample (huge galleries)
    margin: float
    figures: tuple[ThresholdFigures, ...]  # one per candidate threshold, ascending

    def at(self, threshold: float) -> ThresholdFigures:
        return min(self.figures, key=lambda figures: abs(figures.threshold - threshold))


def fpir_upper_bound(false_matches: int, false_pairs: int, probes: int, gallery_size: int) -> float:
    """The one-sided 95% upper bound on FPIR from a leave-one-out check.

    The probes are not independent: two lookalike shoppers may each take the other for themselves,
    so one close pair can give two false matches. The bound counts clusters: with d false matches
    per distinct pair, it is the exact binomial bound on x/d events in m/d trials (Kish's design
    effect; the estimate stays x/m). d is estimated from the pairs seen, shrunk towards the worst
    case of every pair seen from both ends (2/(2 - f) when a share f of the shoppers is probed) by
    one pseudo-pair, so that a check with few or no false matches is bounded as if they all were
    mutual (no false match among N shoppers: about 6/N, not 3/N).
    """
    if probes <= 0:
        return 1.0
    share = min(probes / max(gallery_size, 1), 1.0)
    mutual = 2.0 / (2.0 - share)
    cluster = min(max((false_matches + mutual) / (false_pairs + 1.0), 1.0), 2.0)
    return upper_bound(false_matches / cluster, probes / cluster)


def gallery_self_check(
    encodings_by_shopper: Mapping[int, np.ndarray],
    *,
    thresholds: Sequence[float],
    margin: float,
    max_probes: int | None = DEFAULT_MAX_PROBES,
    seed: int = 0,
    threads: int | None = None,
    confirmed_entries: np.ndarray | None = None,
) -> SelfCheck:
    """Leave-one-out over the gallery with the door's rule, at every candidate threshold.

    Each probed shopper's templates are all taken out and their first template is searched against
    everyone else: a `match` is a false identification. A shopper with 2+ templates also gives a
    genuine probe: the first template searched against the gallery holding their others. Beyond
    `max_probes` shoppers (None: no limit) a random sample is probed and `sampled` is True.
    `threads` caps the cores the search takes (None: all), e.g. beside a match worker's doors.
    `confirmed_entries` are more genuine probes: one row per confirmed pass-plus-face entry, its
    distance to the pass's shopper and the nearest other shopper's (what 1:N would have weighed).
    """
    return check_search(
        GallerySearch(encodings_by_shopper),
        thresholds=thresholds,
        margin=margin,
        max_probes=max_probes,
        seed=seed,
        threads=threads,
        confirmed_entries=confirmed_entries,
    )


def check_search(
    search: GallerySearch,
    *,
    thresholds: Sequence[float],
    margin: float,
    max_probes: int | None = DEFAULT_MAX_PROBES,
    seed: int = 0,
    threads: int | None = None,
    confirmed_entries: np.ndarray | None = None,
) -> SelfCheck:
    """`gallery_self_check` on a gallery already in a `GallerySearch`."""
    entries = np.zeros((0, 2)) if confirmed_entries is None else np.asarray(confirmed_entries, dtype=np.float64)
    with _threads(threads):
        return _check(search, thresholds=thresholds, margin=margin, max_probes=max_probes, seed=seed, entries=entries)


def _check(
    search: GallerySearch,
    *,
    thresholds: Sequence[float],
    margin: float,
    max_probes: int | None,
    seed: int,
    entries: np.ndarray,
) -> SelfCheck:
    size = len(search)
    positions = np.arange(size, dtype=np.int64)
    sampled = max_probes is not None and size > max_probes
    if sampled:
        positions = np.sort(np.random.default_rng(seed).choice(size, int(max_probes), replace=False))
    probes = search.vectors[search.first_row[positions]] if size else np.zeros((0, DIMENSIONS), np.float32)
    stranger_nearest, stranger_owner, stranger_second = search.nearest_two(probes, excluded_shopper=positions)
    holding_more = positions[search.counts[positions] >= 2] if size else positions
    genuine_nearest, genuine_owner, genuine_second = search.nearest_two(
        search.vectors[search.first_row[holding_more]], excluded_row=search.first_row[holding_more]
    )
    figures = []
    for threshold in sorted(float(value) for value in thresholds):
        false = rule_matches(stranger_nearest, stranger_second, threshold=threshold, margin=margin)
        pairs = {
            (min(a, b), max(a, b))
            for a, b in zip(positions[false].tolist(), stranger_owner[false].tolist(), strict=True)
        }
        false_matches = int(false.sum())
        true = rule_matches(genuine_nearest, genuine_second, threshold=threshold, margin=margin) & (
            genuine_owner == holding_more
        )
        # A confirmed entry is named correctly when the pass's shopper is within the threshold and the
        # nearest other shopper is at least the margin farther (the rule with them as nearest and second).
        entries_true = rule_matches(entries[:, 0], entries[:, 1], threshold=threshold, margin=margin)
        genuine = len(holding_more) + len(entries)
        true_matches = int(true.sum()) + int(entries_true.sum())
        figures.append(
            ThresholdFigures(
                threshold=threshold,
                strangers=len(positions),
                false_matches=false_matches,
                fpir=false_matches / len(positions) if len(positions) else 0.0,
                fpir_upper=fpir_upper_bound(false_matches, len(pairs), len(positions), size),
                genuine=genuine,
                true_matches=true_matches,
                tir=true_matches / genuine if genuine else None,
                tir_lower=lower_bound(true_matches, genuine) if genuine else None,
                genuine_entries=len(entries),
            )
        )
    return SelfCheck(gallery_size=size, sampled=sampled, margin=margin, figures=tuple(figures))


# --- the operating point ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OperatingPoint:
    threshold: float | None  # the threshold the door uses; None when 1:N must stop
    one_to_n: bool
    reason: str  # small_gallery, target_met, no_threshold_meets_target, too_few_strangers, tir_below_floor
    fpir_upper: float | None
    tir: float | None


def small_gallery_size(target_fpir: float) -> int:
    """The largest gallery the model's published tail alone keeps under the target: N x FMR <= target."""
    return int(target_fpir / PRIOR_FALSE_MATCH_RATE + 1e-9)


def prior_fpir(gallery_size: int) -> float:
    """FPIR at this size from the published tail: 1 - (1 - FMR)^N (about N x FMR)."""
    return 1.0 - (1.0 - PRIOR_FALSE_MATCH_RATE) ** max(gallery_size, 0)


def operating_point(
    check: SelfCheck,
    *,
    target_fpir: float,
    max_threshold: float,
    tir_floor: float,
    small_gallery: int | None = None,
) -> OperatingPoint:
    """The largest candidate threshold, at most `max_threshold`, up to which every FPIR bound meets the target.

    Galleries of at most `small_gallery` shoppers (by default `small_gallery_size(target_fpir)`:
    20 at 1%) keep 1:N at `max_threshold` on the published tail alone: too few strangers for their
    own bound to say anything. Otherwise 1:N stops when no threshold's bound meets the target
    (`too_few_strangers` when not even a check without a single false match could), or when the one
    that does identifies fewer than `tir_floor` of the genuine probes.
    """
    limit = small_gallery_size(target_fpir) if small_gallery is None else small_gallery
    if check.gallery_size <= limit:
        return OperatingPoint(max_threshold, True, "small_gallery", prior_fpir(check.gallery_size), None)
    allowed = [figures for figures in check.figures if figures.threshold <= max_threshold + 1e-12]
    # Ascending, stopping at the first that fails: the one picked is wrong only if the bound failed
    # at the first threshold past the true one, a 5% event, however many candidates there are.
    meeting = []
    for figures in allowed:
        if figures.fpir_upper > target_fpir:
            break
        meeting.append(figures)
    if not meeting:
        best_possible = min(
            (fpir_upper_bound(0, 0, figures.strangers, check.gallery_size) for figures in allowed), default=1.0
        )
        reason = "too_few_strangers" if best_possible > target_fpir else "no_threshold_meets_target"
        lowest = allowed[0] if allowed else None
        return OperatingPoint(
            None, False, reason, lowest.fpir_upper if lowest else None, lowest.tir if lowest else None
        )
    chosen = meeting[-1]
    if chosen.tir is not None and chosen.tir < tir_floor:
        return OperatingPoint(None, False, "tir_below_floor", chosen.fpir_upper, chosen.tir)
    return OperatingPoint(chosen.threshold, True, "target_met", chosen.fpir_upper, chosen.tir)


# --- several frames of one approach ------------------------------------------------------------------


def frames_decide(decisions: Sequence[Decision | None]) -> Decision | None:
    """One answer for up to `MAX_FRAMES` frames: a match only when every frame with a face names the same shopper.

    Each decision is already the door's rule for its frame (threshold and margin); a frame without
    a face is None and ignored; with no face in any frame the answer is None. A match carries the
    largest of its frames' distances; no match carries the smallest distance seen.
    """
    if len(decisions) > MAX_FRAMES:
        raise ValueError(f"at most {MAX_FRAMES} frames")
    faced = [decision for decision in decisions if decision is not None]
    if not faced:
        return None
    named = {decision.shopper_id for decision in faced}
    distances = [decision.distance for decision in faced if decision.distance is not None]
    if len(named) == 1 and None not in named:
        return Decision(faced[0].shopper_id, max(distances) if distances else None)
    return Decision(None, min(distances) if distances else None)
