"""Every service that writes leaves exactly its audit entries, and no new one can be added silently.

Every public function of every services module of the project's apps (found by introspection)
needs a row in SERVICES (one dict entry: what to set up, what to call, which entries follow, in
order) or a reason in WITHOUT_AN_ENTRY. The admin's write paths are in test_audit_coverage_admin.py.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from biometrics import processing
from biometrics import services as biometrics
from biometrics.identification import OperatingPoint, SelfCheck, ThresholdFigures
from biometrics.models import Enrollment
from biometrics.sealed_bytes import bytes_seal, sealed_text
from consent import services as consent
from consent.models import Consent, ConsentEvent
from consent.services import consents
from core.audit import Actor, audit_chain_verify
from core.errors import ValidationFailed
from core.models import AuditEntry
from portal import services as portal
from portal.account import services as account
from portal.documents import services as documents
from portal.erasure import services as erasure
from portal.models import AccessLink, EmailChange, IdentityCode, PrivacyRequest
from portal.privacy import services as privacy
from portal.privacy.selectors import access_token_hash
from portal.selectors import sha256_hex
from portal.staff import services as staff_second_factor
from stores import services as stores
from stores.door import services as door
from stores.feed import services as feed
from stores.footprint import services as footprint
from stores.models import MatchShard, Operator
from stores.retention import services as retention
from stores.shards import services as shards
from tests.core.audit_world import (
    GIVEN,
    RESULT,
    SHOPPER,
    STAFF,
    Target,
    World,
    entries_after,
    last_sequence,
    target_key,
)
from tests.factories import DEFAULT_PASSWORD, NOTICE_TEXTS, StoreFactory, UserFactory
from tests.staff import app_code

pytestmark = [pytest.mark.django_db, pytest.mark.requirement("S3")]


@pytest.fixture
def world(settings):
    return World(settings)


@dataclass(frozen=True)
class Row:
    call: Callable[[World, Any], Any]
    entries: list[tuple[str, Target]]
    given: Callable[[World], Any] = field(default=lambda w: None)


def _registered(w):
    return portal.user_register(
        email="new@example.com",
        password="a long enough passphrase",
        display_name="New",
        date_of_birth=w.shopper.date_of_birth,
        channel="app",
    )


def _web_session(w, user=None):
    """A browser signed in as the shopper, recorded as login records it."""
    store = SessionStore()
    store.create()
    return portal.web_session_start(user=user or w.shopper, session_key=store.session_key, user_agent="Firefox/120.0")


def _email_change(w, code: str = "123456"):
    """A change to new-address@example.com waiting for `code` (as email_change_request leaves it)."""
    return EmailChange.objects.create(
        user=w.shopper,
        new_email="new-address@example.com",
        code_hash=sha256_hex(f"email-change:{w.shopper.pk}:new-address@example.com:{code}"),
        expires_at=timezone.now() + timedelta(hours=1),
    )


def _wrong_email_change_code(w) -> None:
    with pytest.raises(ValidationFailed):
        account.email_change_confirm(user=w.shopper, code="000000", channel="web")


def _gallery_check():
    return SelfCheck(700, False, 0.05, (ThresholdFigures(0.55, 700, 0, 0.0, 0.008, 0, 0, None, None),))


def _one_to_n_on():
    return OperatingPoint(0.55, True, "target_met", 0.008, None)


def _one_to_n_stopped():
    return OperatingPoint(None, False, "no_threshold_meets_target", 0.02, None)


def _staff_with_second_factor():
    """A staff member with a confirmed authenticator app and backup codes: (user, app, one backup code)."""
    user = UserFactory(is_staff=True)
    device = staff_second_factor.staff_totp_start(user=user)
    confirmed = staff_second_factor.staff_totp_confirm(user=user, code=app_code(device.bin_key))
    device.refresh_from_db()
    device.last_t = -1  # the setup's code is spent; a check in the same 30 s uses the next step's
    device.save(update_fields=["last_t"])
    return user, device, confirmed.backup_codes[0]


def _staff_opened_request(w):
    return privacy.privacy_request_open(
        shopper=w.shopper, kind="erasure", channel="staff", opened_by=UserFactory(is_staff=True)
    )


def _verified_access_request(w):
    request = privacy.privacy_request_open(
        shopper=w.shopper, kind="access", channel="staff", opened_by=UserFactory(is_staff=True)
    )
    PrivacyRequest.objects.filter(pk=request.pk).update(status=PrivacyRequest.Status.IDENTITY_VERIFIED)
    request.refresh_from_db()
    return request


def _access_link(w, token: str = "a-token-only-the-mail-holds"):
    """An access request answered with a link whose token is `token`: (request, token)."""
    request = _verified_access_request(w)
    AccessLink.objects.create(
        request=request, token_hash=access_token_hash(token), expires_at=timezone.now() + timedelta(days=7)
    )
    return request, token


def _request_with_code(w, code: str = "123456"):
    """A staff-opened request whose identity code (`code`) waits, as identity_code_send leaves it."""
    request = _staff_opened_request(w)
    IdentityCode.objects.create(
        request=request,
        code_hash=sha256_hex(f"identity:{request.public_id}:{code}"),
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    return request, code


def _wrong_identity_code(request) -> None:
    with pytest.raises(ValidationFailed):
        privacy.identity_code_verify(request=request, code="000000", staff=request.opened_by)


def _erasure_in_progress(w):
    request = privacy.privacy_request_open(shopper=w.shopper, kind="erasure", channel="app")
    PrivacyRequest.objects.filter(pk=request.pk).update(status="in_progress", started_at=timezone.now())
    return request


def _wrong_code(user) -> None:
    with pytest.raises(ValidationFailed):
        portal.email_verify(email=user.email, code="000000", channel="web")


SERVICES: dict[str, Row] = {
    # stores: operators, stores and devices
    "operator_create": Row(
        lambda w, g: stores.operator_create(
            actor=STAFF,
            name="Mart",
            slug="mart",
            contact_email="a@mart.example",
            privacy_officer_name="Pat",
            privacy_officer_email="dpo@mart.example",
        ),
        [("operator.created", RESULT)],
    ),
    "operator_update": Row(
        lambda w, g: stores.operator_update(actor=STAFF, operator=g, name="Renamed", template_retention_days=30),
        [("operator.changed", GIVEN)],
        given=lambda w: w.operator,
    ),
    "operator_match_rule_update": Row(
        lambda w, g: stores.operator_match_rule_update(actor=STAFF, operator=g, match_threshold=0.5, match_margin=0.08),
        [("operator.match_rule_changed", GIVEN)],
        given=lambda w: w.operator,
    ),
    "operator_update: a lower target false identification rate": Row(
        lambda w, g: stores.operator_update(actor=STAFF, operator=g, target_fpir=0.001),
        [("operator.changed", GIVEN)],
        given=lambda w: w.operator,
    ),
    "operator_update: nothing changed": Row(
        lambda w, g: stores.operator_update(actor=STAFF, operator=g, name=g.name), [], given=lambda w: w.operator
    ),
    "operator_delete": Row(
        lambda w, g: stores.operator_delete(actor=STAFF, operator=g),
        [("operator.deleted", GIVEN)],
        given=lambda w: w.operator,
    ),
    "store_create": Row(
        lambda w, g: stores.store_create(actor=STAFF, operator=w.operator, name="Central", slug="central"),
        [("store.created", RESULT)],
    ),
    "store_update": Row(
        lambda w, g: stores.store_update(actor=STAFF, store=g, mode="1:1"),
        [("store.changed", GIVEN)],
        given=lambda w: w.store,
    ),
    "store_delete": Row(
        lambda w, g: stores.store_delete(actor=STAFF, store=g), [("store.deleted", GIVEN)], given=lambda w: w.store
    ),
    "store_confirm_signage": Row(
        lambda w, g: stores.store_confirm_signage(actor=STAFF, store=g, confirmed_by="Manager"),
        [("store.signage_confirmed", GIVEN)],
        given=lambda w: StoreFactory(),
    ),
    "store_go_live": Row(
        lambda w, g: stores.store_go_live(actor=STAFF, store=g),
        [("store.live", GIVEN)],
        given=lambda w: stores.store_confirm_signage(actor=STAFF, store=StoreFactory(), confirmed_by="Manager"),
    ),
    "device_register": Row(
        lambda w, g: stores.device_register(
            actor=STAFF, store=w.store, name="Door", kind="entrance", location="entrance"
        ),
        [("device.registered", lambda w, g, r: r.device)],
        given=lambda w: w.store,
    ),
    "device_update": Row(
        lambda w, g: stores.device_update(actor=STAFF, device=g, name="Side door", location="sales_floor"),
        [("device.changed", GIVEN)],
        given=lambda w: w.device,
    ),
    "device_rotate_secret": Row(
        lambda w, g: stores.device_rotate_secret(actor=STAFF, device=g),
        [("device.secret_rotated", GIVEN)],
        given=lambda w: w.device,
    ),
    "device_revoke": Row(
        lambda w, g: stores.device_revoke(actor=STAFF, device=g), [("device.revoked", GIVEN)], given=lambda w: w.device
    ),
    "gallery_check_record": Row(
        lambda w, g: stores.gallery_check_record(
            operator_id=g.pk,
            trigger="nightly",
            check=_gallery_check(),
            point=_one_to_n_on(),
            thresholds=[0.55],
            tir_floor=0.9,
        ),
        [("gallery_check.recorded", RESULT)],
        given=lambda w: w.operator,
    ),
    "gallery_check_record: 1:N stops": Row(
        lambda w, g: stores.gallery_check_record(
            operator_id=g.pk,
            trigger="gallery_changed",
            check=_gallery_check(),
            point=_one_to_n_stopped(),
            thresholds=[0.55],
            tir_floor=0.9,
        ),
        [("gallery_check.recorded", RESULT), ("operator.one_to_n_stopped", GIVEN)],
        given=lambda w: w.operator,
    ),
    # stores: the door
    "door_match": Row(
        lambda w, g: door.door_match(device=w.device, photo=None, encoding=g.tolist(), entry_pass=None),
        [("visit.recognised", lambda w, g, r: r.visit)],
        given=lambda w: (w.device, w.consent(), w.template())[2],
    ),
    "door_entry_pass": Row(
        lambda w, g: door.door_entry_pass(device=w.device, token=g.token),
        [("entry_pass.used", lambda w, g, r: g.entry_pass), ("visit.entry_pass", lambda w, g, r: r.visit)],
        given=lambda w: (w.device, consent.entry_pass_issue(shopper=w.shopper, channel="app"))[1],
    ),
    "store_events_record": Row(
        lambda w, g: footprint.store_events_record(device=w.device, events=[g]),
        [("store_events.recorded", lambda w, g, r: w.device)],
        given=lambda w: footprint.ReportedEvent(
            event_id="p1",
            visit_id=door.door_entry_pass(
                device=w.device, token=consent.entry_pass_issue(shopper=w.shopper, channel="app").token
            ).visit.public_id,
            kind="purchase",
            occurred_at=timezone.now(),
            items=(footprint.ReportedItem(sku="tea", name="Tea", quantity=1, unit_price=Decimal("3.00")),),
            total=Decimal("3.00"),
            currency="CNY",
        ),
    ),
    "footprint_delete": Row(
        lambda w, g: footprint.footprint_delete(shopper=w.shopper, channel="app", everything=True),
        [("footprint.deleted", SHOPPER)],
    ),
    # stores: the shopper's feed
    "notifications_mark_read": Row(
        lambda w, g: feed.notifications_mark_read(shopper=w.shopper, channel="app", ids=[g.public_id]),
        [("notifications.read", SHOPPER)],
        given=lambda w: (
            (
                w.device,
                door.door_entry_pass(
                    device=w.device, token=consent.entry_pass_issue(shopper=w.shopper, channel="app").token
                ),
            )[1].visit.notification
        ),
    ),
    "notifications_mark_read: all": Row(
        lambda w, g: feed.notifications_mark_read(shopper=w.shopper, channel="web", read_all=True),
        [("notifications.read", SHOPPER)],
    ),
    # stores: retention (F7)
    "footprint_purge_past_retention": Row(
        lambda w, g: retention.footprint_purge_past_retention(now=timezone.now() + timedelta(days=366)),
        [("retention.footprint_purged", lambda w, g, r: w.operator)],
        given=lambda w: door.door_entry_pass(
            device=w.device, token=consent.entry_pass_issue(shopper=w.shopper, channel="app").token
        ),
    ),
    "footprint_purge_past_retention: nothing past its period": Row(
        lambda w, g: retention.footprint_purge_past_retention(),
        [("retention.footprint_purged", lambda w, g, r: ("stores.visit", "*"))],
    ),
    "face_consents_end_not_recognised: the last face consent takes the templates": Row(
        lambda w, g: retention.face_consents_end_not_recognised(now=timezone.now() + timedelta(days=366)),
        [
            ("templates.deleted", SHOPPER),
            ("consent.invalidated", GIVEN),
            ("retention.face_consents_ended", lambda w, g, r: ("consent.consent", "*")),
        ],
        given=lambda w: (w.consent_lasting(days=400), w.template())[0],
    ),
    "face_consents_end_not_recognised: none past its period": Row(
        lambda w, g: retention.face_consents_end_not_recognised(),
        [("retention.face_consents_ended", lambda w, g, r: ("consent.consent", "*"))],
        given=lambda w: w.consent(),
    ),
    "counters_purge_old": Row(
        lambda w, g: retention.counters_purge_old(),
        [("retention.counters_purged", lambda w, g, r: ("stores.probecounter", "*"))],
    ),
    # consent: notices
    "notice_version_create_draft": Row(
        lambda w, g: consent.notice_version_create_draft(
            actor=STAFF, operator=w.operator, purpose="face_entry", **NOTICE_TEXTS
        ),
        [("notice.draft_created", RESULT)],
    ),
    "notice_version_update_draft": Row(
        lambda w, g: consent.notice_version_update_draft(actor=STAFF, version=g, title_en="New title"),
        [("notice.draft_changed", GIVEN)],
        given=lambda w: w.draft(),
    ),
    "notice_version_update_draft: nothing changed": Row(
        lambda w, g: consent.notice_version_update_draft(actor=STAFF, version=g, title_en=g.title_en),
        [],
        given=lambda w: w.draft(),
    ),
    "notice_version_publish": Row(
        lambda w, g: consent.notice_version_publish(actor=STAFF, version=g),
        [("notice.published", GIVEN)],
        given=lambda w: w.draft(),
    ),
    # consent: consents
    "notice_shown_record": Row(
        lambda w, g: consent.notice_shown_record(shopper=w.shopper, notice_version=w.notice, channel="app"),
        [("consent.notice_shown", lambda w, g, r: r.event)],
        given=lambda w: w.notice,
    ),
    "consent_answer": Row(
        lambda w, g: consent.consent_answer(
            shopper=w.shopper,
            operator=w.operator,
            purpose="face_entry",
            notice_version=g,
            decision="give",
            channel="web",
        ),
        [
            ("consent.notice_shown", lambda w, g, r: ConsentEvent.objects.get(kind="notice_shown", shopper=w.shopper)),
            ("consent.given", RESULT),
        ],
        given=lambda w: w.notice,
    ),
    "consent_give": Row(
        lambda w, g: consent.consent_give(
            shopper=w.shopper, operator=w.operator, purpose="face_entry", notice_version=w.notice, channel="app"
        ),
        [("consent.given", RESULT)],
        given=lambda w: w.notice,
    ),
    "consent_refuse": Row(
        lambda w, g: consent.consent_refuse(
            shopper=w.shopper, operator=w.operator, purpose="face_entry", notice_version=w.notice, channel="app"
        ),
        [("consent.refused", RESULT)],
        given=lambda w: w.notice,
    ),
    "consent_reaffirm": Row(
        lambda w, g: consent.consent_reaffirm(consent=g, notice_version=w.notice, channel="app"),
        [("consent.reaffirmed", GIVEN)],
        given=lambda w: w.consent_due_for_reaffirm(),
    ),
    "consent_withdraw": Row(
        lambda w, g: consent.consent_withdraw(consent=g, channel="app"),
        [("consent.withdrawn", GIVEN)],
        given=lambda w: w.consent(),
    ),
    "consent_withdraw: the last face consent takes the templates": Row(
        lambda w, g: consent.consent_withdraw(consent=g, channel="app"),
        [("templates.deleted", SHOPPER), ("consent.withdrawn", GIVEN)],
        given=lambda w: (w.consent(), w.template())[0],
    ),
    "consents_withdraw_all": Row(
        lambda w, g: consent.consents_withdraw_all(shopper=w.shopper, channel="web", operator=w.operator),
        [("consent.withdrawn", GIVEN)],
        given=lambda w: w.consent(),
    ),
    "consents_withdraw_all: every operator, the last face consent takes the templates": Row(
        lambda w, g: consent.consents_withdraw_all(shopper=w.shopper, channel="app"),
        [("templates.deleted", SHOPPER), ("consent.withdrawn", GIVEN)],
        given=lambda w: (w.consent(), w.template())[0],
    ),
    "consent_end": Row(
        lambda w, g: consents.consent_end(
            consent=g, status="withdrawn", kind="withdrawn", actor=STAFF, now=timezone.now()
        ),
        [("consent.withdrawn", GIVEN)],
        given=lambda w: w.consent(),
    ),
    "consents_invalidate": Row(
        lambda w, g: consents.consents_invalidate(Consent.objects.filter(pk=g.pk), actor=STAFF, now=timezone.now()),
        [("consent.invalidated", GIVEN)],
        given=lambda w: w.consent(),
    ),
    "consents_end_below_minimum_age": Row(
        lambda w, g: consent.consents_end_below_minimum_age(shopper=w.shopper, actor=STAFF),
        [("consent.invalidated", GIVEN)],
        given=lambda w: w.consent_of_a_minor(),
    ),
    "consent_end_not_recognised": Row(
        lambda w, g: consent.consent_end_not_recognised(
            consent=g, last_recognised_at=None, period_days=365, now=timezone.now() + timedelta(days=366)
        ),
        [("consent.invalidated", GIVEN)],
        given=lambda w: w.consent_lasting(days=400),
    ),
    "consent_end_not_recognised: recognised within the period": Row(
        lambda w, g: consent.consent_end_not_recognised(
            consent=g,
            last_recognised_at=timezone.now() + timedelta(days=2),
            period_days=365,
            now=timezone.now() + timedelta(days=366),
        ),
        [],
        given=lambda w: w.consent_lasting(days=400),
    ),
    "consent_expire_due": Row(
        lambda w, g: consent.consent_expire_due(), [("consent.expired", GIVEN)], given=lambda w: w.consent_past_expiry()
    ),
    # consent: entry passes
    "entry_pass_issue": Row(
        lambda w, g: consent.entry_pass_issue(shopper=w.shopper, channel="app"),
        [("entry_pass.issued", lambda w, g, r: r.entry_pass)],
    ),
    "entry_pass_use": Row(
        lambda w, g: consent.entry_pass_use(entry_pass=g[1], actor=Actor.device(g[0])),
        [("entry_pass.used", lambda w, g, r: g[1])],
        given=lambda w: (w.device, consent.entry_pass_issue(shopper=w.shopper, channel="app").entry_pass),
    ),
    "entry_passes_purge": Row(
        lambda w, g: consent.entry_passes_purge(now=timezone.now() + timedelta(hours=1)),
        [("retention.entry_passes_purged", lambda w, g, r: ("consent.entrypass", "*"))],
        given=lambda w: consent.entry_pass_issue(shopper=w.shopper, channel="app"),
    ),
    "entry_pass_revoke": Row(
        lambda w, g: consent.entry_pass_revoke(entry_pass=g, channel="app"),
        [("entry_pass.revoked", GIVEN)],
        given=lambda w: consent.entry_pass_issue(shopper=w.shopper, channel="app").entry_pass,
    ),
    # biometrics
    "enrollment_start": Row(
        lambda w, g: biometrics.enrollment_start(shopper=w.shopper, photos=[b"\xff\xd8\xff a photo"], channel="app"),
        [("enrollment.queued", RESULT)],
        given=lambda w: w.consent(),
    ),
    "enrollment_process": Row(
        lambda w, g: processing.enrollment_process(
            enrollment_id=g.pk,
            sealed_photos=[sealed_text(bytes_seal(b"not a photo", context=biometrics._photo_context(g, 1)))],
        ),
        [("enrollment.processing", GIVEN), ("enrollment.refused", GIVEN)],
        given=lambda w: Enrollment.objects.create(shopper=w.shopper, channel="app", photo_count=1),
    ),
    "enrollment_mark_processing": Row(
        lambda w, g: processing.enrollment_mark_processing(enrollment_id=g.pk),
        [("enrollment.processing", GIVEN)],
        given=lambda w: Enrollment.objects.create(shopper=w.shopper, channel="app", photo_count=1),
    ),
    "enrollment_fail": Row(
        lambda w, g: processing.enrollment_fail(enrollment_id=g.pk, reason="worker_lost"),
        [("enrollment.failed", GIVEN)],
        given=lambda w: Enrollment.objects.create(shopper=w.shopper, channel="app", photo_count=1),
    ),
    "enrollments_lost_fail": Row(
        lambda w, g: processing.enrollments_lost_fail(),
        [("enrollment.failed", GIVEN)],
        given=lambda w: Enrollment.objects.create(
            shopper=w.shopper,
            channel="app",
            photo_count=1,
            status="processing",
            attempt_started_at=timezone.now() - timedelta(minutes=6),
        ),
    ),
    "templates_delete": Row(
        lambda w, g: biometrics.templates_delete(shopper=w.shopper, actor=STAFF, reason="asked"),
        [("templates.deleted", SHOPPER)],
        given=lambda w: w.template(),
    ),
    "templates_rotate_key": Row(
        lambda w, g: biometrics.templates_rotate_key(),
        [("templates.rekeyed", lambda w, g, r: ("biometrics.facetemplate", "*"))],
        given=lambda w: w.old_key_templates(),
    ),
    # portal: accounts
    "user_register": Row(
        lambda w, g: _registered(w), [("account.registered", RESULT), ("account.verification_code_sent", RESULT)]
    ),
    "email_verification_send": Row(
        lambda w, g: portal.email_verification_send(user=g, channel="web"),
        [("account.verification_code_sent", GIVEN)],
        given=lambda w: w.unverified(),
    ),
    "email_verification_resend": Row(
        lambda w, g: portal.email_verification_resend(email=g.email, channel="web"),
        [("account.verification_code_sent", GIVEN)],
        given=lambda w: w.unverified(),
    ),
    "email_verification_resend: unknown address": Row(
        lambda w, g: portal.email_verification_resend(email="nobody@example.com", channel="web"), []
    ),
    "email_verify": Row(
        lambda w, g: portal.email_verify(email=g.email, code=w.code(g), channel="web"),
        [("account.email_verified", GIVEN)],
        given=lambda w: w.unverified(),
    ),
    "email_verify: a wrong code uses up a try": Row(
        lambda w, g: _wrong_code(g),
        [("account.verification_code_refused", GIVEN)],
        given=lambda w: w.unverified_with_code(),
    ),
    "user_email_mark_verified": Row(
        lambda w, g: portal.user_email_mark_verified(user=g, actor=STAFF),
        [("account.email_verified", GIVEN)],
        given=lambda w: w.unverified(),
    ),
    "staff_member_create": Row(
        lambda w, g: portal.staff_member_create(
            actor=STAFF, email="new-staff@example.com", password="staff-pass-2026-long", display_name="New Staff"
        ),
        [("account.staff_created", lambda w, g, r: r)],
    ),
    "api_token_create": Row(
        lambda w, g: portal.api_token_create(user=w.shopper), [("account.token_issued", lambda w, g, r: r.token)]
    ),
    "api_token_revoke": Row(
        lambda w, g: portal.api_token_revoke(token=g),
        [("account.token_revoked", GIVEN)],
        given=lambda w: portal.api_token_create(user=w.shopper).token,
    ),
    "password_reset_request": Row(
        lambda w, g: portal.password_reset_request(email=w.shopper.email, channel="web"),
        [("account.password_reset_requested", SHOPPER)],
    ),
    "password_reset_confirm": Row(
        lambda w, g: portal.password_reset_confirm(
            uidb64=g[0], token=g[1], new_password="another long passphrase", channel="web"
        ),
        [("account.password_reset", SHOPPER)],
        given=lambda w: (
            urlsafe_base64_encode(force_bytes(w.shopper.pk)),
            default_token_generator.make_token(w.shopper),
        ),
    ),
    "web_session_start": Row(
        lambda w, g: portal.web_session_start(user=w.shopper, session_key=g, user_agent="Chrome/120.0 Android"),
        [("account.session_started", RESULT)],
        given=lambda w: (lambda store: (store.create(), store.session_key)[1])(SessionStore()),
    ),
    "web_session_end": Row(
        lambda w, g: portal.web_session_end(session=g[0], actor=STAFF, reason="signed_out"),
        [("account.session_ended", lambda w, g, r: ("portal.websession", g[1]))],
        given=lambda w: (lambda session: (session, str(session.pk)))(_web_session(w)),
    ),
    "web_session_logout": Row(
        lambda w, g: account.web_session_logout(user=w.shopper, session_key=g[0].session_key),
        [("account.session_ended", lambda w, g, r: ("portal.websession", g[1]))],
        given=lambda w: (lambda session: (session, str(session.pk)))(_web_session(w)),
    ),
    "sessions_end_others": Row(
        lambda w, g: portal.sessions_end_others(
            user=w.shopper, actor=STAFF, reason="signed_out", keep_session_key=g[0].session_key, keep_token=g[2]
        ),
        [
            ("account.session_ended", lambda w, g, r: ("portal.websession", g[1])),
            ("account.token_revoked", lambda w, g, r: g[3]),
        ],
        given=lambda w: (
            _web_session(w),
            str(_web_session(w).pk),
            portal.api_token_create(user=w.shopper).token,
            portal.api_token_create(user=w.shopper).token,
        ),
    ),
    "password_change": Row(
        lambda w, g: account.password_change(
            user=w.shopper,
            current_password=DEFAULT_PASSWORD,
            new_password="another long passphrase",
            client_ip="127.0.0.1",
            channel="app",
            keep_token=g[0],
        ),
        [("account.password_changed", SHOPPER), ("account.token_revoked", lambda w, g, r: g[1])],
        given=lambda w: (portal.api_token_create(user=w.shopper).token, portal.api_token_create(user=w.shopper).token),
    ),
    "email_change_request": Row(
        lambda w, g: account.email_change_request(
            user=w.shopper,
            new_email="new-address@example.com",
            password=DEFAULT_PASSWORD,
            client_ip="127.0.0.1",
            channel="web",
        ),
        [("account.email_change_requested", SHOPPER)],
    ),
    "email_change_confirm": Row(
        lambda w, g: account.email_change_confirm(user=w.shopper, code="123456", channel="web"),
        [("account.email_changed", SHOPPER)],
        given=_email_change,
    ),
    "email_change_confirm: a wrong code uses up a try": Row(
        lambda w, g: _wrong_email_change_code(w),
        [("account.email_change_code_refused", SHOPPER)],
        given=_email_change,
    ),
    "email_change_cancel": Row(
        lambda w, g: account.email_change_cancel(user=w.shopper, channel="web"),
        [("account.email_change_cancelled", SHOPPER)],
        given=_email_change,
    ),
    "email_change_cancel: nothing pending": Row(
        lambda w, g: account.email_change_cancel(user=w.shopper, channel="web"), []
    ),
    "account_export_record": Row(
        lambda w, g: account.account_export_record(user=w.shopper, channel="app"),
        [("account.exported", SHOPPER)],
    ),
    "user_profile_update": Row(
        lambda w, g: portal.user_profile_update(user=w.shopper, channel="app", display_name="Another name"),
        [("account.profile_updated", SHOPPER)],
    ),
    # portal: the staff's second factor (decision 0035)
    "staff_totp_start": Row(
        lambda w, g: staff_second_factor.staff_totp_start(user=g),
        [("staff.second_factor_started", RESULT)],
        given=lambda w: UserFactory(is_staff=True),
    ),
    "staff_totp_confirm": Row(
        lambda w, g: staff_second_factor.staff_totp_confirm(user=g.user, code=app_code(g.bin_key)),
        [("staff.second_factor_confirmed", GIVEN)],
        given=lambda w: staff_second_factor.staff_totp_start(user=UserFactory(is_staff=True)),
    ),
    "staff_backup_codes_renew": Row(
        lambda w, g: staff_second_factor.staff_backup_codes_renew(user=g),
        [("staff.backup_codes_renewed", GIVEN)],
        given=lambda w: _staff_with_second_factor()[0],
    ),
    "staff_second_factor_check": Row(
        lambda w, g: staff_second_factor.staff_second_factor_check(user=g[0], code=app_code(g[1].bin_key)),
        [],
        given=lambda w: _staff_with_second_factor(),
    ),
    "staff_second_factor_check: a backup code": Row(
        lambda w, g: staff_second_factor.staff_second_factor_check(user=g[0], code=g[2]),
        [("staff.backup_code_used", lambda w, g, r: g[0])],
        given=lambda w: _staff_with_second_factor(),
    ),
    "staff_roles_set": Row(
        lambda w, g: staff_second_factor.staff_roles_set(actor=STAFF, user=g, roles=["Support agent"]),
        [("staff.roles_set", GIVEN)],
        given=lambda w: UserFactory(is_staff=True),
    ),
    # portal: privacy requests (decision 0036)
    "privacy_request_open": Row(
        lambda w, g: privacy.privacy_request_open(shopper=w.shopper, kind="erasure", channel="app"),
        [("privacy_request.received", RESULT)],
    ),
    "privacy_request_open: a signed-in shopper's access request is answered at once": Row(
        lambda w, g: privacy.privacy_request_open(shopper=w.shopper, kind="access", channel="app"),
        [("privacy_request.received", RESULT), ("privacy_request.completed", RESULT)],
    ),
    "privacy_access_deliver": Row(
        lambda w, g: privacy.privacy_access_deliver(request=g, staff=g.opened_by),
        [("privacy_request.completed", GIVEN)],
        given=lambda w: _verified_access_request(w),
    ),
    "access_link_use": Row(
        lambda w, g: privacy.access_link_use(token=g[1]),
        [("privacy_request.copy_downloaded", lambda w, g, r: g[0])],
        given=lambda w: _access_link(w),
    ),
    "identity_code_send": Row(
        lambda w, g: privacy.identity_code_send(request=g, staff=g.opened_by),
        [("privacy_request.identity_code_sent", GIVEN)],
        given=lambda w: _staff_opened_request(w),
    ),
    "identity_code_verify": Row(
        lambda w, g: privacy.identity_code_verify(request=g[0], code=g[1], staff=g[0].opened_by),
        [("privacy_request.identity_verified", lambda w, g, r: g[0])],
        given=lambda w: _request_with_code(w),
    ),
    "identity_code_verify: a wrong code uses up a try": Row(
        lambda w, g: _wrong_identity_code(g[0]),
        [("privacy_request.identity_code_refused", lambda w, g, r: g[0])],
        given=lambda w: _request_with_code(w),
    ),
    "privacy_request_refuse": Row(
        lambda w, g: privacy.privacy_request_refuse(request=g, reason="manifestly_unfounded", staff=g.opened_by),
        [("privacy_request.refused", GIVEN)],
        given=lambda w: _staff_opened_request(w),
    ),
    "shopper_record_open": Row(
        lambda w, g: privacy.shopper_record_open(staff=UserFactory(is_staff=True), shopper=w.shopper, request=g),
        [("shopper.record_viewed", SHOPPER)],
        given=lambda w: privacy.privacy_request_open(shopper=w.shopper, kind="erasure", channel="app"),
    ),
    "privacy_erasure_start": Row(
        lambda w, g: privacy.privacy_erasure_start(request=g, staff=UserFactory(is_staff=True)),
        [("privacy_request.started", GIVEN)],
        given=lambda w: privacy.privacy_request_open(shopper=w.shopper, kind="erasure", channel="app"),
    ),
    "privacy_erasure_carry_out": Row(
        lambda w, g: privacy.privacy_erasure_carry_out(request_id=g.pk),
        [
            ("account.deleted", lambda w, g, r: ("portal.user", str(w.shopper.pk))),
            ("privacy_request.completed", GIVEN),
        ],
        given=lambda w: _erasure_in_progress(w),
    ),
    # stores: the shard map (decision 0041)
    "match_shard_create": Row(
        lambda w, g: shards.match_shard_create(actor=STAFF, name="b"),
        [("match_shard.created", RESULT)],
    ),
    "operator_shard_move": Row(
        lambda w, g: shards.operator_shard_move(actor=STAFF, operator=w.operator, shard=g),
        [("operator.shard_move_started", lambda w, g, r: w.operator)],
        given=lambda w: MatchShard.objects.create(name="b"),
    ),
    "operator_shard_move_complete": Row(
        lambda w, g: shards.operator_shard_move_complete(operator_id=w.operator.pk, shard_name="b"),
        [("operator.shard_moved", lambda w, g, r: w.operator)],
        given=lambda w: Operator.objects.filter(pk=w.operator.pk).update(moving_to=MatchShard.objects.create(name="b")),
    ),
    # portal: the documents for the authorities (decision 0039)
    "impact_assessment_sign": Row(
        lambda w, g: documents.impact_assessment_sign(
            operator=w.operator, staff=UserFactory(is_staff=True), purpose="p", necessity="n", impact="i", measures="m"
        ),
        [("impact_assessment.signed", RESULT)],
    ),
    "protection_document_issue": Row(
        lambda w, g: documents.protection_document_issue(operator=w.operator, staff=UserFactory(is_staff=True)),
        [("protection_document.issued", RESULT)],
    ),
    # portal: deleting the account (decision 0033)
    "account_delete": Row(
        lambda w, g: erasure.account_delete(
            user=w.shopper, password=DEFAULT_PASSWORD, client_ip="127.0.0.1", channel="app"
        ),
        [
            ("templates.deleted", lambda w, g, r: ("portal.user", str(w.shopper.pk))),
            ("consent.withdrawn", GIVEN),
            ("account.deleted", lambda w, g, r: ("portal.user", str(w.shopper.pk))),
        ],
        given=lambda w: (w.template(), w.consent())[1],
    ),
    "account_erase": Row(
        lambda w, g: erasure.account_erase(shopper=w.shopper, actor=STAFF),
        [("account.deleted", lambda w, g, r: ("portal.user", str(w.shopper.pk)))],
    ),
}

# Public functions of services modules that leave no entry of their own, and why.
WITHOUT_AN_ENTRY: dict[str, str] = {
    "staff_has_second_factor": "reads",
    "gallery_check_send": "sends a task; the check it asks for is audited where it is stored (gallery_check_record)",
    "biometrics_erase": "a part of account_erase, in its transaction; account_erase's rows show its entries",
    "consent_history_erase": "a part of account_erase, in its transaction; account_erase's rows show its entries",
    "footprint_erase": "a part of account_erase, in its transaction, whose entry counts what it deleted",
    "match_index_notes_purge": "deletes spent notes to match workers inside counters_purge_old, which audits the count",
    "face_consent_given": "reads",
    "shopper_old_enough_for_face": "reads",
    "check_old_enough_for_face": "checks, writes nothing",
    "device_location_check": "checks, writes nothing",
    "target_fpir_check": "checks, writes nothing",
    "match_rule_check": "checks, writes nothing",
    "template_encodings_by_shopper": "reads (for a match worker's memory)",
    "template_encodings": "reads",
    "match_index_change_record": (
        "a note to the match workers, written only inside a service that audits the change"
        " (consent_give, consent_end, templates_delete, enrollment)"
    ),
    "enrollment_photos_open": "opens sealed photos in the worker's memory",
    "login_throttle_check": "reads the shared cache",
    "login_failure_record": "counts in the shared cache, which forgets on its own; no state of the product",
    "login_success_record": "clears a counter in the shared cache",
    "user_authenticate": "checks credentials; its only writes are the cache counters above",
    "session_last_use_record": "stamps when a session or token last made a change: bookkeeping, not a change",
    "notification_record": (
        "the feed entry of a visit, written only inside door_match and door_entry_pass, whose visit.recognised"
        " or visit.entry_pass entry records the visit it belongs to"
    ),
    "shopper_period_choices": "reads the periods a shopper may choose",
    "web_session_rekey": "the same browser's record follows its session to a new key (after a password change)",
}


def _service_functions() -> dict[str, str]:
    """Every public function defined in a services module of the project's own apps: name -> module."""
    found: dict[str, str] = {}
    root = Path(django_settings.BASE_DIR).resolve()
    for config in apps.get_app_configs():
        app_path = Path(config.path).resolve()
        if root not in app_path.parents:
            continue  # Django's and third-party apps
        # The worker's half of enrollment writes too (biometrics.processing).
        files = [*app_path.rglob("services.py"), *app_path.rglob("services/*.py"), *app_path.rglob("processing.py")]
        for path in files:
            module_name = ".".join(path.relative_to(root).with_suffix("").parts)
            module = importlib.import_module(module_name.removesuffix(".__init__"))
            for name, function in inspect.getmembers(module, inspect.isfunction):
                if function.__module__ == module.__name__ and not name.startswith("_"):
                    assert found.get(name, module.__name__) == module.__name__, f"{name} is defined twice"
                    found[name] = module.__name__
    return found


