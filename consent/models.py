"""Notices and their versions, consents and their events, entry passes."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict
from core.models import ActorType, Channel


class Purpose(models.TextChoices):
    FACE_ENTRY = "face_entry", _("Recognised at the door")
    STORE_ANALYTICS = "store_analytics", _("Visits and shelf dwell kept")
    PERSONALISED_OFFERS = "personalised_offers", _("Personalised offers")


class Notice(models.Model):
    """What one operator tells shoppers about one purpose; its text lives in versions."""

    operator = models.ForeignKey("stores.Operator", on_delete=models.PROTECT, related_name="notices")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["operator", "purpose"], name="notice_unique_per_purpose")]
        ordering = ["operator_id", "purpose"]

    def __str__(self) -> str:
        return f"{self.operator} · {self.get_purpose_display()}"


class NoticeVersion(models.Model):
    """One wording of a notice. Editable as a draft; immutable once published."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    material = models.BooleanField(
        _("material change"),
        default=True,
        help_text=_(
            "A material change asks every shopper again: consents given on earlier versions stop working "
            "when this version is published. Untick only for corrections that change nothing a shopper agreed to."
        ),
    )
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_zh_hans = models.CharField(_("title (Simplified Chinese)"), max_length=200)
    purpose_en = models.TextField(_("purpose (English)"))
    purpose_zh_hans = models.TextField(_("purpose (Simplified Chinese)"))
    method_en = models.TextField(_("method (English)"))
    method_zh_hans = models.TextField(_("method (Simplified Chinese)"))
    retention_en = models.TextField(_("retention (English)"))
    retention_zh_hans = models.TextField(_("retention (Simplified Chinese)"))
    rights_en = models.TextField(_("rights (English)"))
    rights_zh_hans = models.TextField(_("rights (Simplified Chinese)"))
    contact = models.TextField(_("contact"), help_text=_("Who to contact about this processing, and how."))
    contact_zh_hans = models.TextField(
        _("contact (Simplified Chinese)"),
        blank=True,
        help_text=_("The contact as Chinese readers see it; when empty they see the contact above."),
    )
    retention_days = models.PositiveIntegerField(_("retention in days"))
    data_categories = models.JSONField(_("data categories"), default=list)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "version"], name="notice_version_unique"),
            models.CheckConstraint(
                condition=models.Q(status="draft", published_at__isnull=True)
                | models.Q(status="published", published_at__isnull=False),
                name="notice_version_published_has_time",
            ),
        ]
        ordering = ["notice_id", "-version"]

    def __str__(self) -> str:
        return f"{self.notice} v{self.version}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def text(self, field: str, language: str) -> str:
        """A translated field in `language` ('en' or 'zh-hans')."""
        suffix = "zh_hans" if language.lower().startswith("zh") else "en"
        if field == "contact":  # One contact, with an optional Chinese version.
            return (self.contact_zh_hans if suffix == "zh_hans" else "") or self.contact
        return getattr(self, f"{field}_{suffix}")


class Consent(models.Model):
    """A shopper's yes to one operator for one purpose, given on one notice version.

    At most one is active per (shopper, operator, purpose); ended ones stay as history.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        EXPIRED = "expired", _("Expired")
        INVALIDATED = "invalidated", _("Invalidated")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    operator = models.ForeignKey("stores.Operator", on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    notice_version = models.ForeignKey(NoticeVersion, on_delete=models.PROTECT, related_name="consents")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    given_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    reaffirmed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shopper", "operator", "purpose"],
                condition=models.Q(status="active"),
                name="consent_one_active_per_purpose",
            ),
            models.CheckConstraint(
                condition=models.Q(status="active", ended_at__isnull=True)
                | (~models.Q(status="active") & models.Q(ended_at__isnull=False)),
                name="consent_ended_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["operator", "purpose", "status"]),
            models.Index(fields=["status", "expires_at"]),
        ]
        ordering = ["-given_at"]

    def __str__(self) -> str:
        return f"{self.shopper_id} → {self.operator_id} {self.purpose} ({self.status})"


def consent_event_immutable() -> Conflict:
    return Conflict(
        _("A consent event is a record of what happened: it cannot be changed or deleted."),
        code="consent_event_immutable",
    )


class ConsentEventQuerySet(models.QuerySet):
    """Events can be read and added, never changed or deleted in bulk (decision 0029)."""

    def update(self, **kwargs):
        raise consent_event_immutable()

    def bulk_update(self, objs, fields, batch_size=None):
        raise consent_event_immutable()

    def delete(self):
        raise consent_event_immutable()


class ConsentEvent(models.Model):
    """One step in the life of a consent decision. Append-only: never updated or deleted.

    Events that happen before any consent exists (the notice was shown; the shopper said no)
    name the shopper, operator and purpose with no consent. The model, its queryset and, on
    PostgreSQL, a trigger on the table refuse any change or deletion (decision 0029).
    """

    class Kind(models.TextChoices):
        NOTICE_SHOWN = "notice_shown", _("Notice shown")
        GIVEN = "given", _("Given")
        REFUSED = "refused", _("Refused")
        REAFFIRMED = "reaffirmed", _("Reaffirmed")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        EXPIRED = "expired", _("Expired")
        INVALIDATED = "invalidated", _("Invalidated")

    # PROTECT: deleting a consent or a shopper must not take their events with it (decision 0029).
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consent_events")
    operator = models.ForeignKey("stores.Operator", on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    notice_version = models.ForeignKey(NoticeVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    objects = ConsentEventQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["shopper", "operator", "purpose"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.purpose} at {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields") is not None:
            raise consent_event_immutable()
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise consent_event_immutable()


# The event kinds by an importable path: the OpenAPI schema names their enum after it.
ConsentEventKind = ConsentEvent.Kind


class EntryPass(models.Model):
    """A short-lived, single-use pass a shopper shows at the door instead of a face.

    The QR code carries only a signed random id; who it belongs to, and where it works, is
    known only here.
    """

    token_id = models.CharField(max_length=43, unique=True)
    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="entry_passes")
    # The one operator whose doors accept the pass, or none: any operator's. Chosen by the shopper
    # at issue and never changed; the token names only the pass, so it cannot widen this either.
    operator = models.ForeignKey("stores.Operator", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shopper", "expires_at"])]

    def __str__(self) -> str:
        return f"entry pass {self.token_id[:8]}… of {self.shopper_id}"
