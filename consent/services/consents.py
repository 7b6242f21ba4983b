"""Writes for consents: give, refuse, reaffirm, withdraw, expire; each leaves an event and an audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from biometrics.services import match_index_change_record, templates_delete
from biometrics.shoppers import shopper_lock
from consent.minors import consent_age_check, shopper_may_consent
from consent.models import Consent, ConsentEvent, NoticeVersion, Purpose
from consent.notifications import consent_ended_notify, consent_given_notify, consents_withdrawn_notify
from consent.selectors import (
    consent_active_q,
    consent_can_reaffirm,
    consent_past_expiry_q,
    consent_reaffirm_from,
    consent_status_at,
    notice_shown_get,
    shopper_has_face_consent,
)
from core.audit import Actor, audit_entry_create
from core.errors import Conflict, Forbidden, ValidationFailed


def _event(
    *,
    kind: str,
    shopper: Any,
    operator: Any,
    purpose: str,
    actor: Actor,
    now: datetime,
    consent: Consent | None = None,
    notice_version: NoticeVersion | None = None,
) -> ConsentEvent:
    return ConsentEvent.objects.create(
        consent=consent,
        shopper=shopper,
        operator=operator,
        purpose=purpose,
        notice_version=notice_version,
        kind=kind,
        channel=actor.channel,
        actor_type=actor.type,
        actor_id=actor.id,
        occurred_at=now,
    )


def _consent_event(
    *, consent: Consent, kind: str, actor: Actor, now: datetime, notice_version: NoticeVersion | None = None
) -> ConsentEvent:
    """An event in the life of an existing consent (on its own notice version unless told otherwise)."""
    return _event(
        kind=kind,
        shopper=consent.shopper,
        operator=consent.operator,
        purpose=consent.purpose,
        actor=actor,
        now=now,
        consent=consent,
        notice_version=notice_version or consent.notice_version,
    )


def _check_notice_version(*, operator: Any, purpose: str, notice_version: NoticeVersion) -> None:
    """The version must be this operator's, for this purpose, published, and the current one."""
    if purpose not in Purpose.values:
        raise ValidationFailed(
            _("Unknown purpose."), code="unknown_purpose", fields={"purpose": [_("Unknown purpose.")]}
        )
    notice = notice_version.notice
    if notice.operator_id != operator.pk or notice.purpose != purpose:
        raise ValidationFailed(
            _("This notice version is not the operator's notice for this purpose."),
            code="notice_version_mismatch",
            fields={"notice_version": [_("This notice version is not the operator's notice for this purpose.")]},
        )
    if not notice_version.is_published:
        raise ValidationFailed(
            _("This notice version is not published."),
            code="notice_version_not_published",
            fields={"notice_version": [_("This notice version is not published.")]},
        )
    latest = notice.versions.filter(status=NoticeVersion.Status.PUBLISHED).order_by("-version").first()
    if latest.pk != notice_version.pk:
        raise Conflict(
            _("A newer version of this notice has been published; read it and answer that one."),
            code="notice_version_superseded",
            extra={"current_notice_version": latest.pk},
        )


def _check_shopper(*, shopper: Any, operator: Any, purpose: str) -> None:
    if not shopper.email_verified:
        raise Forbidden(_("Verify your email address before giving consent."), code="email_not_verified")
    consent_age_check(shopper=shopper, operator=operator, purpose=purpose)


def _lapse_if_past_expiry(*, shopper: Any, operator: Any, purpose: str, now: datetime) -> Consent | None:
    """The active consent for the triple, after ending it if its validity ran out unnoticed."""
    consent = (
        Consent.objects.select_for_update()
        .filter(shopper=shopper, operator=operator, purpose=purpose, status=Consent.Status.ACTIVE)
        .first()
    )
    if consent is not None and consent_status_at(consent, now=now) == Consent.Status.EXPIRED:
        _consent_expire(consent=consent, now=now)
        return None
    return consent


