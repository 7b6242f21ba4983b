"""The gallery self-check, the operating point and the several-frames rule (docs/decisions/0024)."""

import math

import faiss
import numpy as np
import pytest
from scipy import stats

from biometrics.binomial_bounds import lower_bound, upper_bound
from biometrics.identification import (
    DEFAULT_MAX_PROBES,
    GallerySearch,
    SelfCheck,
    ThresholdFigures,
    frames_decide,
    gallery_self_check,
    operating_point,
    rule_matches,
    small_gallery_size,
    synthetic_gallery,
)
from biometrics.match_index import Candidate, Decision, MatchIndex, decide

MARGIN = 0.05


# --- bounds -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "trials"), [(0, 10), (0, 1000), (3, 1000), (17, 20), (160, 10_000), (0, 500.5), (12, 2500.25)]
)
def test_bounds_are_exact_clopper_pearson(successes, trials):
    assert upper_bound(successes, trials) == pytest.approx(stats.beta.ppf(0.95, successes + 1, trials - successes))
    expected_lower = stats.beta.ppf(0.05, successes, trials - successes + 1) if successes else 0.0
    assert lower_bound(successes, trials) == pytest.approx(expected_lower, abs=1e-12)


def test_bounds_at_the_edges():
    assert upper_bound(0, 0) == 1.0 and upper_bound(5, 5) == 1.0
    assert upper_bound(0, 1000) == pytest.approx(1 - 0.05 ** (1 / 1000))
    assert lower_bound(0, 50) == 0.0 and lower_bound(50, 50) == pytest.approx(0.05 ** (1 / 50))


# --- the door's rule, many probes at once -----------------------------------------------------------


def test_the_vectorised_rule_is_the_doors_decide():
    rng = np.random.default_rng(3)
    nearest = rng.uniform(0.3, 0.7, 5000)
    second = np.where(rng.random(5000) < 0.2, np.inf, nearest + rng.uniform(0, 0.12, 5000))
    matches = rule_matches(nearest, second, threshold=0.55, margin=MARGIN)
    for first, other, matched in zip(nearest, second, matches, strict=True):
        candidates = [Candidate(1, float(first))] + ([Candidate(2, float(other))] if math.isfinite(other) else [])
        assert (decide(candidates, threshold=0.55, margin=MARGIN).shopper_id is not None) == matched


def test_the_gallery_search_finds_what_the_match_index_finds():
    gallery = synthetic_gallery(400, seed=4)
    search = GallerySearch(gallery.encodings_by_shopper)
    index = MatchIndex()
    index.build(gallery.encodings_by_shopper.items())
    _, probes = gallery.visits(200, seed=1)
    nearest, owner, second = search.nearest_two(probes[:, 0])
    for row, probe in enumerate(probes[:, 0]):
        first, other = index.search(probe)
        assert search.shopper_ids[owner[row]] == first.shopper_id
        assert nearest[row] == pytest.approx(first.distance, abs=1e-5)
        assert second[row] == pytest.approx(other.distance, abs=1e-5)


def test_the_match_index_hands_out_every_shoppers_encodings():
    gallery = synthetic_gallery(300, seed=8)
    for ivf_threshold in (50_000, 100):
        index = MatchIndex(ivf_threshold=ivf_threshold)
        index.build(gallery.encodings_by_shopper.items())
        index.remove(5)
        index.add(7, gallery.encodings_by_shopper[9])
        copied = index.encodings_by_shopper()
        assert set(copied) == set(gallery.encodings_by_shopper) - {5}
        assert np.array_equal(copied[7], gallery.encodings_by_shopper[9])
        assert np.array_equal(copied[300], gallery.encodings_by_shopper[300])


# --- the self-check on a gallery made by hand -------------------------------------------------------


def axis(position: int, length: float) -> np.ndarray:
    vector = np.zeros(128)
    vector[position] = length
    return vector


