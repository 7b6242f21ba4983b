"""The in-memory match index: the encodings of one operator's consenting shoppers, searchable by distance.

Plain Python (numpy and faiss, no Django). Small galleries are searched exactly; from
`ivf_threshold` vectors on, an inverted-file index (faiss IVF) is trained on the gallery, and
only the `nprobe` nearest lists are scanned. Distances are Euclidean, as face_recognition's.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import faiss
import numpy as np

DIMENSIONS = 128


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Search for one probe, or change one shopper, on the calling thread alone.

    Left to its default, faiss runs these over OpenMP threads for every core, and those threads
    spin for milliseconds afterwards: 0.6 ms of exact search cost 8 ms of CPU here, and adding
    or removing a shopper in an IVF index 7.5 ms, taken from the engine, the web process and the
    database on a small machine. One probe or one shopper gains nothing from them. The setting
    belongs to the calling thread, and builds keep every core.
    """
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


@dataclass(frozen=True)
class Candidate:
    shopper_id: int
    distance: float


def ivf_lists_for(count: int) -> int:
    return int(min(4096, max(64, math.sqrt(count))))


class MatchIndex:
    def __init__(self, *, ivf_threshold: int = 50_000, nprobe: int = 48) -> None:
        self.ivf_threshold = ivf_threshold
        self.nprobe = nprobe
        self._lock = threading.RLock()
        self._index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatL2(DIMENSIONS))
        self._owner: dict[int, int] = {}  # vector id -> shopper id
        self._vectors: dict[int, list[int]] = {}  # shopper id -> vector ids
        self._next_id = 0

    def __len__(self) -> int:
        return len(self._vectors)

    @property
    def vector_count(self) -> int:
        return self._index.ntotal

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(self._index, faiss.IndexIVF) else "exact"

    def build(self, items: Iterable[tuple[int, np.ndarray]]) -> None:
        """Replace everything with (shopper id, encodings) pairs, training an IVF index when large."""
        shoppers, blocks = [], []
        for shopper_id, encodings in items:
            block = np.atleast_2d(np.asarray(encodings, dtype=np.float32))
            if len(block):
                shoppers.append((shopper_id, len(block)))
                blocks.append(block)
        vectors = np.ascontiguousarray(np.vstack(blocks)) if blocks else np.zeros((0, DIMENSIONS), np.float32)
        ids = np.arange(len(vectors), dtype=np.int64)
        with self._lock:
            self._owner, self._vectors, self._next_id = {}, {}, len(vectors)
            position = 0
            for shopper_id, count in shoppers:
                vector_ids = list(range(position, position + count))
                self._vectors[shopper_id] = vector_ids
                self._owner.update(dict.fromkeys(vector_ids, shopper_id))
                position += count
            self._index = self._new_index(vectors)
            if len(vectors):
                self._index.add_with_ids(vectors, ids)

    def _new_index(self, training: np.ndarray) -> faiss.Index:
        if len(training) < self.ivf_threshold:
            return faiss.IndexIDMap2(faiss.IndexFlatL2(DIMENSIONS))
        lists = ivf_lists_for(len(training))
        quantizer = faiss.IndexFlatL2(DIMENSIONS)
        index = faiss.IndexIVFFlat(quantizer, DIMENSIONS, lists, faiss.METRIC_L2)
        sample = training
        if len(training) > lists * 256:
            rows = np.random.default_rng(0).choice(len(training), lists * 256, replace=False)
            sample = training[np.sort(rows)]
        index.train(sample)
        index.nprobe = self.nprobe
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct and remove by id
        return index

    def add(self, shopper_id: int, encodings: np.ndarray) -> None:
        """Put (or replace) a shopper's encodings."""
        block = np.ascontiguousarray(np.atleast_2d(np.asarray(encodings, dtype=np.float32)))
        with self._lock:
            self.remove(shopper_id)
            if not len(block):
                return
            ids = np.arange(self._next_id, self._next_id + len(block), dtype=np.int64)
            self._next_id += len(block)
            with _one_thread():
                self._index.add_with_ids(block, ids)
            self._vectors[shopper_id] = ids.tolist()
            self._owner.update(dict.fromkeys(ids.tolist(), shopper_id))

    def remove(self, shopper_id: int) -> None:
        with self._lock:
            vector_ids = self._vectors.pop(shopper_id, None)
            if vector_ids:
                with _one_thread():
                    self._index.remove_ids(np.asarray(vector_ids, dtype=np.int64))
                for vector_id in vector_ids:
                    self._owner.pop(vector_id, None)

    def __contains__(self, shopper_id: int) -> bool:
        return shopper_id in self._vectors

    def search(self, probe: np.ndarray, *, shoppers: int = 2) -> list[Candidate]:
        """The nearest `shoppers` distinct shoppers, nearest first (each at its closest template)."""
        query = np.ascontiguousarray(np.asarray(probe, dtype=np.float32).reshape(1, DIMENSIONS))
        with self._lock:
            if not self._index.ntotal:
                return []
            neighbours = min(self._index.ntotal, 4 * shoppers + 4)
            with _one_thread():
                squared, ids = self._index.search(query, neighbours)
            best: dict[int, float] = {}
            for distance, vector_id in zip(squared[0], ids[0], strict=True):
                owner = self._owner.get(int(vector_id))
                if vector_id >= 0 and owner is not None and owner not in best:
                    best[owner] = math.sqrt(max(float(distance), 0.0))
        ranked = sorted(best.items(), key=lambda item: item[1])[:shoppers]
        return [Candidate(shopper_id, distance) for shopper_id, distance in ranked]

    def encodings_by_shopper(self) -> dict[int, np.ndarray]:
        """A copy of every shopper's encodings, for the gallery self-check run beside the index."""
        with self._lock:
            shoppers = list(self._vectors.items())
            if not shoppers:
                return {}
            ids = np.asarray([vector_id for _, vector_ids in shoppers for vector_id in vector_ids], dtype=np.int64)
            stored = self._index.reconstruct_batch(ids)
        result, position = {}, 0
        for shopper_id, vector_ids in shoppers:
            result[shopper_id] = stored[position : position + len(vector_ids)]
            position += len(vector_ids)
        return result

    def nearest_other(self, shopper_id: int, probe: np.ndarray) -> float | None:
        """How far the nearest shopper other than `shopper_id` is from the probe; None when nobody else is held."""
        for candidate in self.search(probe, shoppers=2):
            if candidate.shopper_id != shopper_id:
                return candidate.distance
        return None

    def distance_to(self, shopper_id: int, probe: np.ndarray) -> float | None:
        """1:1: the distance from the probe to one shopper's closest template, or None if not held."""
        with self._lock:
            vector_ids = self._vectors.get(shopper_id)
            if not vector_ids:
                return None
            stored = np.vstack([self._index.reconstruct(int(vector_id)) for vector_id in vector_ids])
        return float(np.min(np.linalg.norm(stored - np.asarray(probe, dtype=np.float32), axis=1)))


@dataclass(frozen=True)
class Decision:
    shopper_id: int | None
    distance: float | None


def decide(candidates: list[Candidate], *, threshold: float, margin: float) -> Decision:
    """A match only when the nearest shopper is within the threshold and clearly nearer than the next."""
    if not candidates or candidates[0].distance > threshold:
        return Decision(None, candidates[0].distance if candidates else None)
    if len(candidates) > 1 and candidates[1].distance - candidates[0].distance < margin:
        return Decision(None, candidates[0].distance)
    return Decision(candidates[0].shopper_id, candidates[0].distance)
