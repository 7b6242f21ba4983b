"""Reads for consent: notices, consents, their events and entry passes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Consent, ConsentEvent, EntryPass, Notice, NoticeVersion, Purpose
from core.errors import NotFound

# Notices and consents ----------------------------------------------------------------------------


def notice_versions_current(*, operator) -> list[NoticeVersion]:
    """The latest published version of each of the operator's notices, in purpose order."""
    latest: dict[str, NoticeVersion] = {}
    versions = (
        NoticeVersion.objects.filter(notice__operator=operator, status=NoticeVersion.Status.PUBLISHED)
        .select_related("notice")
        .order_by("notice__purpose", "-version")
    )
    for version in versions:
        latest.setdefault(version.notice.purpose, version)
    order = {purpose: index for index, purpose in enumerate(Purpose.values)}
    return sorted(latest.values(), key=lambda version: order[version.notice.purpose])


def notice_version_get_published(*, pk: int) -> NoticeVersion:
    version = (
        NoticeVersion.objects.select_related("notice__operator")
        .filter(pk=pk, status=NoticeVersion.Status.PUBLISHED)
        .first()
    )
    if version is None:
        raise NotFound(_("No such published notice version."), code="notice_version_not_found")
    return version


def consent_active_q(*, now: datetime | None = None) -> Q:
    """What 'active' means everywhere: not ended and still within its validity."""
    return Q(status=Consent.Status.ACTIVE, expires_at__gt=now or timezone.now())


def consent_is_active(*, shopper, operator, purpose: str) -> bool:
    return Consent.objects.filter(consent_active_q(), shopper=shopper, operator=operator, purpose=purpose).exists()


def shopper_has_face_consent(shopper) -> bool:
    """Active `face_entry` consent for at least one operator: the condition for holding a face."""
    return Consent.objects.filter(consent_active_q(), shopper=shopper, purpose=Purpose.FACE_ENTRY).exists()


def face_consent_pairs(*, shopper_id: int | None = None) -> list[tuple[int, int]]:
    """(operator id, shopper id) for every active `face_entry` consent: who may be matched where."""
    consents = Consent.objects.filter(consent_active_q(), purpose=Purpose.FACE_ENTRY)
    if shopper_id is not None:
        consents = consents.filter(shopper_id=shopper_id)
    return list(consents.values_list("operator_id", "shopper_id"))


def face_consent_for_match(*, shopper_id: int, operator_id: int, now: datetime | None = None) -> QuerySet[Consent]:
    """The active `face_entry` consent that lets this operator recognise this shopper, to be locked in
    the caller's transaction (a withdrawal waits for the match being recorded, or the match sees the
    withdrawal). Only the consent row is locked: the notice version and the shopper are shared by
    every door, and locking them would make concurrent matches wait on one another."""
    return (
        Consent.objects.select_for_update(of=("self",))
        .filter(consent_active_q(now=now), purpose=Purpose.FACE_ENTRY, shopper_id=shopper_id, operator_id=operator_id)
        .order_by()
    )


def consent_list_for_shopper(*, shopper, filters: dict | None = None) -> QuerySet[Consent]:
    filters = filters or {}
    consents = Consent.objects.filter(shopper=shopper).select_related("operator", "notice_version__notice")
    if filters.get("operator"):
        consents = consents.filter(operator__slug=filters["operator"])
    if filters.get("purpose"):
        consents = consents.filter(purpose=filters["purpose"])
    if filters.get("status") == Consent.Status.ACTIVE:
        consents = consents.filter(consent_active_q())
    elif filters.get("status"):
        consents = consents.filter(status=filters["status"])
    return consents.order_by("-given_at", "-id")


def consent_get_for_shopper(*, shopper, public_id) -> Consent:
    """The shopper's own consent; anybody else's is simply not found."""
    consent = (
        Consent.objects.select_related("operator", "notice_version__notice", "shopper")
        .filter(shopper=shopper, public_id=public_id)
        .first()
    )
    if consent is None:
        raise NotFound(_("No such consent."), code="consent_not_found")
    return consent


def consent_events_for_shopper(*, shopper, filters: dict | None = None) -> QuerySet[ConsentEvent]:
    filters = filters or {}
    events = ConsentEvent.objects.filter(shopper=shopper).select_related("operator", "notice_version", "consent")
    if filters.get("operator"):
        events = events.filter(operator__slug=filters["operator"])
    if filters.get("purpose"):
        events = events.filter(purpose=filters["purpose"])
    return events.order_by("-occurred_at", "-id")


@dataclass(frozen=True)
class ConsentChoice:
    """One row of a shopper's consent screen: an operator's purpose, its notice and the answer."""

    operator: object
    purpose: str
    notice_version: NoticeVersion
    consent: Consent | None

    @property
    def needs_answer(self) -> bool:
        """No active consent, or one given on a notice that has since changed materially."""
        return self.consent is None

    @property
    def on_older_notice(self) -> bool:
        return self.consent is not None and self.consent.notice_version_id != self.notice_version.pk


def consent_choices_for_shopper(*, shopper) -> list[ConsentChoice]:
    """Every operator's current notices, each with the shopper's active consent if any."""
    active = {
        (consent.operator_id, consent.purpose): consent
        for consent in Consent.objects.filter(consent_active_q(), shopper=shopper).select_related("notice_version")
    }
    choices = []
    # Operators through their notices (the list of operators is stores'); one without notices has no choice.
    notices = Notice.objects.select_related("operator").order_by("operator__name", "operator_id")
    for operator in dict.fromkeys(notice.operator for notice in notices):
        for version in notice_versions_current(operator=operator):
            choices.append(
                ConsentChoice(
                    operator, version.notice.purpose, version, active.get((operator.pk, version.notice.purpose))
                )
            )
    return choices


def entry_pass_get_for_shopper(*, shopper, pk: int) -> EntryPass:
    entry_pass = EntryPass.objects.filter(shopper=shopper, pk=pk).first()
    if entry_pass is None:
        raise NotFound(_("No such entry pass."), code="entry_pass_not_found")
    return entry_pass
