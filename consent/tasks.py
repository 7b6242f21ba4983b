"""Scheduled consent jobs."""

from celery import shared_task

from consent.services import consent_expire_due, entry_passes_purge


@shared_task(name="consent.expire_due", soft_time_limit=600, time_limit=660)
def consent_expire_due_task() -> int:
    """End consents whose validity ran out. Safe to run twice: ended consents are skipped."""
    return consent_expire_due()


@shared_task(
    name="consent.entry_passes_purge",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=300,
    time_limit=360,
)
def entry_passes_purge_task() -> int:
    """Delete entry passes past their lifetime. Safe to run twice: the second finds none."""
    return entry_passes_purge().total
