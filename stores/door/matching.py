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
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connections
from django.db.models import Max
from django.utils import timezone

from biometrics import engine
from biometrics.engine_config import engine_settings
from biometrics.identification import frames_decide, gallery_self_check, operating_point, small_gallery_size
from biometrics.match_index import Decision, MatchIndex, decide
from biometrics.models import MatchIndexChange
from biometrics.services import template_encodings_by_shopper
from consent.selectors import face_consent_pairs
from stores.door.probes import ProbeGone, probe_photo_take
from stores.door.services import ONE_TO_ONE_REQUIRED
from stores.models import GalleryCheck, MatchShard, Operator
from stores.selectors import confirmed_entry_distances, operator_match_rule, operator_target_fpir
from stores.services import gallery_check_record, gallery_check_send
from stores.shards.selectors import operators_served, shards_served
from stores.shards.services import operator_shard_move_complete

logger = logging.getLogger(__name__)


class OperatorIndexes:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._indexes: dict[int, MatchIndex] = {}
        self._seen_change = -1  # -1: not built yet
        self._refreshed_at = 0.0
        self._keeper: threading.Thread | None = None
        self._stop_keeping = threading.Event()
        self._sizes_moved = True  # a gallery may have grown or shrunk since the last look for due checks
        self.built_in: float | None = None
        # The shards this process serves (decision 0041) and their operators, as of the last build or refresh;
        # None: every operator (a worker of all shards).
        self.shards: list[str] = []
        self._served: set[int] | None = set()
        self._map_read_at = 0.0

    def _new_index(self) -> MatchIndex:
        return MatchIndex(ivf_threshold=settings.MATCH_IVF_THRESHOLD, nprobe=settings.MATCH_IVF_NPROBE)

    def build(self) -> None:
        """Read every consenting shopper's templates; called at worker start."""
        started = time.perf_counter()
        with self._lock:
            last_change = MatchIndexChange.objects.aggregate(last=Max("id"))["last"] or 0
            shards, served = _shards_and_operators()
            pairs = [pair for pair in face_consent_pairs() if served is None or pair[0] in served]
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
            self._refreshed_at = time.monotonic() - (time.perf_counter() - started)
            self._sizes_moved = True
            self.built_in = time.perf_counter() - started
            self.shards, self._served = shards, served
            self._map_read_at = self._refreshed_at
        logger.info(
            "Match indexes built: %d operators, %d shoppers, in %.1fs",
            len(self._indexes),
            sum(map(len, self._indexes.values())),
            self.built_in,
        )

    def refresh(self, *, shards_now: bool = False) -> None:
        """Apply the change notes written since the last look (usually none: one indexed query); rebuild when
        the operators of this worker's shards changed. Then switch the route of operators moving here, whose
        indexes are now held."""
        with self._lock:
            started = time.monotonic()
            # The shard map is read again at most every SHARD_MAP_SECONDS (or when asked: a probe for an operator
            # this worker does not hold), not on every look at the change notes.
            look_at_map = shards_now or started - self._map_read_at >= SHARD_MAP_SECONDS
            if self._seen_change >= 0 and look_at_map and _shards_and_operators() != (self.shards, self._served):
                self.build()
            else:
                self._refresh()
            self._refreshed_at = started
            if look_at_map:
                self._map_read_at = started
                for operator_id in _moving_here(self.shards, self._served):
                    operator_shard_move_complete(operator_id=operator_id, shard_name=_moving_to(operator_id))

    @property
    def built(self) -> bool:
        return self._seen_change >= 0

    def serves(self, operator_id: int) -> bool:
        """Whether this worker holds the operator's index (built: every operator, for a worker of all shards)."""
        return self._seen_change >= 0 and (self._served is None or operator_id in self._served)

    def _refresh(self) -> None:
        """`refresh` under its lock."""
        stale = time.monotonic() - self._refreshed_at > settings.MATCH_INDEX_NOTES_KEPT_HOURS * 3600 / 2
        if self._seen_change < 0 or stale:  # not built, or notes it has not read may be purged by now
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
        self._sizes_moved = True

    def _reread(self, shopper_id: int) -> None:
        served = self._served
        consented = {
            operator_id
            for operator_id, _ in face_consent_pairs(shopper_id=shopper_id)
            if served is None or operator_id in served
        }
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
                self.send_due_checks()
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

    def encodings_for(self, operator_id: int) -> dict[int, np.ndarray]:
        """One operator's gallery as the door searches it (shopper -> encodings), for its gallery check."""
        index = self.index_for(operator_id)
        return index.encodings_by_shopper() if index is not None else {}

    def gallery_sizes(self) -> dict[int, int]:
        with self._lock:
            return {operator_id: len(index) for operator_id, index in self._indexes.items()}

    def checks_due(self) -> list[int]:
        """Operators whose gallery moved enough since its last check to need another (`gallery_check_due`)."""
        sizes = self.gallery_sizes()
        targets = dict(Operator.objects.filter(pk__in=list(sizes)).values_list("pk", "target_fpir"))
        latest = (
            GalleryCheck.objects.filter(operator_id__in=list(sizes))
            .values("operator_id")
            .annotate(last=Max("id"))
            .values_list("last", flat=True)
        )
        checked = dict(GalleryCheck.objects.filter(id__in=list(latest)).values_list("operator_id", "gallery_size"))
        return sorted(
            operator_id
            for operator_id, size in sizes.items()
            if operator_id in targets
            and gallery_check_due(size, checked.get(operator_id), target_fpir=targets[operator_id])
        )

    def send_due_checks(self) -> None:
        """Send a gallery check for each operator whose gallery moved enough (once per operator per five
        minutes across every match worker: the shared cache decides who sends)."""
        if not self._sizes_moved:
            return
        self._sizes_moved = False
        for operator_id in self.checks_due():
            if cache.add(f"faceconsent:gallery-check-sent:{operator_id}", 1, timeout=300):
                gallery_check_send(operator_id=operator_id, trigger="gallery_changed")

    def reset(self) -> None:
        with self._lock:
            self._indexes, self._seen_change, self._refreshed_at = {}, -1, 0.0
            self.shards, self._served = [], set()


