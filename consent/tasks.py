"""Scheduled consent jobs."""

from celery import shared_task

from consent.services import consent_expire_due


@shared_task(name="consent.expire_due", soft_time_limit=600, time_limit=660)
def consent_expire_due_task() -> int:
    """End consents whose validity ran out. Safe to run twice: ended consents are skipped."""
    return consent_expire_due()