def test_lookalikes_take_each_other_for_themselves_and_templates_find_their_shopper():
    gallery = {
        1: axis(0, 1.0),
        2: axis(0, 1.0) + axis(1, 0.4),  # 0.4 from shopper 1
        3: np.vstack([axis(2, 3.0), axis(2, 3.0) + axis(3, 0.3)]),  # two templates 0.3 apart
        4: axis(4, 5.0),
    }
    check = gallery_self_check(gallery, thresholds=[0.45, 0.35, 0.2], margin=MARGIN)

    assert [figures.threshold for figures in check.figures] == [0.2, 0.35, 0.45]
    assert check.gallery_size == 4 and not check.sampled
    low, middle, high = check.figures
    assert (low.false_matches, middle.false_matches, high.false_matches) == (0, 0, 2)
    assert high.strangers == 4 and high.fpir == 0.5
    assert (low.genuine, low.true_matches, low.tir) == (1, 0, 0.0)
    assert (middle.true_matches, middle.tir) == (1, 1.0)
    # Two lookalikes are one event seen from both ends: the bound counts 1 pair in 2 trials.
    assert high.fpir_upper == pytest.approx(upper_bound(1, 2))


@pytest.mark.requirement("M5")
def test_a_lookalike_too_close_to_a_second_one_is_refused_by_the_margin():
    gallery = {1: axis(0, 1.0), 2: axis(0, 1.0) + axis(1, 0.40), 3: axis(0, 1.0) + axis(2, 0.42)}
    check = gallery_self_check(gallery, thresholds=[0.5], margin=MARGIN)
    # 1 sees 2 at 0.40 and 3 at 0.42: refused; 2 sees 1 at 0.40 and 3 at 0.58: taken for 1; 3 likewise.
    assert check.figures[0].false_matches == 2


def test_confirmed_pass_and_face_entries_are_genuine_probes_judged_by_the_doors_rule():
    gallery = {1: axis(0, 1.0), 2: axis(1, 1.0)}  # no shopper holds two templates: no genuine side of its own
    entries = np.array(
        [
            [0.30, 0.90],  # the pass's shopper nearest, the next far off: named at 0.35 and above
            [0.30, 0.33],  # another shopper within the margin: refused at every threshold
            [0.40, 0.38],  # another shopper nearer than the pass's: never named
            [0.20, np.inf],  # nobody else near
        ]
    )
    check = gallery_self_check(gallery, thresholds=[0.25, 0.35, 0.45], margin=MARGIN, confirmed_entries=entries)

    low, middle, high = check.figures
    assert (low.genuine, low.genuine_entries, low.true_matches) == (4, 4, 1)
    assert (middle.true_matches, middle.tir) == (2, 0.5)
    assert high.true_matches == 2
    assert gallery_self_check(gallery, thresholds=[0.45], margin=MARGIN).figures[0].genuine == 0


def test_huge_galleries_are_sampled_and_reproducibly():
    gallery = synthetic_gallery(3000, seed=2)
    first = gallery_self_check(gallery.encodings_by_shopper, thresholds=[0.6], margin=MARGIN, max_probes=500, seed=1)
    again = gallery_self_check(gallery.encodings_by_shopper, thresholds=[0.6], margin=MARGIN, max_probes=500, seed=1)
    everyone = gallery_self_check(gallery.encodings_by_shopper, thresholds=[0.6], margin=MARGIN, max_probes=None)
    assert first.sampled and first.figures[0].strangers == 500 and first == again
    assert not everyone.sampled and everyone.figures[0].strangers == 3000
    assert DEFAULT_MAX_PROBES == 10_000


def test_a_check_on_one_thread_finds_the_same_and_leaves_the_threads_as_they_were():
    gallery = synthetic_gallery(2000, seed=6)
    before = faiss.omp_get_max_threads()
    one = gallery_self_check(gallery.encodings_by_shopper, thresholds=[0.55], margin=MARGIN, threads=1)
    assert faiss.omp_get_max_threads() == before
    assert one == gallery_self_check(gallery.encodings_by_shopper, thresholds=[0.55], margin=MARGIN)


# --- Acceptance 1: the estimate is within its bound of the FPIR held-out strangers meet --------------


