"""Background jobs every app may send: mail."""

from celery import shared_task
from django.core.mail import send_mail


@shared_task(
    # The name it had in portal.tasks, so mails queued before a deploy are still sent after it.
    name="portal.email_send",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=30,
    time_limit=45,
)
def email_send(*, to: str, subject: str, body: str) -> None:
    """Send one plain-text mail. Retries on network errors only."""
    send_mail(subject, body, None, [to])
