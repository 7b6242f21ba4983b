"""The audit log every layer writes to, who acts through which channel, and the shared cache's table."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ActorType(models.TextChoices):
    SHOPPER = "shopper", _("Shopper")
    STAFF = "staff", _("Staff")
    DEVICE = "device", _("Device")
    SYSTEM = "system", _("System")


class Channel(models.TextChoices):
    APP = "app", _("App")
    WEB = "web", _("Web")
    STAFF = "staff", _("Staff")
    DEVICE = "device", _("Device")
    SYSTEM = "system", _("System")


class AuditEntry(models.Model):
    """One state change, hash-chained to the entry before it. Never updated, never deleted.

    `data` describes the change in plain values; it never holds biometric data.
    """

    sequence = models.PositiveBigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.target_type}:{self.target_id}"


class AuditChainHead(models.Model):
    """A single row locked by every writer, so entries are chained one after another."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_singleton")]

    def __str__(self) -> str:
        return f"audit head #{self.last_sequence}"


class CacheEntry(models.Model):
    """A row of the cache every process shares when there is no Redis (`core.cache.SharedDatabaseCache`).

    The cache reads and writes the table itself; the model only makes `migrate` create it.
    """

    cache_key = models.CharField(max_length=255, primary_key=True)
    value = models.TextField()
    expires = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name_plural = "cache entries"

    def __str__(self) -> str:
        return self.cache_key
