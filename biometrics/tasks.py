"""Enrollment runs in the workers of the `enroll` queue."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from biometrics.services import enrollment_fail, enrollment_process

logger = logging.getLogger(__name__)
TRANSIENT = (OperationalError, InterfaceError)
MAX_RETRIES = 3


@shared_task(
    name="biometrics.enrollment_process",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=120,
    time_limit=150,
    max_retries=MAX_RETRIES,
)
def enrollment_process_task(self, enrollment_id: int, sealed_photos: list[str]) -> str | None:
    """Detect, check and encode the photos of one enrollment; safe to deliver twice.

    Only database hiccups are retried (with backoff); a photo the engine refuses is an answer,
    not an error. Whatever happens, the photos exist only in this task's message and memory.
    """
    try:
        return enrollment_process(enrollment_id=enrollment_id, sealed_photos=sealed_photos)
    except TRANSIENT as error:
        if self.request.retries >= MAX_RETRIES:
            enrollment_fail(enrollment_id=enrollment_id, reason="processing_failed")
            raise
        raise self.retry(exc=error, countdown=2**self.request.retries) from error
    except SoftTimeLimitExceeded:
        enrollment_fail(enrollment_id=enrollment_id, reason="timed_out")
        return "failed"
    except Exception:
        logger.exception("Enrollment %s failed", enrollment_id)
        enrollment_fail(enrollment_id=enrollment_id, reason="processing_failed")
        raise
