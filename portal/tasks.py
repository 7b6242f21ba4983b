"""The portal's background work: erasures asked for in privacy requests, on the `erasure` queue."""

from celery import shared_task

from portal.privacy.services import ERASURE_TASK


@shared_task(
    name=ERASURE_TASK,
    # Acknowledged only once it has run, and given back to the queue if its worker dies: the next worker
    # does the erasure (one transaction: the dead one's half was rolled back), exactly once.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=600,
    time_limit=660,
)
def erasure_carry_out_task(request_id: int) -> str | None:
    from portal.privacy.services import privacy_erasure_carry_out

    request = privacy_erasure_carry_out(request_id=request_id)
    return request.status if request is not None else None