def _consent_expire(*, consent: Consent, now: datetime) -> ConsentEnded:
    """Record that a consent's validity ran out: the same end, event and audit entry whoever notices first."""
    return consent_end(
        consent=consent, status=Consent.Status.EXPIRED, kind=ConsentEvent.Kind.EXPIRED, actor=Actor.system(), now=now
    )


def _templates_delete_unless_consented(*, shopper: Any, actor: Actor, reason: str) -> bool:
    """C6: with no face_entry consent left for any operator, the face templates go, in this transaction.
    Returns whether templates were deleted.

    The shopper row is locked first, as the enrollment worker does before it stores templates,
    so a template can never be written after the last consent ended.
    """
    shopper_lock(shopper_id=shopper.pk)
    if shopper_has_face_consent(shopper):
        return False
    return templates_delete(shopper=shopper, actor=actor, reason=reason) > 0


@dataclass(frozen=True)
class ConsentEnded:
    """An ended consent, and whether ending it deleted the shopper's face templates (C6)."""

    consent: Consent
    templates_deleted: bool


def consent_end(
    *,
    consent: Consent,
    status: str,
    kind: str,
    actor: Actor,
    now: datetime,
    notice_version: NoticeVersion | None = None,
    reason: str = "",
    notify: bool = True,
) -> Consent:
    """End an active consent (withdrawn, expired, invalidated) with its event and audit entry; with the
    last face_entry consent the templates go, and the answer says whether they did. The shopper is
    mailed unless `notify` is off (a caller that ends several sends one mail for them all).

    Callers hold the row lock; this runs inside their transaction.
    """
    consent.status = status
    consent.ended_at = now
    consent.save(update_fields=["status", "ended_at"])
    templates_deleted = False
    if consent.purpose == Purpose.FACE_ENTRY:
        match_index_change_record(shopper_id=consent.shopper_id, operator_id=consent.operator_id)
        templates_deleted = _templates_delete_unless_consented(
            shopper=consent.shopper, actor=actor, reason=f"face_entry {kind}"
        )
    _consent_event(consent=consent, kind=kind, actor=actor, now=now, notice_version=notice_version)
    audit_entry_create(
        actor=actor,
        action=f"consent.{kind}",
        target=consent,
        data={
            "purpose": consent.purpose,
            "operator": consent.operator_id,
            "shopper": consent.shopper_id,
            "notice_version": consent.notice_version_id,
            **({"reason": reason} if reason else {}),
        },
    )
    if notify:
        consent_ended_notify(consent=consent, kind=kind, reason=reason)
    return ConsentEnded(consent=consent, templates_deleted=templates_deleted)


@transaction.atomic
def consents_end_below_minimum_age(*, shopper: Any, actor: Actor) -> int:
    """A shopper who is now under the minimum age (a corrected date of birth) keeps no consent that
    needs that age under its operator's law (`consent.minors`): each ends as invalidated, with its
    event and audit entry, and with the last face_entry one the templates go (C6, C8). Returns how
    many ended."""
    active = (
        Consent.objects.select_for_update(of=("self",))
        .filter(shopper=shopper, status=Consent.Status.ACTIVE)
        .select_related("shopper", "operator")
        .order_by("pk")
    )
    too_young = [
        consent
        for consent in active
        if not shopper_may_consent(shopper=shopper, operator=consent.operator, purpose=consent.purpose)
    ]
    return consents_invalidate(too_young, actor=actor, now=timezone.now(), reason="under_minimum_age")


def consents_invalidate(
    consents, *, actor: Actor, now: datetime, notice_version: NoticeVersion | None = None, reason: str = ""
) -> int:
    """End each of these active, locked consents as invalidated; returns how many."""
    ended = 0
    for consent in consents:
        consent_end(
            consent=consent,
            status=Consent.Status.INVALIDATED,
            kind=ConsentEvent.Kind.INVALIDATED,
            actor=actor,
            now=now,
            notice_version=notice_version,
            reason=reason,
        )
        ended += 1
    return ended


