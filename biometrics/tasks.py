"""Enrollment runs in the workers of the `enroll` queue.

Light to import: web processes register the task (`biometrics.apps`) and send it by name; the face
engine is imported only when the task runs, in the worker (`biometrics.processing`).
"""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from biometrics.services import ENROLLMENT_PROCESS_TASK

logger = logging.getLogger(__name__)
TRANSIENT = (OperationalError, InterfaceError)
MAX_RETRIES = 3


@shared_task(
    name=ENROLLMENT_PROCESS_TASK,
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
    from biometrics import processing  # the face engine: here, in the worker, never at import

    try:
        return processing.enrollment_process(enrollment_id=enrollment_id, sealed_photos=sealed_photos)
    except TRANSIENT as error:
        if self.request.retries >= MAX_RETRIES:
            processing.enrollment_fail(enrollment_id=enrollment_id, reason="processing_failed")
            raise
        raise self.retry(exc=error, countdown=2**self.request.retries) from error
    except SoftTimeLimitExceeded:
        processing.enrollment_fail(enrollment_id=enrollment_id, reason="timed_out")
        return "failed"
    except Exception:
        logger.exception("Enrollment %s failed", enrollment_id)
        processing.enrollment_fail(enrollment_id=enrollment_id, reason="processing_failed")
        raise


@shared_task(name="biometrics.enrollments_lost_fail")
def enrollments_lost_fail_task() -> int:
    """Every minute (portal/celery.py): enrollments whose worker died with them are failed, so the shopper sees
    it and sends the photos again, rather than watching "processing" until the broker gives the task back."""
    from biometrics import processing

    return len(processing.enrollments_lost_fail())
