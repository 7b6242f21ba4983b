"""Enrollments (a shopper's request to be recognised) and the sealed face templates they produce.

No photo is ever stored here: photos travel sealed inside the enrollment task's message and
exist only until the worker has read them.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Enrollment(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Failed")

    FINISHED = (Status.DONE, Status.REFUSED, Status.FAILED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    channel = models.CharField(max_length=16)
    photo_count = models.PositiveSmallIntegerField()
    # One entry per photo: {"photo": n, "accepted": bool, "code": str | None, "message": str}
    results = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=32, blank=True, help_text=_("Why the whole enrollment was refused."))
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # When the current attempt began: a worker holds an attempt at most its task's time limit, so one still
    # processing long after was lost with its worker (`enrollments_lost_fail`).
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["shopper", "status"])]

    def __str__(self) -> str:
        return f"enrollment {self.public_id} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED


class FaceTemplate(models.Model):
    """One face encoding, sealed with AES-256-GCM under the key named by `key_id`.

    The key lives outside the database; the ciphertext opens only for its owner's row.
    """

    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="face_templates")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.SET_NULL, null=True, related_name="templates")
    key_id = models.CharField(max_length=32)
    nonce = models.BinaryField(max_length=12)
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["key_id"])]

    def __str__(self) -> str:
        return f"template {self.pk} of {self.shopper_id} (key {self.key_id})"


class MatchIndexChange(models.Model):
    """A note to every match worker: re-read who this shopper may be matched as, at one or all operators.

    Written in the same transaction as the change itself (a consent given or ended, templates
    stored or deleted). Ids only, no foreign keys: the note must outlive an erased shopper.
    """

    shopper_id = models.BigIntegerField()
    operator_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"re-read shopper {self.shopper_id} at {self.operator_id or 'every operator'}"