# The reason on record (audit entry, mail) when a face consent ends because its operator's doors did not
# recognise the shopper for the operator's template period (docs/decisions/0030-retention.md).
NOT_RECOGNISED = "not_recognised"


@transaction.atomic
def consent_end_not_recognised(
    *, consent: Consent, last_recognised_at: datetime | None, period_days: int, now: datetime
) -> ConsentEnded | None:
    """End a face_entry consent whose operator's doors have not recognised the shopper for `period_days`
    since the later of its giving, its last reaffirming and `last_recognised_at` (F7; BIPA 15(a)).

    The consent is locked and checked again here: one reaffirmed, ended or recognised since the caller
    looked is left alone (None). Otherwise it ends as invalidated with the reason `not_recognised`, the
    shopper is mailed, and with the last face_entry consent the templates go (C6). The caller reads
    `last_recognised_at` after `consent_lock_for_retention` locked the row, so a door recording a match
    waits, or is seen.
    """
    consent = (
        Consent.objects.select_for_update(of=("self",))
        .select_related("shopper", "operator")
        .filter(consent_active_q(now=now), pk=consent.pk, purpose=Purpose.FACE_ENTRY)
        .first()
    )
    if consent is None:
        return None
    anchor = max(moment for moment in (consent.given_at, consent.reaffirmed_at, last_recognised_at) if moment)
    if now - anchor <= timedelta(days=period_days):
        return None
    return consent_end(
        consent=consent,
        status=Consent.Status.INVALIDATED,
        kind=ConsentEvent.Kind.INVALIDATED,
        actor=Actor.system(),
        now=now,
        reason=NOT_RECOGNISED,
    )


@dataclass(frozen=True)
class NoticeShown:
    """A showing of a notice: the event on record, and whether this call recorded it."""

    event: ConsentEvent
    created: bool


def _notice_shown_create(*, shopper: Any, notice_version: NoticeVersion, actor: Actor) -> ConsentEvent:
    notice = notice_version.notice
    event = _event(
        kind=ConsentEvent.Kind.NOTICE_SHOWN,
        shopper=shopper,
        operator=notice.operator,
        purpose=notice.purpose,
        actor=actor,
        now=timezone.now(),
        notice_version=notice_version,
    )
    audit_entry_create(
        actor=actor, action="consent.notice_shown", target=event, data={"notice_version": notice_version.pk}
    )
    return event


@transaction.atomic
def notice_shown_record(*, shopper: Any, notice_version: NoticeVersion, channel: str) -> NoticeShown:
    """Record that a shopper was shown a notice (its screen in the app), once per notice version,
    shopper and channel: showing it again returns the event already on record and writes nothing, so
    the history is not a list of screen views. (A decision records its own showing: `consent_answer`.)"""
    if not notice_version.is_published:
        raise ValidationFailed(_("This notice version is not published."), code="notice_version_not_published")
    shopper_lock(shopper_id=shopper.pk)  # two showings at once make one event
    existing = notice_shown_get(shopper=shopper, notice_version=notice_version, channel=channel)
    if existing is not None:
        return NoticeShown(event=existing, created=False)
    event = _notice_shown_create(shopper=shopper, notice_version=notice_version, actor=Actor.shopper(shopper, channel))
    return NoticeShown(event=event, created=True)


@transaction.atomic
def consent_answer(
    *, shopper: Any, operator: Any, purpose: str, notice_version: NoticeVersion, decision: str, channel: str
) -> Consent | ConsentEvent:
    """The shopper's yes or no on a notice screen, with the notice recorded as shown, in one
    transaction: a page that shows a notice records nothing (a GET never writes), so the notice is
    on record once it is answered, and never for an answer that failed. The showing that goes with
    a decision is always recorded, even when the same version was shown before: it is the one the
    decision was made on."""
    if decision not in ("give", "refuse"):
        raise ValidationFailed(_("Choose yes or no."), code="decision_required")
    # The answer checks the version; when it refuses, this showing rolls back with it.
    _notice_shown_create(shopper=shopper, notice_version=notice_version, actor=Actor.shopper(shopper, channel))
    answer = consent_give if decision == "give" else consent_refuse
    return answer(shopper=shopper, operator=operator, purpose=purpose, notice_version=notice_version, channel=channel)