INDEXES = OperatorIndexes()
# How often a match worker reads the shard map again (an operator moving here or away).
SHARD_MAP_SECONDS = 1.0


def _shards_and_operators() -> tuple[list[str], set[int] | None]:
    """The shards this process serves (all of them, when MATCH_SHARDS is empty) and their operators."""
    wanted = shards_served()
    names = sorted(MatchShard.objects.values_list("name", flat=True)) if wanted is None else sorted(wanted)
    return names, operators_served(wanted)


def _moving_here(shards: list[str], served: set[int] | None) -> list[int]:
    moving = Operator.objects.filter(moving_to__name__in=shards).values_list("pk", flat=True)
    return [operator_id for operator_id in moving if served is None or operator_id in served]


def _moving_to(operator_id: int) -> str:
    return Operator.objects.filter(pk=operator_id).values_list("moving_to__name", flat=True).first() or ""


def gallery_check_due(size: int, last_size: int | None, *, target_fpir: float | None = None) -> bool:
    """A gallery is checked again when it grew or shrank by more than MATCH_GALLERY_CHECK_CHANGE of its size
    at the last check, or was never checked; galleries that stayed small for the target (`small_gallery_size`)
    keep 1:N whatever a check says, so their changes trigger none."""
    if max(size, last_size or 0) <= small_gallery_size(target_fpir or settings.MATCH_TARGET_FPIR):
        return False
    if last_size is None:
        return True
    return abs(size - last_size) > settings.MATCH_GALLERY_CHECK_CHANGE * last_size


def gallery_check_run(*, operator_id: int, trigger: str) -> GalleryCheck | None:
    """Measure one operator's false identification risk on its own gallery, in this worker's memory, and
    store the operating point it gives (docs/decisions/0025). None if the operator is gone."""
    operator = Operator.objects.filter(pk=operator_id).first()
    if operator is None:
        return None
    INDEXES.refresh()  # every change noted so far, even while the keeper thread is half-way through a burst
    if not INDEXES.serves(operator_id):  # another shard's operator: its own workers check it
        logger.warning("Gallery check of operator %s skipped: not on this worker's shards", operator_id)
        return None
    return gallery_check_over(operator, INDEXES.encodings_for(operator_id), trigger=trigger)


