"""What the audit coverage tests set up, and how they read the entries that follow a call."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import cached_property
from typing import Any

import numpy as np
from django.db import models
from django.utils import timezone

from biometrics.keys import key_ring
from biometrics.models import FaceTemplate
from biometrics.protection import generate_key
from consent import services as consent
from consent.models import Consent, NoticeVersion
from core.audit import Actor
from core.models import AuditEntry
from portal.models import EmailVerification
from stores.models import Device, Operator, Store
from tests.factories import (
    NOTICE_TEXTS,
    OperatorFactory,
    UserFactory,
    face_consent,
    live_store,
    published_notice,
    registered_device,
)

STAFF = Actor.system()  # the actor services are called with here; the admin rows check the staff member


# What the tests set up, made on first use.


class World:
    def __init__(self, settings):
        self.settings = settings

    @cached_property
    def operator(self) -> Operator:
        return OperatorFactory()

    @cached_property
    def notice(self) -> NoticeVersion:
        return published_notice(self.operator)

    @cached_property
    def shopper(self):
        return UserFactory()

    @cached_property
    def store(self) -> Store:
        return live_store(self.operator)

    @cached_property
    def device(self) -> Device:
        return registered_device(self.store)[0]

    def consent(self, shopper=None) -> Consent:
        self.notice  # noqa: B018  (published first)
        return face_consent(shopper or self.shopper, self.operator)

    def draft(self) -> NoticeVersion:
        return consent.notice_version_create_draft(
            actor=STAFF, operator=self.operator, purpose="face_entry", **NOTICE_TEXTS
        )

    def consent_of_a_minor(self) -> Consent:
        """A face consent whose shopper's date of birth turns out to be today's."""
        given = self.consent()
        type(self.shopper).objects.filter(pk=self.shopper.pk).update(date_of_birth=timezone.localdate())
        self.shopper.refresh_from_db()
        return given

    def consent_due_for_reaffirm(self) -> Consent:
        """A face consent in the last days of its validity, when it can be reaffirmed."""
        given = self.consent()
        Consent.objects.filter(pk=given.pk).update(expires_at=timezone.now() + timedelta(days=3))
        given.refresh_from_db()
        return given

    def consent_lasting(self, *, days: int) -> Consent:
        """A face consent valid for `days` from now (so still active when a test moves the clock)."""
        given = self.consent()
        Consent.objects.filter(pk=given.pk).update(expires_at=timezone.now() + timedelta(days=days))
        given.refresh_from_db()
        return given

    def consent_past_expiry(self) -> Consent:
        given = self.consent()
        Consent.objects.filter(pk=given.pk).update(expires_at=timezone.now())
        return given

    def template(self, shopper=None, encoding=None) -> np.ndarray:
        """A face template held for the shopper (sealed as the worker seals it); returns its encoding."""
        shopper = shopper or self.shopper
        encoding = np.linspace(-0.2, 0.2, 128) if encoding is None else encoding
        sealed = key_ring().seal(encoding, owner=str(shopper.public_id))
        FaceTemplate.objects.create(
            shopper=shopper, key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext
        )
        return encoding

    def unverified(self):
        return UserFactory(email_verified_at=None)

    def code(self, user, code: str = "123456") -> str:
        """A verification code waiting for the user (as email_verification_send leaves it, minus the mail)."""
        EmailVerification.objects.create(
            user=user,
            code_hash=hashlib.sha256(f"{user.pk}:{code}".encode()).hexdigest(),
            expires_at=timezone.now() + timedelta(hours=1),
        )
        return code

    def unverified_with_code(self):
        user = self.unverified()
        self.code(user)
        return user

    def old_key_templates(self) -> None:
        """A template sealed under a key that is then no longer the active one."""
        self.settings.TEMPLATE_KEYS = f"old:{generate_key()}"
        self.template()
        self.settings.TEMPLATE_KEYS += f",new:{generate_key()}"


# The expected entries: an action, and its target as a function of (world, given, result).

Target = Callable[[World, Any, Any], "models.Model | tuple[str, str]"]


def RESULT(w, g, r):
    return r


def GIVEN(w, g, r):
    return g


def SHOPPER(w, g, r):
    return w.shopper


def target_key(target) -> tuple[str, str]:
    if isinstance(target, models.Model):
        return target._meta.label_lower, str(target.pk)
    return target


def last_sequence() -> int:
    return AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


def entries_after(sequence: int) -> list[tuple[str, str, str]]:
    return list(
        AuditEntry.objects.filter(sequence__gt=sequence)
        .order_by("sequence")
        .values_list("action", "target_type", "target_id")
    )