@pytest.mark.requirement("M5")
@pytest.mark.parametrize(
    ("size", "max_probes", "held_out", "thresholds"),
    [(1_000, None, 20_000, (0.5, 0.55, 0.6)), (100_000, 5_000, 6_000, (0.45, 0.5, 0.55))],
)
def test_the_self_check_estimate_is_within_its_bound_of_the_fpir_held_out_strangers_meet(
    size, max_probes, held_out, thresholds
):
    gallery = synthetic_gallery(size, seed=20260)
    check = gallery_self_check(
        gallery.encodings_by_shopper, thresholds=thresholds, margin=MARGIN, max_probes=max_probes, seed=7
    )
    search = GallerySearch(gallery.encodings_by_shopper)
    nearest, _, second = search.nearest_two(gallery.strangers(held_out, seed=11)[:, 0])

    assert check.sampled == (max_probes is not None)
    for figures in check.figures:
        measured = rule_matches(nearest, second, threshold=figures.threshold, margin=MARGIN).mean()
        measuring_error = 2 * math.sqrt(max(measured, 1 / held_out) * (1 - measured) / held_out)
        assert figures.false_matches > 0 and measured > 0  # the tail is seen, not an empty bound
        assert measured <= figures.fpir_upper + measuring_error
        assert abs(figures.fpir - measured) <= (figures.fpir_upper - figures.fpir) + measuring_error


def test_the_synthetic_population_has_the_published_tail_and_the_kits_distances():
    gallery = synthetic_gallery(3_000, seed=9, several_templates_share=1.0, most_templates=2)
    first = np.vstack([encodings[0] for encodings in gallery.encodings_by_shopper.values()]).astype(np.float64)
    squared = (first * first).sum(axis=1)
    between = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * first @ first.T, 0))
    strangers = between[np.triu_indices(len(first), 1)]
    genuine = np.array(
        [np.linalg.norm(encodings[0] - encodings[1]) for encodings in gallery.encodings_by_shopper.values()]
    )

    assert 2.5e-4 <= (strangers <= 0.6).mean() <= 1e-3  # about 5 in 10,000 strangers within 0.6
    assert 0.80 <= np.median(strangers) <= 0.87  # the kit: 0.833
    assert 0.32 <= np.median(genuine) <= 0.38  # the kit: 0.342
    assert (genuine <= 0.55).mean() >= 0.97


# --- the operating point ----------------------------------------------------------------------------


def figures(threshold, fpir_upper, tir=0.95, strangers=5000):
    return ThresholdFigures(
        threshold=threshold,
        strangers=strangers,
        false_matches=int(fpir_upper * strangers / 2),
        fpir=fpir_upper / 2,
        fpir_upper=fpir_upper,
        genuine=500 if tir is not None else 0,
        true_matches=int((tir or 0) * 500),
        tir=tir,
        tir_lower=None if tir is None else tir - 0.02,
    )


def self_check(*rows, size=5000):
    return SelfCheck(gallery_size=size, sampled=False, margin=MARGIN, figures=tuple(rows))


RULE = {"target_fpir": 0.01, "max_threshold": 0.55, "tir_floor": 0.9}


@pytest.mark.requirement("M5")
def test_the_largest_threshold_whose_bound_meets_the_target_is_chosen():
    point = operating_point(
        self_check(figures(0.45, 0.002, 0.91), figures(0.5, 0.008, 0.95), figures(0.55, 0.03, 0.97)), **RULE
    )
    assert (point.threshold, point.one_to_n, point.reason) == (0.5, True, "target_met")
    assert (point.fpir_upper, point.tir) == (0.008, 0.95)


@pytest.mark.requirement("M5")
def test_a_threshold_past_one_whose_bound_fails_is_not_taken():
    point = operating_point(self_check(figures(0.45, 0.004), figures(0.5, 0.012), figures(0.55, 0.009)), **RULE)
    assert point.threshold == 0.45


@pytest.mark.requirement("M5")
def test_never_above_the_configured_threshold():
    point = operating_point(self_check(figures(0.5, 0.001), figures(0.55, 0.002), figures(0.6, 0.003)), **RULE)
    assert point.threshold == 0.55


@pytest.mark.requirement("M5")
def test_when_no_threshold_meets_the_target_one_to_n_stops():
    point = operating_point(self_check(figures(0.45, 0.02), figures(0.5, 0.05), figures(0.55, 0.1)), **RULE)
    assert (point.threshold, point.one_to_n, point.reason) == (None, False, "no_threshold_meets_target")


