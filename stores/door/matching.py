"""The match worker's memory: one index per operator, holding only shoppers with active `face_entry` consent.

Built when a worker process starts, and kept up to date from the change notes
(`MatchIndexChange`) written with each consent or template change: a thread in each match worker
reads new notes every MATCH_INDEX_POLL_SECONDS, so a match itself only searches memory; without
that thread (tasks run in the caller's process) each match reads the notes first. A stale
index can only delay a match, never allow one: the door confirms every candidate against the
database before it answers.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace

import numpy as np
from django.conf import settings
from django.db import close_old_connections, connections
from django.db.models import Max

from biometrics import engine
from biometrics.engine_config import engine_settings
from biometrics.match_index import MatchIndex, decide
from biometrics.models import MatchIndexChange
from biometrics.services import template_encodings_by_shopper
from consent.selectors import face_consent_pairs

logger = logging.getLogger(__name__)


class OperatorIndexes:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._indexes: dict[int, MatchIndex] = {}
        self._seen_change = -1  # -1: not built yet
        self._refreshed_at = 0.0
        self._keeper: threading.Thread | None = None
        self._stop_keeping = threading.Event()
        self.built_in: float | None = None

    def _new_index(self) -> MatchIndex:
        return MatchIndex(ivf_threshold=settings.MATCH_IVF_THRESHOLD, nprobe=settings.MATCH_IVF_NPROBE)

    def build(self) -> None:
        """Read every consenting shopper's templates; called at worker start."""
        started = time.perf_counter()
        with self._lock:
            last_change = MatchIndexChange.objects.aggregate(last=Max("id"))["last"] or 0
            pairs = face_consent_pairs()
            encodings = template_encodings_by_shopper(shopper_ids={shopper for _, shopper in pairs})
            by_operator: dict[int, list[tuple[int, np.ndarray]]] = {}
            for operator_id, shopper_id in pairs:
                if shopper_id in encodings:
                    by_operator.setdefault(operator_id, []).append((shopper_id, encodings[shopper_id]))
            self._indexes = {}
            for operator_id, items in by_operator.items():
                index = self._new_index()
                index.build(items)
                self._indexes[operator_id] = index
            self._seen_change = last_change
            self.built_in = time.perf_counter() - started
        logger.info(
            "Match indexes built: %d operators, %d shoppers, in %.1fs",
            len(self._indexes),
            sum(map(len, self._indexes.values())),
            self.built_in,
        )

    def refresh(self) -> None:
        """Apply the change notes written since the last look (usually none: one indexed query)."""
        with self._lock:
            started = time.monotonic()
            self._refresh()
            self._refreshed_at = started

    def _refresh(self) -> None:
        """`refresh` under its lock."""
        if self._seen_change < 0:
            self.build()
            return
        changes = list(
            MatchIndexChange.objects.filter(id__gt=self._seen_change).order_by("id").values_list("id", "shopper_id")
        )
        if not changes:
            return
        for shopper_id in {shopper_id for _, shopper_id in changes}:
            self._reread(shopper_id)
        self._seen_change = changes[-1][0]

    def _reread(self, shopper_id: int) -> None:
        consented = {operator_id for operator_id, _ in face_consent_pairs(shopper_id=shopper_id)}
        encodings = template_encodings_by_shopper(shopper_ids=[shopper_id]).get(shopper_id)
        for operator_id in set(self._indexes) | consented:
            if operator_id in consented and encodings is not None:
                self._indexes.setdefault(operator_id, self._new_index()).add(shopper_id, encodings)
            elif operator_id in self._indexes:
                self._indexes[operator_id].remove(shopper_id)

    def refresh_unless_kept(self) -> None:
        """Before a match: nothing to do while the keeper thread runs and has looked lately."""
        keeper = self._keeper
        interval = settings.MATCH_INDEX_POLL_SECONDS
        if keeper is not None and keeper.is_alive() and time.monotonic() - self._refreshed_at < 3 * interval:
            return
        self.refresh()

    def keep_fresh(self) -> threading.Thread:
        """Start the thread that builds the indexes and then applies new change notes as they come."""
        with self._lock:
            if self._keeper is None or not self._keeper.is_alive():
                self._stop_keeping.clear()
                self._keeper = threading.Thread(target=self._keep, name="match-index-keeper", daemon=True)
                self._keeper.start()
            return self._keeper

    def stop_keeping(self) -> None:
        self._stop_keeping.set()
        if self._keeper is not None:
            self._keeper.join(timeout=10)

    def _keep(self) -> None:
        failures = 0
        while not self._stop_keeping.is_set():
            try:
                self.refresh()
                failures = 0
            except Exception:  # the database is away: matches refresh for themselves until it is back
                if not failures:
                    logger.exception("Refreshing the match indexes failed; retrying with back-off")
                failures += 1
            finally:
                close_old_connections()
            interval = settings.MATCH_INDEX_POLL_SECONDS
            self._stop_keeping.wait(min(5.0, interval * 2**failures) if failures else interval)
        connections.close_all()

    def index_for(self, operator_id: int) -> MatchIndex | None:
        return self._indexes.get(operator_id)

    def reset(self) -> None:
        with self._lock:
            self._indexes, self._seen_change, self._refreshed_at = {}, -1, 0.0


INDEXES = OperatorIndexes()


@dataclass(frozen=True)
class ProbeResult:
    face_found: bool
    shopper_id: int | None = None
    distance: float | None = None
    error: str | None = None
    engine_ms: float | None = None  # finding and encoding the face in a photo probe


def match_probe(
    *, operator_id: int, photo: bytes | None = None, encoding: list[float] | None = None, shopper_id: int | None = None
) -> ProbeResult:
    """Search one operator's index for a probe (1:N), or compare it with one shopper (1:1).

    The photo, and the probe's encoding, live only in this call's memory.
    """
    INDEXES.refresh_unless_kept()
    if photo is None:
        return _search(operator_id, np.asarray(encoding, dtype=np.float64), shopper_id)
    started = time.perf_counter()
    try:
        probe = engine.probe_encoding(photo, engine_settings())
    except engine.FaceRefused as refusal:
        return ProbeResult(face_found=False, error=refusal.code, engine_ms=_ms_since(started))
    engine_ms = _ms_since(started)
    if probe is None:
        return ProbeResult(face_found=False, engine_ms=engine_ms)
    return replace(_search(operator_id, probe, shopper_id), engine_ms=engine_ms)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _search(operator_id: int, probe: np.ndarray, shopper_id: int | None) -> ProbeResult:
    index = INDEXES.index_for(operator_id)
    if index is None:
        return ProbeResult(face_found=True)
    if shopper_id is not None:
        distance = index.distance_to(shopper_id, probe)
        if distance is None or distance > settings.MATCH_THRESHOLD:
            return ProbeResult(face_found=True, distance=distance)
        return ProbeResult(face_found=True, shopper_id=shopper_id, distance=distance)
    decision = decide(index.search(probe), threshold=settings.MATCH_THRESHOLD, margin=settings.MATCH_MARGIN)
    return ProbeResult(face_found=True, shopper_id=decision.shopper_id, distance=decision.distance)