@transaction.atomic
def consent_give(
    *,
    shopper: Any,
    operator: Any,
    purpose: str,
    notice_version: NoticeVersion,
    channel: str,
    actor: Actor | None = None,
) -> Consent:
    """An explicit yes, on the notice version the shopper was shown."""
    actor = actor or Actor.shopper(shopper, channel)
    _check_notice_version(operator=operator, purpose=purpose, notice_version=notice_version)
    _check_shopper(shopper=shopper, operator=operator, purpose=purpose)
    now = timezone.now()
    if _lapse_if_past_expiry(shopper=shopper, operator=operator, purpose=purpose, now=now) is not None:
        raise Conflict(_("You have already given this consent."), code="consent_already_active")
    consent = Consent(
        shopper=shopper,
        operator=operator,
        purpose=purpose,
        notice_version=notice_version,
        status=Consent.Status.ACTIVE,
        channel=actor.channel,
        given_at=now,
        expires_at=now + settings.CONSENT_VALIDITY,
    )
    try:
        with transaction.atomic():
            consent.save()
    except IntegrityError as error:  # a concurrent give won the race
        raise Conflict(_("You have already given this consent."), code="consent_already_active") from error
    if purpose == Purpose.FACE_ENTRY:
        match_index_change_record(shopper_id=shopper.pk, operator_id=operator.pk)
    _consent_event(consent=consent, kind=ConsentEvent.Kind.GIVEN, actor=actor, now=now)
    audit_entry_create(
        actor=actor,
        action="consent.given",
        target=consent,
        data={
            "purpose": purpose,
            "operator": operator.pk,
            "shopper": shopper.pk,
            "notice_version": notice_version.pk,
            "expires_at": consent.expires_at.isoformat(),
        },
    )
    consent_given_notify(consent=consent)
    return consent


@transaction.atomic
def consent_refuse(
    *, shopper: Any, operator: Any, purpose: str, notice_version: NoticeVersion, channel: str
) -> ConsentEvent:
    """An explicit no on the consent screen. Nothing else about the account changes."""
    actor = Actor.shopper(shopper, channel)
    _check_notice_version(operator=operator, purpose=purpose, notice_version=notice_version)
    now = timezone.now()
    if _lapse_if_past_expiry(shopper=shopper, operator=operator, purpose=purpose, now=now) is not None:
        raise Conflict(_("This consent is active; withdraw it instead."), code="consent_already_active")
    event = _event(
        kind=ConsentEvent.Kind.REFUSED,
        shopper=shopper,
        operator=operator,
        purpose=purpose,
        actor=actor,
        now=now,
        notice_version=notice_version,
    )
    audit_entry_create(
        actor=actor,
        action="consent.refused",
        target=event,
        data={"purpose": purpose, "operator": operator.pk, "notice_version": notice_version.pk},
    )
    return event


def _locked_active(consent: Consent, now: datetime) -> Consent:
    """The consent, locked; refused when it has ended or its validity ran out (expiry records that)."""
    consent = Consent.objects.select_for_update().select_related("shopper", "operator").get(pk=consent.pk)
    status = consent_status_at(consent, now=now)
    if status != Consent.Status.ACTIVE:
        raise Conflict(_("This consent is no longer active."), code="consent_not_active", extra={"status": status})
    return consent


@transaction.atomic
def consent_withdraw(*, consent: Consent, channel: str, actor: Actor | None = None) -> ConsentEnded:
    """One action; when it returns, the consent allows nothing any more. Withdrawing the last
    face_entry consent deletes the face templates (C6): `templates_deleted` says whether it did."""
    now = timezone.now()
    consent = _locked_active(consent, now)
    actor = actor or Actor.shopper(consent.shopper, channel)
    return consent_end(
        consent=consent, status=Consent.Status.WITHDRAWN, kind=ConsentEvent.Kind.WITHDRAWN, actor=actor, now=now
    )


