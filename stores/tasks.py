"""Matching runs in the workers of the `match` queue, each holding the operators' indexes in memory."""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict

from celery import shared_task
from celery.signals import worker_process_init, worker_ready
from django.db import close_old_connections

from stores.matching import INDEXES, ProbeResult, match_probe
from stores.probes import ProbeGone, probe_answer_send, probe_photo_take

logger = logging.getLogger(__name__)


@shared_task(name="stores.match_probe", soft_time_limit=10, time_limit=15)
def match_probe_task(
    operator_id: int,
    probe_id: str,
    photo: dict[str, str] | None = None,
    encoding: list[float] | None = None,
    shopper_id: int | None = None,
    answer_in: str | None = None,
) -> dict | None:
    """Open and encode the probe (a sealed photo) and search the operator's index; answers ids and a
    distance only, on the door's answer list (`answer_in="redis"`) or as the task's result.
    Not retried: the door has already moved on when a retry could answer.
    """
    try:
        opened = probe_photo_take(photo, probe_id=probe_id) if photo else None
    except ProbeGone:
        answer = asdict(ProbeResult(face_found=False, error="probe_expired"))
    else:
        answer = asdict(match_probe(operator_id=operator_id, photo=opened, encoding=encoding, shopper_id=shopper_id))
    if answer_in == "redis":
        probe_answer_send(answer, probe_id=probe_id)
        return None
    return answer


def _build_in_background() -> None:
    def build() -> None:
        try:
            INDEXES.refresh()
        except Exception:  # the first match builds it again; a failed warm-up must not kill the worker
            logger.exception("Building the match indexes at worker start failed")
        finally:
            close_old_connections()

    threading.Thread(target=build, name="match-index-build", daemon=True).start()


@worker_process_init.connect
def _build_in_each_child(**kwargs) -> None:
    _build_in_background()


@worker_ready.connect
def _build_in_single_process_pools(sender=None, **kwargs) -> None:
    pool = getattr(getattr(sender, "pool_cls", None), "__module__", "") or ""
    if not pool.endswith("prefork"):
        _build_in_background()