def test_every_service_is_in_the_table():
    functions = _service_functions()
    listed = {key.split(":")[0] for key in SERVICES}
    missing = sorted(set(functions) - listed - set(WITHOUT_AN_ENTRY))
    assert not missing, f"services with no row in SERVICES (or reason in WITHOUT_AN_ENTRY): {missing}"
    gone = sorted((listed | set(WITHOUT_AN_ENTRY)) - set(functions))
    assert not gone, f"rows for services that no longer exist: {gone}"
    assert not listed & set(WITHOUT_AN_ENTRY)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_leaves_exactly_its_entries(world, name):
    row = SERVICES[name]
    given = row.given(world)
    before = last_sequence()

    result = row.call(world, given)

    expected = [(action, *target_key(target(world, given, result))) for action, target in row.entries]
    assert entries_after(before) == expected
    assert audit_chain_verify().intact


def test_no_entry_holds_a_code_a_token_or_a_secret(world, mailoutbox, django_capture_on_commit_callbacks):
    """What is sent to people (codes, links, passes, device secrets, API keys) never reaches the log."""
    user = world.unverified()
    with django_capture_on_commit_callbacks(execute=True):
        portal.email_verification_send(user=user, channel="web")
        portal.password_reset_request(email=world.shopper.email, channel="web")
    code = re.search(r"\b\d{6}\b", mailoutbox[0].body).group()
    reset_token = re.search(r"https?://\S+", mailoutbox[1].body).group().rstrip("/").split("/")[-1]
    assert len(reset_token) > 20
    secrets_sent = [
        code,
        reset_token,
        consent.entry_pass_issue(shopper=world.shopper, channel="app").token,
        stores.device_register(
            actor=STAFF, store=world.store, name="Door", kind="entrance", location="entrance"
        ).secret,
        portal.api_token_create(user=world.shopper).key,
    ]
    log = "\n".join(str(entry) for entry in AuditEntry.objects.values_list("data", "target_id", "actor_id"))
    assert AuditEntry.objects.filter(action="account.verification_code_sent").exists()
    for sent in secrets_sent:
        assert sent not in log
