"""Matching runs in the workers of the `match` queue, each holding the operators' indexes in memory.

Light to import: the door's web process imports this module to send a probe as a task, so the match index
(faiss) and the face engine (`stores.door.matching`) are imported only where a task or a worker signal
runs, in the match worker.
"""

from __future__ import annotations

import logging
import sys

from celery import current_app, shared_task
from celery.signals import celeryd_after_setup, worker_process_init, worker_ready, worker_shutting_down

from stores.door.probes import answers_by_redis, probe_answer_send
from stores.door.services import MATCH_PROBE_TASK
from stores.services import GALLERY_CHECK_TASK

logger = logging.getLogger(__name__)


@shared_task(name=MATCH_PROBE_TASK, soft_time_limit=10, time_limit=15)
def match_probe_task(
    operator_id: int,
    probe_id: str,
    photo: dict[str, str] | None = None,
    encoding: list[float] | None = None,
    shopper_id: int | None = None,
    answer_in: str | None = None,
    photos: list[dict[str, str]] | None = None,
    encodings: list[list[float]] | None = None,
    threshold: float | None = None,
    target_fpir: float | None = None,
    ceiling: float | None = None,
    margin: float | None = None,
) -> dict | None:
    """Open and encode the probe (a sealed photo, or up to three frames of one approach) and search the
    operator's index at its threshold; answers ids and a distance only, on the door's answer list
    (`answer_in="redis"`) or as the task's result. Not retried: the door has already moved on when a retry
    could answer.
    """
    from stores.door.matching import probe_serve  # the engine and the index: in the worker only

    answer = probe_serve(
        operator_id=operator_id,
        probe_id=probe_id,
        photo=photo,
        encoding=encoding,
        shopper_id=shopper_id,
        photos=photos,
        encodings=encodings,
        threshold=threshold,
        target_fpir=target_fpir,
        ceiling=ceiling,
        margin=margin,
    )
    if answer_in == "redis":
        probe_answer_send(answer, probe_id=probe_id)
        return None
    return answer


@shared_task(name=GALLERY_CHECK_TASK, soft_time_limit=900, time_limit=960)
def gallery_check_task(operator_id: int | None = None, trigger: str = "nightly", shard: str = "") -> list[int]:
    """Check one operator's gallery (or every operator's, nightly) in this match worker's indexes and store
    the operating point each gives; answers the stored checks' ids. Running twice stores two checks that
    say the same: no harm, so a lost worker's run is simply the next night's."""
    from stores.door.matching import gallery_check_run, gallery_checks_run  # the index: in the worker only

    if operator_id is None:
        return gallery_checks_run(trigger=trigger, shard=shard)
    recorded = gallery_check_run(operator_id=operator_id, trigger=trigger)
    return [recorded.pk] if recorded is not None else []


def _consumes_match_queue(app) -> bool:
    """Only workers that take door probes hold decrypted templates in memory."""
    consume_from = app.amqp.queues.consume_from
    return not consume_from or "match" in consume_from


def _keep_indexes_fresh() -> None:
    from stores.door.matching import INDEXES

    INDEXES.keep_fresh()


def _serve_door_probes(threads: int) -> None:
    """With Redis, door probes come on a list of their own, taken by `threads` threads of this process
    (stores/door/consumers.py, docs/decisions/0026); without it, as `stores.match_probe` tasks."""
    if answers_by_redis():
        from stores.door.consumers import CONSUMERS

        CONSUMERS.start(threads)


@celeryd_after_setup.connect
def _consume_shard_queues(sender=None, instance=None, **kwargs) -> None:
    """A match worker also takes the tasks of its shards (`match.<shard>`: gallery checks, and door probes
    without Redis): those of MATCH_SHARDS, or of every shard when it serves all (decision 0041)."""
    queues = instance.app.amqp.queues
    if not _consumes_match_queue(instance.app):
        return
    from stores.models import MatchShard
    from stores.shards.selectors import shard_queue, shards_served

    for name in shards_served() or MatchShard.objects.values_list("name", flat=True):
        queues.select_add(shard_queue(name))


@shared_task(name="stores.gallery_checks_nightly")
def gallery_checks_nightly_task() -> list[str]:
    """The nightly gallery checks, one task to each shard's queue: a worker there checks its shard's operators."""
    from stores.models import MatchShard
    from stores.shards.selectors import shard_queue

    names = list(MatchShard.objects.values_list("name", flat=True))
    for name in names:
        current_app.tasks[GALLERY_CHECK_TASK].apply_async(
            kwargs={"trigger": "nightly", "shard": name}, queue=shard_queue(name)
        )
    return names


@worker_process_init.connect
def _keep_indexes_in_each_child(**kwargs) -> None:
    if _consumes_match_queue(current_app):
        _keep_indexes_fresh()
        _serve_door_probes(1)  # a child process of a pool: one probe at a time, as its one task


@worker_ready.connect
def _keep_indexes_in_single_process_pools(sender=None, **kwargs) -> None:
    pool = getattr(getattr(sender, "pool_cls", None), "__module__", "") or ""
    if not pool.endswith("prefork") and _consumes_match_queue(sender.app):
        _keep_indexes_fresh()
        _serve_door_probes(sender.pool.limit or 1)  # as many probes at once as the pool runs tasks


@worker_shutting_down.connect
def _stop_serving_door_probes(**kwargs) -> None:
    consumers = sys.modules.get("stores.door.consumers")  # imported only where threads take probes
    if consumers is not None:
        consumers.CONSUMERS.stop()


# Retention (F7; docs/decisions/0030-retention.md), on the schedule in portal/celery.py. Each run is
# safe twice: what was deleted or ended is not found again.
@shared_task(
    name="stores.retention_footprint",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=1800,
    time_limit=1860,
)
def retention_footprint_task() -> int:
    """Delete visits (with their events, purchases and match events) past their period; how many visits."""
    from stores.retention.services import footprint_purge_past_retention

    return footprint_purge_past_retention().visits


@shared_task(
    name="stores.retention_face_consents",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=1800,
    time_limit=1860,
)
def retention_face_consents_task() -> int:
    """End face consents no door of the operator used for its template period; how many ended."""
    from stores.retention.services import face_consents_end_not_recognised

    return face_consents_end_not_recognised()


@shared_task(
    name="stores.retention_counters",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=300,
    time_limit=360,
)
def retention_counters_task() -> int:
    """Delete probe and dropped-event counters older than 90 days; how many rows."""
    from stores.retention.services import counters_purge_old

    purged = counters_purge_old()
    return purged.probe_counters + purged.event_counters
