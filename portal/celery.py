"""The Celery application; queues are `enroll`, `match`, `erasure` and `default`."""

import os

from celery import Celery
from celery.schedules import crontab

from portal.broker import use_whole_message_file_broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

use_whole_message_file_broker()
app = Celery("faceconsent")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic job is declared here, in one place.
app.conf.beat_schedule = {
    # Matching already treats a consent past its validity as ended; this records the expiry.
    "consent-expire-due": {"task": "consent.expire_due", "schedule": crontab(minute="*/15")},
}
