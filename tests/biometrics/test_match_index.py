"""The match workers' in-memory index, on synthetic encodings shaped like faces (centre per person, noise)."""

import time

import faiss
import numpy as np
import pytest

from biometrics.match_index import Candidate, Decision, MatchIndex, decide

RNG = np.random.default_rng(11)


def people(count: int, *, spread: float = 0.05) -> np.ndarray:
    return RNG.normal(0, spread, (count, 128))


def near(centre: np.ndarray, noise: float = 0.005) -> np.ndarray:
    return centre + RNG.normal(0, noise, 128)


def test_search_ranks_distinct_shoppers_each_at_their_closest_template():
    centres = people(50)
    index = MatchIndex()
    index.build((shopper, np.vstack([near(centres[shopper]), near(centres[shopper])])) for shopper in range(50))

    found = index.search(near(centres[7]))

    assert found[0].shopper_id == 7
    assert len({candidate.shopper_id for candidate in found}) == len(found) == 2
    assert found[0].distance < found[1].distance
    assert index.kind == "exact" and len(index) == 50 and index.vector_count == 100


def test_added_replaced_and_removed_shoppers_are_found_accordingly():
    centres = people(20)
    index = MatchIndex()
    index.build((shopper, centres[shopper]) for shopper in range(10))

    index.add(15, centres[15])
    assert index.search(near(centres[15]))[0].shopper_id == 15
    index.add(15, centres[3])  # re-enrolled: the old templates go
    assert index.vector_count == 11
    assert index.distance_to(15, centres[15]) > 0.1
    index.remove(3)
    index.remove(15)
    assert 3 not in index and 15 not in index
    assert {candidate.shopper_id for candidate in index.search(centres[3], shoppers=10)}.isdisjoint({3, 15})


@pytest.mark.requirement("M4")
def test_one_to_one_measures_against_that_shopper_only():
    centres = people(5)
    index = MatchIndex()
    index.build((shopper, centres[shopper]) for shopper in range(5))

    assert index.distance_to(2, centres[2]) == pytest.approx(0, abs=1e-6)
    assert index.distance_to(2, centres[4]) == pytest.approx(np.linalg.norm(centres[2] - centres[4]), rel=1e-4)
    assert index.distance_to(99, centres[2]) is None


def test_a_large_gallery_uses_an_inverted_file_and_still_finds_the_same_people():
    centres = people(3000)
    index = MatchIndex(ivf_threshold=2000, nprobe=16)
    index.build((shopper, centres[shopper]) for shopper in range(3000))
    exact = MatchIndex()
    exact.build((shopper, centres[shopper]) for shopper in range(3000))

    probes = [near(centres[shopper]) for shopper in range(0, 3000, 30)]
    assert index.kind == "ivf"
    assert all(index.search(probe)[0].shopper_id == exact.search(probe)[0].shopper_id for probe in probes)
    index.remove(0)
    assert index.search(centres[0])[0].shopper_id != 0


def test_an_empty_index_finds_nobody():
    index = MatchIndex()
    index.build([])

    assert index.search(people(1)[0]) == []
    assert decide([], threshold=0.5, margin=0.05) == Decision(None, None)


@pytest.mark.requirement("M5")
@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ([Candidate(1, 0.30), Candidate(2, 0.50)], 1),
        ([Candidate(1, 0.55), Candidate(2, 0.70)], None),  # beyond the threshold
        ([Candidate(1, 0.30), Candidate(2, 0.33)], None),  # two shoppers too alike to tell apart
        ([Candidate(1, 0.30)], 1),
    ],
)
def test_a_match_needs_the_threshold_and_the_margin(candidates, expected):
    decision = decide(candidates, threshold=0.5, margin=0.05)

    assert decision.shopper_id == expected
    assert decision.distance == candidates[0].distance


def cpu_left_burning(operation, times: int = 40) -> float:
    """Seconds of this process's CPU beyond the operation's own time, per call, with gaps between calls."""
    spent = 0.0
    cpu_before = time.process_time()
    for number in range(times):
        started = time.perf_counter()
        operation(number)
        spent += time.perf_counter() - started
        time.sleep(0.01)  # the gap between doors' probes, when spinning threads would burn a core
    return (time.process_time() - cpu_before - spent) / times


def test_searches_and_single_changes_leave_no_threads_busy_after_them():
    """On a small machine, threads spinning after each search or change would take a core from the
    engine, the web process and the database."""
    centres = people(10_000)
    exact, ivf = MatchIndex(), MatchIndex(ivf_threshold=3_000)
    for index in (exact, ivf):
        index.build((shopper, centres[shopper]) for shopper in range(10_000))
    threads_before = faiss.omp_get_max_threads()

    def change(number):
        ivf.add(20_000 + number, near(centres[number]))
        ivf.remove(number)

    # A few milliseconds of CPU in all, not several per call.
    assert cpu_left_burning(lambda number: exact.search(centres[number])) < 0.002
    assert cpu_left_burning(change) < 0.002
    assert faiss.omp_get_max_threads() == threads_before  # the caller's setting is left as it was
