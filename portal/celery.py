"""The Celery application; queues are `enroll`, `match`, `erasure` and `default`."""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun

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
    # Retention (F7; docs/decisions/0030-retention.md). The retention page promises "within a day" for the
    # daily jobs and "within an hour" for entry passes (tests/portal/test_public_promises.py).
    "retention-footprint": {"task": "stores.retention_footprint", "schedule": crontab(hour=2, minute=15)},
    "retention-face-consents": {"task": "stores.retention_face_consents", "schedule": crontab(hour=2, minute=45)},
    "retention-counters": {"task": "stores.retention_counters", "schedule": crontab(hour=3, minute=5)},
    "retention-entry-passes": {"task": "consent.entry_passes_purge", "schedule": crontab(minute=5)},
    # Each operator's gallery measures its own false identification risk and sets the door's threshold
    # (or stops 1:N); it runs in a match worker of the operator's shard, where its index is (one task to each
    # shard's queue, decision 0041). Changes of more than
    # MATCH_GALLERY_CHECK_CHANGE trigger a check at once (docs/decisions/0025).
    "gallery-check-nightly": {"task": "stores.gallery_checks_nightly", "schedule": crontab(hour=3, minute=30)},
    # An enrollment still processing 5 minutes into its attempt lost its worker (the task's hard limit is
    # 150 s): it fails with `worker_lost` and the shopper sends the photos again.
    "enrollments-lost": {"task": "biometrics.enrollments_lost_fail", "schedule": crontab(minute="*")},
    # Result backends that cannot expire entries themselves (the embedded file backend) are purged of
    # results older than CELERY_RESULT_EXPIRES; Celery's default would wait for 4 a.m.
    "celery.backend_cleanup": {"task": "celery.backend_cleanup", "schedule": crontab(minute="*/5")},
}


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task=None, **kwargs) -> None:
    """What Django does around each request, around each task: drop database connections that are
    broken or past CONN_MAX_AGE, keep the rest (CELERY_DB_REUSE_MAX stops Celery closing them all).
    A task run in the caller's process (no broker) shares the caller's connection: left alone."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