@pytest.mark.requirement("M5")
def test_when_the_threshold_meeting_the_target_misses_too_many_shoppers_one_to_n_stops():
    point = operating_point(self_check(figures(0.45, 0.005, 0.85), figures(0.5, 0.02, 0.95)), **RULE)
    assert (point.threshold, point.one_to_n, point.reason, point.tir) == (None, False, "tir_below_floor", 0.85)


@pytest.mark.requirement("M5")
def test_without_a_genuine_side_the_bound_alone_decides():
    point = operating_point(self_check(figures(0.5, 0.004, None), figures(0.55, 0.009, None)), **RULE)
    assert (point.threshold, point.one_to_n, point.tir) == (0.55, True, None)


@pytest.mark.requirement("M5")
def test_small_galleries_keep_one_to_n_at_the_configured_threshold():
    assert small_gallery_size(0.01) == 20 and small_gallery_size(0.005) == 10
    tiny = self_check(figures(0.5, 0.2, strangers=12), figures(0.55, 0.26, strangers=12), size=12)
    point = operating_point(tiny, **RULE)
    assert (point.threshold, point.one_to_n, point.reason) == (0.55, True, "small_gallery")
    assert point.fpir_upper == pytest.approx(1 - (1 - 5e-4) ** 12)
    assert operating_point(tiny, **RULE, small_gallery=5).one_to_n is False


@pytest.mark.requirement("M5")
def test_galleries_too_small_to_bound_their_own_risk_stop_one_to_n_with_that_reason():
    few = self_check(figures(0.5, 0.0, strangers=300), figures(0.55, 0.0, strangers=300), size=300)
    few = SelfCheck(
        gallery_size=300,
        sampled=False,
        margin=MARGIN,
        figures=tuple(
            ThresholdFigures(row.threshold, 300, 0, 0.0, upper_bound(0, 150), 0, 0, None, None) for row in few.figures
        ),
    )
    point = operating_point(few, **RULE)
    assert (point.one_to_n, point.reason) == (False, "too_few_strangers")


@pytest.mark.requirement("M5")
def test_a_real_check_of_a_sparse_gallery_keeps_one_to_n_and_of_a_dense_one_stops_it():
    sparse = synthetic_gallery(2_000, seed=5, identity_scale=1.15)
    dense = synthetic_gallery(2_000, seed=5, identity_scale=0.8)
    thresholds = [0.40, 0.45, 0.50, 0.55]
    sparse_point = operating_point(
        gallery_self_check(sparse.encodings_by_shopper, thresholds=thresholds, margin=MARGIN), **RULE
    )
    dense_point = operating_point(
        gallery_self_check(dense.encodings_by_shopper, thresholds=thresholds, margin=MARGIN), **RULE
    )
    assert (sparse_point.one_to_n, sparse_point.threshold) == (True, 0.55)
    assert dense_point.one_to_n is False


# --- several frames ----------------------------------------------------------------------------------


def test_frames_that_name_the_same_shopper_match_at_their_largest_distance():
    assert frames_decide([Decision(7, 0.31), Decision(7, 0.42), Decision(7, 0.38)]) == Decision(7, 0.42)


def test_frames_that_disagree_are_no_match():
    assert frames_decide([Decision(7, 0.31), Decision(8, 0.35), Decision(7, 0.30)]) == Decision(None, 0.30)


def test_one_frame_without_a_match_makes_the_approach_no_match():
    assert frames_decide([Decision(7, 0.31), Decision(None, 0.58)]) == Decision(None, 0.31)


def test_frames_without_a_face_are_ignored():
    assert frames_decide([None, Decision(7, 0.31), None]) == Decision(7, 0.31)
    assert frames_decide([None, Decision(None, None)]) == Decision(None, None)
    assert frames_decide([None, None]) is None
    assert frames_decide([]) is None


def test_more_than_three_frames_are_refused():
    with pytest.raises(ValueError, match="at most 3 frames"):
        frames_decide([Decision(7, 0.3)] * 4)