@dataclass(frozen=True)
class ConsentsWithdrawn:
    """What "withdraw everything" ended, and whether the face templates went with it."""

    consents: list[Consent]
    templates_deleted: bool


@transaction.atomic
def consents_withdraw_all(
    *, shopper: Any, channel: str, operator: Any | None = None, actor: Actor | None = None
) -> ConsentsWithdrawn:
    """Withdraw every active consent of the shopper, for one operator or (without one) for all, in one
    transaction: each its own withdrawal, event and audit entry. When it returns, no door of those
    operators can recognise the shopper; with no face_entry consent left, the templates are deleted
    (C6). Nothing to withdraw is not an error: the answer lists none."""
    now = timezone.now()
    actor = actor or Actor.shopper(shopper, channel)
    active = (
        Consent.objects.select_for_update(of=("self",))
        .filter(consent_active_q(now=now), shopper=shopper)
        .select_related("shopper", "operator", "notice_version")
        .order_by("pk")
    )
    if operator is not None:
        active = active.filter(operator=operator)
    withdrawn = []
    templates_deleted = False
    for consent in active:
        ended = consent_end(
            consent=consent,
            status=Consent.Status.WITHDRAWN,
            kind=ConsentEvent.Kind.WITHDRAWN,
            actor=actor,
            now=now,
            notify=False,
        )
        withdrawn.append(ended.consent)
        templates_deleted = templates_deleted or ended.templates_deleted
    if not templates_deleted:
        # No face is kept without a face_entry consent, even one left behind by a consent that ran out
        # before the expiry job recorded it.
        templates_deleted = _templates_delete_unless_consented(
            shopper=shopper, actor=actor, reason="consents withdrawn"
        )
    consents_withdrawn_notify(shopper=shopper, consents=withdrawn)
    return ConsentsWithdrawn(consents=withdrawn, templates_deleted=templates_deleted)


@transaction.atomic
def consent_reaffirm(*, consent: Consent, notice_version: NoticeVersion, channel: str) -> Consent:
    """Renew an active consent for another validity period, on the current notice version; only in
    the last CONSENT_REAFFIRM_WINDOW of its validity (409 `reaffirm_too_early` before)."""
    now = timezone.now()
    consent = _locked_active(consent, now)
    if not consent_can_reaffirm(consent, now=now):
        days = settings.CONSENT_REAFFIRM_WINDOW.days
        raise Conflict(
            ngettext(
                "You can reaffirm a consent only in the last day of its validity.",
                "You can reaffirm a consent only in the last %(days)d days of its validity.",
                days,
            )
            % {"days": days},
            code="reaffirm_too_early",
            extra={"reaffirm_from": consent_reaffirm_from(consent).isoformat()},
        )
    _check_notice_version(operator=consent.operator, purpose=consent.purpose, notice_version=notice_version)
    actor = Actor.shopper(consent.shopper, channel)
    consent.notice_version = notice_version
    consent.reaffirmed_at = now
    consent.expires_at = now + settings.CONSENT_VALIDITY
    consent.save(update_fields=["notice_version", "reaffirmed_at", "expires_at"])
    _consent_event(consent=consent, kind=ConsentEvent.Kind.REAFFIRMED, actor=actor, now=now)
    audit_entry_create(
        actor=actor,
        action="consent.reaffirmed",
        target=consent,
        data={"notice_version": notice_version.pk, "expires_at": consent.expires_at.isoformat()},
    )
    return consent


def consent_expire_due(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """End every consent whose validity has run out. Run on schedule; safe to run twice."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            due = list(
                Consent.objects.select_for_update(skip_locked=True)
                .filter(consent_past_expiry_q(now=now))
                .select_related("shopper", "operator")[:batch_size]
            )
            for consent in due:
                _consent_expire(consent=consent, now=now)
        expired += len(due)
        if len(due) < batch_size:
            return expired