def gallery_check_over(
    operator: Operator, encodings_by_shopper: Mapping[int, np.ndarray], *, trigger: str, threads: int | None = None
) -> GalleryCheck | None:
    """The check of `gallery_check_run` over the given gallery (the operator's, as its match workers hold it),
    and the operating point it gives, stored."""
    rule = operator_match_rule(operator)
    # The grid up to the operator's ceiling, the ceiling itself always tried (as MATCH_THRESHOLD is).
    thresholds = sorted({value for value in settings.MATCH_THRESHOLD_GRID if value <= rule.ceiling} | {rule.ceiling})
    entries = confirmed_entry_distances(
        operator_id=operator.pk,
        since=timezone.now() - timedelta(days=settings.MATCH_GALLERY_CHECK_ENTRY_DAYS),
        limit=settings.MATCH_GALLERY_CHECK_SAMPLE,
    )
    check = gallery_self_check(
        encodings_by_shopper,
        thresholds=thresholds,
        margin=rule.margin,
        max_probes=settings.MATCH_GALLERY_CHECK_SAMPLE,
        seed=0,
        threads=threads or _check_threads(),
        confirmed_entries=np.asarray(entries, dtype=np.float64).reshape(-1, 2),
    )
    point = operating_point(
        check,
        target_fpir=operator_target_fpir(operator),
        max_threshold=rule.ceiling,
        tir_floor=settings.MATCH_TIR_FLOOR,
    )
    return gallery_check_record(
        operator_id=operator.pk,
        trigger=trigger,
        check=check,
        point=point,
        thresholds=thresholds,
        tir_floor=settings.MATCH_TIR_FLOOR,
    )


def _check_threads() -> int:
    """Every core but one: the check runs in a match worker, beside the doors' probes."""
    return max(1, (os.cpu_count() or 1) - 1)


def gallery_checks_run(*, trigger: str, shard: str = "") -> list[int]:
    """The nightly run: every operator with a gallery in this worker, or a check on record (a gallery that
    emptied is checked once more); with `shard`, those on that shard only."""
    INDEXES.refresh_unless_kept()
    checked = set(GalleryCheck.objects.values_list("operator_id", flat=True))
    operators = set(INDEXES.gallery_sizes()) | {operator_id for operator_id in checked if INDEXES.serves(operator_id)}
    if shard:
        operators &= set(Operator.objects.filter(match_shard__name=shard).values_list("pk", flat=True))
    return [
        recorded.pk
        for operator_id in sorted(operators)
        if (recorded := gallery_check_run(operator_id=operator_id, trigger=trigger)) is not None
    ]


@dataclass(frozen=True)
class ProbeResult:
    face_found: bool
    shopper_id: int | None = None
    distance: float | None = None
    error: str | None = None
    engine_ms: float | None = None  # finding and encoding the face in a photo probe
    # 1:1 matches: how far the nearest other shopper of the operator's gallery was, for the gallery check's
    # genuine side (None for 1:N, or when nobody else is held).
    nearest_other: float | None = None


