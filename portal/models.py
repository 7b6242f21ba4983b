"""Accounts: shoppers and staff share one user model; app tokens; email verification codes."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.time_zones import TIME_ZONE_MAX_LENGTH, validate_time_zone


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    SIMPLIFIED_CHINESE = "zh-hans", _("Simplified Chinese")


class FootprintRetention(models.IntegerChoices):
    """How long the shopper keeps their visits and what stores reported about them (F7); the scheduled
    purge applies the shorter of this and the operator's `footprint_retention_days`."""

    OPERATOR = 0, _("The store operator's period")
    THREE_MONTHS = 3, _("3 months")
    EIGHTEEN_MONTHS = 18, _("18 months")
    THIRTY_SIX_MONTHS = 36, _("36 months")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        fields.setdefault("display_name", "Administrator")
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account: a shopper, or (is_staff) a member of support or privacy staff."""

    # The identifier shown outside the database (receipts, exports); never the row id.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("email"), max_length=254, unique=True)
    display_name = models.CharField(_("display name"), max_length=80)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH)
    # Empty: times are shown in the zone of the operator a page concerns, else the site's
    # (core.time_zones.time_zone_for).
    time_zone = models.CharField(
        _("time zone"), max_length=TIME_ZONE_MAX_LENGTH, blank=True, validators=[validate_time_zone]
    )
    # Off unless the shopper turns it on: a mail each time a door recognises them or lets them in with
    # an entry pass (stores.feed). The feed in the app and on the portal is kept either way.
    recognition_email = models.BooleanField(_("email me when a store recognises me"), default=False)
    # In months; 0: the operator's period. Read by stores.retention.services (the shorter period wins).
    footprint_retention_months = models.PositiveSmallIntegerField(
        _("keep my visit records"), choices=FootprintRetention.choices, default=FootprintRetention.OPERATOR
    )
    email_verified_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(footprint_retention_months__in=FootprintRetention.values),
                name="user_footprint_retention_months_offered",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name


class ApiToken(models.Model):
    """A bearer token for the app. Only its SHA-256 is stored; it expires and can be revoked."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to tell tokens apart.")
    label = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The login, then the last state-changing request (POST, PUT, PATCH, DELETE) made with it; a
    # read never writes (docs/decisions/0023-account-security-and-last-use.md).
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class WebSession(models.Model):
    """A browser signed in to the portal: the Django session it holds, named from its User-Agent at
    login, with when it was last used (the login, then its last state-changing request).

    Signing it out deletes the Django session row (the key is already stored in the clear there), so
    its next request is anonymous without anything being written on a read.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="web_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    label = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"web session {self.pk} ({self.user_id})"


class EmailChange(models.Model):
    """A new address waiting for its code. Until the code is entered the old address stays the
    login and the one mail goes to. Only the code's hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_changes")
    new_email = models.EmailField(max_length=254)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set when the change took effect, or when a newer request or a cancel replaced it.
    used_at = models.DateTimeField(null=True, blank=True)
    completed = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["user", "used_at"])]

    def __str__(self) -> str:
        return f"email change for {self.user_id}"


class EmailVerification(models.Model):
    """A six-digit code mailed to confirm an address. Only its hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_verifications")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "used_at"])]

    def __str__(self) -> str:
        return f"verification for {self.user_id}"


class PrivacyRequest(models.Model):
    """A shopper's request to erase their data or to have a copy of it (F5, F6), from the portal or the app,
    or opened by staff for a shopper who called or wrote. Its history is the audit log's entries about it.

    Once an erasure completes, the request names no one: `shopper` is emptied with the account, and what
    stays is the kind, the dates, who on the staff handled it and the counts of what went.
    """

    class Kind(models.TextChoices):
        ERASURE = "erasure", _("Erasure")
        ACCESS = "access", _("Access (a copy of my data)")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        IDENTITY_VERIFIED = "identity_verified", _("Identity verified")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        REFUSED = "refused", _("Refused")
        DUPLICATE = "duplicate", _("Duplicate")

    OPEN = (Status.RECEIVED, Status.IDENTITY_VERIFIED, Status.IN_PROGRESS)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.RECEIVED)
    shopper = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="privacy_requests")
    channel = models.CharField(max_length=16)
    opened_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="privacy_requests_opened"
    )
    # The law the deadline follows (the strictest of the operators the shopper dealt with), and the deadline.
    jurisdiction = models.CharField(max_length=8)
    received_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    identity_verified_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    refusal_reason = models.CharField(max_length=32, blank=True)
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The operators the shopper had dealt with when the request came: each operator's document for the
    # authorities counts the requests that concerned it, after the erasure too (S4).
    operators = models.ManyToManyField("stores.Operator", blank=True, related_name="privacy_requests")
    # An erasure: what went, by category, and whether the check afterwards found anything of the shopper.
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"{self.kind} request {self.public_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


# The request kinds by an importable path: the OpenAPI schema names their enum after it.
PrivacyRequestKind = PrivacyRequest.Kind


class IdentityCode(models.Model):
    """A six-digit code mailed to the account's address so a shopper who called proves it is them (F5). Valid
    10 minutes, 3 tries, for its own request only. Only its hash is stored."""

    request = models.ForeignKey(PrivacyRequest, on_delete=models.CASCADE, related_name="identity_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"identity code for request {self.request_id}"


class AccessLink(models.Model):
    """The answer to an access request (F5): a link, mailed to the account's address, that downloads the same
    export as the footprint page's (F3) once, within 7 days. Only its token's hash is stored; the export is
    made when the link is used, so no copy of the data waits anywhere."""

    request = models.ForeignKey(PrivacyRequest, on_delete=models.CASCADE, related_name="access_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"access link for request {self.request_id}"


class ImpactAssessment(models.Model):
    """A personal information protection impact assessment of an operator's face recognition (PIPL art. 55-56):
    purpose, necessity, impact and measures, completed and signed by a privacy officer in the console. Each
    signature is a new version; a signed version is never changed."""

    operator = models.ForeignKey("stores.Operator", on_delete=models.CASCADE, related_name="impact_assessments")
    version = models.PositiveIntegerField()
    purpose = models.TextField()
    necessity = models.TextField()
    impact = models.TextField()
    measures = models.TextField()
    signed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    signer_name = models.CharField(max_length=150)
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["operator", "-version"]
        constraints = [models.UniqueConstraint(fields=["operator", "version"], name="one_assessment_per_version")]

    def __str__(self) -> str:
        return f"impact assessment v{self.version} of operator {self.operator_id}"


class IssuedDocument(models.Model):
    """A security protection document as issued to the authorities (S4): the figures as they stood, kept whole
    with their hash, one version each time it is issued. It holds figures and the operator's own details,
    never a shopper."""

    operator = models.ForeignKey("stores.Operator", on_delete=models.CASCADE, related_name="issued_documents")
    version = models.PositiveIntegerField()
    language = models.CharField(max_length=8)
    content = models.JSONField()
    content_sha256 = models.CharField(max_length=64)
    issued_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["operator", "-version"]
        constraints = [models.UniqueConstraint(fields=["operator", "version"], name="one_document_per_version")]

    def __str__(self) -> str:
        return f"protection document v{self.version} of operator {self.operator_id}"