def match_probe(
    *,
    operator_id: int,
    photo: bytes | None = None,
    encoding: list[float] | None = None,
    shopper_id: int | None = None,
    photos: list[bytes] | None = None,
    encodings: list[list[float]] | None = None,
    threshold: float | None = None,
    target_fpir: float | None = None,
    ceiling: float | None = None,
    margin: float | None = None,
) -> ProbeResult:
    """Search one operator's index for a probe (1:N), or compare it with one shopper (1:1).

    A probe is one frame (`photo` or `encoding`) or up to three of one approach (`photos` or `encodings`):
    then a match needs every frame with a face to name the same shopper (`frames_decide`). 1:N uses the
    operator's `threshold` from its gallery check and its `margin`; None (never checked) is the operator's
    `ceiling` for a gallery small enough for the operator's `target_fpir` (None: the site's) on the model's
    published tail alone, and `one_to_one_required` for a larger one. 1:1 compares with the operator's
    `ceiling`: one comparison, whatever the gallery's size. A ceiling or margin left out is the site's
    (MATCH_THRESHOLD, MATCH_MARGIN), and neither is ever looser than the site's. The photos, and the
    probe's encodings, live only in this call's memory.
    """
    INDEXES.refresh_unless_kept()
    if not INDEXES.serves(operator_id):  # moved to this shard since the last look, or not (yet) built
        INDEXES.refresh(shards_now=True)
        if not INDEXES.serves(operator_id):  # never answer no_match from an index this worker does not hold
            return ProbeResult(face_found=False, error="not_served")
    index = INDEXES.index_for(operator_id)
    ceiling = min(ceiling if ceiling is not None else settings.MATCH_THRESHOLD, settings.MATCH_THRESHOLD)
    margin = max(margin if margin is not None else settings.MATCH_MARGIN, settings.MATCH_MARGIN)
    if shopper_id is not None:
        threshold = ceiling
    elif threshold is None:
        if index is not None and len(index) > small_gallery_size(target_fpir or settings.MATCH_TARGET_FPIR):
            return ProbeResult(face_found=False, error=ONE_TO_ONE_REQUIRED)
        threshold = ceiling
    else:
        threshold = min(threshold, ceiling)
    frames: list = list(photos or []) + list(encodings or [])
    if photo is not None or encoding is not None:
        frames.append(photo if photo is not None else encoding)
    decisions: list[Decision | None] = []
    gaps: list[float | None] = []  # 1:1: per matched frame, how much farther the nearest other shopper is
    engine_ms = None
    for frame in frames:
        if isinstance(frame, bytes):
            started = time.perf_counter()
            try:
                probe = engine.probe_encoding(frame, engine_settings())
            except engine.FaceRefused as refusal:
                return ProbeResult(
                    face_found=False, error=refusal.code, engine_ms=(engine_ms or 0) + _ms_since(started)
                )
            engine_ms = (engine_ms or 0) + _ms_since(started)
        else:
            probe = np.asarray(frame, dtype=np.float64)
        decisions.append(None if probe is None else _decide(index, probe, shopper_id, threshold, margin))
        if probe is not None and shopper_id is not None and decisions[-1].shopper_id is not None:
            gaps.append(_gap_to_the_others(index, probe, shopper_id, decisions[-1].distance))
    if all(decision is None for decision in decisions):
        return ProbeResult(face_found=False, engine_ms=engine_ms)
    decision = decisions[0] if len(decisions) == 1 else frames_decide(decisions)
    nearest_other = None
    if decision.shopper_id is not None and gaps and None not in gaps:
        nearest_other = decision.distance + min(gaps)
    return ProbeResult(
        face_found=True,
        shopper_id=decision.shopper_id,
        distance=decision.distance,
        engine_ms=engine_ms,
        nearest_other=nearest_other,
    )


def _gap_to_the_others(index: MatchIndex, probe: np.ndarray, shopper_id: int, distance: float) -> float | None:
    """How much farther than the pass's shopper the nearest other shopper of the gallery is (None: nobody
    else is held). With the largest frame distance, the smallest gap over the frames says what 1:N with
    the door's rule would have answered for the whole approach, at any threshold (docs/decisions/0025)."""
    other = index.nearest_other(shopper_id, probe)
    return None if other is None else other - distance


def probe_serve(
    *,
    operator_id: int,
    probe_id: str,
    photo: dict[str, str] | None = None,
    photos: list[dict[str, str]] | None = None,
    **probe,
) -> dict:
    """Take a door probe's sealed photos from wherever they waited, match it, and answer as the door reads
    it: ids and a distance, or the error that makes the door answer at once rather than wait out its
    timeout. The keyword arguments are the probe's message (`match_probe`'s, photos as references)."""
    try:
        opened = probe_photo_take(photo, probe_id=probe_id) if photo else None
        frames = [probe_photo_take(reference, probe_id=f"{probe_id}.{n}") for n, reference in enumerate(photos or [])]
        return asdict(match_probe(operator_id=operator_id, photo=opened, photos=frames or None, **probe))
    except ProbeGone:
        return asdict(ProbeResult(face_found=False, error="probe_expired"))
    except Exception:
        logger.exception("A door probe failed in the match worker")
        return asdict(ProbeResult(face_found=False, error="worker_failed"))


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _decide(
    index: MatchIndex | None, probe: np.ndarray, shopper_id: int | None, threshold: float, margin: float
) -> Decision:
    if index is None:
        return Decision(None, None)
    if shopper_id is not None:
        distance = index.distance_to(shopper_id, probe)
        if distance is None or distance > threshold:
            return Decision(None, distance)
        return Decision(shopper_id, distance)
    return decide(index.search(probe), threshold=threshold, margin=margin)
